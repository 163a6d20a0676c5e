//! Approximate search on maitre's HNSW graph ([`super::graph`]), for inner
//! products.
//!
//! The graph only proposes candidates: every returned score is the exact inner
//! product recomputed on the raw vectors with the same code as [`ExactIndex`],
//! so both indexes give bit-identical scores for the items they both return.
//!
//! Filters and tombstones. A filtered walk that only admits eligible items
//! loses its early stop and, when the filter is selective, visits most of the
//! graph (with hnsw_rs, the previous engine: 49 queries/s keeping 1 item in 20
//! on 20,000 × 32 vectors, 1,650 unfiltered). So this index estimates the
//! fraction `p` of items the predicate keeps from 128 fixed probes, widens the
//! walk's candidate list to `ef / p` so that about `ef` eligible candidates come
//! back, and applies the predicate to the candidates as it ranks them (an
//! excluded item never takes a slot). When `ef / p` would make the walk dearer
//! than an exact scan (`p` small or the catalogue small), the exact scan
//! answers, calling the filter only on items that would enter the top `k`. If
//! the walk yields fewer than `k` eligible candidates, the exact scan answers
//! too: the list is never short.
//!
//! Removed items stay in the graph as tombstones (they still connect it) and
//! are filtered out of results; when they exceed
//! [`HnswParams::rebuild_fraction`] of the graph, it is rebuilt without them.
//!
//! Determinism: the graph depends on the seed and the vectors only (not on
//! thread count or scheduling), so the same data and parameters give the same
//! results on every run.

use super::exact::ExactIndex;
use super::graph::{Graph, GraphParts, Rows, Shape};
use super::{
    check_rows, check_vector, dot, norm_sq, unknown_item, Filter, Hit, Index, Removed, TopK,
};
use crate::artifact::{Decoder, Encoder};
use crate::error::{Error, Result};
use crate::hash::{mix, GOLDEN};

/// Beyond this, links per node stop paying for their memory and build time.
const MAX_CONNECTIONS: usize = 256;
/// An `ef` beyond this asks the graph to visit most of any catalogue; an exact
/// scan is cheaper.
pub(super) const MAX_EF: usize = 100_000;

/// Items probed to estimate what fraction of the catalogue a filter keeps.
const PROBES: u64 = 128;
/// A graph walk with candidate list `ef` costs about as much as an exact scan
/// of this many × `ef` items (measured with hnsw_rs on 50,000 × 64 vectors: an
/// ef-100 walk 0.77 ms, the scan 1.3 ms, so ~300; 350 on 20,000 × 32). Used to
/// pick the cheaper path for filtered searches. The own graph walks faster, so
/// this errs towards the scan, which is never wrong, only slower.
pub(super) const SCAN_COST_PER_EF: f64 = 350.0;

/// The fraction of `PROBES` pseudo-random ids below `n` that are eligible, or
/// `None` if none is. The ids are fixed (SplitMix64 of the probe number), so a
/// search is deterministic, and scattered, so a filter like `id % 20 == 7`
/// cannot alias with them as it would with a stride.
pub(super) fn pass_rate(n: usize, eligible: &dyn Fn(u32) -> bool) -> Option<f64> {
    let hits = (0..PROBES)
        .filter(|&j| {
            let z = mix(j.wrapping_add(1).wrapping_mul(GOLDEN));
            eligible((z % n as u64) as u32)
        })
        .count();
    (hits > 0).then(|| hits as f64 / PROBES as f64)
}

/// Parameters of an [`HnswIndex`], checked by [`validate`](HnswParams::validate).
///
/// Defaults: `max_connections` 16, `ef_construction` 200, `ef_search` 100,
/// `seed` 42, `rebuild_fraction` 0.25 (hnswlib's M, ef_construction and a
/// typical ef).
#[derive(Debug, Clone, PartialEq)]
pub struct HnswParams {
    pub(super) max_connections: usize,
    pub(super) ef_construction: usize,
    pub(super) ef_search: usize,
    seed: u64,
    pub(super) rebuild_fraction: f32,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            max_connections: 16,
            ef_construction: 200,
            ef_search: 100,
            seed: 42,
            rebuild_fraction: 0.25,
        }
    }
}

impl HnswParams {
    /// Links per item and layer, "M" in the HNSW paper (the bottom layer keeps
    /// twice as many). 2 to 256; default 16.
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

    /// Seed of the items' layers: the graph is a function of the seed and the
    /// vectors, whatever the thread count. Default 42.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Rebuild the graph once removed items exceed this fraction of it
    /// (exclusive 0 to inclusive 1; default 0.25).
    #[must_use]
    pub fn rebuild_fraction(mut self, fraction: f32) -> Self {
        self.rebuild_fraction = fraction;
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
    /// `i` is row `i`), on the rayon pool.
    pub fn build(&self, dim: usize, vectors: &[f32]) -> Result<HnswIndex> {
        self.validate()?;
        check_rows(dim, vectors)?;
        let mut index = HnswIndex {
            params: self.clone(),
            dim,
            data: vectors.to_vec(),
            removed: Removed::default(),
            graph: Graph::new(self.shape()),
            stale: 0,
        };
        index.rebuild();
        Ok(index)
    }

    fn shape(&self) -> Shape {
        Shape {
            m: self.max_connections,
            ef_construction: self.ef_construction,
            seed: self.seed,
        }
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
#[derive(Clone)]
pub struct HnswIndex {
    params: HnswParams,
    dim: usize,
    /// Raw vectors of every item ever inserted, row-major: the graph walks them
    /// and exact scores read them.
    data: Vec<f32>,
    removed: Removed,
    graph: Graph,
    /// Items in the graph removed since it was built.
    stale: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("params", &self.params)
            .field("dim", &self.dim)
            .field("len", &self.len())
            .field("live", &self.live())
            .field("graph_size", &self.graph.size())
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

    /// Changes the search's candidate list size (see
    /// [`HnswParams::ef_search`]) without rebuilding: trade recall for speed
    /// on a built graph.
    pub fn set_ef_search(&mut self, ef: usize) -> Result<()> {
        let params = self.params.clone().ef_search(ef);
        params.validate()?;
        self.params = params;
        Ok(())
    }

    /// Rebuilds the graph from the live items, dropping tombstones. `remove`
    /// calls it when they pass [`HnswParams::rebuild_fraction`]; call it
    /// yourself to choose when the cost (that of a build) is paid.
    pub fn rebuild(&mut self) {
        let live: Vec<u32> = (0..self.len() as u32)
            .filter(|&i| !self.removed.contains(i))
            .collect();
        let mut graph = Graph::new(self.params.shape());
        graph.insert(self.rows(), &live);
        self.graph = graph;
        self.stale = 0;
    }

    /// Writes the parameters and the graph (not the vectors, which the
    /// caller stores anyway) for [`HnswIndex::decode`]. `false`, writing
    /// nothing, if items were removed since the build: the graph would keep
    /// them as tombstones that a reader could not tell apart.
    pub(crate) fn encode(&self, out: &mut Encoder) -> bool {
        if self.stale > 0 || self.removed.count() > 0 {
            return false;
        }
        let p = &self.params;
        let g = self.graph.to_parts();
        out.put_u64(p.max_connections as u64)
            .put_u64(p.ef_construction as u64)
            .put_u64(p.ef_search as u64)
            .put_u64(p.seed)
            .put_f32(p.rebuild_fraction)
            .put_u32s(&g.base)
            .put_bytes(&g.levels)
            .put_u32s(&g.upper)
            .put_u32(g.entry.map_or(0, |e| e + 1))
            .put_u64(g.size as u64);
        true
    }

    /// The index [`HnswIndex::encode`] wrote, over `vectors` (which must be
    /// the same rows). Every parameter and link is checked: bad bytes are an
    /// artifact error, never a panic in a later search.
    pub(crate) fn decode(dim: usize, vectors: &[f32], d: &mut Decoder<'_>) -> Result<HnswIndex> {
        let params = HnswParams {
            max_connections: d.get_usize()?,
            ef_construction: d.get_usize()?,
            ef_search: d.get_usize()?,
            seed: d.get_u64()?,
            rebuild_fraction: d.get_f32()?,
        };
        params
            .validate()
            .map_err(|e| d.invalid(format!("HNSW parameters: {e}")))?;
        let rows = check_rows(dim, vectors)?;
        let parts = GraphParts {
            base: d.get_u32s()?.into(),
            levels: d.get_bytes()?.into(),
            upper: d.get_u32s()?,
            entry: d.get_u32()?.checked_sub(1),
            size: d.get_usize()?,
        };
        let graph = Graph::from_parts(params.shape(), rows, parts)
            .map_err(|e| d.invalid(format!("HNSW graph: {e}")))?;
        Ok(HnswIndex {
            params,
            dim,
            data: vectors.to_vec(),
            removed: Removed::default(),
            graph,
            stale: 0,
        })
    }

    fn rows(&self) -> Rows<'_> {
        Rows {
            data: &self.data,
            dim: self.dim,
        }
    }

    /// Top `k` of the graph's `ef` nearest candidates that are eligible; the
    /// exact answer instead if fewer than `k` of them qualify.
    fn graph_search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        eligible: &dyn Fn(u32) -> bool,
    ) -> Vec<Hit> {
        let mut top = TopK::new(k);
        for n in self.graph.search(self.rows(), query, ef) {
            let hit = Hit {
                item: n.node,
                score: dot(self.row(n.node), query),
            };
            if top.admits(&hit) && eligible(hit.item) {
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
    /// (a zero query, `k` close to the catalogue) or came back short.
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

    fn as_hnsw(&self) -> Option<&HnswIndex> {
        Some(self)
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
        // A graph walk that must return a quarter of its items visits most of
        // them anyway; a zero query scores every item 0, a tie for all.
        if k * 4 > self.graph.size() || norm_sq(query) == 0.0 {
            return Ok(self.exact(query, k, &eligible));
        }
        let mut ef = self.params.ef_search.max(k);
        if filter.is_some() || self.stale > 0 {
            // Widen the walk so that about `ef` of its candidates pass; when too
            // few pass, the walk would cover more than a scan costs.
            match pass_rate(self.len(), &eligible) {
                Some(rate) if (ef as f64 / rate) * SCAN_COST_PER_EF < self.len() as f64 => {
                    ef = ((ef as f64 / rate).ceil() as usize).min(MAX_EF);
                }
                _ => return Ok(self.exact(query, k, &eligible)),
            }
        }
        Ok(self.graph_search(query, k, ef, &eligible))
    }

    fn insert(&mut self, vector: &[f32]) -> Result<u32> {
        check_vector("vector", self.dim, vector)?;
        let id = u32::try_from(self.len())
            .map_err(|_| Error::param("vector", "the index holds u32::MAX items"))?;
        self.data.extend_from_slice(vector);
        let rows = Rows {
            data: &self.data,
            dim: self.dim,
        };
        self.graph.insert(rows, &[id]);
        Ok(id)
    }

    fn remove(&mut self, item: u32) -> Result<()> {
        if item as usize >= self.len() {
            return Err(unknown_item(item));
        }
        if !self.removed.insert(item) {
            return Ok(());
        }
        self.stale += 1;
        if self.stale as f32 > self.params.rebuild_fraction * self.graph.size() as f32 {
            self.rebuild();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_params_are_errors_before_a_build() {
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
    fn inserted_items_are_found_whatever_their_norm() {
        let items: Vec<f32> = (0..500).flat_map(|i| [(i % 7) as f32, 1.0]).collect();
        let mut index = HnswParams::default()
            .ef_search(20)
            .build(2, &items)
            .unwrap();
        let big = index.insert(&[100.0, 0.0]).unwrap();
        let hits = index.search(&[1.0, 0.0], 2, None).unwrap();
        assert_eq!(hits[0].item, big);
        assert_eq!(hits[1].score, 6.0);
    }

    #[test]
    fn removals_past_the_fraction_rebuild_the_graph() {
        let items: Vec<f32> = (0..400).flat_map(|i| [i as f32, 1.0]).collect();
        let mut index = HnswParams::default()
            .rebuild_fraction(0.1)
            .build(2, &items)
            .unwrap();
        for i in 0..41 {
            index.remove(399 - i).unwrap();
        }
        assert_eq!((index.graph.size(), index.stale), (359, 0));
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
        // ef 10: the walk sees 10 candidates, about none of which pass.
        let got = index.graph_search(&q, 10, 10, &rare);
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
        assert_eq!(index.graph.size(), 0);
        assert_eq!(index.search(&[1.0, 0.0], 3, None).unwrap(), []);
        let id = index.insert(&[0.0, 1.0]).unwrap();
        assert_eq!(index.search(&[0.0, 1.0], 3, None).unwrap()[0].item, id);
    }
}
