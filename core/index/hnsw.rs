//! Approximate search on an HNSW graph (hnsw_rs), for inner products.
//!
//! hnsw_rs needs a non-negative distance; its own `DistDot` (`1 − dot`) asserts
//! unit vectors and panics on rounding, so this module brings a clamped
//! `c − dot` and offers two spaces ([`HnswSpace`]):
//!
//! * `InnerProduct` (default): raw vectors, `M² − x·y` with `M` the largest
//!   item norm (queries scaled to norm `M`), i.e. hnswlib's "ip" space shifted
//!   by a constant, which changes no comparison the graph makes.
//! * `Transformed`: the extra-dimension transform, which turns inner product
//!   into nearest neighbour on the unit sphere: `x` becomes
//!   `[x, sqrt(M² − |x|²)] / M`, a query `[q, 0] / |q|`.
//!
//! The transform was the plan (DESIGN.md), but it failed on vectors whose norms
//! vary: it squeezes every item shorter than `M` towards the extra axis, where
//! the graph links by norm rather than direction. On clustered 50,000 × 64
//! vectors (ef 100, `examples/ann.rs`) recall@10 was 0.76 with log-normal norms
//! (σ 0.3), 0.99 with equal norms; the inner-product graph reached 1.00 on the
//! first and built 2.7× faster. At 100,000 items the transform fell to 0.53.
//!
//! The graph only proposes candidates: every returned score is the exact inner
//! product recomputed on the raw vectors.
//!
//! Filters and tombstones. hnsw_rs can filter inside its bottom-layer walk, but
//! a filtered walk loses its early stop and, when the filter is selective,
//! visits most of the graph: on 20,000 × 32 vectors it ran at 49 queries/s
//! keeping 1 item in 20 (1,650 unfiltered), and 3.4× slower than unfiltered
//! keeping 1 in 2. So this index estimates the fraction `p` of items the
//! predicate keeps from 128 fixed probes, widens the walk's candidate list to
//! `ef / p` so that about `ef` eligible candidates come back, and applies the
//! predicate to the candidates as it ranks them (an excluded item never takes a
//! slot). When `ef / p` would make the walk dearer than an exact scan (`p` small
//! or the catalogue small), the exact scan answers, calling the filter only on
//! items that would enter the top `k`. If the walk yields fewer than `k`
//! eligible candidates, the exact scan answers too: the list is never short.
//!
//! hnsw_rs has no deletion. Removed items are tombstones, filtered out inside
//! the graph search; when they exceed [`HnswParams::rebuild_fraction`] of the
//! graph, the graph is rebuilt without them. An item inserted after the build
//! whose norm exceeds `M` cannot be transformed with that `M`: it goes to an
//! overflow list that every query scans exactly, and the graph is rebuilt with a
//! new `M` once that list grows past `max(1024, graph size / 64)`.
//!
//! Determinism: hnsw_rs draws layers from an internal RNG with a fixed seed (it
//! cannot be set), so a serial build (`parallel(false)`) gives the same graph and
//! the same results on every run. The parallel build (the default) does **not**:
//! threads race for the RNG and for neighbour lists, so the graph, and
//! occasionally a result near the cut-off, change from run to run. Results are
//! still deterministic for a given built index.

use super::exact::ExactIndex;
use super::{
    check_rows, check_vector, dot, norm_sq, unknown_item, Filter, Hit, Index, Removed, TopK,
};
use crate::error::{Error, Result};
use hnsw_rs::prelude::{Distance, Hnsw};

/// hnsw_rs keeps at most 16 layers.
const MAX_LAYERS: usize = 16;
/// hnsw_rs stores connection counts in a `u8` and doubles them on the bottom layer.
const MAX_CONNECTIONS: usize = 128;
/// An `ef` beyond this asks the graph to visit most of any catalogue; an exact
/// scan is cheaper, and hnsw_rs preallocates heaps of `ef` entries.
const MAX_EF: usize = 100_000;
/// The overflow list may grow to `max(OVERFLOW_MIN, graph size / OVERFLOW_DIV)`.
const OVERFLOW_MIN: usize = 1024;
const OVERFLOW_DIV: usize = 64;

/// Items probed to estimate what fraction of the catalogue a filter keeps.
const PROBES: u64 = 128;
/// A graph walk with candidate list `ef` costs about as much as an exact scan
/// of this many × `ef` items (measured on 50,000 × 64 vectors: an ef-100 walk
/// 0.77 ms, the scan 1.3 ms, so ~300; 350 on 20,000 × 32). Used to pick the
/// cheaper path for filtered searches.
const SCAN_COST_PER_EF: f64 = 350.0;

/// The fraction of `PROBES` pseudo-random ids below `n` that are eligible, or
/// `None` if none is. The ids are fixed (SplitMix64 of the probe number), so a
/// search is deterministic, and scattered, so a filter like `id % 20 == 7`
/// cannot alias with them as it would with a stride.
fn pass_rate(n: usize, eligible: &dyn Fn(u32) -> bool) -> Option<f64> {
    let hits = (0..PROBES)
        .filter(|&j| {
            let mut z = j.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            eligible((z % n as u64) as u32)
        })
        .count();
    (hits > 0).then(|| hits as f64 / PROBES as f64)
}

/// `1 − a·b` on unit vectors, clamped at 0: rounding can push the dot product
/// of near-identical unit vectors just above 1, and hnsw_rs asserts distances
/// are non-negative.
/// In the inner-product space the constant is `M²` instead of 1, which bounds
/// every item–item and (scaled) query–item product.
#[derive(Debug, Clone, Copy)]
struct ShiftedDot(f32);

impl Distance<f32> for ShiftedDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        // `max` also maps a NaN to 0, so no input can reach hnsw_rs's NaN panic.
        (self.0 - dot(a, b)).max(0.0)
    }
}

/// What the graph is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HnswSpace {
    /// Unit vectors from the extra-dimension transform (module docs): a proper
    /// metric, so the graph's pruning rules hold.
    Transformed,
    /// The raw vectors with `M² − x·y` (hnswlib's "ip" space, shifted to stay
    /// non-negative). Not a metric, but links favour high-norm items, which
    /// is what inner-product queries need; the transform squeezes items of
    /// below-maximum norm towards one pole, where the graph loses direction.
    #[default]
    InnerProduct,
}

/// Parameters of an [`HnswIndex`]. Checked by [`validate`](HnswParams::validate)
/// before anything reaches hnsw_rs, which calls `std::process::exit` or panics on
/// some bad values.
///
/// Defaults: `max_connections` 16, `ef_construction` 200, `ef_search` 100,
/// `extend_candidates` true, `parallel` true, `rebuild_fraction` 0.25.
#[derive(Debug, Clone, PartialEq)]
pub struct HnswParams {
    max_connections: usize,
    ef_construction: usize,
    ef_search: usize,
    extend_candidates: bool,
    parallel: bool,
    rebuild_fraction: f32,
    space: HnswSpace,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            max_connections: 16,
            ef_construction: 200,
            ef_search: 100,
            extend_candidates: true,
            parallel: true,
            rebuild_fraction: 0.25,
            space: HnswSpace::default(),
        }
    }
}

impl HnswParams {
    /// Links per item and layer, "M" in the HNSW paper (the bottom layer keeps
    /// twice as many). 2 to 128; default 16.
    #[must_use]
    pub fn max_connections(mut self, m: usize) -> Self {
        self.max_connections = m;
        self
    }

    /// Candidate list size while building: higher is a better graph and a slower
    /// build. 1 to 100,000; default 200.
    #[must_use]
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }

    /// Candidate list size while searching (raised to `k` when smaller): higher
    /// is better recall and slower queries. 1 to 100,000; default 100.
    #[must_use]
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }

    /// Keep considering candidates on the bottom layer after the pruning
    /// heuristic discards some (hnsw_rs's `set_extend_candidates`). Without it,
    /// recall on transformed inner-product data stalled near 0.96; default true.
    #[must_use]
    pub fn extend_candidates(mut self, on: bool) -> Self {
        self.extend_candidates = on;
        self
    }

    /// Build on the rayon pool (default true). A serial build is slower but
    /// gives the same graph on every run; a parallel one does not.
    #[must_use]
    pub fn parallel(mut self, on: bool) -> Self {
        self.parallel = on;
        self
    }

    /// Rebuild the graph once removed items exceed this fraction of it
    /// (exclusive 0 to inclusive 1; default 0.25).
    #[must_use]
    pub fn rebuild_fraction(mut self, fraction: f32) -> Self {
        self.rebuild_fraction = fraction;
        self
    }

    /// What the graph is built on (default [`HnswSpace::InnerProduct`]).
    #[must_use]
    pub fn space(mut self, space: HnswSpace) -> Self {
        self.space = space;
        self
    }

    /// Checks every parameter; the first bad one is an [`Error::InvalidParam`].
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(Error::param(
                "max_connections",
                format!("{} is outside 2..={MAX_CONNECTIONS}", self.max_connections),
            ));
        }
        for (name, ef) in [
            ("ef_construction", self.ef_construction),
            ("ef_search", self.ef_search),
        ] {
            if !(1..=MAX_EF).contains(&ef) {
                return Err(Error::param(name, format!("{ef} is outside 1..={MAX_EF}")));
            }
        }
        if !(self.rebuild_fraction > 0.0 && self.rebuild_fraction <= 1.0) {
            return Err(Error::param(
                "rebuild_fraction",
                format!("{} is outside (0, 1]", self.rebuild_fraction),
            ));
        }
        Ok(())
    }

    /// Builds an index over `vectors` (row-major, `dim` values per item; item
    /// `i` is row `i`).
    pub fn build(&self, dim: usize, vectors: &[f32]) -> Result<HnswIndex> {
        self.validate()?;
        check_rows(dim, vectors)?;
        let mut index = HnswIndex {
            params: self.clone(),
            dim,
            data: vectors.to_vec(),
            removed: Removed::default(),
            graph: None,
            overflow: Vec::new(),
        };
        index.rebuild();
        Ok(index)
    }
}

/// The hnsw_rs graph over some of the items and the norm its transform used.
struct Graph {
    hnsw: Hnsw<'static, f32, ShiftedDot>,
    max_norm: f32,
    space: HnswSpace,
    /// Items in the graph.
    size: usize,
    /// Items in the graph that were removed since the build.
    removed: usize,
}

impl Graph {
    /// Length of a graph vector for items of dimension `dim`.
    fn width(space: HnswSpace, dim: usize) -> usize {
        match space {
            HnswSpace::Transformed => dim + 1,
            HnswSpace::InnerProduct => dim,
        }
    }

    /// An item as the graph stores it, into `out` (length [`Graph::width`]).
    fn item(space: HnswSpace, max_norm: f32, x: &[f32], out: &mut [f32]) {
        match space {
            HnswSpace::Transformed => Self::transform_item(max_norm, x, out),
            HnswSpace::InnerProduct => out.copy_from_slice(x),
        }
    }

    /// A query as the graph sees it: unit `[q, 0]`, or `q` scaled to norm `M`
    /// so that `M² − x·q` is non-negative for every item.
    fn query(&self, q: &[f32], q_norm: f32) -> Vec<f32> {
        match self.space {
            HnswSpace::Transformed => {
                let mut out: Vec<f32> = q.iter().map(|v| v / q_norm).collect();
                out.push(0.0);
                out
            }
            HnswSpace::InnerProduct => q.iter().map(|v| v * (self.max_norm / q_norm)).collect(),
        }
    }

    fn distance(space: HnswSpace, max_norm: f32) -> ShiftedDot {
        match space {
            HnswSpace::Transformed => ShiftedDot(1.0),
            HnswSpace::InnerProduct => ShiftedDot(max_norm * max_norm),
        }
    }

    /// `[x, sqrt(M² − |x|²)] / M` into `out` (length `dim + 1`).
    fn transform_item(max_norm: f32, x: &[f32], out: &mut [f32]) {
        let extra = (max_norm * max_norm - norm_sq(x)).max(0.0).sqrt();
        let (head, last) = out.split_at_mut(x.len());
        for (o, v) in head.iter_mut().zip(x) {
            *o = v / max_norm;
        }
        last[0] = extra / max_norm;
    }
}

/// Approximate top-k inner-product search on an HNSW graph, with exact scores
/// and never-short results. Built by [`HnswParams::build`]. See the
/// [module docs](super) for the contract and `hnsw.rs`'s docs for how it keeps it.
///
/// ```
/// use maitre::index::{HnswParams, Index};
/// let items: Vec<f32> = (0..2000).flat_map(|i| [(i % 50) as f32, (i / 50) as f32]).collect();
/// let index = HnswParams::default().build(2, &items)?;
/// let hits = index.search(&[0.0, 1.0], 3, Some(&|item| item % 2 == 0))?;
/// assert_eq!(hits.len(), 3);
/// assert!(hits.iter().all(|h| h.item % 2 == 0 && h.score == 39.0));
/// # Ok::<(), maitre::Error>(())
/// ```
pub struct HnswIndex {
    params: HnswParams,
    dim: usize,
    /// Raw vectors of every item ever inserted, row-major: exact scores, top-ups
    /// and rebuilds read them.
    data: Vec<f32>,
    removed: Removed,
    /// `None` while no item is live.
    graph: Option<Graph>,
    /// Items outside the graph, scanned exactly by every query.
    overflow: Vec<u32>,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("params", &self.params)
            .field("dim", &self.dim)
            .field("len", &self.len())
            .field("live", &self.live())
            .field("graph_size", &self.graph.as_ref().map_or(0, |g| g.size))
            .field("overflow", &self.overflow.len())
            .finish()
    }
}

impl HnswIndex {
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

    /// Rebuilds the graph from the live items: drops tombstones, takes in the
    /// overflow and fits the transform to the current largest norm. `insert` and
    /// `remove` call it when thresholds are crossed; call it yourself to choose
    /// when the cost (that of a build) is paid.
    pub fn rebuild(&mut self) {
        self.overflow.clear();
        let dim = self.dim;
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
        // All-zero items all score 0; any M keeps the transform defined.
        let max_norm = if max_norm > 0.0 { max_norm } else { 1.0 };
        let space = self.params.space;
        let width = Graph::width(space, dim);
        let mut transformed = vec![0f32; live.len() * width];
        for (out, &i) in transformed.chunks_exact_mut(width).zip(&live) {
            Graph::item(space, max_norm, self.row(i), out);
        }
        let p = &self.params;
        let mut hnsw = Hnsw::new(
            p.max_connections,
            live.len(),
            MAX_LAYERS,
            p.ef_construction,
            Graph::distance(space, max_norm),
        );
        hnsw.set_extend_candidates(p.extend_candidates);
        let batch: Vec<(&[f32], usize)> = transformed
            .chunks_exact(width)
            .zip(&live)
            .map(|(v, &i)| (v, i as usize))
            .collect();
        if p.parallel {
            hnsw.parallel_insert_slice(&batch);
        } else {
            for &item in &batch {
                hnsw.insert_slice(item);
            }
        }
        self.graph = Some(Graph {
            hnsw,
            max_norm,
            space,
            size: live.len(),
            removed: 0,
        });
    }

    /// Top `k` of the graph's `ef` nearest candidates that are eligible, plus
    /// the overflow; the exact answer instead if fewer than `k` of them qualify.
    fn graph_search(
        &self,
        graph: &Graph,
        query: &[f32],
        q_norm: f32,
        k: usize,
        ef: usize,
        eligible: &dyn Fn(u32) -> bool,
    ) -> Vec<Hit> {
        let q = graph.query(query, q_norm);
        let mut top = TopK::new(k);
        for n in graph.hnsw.search(&q, ef, ef) {
            let item = n.d_id as u32;
            let hit = Hit {
                item,
                score: dot(self.row(item), query),
            };
            if top.admits(&hit) && eligible(item) {
                top.push(hit);
            }
        }
        for &item in &self.overflow {
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

    fn row(&self, item: u32) -> &[f32] {
        let at = item as usize * self.dim;
        &self.data[at..at + self.dim]
    }

    /// The exact answer over every live item: used when the graph cannot help
    /// (no graph, a zero query, `k` close to the catalogue) or came back short.
    fn exact(&self, query: &[f32], k: usize, eligible: &dyn Fn(u32) -> bool) -> Vec<Hit> {
        let mut top = TopK::new(k);
        ExactIndex::scan_into(&self.data, self.dim, 0, query, eligible, &mut top);
        top.into_sorted()
    }
}

impl Index for HnswIndex {
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
        let graph = match &self.graph {
            // A graph walk that must return a quarter of its items visits most of
            // them anyway; a zero query scores every item 0, a tie for all.
            Some(g) if k * 4 <= g.size && q_norm > 0.0 => g,
            _ => return Ok(self.exact(query, k, &eligible)),
        };
        let mut ef = self.params.ef_search.max(k);
        if filter.is_some() || graph.removed > 0 {
            // Widen the walk so that about `ef` of its candidates pass; when too
            // few pass, the walk would cover more than a scan costs.
            match pass_rate(graph.size.max(self.len()), &eligible) {
                Some(rate) if (ef as f64 / rate) * SCAN_COST_PER_EF < self.len() as f64 => {
                    ef = ((ef as f64 / rate).ceil() as usize).min(MAX_EF);
                }
                _ => return Ok(self.exact(query, k, &eligible)),
            }
        }
        Ok(self.graph_search(graph, query, q_norm, k, ef, &eligible))
    }

    fn insert(&mut self, vector: &[f32]) -> Result<u32> {
        check_vector("vector", self.dim, vector)?;
        let id = u32::try_from(self.len())
            .map_err(|_| Error::param("vector", "the index holds u32::MAX items"))?;
        self.data.extend_from_slice(vector);
        let fits = match &mut self.graph {
            Some(g) if norm_sq(vector).sqrt() <= g.max_norm => {
                let mut t = vec![0f32; Graph::width(g.space, self.dim)];
                Graph::item(g.space, g.max_norm, vector, &mut t);
                g.hnsw.insert_slice((&t, id as usize));
                g.size += 1;
                true
            }
            _ => false,
        };
        if !fits {
            self.overflow.push(id);
            let size = self.graph.as_ref().map_or(0, |g| g.size);
            if self.overflow.len() > OVERFLOW_MIN.max(size / OVERFLOW_DIV) {
                self.rebuild();
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

    #[test]
    fn transformed_items_are_unit_and_keep_the_order() {
        let (m, x, y) = (5.0, [3.0, 4.0], [1.0, 0.0]);
        let (mut tx, mut ty) = ([0f32; 3], [0f32; 3]);
        Graph::transform_item(m, &x, &mut tx);
        Graph::transform_item(m, &y, &mut ty);
        assert!((norm_sq(&tx) - 1.0).abs() < 1e-6 && (norm_sq(&ty) - 1.0).abs() < 1e-6);
        let q = [0.6, 0.8, 0.0];
        assert!((dot(&tx, &q) - dot(&x, &q[..2]) / m).abs() < 1e-6);
    }

    #[test]
    fn unit_dot_never_goes_negative_or_nan() {
        let a = [1.0000001f32, 0.0];
        assert_eq!(ShiftedDot(1.0).eval(&a, &a), 0.0);
        assert_eq!(ShiftedDot(1.0).eval(&[f32::NAN], &[1.0]), 0.0);
    }

    #[test]
    fn bad_params_are_errors_before_hnsw_rs_sees_them() {
        let bad = [
            HnswParams::default().max_connections(1),
            HnswParams::default().max_connections(300),
            HnswParams::default().ef_construction(0),
            HnswParams::default().ef_search(usize::MAX),
            HnswParams::default().rebuild_fraction(0.0),
            HnswParams::default().rebuild_fraction(f32::NAN),
        ];
        for p in bad {
            assert!(
                matches!(p.build(2, &[1.0, 0.0]), Err(Error::InvalidParam { .. })),
                "{p:?}"
            );
        }
        assert!(HnswParams::default().validate().is_ok());
    }

    #[test]
    fn inserts_beyond_the_norm_go_to_overflow_and_are_found() {
        let items: Vec<f32> = (0..500).flat_map(|i| [(i % 7) as f32, 1.0]).collect();
        for space in [HnswSpace::InnerProduct, HnswSpace::Transformed] {
            // A serial build is deterministic, so the approximate search below
            // cannot pass or fail by the luck of thread scheduling.
            let params = HnswParams::default()
                .ef_search(20)
                .space(space)
                .parallel(false);
            let mut index = params.build(2, &items).unwrap();
            index.insert(&[6.0, 1.0]).unwrap();
            assert_eq!(index.overflow(), 0);
            let big = index.insert(&[100.0, 0.0]).unwrap();
            assert_eq!(index.overflow(), 1);
            let hits = index.search(&[1.0, 0.0], 1, None).unwrap();
            assert_eq!(hits[0].item, big, "{space:?}");
            index.rebuild();
            assert_eq!(index.overflow(), 0);
            let hits = index.search(&[1.0, 0.0], 2, None).unwrap();
            assert_eq!(hits[0].item, big, "{space:?}");
            assert_eq!(hits[1].score, 6.0, "{space:?}");
        }
    }

    #[test]
    fn removals_past_the_fraction_rebuild_the_graph() {
        let items: Vec<f32> = (0..400).flat_map(|i| [i as f32, 1.0]).collect();
        let mut index = HnswParams::default()
            .rebuild_fraction(0.1)
            .parallel(false)
            .build(2, &items)
            .unwrap();
        for i in 0..41 {
            index.remove(399 - i).unwrap();
        }
        let g = index.graph.as_ref().unwrap();
        assert_eq!((g.size, g.removed), (359, 0));
        assert_eq!(index.search(&[1.0, 0.0], 1, None).unwrap()[0].item, 358);
    }

    #[test]
    fn a_graph_walk_short_of_eligible_items_falls_back_to_the_exact_answer() {
        let items: Vec<f32> = (0..600)
            .flat_map(|i| [(i % 13) as f32, (i % 7) as f32 - 3.0, 1.0])
            .collect();
        let index = HnswParams::default().build(3, &items).unwrap();
        let exact = ExactIndex::build(3, &items).unwrap();
        let q = [0.3, -1.0, 0.5];
        let rare = |i: u32| i % 50 == 3;
        let graph = index.graph.as_ref().unwrap();
        // ef 10: the walk sees 10 candidates, about none of which pass.
        let got = index.graph_search(graph, &q, norm_sq(&q).sqrt(), 10, 10, &rare);
        assert_eq!(got, exact.search(&q, 10, Some(&rare)).unwrap());
    }

    #[test]
    fn pass_rate_does_not_alias_with_modular_filters() {
        for m in [2u32, 4, 8, 16, 20, 64] {
            let rate = pass_rate(1 << 20, &|i| i % m == 0).unwrap();
            let want = 1.0 / m as f64;
            assert!((rate - want).abs() < 0.6 * want + 0.02, "1 in {m}: {rate}");
        }
        assert_eq!(pass_rate(1000, &|_| false), None);
    }

    #[test]
    fn an_index_emptied_by_removals_answers_empty_and_takes_inserts() {
        let mut index = HnswParams::default().build(2, &[1.0, 0.0]).unwrap();
        index.remove(0).unwrap();
        assert!(index.graph.is_none());
        assert_eq!(index.search(&[1.0, 0.0], 3, None).unwrap(), []);
        let id = index.insert(&[0.0, 1.0]).unwrap();
        assert_eq!(index.search(&[0.0, 1.0], 3, None).unwrap()[0].item, id);
    }
}
