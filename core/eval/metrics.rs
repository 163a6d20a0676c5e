//! Ranking metrics over full-catalogue rankings.

/// Metrics of one customer's ranking at one cut-off `k`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AtK {
    /// 1 if any held-out item is in the top k.
    pub hit: f64,
    /// Hits / k.
    pub precision: f64,
    /// Hits / number of held-out items.
    pub recall: f64,
    /// DCG with binary relevance over the ideal DCG of min(held-out, k) hits.
    pub ndcg: f64,
    /// Average precision: Σ precision@rank over hit ranks / min(held-out, k).
    pub ap: f64,
    /// 1 / rank of the first hit, 0 if none.
    pub rr: f64,
}

/// Scores `ranked` (best first, at least the top k) against `relevant` (sorted).
///
/// ```
/// use maitre::eval::metrics::at_k;
/// // Held out: items 3 and 9. Ranked: 5, 3, 7, 9.
/// let m = at_k(&[5, 3, 7, 9], &[3, 9], 4);
/// assert_eq!(m.hit, 1.0);
/// assert_eq!(m.precision, 0.5);
/// assert_eq!(m.recall, 1.0);
/// assert_eq!(m.rr, 0.5);
/// assert!((m.ap - (1.0 / 2.0 + 2.0 / 4.0) / 2.0).abs() < 1e-12);
/// ```
pub fn at_k(ranked: &[u32], relevant: &[u32], k: usize) -> AtK {
    debug_assert!(relevant.windows(2).all(|w| w[0] < w[1]));
    if relevant.is_empty() || k == 0 {
        return AtK::default();
    }
    let mut m = AtK::default();
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut sum_precision = 0.0;
    for (rank, item) in ranked.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / ((rank + 2) as f64).log2();
            sum_precision += hits as f64 / (rank + 1) as f64;
            if hits == 1 {
                m.rr = 1.0 / (rank + 1) as f64;
            }
        }
    }
    let ideal_hits = relevant.len().min(k);
    let idcg: f64 = (0..ideal_hits).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    m.hit = (hits > 0) as u8 as f64;
    m.precision = hits as f64 / k as f64;
    m.recall = hits as f64 / relevant.len() as f64;
    m.ndcg = dcg / idcg;
    m.ap = sum_precision / ideal_hits as f64;
    m
}

/// The indices of the `k` highest scores, best first; ties go to the lower index.
/// Entries equal to `f32::NEG_INFINITY` (excluded items) are never returned.
///
/// ```
/// use maitre::eval::metrics::top_k;
/// assert_eq!(top_k(&[0.1, 0.9, f32::NEG_INFINITY, 0.9, 0.5], 3), vec![1, 3, 4]);
/// ```
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    let better = |a: &u32, b: &u32| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(a.cmp(b))
    };
    let mut candidates: Vec<u32> = (0..scores.len() as u32)
        .filter(|&i| scores[i as usize] > f32::NEG_INFINITY)
        .collect();
    if candidates.len() > k && k > 0 {
        candidates.select_nth_unstable_by(k - 1, better);
    }
    candidates.truncate(k);
    candidates.sort_unstable_by(better);
    candidates
}

/// Adjusted Rand index of two labelings of the same items (Hubert and Arabie,
/// 1985): 1 for the same partition up to renaming, about 0 for independent
/// ones. `None` when the lengths differ or there are fewer than two items.
///
/// ```
/// use maitre::eval::metrics::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 2, 2]), Some(1.0));
/// assert!(adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap() < 0.0);
/// ```
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Option<f64> {
    use std::collections::HashMap;
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let pairs = |n: f64| n * (n - 1.0) / 2.0;
    let mut cells: HashMap<(usize, usize), f64> = HashMap::new();
    let mut rows: HashMap<usize, f64> = HashMap::new();
    let mut cols: HashMap<usize, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *cells.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let index: f64 = cells.values().map(|&n| pairs(n)).sum();
    let sum_a: f64 = rows.values().map(|&n| pairs(n)).sum();
    let sum_b: f64 = cols.values().map(|&n| pairs(n)).sum();
    let expected = sum_a * sum_b / pairs(a.len() as f64);
    let max = 0.5 * (sum_a + sum_b);
    if max == expected {
        return Some(1.0);
    }
    Some((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn hand_computed_ndcg_and_map() {
        // Held out {1, 2, 8}; ranked 1, 4, 2, 5, 6 at k = 5.
        let m = at_k(&[1, 4, 2, 5, 6], &[1, 2, 8], 5);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        close(m.ndcg, dcg / idcg);
        close(m.ap, (1.0 + 2.0 / 3.0) / 3.0);
        close(m.recall, 2.0 / 3.0);
        close(m.precision, 2.0 / 5.0);
        close(m.rr, 1.0);
    }

    #[test]
    fn ideal_dcg_is_capped_at_k() {
        // Four held out, k = 2, both top slots hit: perfect NDCG and AP.
        let m = at_k(&[7, 3, 1], &[1, 3, 7, 9], 2);
        close(m.ndcg, 1.0);
        close(m.ap, 1.0);
        close(m.recall, 0.5);
    }

    #[test]
    fn a_miss_scores_zero() {
        let m = at_k(&[1, 2, 3], &[9], 3);
        assert_eq!(m, AtK::default());
    }

    #[test]
    fn only_the_top_k_count() {
        let m = at_k(&[1, 2, 3, 9], &[9], 3);
        assert_eq!(m.hit, 0.0);
        let m = at_k(&[1, 2, 3, 9], &[9], 4);
        close(m.rr, 0.25);
        close(m.ndcg, 1.0 / 5f64.log2());
    }

    #[test]
    fn top_k_handles_short_lists() {
        assert_eq!(top_k(&[f32::NEG_INFINITY, 2.0], 5), vec![1]);
        assert!(top_k(&[1.0], 0).is_empty());
    }
}
