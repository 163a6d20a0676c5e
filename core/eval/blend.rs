//! A blend of ALS, EASE, item-kNN and popularity, weighted on validation.
//!
//! Each component scores the whole catalogue for a customer; those scores are
//! z-scored per customer over the items the customer has not had (mean 0,
//! standard deviation 1; a constant row becomes all zeros), so a weight means
//! the same whatever a model's scale (EASE's weights, ALS's inner products and
//! popularity's counts differ by orders of magnitude). The blend's score is
//! `Σ w_c · z_c` with non-negative weights.
//!
//! The weights are chosen by coordinate search over [`WEIGHT_GRID`] on
//! validation NDCG@10, starting from the best single component. Validation is
//! carved from [`super::training_log`] (what the split leaves for training),
//! by the same split: the test is never looked at. The search ranks, per
//! validation customer, only the union of each component's top
//! [`CANDIDATES`] items: a blended top 10 from elsewhere would need an item
//! outside every component's top 200, which the search may then miss, never
//! the final evaluation (that ranks the whole catalogue).
//!
//! Lives in `eval` because it combines the baselines (here) with `embed`'s
//! models; `embed` may not depend on it. Behind the `ease` feature: the
//! browser build never fits models.

use super::{metrics, training_log, EvalConfig, Positives, Scorer, SplitData};
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::interactions::Csr;
use rayon::prelude::*;
use serde::Serialize;

/// The components, in the order weights are reported and searched.
pub const COMPONENTS: [&str; 4] = ["als", "ease", "item-knn", "popularity"];

/// The values each weight is tried at.
pub const WEIGHT_GRID: [f32; 8] = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// Per component and validation customer, how many top items enter the search.
pub const CANDIDATES: usize = 200;

/// The most validation customers the weight search scores (an even spread
/// of them when there are more).
pub const MAX_VALIDATION_USERS: usize = 4000;

/// Rounds of coordinate search (it stops earlier when a round changes nothing).
const ROUNDS: usize = 3;

/// The weights a blend chose and what they scored on validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlendWeights {
    /// `(component, weight)` in [`COMPONENTS`] order; EASE is absent when the
    /// catalogue exceeds its `max_items`.
    pub weights: Vec<(String, f32)>,
    /// Validation NDCG@10 of the chosen weights (on the searched candidates).
    pub validation_ndcg: f64,
    /// Validation NDCG@10 of each component alone, same order.
    pub validation_single: Vec<(String, f64)>,
}

/// Component models with their blend weights.
pub struct Blend {
    components: Vec<(String, Box<dyn Scorer>)>,
    weights: Vec<f32>,
}

impl std::fmt::Debug for Blend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blend")
            .field(
                "components",
                &self.components.iter().map(|c| &c.0).collect::<Vec<_>>(),
            )
            .field("weights", &self.weights)
            .finish()
    }
}

/// The components that can be fitted on a catalogue of `n_items`.
fn component_names(config: &EvalConfig, n_items: usize) -> Vec<&'static str> {
    COMPONENTS
        .into_iter()
        .filter(|&c| c != "ease" || n_items <= config.ease.max_items)
        .collect()
}

impl Blend {
    /// Fits each component on `train` (a customers × items matrix of
    /// positives) with `config`'s parameters and blends them with `weights`
    /// (one per fitted component, in [`Blend::components`] order).
    pub fn fit(train: &Csr, config: &EvalConfig, weights: &[f32]) -> Result<Blend> {
        let names = component_names(config, train.n_cols());
        if weights.len() != names.len() {
            return Err(Error::LengthMismatch {
                name: "weights".into(),
                expected: names.len(),
                got: weights.len(),
            });
        }
        check_weights(weights)?;
        let components = names
            .into_iter()
            .zip(weights)
            .map(|(name, &w)| {
                // A zero weight adds nothing: not fitting it saves the time.
                let scorer: Box<dyn Scorer> = match w > 0.0 {
                    true => super::fit_scorer(name, train, config)?,
                    false => Box::new(Zero),
                };
                Ok((name.to_string(), scorer))
            })
            .collect::<Result<_>>()?;
        Ok(Blend {
            components,
            weights: weights.to_vec(),
        })
    }

    /// Chooses weights on validation carved from `log`'s training part (the
    /// test of `config.split` is never used), then fits every component with
    /// a positive weight on `split.train`, the training part of the split
    /// to be evaluated.
    ///
    /// ```
    /// use maitre::datasets::{synthetic_storefront, Size};
    /// use maitre::eval::{evaluate, EvalConfig};
    /// let shop = synthetic_storefront(3, Size::Tiny)?;
    /// let config = EvalConfig::default().positive_kinds(["purchase"]).models(["blend"]);
    /// let report = evaluate(&shop.log, &config)?;
    /// let weights = report.blend.expect("a blend reports its weights");
    /// assert!(weights.weights.iter().any(|(_, w)| *w > 0.0));
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn fit_validated(
        log: &EventLog,
        config: &EvalConfig,
        split: &SplitData,
    ) -> Result<(Blend, BlendWeights)> {
        let validation = validation_split(log, config)?;
        let weights = choose_weights(&validation, config)?;
        let w: Vec<f32> = weights.weights.iter().map(|(_, w)| *w).collect();
        Ok((Blend::fit(&split.train, config, &w)?, weights))
    }

    /// The component names, in weight order.
    pub fn components(&self) -> Vec<&str> {
        self.components.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The weights, one per component.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }
}

fn check_weights(weights: &[f32]) -> Result<()> {
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(Error::param(
            "weights",
            format!("{w} is not a non-negative finite number"),
        ));
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(Error::param("weights", "at least one must be positive"));
    }
    Ok(())
}

/// A component left out by a zero weight.
struct Zero;

impl Scorer for Zero {
    fn score(&self, _user: u32, _history: &[u32], out: &mut [f32]) {
        out.fill(0.0);
    }
}

/// The validation split: `config.split` applied to what it leaves for training.
pub(crate) fn validation_split(log: &EventLog, config: &EvalConfig) -> Result<SplitData> {
    let train = training_log(log, config)?;
    let positives =
        Positives::from_log(&train, config.positive_kinds.as_deref(), config.min_value)?;
    config.split.apply(&positives, train.timestamp_column())
}

/// Z-scores `scores` over the items not in `history` (sorted), in place.
fn z_score(scores: &mut [f32], history: &[u32]) {
    let mut sum = 0f64;
    let mut sum_sq = 0f64;
    let mut n = 0usize;
    let mut h = history.iter().peekable();
    for (i, &s) in scores.iter().enumerate() {
        if h.peek().is_some_and(|&&j| j as usize == i) {
            h.next();
            continue;
        }
        let s = f64::from(s);
        sum += s;
        sum_sq += s * s;
        n += 1;
    }
    let n = n.max(1) as f64;
    let mean = sum / n;
    let sd = (sum_sq / n - mean * mean).max(0.0).sqrt();
    for s in scores.iter_mut() {
        *s = if sd > 1e-12 {
            ((f64::from(*s) - mean) / sd) as f32
        } else {
            0.0
        };
    }
}

impl Scorer for Blend {
    fn score(&self, user: u32, history: &[u32], out: &mut [f32]) {
        let weighted = Weighted(
            self.components
                .iter()
                .zip(&self.weights)
                .map(|((_, s), &w)| (s.as_ref(), w))
                .collect(),
        );
        weighted.score(user, history, out);
    }
}

/// Borrowed scorers and their weights: the blend's sum of z-scores.
pub(crate) struct Weighted<'a>(pub(crate) Vec<(&'a dyn Scorer, f32)>);

impl Scorer for Weighted<'_> {
    fn score(&self, user: u32, history: &[u32], out: &mut [f32]) {
        out.fill(0.0);
        let mut buffer = vec![0f32; out.len()];
        for &(scorer, w) in &self.0 {
            if w == 0.0 {
                continue;
            }
            scorer.score(user, history, &mut buffer);
            z_score(&mut buffer, history);
            for (o, z) in out.iter_mut().zip(&buffer) {
                *o += w * z;
            }
        }
    }
}

/// One validation customer: candidate items, their z-scores per component
/// (component-major), and the held-out items.
struct Cached {
    items: Vec<u32>,
    z: Vec<f32>,
    held: Vec<u32>,
}

/// Validation NDCG@10 of `weights` on the cached candidates.
fn ndcg(cache: &[Cached], weights: &[f32]) -> f64 {
    let per_user: Vec<f64> = cache
        .par_iter()
        .map(|c| {
            let n = c.items.len();
            let mut blended = vec![0f32; n];
            for (w, z) in weights.iter().zip(c.z.chunks_exact(n.max(1))) {
                if *w != 0.0 {
                    for (b, z) in blended.iter_mut().zip(z) {
                        *b += w * z;
                    }
                }
            }
            let ranked: Vec<u32> = metrics::top_k(&blended, 10)
                .into_iter()
                .map(|r| c.items[r as usize])
                .collect();
            metrics::at_k(&ranked, &c.held, 10).ndcg
        })
        .collect();
    // Summed in customer order: the same total on any thread count.
    per_user.iter().sum::<f64>() / per_user.len().max(1) as f64
}

/// Fits the components on `validation.train` and searches the weights.
pub(crate) fn choose_weights(validation: &SplitData, config: &EvalConfig) -> Result<BlendWeights> {
    let names = component_names(config, validation.n_items());
    let scorers = names
        .iter()
        .map(|name| super::fit_scorer(name, &validation.train, config))
        .collect::<Result<Vec<_>>>()?;
    let borrowed: Vec<&dyn Scorer> = scorers.iter().map(AsRef::as_ref).collect();
    search_weights(validation, &names, &borrowed)
}

/// Coordinate search of the weights of fitted `scorers` on `validation`.
pub(crate) fn search_weights(
    validation: &SplitData,
    names: &[&str],
    scorers: &[&dyn Scorer],
) -> Result<BlendWeights> {
    if validation.test.is_empty() {
        return Err(Error::NotEnoughData(
            "the validation split tests no customer: too little data to choose blend weights"
                .into(),
        ));
    }
    let n_items = validation.n_items();
    let stride = validation.test.len().div_ceil(MAX_VALIDATION_USERS);
    let users: Vec<&(u32, Vec<u32>)> = validation.test.iter().step_by(stride).collect();
    let cache: Vec<Cached> = users
        .par_iter()
        .map_init(
            || vec![0f32; n_items],
            |scores, (user, held)| {
                let history = validation.train.row(*user).0;
                let mut per_component = Vec::with_capacity(scorers.len());
                let mut items = Vec::new();
                for &scorer in scorers {
                    scorer.score(*user, history, scores);
                    z_score(scores, history);
                    let mut masked = scores.clone();
                    for &i in history {
                        masked[i as usize] = f32::NEG_INFINITY;
                    }
                    items.extend(metrics::top_k(&masked, CANDIDATES));
                    per_component.push(scores.clone());
                }
                items.sort_unstable();
                items.dedup();
                let z = per_component
                    .iter()
                    .flat_map(|s| items.iter().map(|&i| s[i as usize]))
                    .collect();
                Cached {
                    items,
                    z,
                    held: held.clone(),
                }
            },
        )
        .collect();
    let single: Vec<f64> = (0..names.len())
        .map(|c| {
            let mut w = vec![0f32; names.len()];
            w[c] = 1.0;
            ndcg(&cache, &w)
        })
        .collect();
    let best_single = (0..names.len())
        .max_by(|&a, &b| single[a].total_cmp(&single[b]).then(b.cmp(&a)))
        .expect("at least one component");
    let mut weights = vec![0f32; names.len()];
    weights[best_single] = 1.0;
    let mut best = single[best_single];
    for _ in 0..ROUNDS {
        let mut improved = false;
        for c in 0..names.len() {
            for &g in &WEIGHT_GRID {
                if g == weights[c] {
                    continue;
                }
                let mut trial = weights.clone();
                trial[c] = g;
                if trial.iter().all(|&w| w == 0.0) {
                    continue;
                }
                let score = ndcg(&cache, &trial);
                // Strictly better only, so ties keep the simpler blend found first.
                if score > best + 1e-9 {
                    best = score;
                    weights = trial;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    Ok(BlendWeights {
        weights: names
            .iter()
            .zip(&weights)
            .map(|(n, w)| (n.to_string(), *w))
            .collect(),
        validation_ndcg: best,
        validation_single: names
            .iter()
            .zip(&single)
            .map(|(n, s)| (n.to_string(), *s))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{synthetic_storefront, Size};

    #[test]
    fn z_scores_ignore_the_history_and_flatten_constants() {
        let mut s = vec![100.0, 1.0, 3.0, 100.0];
        z_score(&mut s, &[0, 3]);
        // Items 1 and 2: mean 2, sd 1.
        assert_eq!(&s[1..3], &[-1.0, 1.0]);
        let mut c = vec![5.0; 3];
        z_score(&mut c, &[]);
        assert_eq!(c, vec![0.0; 3]);
    }

    /// A scorer that ranks item `good` first for every customer.
    struct Fixed(Vec<f32>);
    impl Scorer for Fixed {
        fn score(&self, _user: u32, _history: &[u32], out: &mut [f32]) {
            out.copy_from_slice(&self.0);
        }
    }

    #[test]
    fn the_search_puts_weight_on_the_component_that_finds_the_held_out_items() {
        // Every customer holds out item 5; component "right" ranks it first,
        // "wrong" ranks it last.
        let n = 30;
        let triplets = (0..20u32).map(|u| (u, 10 + u % 5, 1.0)).collect();
        let validation = SplitData {
            train: Csr::from_triplets(20, n, triplets).unwrap(),
            test: (0..20).map(|u| (u, vec![5])).collect(),
        };
        let mut right: Vec<f32> = (0..n).map(|i| -(i as f32)).collect();
        right[5] = 100.0;
        let mut wrong: Vec<f32> = (0..n).map(|i| i as f32).collect();
        wrong[5] = -100.0;
        let (wrong, right) = (Fixed(wrong), Fixed(right));
        let scorers: Vec<&dyn Scorer> = vec![&wrong, &right];
        let w = search_weights(&validation, &["wrong", "right"], &scorers).unwrap();
        assert_eq!(w.weights[0].1, 0.0, "{w:?}");
        assert!(w.weights[1].1 > 0.0, "{w:?}");
        assert!((w.validation_ndcg - 1.0).abs() < 1e-12, "{w:?}");
        assert_eq!(w.validation_single[0].1, 0.0);
    }

    #[test]
    fn blend_is_validated_and_deterministic() {
        let shop = synthetic_storefront(5, Size::Tiny).unwrap();
        let config = EvalConfig::default()
            .positive_kinds(["purchase"])
            .models(["blend"]);
        let a = super::super::evaluate(&shop.log, &config).unwrap();
        let b = super::super::evaluate(&shop.log, &config).unwrap();
        assert_eq!(a.results[0].metrics, b.results[0].metrics);
        assert_eq!(a.blend, b.blend);
        let weights = a.blend.unwrap();
        assert_eq!(weights.weights.len(), 4);
        assert!(weights.weights.iter().all(|(_, w)| WEIGHT_GRID.contains(w)));
        let ndcg = a.results[0].metrics["ndcg@10"];
        assert!(ndcg > 0.0 && ndcg <= 1.0, "{ndcg}");
    }

    #[test]
    fn bad_weights_are_refused() {
        let train = Csr::from_triplets(2, 3, vec![(0, 1, 1.0), (1, 2, 1.0)]).unwrap();
        let config = EvalConfig::default();
        for w in [
            vec![0.0; 4],
            vec![1.0, -1.0, 0.0, 0.0],
            vec![f32::NAN, 1.0, 1.0, 1.0],
        ] {
            assert!(matches!(
                Blend::fit(&train, &config, &w),
                Err(Error::InvalidParam { .. })
            ));
        }
        assert!(matches!(
            Blend::fit(&train, &config, &[1.0]),
            Err(Error::LengthMismatch { .. })
        ));
    }
}
