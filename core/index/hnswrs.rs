//! hnsw_rs (crates.io) as an opt-in approximate index: [`HnswRsIndex`], cargo
//! feature `hnsw-rs`, off by default.
//!
//! maitre's design named hnsw_rs; maitre's own graph ([`super::graph`],
//! [`HnswIndex`](super::HnswIndex)) replaced it for measured reasons, and this
//! backend exists so that the choice stays evidenced: the ANN peer script
//! (`examples/ann.rs` through `benches/peers/ann_vs_hnswlib.sh`) measures it
//! beside maitre's graph and hnswlib on every run. Why it is opt-in:
//!
//! * **Not seedable.** hnsw_rs draws every item's layer from an internal RNG
//!   with a fixed seed that cannot be set, and its parallel build (the one used
//!   here, on the rayon pool) races threads for that RNG and for neighbour
//!   lists: the graph, and occasionally a result near the cut-off, change from
//!   build to build. maitre's graph is a function of the seed and the vectors.
//!   Results are deterministic for a given built index.
//! * **Slower.** Wrapped like this, it answered ~6× fewer queries per second
//!   than hnswlib (and than maitre's graph) at equal ef; see BENCHMARKS.md.
//! * **No wasm32.** It needs mmap (`mmap-rs`), so the browser build cannot
//!   have it.
//! * **No stored graph.** Artifacts keep only maitre's graph; a recommender
//!   asked for [`IndexKind::HnswRs`](super::IndexKind::HnswRs) rebuilds this
//!   one when it loads.
//!
//! It keeps the [module contract](super): exact inner-product scores
//! recomputed on the raw vectors (bit-identical to [`ExactIndex`]'s), hits in
//! rank order, filters applied inside the search with never-short results,
//! `k == 0` empty, and bad input a typed [`Error`] before anything reaches
//! hnsw_rs (which panics on NaN distances and calls `std::process::exit` on
//! more than 256 connections).
//!
//! The graph is on inner products, like maitre's: hnsw_rs wants non-negative
//! distances, so the distance is `M² − x·y` (`M` the largest item norm, the
//! query scaled to norm `M`, clamped at 0), hnswlib's "ip" space shifted by a
//! constant, which changes no comparison the graph makes. An item inserted
//! after the build with a norm above `M` goes to an overflow list that every
//! query scans exactly, and the graph is rebuilt with the new `M` once that
//! list passes `max(1024, graph size / 64)`. Filters and removals work as in
//! maitre's graph (`hnsw.rs`): the walk is widened by the filter's estimated
//! pass rate or the exact scan answers; removed items are tombstones until
//! they pass [`HnswParams::rebuild_fraction`] of the graph (hnsw_rs cannot
//! delete). The seed in [`HnswParams`] is ignored.

use super::exact::ExactIndex;
use super::hnsw::{pass_rate, HnswParams, MAX_EF, SCAN_COST_PER_EF};
use super::{
    check_rows, check_vector, dot, norm_sq, unknown_item, Filter, Hit, Index, Removed, TopK,
};
use crate::error::{Error, Result};
use hnsw_rs::prelude::{Distance, Hnsw};

/// hnsw_rs keeps at most 16 layers.
const MAX_LAYERS: usize = 16;
/// hnsw_rs reads its connection count back as a `u8` and doubles it on the
/// bottom layer: beyond 128 its bounds no longer hold.
const MAX_CONNECTIONS: usize = 128;
/// The overflow list may grow to `max(OVERFLOW_MIN, graph size / OVERFLOW_DIV)`.
const OVERFLOW_MIN: usize = 1024;
const OVERFLOW_DIV: usize = 64;

/// `M² − a·b`, clamped at 0: hnsw_rs asserts that distances are non-negative,
/// and `max` also maps a NaN to 0, so no input reaches its NaN panic.
#[derive(Debug, Clone, Copy)]
struct ShiftedDot(f32);

impl Distance<f32> for ShiftedDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (self.0 - dot(a, b)).max(0.0)
    }
}

/// The hnsw_rs graph over some of the items, and the norm its distance uses.
struct Graph {
    hnsw: Hnsw<'static, f32, ShiftedDot>,
    max_norm: f32,
    /// Items in the graph.
    size: usize,
    /// Items in the graph removed since the build.
    removed: usize,
}

/// Checks what hnsw_rs needs beyond [`HnswParams::validate`].
pub(super) fn check_params(params: &HnswParams) -> Result<()> {
    params.validate()?;
    if params.max_connections > MAX_CONNECTIONS {
        return Err(Error::param(
            "max_connections",
            format!(
                "{} is above {MAX_CONNECTIONS}, hnsw_rs's limit",
                params.max_connections
            ),
        ));
    }
    Ok(())
}

/// Approximate top-k inner-product search on an hnsw_rs graph, with exact
/// scores and never-short results (cargo feature `hnsw-rs`). Built by
/// [`HnswRsIndex::build`] or [`IndexKind::HnswRs`](super::IndexKind::HnswRs).
/// Not seedable: see `hnswrs.rs`'s module docs for why maitre's own
/// [`HnswIndex`](super::HnswIndex) is the default.
///
/// ```
/// use maitre::index::{HnswParams, HnswRsIndex, Index};
/// let items: Vec<f32> = (0..2000).flat_map(|i| [(i % 50) as f32, (i / 50) as f32]).collect();
/// let index = HnswRsIndex::build(&HnswParams::default(), 2, &items)?;
/// let hits = index.search(&[0.0, 1.0], 3, Some(&|item| item % 2 == 0))?;
/// assert_eq!(hits.len(), 3);
/// assert!(hits.iter().all(|h| h.item % 2 == 0 && h.score == 39.0));
/// # Ok::<(), maitre::Error>(())
/// ```
pub struct HnswRsIndex {
    params: HnswParams,
    dim: usize,
    /// Raw vectors of every item ever inserted, row-major: exact scores,
    /// the overflow and rebuilds read them.
    data: Vec<f32>,
    removed: Removed,
    /// `None` while no item is live.
    graph: Option<Graph>,
    /// Items outside the graph, scanned exactly by every query.
    overflow: Vec<u32>,
}

impl std::fmt::Debug for HnswRsIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswRsIndex")
            .field("params", &self.params)
            .field("dim", &self.dim)
            .field("len", &self.len())
            .field("live", &self.live())
            .field("graph_size", &self.graph.as_ref().map_or(0, |g| g.size))
            .field("overflow", &self.overflow.len())
            .finish()
    }
}

impl HnswRsIndex {
    /// Builds an index over `vectors` (row-major, `dim` values per item; item
    /// `i` is row `i`) on the rayon pool. `params.seed` is ignored, and
    /// `max_connections` may be at most 128.
    pub fn build(params: &HnswParams, dim: usize, vectors: &[f32]) -> Result<HnswRsIndex> {
        check_params(params)?;
        check_rows(dim, vectors)?;
        let mut index = HnswRsIndex {
            params: params.clone(),
            dim,
            data: vectors.to_vec(),
            removed: Removed::default(),
            graph: None,
            overflow: Vec::new(),
        };
        index.rebuild();
        Ok(index)
    }

    /// The parameters it was built with.
    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// The stored vector of `item` (removed items keep theirs).
    pub fn vector(&self, item: u32) -> Option<&[f32]> {
        let at = item as usize * self.dim;
        self.data.get(at..at + self.dim)
    }

    /// Number of items outside the graph, scanned exactly by every query
    /// (inserted after the build with a norm larger than the graph's).
    pub fn overflow(&self) -> usize {
        self.overflow.len()
    }

    /// Changes the search's candidate list size without rebuilding, as
    /// [`HnswIndex::set_ef_search`](super::HnswIndex::set_ef_search).
    pub fn set_ef_search(&mut self, ef: usize) -> Result<()> {
        let params = self.params.clone().ef_search(ef);
        check_params(&params)?;
        self.params = params;
        Ok(())
    }

    /// Rebuilds the graph from the live items: drops tombstones, takes in the
    /// overflow and fits `M` to the current largest norm. `insert` and
    /// `remove` call it when thresholds are crossed.
    pub fn rebuild(&mut self) {
        self.overflow.clear();
        let live: Vec<u32> = (0..self.len() as u32)
            .filter(|&i| !self.removed.contains(i))
            .collect();
        if live.is_empty() {
            self.graph = None;
            return;
        }
        let max_norm = live
            .iter()
            .map(|&i| norm_sq(self.row(i)))
            .fold(0f32, f32::max)
            .sqrt();
        // All-zero items all score 0; any M keeps the distance defined.
        let max_norm = if max_norm > 0.0 { max_norm } else { 1.0 };
        let p = &self.params;
        let hnsw = Hnsw::new(
            p.max_connections,
            live.len(),
            MAX_LAYERS,
            p.ef_construction,
            ShiftedDot(max_norm * max_norm),
        );
        let batch: Vec<(&[f32], usize)> = live.iter().map(|&i| (self.row(i), i as usize)).collect();
        hnsw.parallel_insert_slice(&batch);
        self.graph = Some(Graph {
            hnsw,
            max_norm,
            size: live.len(),
            removed: 0,
        });
    }

    fn row(&self, item: u32) -> &[f32] {
        let at = item as usize * self.dim;
        &self.data[at..at + self.dim]
    }

    /// Top `k` of the graph's `ef` nearest candidates that are eligible, plus
    /// the overflow; the exact answer instead if fewer than `k` qualify.
    fn graph_search(
        &self,
        graph: &Graph,
        scaled: &[f32],
        query: &[f32],
        k: usize,
        ef: usize,
        eligible: &dyn Fn(u32) -> bool,
    ) -> Vec<Hit> {
        let mut top = TopK::new(k);
        let candidates = graph.hnsw.search(scaled, ef, ef);
        let ids = candidates
            .iter()
            .map(|n| n.d_id as u32)
            .chain(self.overflow.iter().copied());
        for item in ids {
            let hit = Hit {
                item,
                score: dot(self.row(item), query),
            };
            if top.admits(&hit) && eligible(item) {
                top.push(hit);
            }
        }
        if top.len() < k {
            return self.exact(query, k, eligible);
        }
        top.into_sorted()
    }

    /// The exact answer over every live item.
    fn exact(&self, query: &[f32], k: usize, eligible: &dyn Fn(u32) -> bool) -> Vec<Hit> {
        let mut top = TopK::new(k);
        ExactIndex::scan_into(&self.data, self.dim, 0, query, eligible, &mut top);
        top.into_sorted()
    }
}

impl Index for HnswRsIndex {
    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    fn live(&self) -> usize {
        self.len() - self.removed.count()
    }

    fn is_removed(&self, item: u32) -> bool {
        self.removed.contains(item)
    }

    fn search(&self, query: &[f32], k: usize, filter: Option<Filter<'_>>) -> Result<Vec<Hit>> {
        check_vector("query", self.dim, query)?;
        let k = k.min(self.live());
        if k == 0 {
            return Ok(Vec::new());
        }
        let removed = &self.removed;
        let eligible = |item: u32| !removed.contains(item) && filter.is_none_or(|f| f(item));
        let q_norm = norm_sq(query).sqrt();
        // The query scaled to norm M keeps `M² − x·q` non-negative; a tiny
        // query may not scale to finite values.
        let scale = self.graph.as_ref().map_or(0.0, |g| g.max_norm / q_norm);
        let scaled: Vec<f32> = query.iter().map(|v| v * scale).collect();
        let graph = match &self.graph {
            // A graph walk that must return a quarter of its items visits most
            // of them anyway; a zero query scores every item 0, a tie for all.
            Some(g) if k * 4 <= g.size && q_norm > 0.0 && scaled.iter().all(|v| v.is_finite()) => g,
            _ => return Ok(self.exact(query, k, &eligible)),
        };
        let mut ef = self.params.ef_search.max(k);
        if filter.is_some() || graph.removed > 0 {
            // Widen the walk so that about `ef` of its candidates pass; when
            // too few pass, the walk would cover more than a scan costs.
            match pass_rate(self.len(), &eligible) {
                Some(rate) if (ef as f64 / rate) * SCAN_COST_PER_EF < self.len() as f64 => {
                    ef = ((ef as f64 / rate).ceil() as usize).min(MAX_EF);
                }
                _ => return Ok(self.exact(query, k, &eligible)),
            }
        }
        Ok(self.graph_search(graph, &scaled, query, k, ef, &eligible))
    }

    fn insert(&mut self, vector: &[f32]) -> Result<u32> {
        check_vector("vector", self.dim, vector)?;
        let id = u32::try_from(self.len())
            .map_err(|_| Error::param("vector", "the index holds u32::MAX items"))?;
        self.data.extend_from_slice(vector);
        match &mut self.graph {
            Some(g) if norm_sq(vector).sqrt() <= g.max_norm => {
                g.hnsw.insert_slice((vector, id as usize));
                g.size += 1;
            }
            _ => {
                self.overflow.push(id);
                let size = self.graph.as_ref().map_or(0, |g| g.size);
                if self.overflow.len() > OVERFLOW_MIN.max(size / OVERFLOW_DIV) {
                    self.rebuild();
                }
            }
        }
        Ok(id)
    }

    fn remove(&mut self, item: u32) -> Result<()> {
        if item as usize >= self.len() {
            return Err(unknown_item(item));
        }
        if !self.removed.insert(item) {
            return Ok(());
        }
        if let Some(at) = self.overflow.iter().position(|&i| i == item) {
            self.overflow.swap_remove(at);
            return Ok(());
        }
        if let Some(g) = &mut self.graph {
            g.removed += 1;
            if g.removed as f32 > self.params.rebuild_fraction * g.size as f32 {
                self.rebuild();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{IndexKind, IndexParams};

    /// Uniform random vectors in [-1, 1) from a fixed SplitMix64 stream.
    fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n * dim)
            .map(|_| {
                state = state.wrapping_add(crate::hash::GOLDEN);
                let z = crate::hash::mix(state);
                (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn recall_against_the_exact_index_on_random_vectors() {
        let (n, dim, queries, k) = (5_000, 32, 200, 10);
        let items = random_vectors(n, dim, 1);
        let qs = random_vectors(queries, dim, 2);
        let index = HnswRsIndex::build(&HnswParams::default(), dim, &items).unwrap();
        let exact = ExactIndex::build(dim, &items).unwrap();
        let mut found = 0;
        for q in qs.chunks_exact(dim) {
            let truth = exact.search(q, k, None).unwrap();
            let got = index.search(q, k, None).unwrap();
            assert_eq!(got.len(), k);
            assert!(got.windows(2).all(|w| w[0].rank_cmp(&w[1]).is_lt()));
            for h in &got {
                assert_eq!(h.score, dot(index.vector(h.item).unwrap(), q));
            }
            found += got
                .iter()
                .filter(|h| truth.iter().any(|t| t.item == h.item))
                .count();
        }
        let recall = found as f64 / (queries * k) as f64;
        // Measured 0.9995 to 1.0 over runs at the defaults (M 16, ef 100); the
        // margin covers hnsw_rs's unseeded, thread-dependent build.
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let items = random_vectors(300, 4, 3);
        let p = HnswParams::default();
        assert!(matches!(
            HnswRsIndex::build(&p, 4, &items[..7]),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            HnswRsIndex::build(&p, 0, &[]),
            Err(Error::InvalidParam { .. })
        ));
        let mut nan = items.clone();
        nan[5] = f32::NAN;
        assert!(matches!(
            HnswRsIndex::build(&p, 4, &nan),
            Err(Error::InvalidParam { .. })
        ));
        for bad in [
            p.clone().max_connections(129),
            p.clone().max_connections(1),
            p.clone().ef_search(0),
        ] {
            assert!(matches!(
                HnswRsIndex::build(&bad, 4, &items),
                Err(Error::InvalidParam { .. })
            ));
        }
        let mut index = HnswRsIndex::build(&p, 4, &items).unwrap();
        assert!(matches!(
            index.search(&[1.0, 0.0, 0.0], 5, None),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            index.search(&[1.0, f32::INFINITY, 0.0, 0.0], 5, None),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            index.insert(&[f32::NAN, 0.0, 0.0, 0.0]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(index.remove(300), Err(Error::Unknown { .. })));
        assert!(matches!(
            index.set_ef_search(MAX_EF + 1),
            Err(Error::InvalidParam { .. })
        ));
        assert_eq!(index.search(&[1.0, 0.0, 0.0, 0.0], 0, None).unwrap(), []);
        // A denormal query cannot be scaled to the graph's norm: exact answer.
        let tiny = [1e-23f32, 0.0, 0.0, 0.0];
        assert_eq!(
            index.search(&tiny, 5, None).unwrap(),
            ExactIndex::build(4, &items)
                .unwrap()
                .search(&tiny, 5, None)
                .unwrap()
        );
    }

    #[test]
    fn filters_removals_and_inserts_keep_the_contract() {
        let (n, dim) = (2_000, 8);
        let items = random_vectors(n, dim, 4);
        let mut index = HnswRsIndex::build(&HnswParams::default(), dim, &items).unwrap();
        let q = &random_vectors(1, dim, 5);
        // A selective filter never gives a short list.
        let rare = |i: u32| i % 97 == 3;
        let hits = index.search(q, 10, Some(&rare)).unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| rare(h.item)));
        // Removed items never come back.
        let best = index.search(q, 1, None).unwrap()[0].item;
        index.remove(best).unwrap();
        index.remove(best).unwrap();
        assert!(index
            .search(q, 20, None)
            .unwrap()
            .iter()
            .all(|h| h.item != best));
        // An item longer than every other goes to the overflow and is found.
        let big: Vec<f32> = q.iter().map(|v| v * 100.0).collect();
        let id = index.insert(&big).unwrap();
        assert_eq!(index.overflow(), 1);
        assert_eq!(index.search(q, 1, None).unwrap()[0].item, id);
        index.rebuild();
        assert_eq!(index.overflow(), 0);
        assert_eq!(index.search(q, 1, None).unwrap()[0].item, id);
    }

    #[test]
    fn index_params_build_it_by_kind() {
        let items = random_vectors(500, 4, 6);
        let p = IndexParams::default().kind(IndexKind::HnswRs);
        let index = p.build(4, &items).unwrap();
        assert_eq!((index.len(), index.dim()), (500, 4));
        assert!(index.as_hnsw().is_none());
        let bad = p.hnsw(HnswParams::default().max_connections(200));
        assert!(matches!(
            bad.build(4, &items),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(bad.validate(), Err(Error::InvalidParam { .. })));
    }
}
