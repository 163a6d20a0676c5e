//! Cold start: item attributes mapped into the item-vector space, so an item
//! with attributes but no events gets a sensible vector the moment it is added.
//!
//! The map is linear in an item's attribute features (one-hot kind, category,
//! brand, price band, tags — see [`Item::features`] — and the cross of
//! category and price band): a new item's vector is the sum of its features'
//! rows of `W`. Two ways to learn `W` on the warm items:
//!
//! - [`AttributeVectors::fit`]: ridge regression onto the fitted item vectors,
//!   `W = (XᵀX + λI)⁻¹ XᵀV`. Needs only the item vectors, so the recommender
//!   uses it.
//! - [`AttributeVectors::fit_to_events`]: the ALS objective itself, with the
//!   customer factors fixed. In theory the better target (it weighs items by
//!   their buyers and measures error in score space); measured, it ties with
//!   the ridge map at the same λ (see the README's cold-start table), so it is
//!   kept as an option rather than the default.
//!
//! Features seen on fewer than `min_support` warm items are dropped, so one
//! odd brand cannot carry a whole vector; unknown features of a new item are
//! ignored.

use super::{AlsModel, Factors};
use crate::catalog::Item;
use crate::error::{Error, Result};
use crate::interactions::Csr;
use crate::Interner;
use rayon::prelude::*;

/// Settings of [`AttributeVectors::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStartParams {
    /// Ridge penalty λ on the feature weights. Default 100: among 3, 10,
    /// 30 and 100, the best mean validation recall@20 of new items on
    /// MovieLens and the small and medium storefronts (validation splits of
    /// warm items only, three draws, ALS on positives only; see
    /// `eval::evaluate_cold_start`). With ALS on every event, test recall
    /// moves by at most 0.02 for λ 10, 30 or 300 (`evaluate --cold-start
    /// --cold-lambda X`; see the README). For
    /// [`AttributeVectors::fit_to_events`] it is relative to the shared Gram
    /// term (see there); 100 and 300 tied there.
    pub regularization: f64,
    /// Warm items a feature must appear on to be learned. Default 3.
    pub min_support: usize,
    /// Conjugate-gradient iterations of [`AttributeVectors::fit_to_events`].
    /// Default 200.
    pub max_iterations: usize,
    /// Relative residual at which [`AttributeVectors::fit_to_events`] stops.
    /// Default 1e-6.
    pub tolerance: f64,
}

impl Default for ColdStartParams {
    fn default() -> Self {
        ColdStartParams {
            regularization: 100.0,
            min_support: 3,
            max_iterations: 200,
            tolerance: 1e-6,
        }
    }
}

impl ColdStartParams {
    #[must_use]
    pub fn regularization(mut self, value: f64) -> Self {
        self.regularization = value;
        self
    }

    #[must_use]
    pub fn min_support(mut self, value: usize) -> Self {
        self.min_support = value;
        self
    }

    #[must_use]
    pub fn max_iterations(mut self, value: usize) -> Self {
        self.max_iterations = value;
        self
    }

    #[must_use]
    pub fn tolerance(mut self, value: f64) -> Self {
        self.tolerance = value;
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.regularization.is_finite() && self.regularization > 0.0) {
            return Err(Error::param(
                "regularization",
                format!("{} must be positive and finite", self.regularization),
            ));
        }
        if self.max_iterations == 0 {
            return Err(Error::param("max_iterations", "0 must be at least 1"));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(Error::param(
                "tolerance",
                format!("{} must be positive and finite", self.tolerance),
            ));
        }
        Ok(())
    }
}

/// A learned map from item attributes to item vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeVectors {
    features: Interner,
    /// One row of `k` weights per feature.
    weights: Factors,
}

impl AttributeVectors {
    /// Learns the map from the `warm` items (indices into both `items` and
    /// `vectors`), whose fitted vectors are the regression targets.
    ///
    /// ```
    /// use maitre::catalog::Item;
    /// use maitre::embed::{AttributeVectors, ColdStartParams, Factors};
    /// // Shoes point one way, books the other.
    /// let items: Vec<Item> = (0..10)
    ///     .map(|i| Item::new(format!("i{i}")).category(if i % 2 == 0 { "shoes" } else { "books" }))
    ///     .collect();
    /// let data = (0..10).flat_map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] }).collect();
    /// let vectors = Factors::from_vec(10, 2, data)?;
    /// let warm: Vec<u32> = (0..10).collect();
    /// // Ten items only: a light ridge penalty (the default, 100, suits real catalogues).
    /// let params = ColdStartParams::default().regularization(0.1);
    /// let map = AttributeVectors::fit(&items, &vectors, &warm, &params)?;
    /// let v = map.vector(&Item::new("new").category("shoes"));
    /// assert!(v[0] > 0.5 && v[1].abs() < 0.2);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn fit(
        items: &[Item],
        vectors: &Factors,
        warm: &[u32],
        params: &ColdStartParams,
    ) -> Result<Self> {
        check_fit_inputs(items, vectors, params)?;
        let (features, active) = select_features(items, warm, params.min_support)?;
        let n_features = features.len();
        let k = vectors.k();
        // Normal equations in f64: XᵀX + λI and XᵀV, accumulated item by item
        // (X is sparse and binary).
        let mut a = vec![0f64; n_features * n_features];
        let mut b = vec![0f64; n_features * k];
        for (&i, active) in warm.iter().zip(&active) {
            let v = vectors.row(i);
            for &p in active {
                let p = p as usize;
                for &q in active {
                    a[p * n_features + q as usize] += 1.0;
                }
                b[p * k..(p + 1) * k]
                    .iter_mut()
                    .zip(v)
                    .for_each(|(b, &x)| *b += f64::from(x));
            }
        }
        for p in 0..n_features {
            a[p * n_features + p] += params.regularization;
        }
        cholesky_solve_many(&mut a, &mut b, n_features, k)?;
        let weights = Factors::new(n_features, k, b.iter().map(|&w| w as f32).collect());
        Ok(AttributeVectors { features, weights })
    }

    /// Learns the map on the implicit-ALS objective itself rather than by
    /// regression onto fitted item vectors: with the customer factors `U` of
    /// `model` fixed, `W` minimises
    /// `Σ_u Σ_i c_ui (p_ui − u_u·Wᵀa_i)² + λ‖W‖²` over the `warm` items, with
    /// the confidences, preferences and unobserved weight α₀ of the model's
    /// parameters (`matrix` is the customer × item matrix it was fitted on).
    ///
    /// Why: the regression weighs every warm item equally, so the long tail of
    /// items bought once sets the attribute rows, and it fits the item vectors
    /// in Euclidean distance, which is not what scores are made of. Here an
    /// attribute is fitted to the customers who bought its items: a best-seller
    /// counts in proportion to its buyers, and the error is measured in score
    /// space (`(v − v*)ᵀ G_i (v − v*)` with `G_i` the item's ALS Gram matrix).
    ///
    /// λ is relative: it is multiplied by the mean eigenvalue of α₀·UᵀU (the
    /// Gram term every item shares), so the same `regularization` means a
    /// comparable amount of shrinkage in both fits. Solved by conjugate
    /// gradients on the normal equations
    /// `Σ_i a_i (G_i Wᵀ a_i)ᵀ + λW = Σ_i a_i b_iᵀ` without forming the
    /// `(features·k)²` matrix, in f64, with a Jacobi preconditioner; items are
    /// processed in parallel and summed in item order, so results do not
    /// depend on the thread count.
    pub fn fit_to_events(
        items: &[Item],
        model: &AlsModel,
        matrix: &Csr,
        warm: &[u32],
        params: &ColdStartParams,
    ) -> Result<Self> {
        params.validate()?;
        let users = &model.users;
        if matrix.n_rows() != users.rows() {
            return Err(Error::LengthMismatch {
                name: "matrix rows (customers)".into(),
                expected: users.rows(),
                got: matrix.n_rows(),
            });
        }
        if matrix.n_cols() != items.len() {
            return Err(Error::LengthMismatch {
                name: "matrix columns (items)".into(),
                expected: items.len(),
                got: matrix.n_cols(),
            });
        }
        let (features, active) = select_features(items, warm, params.min_support)?;
        let n_features = features.len();
        let k = users.k();
        let als = model.params();
        let alpha0 = f64::from(als.unobserved_weight);
        let by_item = matrix.transpose();
        // α₀·UᵀU in f64.
        let mut gram = vec![0f64; k * k];
        for u in 0..users.rows() as u32 {
            let x = users.row(u);
            for (p, &xp) in x.iter().enumerate() {
                let row = &mut gram[p * k..(p + 1) * k];
                for (g, &xq) in row.iter_mut().zip(x) {
                    *g += alpha0 * f64::from(xp) * f64::from(xq);
                }
            }
        }
        let lambda = params.regularization
            * ((0..k).map(|p| gram[p * k + p]).sum::<f64>() / k as f64).max(1e-12);
        // Per warm item: its observed customers with Gram weight c − α₀ and
        // right-hand side c·p.
        let entries: Vec<Vec<(u32, f64, f64)>> = warm
            .iter()
            .map(|&i| {
                let (cs, rs) = by_item.row(i);
                cs.iter()
                    .zip(rs)
                    .map(|(&u, &r)| {
                        let (g, b) = super::als::confidence(r, als);
                        (u, f64::from(g), f64::from(b))
                    })
                    .collect()
            })
            .collect();
        // Right-hand side Σ_i a_i b_iᵀ and the Jacobi preconditioner (the
        // diagonal of the system).
        let mut rhs = vec![0f64; n_features * k];
        let mut diagonal = vec![lambda; n_features * k];
        for (item_entries, active) in entries.iter().zip(&active) {
            let mut b = vec![0f64; k];
            let mut d: Vec<f64> = (0..k).map(|p| gram[p * k + p]).collect();
            for &(u, g, c) in item_entries {
                let x = users.row(u);
                for p in 0..k {
                    let xp = f64::from(x[p]);
                    b[p] += c * xp;
                    d[p] += g * xp * xp;
                }
            }
            for &f in active {
                let at = f as usize * k;
                rhs[at..at + k]
                    .iter_mut()
                    .zip(&b)
                    .for_each(|(r, b)| *r += b);
                diagonal[at..at + k]
                    .iter_mut()
                    .zip(&d)
                    .for_each(|(r, d)| *r += d);
            }
        }
        let apply = |w: &[f64], out: &mut [f64]| {
            let products: Vec<Vec<f64>> = entries
                .par_iter()
                .zip(&active)
                .map(|(item_entries, active)| {
                    let mut v = vec![0f64; k];
                    for &f in active {
                        let at = f as usize * k;
                        v.iter_mut().zip(&w[at..at + k]).for_each(|(v, w)| *v += w);
                    }
                    let mut g: Vec<f64> = (0..k)
                        .map(|p| {
                            gram[p * k..(p + 1) * k]
                                .iter()
                                .zip(&v)
                                .map(|(a, b)| a * b)
                                .sum()
                        })
                        .collect();
                    for &(u, weight, _) in item_entries {
                        let x = users.row(u);
                        let s: f64 = x.iter().zip(&v).map(|(&a, b)| f64::from(a) * b).sum();
                        let s = weight * s;
                        g.iter_mut()
                            .zip(x)
                            .for_each(|(g, &a)| *g += s * f64::from(a));
                    }
                    g
                })
                .collect();
            out.iter_mut().zip(w).for_each(|(o, w)| *o = lambda * w);
            for (g, active) in products.iter().zip(&active) {
                for &f in active {
                    let at = f as usize * k;
                    out[at..at + k].iter_mut().zip(g).for_each(|(o, g)| *o += g);
                }
            }
        };
        let w = conjugate_gradient(
            apply,
            &rhs,
            &diagonal,
            params.max_iterations,
            params.tolerance,
        )?;
        let weights = Factors::new(n_features, k, w.iter().map(|&w| w as f32).collect());
        check_finite_weights(&weights)?;
        Ok(AttributeVectors { features, weights })
    }

    /// The vector of an item from its attributes alone.
    pub fn vector(&self, item: &Item) -> Vec<f32> {
        let mut out = vec![0f32; self.weights.k()];
        for f in map_features(item) {
            if let Some(id) = self.features.get(&f) {
                out.iter_mut()
                    .zip(self.weights.row(id))
                    .for_each(|(o, w)| *o += w);
            }
        }
        out
    }

    /// A map from stored parts: feature names and one row of weights each.
    pub fn from_parts(features: Vec<String>, weights: Factors) -> Result<Self> {
        if features.len() != weights.rows() {
            return Err(Error::LengthMismatch {
                name: "features".into(),
                expected: weights.rows(),
                got: features.len(),
            });
        }
        let mut interned = Interner::new();
        for f in &features {
            interned.intern(f);
        }
        if interned.len() != features.len() {
            return Err(Error::param("features", "duplicate feature names"));
        }
        Ok(AttributeVectors {
            features: interned,
            weights,
        })
    }

    /// The weights, one row per feature of [`AttributeVectors::features`].
    pub fn weights(&self) -> &Factors {
        &self.weights
    }

    /// The features the map knows, as `field=value`.
    pub fn features(&self) -> &[String] {
        self.features.names()
    }
}

/// What both attribute fits check first: the parameters, and one vector per item.
fn check_fit_inputs(items: &[Item], vectors: &Factors, params: &ColdStartParams) -> Result<()> {
    params.validate()?;
    if items.len() != vectors.rows() {
        return Err(Error::LengthMismatch {
            name: "items".into(),
            expected: vectors.rows(),
            got: items.len(),
        });
    }
    Ok(())
}

/// Folds of the cross-fit in [`NormCalibration::fit`].
#[cfg(feature = "new-items")]
const CALIBRATION_FOLDS: usize = 5;

/// The most knots of the norm curve in [`NormCalibration::fit`].
#[cfg(feature = "new-items")]
const CALIBRATION_KNOTS: usize = 10;

/// Rescales attribute-predicted vectors so their norms match those of learnt
/// vectors: what lets a new item with a strong attribute match compete with
/// warm items in a full-catalogue ranking.
///
/// Why: a ridge map shrinks. A new item's predicted vector points the right
/// way (it ranks well among new items) but is short, so its inner products
/// stay below the learnt vectors of warm items and it never reaches a
/// full-catalogue top-k. The calibration learns, on warm items, how long a
/// learnt vector is given how long its *out-of-fold* prediction is (the map
/// is refitted with each fold left out, so the predictions are as shrunk as a
/// new item's), as a piecewise-linear curve through the means of equal-count
/// bins; a new item's vector keeps its direction and takes the curve's norm
/// times `strength` (chosen on validation, see `eval::evaluate_cold_start`).
#[derive(Debug, Clone, PartialEq)]
pub struct NormCalibration {
    /// `(predicted norm, learnt norm)`, predicted norm ascending.
    knots: Vec<(f32, f32)>,
    strength: f32,
}

impl NormCalibration {
    /// Without the `new-items` feature (the browser build leaves it out for
    /// size): calibration cannot be learnt here, only read from an artifact.
    #[cfg(not(feature = "new-items"))]
    pub fn fit(
        _items: &[Item],
        _vectors: &Factors,
        _warm: &[u32],
        _params: &ColdStartParams,
    ) -> Result<Self> {
        Err(Error::param(
            "calibrate_new_items",
            "this build of maitre leaves out new-item calibration (cargo feature `new-items`)",
        ))
    }

    /// Learns the norm curve on the `warm` items (indices into `items` and
    /// `vectors`), refitting the attribute map ([`AttributeVectors::fit`]
    /// with `params`) five times, each fold of the warm items left out once.
    /// Needs at least ten warm items.
    ///
    /// ```
    /// use maitre::catalog::Item;
    /// use maitre::embed::{AttributeVectors, ColdStartParams, Factors, NormCalibration};
    /// // Forty items in two categories; learnt vectors of length 2.
    /// let items: Vec<Item> = (0..40)
    ///     .map(|i| Item::new(format!("i{i}")).category(if i % 2 == 0 { "shoes" } else { "books" }))
    ///     .collect();
    /// let data = (0..40).flat_map(|i| if i % 2 == 0 { [2.0, 0.0] } else { [0.0, 2.0] }).collect();
    /// let vectors = Factors::from_vec(40, 2, data)?;
    /// let warm: Vec<u32> = (0..40).collect();
    /// let params = ColdStartParams::default(); // λ 100 shrinks these predictions hard
    /// let map = AttributeVectors::fit(&items, &vectors, &warm, &params)?;
    /// let calibration = NormCalibration::fit(&items, &vectors, &warm, &params)?;
    /// let mut v = map.vector(&Item::new("new").category("shoes"));
    /// assert!(v[0] < 1.0); // shrunk
    /// calibration.apply(&mut v);
    /// let norm = (v[0] * v[0] + v[1] * v[1]).sqrt();
    /// assert!((norm - 2.0).abs() < 1e-3 && v[0] > v[1]); // a warm item's length, same way
    /// # Ok::<(), maitre::Error>(())
    /// ```
    #[cfg(feature = "new-items")]
    pub fn fit(
        items: &[Item],
        vectors: &Factors,
        warm: &[u32],
        params: &ColdStartParams,
    ) -> Result<Self> {
        check_fit_inputs(items, vectors, params)?;
        if let Some(&bad) = warm.iter().find(|&&i| i as usize >= items.len()) {
            return Err(Error::Unknown {
                what: "item index",
                id: bad.to_string(),
            });
        }
        if warm.len() < 2 * CALIBRATION_FOLDS {
            return Err(Error::NotEnoughData(format!(
                "{} warm items: the norm calibration needs at least {}",
                warm.len(),
                2 * CALIBRATION_FOLDS
            )));
        }
        let norm = |v: &[f32]| crate::kernels::dot(v, v).sqrt();
        let mut pairs: Vec<(f32, f32)> = Vec::with_capacity(warm.len());
        for fold in 0..CALIBRATION_FOLDS {
            let in_fold = |j: usize| j % CALIBRATION_FOLDS == fold;
            let train: Vec<u32> = (0..warm.len())
                .filter(|&j| !in_fold(j))
                .map(|j| warm[j])
                .collect();
            let held: Vec<u32> = (0..warm.len())
                .filter(|&j| in_fold(j))
                .map(|j| warm[j])
                .collect();
            let map = AttributeVectors::fit(items, vectors, &train, params)?;
            for i in held {
                let predicted = map.vector(&items[i as usize]);
                pairs.push((norm(&predicted), norm(vectors.row(i))));
            }
        }
        if pairs.iter().any(|(p, l)| !(p.is_finite() && l.is_finite())) {
            return Err(Error::NotEnoughData(
                "the norm calibration met a vector that is not finite".into(),
            ));
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // Equal-count bins: at least CALIBRATION_FOLDS items each, so one
        // odd item does not bend the curve.
        let n_knots = (pairs.len() / CALIBRATION_FOLDS).clamp(1, CALIBRATION_KNOTS);
        let knots = (0..n_knots)
            .map(|b| {
                let bin = &pairs[b * pairs.len() / n_knots..(b + 1) * pairs.len() / n_knots];
                let n = bin.len() as f64;
                let (p, l) = bin.iter().fold((0f64, 0f64), |(p, l), x| {
                    (p + f64::from(x.0), l + f64::from(x.1))
                });
                ((p / n) as f32, (l / n) as f32)
            })
            .collect();
        Ok(NormCalibration {
            knots,
            strength: 1.0,
        })
    }

    /// The same curve with the matched norm multiplied by `strength` (finite,
    /// positive; 1 matches warm items' norms).
    pub fn with_strength(mut self, strength: f32) -> Result<Self> {
        if !(strength.is_finite() && strength > 0.0) {
            return Err(Error::param(
                "strength",
                format!("{strength} must be positive and finite"),
            ));
        }
        self.strength = strength;
        Ok(self)
    }

    /// A calibration from stored parts (see [`NormCalibration::knots`]).
    pub fn from_parts(knots: Vec<(f32, f32)>, strength: f32) -> Result<Self> {
        let ordered = knots.windows(2).all(|w| w[0].0 <= w[1].0);
        let finite = knots
            .iter()
            .all(|(p, l)| p.is_finite() && l.is_finite() && *p >= 0.0 && *l >= 0.0);
        if knots.is_empty() || !ordered || !finite {
            return Err(Error::param(
                "knots",
                "need at least one, finite, non-negative, predicted norms ascending",
            ));
        }
        NormCalibration {
            knots,
            strength: 1.0,
        }
        .with_strength(strength)
    }

    /// The curve: `(predicted norm, learnt norm)` knots.
    pub fn knots(&self) -> &[(f32, f32)] {
        &self.knots
    }

    /// The multiplier on the matched norm.
    pub fn strength(&self) -> f32 {
        self.strength
    }

    /// The norm a predicted vector of norm `predicted` is given: the curve,
    /// linear between knots and flat beyond the ends, times `strength`.
    pub fn norm_for(&self, predicted: f32) -> f32 {
        let at = self.knots.partition_point(|k| k.0 < predicted);
        let matched = match at {
            0 => self.knots[0].1,
            n if n == self.knots.len() => self.knots[n - 1].1,
            n => {
                let ((p0, l0), (p1, l1)) = (self.knots[n - 1], self.knots[n]);
                let t = if p1 > p0 {
                    (predicted - p0) / (p1 - p0)
                } else {
                    1.0
                };
                l0 + t * (l1 - l0)
            }
        };
        self.strength * matched
    }

    /// Rescales a predicted vector in place to [`NormCalibration::norm_for`]
    /// its norm. A zero vector (no known attribute) stays zero: it has no
    /// direction to trust.
    pub fn apply(&self, vector: &mut [f32]) {
        let n = crate::kernels::dot(vector, vector).sqrt();
        if n > 0.0 && n.is_finite() {
            let scale = self.norm_for(n) / n;
            vector.iter_mut().for_each(|x| *x *= scale);
        }
    }
}

/// Features of the `warm` items with at least `min_support` of them, in
/// first-seen order (deterministic), and each warm item's active features.
/// The most attribute features one map learns (see `select_features`).
pub const MAX_FEATURES: usize = 4096;

fn select_features(
    items: &[Item],
    warm: &[u32],
    min_support: usize,
) -> Result<(Interner, Vec<Vec<u32>>)> {
    if let Some(&bad) = warm.iter().find(|&&i| i as usize >= items.len()) {
        return Err(Error::Unknown {
            what: "item index",
            id: bad.to_string(),
        });
    }
    if warm.is_empty() {
        return Err(Error::NotEnoughData("no warm item to learn from".into()));
    }
    let mut all = Interner::new();
    let mut support = Vec::new();
    for &i in warm {
        for f in map_features(&items[i as usize]) {
            let id = all.intern(&f) as usize;
            support.resize(all.len(), 0usize);
            support[id] += 1;
        }
    }
    // The ridge solve holds a features × features matrix: beyond MAX_FEATURES
    // (128 MB of f64) keep the most supported ones (ties: first seen), so a
    // catalogue with very many distinct tags costs bounded memory instead of
    // aborting on an allocation of n² values.
    let mut kept: Vec<usize> = (0..all.len())
        .filter(|&f| support[f] >= min_support)
        .collect();
    if kept.len() > MAX_FEATURES {
        kept.sort_by_key(|&f| (std::cmp::Reverse(support[f]), f));
        kept.truncate(MAX_FEATURES);
        kept.sort_unstable();
    }
    let mut features = Interner::new();
    for f in kept {
        features.intern(&all.names()[f]);
    }
    if features.is_empty() {
        return Err(Error::NotEnoughData(format!(
            "no attribute appears on {min_support} warm items"
        )));
    }
    let active = warm
        .iter()
        .map(|&i| {
            map_features(&items[i as usize])
                .filter_map(|f| features.get(&f))
                .collect()
        })
        .collect();
    Ok((features, active))
}

/// The features the map learns from: an item's own ([`Item::features`]) and
/// the cross of category and price band. Why the cross: a sum of separate
/// category and band rows can only add the two preferences, while customers
/// buy a band *within* a category (budget kitchenware, premium phones); on the
/// medium storefront the cross lifts validation recall@20 of new items from
/// 0.21 to 0.25. Maps stored before the cross existed simply lack its rows.
fn map_features(item: &Item) -> impl Iterator<Item = String> + '_ {
    let cross = match (&item.category, &item.price_band) {
        (Some(c), Some(b)) => Some(format!("category×price_band={c}×{b}")),
        _ => None,
    };
    item.features().chain(cross)
}

fn check_finite_weights(weights: &Factors) -> Result<()> {
    if weights.view().iter().all(|w| w.is_finite()) {
        Ok(())
    } else {
        Err(Error::NotEnoughData(
            "the attribute map did not converge to finite weights".into(),
        ))
    }
}

/// Preconditioned conjugate gradients for `A x = b`, `A` symmetric positive
/// definite and given as a product (`apply(x, out)` sets `out = A x`), with the
/// diagonal of `A` as preconditioner. Starts from zero; stops when the
/// residual is below `tolerance` times `‖b‖` or after `max_iterations`.
fn conjugate_gradient(
    apply: impl Fn(&[f64], &mut [f64]),
    b: &[f64],
    diagonal: &[f64],
    max_iterations: usize,
    tolerance: f64,
) -> Result<Vec<f64>> {
    let n = b.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut x = vec![0f64; n];
    let mut r = b.to_vec();
    let norm_b = dot(b, b).sqrt();
    if norm_b == 0.0 {
        return Ok(x);
    }
    let mut z: Vec<f64> = r.iter().zip(diagonal).map(|(r, d)| r / d).collect();
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let mut ap = vec![0f64; n];
    for _ in 0..max_iterations {
        apply(&p, &mut ap);
        let pap = dot(&p, &ap);
        if !(pap > 0.0 && pap.is_finite()) {
            return Err(Error::NotEnoughData(
                "the attribute system is not positive definite".into(),
            ));
        }
        let step = rz / pap;
        x.iter_mut().zip(&p).for_each(|(x, p)| *x += step * p);
        r.iter_mut().zip(&ap).for_each(|(r, a)| *r -= step * a);
        if dot(&r, &r).sqrt() <= tolerance * norm_b {
            break;
        }
        z.iter_mut()
            .zip(&r)
            .zip(diagonal)
            .for_each(|((z, r), d)| *z = r / d);
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        p.iter_mut().zip(&z).for_each(|(p, z)| *p = z + beta * *p);
    }
    Ok(x)
}

/// Solves `A X = B` for symmetric positive-definite `A` (`n × n`, row-major)
/// and `m` right-hand sides (`B` is `n × m`, row-major) in place. f64 because
/// attribute Gram matrices are counts that can be badly conditioned; sizes are
/// a few hundred features, so the cubic cost is milliseconds.
pub(crate) fn cholesky_solve_many(a: &mut [f64], b: &mut [f64], n: usize, m: usize) -> Result<()> {
    // Lower-triangular L with A = L Lᵀ, in the lower triangle of `a`.
    for j in 0..n {
        let mut d = a[j * n + j];
        for p in 0..j {
            d -= a[j * n + p] * a[j * n + p];
        }
        if !(d > 0.0 && d.is_finite()) {
            return Err(Error::NotEnoughData(
                "the attribute system is not positive definite".into(),
            ));
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for p in 0..j {
                s -= a[i * n + p] * a[j * n + p];
            }
            a[i * n + j] = s / d;
        }
    }
    // L Y = B, then Lᵀ X = Y, row by row over all right-hand sides at once.
    for i in 0..n {
        for p in 0..i {
            let l = a[i * n + p];
            let (done, rest) = b.split_at_mut(i * m);
            rest[..m]
                .iter_mut()
                .zip(&done[p * m..(p + 1) * m])
                .for_each(|(x, y)| *x -= l * y);
        }
        let d = a[i * n + i];
        b[i * m..(i + 1) * m].iter_mut().for_each(|x| *x /= d);
    }
    for i in (0..n).rev() {
        for p in i + 1..n {
            let l = a[p * n + i];
            let (head, tail) = b.split_at_mut(p * m);
            head[i * m..(i + 1) * m]
                .iter_mut()
                .zip(&tail[..m])
                .for_each(|(x, y)| *x -= l * y);
        }
        let d = a[i * n + i];
        b[i * m..(i + 1) * m].iter_mut().for_each(|x| *x /= d);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::dot;

    /// The curve follows the learnt norms of out-of-fold predictions
    /// (popular categories get long vectors, rare ones short), rescales
    /// without turning, and every bad input is a typed error.
    #[test]
    fn norm_calibration_matches_learnt_norms() {
        // Category "big" items have learnt norm 4, "small" ones 1.
        let items: Vec<Item> = (0..60)
            .map(|i| Item::new(format!("i{i}")).category(if i % 3 == 0 { "big" } else { "small" }))
            .collect();
        let data = (0..60)
            .flat_map(|i| if i % 3 == 0 { [4.0, 0.0] } else { [0.0, 1.0] })
            .collect();
        let vectors = Factors::from_vec(60, 2, data).unwrap();
        let warm: Vec<u32> = (0..60).collect();
        let params = ColdStartParams::default().regularization(30.0);
        let calibration = NormCalibration::fit(&items, &vectors, &warm, &params).unwrap();
        let knots = calibration.knots();
        assert!(knots.windows(2).all(|w| w[0].0 <= w[1].0), "{knots:?}");
        let map = AttributeVectors::fit(&items, &vectors, &warm, &params).unwrap();
        for (category, learnt) in [("big", 4.0), ("small", 1.0)] {
            let mut v = map.vector(&Item::new("new").category(category));
            let before = v.clone();
            calibration.apply(&mut v);
            let norm = dot(&v, &v).sqrt();
            assert!((norm - learnt).abs() < 0.5, "{category}: {norm} {knots:?}");
            // Same direction.
            let cos = dot(&v, &before) / (norm * dot(&before, &before).sqrt());
            assert!(cos > 0.9999, "{cos}");
        }
        let half = calibration.clone().with_strength(0.5).unwrap();
        assert!((half.norm_for(1.0) - 0.5 * calibration.norm_for(1.0)).abs() < 1e-6);
        let mut zero = vec![0.0, 0.0];
        calibration.apply(&mut zero);
        assert_eq!(zero, [0.0, 0.0]);
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(calibration.clone().with_strength(bad).is_err(), "{bad}");
        }
        assert!(NormCalibration::from_parts(vec![], 1.0).is_err());
        assert!(NormCalibration::from_parts(vec![(2.0, 1.0), (1.0, 1.0)], 1.0).is_err());
        assert!(NormCalibration::from_parts(vec![(1.0, f32::NAN)], 1.0).is_err());
        let parts = NormCalibration::from_parts(knots.to_vec(), 1.0).unwrap();
        assert_eq!(parts, calibration);
        assert!(matches!(
            NormCalibration::fit(&items, &vectors, &warm[..9], &params),
            Err(Error::NotEnoughData(_))
        ));
        assert!(
            NormCalibration::fit(&items, &vectors, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 99], &params)
                .is_err()
        );
        assert!(NormCalibration::fit(&items[..10], &vectors, &warm, &params).is_err());
    }

    #[test]
    fn solves_a_known_system() {
        // A = [[4, 2], [2, 3]], X = [[1, 2], [3, -1]] → B = A X.
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![10.0, 6.0, 11.0, 1.0];
        cholesky_solve_many(&mut a, &mut b, 2, 2).unwrap();
        for (got, want) in b.iter().zip([1.0, 2.0, 3.0, -1.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn features_are_capped_so_the_solve_fits_in_memory() {
        // 10,000 tags on two items each: far more features than the cap.
        let items: Vec<Item> = (0..10_000)
            .map(|i| {
                Item::new(format!("i{i}"))
                    .tag(format!("t{i}"))
                    .tag(format!("t{}", (i + 1) % 10_000))
            })
            .collect();
        let warm: Vec<u32> = (0..items.len() as u32).collect();
        let (features, active) = select_features(&items, &warm, 2).unwrap();
        assert_eq!(features.len(), MAX_FEATURES);
        assert!(active
            .iter()
            .flatten()
            .all(|&f| (f as usize) < MAX_FEATURES));
    }

    #[test]
    fn rare_features_are_dropped_and_bad_input_rejected() {
        let items: Vec<Item> = (0..6)
            .map(|i| {
                let item = Item::new(format!("i{i}")).category("c");
                if i == 0 {
                    item.brand("rare")
                } else {
                    item
                }
            })
            .collect();
        let vectors = Factors::from_vec(6, 2, vec![1.0; 12]).unwrap();
        let warm: Vec<u32> = (0..6).collect();
        let map =
            AttributeVectors::fit(&items, &vectors, &warm, &ColdStartParams::default()).unwrap();
        assert_eq!(map.features(), ["kind=product", "category=c"]);
        assert!(
            AttributeVectors::fit(&items, &vectors, &[9], &ColdStartParams::default()).is_err()
        );
        assert!(
            AttributeVectors::fit(&items[..2], &vectors, &warm, &ColdStartParams::default())
                .is_err()
        );
        let bad = ColdStartParams::default().regularization(0.0);
        assert!(AttributeVectors::fit(&items, &vectors, &warm, &bad).is_err());
    }

    /// Two taste groups, each buying only one category; a brand that is
    /// noise (spread over both). The map fitted on events must give a new
    /// item of each category a vector its own group scores above the other
    /// category's, whatever its brand.
    #[test]
    fn the_event_map_recovers_planted_category_tastes() {
        use crate::embed::Als;
        use std::ops::ControlFlow;
        let categories = ["shoes", "books"];
        let items: Vec<Item> = (0..40)
            .map(|i| {
                Item::new(format!("i{i}"))
                    .category(categories[i % 2])
                    .brand(format!("b{}", (i / 2) % 4))
            })
            .collect();
        // Customer u is in group u % 2 and buys five items of that category.
        let triplets = (0..200u32)
            .flat_map(|u| (0..5u32).map(move |j| (u, (u % 2) + 2 * ((u / 2 + 3 * j) % 20), 1.0)))
            .collect();
        let matrix = Csr::from_triplets(200, 40, triplets).unwrap();
        let model = Als::params()
            .factors(4)
            .iterations(8)
            .regularization(0.1)
            .seed(3)
            .fit_matrix(&matrix, |_| ControlFlow::Continue(()))
            .unwrap();
        let warm: Vec<u32> = (0..40).collect();
        // Forty items: a light penalty (the default suits real catalogues).
        let params = ColdStartParams::default().regularization(1.0);
        let map = AttributeVectors::fit_to_events(&items, &model, &matrix, &warm, &params).unwrap();
        for brand in ["b0", "b3", "unseen"] {
            let shoe = map.vector(&Item::new("s").category("shoes").brand(brand));
            let book = map.vector(&Item::new("b").category("books").brand(brand));
            for u in 0..200u32 {
                let user = model.users.row(u);
                let (own, other) = match u % 2 {
                    0 => (dot(user, &shoe), dot(user, &book)),
                    _ => (dot(user, &book), dot(user, &shoe)),
                };
                assert!(
                    own > other + 0.05,
                    "customer {u}, brand {brand}: {own} vs {other}"
                );
            }
        }
        // Same inputs, same map, bit for bit.
        let again =
            AttributeVectors::fit_to_events(&items, &model, &matrix, &warm, &params).unwrap();
        assert_eq!(map, again);
        // Typed errors, not panics, on mismatched inputs and settings.
        let small = Csr::from_triplets(200, 39, vec![]).unwrap();
        assert!(AttributeVectors::fit_to_events(&items, &model, &small, &warm, &params).is_err());
        let fewer = Csr::from_triplets(10, 40, vec![]).unwrap();
        assert!(AttributeVectors::fit_to_events(&items, &model, &fewer, &warm, &params).is_err());
        assert!(AttributeVectors::fit_to_events(&items, &model, &matrix, &[99], &params).is_err());
        let bad = params.clone().tolerance(f64::NAN);
        assert!(AttributeVectors::fit_to_events(&items, &model, &matrix, &warm, &bad).is_err());
        let bad = params.max_iterations(0);
        assert!(AttributeVectors::fit_to_events(&items, &model, &matrix, &warm, &bad).is_err());
    }

    #[test]
    fn conjugate_gradient_solves_a_known_system() {
        // A = [[4, 1], [1, 3]], x = [1, 2] → b = [6, 7].
        let apply = |x: &[f64], out: &mut [f64]| {
            out[0] = 4.0 * x[0] + x[1];
            out[1] = x[0] + 3.0 * x[1];
        };
        let x = conjugate_gradient(apply, &[6.0, 7.0], &[4.0, 3.0], 10, 1e-12).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-9 && (x[1] - 2.0).abs() < 1e-9,
            "{x:?}"
        );
    }

    #[test]
    fn the_cross_of_category_and_band_is_a_feature() {
        let item = Item::new("i").category("kitchen").price_band("low");
        let features: Vec<String> = map_features(&item).collect();
        assert!(features.contains(&"category×price_band=kitchen×low".to_string()));
        let plain: Vec<String> = map_features(&Item::new("j").category("kitchen")).collect();
        assert_eq!(plain, ["kind=product", "category=kitchen"]);
    }
}
