//! Exact search: every item is scored.
//!
//! Vectors sit in one row-major buffer. A search scores a block of rows into a
//! small buffer (a tight loop the compiler vectorises, with no branches), then
//! walks the buffer keeping the best `k` in a bounded heap. Most scores lose to
//! the current `k`-th best, so the tombstone check and the caller's filter run
//! only for the few that could enter: a costly filter is called far fewer than
//! `len` times.

use super::{
    check_dim, check_rows, check_vector, dot, unknown_item, Filter, Hit, Index, Removed, TopK,
};
use crate::error::{Error, Result};

/// Rows scored per block: 256 × 4 bytes of scores stay in L1 next to the rows.
const BLOCK: usize = 256;

/// Exact top-k inner-product search by a blocked scan. See the
/// [module docs](super) for the contract.
///
/// ```
/// use maitre::index::{ExactIndex, Index};
/// let mut index = ExactIndex::build(2, &[1.0, 0.0, 0.0, 1.0])?;
/// let new = index.insert(&[2.0, 2.0])?;
/// index.remove(1)?;
/// let hits = index.search(&[0.0, 1.0], 5, None)?;
/// assert_eq!(hits.iter().map(|h| h.item).collect::<Vec<_>>(), [new, 0]);
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactIndex {
    dim: usize,
    data: Vec<f32>,
    removed: Removed,
}

impl ExactIndex {
    /// An empty index for vectors of dimension `dim`.
    pub fn new(dim: usize) -> Result<Self> {
        check_dim(dim)?;
        Ok(ExactIndex {
            dim,
            data: Vec::new(),
            removed: Removed::default(),
        })
    }

    /// An index over `vectors` (row-major, `dim` values per item; item `i` is row `i`).
    pub fn build(dim: usize, vectors: &[f32]) -> Result<Self> {
        check_rows(dim, vectors)?;
        Ok(ExactIndex {
            dim,
            data: vectors.to_vec(),
            removed: Removed::default(),
        })
    }

    /// The stored vector of `item` (removed items keep theirs).
    pub fn vector(&self, item: u32) -> Option<&[f32]> {
        let at = item as usize * self.dim;
        self.data.get(at..at + self.dim)
    }

    /// Scans the rows `ids` (a contiguous range of item ids) into `top`.
    /// Shared with the HNSW index, which tops up short filtered results and
    /// covers its overflow items with it.
    pub(crate) fn scan_into(
        data: &[f32],
        dim: usize,
        first: u32,
        query: &[f32],
        eligible: &dyn Fn(u32) -> bool,
        top: &mut TopK,
    ) {
        let mut scores = [0f32; BLOCK];
        for (b, block) in data.chunks(BLOCK * dim).enumerate() {
            let n = block.len() / dim;
            for (s, row) in scores[..n].iter_mut().zip(block.chunks_exact(dim)) {
                *s = dot(row, query);
            }
            let base = first + (b * BLOCK) as u32;
            for (i, &score) in scores[..n].iter().enumerate() {
                let hit = Hit {
                    item: base + i as u32,
                    score,
                };
                if top.admits(&hit) && eligible(hit.item) {
                    top.push(hit);
                }
            }
        }
    }
}

impl Index for ExactIndex {
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
        let mut top = TopK::new(k.min(self.live()));
        if top.k == 0 {
            return Ok(Vec::new());
        }
        let removed = &self.removed;
        let eligible = |item: u32| !removed.contains(item) && filter.is_none_or(|f| f(item));
        Self::scan_into(&self.data, self.dim, 0, query, &eligible, &mut top);
        Ok(top.into_sorted())
    }

    fn insert(&mut self, vector: &[f32]) -> Result<u32> {
        check_vector("vector", self.dim, vector)?;
        let id = u32::try_from(self.len())
            .map_err(|_| Error::param("vector", "the index holds u32::MAX items"))?;
        self.data.extend_from_slice(vector);
        Ok(id)
    }

    fn remove(&mut self, item: u32) -> Result<()> {
        if item as usize >= self.len() {
            return Err(unknown_item(item));
        }
        self.removed.insert(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows that straddle a block boundary, so the id offsets of later blocks count.
    fn ramp(n: usize) -> Vec<f32> {
        (0..n).flat_map(|i| [i as f32, 1.0]).collect()
    }

    #[test]
    fn finds_the_best_across_blocks() {
        let index = ExactIndex::build(2, &ramp(3 * BLOCK + 7)).unwrap();
        let hits = index.search(&[1.0, 0.0], 3, None).unwrap();
        let top = (3 * BLOCK + 6) as u32;
        assert_eq!(
            hits.iter().map(|h| h.item).collect::<Vec<_>>(),
            [top, top - 1, top - 2]
        );
        assert_eq!(hits[0].score, top as f32);
    }

    #[test]
    fn filter_and_removal_apply_inside_the_scan() {
        let mut index = ExactIndex::build(2, &ramp(600)).unwrap();
        index.remove(599).unwrap();
        let even = |i: u32| i % 2 == 0;
        let hits = index.search(&[1.0, 0.0], 2, Some(&even)).unwrap();
        assert_eq!(hits.iter().map(|h| h.item).collect::<Vec<_>>(), [598, 596]);
    }

    #[test]
    fn k_larger_than_the_eligible_set_returns_all_of_it() {
        let mut index = ExactIndex::build(2, &ramp(5)).unwrap();
        index.remove(0).unwrap();
        let hits = index.search(&[0.0, 1.0], 10, None).unwrap();
        // Equal scores: ascending ids.
        assert_eq!(
            hits.iter().map(|h| h.item).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut index = ExactIndex::build(2, &ramp(3)).unwrap();
        assert!(matches!(
            index.search(&[1.0], 1, None),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            index.search(&[f32::INFINITY, 0.0], 1, None),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            index.insert(&[f32::NAN, 0.0]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(index.remove(3), Err(Error::Unknown { .. })));
        assert!(matches!(
            ExactIndex::new(0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            ExactIndex::build(2, &[1.0, 2.0, 3.0]),
            Err(Error::LengthMismatch { .. })
        ));
        assert_eq!(index.search(&[1.0, 0.0], 0, None).unwrap(), []);
    }
}
