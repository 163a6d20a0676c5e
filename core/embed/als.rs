//! Implicit alternating least squares with a conjugate-gradient row solver.
//!
//! Hu, Koren & Volinsky (2008) confidence weighting, solved as Takács et al.
//! (2011) and `implicit` do: a few conjugate-gradient steps per row, warm-started
//! from the previous sweep, against a Gram matrix computed once per sweep.
//! Tuned as Rendle et al. (2021) recommend: a weight on unobserved entries and
//! a frequency-scaled regularisation.
//!
//! For customer `u` with observed items `I_u` the solve is
//! `(α₀·YᵀY + Σ_{i∈I_u} (c_ui − α₀)·y_i y_iᵀ + λ_u·I) x_u = Σ_{i∈I_u} c_ui·p_ui·y_i`,
//! where a positive weight `r_ui` gives preference `p = 1` and confidence
//! `c = 1 + α·f(r)`, a negative weight (returns, complaints) gives `p = 0` with
//! confidence `1 + α·f(|r|)`, and `λ_u = λ·(|I_u| + α₀·|I|)^ν` (Rendle et al.)
//! or, with [`RegularizationScale::Observed`], `λ_u = λ·max(|I_u|, 1)^ν`
//! (ALS-WR, Zhou et al. 2008; Spark MLlib's implicit ALS is ν = 1).
//!
//! Determinism: a seed gives the same model bit for bit on one machine, for any
//! thread count (each row is solved by the same code whichever thread takes
//! it). The inner loops run with AVX2 and FMA where the CPU has them and with
//! portable code elsewhere (see `kernels`); the two round differently, so
//! models from different machines agree only to float rounding.

use super::Factors;
use crate::error::{Error, Result};
use crate::interactions::{Csr, Interactions};
use crate::kernels::{Dispatch, Kernels, Strided, Task};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::ops::ControlFlow;

/// How interaction weights become confidences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Confidence {
    /// `c = 1 + α·|r|` (Hu et al.).
    Linear,
    /// `c = 1 + α·ln(1 + |r|/ε)` (Hu et al.'s log variant), for heavy-tailed counts.
    Log { epsilon: f32 },
}

/// What ν scales λ by, row by row (see [`AlsParams::regularization_exponent`]).
/// Items are rows of the other half-sweep: the same rule applies to them with
/// customers in place of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegularizationScale {
    /// `λ_u = λ·(|I_u| + α₀·|I|)^ν`: every pair of the row, the unobserved
    /// ones weighted by α₀ (Rendle et al. 2021). With many items the term
    /// `α₀·|I|` dominates and λ_u hardly varies between rows.
    #[default]
    AllPairs,
    /// `λ_u = λ·max(|I_u|, 1)^ν`: the row's observed entries only (negative
    /// weights count too; an empty row counts as one so its system stays
    /// positive definite). ν = 1 is ALS-WR (Zhou et al. 2008), the
    /// `regParam·numExplicits` of Spark MLlib's ALS.
    Observed,
}

/// Checked hyper-parameters of implicit ALS.
///
/// Defaults: 16 factors, 15 iterations, regularisation 10 with frequency
/// exponent 0 (plain λ), linear confidence with α = 0.5, unobserved weight 1,
/// 3 CG steps per row, seed 0, all available threads. Factors, λ and α were
/// chosen on validation splits of every built-in data set (MovieLens 100K
/// leave-last-out and temporal, the small and medium synthetic storefronts),
/// scoring both the recommender as it serves and ALS on positives alone: the
/// best mean of each score relative to its best in a 64-setting grid
/// (`cargo run --release --example tune_defaults`): these score 0.89 of the
/// best there, 64 factors with λ 0.1 and α 1 only 0.58.
///
/// ```
/// use maitre::embed::Als;
/// let params = Als::params().factors(32).iterations(10).alpha(5.0).seed(7);
/// assert_eq!(params.factors, 32);
/// assert!(Als::params().factors(0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AlsParams {
    pub factors: usize,
    pub iterations: usize,
    /// λ.
    pub regularization: f32,
    /// ν: λ_u = λ·(|I_u| + α₀·|I|)^ν, or λ·max(|I_u|, 1)^ν with
    /// [`RegularizationScale::Observed`]. 0 gives plain λ; Rendle et al. use 1.
    pub regularization_exponent: f32,
    /// What ν scales λ by: all of a row's pairs (the default) or its observed
    /// entries only.
    pub regularization_scale: RegularizationScale,
    /// α.
    pub alpha: f32,
    pub confidence: Confidence,
    /// α₀: the weight of every unobserved (customer, item) pair.
    pub unobserved_weight: f32,
    /// Conjugate-gradient steps per row and sweep.
    pub cg_steps: usize,
    pub seed: u64,
    /// Worker threads, 1 to [`MAX_THREADS`]; `None` uses the current rayon pool.
    pub threads: Option<usize>,
}

/// The most worker threads a fit may ask for: a fixed 1024, the same on every
/// machine (so parameters valid on a laptop are valid on a server), far above
/// any useful count and far below what makes the kernel refuse threads.
pub const MAX_THREADS: usize = 1024;

impl Default for AlsParams {
    fn default() -> Self {
        AlsParams {
            factors: 16,
            iterations: 15,
            regularization: 10.0,
            regularization_exponent: 0.0,
            regularization_scale: RegularizationScale::AllPairs,
            alpha: 0.5,
            confidence: Confidence::Linear,
            unobserved_weight: 1.0,
            cg_steps: 3,
            seed: 0,
            threads: None,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl AlsParams {
    setter!(/// Sets the number of latent factors.
        factors: usize);
    setter!(/// Sets the number of sweeps (each solves customers, then items).
        iterations: usize);
    setter!(/// Sets λ.
        regularization: f32);
    setter!(/// Sets ν, the frequency-scaling exponent of λ.
        regularization_exponent: f32);
    setter!(/// Sets what ν scales λ by ([`RegularizationScale`]).
        ///
        /// ```
        /// use maitre::embed::{Als, RegularizationScale};
        /// // ALS-WR, as Spark MLlib regularises: λ·|I_u| per customer, λ·|U_i| per item.
        /// let p = Als::params()
        ///     .regularization(0.5)
        ///     .regularization_exponent(1.0)
        ///     .regularization_scale(RegularizationScale::Observed);
        /// assert_eq!(p.row_regularization(40, 50_000), 20.0);
        /// assert_eq!(p.row_regularization(0, 50_000), 0.5);
        /// ```
        regularization_scale: RegularizationScale);
    setter!(/// Sets α.
        alpha: f32);
    setter!(/// Sets the confidence function.
        confidence: Confidence);
    setter!(/// Sets α₀, the weight of unobserved pairs.
        unobserved_weight: f32);
    setter!(/// Sets the CG steps per row.
        cg_steps: usize);
    setter!(/// Sets the seed of the initial factors.
        seed: u64);

    /// Sets the number of worker threads.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// λ_u of a row with `observed` stored entries when the other side has
    /// `other_rows` rows: the one formula of the fit's half-sweeps,
    /// [`AlsParams::solve_rows`] and [`AlsModel::fold_in`].
    pub fn row_regularization(&self, observed: usize, other_rows: usize) -> f32 {
        let base = match self.regularization_scale {
            RegularizationScale::AllPairs => {
                observed as f32 + other_rows as f32 * self.unobserved_weight
            }
            RegularizationScale::Observed => observed.max(1) as f32,
        };
        self.regularization * base.powf(self.regularization_exponent)
    }

    /// Checks every parameter; `fit` calls this before any work.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f32| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::param(
                    name,
                    format!("{v} must be positive and finite"),
                ))
            }
        };
        let non_negative = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::param(
                    name,
                    format!("{v} must be non-negative and finite"),
                ))
            }
        };
        if !(1..=1024).contains(&self.factors) {
            return Err(Error::param(
                "factors",
                format!("{} is not in 1..=1024", self.factors),
            ));
        }
        if !(1..=10_000).contains(&self.iterations) {
            return Err(Error::param(
                "iterations",
                format!("{} is not in 1..=10000", self.iterations),
            ));
        }
        if !(1..=1024).contains(&self.cg_steps) {
            return Err(Error::param(
                "cg_steps",
                format!("{} is not in 1..=1024", self.cg_steps),
            ));
        }
        positive("regularization", self.regularization)?;
        non_negative("regularization_exponent", self.regularization_exponent)?;
        non_negative("alpha", self.alpha)?;
        positive("unobserved_weight", self.unobserved_weight)?;
        if let Confidence::Log { epsilon } = self.confidence {
            positive("epsilon", epsilon)?;
        }
        crate::threads::check(self.threads)
    }

    /// Fits customer and item factors to an interaction matrix.
    pub fn fit(&self, interactions: &Interactions) -> Result<AlsModel> {
        self.fit_matrix(interactions.by_customer(), |_| ControlFlow::Continue(()))
    }

    /// Fits to a customers × items weight matrix, calling `progress` after each
    /// sweep; returning `ControlFlow::Break` stops the fit with [`Error::Cancelled`].
    pub fn fit_matrix(
        &self,
        user_items: &Csr,
        mut progress: impl FnMut(&Progress<'_>) -> ControlFlow<()> + Send,
    ) -> Result<AlsModel> {
        self.validate()?;
        if user_items.nnz() == 0 {
            return Err(Error::NotEnoughData(
                "ALS needs at least one interaction".into(),
            ));
        }
        let run = || -> Result<AlsModel> {
            let item_users = user_items.transpose();
            let k = self.factors;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
            let mut init = |rows: usize| {
                let data = (0..rows * k).map(|_| rng.random::<f32>() * 0.01).collect();
                Factors::new(rows, k, data)
            };
            let mut model = AlsModel {
                users: init(user_items.n_rows()),
                items: init(user_items.n_cols()),
                params: self.clone(),
                item_gram: Vec::new(),
            };
            let users_rows = Rows::new(user_items, self);
            let items_rows = Rows::new(&item_users, self);
            let started = web_time::Instant::now();
            for iteration in 0..self.iterations {
                sweep(&mut model.users, &model.items, &users_rows, self);
                sweep(&mut model.items, &model.users, &items_rows, self);
                let report = Progress {
                    iteration: iteration + 1,
                    iterations: self.iterations,
                    seconds: started.elapsed().as_secs_f64(),
                    model: &model,
                };
                if progress(&report).is_break() {
                    return Err(Error::Cancelled);
                }
            }
            model.item_gram = scaled_gram(&model.items, self.unobserved_weight);
            Ok(model)
        };
        crate::threads::install(self.threads, run)?
    }
}

/// One block of rows for [`AlsParams::solve_rows`]: the half-sweep of a fit
/// on plain arrays, for a fit that is spread over machines (a Spark
/// partition solves its customers, then its items, with the other side's
/// vectors joined onto its interactions). Entries of row `r` are
/// `indptr[r]..indptr[r + 1]`.
///
/// The fixed vectors come either one per entry (`columns: None`), or once
/// each with `columns` saying which one every entry uses: a block of rows
/// that share their neighbours (a Spark partition's customers all rate the
/// same few thousand items) then passes each vector once instead of once per
/// entry, which is what a fit's own half-sweep reads.
#[derive(Debug, Clone, Copy)]
pub struct RowBlock<'a> {
    /// `YᵀY` of the fixed side, over all its rows (`k × k`, row-major).
    pub gram: &'a [f32],
    /// How many rows the fixed side has in all (`|I|` in the regularisation).
    pub other_rows: usize,
    /// The rows' current vectors (`rows × k`): the conjugate-gradient start.
    pub start: &'a [f32],
    /// Row offsets into `neighbours` and `weights` (`rows + 1` entries, from 0).
    pub indptr: &'a [usize],
    /// The fixed side's vectors (rows of `k`): one per entry (`entries × k`)
    /// when `columns` is `None`, else the rows `columns` points into.
    pub neighbours: &'a [f32],
    /// Each entry's interaction weight, as in the customer × item matrix.
    pub weights: &'a [f32],
    /// Each entry's row of `neighbours` (`entries` values), or `None`: entry
    /// `j` uses row `j`.
    pub columns: Option<&'a [u32]>,
}

impl AlsParams {
    /// Solves a block of rows against a fixed side, exactly as one half-sweep
    /// of [`AlsParams::fit_matrix`] solves them: the same confidences,
    /// regularisation and conjugate-gradient steps, on the same kernels, so a
    /// fit spread over machines gives the numbers a single process gives.
    /// Returns the solved vectors (`rows × k`). Every length and value is
    /// checked first; a bad block is an error, never a panic.
    ///
    /// ```
    /// use maitre::embed::{Als, RowBlock};
    /// let params = Als::params().factors(2).regularization(0.1);
    /// let items = [1.0, 0.0, 0.0, 1.0]; // two items, k = 2
    /// let gram = [1.0, 0.0, 0.0, 1.0]; // YᵀY
    /// // one customer who bought item 0 twice (weight 2)
    /// let block = RowBlock { gram: &gram, other_rows: 2, start: &[0.0, 0.0],
    ///     indptr: &[0, 1], neighbours: &items[..2], weights: &[2.0], columns: None };
    /// let x = params.solve_rows(&block)?;
    /// assert!(x[0] > 0.5 && x[1].abs() < 1e-6);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn solve_rows(&self, block: &RowBlock<'_>) -> Result<Vec<f32>> {
        self.validate()?;
        let k = self.factors;
        let len = |name: &str, got: usize, expected: usize| {
            if got == expected {
                Ok(())
            } else {
                Err(Error::LengthMismatch {
                    name: name.into(),
                    expected,
                    got,
                })
            }
        };
        len("gram", block.gram.len(), k * k)?;
        if block.start.len() % k != 0 {
            return Err(Error::param(
                "start",
                format!("{} values are not rows of {k}", block.start.len()),
            ));
        }
        let rows = block.start.len() / k;
        len("indptr", block.indptr.len(), rows + 1)?;
        let entries = block.indptr[rows];
        if block.indptr[0] != 0 || block.indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::param("indptr", "must start at 0 and never decrease"));
        }
        len("weights", block.weights.len(), entries)?;
        if block.other_rows > u32::MAX as usize || entries > u32::MAX as usize {
            return Err(Error::param("block", "more than 2^32 rows or entries"));
        }
        let fixed_rows = match block.columns {
            None => {
                len("neighbours", block.neighbours.len(), entries * k)?;
                entries
            }
            Some(columns) => {
                len("columns", columns.len(), entries)?;
                if block.neighbours.len() % k != 0 {
                    return Err(Error::param(
                        "neighbours",
                        format!("{} values are not rows of {k}", block.neighbours.len()),
                    ));
                }
                let fixed_rows = block.neighbours.len() / k;
                if let Some(c) = columns.iter().find(|&&c| c as usize >= fixed_rows) {
                    return Err(Error::param(
                        "columns",
                        format!("row {c} is past the {fixed_rows} rows of neighbours"),
                    ));
                }
                fixed_rows
            }
        };
        for (name, values) in [
            ("gram", block.gram),
            ("start", block.start),
            ("neighbours", block.neighbours),
            ("weights", block.weights),
        ] {
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(Error::param(name, format!("{v} is not finite")));
            }
        }
        let mut gram = block.gram.to_vec();
        gram.iter_mut().for_each(|g| *g *= self.unobserved_weight);
        let y = Factors::new(fixed_rows, k, block.neighbours.to_vec());
        let identity: Vec<u32>;
        let local: &[u32] = match block.columns {
            Some(columns) => columns,
            None => {
                identity = (0..entries as u32).collect();
                &identity
            }
        };
        let (gram_weight, rhs): (Vec<f32>, Vec<f32>) =
            block.weights.iter().map(|&r| confidence(r, self)).unzip();
        let mut out = block.start.to_vec();
        let kernels = Dispatch::detect();
        let solve = || {
            out.par_chunks_mut(k).enumerate().for_each_init(
                || vec![0f32; 3 * k],
                |scratch, (row, x)| {
                    let (a, b) = (block.indptr[row], block.indptr[row + 1]);
                    kernels.run(RowSolve {
                        gram: &gram,
                        y: &y,
                        entries: Entries {
                            items: &local[a..b],
                            gram_weight: &gram_weight[a..b],
                            rhs: &rhs[a..b],
                        },
                        reg: self.row_regularization(b - a, block.other_rows),
                        x,
                        steps: self.cg_steps,
                        scratch,
                    });
                },
            )
        };
        crate::threads::install(self.threads, solve)?;
        Ok(out)
    }

    /// The initial vectors a fit starts from, for rows `first..first + count`
    /// of a `customers` + `items` sequence (customer rows first, then item
    /// rows, as [`AlsParams::fit_matrix`] draws them from the seed): any
    /// slice of them, computed anywhere, without drawing the ones before.
    ///
    /// ```
    /// use maitre::embed::Als;
    /// let p = Als::params().factors(4).seed(3);
    /// let all = p.initial_rows(0, 10)?;
    /// assert_eq!(p.initial_rows(7, 3)?, all[7 * 4..].to_vec());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn initial_rows(&self, first: u64, count: usize) -> Result<Vec<f32>> {
        self.validate()?;
        let k = self.factors;
        let values = count
            .checked_mul(k)
            .filter(|&n| n <= MAX_INITIAL_VALUES)
            .ok_or_else(|| {
                Error::param(
                    "count",
                    format!("at most {MAX_INITIAL_VALUES} values at a time"),
                )
            })?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        // One 32-bit word per f32 draw, so row r starts at word r·k.
        rng.set_word_pos(u128::from(first) * k as u128);
        Ok((0..values).map(|_| rng.random::<f32>() * 0.01).collect())
    }
}

/// The most values [`AlsParams::initial_rows`] returns in one call (1 GiB of f32).
pub const MAX_INITIAL_VALUES: usize = 1 << 28;

/// Reported after each sweep of a fit.
#[derive(Debug)]
pub struct Progress<'m> {
    /// Sweeps done (1-based).
    pub iteration: usize,
    pub iterations: usize,
    /// Since the fit started.
    pub seconds: f64,
    /// The model as it stands, for a validation metric.
    pub model: &'m AlsModel,
}

/// The entry point: `Als::params()` gives checked, defaulted parameters.
pub struct Als;

impl Als {
    /// Default parameters, to refine with the builder methods.
    pub fn params() -> AlsParams {
        AlsParams::default()
    }
}

/// Fitted customer and item factors.
#[derive(Debug, Clone, PartialEq)]
pub struct AlsModel {
    pub users: Factors,
    pub items: Factors,
    params: AlsParams,
    /// α₀·YᵀY, kept for fold-in.
    item_gram: Vec<f32>,
}

impl AlsModel {
    /// The parameters the model was fitted with.
    pub fn params(&self) -> &AlsParams {
        &self.params
    }

    /// A customer vector from a handful of interactions, without retraining:
    /// the exact solution of the customer's least-squares problem against the
    /// fixed item factors (one small Cholesky solve). `items` are item indices,
    /// `weights` their interaction weights as in the training matrix (negative
    /// for returns and the like); repeated items are summed first. Works for a
    /// known customer with new events (pass their whole row) and for an
    /// anonymous session alike.
    ///
    /// ```
    /// use maitre::embed::Als;
    /// use maitre::interactions::Csr;
    /// use std::ops::ControlFlow;
    /// let t = (0..30u32).flat_map(|u| [(u, u % 3, 1.0), (u, 3 + u % 3, 1.0)]).collect();
    /// let m = Csr::from_triplets(30, 6, t)?;
    /// let model = Als::params().factors(4).regularization(0.1).fit_matrix(&m, |_| ControlFlow::Continue(()))?;
    /// let v = model.fold_in(&[0, 3], &[1.0, 1.0])?;
    /// // Folding in customer 0's own row reproduces (nearly) their trained vector.
    /// let trained = model.users.row(0);
    /// assert!(v.iter().zip(trained).all(|(a, b)| (a - b).abs() < 0.05));
    /// assert!(model.fold_in(&[99], &[1.0]).is_err());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn fold_in(&self, items: &[u32], weights: &[f32]) -> Result<Vec<f32>> {
        if items.len() != weights.len() {
            return Err(Error::LengthMismatch {
                name: "weights".into(),
                expected: items.len(),
                got: weights.len(),
            });
        }
        let n_items = self.items.rows();
        let mut entries: Vec<(u32, f32)> = Vec::with_capacity(items.len());
        for (&i, &w) in items.iter().zip(weights) {
            if i as usize >= n_items {
                return Err(Error::Unknown {
                    what: "item index",
                    id: i.to_string(),
                });
            }
            if !w.is_finite() {
                return Err(Error::param(
                    "weights",
                    format!("{w} (item {i}) is not finite"),
                ));
            }
            entries.push((i, w));
        }
        entries.sort_by_key(|e| e.0);
        entries.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += b.1;
            }
            same
        });
        let k = self.items.k();
        let p = &self.params;
        let mut a = self.item_gram.clone();
        let mut b = vec![0f32; k];
        let reg = p.row_regularization(entries.len(), n_items);
        for j in 0..k {
            a[j * k + j] += reg;
        }
        Dispatch::detect().run(FoldIn {
            a: &mut a,
            b: &mut b,
            entries: &entries,
            items: &self.items,
            params: p,
        })?;
        Ok(b)
    }
}

/// The fold-in's system and solve, generic over the kernels.
struct FoldIn<'a> {
    /// `α₀·YᵀY + λ·I` on entry.
    a: &'a mut [f32],
    b: &'a mut [f32],
    entries: &'a [(u32, f32)],
    items: &'a Factors,
    params: &'a AlsParams,
}

impl Task for FoldIn<'_> {
    type Output = Result<()>;

    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> Result<()> {
        let FoldIn {
            a,
            b,
            entries,
            items,
            params,
        } = self;
        let k = items.k();
        // A += Yₛᵀ·diag(c − α₀)·Yₛ, b = Σ c·p·y. The rows y are gathered once,
        // with their weighted copies, so each row r of A takes a single
        // `gemv_acc` over all entries (coefficients: column r of the weighted
        // copies). Only the upper triangle is read by the solve; each row starts
        // at its diagonal rounded down to a multiple of 8, so the update stays
        // whole vectors.
        let mut ys = Vec::with_capacity(entries.len() * k);
        let mut weighted = Vec::with_capacity(entries.len() * k);
        for &(i, r) in entries {
            let (gram_weight, rhs) = confidence(r, params);
            let y = items.row(i);
            if rhs != 0.0 {
                kern.axpy(rhs, y, b);
            }
            ys.extend_from_slice(y);
            weighted.extend(y.iter().map(|v| gram_weight * v));
        }
        // Two rows of A at a time (same aligned start, as the first is even):
        // each y is loaded once for both.
        let m = entries.len();
        let mut row = 0;
        while row < k {
            let coef = &weighted[row.min(weighted.len())..];
            if row + 1 < k {
                let rows = &mut a[row * k..(row + 2) * k];
                kern.gemv2_acc::<false>(&ys, Strided::pair(coef, k, m), rows, row & !7);
                row += 2;
            } else {
                let a_row = &mut a[row * k..(row + 1) * k];
                kern.gemv_acc::<false>(&ys, Strided::new(coef, k, m), a_row, row & !7);
                row += 1;
            }
        }
        cholesky_solve(kern, a, b, k)
    }
}

/// Solves `A x = b` for symmetric positive-definite `A` (row-major, `k × k`) in
/// place: `b` becomes `x`. Hand-written because the only alternatives are
/// LAPACK (not on wasm32) or a general linear-algebra crate for one routine.
/// Left-looking `UᵀU` factorisation: row `i` of `U` is row `i` of `A` minus one
/// combination of the rows above it, a single `gemv_acc` (a right-looking
/// version makes `k²/2` short `axpy` calls, whose overhead dominated at k = 64).
/// `U` overwrites the upper triangle of `a`.
///
/// Reads only the upper triangle, and in row `i` the columns from `i` rounded
/// down to a multiple of 8; left of the diagonal within that block, `U`'s rows
/// are set to zero, as later rows combine them from the same aligned column.
#[inline(always)]
fn cholesky_solve<K: Kernels>(kern: K, a: &mut [f32], b: &mut [f32], k: usize) -> Result<()> {
    let mut i = 0;
    while i < k {
        let (done, rest) = a.split_at_mut(i * k);
        let from = i & !7;
        // Rows i (and i + 1) −= Σ_{j<i} U[j, i]·(row j of U): columns i, i + 1
        // of U as coefficients, two rows per pass over U when there are two.
        let column = &done[i.min(done.len())..];
        if i + 1 < k {
            let rows = &mut rest[..2 * k];
            kern.gemv2_acc::<true>(done, Strided::pair(column, k, i), rows, from);
            let (row_i, next) = rows.split_at_mut(k);
            finish_row(row_i, i, from)?;
            // Then row i + 1 takes row i's term, now that row i is final.
            kern.axpy(-row_i[i + 1], &row_i[from..], &mut next[from..]);
            finish_row(next, i + 1, from)?;
            i += 2;
        } else {
            let row = &mut rest[..k];
            kern.gemv_acc::<true>(done, Strided::new(column, k, i), row, from);
            finish_row(row, i, from)?;
            i += 1;
        }
    }
    // Uᵀ y = b (forward), then U x = y (backward).
    for i in 0..k {
        let yi = b[i] / a[i * k + i];
        b[i] = yi;
        let row = &a[i * k..i * k + k];
        kern.axpy(-yi, &row[i + 1..], &mut b[i + 1..]);
    }
    for i in (0..k).rev() {
        let row = &a[i * k..i * k + k];
        b[i] = (b[i] - kern.dot(&row[i + 1..], &b[i + 1..])) / row[i];
    }
    Ok(())
}

/// Turns row `i` of the Schur complement into row `i` of `U`, zeroing columns
/// `from..i` that later rows read through their aligned start.
#[inline(always)]
fn finish_row(row: &mut [f32], i: usize, from: usize) -> Result<()> {
    let d = row[i];
    if !(d > 0.0 && d.is_finite()) {
        return Err(Error::NotEnoughData(
            "the fold-in system is not positive definite (regularization too small?)".into(),
        ));
    }
    let d = d.sqrt();
    row[i] = d;
    let inv = 1.0 / d;
    row[i + 1..].iter_mut().for_each(|u| *u *= inv);
    row[from..i].fill(0.0);
    Ok(())
}

/// The Gram weight `c − α₀` and right-hand side `c·p` of one interaction weight.
pub(super) fn confidence(r: f32, p: &AlsParams) -> (f32, f32) {
    let scaled = match p.confidence {
        Confidence::Linear => r.abs(),
        Confidence::Log { epsilon } => (1.0 + r.abs() / epsilon).ln(),
    };
    let c = 1.0 + p.alpha * scaled;
    (c - p.unobserved_weight, if r > 0.0 { c } else { 0.0 })
}

/// The solve's per-row inputs, precomputed once per fit: for each stored entry
/// the weight `c − α₀` on the Gram term and the right-hand-side coefficient `c·p`.
struct Rows<'a> {
    matrix: &'a Csr,
    gram_weight: Vec<f32>,
    rhs: Vec<f32>,
    regularization: Vec<f32>,
}

impl<'a> Rows<'a> {
    fn new(matrix: &'a Csr, p: &AlsParams) -> Self {
        let scale = |r: f32| match p.confidence {
            Confidence::Linear => r,
            Confidence::Log { epsilon } => (1.0 + r / epsilon).ln(),
        };
        let (mut gram_weight, mut rhs) = (
            Vec::with_capacity(matrix.nnz()),
            Vec::with_capacity(matrix.nnz()),
        );
        for &r in matrix.data() {
            let c = 1.0 + p.alpha * scale(r.abs());
            gram_weight.push(c - p.unobserved_weight);
            rhs.push(if r > 0.0 { c } else { 0.0 });
        }
        let regularization = (0..matrix.n_rows())
            .map(|row| {
                let n = matrix.indptr()[row + 1] - matrix.indptr()[row];
                p.row_regularization(n, matrix.n_cols())
            })
            .collect();
        Rows {
            matrix,
            gram_weight,
            rhs,
            regularization,
        }
    }
}

/// Solves every row of `target` against the fixed `other` side, in parallel.
fn sweep(target: &mut Factors, other: &Factors, rows: &Rows<'_>, p: &AlsParams) {
    let k = target.k();
    let mut gram = other.gram();
    gram.iter_mut().for_each(|g| *g *= p.unobserved_weight);
    let kernels = Dispatch::detect();
    target
        .data_mut()
        .par_chunks_mut(k)
        .enumerate()
        .for_each_init(
            || vec![0f32; 3 * k],
            |scratch, (row, x)| {
                let (a, b) = (rows.matrix.indptr()[row], rows.matrix.indptr()[row + 1]);
                kernels.run(RowSolve {
                    gram: &gram,
                    y: other,
                    entries: Entries {
                        items: &rows.matrix.indices()[a..b],
                        gram_weight: &rows.gram_weight[a..b],
                        rhs: &rows.rhs[a..b],
                    },
                    reg: rows.regularization[row],
                    x,
                    steps: p.cg_steps,
                    scratch,
                });
            },
        );
}

/// One row's observed entries.
struct Entries<'e> {
    items: &'e [u32],
    gram_weight: &'e [f32],
    rhs: &'e [f32],
}

/// One row's solve: a few CG steps on `(G + λI + Σ w_i y_i y_iᵀ) x = Σ c_i p_i y_i`,
/// starting from `x` (the previous sweep's value).
struct RowSolve<'a> {
    gram: &'a [f32],
    y: &'a Factors,
    entries: Entries<'a>,
    reg: f32,
    x: &'a mut [f32],
    steps: usize,
    /// 3k floats.
    scratch: &'a mut [f32],
}

impl Task for RowSolve<'_> {
    type Output = ();

    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) {
        let RowSolve {
            gram,
            y,
            entries: e,
            reg,
            x,
            steps,
            scratch,
        } = self;
        let k = x.len();
        let (r, rest) = scratch.split_at_mut(k);
        let (p, ap) = rest.split_at_mut(k);
        // r = b − A x, with the observed entries in one pass: each adds
        // (c·p − w·(y·x))·y, where a separate b would read every y twice.
        kern.sym_gemv(gram, x, ap);
        kern.axpy(reg, x, ap);
        r.iter_mut().zip(ap.iter()).for_each(|(r, a)| *r = -a);
        for (n, ((&i, &w), &c)) in e.items.iter().zip(e.gram_weight).zip(e.rhs).enumerate() {
            // The rows of the other side are scattered in memory: the solve
            // would wait on each one without a hint a few entries ahead.
            if let Some(&ahead) = e.items.get(n + PREFETCH_AHEAD) {
                kern.prefetch(y.row(ahead));
            }
            let yi = y.row(i);
            kern.axpy(c - w * kern.dot(yi, x), yi, r);
        }
        p.copy_from_slice(r);
        let mut rs_old = kern.dot(r, r);
        for _ in 0..steps {
            if rs_old < 1e-20 {
                break;
            }
            apply(kern, gram, y, &e, reg, p, ap);
            let step = rs_old / kern.dot(p, ap);
            if !step.is_finite() {
                break;
            }
            kern.axpy(step, p, x);
            kern.axpy(-step, ap, r);
            let rs_new = kern.dot(r, r);
            let beta = rs_new / rs_old;
            p.iter_mut()
                .zip(r.iter())
                .for_each(|(p, r)| *p = r + beta * *p);
            rs_old = rs_new;
        }
    }
}

/// How many entries ahead the row solver asks for the next `y` rows.
const PREFETCH_AHEAD: usize = 4;

/// `out = (G + λI + Σ w_i y_i y_iᵀ) v`.
#[inline(always)]
fn apply<K: Kernels>(
    kern: K,
    gram: &[f32],
    y: &Factors,
    e: &Entries<'_>,
    reg: f32,
    v: &[f32],
    out: &mut [f32],
) {
    kern.sym_gemv(gram, v, out);
    kern.axpy(reg, v, out);
    for (n, (&i, &w)) in e.items.iter().zip(e.gram_weight).enumerate() {
        if let Some(&ahead) = e.items.get(n + PREFETCH_AHEAD) {
            kern.prefetch(y.row(ahead));
        }
        let yi = y.row(i);
        kern.axpy(w * kern.dot(yi, v), yi, out);
    }
}

/// Assembling and trimming models (for serving and artifacts).
impl AlsModel {
    /// A model from stored parts. The fold-in Gram matrix is recomputed from
    /// the item vectors, so it always matches them.
    pub fn from_parts(users: Factors, items: Factors, params: AlsParams) -> Result<Self> {
        params.validate()?;
        if users.k() != items.k() || (items.rows() > 0 && items.k() != params.factors) {
            return Err(Error::LengthMismatch {
                name: "factors".into(),
                expected: params.factors,
                got: if users.k() != items.k() {
                    users.k()
                } else {
                    items.k()
                },
            });
        }
        let item_gram = scaled_gram(&items, params.unobserved_weight);
        Ok(AlsModel {
            users,
            items,
            params,
            item_gram,
        })
    }

    /// [`AlsModel::from_parts`] with the stored fold-in Gram matrix
    /// (`α₀·YᵀY`, `k × k`, from [`AlsModel::item_gram`]) instead of
    /// recomputing it: that product is most of the cost of loading a large
    /// catalogue in the browser, and for quantised item vectors the stored one
    /// is the exact original.
    pub fn from_parts_with_gram(
        users: Factors,
        items: Factors,
        params: AlsParams,
        item_gram: Vec<f32>,
    ) -> Result<Self> {
        let k = items.k();
        if item_gram.len() != k * k {
            return Err(Error::LengthMismatch {
                name: "item_gram".into(),
                expected: k * k,
                got: item_gram.len(),
            });
        }
        // A computed YᵀY may differ from its transpose in the last bits.
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * (a.abs() + b.abs()) + 1e-30;
        let symmetric =
            (0..k).all(|i| (0..i).all(|j| close(item_gram[i * k + j], item_gram[j * k + i])));
        if item_gram.iter().any(|g| !g.is_finite()) || !symmetric {
            return Err(Error::param("item_gram", "must be finite and symmetric"));
        }
        let mut model = AlsModel::from_parts(users, Factors::new(0, k, Vec::new()), params)?;
        model.items = items;
        model.item_gram = item_gram;
        Ok(model)
    }

    /// The fold-in Gram matrix `α₀·YᵀY`, row-major `k × k`.
    pub fn item_gram(&self) -> &[f32] {
        &self.item_gram
    }

    /// The same model with no customer vectors (items and fold-in only).
    pub fn without_users(mut self) -> Self {
        self.users = Factors::new(0, self.items.k(), Vec::new());
        self
    }
}

/// `α₀·YᵀY`.
fn scaled_gram(items: &Factors, unobserved_weight: f32) -> Vec<f32> {
    let mut gram = items.gram();
    gram.iter_mut().for_each(|g| *g *= unobserved_weight);
    gram
}

impl AlsParams {
    /// Writes every parameter but `threads` (a property of the machine, not
    /// of the model), in the order of the artifact's `META` section.
    pub(crate) fn encode(&self, e: &mut crate::artifact::Encoder) {
        e.put_u64(self.factors as u64)
            .put_u64(self.iterations as u64)
            .put_f32(self.regularization)
            .put_f32(self.regularization_exponent)
            .put_f32(self.alpha);
        // The confidence code's high nibble holds the regularisation scale
        // (0 for `AllPairs`), so artifacts written before it existed still read.
        let scale = match self.regularization_scale {
            RegularizationScale::AllPairs => 0x00,
            RegularizationScale::Observed => 0x10,
        };
        match self.confidence {
            Confidence::Linear => e.put_u8(scale).put_f32(0.0),
            Confidence::Log { epsilon } => e.put_u8(scale | 1).put_f32(epsilon),
        };
        e.put_f32(self.unobserved_weight)
            .put_u64(self.cg_steps as u64)
            .put_u64(self.seed);
    }

    /// Reads what [`AlsParams::encode`] wrote (`threads` stays `None`).
    pub(crate) fn decode(d: &mut crate::artifact::Decoder<'_>) -> Result<AlsParams> {
        let mut params = AlsParams {
            factors: d.get_usize()?,
            iterations: d.get_usize()?,
            regularization: d.get_f32()?,
            regularization_exponent: d.get_f32()?,
            alpha: d.get_f32()?,
            ..AlsParams::default()
        };
        let (code, epsilon) = (d.get_u8()?, d.get_f32()?);
        params.regularization_scale = match code >> 4 {
            0 => RegularizationScale::AllPairs,
            1 => RegularizationScale::Observed,
            _ => return Err(d.invalid(format!("unknown confidence code {code}"))),
        };
        params.confidence = match code & 0x0f {
            0 => Confidence::Linear,
            1 => Confidence::Log { epsilon },
            _ => return Err(d.invalid(format!("unknown confidence code {code}"))),
        };
        params.unobserved_weight = d.get_f32()?;
        params.cg_steps = d.get_usize()?;
        params.seed = d.get_u64()?;
        Ok(params)
    }
}

/// A fitted model as bytes and back, for copies between processes (Python's
/// pickle). An artifact container (magic, version, CRC-32) with the
/// parameters, both factor matrices and the fold-in Gram matrix; reading
/// checks every length, so damaged bytes are an [`Error::Artifact`].
impl AlsModel {
    /// The model as bytes ([`AlsModel::from_bytes`] reads them back).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        use crate::artifact::{ArtifactWriter, Encoder, Flavour};
        let p = &self.params;
        let mut params = Encoder::new();
        p.encode(&mut params);
        params.put_u64(p.threads.map_or(0, |t| t as u64));
        let matrix = |f: &Factors| {
            let mut e = Encoder::new();
            let view = f.view();
            e.put_u64(f.rows() as u64)
                .put_u64(f.k() as u64)
                .put_f32s(view.as_slice().unwrap_or(&[]));
            e.into_bytes()
        };
        let mut gram = Encoder::new();
        gram.put_f32s(&self.item_gram);
        ArtifactWriter::new(Flavour::Full)
            .section(*b"APAR", params.into_bytes())
            .section(*b"AUSR", matrix(&self.users))
            .section(*b"AITM", matrix(&self.items))
            .section(*b"GRAM", gram.into_bytes())
            .to_bytes()
    }

    /// Reads bytes from [`AlsModel::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<AlsModel> {
        use crate::artifact::Artifact;
        let artifact = Artifact::from_bytes(bytes)?;
        let mut d = artifact.decoder(*b"APAR")?;
        let mut params = AlsParams::decode(&mut d)?;
        match d.get_usize()? {
            0 => {}
            n => params = params.threads(n),
        }
        d.finish()?;
        params
            .validate()
            .map_err(|e| d_invalid(&artifact, *b"APAR", &e.to_string()))?;
        let matrix = |tag: [u8; 4]| -> Result<Factors> {
            let mut d = artifact.decoder(tag)?;
            let (rows, k, data) = (d.get_usize()?, d.get_usize()?, d.get_f32s()?);
            d.finish()?;
            if k != params.factors {
                return Err(d_invalid(&artifact, tag, "factor count differs from APAR"));
            }
            Factors::from_vec(rows, k, data).map_err(|_| d_invalid(&artifact, tag, "bad shape"))
        };
        let (users, items) = (matrix(*b"AUSR")?, matrix(*b"AITM")?);
        let mut d = artifact.decoder(*b"GRAM")?;
        let gram = d.get_f32s()?;
        d.finish()?;
        AlsModel::from_parts_with_gram(users, items, params, gram)
            .map_err(|_| d_invalid(&artifact, *b"GRAM", "does not match the item factors"))
    }
}

/// A "bad section" error for a check across a decoded section.
fn d_invalid(artifact: &crate::artifact::Artifact, tag: [u8; 4], reason: &str) -> Error {
    match artifact.decoder(tag) {
        Ok(d) => d.invalid(reason),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::dot;

    /// Two groups of customers who like disjoint item sets.
    fn blocks() -> Csr {
        let mut t = Vec::new();
        for u in 0..20u32 {
            let items = if u < 10 { 0..5u32 } else { 5..10u32 };
            for i in items {
                if (u + i) % 4 != 0 {
                    t.push((u, i, 1.0));
                }
            }
        }
        Csr::from_triplets(20, 10, t).unwrap()
    }

    /// A fit rebuilt from `initial_rows` and `solve_rows` alone, one block
    /// per half-sweep, as a distributed fit runs it, is the single-process
    /// fit bit for bit, under either regularisation scale (customer 40 and
    /// item 25 have no entries: the `max(|I_u|, 1)` of `Observed`).
    #[test]
    fn solve_rows_rebuilds_fit_matrix_exactly() {
        for scale in [RegularizationScale::AllPairs, RegularizationScale::Observed] {
            rebuild_with(scale);
        }
    }

    fn rebuild_with(scale: RegularizationScale) {
        let mut t = Vec::new();
        for u in 0..40u32 {
            for i in 0..25u32 {
                if (u * 7 + i * 3) % 5 == 0 {
                    t.push((u, i, 1.0 + (u % 3) as f32 - if i == 4 { 3.5 } else { 0.0 }));
                }
            }
        }
        let m = Csr::from_triplets(41, 26, t).unwrap();
        let p = Als::params()
            .factors(6)
            .iterations(4)
            .regularization(0.5)
            .regularization_exponent(0.5)
            .regularization_scale(scale)
            .alpha(2.0)
            .threads(2);
        let fitted = p.fit_matrix(&m, |_| ControlFlow::Continue(())).unwrap();
        let half = |matrix: &Csr, fixed: &Factors, start: &[f32]| {
            let neighbours: Vec<f32> = matrix
                .indices()
                .iter()
                .flat_map(|&i| fixed.row(i).to_vec())
                .collect();
            let block = RowBlock {
                gram: &fixed.gram(),
                other_rows: fixed.rows(),
                start,
                indptr: matrix.indptr(),
                neighbours: &neighbours,
                weights: matrix.data(),
                columns: None,
            };
            let solved = p.solve_rows(&block).unwrap();
            // The same rows with each fixed vector passed once.
            let view = fixed.view();
            let shared = RowBlock {
                neighbours: view.as_slice().unwrap(),
                columns: Some(matrix.indices()),
                ..block
            };
            assert_eq!(p.solve_rows(&shared).unwrap(), solved);
            Factors::new(matrix.n_rows(), 6, solved)
        };
        let transposed = m.transpose();
        let mut users = Factors::new(41, 6, p.initial_rows(0, 41).unwrap());
        let mut items = Factors::new(26, 6, p.initial_rows(41, 26).unwrap());
        for _ in 0..4 {
            users = half(&m, &items, users.view().as_slice().unwrap());
            items = half(&transposed, &users, items.view().as_slice().unwrap());
        }
        assert_eq!(users.view(), fitted.users.view());
        assert_eq!(items.view(), fitted.items.view());
    }

    #[test]
    fn solve_rows_rejects_a_bad_block() {
        let p = Als::params().factors(2);
        let gram = [1.0, 0.0, 0.0, 1.0];
        let good = RowBlock {
            gram: &gram,
            other_rows: 2,
            start: &[0.0, 0.0],
            indptr: &[0, 1],
            neighbours: &[1.0, 0.0],
            weights: &[1.0],
            columns: None,
        };
        assert!(p.solve_rows(&good).is_ok());
        let bad = [
            RowBlock {
                gram: &gram[..3],
                ..good
            },
            RowBlock {
                start: &[0.0],
                ..good
            },
            RowBlock {
                indptr: &[0, 2],
                ..good
            },
            RowBlock {
                indptr: &[1, 1],
                ..good
            },
            RowBlock {
                weights: &[f32::NAN],
                ..good
            },
            RowBlock {
                neighbours: &[1.0],
                ..good
            },
            RowBlock {
                columns: Some(&[1]),
                ..good
            },
            RowBlock {
                columns: Some(&[0, 0]),
                ..good
            },
            RowBlock {
                neighbours: &[1.0, 0.0, 2.0],
                columns: Some(&[0]),
                ..good
            },
        ];
        for block in bad {
            assert!(p.solve_rows(&block).is_err(), "{block:?}");
        }
        assert!(p.initial_rows(0, usize::MAX / 2).is_err());
    }

    #[test]
    fn recovers_block_structure() {
        let m = blocks();
        // Two factors for two groups, and enough regularisation not to memorise the holes.
        let model = Als::params()
            .factors(2)
            .regularization(1.0)
            .iterations(10)
            .fit_matrix(&m, |_| ControlFlow::Continue(()))
            .unwrap();
        for u in 0..20u32 {
            let score = |i: u32| dot(model.users.row(u), model.items.row(i));
            let (own, other) = if u < 10 {
                (0..5u32, 5..10u32)
            } else {
                (5..10, 0..5)
            };
            let worst_own = own.map(score).fold(f32::INFINITY, f32::min);
            let best_other = other.map(score).fold(f32::NEG_INFINITY, f32::max);
            assert!(
                worst_own > best_other,
                "customer {u}: {worst_own} <= {best_other}"
            );
        }
    }

    #[test]
    fn same_seed_same_model_any_thread_count() {
        let m = blocks();
        let fit = |threads| {
            Als::params()
                .factors(8)
                .iterations(3)
                .seed(9)
                .threads(threads)
                .fit_matrix(&m, |_| ControlFlow::Continue(()))
                .unwrap()
        };
        let (a, b) = (fit(1), fit(2));
        assert_eq!((a.users, a.items), (b.users, b.items));
    }

    #[test]
    fn progress_reports_and_cancels() {
        let m = blocks();
        let mut seen = Vec::new();
        let result = Als::params().iterations(5).fit_matrix(&m, |p| {
            seen.push(p.iteration);
            if p.iteration == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(matches!(result, Err(Error::Cancelled)));
        assert_eq!(seen, [1, 2]);
    }

    #[test]
    fn negative_weights_push_scores_down() {
        // Customer 0 bought items 0 and 1, then returned item 1.
        let mut t: Vec<(u32, u32, f32)> = (1..20u32)
            .flat_map(|u| [(u, 0, 1.0), (u, 1, 1.0)])
            .collect();
        t.push((0, 0, 1.0));
        let plain = Csr::from_triplets(20, 3, t.clone()).unwrap();
        t.push((0, 1, -5.0));
        let returned = Csr::from_triplets(20, 3, t).unwrap();
        let score = |m: &Csr| {
            let model = Als::params()
                .factors(4)
                .alpha(2.0)
                .fit_matrix(m, |_| ControlFlow::Continue(()))
                .unwrap();
            dot(model.users.row(0), model.items.row(1))
        };
        assert!(score(&returned) < score(&plain));
    }

    #[test]
    fn a_stored_gram_is_checked_and_used_as_is() {
        let model = Als::params()
            .factors(4)
            .iterations(2)
            .fit_matrix(&blocks(), |_| ControlFlow::Continue(()))
            .unwrap();
        let rebuilt = AlsModel::from_parts_with_gram(
            model.users.clone(),
            model.items.clone(),
            model.params.clone(),
            model.item_gram().to_vec(),
        )
        .unwrap();
        assert_eq!(rebuilt, model);
        let parts = |gram: Vec<f32>| {
            AlsModel::from_parts_with_gram(
                model.users.clone(),
                model.items.clone(),
                model.params.clone(),
                gram,
            )
        };
        assert!(parts(vec![0.0; 15]).is_err());
        let mut nan = model.item_gram().to_vec();
        nan[5] = f32::NAN;
        assert!(parts(nan).is_err());
        let mut skew = model.item_gram().to_vec();
        skew[1] += 1.0;
        assert!(parts(skew).is_err());
    }

    #[test]
    fn bad_parameters_are_rejected_before_work() {
        let m = blocks();
        for p in [
            Als::params().factors(0),
            Als::params().iterations(0),
            Als::params().regularization(-1.0),
            Als::params().alpha(f32::NAN),
            Als::params().unobserved_weight(0.0),
            Als::params().confidence(Confidence::Log { epsilon: 0.0 }),
            Als::params().threads(0),
        ] {
            let err = p.fit_matrix(&m, |_| ControlFlow::Continue(())).unwrap_err();
            assert!(matches!(err, Error::InvalidParam { .. }), "{err}");
        }
    }

    #[test]
    fn fold_in_solves_its_system_on_every_kernel_path() {
        use crate::kernels::Scalar;
        // 21 factors: row pairs and a last single row in the Cholesky, and
        // vector blocks plus scalar columns in the kernels.
        let model = Als::params()
            .factors(21)
            .regularization(0.1)
            .fit_matrix(&blocks(), |_| ControlFlow::Continue(()))
            .unwrap();
        let (k, p) = (model.items.k(), &model.params);
        let entries = [(0u32, 1.0f32), (3, 2.0), (7, -1.0)];
        let mut system = model.item_gram.clone();
        for j in 0..k {
            system[j * k + j] += p.regularization;
        }
        let solve = |scalar: bool| {
            let (mut a, mut b) = (system.clone(), vec![0f32; k]);
            let task = FoldIn {
                a: &mut a,
                b: &mut b,
                entries: &entries,
                items: &model.items,
                params: p,
            };
            if scalar {
                task.run(Scalar)
            } else {
                Dispatch::detect().run(task)
            }
            .unwrap();
            b
        };
        let solutions = [solve(true), solve(false)];
        // The full system, written out naively.
        let mut rhs = vec![0f32; k];
        for &(i, r) in &entries {
            let (w, c) = confidence(r, p);
            let y = model.items.row(i);
            for (row, &yr) in y.iter().enumerate() {
                rhs[row] += c * yr;
                for (col, &yc) in y.iter().enumerate() {
                    system[row * k + col] += w * yr * yc;
                }
            }
        }
        for x in solutions {
            for (row, &want) in rhs.iter().enumerate() {
                let got = dot(&system[row * k..(row + 1) * k], &x);
                assert!(
                    (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                    "{got} {want}"
                );
            }
        }
    }

    #[test]
    fn each_scale_gives_its_own_row_regularisation() {
        let p = Als::params().regularization(0.5).unobserved_weight(2.0);
        // ν = 0: plain λ whatever the scale.
        for scale in [RegularizationScale::AllPairs, RegularizationScale::Observed] {
            let p = p.clone().regularization_scale(scale);
            assert_eq!(p.row_regularization(7, 100), 0.5);
        }
        let p = p.regularization_exponent(1.0);
        assert_eq!(p.row_regularization(7, 100), 0.5 * (7.0 + 200.0));
        let observed = p
            .clone()
            .regularization_scale(RegularizationScale::Observed);
        assert_eq!(observed.row_regularization(7, 100), 0.5 * 7.0);
        assert_eq!(observed.row_regularization(0, 100), 0.5);
        let half = observed.regularization_exponent(0.5);
        assert_eq!(half.row_regularization(16, 100), 0.5 * 4.0);
    }

    /// `Observed` puts `λ·|I_u|^ν` on the diagonal of the row's system: the
    /// block solver (k CG steps on a k × k system: exact up to rounding) and
    /// the fold-in (Cholesky) both solve the system written out by hand.
    #[test]
    fn observed_scale_solves_the_als_wr_system_in_every_solver() {
        let model = Als::params()
            .factors(5)
            .regularization(0.3)
            .regularization_exponent(1.0)
            .regularization_scale(RegularizationScale::Observed)
            .alpha(2.0)
            .cg_steps(5)
            .fit_matrix(&blocks(), |_| ControlFlow::Continue(()))
            .unwrap();
        let (k, p) = (5, model.params().clone());
        let entries = [(1u32, 1.0f32), (4, 3.0), (6, -1.0)];
        let mut system = model.item_gram().to_vec();
        for j in 0..k {
            system[j * k + j] += 0.3 * 3.0;
        }
        let mut rhs = vec![0f32; k];
        for &(i, r) in &entries {
            let (w, c) = confidence(r, &p);
            let y = model.items.row(i);
            for (row, &yr) in y.iter().enumerate() {
                rhs[row] += c * yr;
                for (col, &yc) in y.iter().enumerate() {
                    system[row * k + col] += w * yr * yc;
                }
            }
        }
        let satisfies = |x: &[f32]| {
            rhs.iter().enumerate().all(|(row, &want)| {
                let got = dot(&system[row * k..(row + 1) * k], x);
                (got - want).abs() < 1e-3 * (1.0 + want.abs())
            })
        };
        let items: Vec<u32> = entries.iter().map(|e| e.0).collect();
        let weights: Vec<f32> = entries.iter().map(|e| e.1).collect();
        let folded = model.fold_in(&items, &weights).unwrap();
        assert!(satisfies(&folded), "fold_in {folded:?}");
        let neighbours: Vec<f32> = items
            .iter()
            .flat_map(|&i| model.items.row(i).to_vec())
            .collect();
        let block = RowBlock {
            gram: &model.items.gram(),
            other_rows: model.items.rows(),
            start: &[0.0; 5],
            indptr: &[0, 3],
            neighbours: &neighbours,
            weights: &weights,
            columns: None,
        };
        let solved = p.solve_rows(&block).unwrap();
        assert!(satisfies(&solved), "solve_rows {solved:?}");
        for (a, b) in solved.iter().zip(&folded) {
            assert!((a - b).abs() < 1e-3 * (1.0 + b.abs()), "{a} {b}");
        }
        // The default scale regularises this row far harder: λ·(3 + 10).
        let all_pairs = p.regularization_scale(RegularizationScale::AllPairs);
        let other = all_pairs.solve_rows(&block).unwrap();
        assert!(!satisfies(&other));
        let norm = |x: &[f32]| dot(x, x).sqrt();
        assert!(norm(&other) < norm(&solved));
    }

    #[test]
    fn the_scale_survives_the_artifact() {
        for (scale, confidence) in [
            (RegularizationScale::Observed, Confidence::Linear),
            (
                RegularizationScale::Observed,
                Confidence::Log { epsilon: 0.5 },
            ),
            (
                RegularizationScale::AllPairs,
                Confidence::Log { epsilon: 0.5 },
            ),
        ] {
            let model = Als::params()
                .factors(3)
                .iterations(2)
                .regularization_exponent(1.0)
                .regularization_scale(scale)
                .confidence(confidence)
                .fit_matrix(&blocks(), |_| ControlFlow::Continue(()))
                .unwrap();
            let back = AlsModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
            assert_eq!(back, model);
        }
        // The default writes the confidence code it always wrote (low nibble
        // only), so artifacts from before the scale existed read as `AllPairs`.
        let mut e = crate::artifact::Encoder::new();
        Als::params().encode(&mut e);
        let bytes = e.into_bytes();
        assert_eq!(bytes[8 + 8 + 4 + 4 + 4], 0);
        let mut e = crate::artifact::Encoder::new();
        Als::params()
            .regularization_scale(RegularizationScale::Observed)
            .encode(&mut e);
        let bytes = e.into_bytes();
        assert_eq!(bytes[8 + 8 + 4 + 4 + 4], 0x10);
        let mut bad = bytes.clone();
        bad[8 + 8 + 4 + 4 + 4] = 0x20;
        let mut d = crate::artifact::Decoder::new(&bad);
        assert!(AlsParams::decode(&mut d).is_err());
    }
}
