//! Context vectors: each context value (`channel=app`, `device=mobile`,
//! `daypart=evening`, …) placed in the item-vector space.
//!
//! A context changes *which* items people pick: some sell several times more
//! on mobile or in the evening. So a context's vector `c` is fitted to the log
//! of that lift, item by item: `c·vᵢ ≈ ln(observed weight of i in the context /
//! weight expected from i's overall share)`, a weighted ridge regression over
//! the item vectors `vᵢ` (weights = the item's support, so rare items do not
//! steer it). Scores are then `u·vᵢ + w·c·vᵢ`: the query vector `u + w·c`
//! blends long-term taste with the moment's context, with `w` chosen on
//! validation (see `eval::evaluate_context`).

use super::cold::cholesky_solve_many;
use super::Factors;
use crate::error::{Error, Result};

/// One vector per context pair that was seen often enough.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextVectors {
    vectors: Vec<Option<Vec<f32>>>,
}

impl ContextVectors {
    /// Fits a vector for every context pair with at least `min_events`
    /// observations. `observations` are `(context pair, item, weight)` with
    /// pairs below `n_pairs` and items rows of `items`.
    ///
    /// ```
    /// use maitre::embed::{ContextVectors, Factors};
    /// // Two item groups; context 0 sees group A (items 0, 1) four times more often.
    /// let items = Factors::from_vec(4, 2, vec![1., 0., 1., 0., 0., 1., 0., 1.])?;
    /// let mut obs = Vec::new();
    /// for item in 0..4u32 {
    ///     let in_context = if item < 2 { 40 } else { 10 };
    ///     obs.extend((0..in_context).map(|_| (0u32, item, 1.0f32)));
    ///     obs.extend((0..25).map(|_| (1u32, item, 1.0f32)));
    /// }
    /// let ctx = ContextVectors::fit(&items, 2, &obs, 5)?;
    /// let c = ctx.get(0).unwrap();
    /// assert!(c[0] > 0.0 && c[1] < 0.0); // favours group A, disfavours B
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn fit(
        items: &Factors,
        n_pairs: usize,
        observations: &[(u32, u32, f32)],
        min_events: usize,
    ) -> Result<Self> {
        let n_items = items.rows();
        let k = items.k();
        let mut per_pair: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_pairs];
        let mut overall = vec![0f64; n_items];
        for &(pair, item, weight) in observations {
            if pair as usize >= n_pairs || item as usize >= n_items || !weight.is_finite() {
                return Err(Error::param(
                    "observations",
                    format!("({pair}, {item}, {weight}) is out of range or not finite"),
                ));
            }
            per_pair[pair as usize].push((item, weight));
            overall[item as usize] += f64::from(weight);
        }
        let total: f64 = overall.iter().sum();
        let vectors = per_pair
            .iter()
            .map(|entries| {
                if entries.len() < min_events.max(1) || total <= 0.0 {
                    return Ok(None);
                }
                let mut observed = vec![0f64; n_items];
                for &(i, w) in entries {
                    observed[i as usize] += f64::from(w);
                }
                let in_pair: f64 = observed.iter().sum();
                // Normal equations of Σᵢ sᵢ (c·vᵢ − tᵢ)² + λ|c|².
                let mut a = vec![0f64; k * k];
                let mut b = vec![0f64; k];
                for (i, (&seen, &all)) in observed.iter().zip(&overall).enumerate() {
                    if all <= 0.0 {
                        continue;
                    }
                    let expected = in_pair * all / total;
                    // Add-one smoothing keeps unseen items at a finite, mild penalty.
                    let target = ((seen + 1.0) / (expected + 1.0)).ln();
                    let support = seen + expected;
                    let v = items.row(i as u32);
                    for p in 0..k {
                        let sv = support * f64::from(v[p]);
                        b[p] += sv * target;
                        for q in 0..k {
                            a[p * k + q] += sv * f64::from(v[q]);
                        }
                    }
                }
                let trace: f64 = (0..k).map(|p| a[p * k + p]).sum();
                let ridge = 1e-3 * trace / k as f64 + 1e-9;
                for p in 0..k {
                    a[p * k + p] += ridge;
                }
                cholesky_solve_many(&mut a, &mut b, k, 1)?;
                Ok(Some(b.iter().map(|&x| x as f32).collect()))
            })
            .collect::<Result<_>>()?;
        Ok(ContextVectors { vectors })
    }

    /// Vectors from stored parts: one optional vector per context pair.
    pub fn from_parts(vectors: Vec<Option<Vec<f32>>>) -> Result<Self> {
        let k = vectors.iter().flatten().map(Vec::len).next();
        if let Some(bad) = vectors
            .iter()
            .flatten()
            .find(|v| Some(v.len()) != k || v.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::param(
                "vectors",
                format!(
                    "a context vector of length {} differs from {k:?} or is not finite",
                    bad.len()
                ),
            ));
        }
        Ok(ContextVectors { vectors })
    }

    /// Number of context pairs (with or without a vector).
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether there are no context pairs.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The vector of context pair `pair`, if it was fitted.
    pub fn get(&self, pair: u32) -> Option<&[f32]> {
        self.vectors.get(pair as usize)?.as_deref()
    }

    /// `base + weight · Σ vector(pair)` over the pairs that have a vector.
    pub fn blend(&self, base: &[f32], pairs: &[u32], weight: f32) -> Vec<f32> {
        let mut out = base.to_vec();
        for v in pairs.iter().filter_map(|&p| self.get(p)) {
            out.iter_mut().zip(v).for_each(|(o, c)| *o += weight * c);
        }
        out
    }
}
