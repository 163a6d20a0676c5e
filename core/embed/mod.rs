//! Customer and item embeddings learned from interactions.
//!
//! [`Als`] fits implicit ALS; [`Factors`] holds one vector per row. Scoring is
//! an inner product, so everything downstream (index, recommend, evaluation)
//! only needs the factor tables. [`ContextVectors`] place context values and
//! [`AttributeVectors`] place brand-new items (cold start) in the same space.
//! [`EaseParams`] fits EASE, a closed-form item × item model, for catalogues
//! small enough to hold two dense item × item tables.
//!
//! Depends on: `interactions`, `error`. May not depend on `eval` (models enter
//! evaluation through its `Scorer` trait, implemented here).

mod als;
mod cold;
mod context;
#[cfg(feature = "ease")]
mod ease;

pub use crate::kernels::dot;
pub use als::{
    Als, AlsModel, AlsParams, Confidence, Progress, RegularizationScale, RowBlock,
    MAX_INITIAL_VALUES, MAX_THREADS,
};
pub use cold::{AttributeVectors, ColdStartParams, NormCalibration};
pub use context::ContextVectors;
#[cfg(feature = "ease")]
pub use ease::{EaseModel, EaseParams};

use crate::error::{Error, Result};
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

    /// A table from row-major data; every value must be finite.
    pub fn from_vec(rows: usize, k: usize, data: Vec<f32>) -> Result<Self> {
        // `rows` may come from a file: the product must not wrap (and then
        // match a short `data` by accident).
        let Some(expected) = rows.checked_mul(k) else {
            return Err(Error::param(
                "data",
                format!("{rows} rows × {k} values overflow the address space"),
            ));
        };
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                name: "data".into(),
                expected,
                got: data.len(),
            });
        }
        check_finite("data", &data)?;
        Ok(Factors { rows, k, data })
    }

    /// Appends a vector (a new item placed by cold start, say); returns its row.
    pub fn push(&mut self, vector: &[f32]) -> Result<u32> {
        self.check_row(vector)?;
        self.data.extend_from_slice(vector);
        self.rows += 1;
        Ok((self.rows - 1) as u32)
    }

    /// Replaces vector `i`.
    pub fn set_row(&mut self, i: u32, vector: &[f32]) -> Result<()> {
        if i as usize >= self.rows {
            return Err(Error::Unknown {
                what: "row",
                id: i.to_string(),
            });
        }
        self.check_row(vector)?;
        let at = i as usize * self.k;
        self.data[at..at + self.k].copy_from_slice(vector);
        Ok(())
    }

    fn check_row(&self, vector: &[f32]) -> Result<()> {
        if vector.len() != self.k {
            return Err(Error::LengthMismatch {
                name: "vector".into(),
                expected: self.k,
                got: vector.len(),
            });
        }
        check_finite("vector", vector)
    }

    /// A copy without row `i` (the rows after it move up by one).
    pub fn without_row(&self, i: u32) -> Result<Factors> {
        let i = i as usize;
        if i >= self.rows {
            return Err(Error::param(
                "row",
                format!("{i} is past the {} rows", self.rows),
            ));
        }
        let mut data = Vec::with_capacity(self.data.len() - self.k);
        data.extend_from_slice(&self.data[..i * self.k]);
        data.extend_from_slice(&self.data[(i + 1) * self.k..]);
        Ok(Factors {
            rows: self.rows - 1,
            k: self.k,
            data,
        })
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

fn check_finite(name: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(at) => Err(Error::param(
            name,
            format!("value {} at position {at} is not finite", values[at]),
        )),
        None => Ok(()),
    }
}
