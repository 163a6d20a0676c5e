//! Customer and item embeddings learned from interactions.
//!
//! [`Als`] fits implicit ALS; [`Factors`] holds one vector per row. Scoring is
//! an inner product, so everything downstream (evaluation, later the index and
//! recommend) only needs the two factor tables.
//!
//! Depends on: `interactions`, `error`. May not depend on `eval` (models enter
//! evaluation through its `Scorer` trait, implemented here).

mod als;
mod kernels;

pub use als::{Als, AlsModel, AlsParams, Confidence, Progress};

use ndarray::ArrayView2;

/// A table of `rows` vectors of dimension `k`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Factors {
    rows: usize,
    k: usize,
    data: Vec<f32>,
}

impl Factors {
    pub(crate) fn new(rows: usize, k: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(data.len(), rows * k);
        Factors { rows, k, data }
    }

    /// Vector `i`.
    pub fn row(&self, i: u32) -> &[f32] {
        let at = i as usize * self.k;
        &self.data[at..at + self.k]
    }

    /// Number of vectors.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimension.
    pub fn k(&self) -> usize {
        self.k
    }

    /// All vectors as one `rows × k` array.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.rows, self.k), &self.data).expect("rows × k")
    }

    pub(crate) fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// `Σᵢ vᵢ vᵢᵀ` as a row-major `k × k` matrix.
    pub fn gram(&self) -> Vec<f32> {
        let v = self.view();
        v.t().dot(&v).iter().copied().collect()
    }

    /// Scores of every vector against `query`, into `out`.
    pub fn scores(&self, query: &[f32], out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(self.data.chunks_exact(self.k)) {
            *o = dot(row, query);
        }
    }
}

/// Inner product with eight independent accumulators, so the compiler can
/// vectorise it (a plain `zip().sum()` is a serial float chain).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}
