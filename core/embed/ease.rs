//! EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", 2019):
//! a closed-form item × item weight matrix `B` with a zero diagonal, fitted
//! so that `X·B ≈ X` under an L2 penalty λ. A customer's scores are their
//! interaction row times `B`.
//!
//! `B = I − P·diag(1/diag(P))` with `P = (XᵀX + λI)⁻¹`. The inverse is a
//! Cholesky inverse from `faer` (sequential, so the weights are the same on
//! any machine and thread count). The Gram matrix and the inverse are dense
//! `n × n` `f64` tables, so [`EaseParams::max_items`] bounds the catalogue
//! before anything is allocated.

use crate::error::{Error, Result};
use crate::interactions::Csr;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use rayon::prelude::*;

/// Checked hyper-parameters of EASE.
///
/// Defaults: λ = 100 (chosen on validation splits of every built-in data set
/// among 10–1000: `cargo run --release --example tune_defaults -- --ease`),
/// binary interactions, at most 20,000 items (two dense 20,000² `f64`
/// tables are 6.4 GB).
///
/// ```
/// use maitre::embed::EaseParams;
/// let params = EaseParams::default().regularization(500.0);
/// assert!(params.validate().is_ok());
/// assert!(EaseParams::default().regularization(0.0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EaseParams {
    /// λ, the L2 penalty on `B`; positive.
    pub regularization: f64,
    /// Whether to learn from the interaction weights (`true`) or from their
    /// presence only (`false`, Steck's formulation).
    pub weighted: bool,
    /// The largest catalogue EASE accepts.
    pub max_items: usize,
}

impl Default for EaseParams {
    fn default() -> Self {
        EaseParams {
            regularization: 100.0,
            weighted: false,
            max_items: 20_000,
        }
    }
}

impl EaseParams {
    /// Sets λ.
    #[must_use]
    pub fn regularization(mut self, lambda: f64) -> Self {
        self.regularization = lambda;
        self
    }

    /// Learns from interaction weights instead of their presence.
    #[must_use]
    pub fn weighted(mut self, weighted: bool) -> Self {
        self.weighted = weighted;
        self
    }

    /// Sets the largest catalogue accepted.
    #[must_use]
    pub fn max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        if !(self.regularization.is_finite() && self.regularization > 0.0) {
            return Err(Error::param(
                "regularization",
                format!("{} is not a positive finite number", self.regularization),
            ));
        }
        if self.max_items == 0 {
            return Err(Error::param("max_items", "must be at least 1"));
        }
        Ok(())
    }

    /// Fits `B` on a customer × item matrix.
    pub fn fit(&self, matrix: &Csr) -> Result<EaseModel> {
        self.validate()?;
        let n = matrix.n_cols();
        if n > self.max_items {
            return Err(Error::param(
                "max_items",
                format!(
                    "EASE holds two dense {n} × {n} tables for {n} items, more than \
                     max_items ({}); use ALS for catalogues this large",
                    self.max_items
                ),
            ));
        }
        if matrix.nnz() == 0 {
            return Err(Error::NotEnoughData(
                "EASE needs at least one interaction".into(),
            ));
        }
        let value = |w: f32| if self.weighted { f64::from(w) } else { 1.0 };
        let by_item = matrix.transpose();
        // Row i of XᵀX: Σ over i's customers u of x_ui · x_u. Rows are
        // independent, so they are built in parallel and stay deterministic.
        let rows: Vec<Vec<f64>> = (0..n as u32)
            .into_par_iter()
            .map(|i| {
                let mut row = vec![0f64; n];
                let (customers, weights) = by_item.row(i);
                for (&u, &w_ui) in customers.iter().zip(weights) {
                    let (items, ws) = matrix.row(u);
                    let a = value(w_ui);
                    for (&j, &w) in items.iter().zip(ws) {
                        row[j as usize] += a * value(w);
                    }
                }
                row
            })
            .collect();
        let gram = Mat::<f64>::from_fn(n, n, |i, j| {
            rows[i][j] + if i == j { self.regularization } else { 0.0 }
        });
        drop(rows);
        let p = gram
            .llt(Side::Lower)
            .map_err(|e| Error::param("regularization", format!("{e:?}: increase λ")))?
            .inverse();
        drop(gram);
        let mut weights = vec![0f32; n * n];
        weights
            .par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(i, row)| {
                for (j, b) in row.iter_mut().enumerate() {
                    if i != j {
                        *b = (-p[(i, j)] / p[(j, j)]) as f32;
                    }
                }
            });
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::param(
                "regularization",
                "the weights are not finite: increase λ",
            ));
        }
        Ok(EaseModel {
            n_items: n,
            weights,
            params: self.clone(),
        })
    }
}

/// The fitted item × item weights.
#[derive(Debug, Clone, PartialEq)]
pub struct EaseModel {
    n_items: usize,
    /// Row-major `B`: `weights[i * n + j]` is how much having `i` adds to `j`.
    weights: Vec<f32>,
    params: EaseParams,
}

impl EaseModel {
    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// The parameters the model was fitted with.
    pub fn params(&self) -> &EaseParams {
        &self.params
    }

    /// `B[i][j]`: how much interacting with `i` raises `j`.
    pub fn weight(&self, i: u32, j: u32) -> Option<f32> {
        let (i, j) = (i as usize, j as usize);
        (i < self.n_items && j < self.n_items).then(|| self.weights[i * self.n_items + j])
    }

    /// Writes the score of every item for a history of `(item, weight)`
    /// pairs into `out` (one slot per item). Unknown items are ignored.
    pub fn scores(&self, history: &[(u32, f32)], out: &mut [f32]) {
        out.fill(0.0);
        let n = self.n_items;
        for &(i, w) in history {
            let i = i as usize;
            if i >= n {
                continue;
            }
            let w = if self.params.weighted { w } else { 1.0 };
            let row = &self.weights[i * n..(i + 1) * n];
            for (o, b) in out.iter_mut().zip(row) {
                *o += w * b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(rows: &[&[u32]], n_items: usize) -> Csr {
        let triplets: Vec<(u32, u32, f32)> = rows
            .iter()
            .enumerate()
            .flat_map(|(u, items)| items.iter().map(move |&i| (u as u32, i, 1.0)))
            .collect();
        Csr::from_triplets(rows.len(), n_items, triplets).unwrap()
    }

    #[test]
    fn matches_the_closed_form_on_a_small_matrix() {
        // X (4 customers × 3 items); B computed by hand from (XᵀX + λI)⁻¹.
        let x = csr(&[&[0, 1], &[0, 1, 2], &[1, 2], &[0]], 3);
        let model = EaseParams::default().regularization(1.0).fit(&x).unwrap();
        // G = XᵀX + I = [[4,2,1],[2,4,2],[1,2,3]].
        let g = [[4.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 3.0]];
        let det: f64 = g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1])
            - g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0])
            + g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
        let cof = |r: usize, c: usize| {
            let m: Vec<usize> = (0..3).filter(|&x| x != r).collect();
            let k: Vec<usize> = (0..3).filter(|&x| x != c).collect();
            let minor = g[m[0]][k[0]] * g[m[1]][k[1]] - g[m[0]][k[1]] * g[m[1]][k[0]];
            if (r + c) % 2 == 0 {
                minor
            } else {
                -minor
            }
        };
        let p = |i: usize, j: usize| cof(j, i) / det;
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 0.0 } else { -p(i, j) / p(j, j) };
                let got = f64::from(model.weight(i as u32, j as u32).unwrap());
                assert!((got - want).abs() < 1e-6, "B[{i}][{j}] {got} vs {want}");
            }
        }
    }

    #[test]
    fn co_bought_items_score_highest() {
        // Items 0 and 1 always go together; 2 and 3 too.
        let rows: Vec<&[u32]> = vec![&[0, 1], &[0, 1], &[0, 1], &[2, 3], &[2, 3], &[2, 3]];
        let model = EaseParams::default()
            .regularization(0.5)
            .fit(&csr(&rows, 4))
            .unwrap();
        let mut out = vec![0f32; 4];
        model.scores(&[(0, 1.0)], &mut out);
        assert!(out[1] > out[2] && out[1] > out[3], "{out:?}");
        assert_eq!(out[0], 0.0, "the diagonal is zero");
    }

    #[test]
    fn bad_parameters_and_oversized_catalogues_are_refused_before_allocating() {
        let x = csr(&[&[0, 1]], 2);
        for lambda in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = EaseParams::default().regularization(lambda).fit(&x);
            assert!(matches!(err, Err(Error::InvalidParam { .. })), "{lambda}");
        }
        // 10 million items would be 800 TB of Gram matrix: refused by the count.
        let huge = Csr::from_triplets(1, 10_000_000, vec![(0, 3, 1.0)]).unwrap();
        let err = EaseParams::default().fit(&huge).unwrap_err();
        assert!(err.to_string().contains("max_items"), "{err}");
        let empty = Csr::from_triplets(2, 2, vec![]).unwrap();
        assert!(matches!(
            EaseParams::default().fit(&empty),
            Err(Error::NotEnoughData(_))
        ));
    }
}
