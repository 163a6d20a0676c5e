//! Top-k maximum-inner-product search over item vectors.
//!
//! An [`Index`] holds one vector per item (ids are dense `u32`, assigned in
//! insertion order) and answers "which `k` items score highest against this
//! query?", where the score is the inner product. Recommendation, similar items
//! and re-ranking all reduce to this once customers and items are embedded.
//!
//! Two implementations share the trait:
//!
//! * [`ExactIndex`]: a blocked scan with a partial selection. Always
//!   available, also on wasm32; the ground truth for recall and the right choice
//!   for catalogues under a few tens of thousands of items.
//! * `HnswIndex` (cargo feature `hnsw`, on by default): maitre's own HNSW
//!   graph on inner products (`graph.rs`), candidates rescored exactly.
//!   Approximate, much faster on large catalogues; deterministic for a seed.
//! * `HnswRsIndex` (cargo feature `hnsw-rs`, off by default): the hnsw_rs
//!   crate's graph behind the same contract, kept so that the ANN peer script
//!   measures it beside maitre's graph and hnswlib. Not seedable, slower, no
//!   wasm32: see `hnswrs.rs`.
//!
//! [`IndexParams`] picks one by catalogue size ([`IndexKind::Auto`]) unless told.
//!
//! Contract shared by all (checked by `tests/index.rs`):
//!
//! * hits are sorted by descending score, ties by ascending item id, so results
//!   are deterministic for a given index;
//! * a filter is applied *inside* the search, and a search returns exactly
//!   `min(k, eligible)` hits, where an eligible item is one not removed that passes
//!   the filter: a selective filter never yields a short list;
//! * removed items are never returned;
//! * `k == 0` returns an empty list (not an error), so "fill the remaining
//!   slots of a page" needs no special case;
//! * bad input (wrong dimension, NaN or infinite components, an unknown item)
//!   is a typed [`Error`], never a panic.
//!
//! Depends on: `error`, the SIMD kernels (`kernels`, a leaf with no
//! dependency of its own) and the artifact codec (`artifact::{Encoder,
//! Decoder}`, to store a graph). It takes plain row-major `f32` slices (what
//! `embed::Factors` stores), so it may not depend on the rest of `embed`, nor
//! on `events` or `eval`.

mod exact;
#[cfg(feature = "hnsw")]
mod graph;
#[cfg(feature = "hnsw")]
mod hnsw;
#[cfg(feature = "hnsw-rs")]
mod hnswrs;

pub use exact::ExactIndex;
#[cfg(feature = "hnsw")]
pub use hnsw::{HnswIndex, HnswParams};
#[cfg(feature = "hnsw-rs")]
pub use hnswrs::HnswRsIndex;

use crate::error::{Error, Result};
pub(crate) use crate::kernels::dot;
use rayon::prelude::*;
use std::cmp::Ordering;

/// A predicate on item ids: `true` keeps the item. Business rules (in stock,
/// not yet bought, category) enter the search through this.
pub type Filter<'a> = &'a dyn Fn(u32) -> bool;

/// A [`Filter`] that can be shared by the threads of [`Index::search_batch`].
pub type SyncFilter<'a> = &'a (dyn Fn(u32) -> bool + Sync);

/// One search result: an item and its inner product with the query.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The item id (its insertion rank).
    pub item: u32,
    /// The inner product of the item's vector with the query.
    pub score: f32,
}

impl Hit {
    /// The result order: higher score first, then lower id. Scores are never
    /// NaN (inputs are checked), and `-0.0` ties with `0.0` like any equal score.
    #[inline]
    pub(crate) fn rank_cmp(&self, other: &Hit) -> Ordering {
        other
            .score
            .partial_cmp(&self.score)
            .unwrap_or(Ordering::Equal)
            .then(self.item.cmp(&other.item))
    }
}

/// Top-k inner-product search over item vectors. See the [module docs](self)
/// for the contract every implementation keeps.
pub trait Index: Send + Sync {
    /// Dimension of the vectors.
    fn dim(&self) -> usize;

    /// Number of ids handed out, removed items included; the next
    /// [`insert`](Index::insert) returns this.
    fn len(&self) -> usize;

    /// `true` when no id was ever handed out.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of items that are not removed.
    fn live(&self) -> usize;

    /// Whether `item` was removed. Ids never handed out are not "removed".
    fn is_removed(&self, item: u32) -> bool;

    /// The `k` items with the highest inner product with `query` among those
    /// not removed and passing `filter`, best first.
    fn search(&self, query: &[f32], k: usize, filter: Option<Filter<'_>>) -> Result<Vec<Hit>>;

    /// [`search`](Index::search) for many queries at once, in parallel on the
    /// rayon pool. `queries` is row-major, `dim()` values per query; the result
    /// has one list per query, in order.
    fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        filter: Option<SyncFilter<'_>>,
    ) -> Result<Vec<Vec<Hit>>> {
        let dim = self.dim();
        if queries.len() % dim != 0 {
            return Err(Error::LengthMismatch {
                name: "queries (a multiple of the dimension)".into(),
                expected: queries.len() / dim * dim,
                got: queries.len(),
            });
        }
        queries
            .par_chunks(dim)
            .map(|q| self.search(q, k, filter.map(|f| f as Filter<'_>)))
            .collect()
    }

    /// This index as an [`HnswIndex`], if it is one: artifacts store its
    /// graph so that loading does not rebuild it.
    #[cfg(feature = "hnsw")]
    #[doc(hidden)]
    fn as_hnsw(&self) -> Option<&HnswIndex> {
        None
    }

    /// Adds a vector and returns its id (the previous [`len`](Index::len)).
    fn insert(&mut self, vector: &[f32]) -> Result<u32>;

    /// Removes an item from all future results. Its id is not reused. Removing an
    /// item twice is not an error; an id never handed out is [`Error::Unknown`].
    fn remove(&mut self, item: u32) -> Result<()>;
}

/// Which implementation [`IndexParams::build`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexKind {
    /// Exact below [`IndexParams::auto_threshold`] items, HNSW from there on
    /// (exact when the crate is built without the `hnsw` feature, as for wasm32).
    #[default]
    Auto,
    /// Always [`ExactIndex`].
    Exact,
    /// Always `HnswIndex`; an error when built without the `hnsw` feature.
    Hnsw,
    /// Always `HnswRsIndex` (the hnsw_rs crate, with the `HnswParams` given
    /// and its seed ignored); an error when built without the `hnsw-rs`
    /// feature. Never chosen by [`Auto`](IndexKind::Auto).
    HnswRs,
}

/// How to build an index: which kind, and the HNSW parameters if it is one.
///
/// Defaults: `kind` [`IndexKind::Auto`], `auto_threshold` 20,000 items, and
/// `HnswParams::default()`.
///
/// ```
/// use maitre::index::{Index, IndexKind, IndexParams};
/// // Three items of dimension 2, row-major.
/// let items = [1.0, 0.0, 0.0, 1.0, 0.7, 0.7];
/// let index = IndexParams::default().kind(IndexKind::Auto).build(2, &items)?;
/// let hits = index.search(&[1.0, 0.2], 2, Some(&|item| item != 0))?;
/// assert_eq!(hits.iter().map(|h| h.item).collect::<Vec<_>>(), [2, 1]);
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IndexParams {
    kind: IndexKind,
    auto_threshold: usize,
    #[cfg(feature = "hnsw")]
    hnsw: HnswParams,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            kind: IndexKind::Auto,
            auto_threshold: 20_000,
            #[cfg(feature = "hnsw")]
            hnsw: HnswParams::default(),
        }
    }
}

impl IndexParams {
    /// Which implementation to use (default [`IndexKind::Auto`]).
    #[must_use]
    pub fn kind(mut self, kind: IndexKind) -> Self {
        self.kind = kind;
        self
    }

    /// Catalogue size from which [`IndexKind::Auto`] picks HNSW (default 20,000).
    /// The choice is made once, at build: later inserts do not switch it.
    #[must_use]
    pub fn auto_threshold(mut self, items: usize) -> Self {
        self.auto_threshold = items;
        self
    }

    /// Parameters of the HNSW graph, if one is built (maitre's or hnsw_rs's).
    #[cfg(feature = "hnsw")]
    #[must_use]
    pub fn hnsw(mut self, params: HnswParams) -> Self {
        self.hnsw = params;
        self
    }

    /// The implementation these parameters choose for `items` vectors.
    /// Whether a stored HNSW graph should be used as it is: unless exact
    /// search was asked for explicitly. Under [`IndexKind::Auto`] the graph
    /// was the saver's choice, and taking it keeps save → load identical.
    #[cfg(feature = "hnsw")]
    pub(crate) fn restores_graph(&self) -> bool {
        matches!(self.kind, IndexKind::Auto | IndexKind::Hnsw)
    }

    pub fn resolve(&self, items: usize) -> IndexKind {
        match self.kind {
            IndexKind::Auto if cfg!(feature = "hnsw") && items >= self.auto_threshold => {
                IndexKind::Hnsw
            }
            IndexKind::Auto => IndexKind::Exact,
            kind => kind,
        }
    }

    /// Checks the parameters themselves, apart from any vectors: loading an
    /// artifact reports a caller's bad parameters as such, not as a bad file.
    pub(crate) fn validate(&self) -> Result<()> {
        match self.kind {
            #[cfg(not(feature = "hnsw"))]
            IndexKind::Hnsw => return Err(no_hnsw()),
            #[cfg(feature = "hnsw-rs")]
            IndexKind::HnswRs => return hnswrs::check_params(&self.hnsw),
            #[cfg(not(feature = "hnsw-rs"))]
            IndexKind::HnswRs => return Err(no_hnsw_rs()),
            _ => {}
        }
        #[cfg(feature = "hnsw")]
        self.hnsw.validate()?;
        Ok(())
    }

    /// Builds an index over `vectors` (row-major, `dim` values per item; item
    /// `i` is row `i`).
    pub fn build(&self, dim: usize, vectors: &[f32]) -> Result<Box<dyn Index>> {
        let items = vectors.len().checked_div(dim).unwrap_or(0);
        match self.resolve(items) {
            #[cfg(feature = "hnsw")]
            IndexKind::Hnsw => Ok(Box::new(self.hnsw.build(dim, vectors)?)),
            #[cfg(not(feature = "hnsw"))]
            IndexKind::Hnsw => Err(no_hnsw()),
            #[cfg(feature = "hnsw-rs")]
            IndexKind::HnswRs => Ok(Box::new(HnswRsIndex::build(&self.hnsw, dim, vectors)?)),
            #[cfg(not(feature = "hnsw-rs"))]
            IndexKind::HnswRs => Err(no_hnsw_rs()),
            _ => Ok(Box::new(ExactIndex::build(dim, vectors)?)),
        }
    }
}

#[cfg(not(feature = "hnsw"))]
fn no_hnsw() -> Error {
    Error::param(
        "kind",
        "HNSW needs the `hnsw` cargo feature (not available on wasm32); use Exact or Auto",
    )
}

#[cfg(not(feature = "hnsw-rs"))]
fn no_hnsw_rs() -> Error {
    Error::param(
        "kind",
        "HnswRs needs the `hnsw-rs` cargo feature (off by default, not available on wasm32); use Hnsw, Exact or Auto",
    )
}

/// Checks a dimension for a new index.
fn check_dim(dim: usize) -> Result<()> {
    if dim == 0 {
        return Err(Error::param("dim", "must be at least 1"));
    }
    Ok(())
}

/// Checks one vector's length and values. The squared norm must be finite too:
/// finite components whose squares overflow would make scores infinite or NaN,
/// and a NaN score has no place in an order.
fn check_vector(name: &str, dim: usize, v: &[f32]) -> Result<()> {
    if v.len() != dim {
        return Err(Error::LengthMismatch {
            name: name.into(),
            expected: dim,
            got: v.len(),
        });
    }
    if let Some(at) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::param(
            name,
            format!("component {at} is {}, not a finite number", v[at]),
        ));
    }
    if !norm_sq(v).is_finite() {
        return Err(Error::param(
            name,
            "its squared norm overflows f32; scale the vector down",
        ));
    }
    Ok(())
}

/// Checks a row-major table of vectors and returns the number of rows.
fn check_rows(dim: usize, vectors: &[f32]) -> Result<usize> {
    check_dim(dim)?;
    if vectors.len() % dim != 0 {
        return Err(Error::LengthMismatch {
            name: "vectors (a multiple of the dimension)".into(),
            expected: vectors.len() / dim * dim,
            got: vectors.len(),
        });
    }
    let rows = vectors.len() / dim;
    if rows > u32::MAX as usize {
        return Err(Error::param("vectors", "more than u32::MAX items"));
    }
    for (i, row) in vectors.chunks_exact(dim).enumerate() {
        check_vector(&format!("vectors row {i}"), dim, row)?;
    }
    Ok(rows)
}

#[inline]
pub(crate) fn norm_sq(v: &[f32]) -> f32 {
    dot(v, v)
}

/// A bounded collection of the best `k` hits seen so far. The worst kept hit
/// sits on top of a heap, so a scan compares each score with one number and
/// only touches the heap (and the filter) for the few that beat it.
pub(crate) struct TopK {
    k: usize,
    heap: std::collections::BinaryHeap<Ranked>,
}

/// A hit ordered so that the *worst* is the heap's maximum.
struct Ranked(Hit);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: std::collections::BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Whether a hit would enter: cheap, so callers test it before a filter.
    #[inline]
    pub(crate) fn admits(&self, hit: &Hit) -> bool {
        if self.heap.len() < self.k {
            return self.k > 0;
        }
        match self.heap.peek() {
            Some(worst) => hit.rank_cmp(&worst.0) == Ordering::Less,
            None => false,
        }
    }

    /// Adds a hit that [`admits`](TopK::admits) accepted.
    #[inline]
    pub(crate) fn push(&mut self, hit: Hit) {
        self.heap.push(Ranked(hit));
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    #[cfg_attr(not(feature = "hnsw"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The kept hits, best first.
    pub(crate) fn into_sorted(self) -> Vec<Hit> {
        // `into_sorted_vec` is ascending in `Ranked` order, which is best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

/// Tombstones: one bit per item id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Removed {
    bits: Vec<u64>,
    count: usize,
}

impl Removed {
    #[inline]
    pub(crate) fn contains(&self, item: u32) -> bool {
        let (w, b) = (item as usize / 64, item % 64);
        self.bits.get(w).is_some_and(|word| word >> b & 1 == 1)
    }

    /// Marks `item`; returns whether it was newly removed.
    pub(crate) fn insert(&mut self, item: u32) -> bool {
        let (w, b) = (item as usize / 64, item % 64);
        if self.bits.len() <= w {
            self.bits.resize(w + 1, 0);
        }
        let fresh = self.bits[w] >> b & 1 == 0;
        self.bits[w] |= 1 << b;
        self.count += usize::from(fresh);
        fresh
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// The error for an id that was never handed out.
fn unknown_item(item: u32) -> Error {
    Error::Unknown {
        what: "item",
        id: item.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_best_and_breaks_ties_by_id() {
        let mut top = TopK::new(3);
        for (item, score) in [(5, 1.0), (1, 2.0), (4, 1.0), (2, 1.0), (9, 0.5), (3, 3.0)] {
            let hit = Hit { item, score };
            if top.admits(&hit) {
                top.push(hit);
            }
        }
        let got: Vec<_> = top.into_sorted().iter().map(|h| h.item).collect();
        assert_eq!(got, [3, 1, 2]);
    }

    #[test]
    fn top_k_of_zero_keeps_nothing() {
        let top = TopK::new(0);
        assert!(!top.admits(&Hit {
            item: 0,
            score: 1.0,
        }));
    }

    #[test]
    fn removed_bits() {
        let mut r = Removed::default();
        assert!(!r.contains(130));
        assert!(r.insert(130));
        assert!(!r.insert(130));
        assert!(r.contains(130) && !r.contains(129) && !r.contains(131));
        assert_eq!(r.count(), 1);
    }

    #[test]
    fn dot_matches_naive_on_odd_lengths() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.25).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn vectors_that_overflow_are_rejected() {
        let big = [3e19f32, 3e19];
        assert!(matches!(
            check_vector("v", 2, &big),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            check_vector("v", 2, &[f32::NAN, 0.0]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            check_vector("v", 3, &[0.0, 0.0]),
            Err(Error::LengthMismatch { .. })
        ));
    }
}
