//! Self-tuning: a search over ALS's factors, λ, α and sweeps, EASE's λ and
//! the blend's weights on a validation split, within a wall-time budget.
//!
//! The log's positives are split by the configured split (leave-last-out by
//! default); every trial fits on the training part and is scored by NDCG@10
//! on the held-out part. Order of trials: the current ALS parameters, every
//! EASE λ of [`EASE_LAMBDAS`] (cheap on catalogues EASE accepts), then the
//! ALS grid ([`TuneConfig::grid`]) in an order shuffled by the seed, then one
//! blend of the best ALS, the best EASE, item-kNN and popularity (weights by
//! [`super::Blend`]'s coordinate search). The budget is checked between
//! trials and during each ALS fit (a fit cut short is discarded); the first
//! trial and the blend always run. The same seed, data and number of trials
//! give the same table and model on any thread count; a slower machine may
//! get through fewer trials in the same budget.
//!
//! Then the served path: trials fit on the positives alone, but a
//! `Recommender` serves ALS fitted on every event kind with the seen-items
//! rule, and settings that win one can lose the other (on MovieLens'
//! temporal split the protocol's best lowered the served NDCG@10 from 0.155
//! to 0.130). So the starting parameters and the [`SERVE_CHECKS`] best ALS
//! settings are each evaluated as they would serve
//! ([`super::evaluate_recommend`] on the same split: fitted on every event a
//! live system had, recommended with the default rules), and the best of
//! those is the one returned. Each of them is served with every history
//! half-life of [`HISTORY_HALF_LIVES`] (none, then minutes to a month: see
//! [`ServeSettings::history_half_life`]) from the same fit, and the best
//! pair wins; the returned [`Tuned::settings`] carry its half-life. Last, a
//! coordinate search on the served path itself, from the best check: λ × 3
//! or ÷ 3, factors × 2 or ÷ 2, α × 2 or ÷ 2, moving as soon as one serves
//! better, until none does. The served matrix (every kind at its weight) is not
//! the protocol's positives, and what suits one can be far from the other:
//! on the medium synthetic storefront the served path is best at λ 100,
//! where MovieLens serves best at 10 (BENCHMARKS.md). These rows (model
//! `recommend`) come after the blend and on top of `max_trials`; the first
//! two checks always run, the others within the budget, of which the search
//! before them may use [`SEARCH_SHARE`].
//!
//! The returned model is that winner refitted on every event of the log
//! (what a `Recommender` serves); the table says whether EASE or the blend
//! scored better on the protocol's validation.
//!
//! Lives in `eval` (it scores through the evaluation's splits and metrics);
//! `embed` may not depend on it. Behind the `ease` feature.

use super::baselines::{ItemKnn, Popularity};
use super::blend::{search_weights, Weighted};
use super::{score_split, EvalConfig, Positives, Scorer};
use crate::embed::{AlsModel, AlsParams, EaseModel, EaseParams};
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::interactions::{InteractionConfig, Interactions};
use crate::recommend::ServeSettings;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::ops::ControlFlow;

/// EASE penalties every tuning tries (when the catalogue fits EASE).
pub const EASE_LAMBDAS: [f64; 5] = [10.0, 30.0, 100.0, 300.0, 1000.0];

/// The longest budget accepted: a week.
pub const MAX_BUDGET_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// The most trials a tuning may ask for.
pub const MAX_TRIALS: usize = 10_000;

/// How many of the best ALS settings (by the protocol's validation) are
/// also checked on the served path, besides the starting parameters.
pub const SERVE_CHECKS: usize = 3;

/// The share of the budget the protocol's search may use: the rest is kept
/// for the served path, where the returned parameters are chosen.
pub const SEARCH_SHARE: f64 = 0.5;

/// History half-lives (seconds) each served check tries, besides none:
/// five minutes (a session), an hour, a day, thirty days.
pub const HISTORY_HALF_LIVES: [f32; 4] = [300.0, 3600.0, 86_400.0, 2_592_000.0];

/// What to search and for how long.
///
/// Defaults: 120 seconds, seed 0, at most 200 trials, the evaluation's
/// defaults (leave-last-out, every positive-weight kind); the ALS grid of
/// factors {16, 32, 64, 128} × λ {0.1, 1, 10, 30} × α {0.5, 1, 2, 5} ×
/// sweeps {10, 15, 25}.
///
/// ```
/// use maitre::eval::{EvalConfig, TuneConfig};
/// let config = TuneConfig::default()
///     .budget_seconds(30.0)
///     .seed(7)
///     .eval(EvalConfig::default().positive_kinds(["purchase"]));
/// assert!(config.validate().is_ok());
/// assert!(TuneConfig::default().budget_seconds(-1.0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TuneConfig {
    /// The split, positives and starting parameters (its `als` is trial one).
    pub eval: EvalConfig,
    /// Wall-time budget in seconds.
    pub budget_seconds: f64,
    /// Shuffles the order of the ALS grid.
    pub seed: u64,
    /// The most trials, the blend included.
    pub max_trials: usize,
    pub factors: Vec<usize>,
    pub regularization: Vec<f32>,
    pub alpha: Vec<f32>,
    pub iterations: Vec<usize>,
}

impl Default for TuneConfig {
    fn default() -> Self {
        TuneConfig {
            eval: EvalConfig::default(),
            budget_seconds: 120.0,
            seed: 0,
            max_trials: 200,
            factors: vec![16, 32, 64, 128],
            regularization: vec![0.1, 1.0, 10.0, 30.0],
            alpha: vec![0.5, 1.0, 2.0, 5.0],
            iterations: vec![10, 15, 25],
        }
    }
}

impl TuneConfig {
    /// Sets the split, positives and starting parameters.
    #[must_use]
    pub fn eval(mut self, eval: EvalConfig) -> Self {
        self.eval = eval;
        self
    }

    /// Sets the budget in seconds.
    #[must_use]
    pub fn budget_seconds(mut self, seconds: f64) -> Self {
        self.budget_seconds = seconds;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the most trials.
    #[must_use]
    pub fn max_trials(mut self, n: usize) -> Self {
        self.max_trials = n;
        self
    }

    /// The ALS grid, in its unshuffled order.
    pub fn grid(&self) -> Vec<AlsParams> {
        let mut out = Vec::new();
        for &f in &self.factors {
            for &r in &self.regularization {
                for &a in &self.alpha {
                    for &i in &self.iterations {
                        out.push(
                            self.eval
                                .als
                                .clone()
                                .factors(f)
                                .regularization(r)
                                .alpha(a)
                                .iterations(i),
                        );
                    }
                }
            }
        }
        out
    }

    /// Checks the budget, the trial count and every grid point before any work.
    pub fn validate(&self) -> Result<()> {
        if !(self.budget_seconds.is_finite()
            && self.budget_seconds > 0.0
            && self.budget_seconds <= MAX_BUDGET_SECONDS)
        {
            return Err(Error::param(
                "budget",
                format!(
                    "{} seconds is not in (0, {MAX_BUDGET_SECONDS}]",
                    self.budget_seconds
                ),
            ));
        }
        if !(1..=MAX_TRIALS).contains(&self.max_trials) {
            return Err(Error::param(
                "max_trials",
                format!("{} is not in 1..={MAX_TRIALS}", self.max_trials),
            ));
        }
        let points = [
            self.factors.len(),
            self.regularization.len(),
            self.alpha.len(),
            self.iterations.len(),
        ];
        if points.contains(&0) {
            return Err(Error::param("grid", "every axis needs at least one value"));
        }
        // Bounded before `grid()` allocates the product.
        if points.iter().try_fold(1usize, |a, &b| a.checked_mul(b)) > Some(MAX_TRIALS) {
            return Err(Error::param(
                "grid",
                format!("more than {MAX_TRIALS} points"),
            ));
        }
        self.eval.als.validate()?;
        for p in self.grid() {
            p.validate()?;
        }
        self.eval.ease.validate()
    }
}

/// One row of the table of what was tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    /// `als`, `ease`, `blend`, or `recommend` (ALS settings checked on the
    /// served path).
    pub model: String,
    /// ALS factors, λ, α, sweeps (ALS trials only).
    pub factors: Option<usize>,
    pub regularization: Option<f64>,
    pub alpha: Option<f64>,
    pub iterations: Option<usize>,
    /// EASE's λ (EASE trials only).
    pub ease_lambda: Option<f64>,
    /// `(component, weight)` (the blend only).
    pub weights: Option<Vec<(String, f32)>>,
    /// The history half-life, seconds (`recommend` rows that set one).
    pub history_half_life: Option<f64>,
    /// Validation NDCG@10 (of the served lists for `recommend` rows).
    pub ndcg: f64,
    /// Fit and scoring time.
    pub seconds: f64,
}

impl Trial {
    /// A row for ALS settings `params` (model `als` or `recommend`), timed from `started`.
    fn of_als(model: &str, params: &AlsParams, ndcg: f64, started: web_time::Instant) -> Self {
        Trial {
            model: model.into(),
            factors: Some(params.factors),
            regularization: Some(f64::from(params.regularization)),
            alpha: Some(f64::from(params.alpha)),
            iterations: Some(params.iterations),
            ease_lambda: None,
            weights: None,
            history_half_life: None,
            ndcg,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// Reported after each trial.
#[derive(Debug)]
pub struct TuneProgress<'t> {
    /// Trials done.
    pub trials: usize,
    /// The most trials there will be.
    pub max_trials: usize,
    pub seconds: f64,
    pub budget_seconds: f64,
    /// The trial just done.
    pub last: &'t Trial,
    /// The best validation NDCG@10 so far.
    pub best_ndcg: f64,
}

/// What a tuning found.
#[derive(Debug, Clone)]
pub struct Tuned {
    /// The ALS parameters that served best on validation, refitted on every
    /// event of the log (all kinds, their weights), as `AlsParams::fit` would.
    pub model: AlsModel,
    /// The customer name of each row of `model.users`.
    pub customer_ids: Vec<String>,
    /// The ALS parameters of `model`.
    pub als: AlsParams,
    /// The serving settings it served best with (the default settings but
    /// for [`ServeSettings::history_half_life`]): give them to the
    /// `Recommender` built from `model`.
    pub settings: ServeSettings,
    /// The best EASE parameters, when EASE was tried.
    pub ease: Option<EaseParams>,
    /// `als`, `ease` or `blend`: the best model on the protocol's validation.
    pub best: String,
    /// Every trial, in the order run.
    pub trials: Vec<Trial>,
}

/// Searches on a validation split of `log` (see the module docs); `progress`
/// is called after each trial and stops the search with
/// [`Error::Cancelled`] when it returns `ControlFlow::Break`.
///
/// ```
/// use maitre::datasets::{synthetic_storefront, Size};
/// use maitre::eval::{tune, EvalConfig, TuneConfig};
/// let shop = synthetic_storefront(3, Size::Tiny)?;
/// let config = TuneConfig::default()
///     .budget_seconds(60.0)
///     .max_trials(4)
///     .eval(EvalConfig::default().positive_kinds(["purchase"]));
/// let tuned = tune(&shop.log, &config, |_| std::ops::ControlFlow::Continue(()))?;
/// let models: Vec<&str> = tuned.trials.iter().map(|t| t.model.as_str()).collect();
/// assert_eq!(models[3], "blend"); // four search trials, then served-path checks
/// assert!(models[4..].iter().all(|m| *m == "recommend"));
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn tune(
    log: &EventLog,
    config: &TuneConfig,
    mut progress: impl FnMut(&TuneProgress<'_>) -> ControlFlow<()>,
) -> Result<Tuned> {
    config.validate()?;
    let started = web_time::Instant::now();
    let eval = &config.eval;
    let positives = Positives::from_log(log, eval.positive_kinds.as_deref(), eval.min_value)?;
    let validation = eval.split.apply(&positives, log.timestamp_column())?;
    if validation.test.is_empty() {
        return Err(Error::NotEnoughData(
            "the validation split tests no customer: too little data to tune".into(),
        ));
    }
    let n_items = validation.n_items();
    let over = || started.elapsed().as_secs_f64() > config.budget_seconds;
    let search_over = || started.elapsed().as_secs_f64() > SEARCH_SHARE * config.budget_seconds;
    let use_ease = n_items <= eval.ease.max_items;

    let mut plan: Vec<AlsParams> = config.grid();
    plan.retain(|p| *p != eval.als);
    plan.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(config.seed));

    let mut trials: Vec<Trial> = Vec::new();
    let mut best_als: Option<(f64, AlsParams, AlsModel)> = None;
    let mut als_tried: Vec<(f64, AlsParams)> = Vec::new();
    let mut best_ease: Option<(f64, EaseParams, EaseModel)> = None;
    let mut best_ndcg = f64::NEG_INFINITY;
    // The blend takes the last trial slot.
    let single_trials = config.max_trials.saturating_sub(1).max(1);

    let record = |trial: Trial,
                  trials: &mut Vec<Trial>,
                  best_ndcg: &mut f64,
                  progress: &mut dyn FnMut(&TuneProgress<'_>) -> ControlFlow<()>|
     -> Result<()> {
        *best_ndcg = best_ndcg.max(trial.ndcg);
        trials.push(trial);
        let report = TuneProgress {
            trials: trials.len(),
            max_trials: config.max_trials,
            seconds: started.elapsed().as_secs_f64(),
            budget_seconds: config.budget_seconds,
            last: trials.last().expect("just pushed"),
            best_ndcg: *best_ndcg,
        };
        match progress(&report) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Error::Cancelled),
        }
    };

    let als_trial = |params: &AlsParams, first: bool| -> Result<Option<(Trial, AlsModel)>> {
        let t = web_time::Instant::now();
        let fitted = params.fit_matrix(&validation.train, |_| match !first && search_over() {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        });
        let model = match fitted {
            Ok(model) => model,
            // Cut short by the budget: not a result.
            Err(Error::Cancelled) => return Ok(None),
            Err(e) => return Err(e),
        };
        let ndcg = score_split(&validation, &model)["ndcg@10"];
        Ok(Some((Trial::of_als("als", params, ndcg, t), model)))
    };

    // Trial one: the starting parameters, whatever the budget.
    let mut queue: Vec<Candidate> = vec![Candidate::Als(eval.als.clone())];
    if use_ease {
        queue.extend(
            EASE_LAMBDAS
                .iter()
                .map(|&l| Candidate::Ease(eval.ease.clone().regularization(l))),
        );
    }
    queue.extend(plan.into_iter().map(Candidate::Als));
    for (n, candidate) in queue.into_iter().enumerate() {
        if trials.len() >= single_trials || (n > 0 && search_over()) {
            break;
        }
        match candidate {
            Candidate::Als(params) => {
                let Some((trial, model)) = als_trial(&params, n == 0)? else {
                    break;
                };
                let ndcg = trial.ndcg;
                record(trial, &mut trials, &mut best_ndcg, &mut progress)?;
                als_tried.push((ndcg, params.clone()));
                if best_als.as_ref().is_none_or(|b| ndcg > b.0) {
                    best_als = Some((ndcg, params, model));
                }
            }
            Candidate::Ease(params) => {
                let t = web_time::Instant::now();
                let model = params.fit(&validation.train)?;
                let ndcg = score_split(&validation, &model)["ndcg@10"];
                let trial = Trial {
                    model: "ease".into(),
                    factors: None,
                    regularization: None,
                    alpha: None,
                    iterations: None,
                    ease_lambda: Some(params.regularization),
                    weights: None,
                    history_half_life: None,
                    ndcg,
                    seconds: t.elapsed().as_secs_f64(),
                };
                record(trial, &mut trials, &mut best_ndcg, &mut progress)?;
                if best_ease.as_ref().is_none_or(|b| ndcg > b.0) {
                    best_ease = Some((ndcg, params, model));
                }
            }
        }
    }
    let (als_ndcg, _, als_model) = best_als.expect("the first trial always runs");

    // The blend of the best of each, when there is a slot for it.
    let mut blend_ndcg = f64::NEG_INFINITY;
    if config.max_trials > trials.len() {
        let t = web_time::Instant::now();
        let knn = ItemKnn::fit(&validation.train, eval.knn_neighbours)?;
        let popularity = Popularity::fit(&validation.train);
        let mut names = vec!["als"];
        let mut scorers: Vec<&dyn Scorer> = vec![&als_model];
        if let Some((_, _, ease)) = &best_ease {
            names.push("ease");
            scorers.push(ease);
        }
        names.extend(["item-knn", "popularity"]);
        scorers.extend([&knn as &dyn Scorer, &popularity]);
        let weights = search_weights(&validation, &names, &scorers)?;
        // Scored like every other trial: the whole catalogue, every customer.
        let blend = Weighted(
            scorers
                .iter()
                .zip(&weights.weights)
                .map(|(s, (_, w))| (*s, *w))
                .collect(),
        );
        blend_ndcg = score_split(&validation, &blend)["ndcg@10"];
        let trial = Trial {
            model: "blend".into(),
            factors: None,
            regularization: None,
            alpha: None,
            iterations: None,
            ease_lambda: None,
            weights: Some(weights.weights),
            history_half_life: None,
            ndcg: blend_ndcg,
            seconds: t.elapsed().as_secs_f64(),
        };
        record(trial, &mut trials, &mut best_ndcg, &mut progress)?;
    }
    let ease_ndcg = best_ease.as_ref().map_or(f64::NEG_INFINITY, |b| b.0);
    let best = if blend_ndcg > als_ndcg.max(ease_ndcg) {
        "blend"
    } else if ease_ndcg > als_ndcg {
        "ease"
    } else {
        "als"
    };
    drop(als_model);

    // The served path: the starting parameters, then the best by the protocol.
    als_tried.sort_by(|a, b| b.0.total_cmp(&a.0)); // stable: ties keep their order
    let mut checks = vec![eval.als.clone()];
    for (_, params) in als_tried {
        if checks.len() > SERVE_CHECKS {
            break;
        }
        if !checks.contains(&params) {
            checks.push(params);
        }
    }
    let catalog = eval.catalog_for(log);
    let settings: Vec<ServeSettings> = std::iter::once(None)
        .chain(HISTORY_HALF_LIVES.map(Some))
        .map(|history_half_life| ServeSettings {
            history_half_life,
            ..ServeSettings::default()
        })
        .collect();
    let mut served: Option<(f64, AlsParams, ServeSettings)> = None;
    let mut serve = |params: &AlsParams,
                     trials: &mut Vec<Trial>,
                     served: &mut Option<(f64, AlsParams, ServeSettings)>|
     -> Result<()> {
        let t = web_time::Instant::now();
        let config = eval.clone().als(params.clone());
        let results = super::evaluate_recommend_settings(log, &catalog, &config, &settings)?;
        for (result, setting) in results.iter().zip(&settings) {
            let ndcg = result.metrics["ndcg@10"];
            let mut trial = Trial::of_als("recommend", params, ndcg, t);
            trial.history_half_life = setting.history_half_life.map(f64::from);
            // `best_ndcg` stays the protocol's: served lists are another measure.
            record(trial, trials, &mut best_ndcg.clone(), &mut progress)?;
            if served.as_ref().is_none_or(|b| ndcg > b.0) {
                *served = Some((ndcg, params.clone(), setting.clone()));
            }
        }
        Ok(())
    };
    let mut tried = Vec::new();
    for (n, params) in checks.into_iter().enumerate() {
        if n >= 2 && over() {
            break;
        }
        serve(&params, &mut trials, &mut served)?;
        tried.push(params);
    }
    // Then a coordinate search on the served path itself, from its best: the
    // served matrix (every kind at its weight, decayed) is not the protocol's
    // positives, and the λ that suits one can be ten times the other's (the
    // storefront serves best at λ 100, MovieLens at 10).
    // First improvement: the search moves as soon as a setting serves better,
    // so a short budget still gets somewhere.
    'search: while let Some((from_ndcg, from, _)) = served.clone() {
        for next in served_neighbours(&from) {
            if over() {
                break 'search;
            }
            if tried.contains(&next) {
                continue;
            }
            serve(&next, &mut trials, &mut served)?;
            tried.push(next);
            if served.as_ref().is_some_and(|b| b.0 > from_ndcg) {
                continue 'search;
            }
        }
        break;
    }
    let (_, als_params, serve_settings) =
        served.expect("the starting parameters are always checked");
    let interactions = Interactions::build(log, &InteractionConfig::default())?;
    let model = als_params.fit(&interactions)?;
    Ok(Tuned {
        model,
        customer_ids: interactions.identities().names().to_vec(),
        als: als_params,
        settings: serve_settings,
        ease: best_ease.map(|b| b.1),
        best: best.into(),
        trials,
    })
}

/// The served search's moves from `p`: λ × 3 or ÷ 3, factors × 2 or ÷ 2, α × 2
/// or ÷ 2, those that are valid parameters.
fn served_neighbours(p: &AlsParams) -> Vec<AlsParams> {
    let mut out = vec![
        p.clone().regularization(p.regularization * 3.0),
        p.clone().regularization(p.regularization / 3.0),
        p.clone().factors(p.factors / 2),
        p.clone().factors(p.factors * 2),
        p.clone().alpha(p.alpha * 2.0),
        p.clone().alpha(p.alpha / 2.0),
    ];
    out.retain(|n| n.factors >= 2 && n.factors <= 256 && n.validate().is_ok());
    out
}

enum Candidate {
    Als(AlsParams),
    Ease(EaseParams),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{synthetic_storefront, Size};

    fn small_grid() -> TuneConfig {
        let mut config = TuneConfig::default()
            .budget_seconds(600.0)
            .seed(3)
            .eval(EvalConfig::default().positive_kinds(["purchase"]));
        config.factors = vec![8, 16];
        config.regularization = vec![1.0];
        config.alpha = vec![1.0, 2.0];
        config.iterations = vec![5];
        config
    }

    #[test]
    fn tries_every_candidate_reports_each_and_is_deterministic() {
        let shop = synthetic_storefront(2, Size::Tiny).unwrap();
        let config = small_grid();
        let mut seen = Vec::new();
        let a = tune(&shop.log, &config, |p| {
            seen.push(p.trials);
            ControlFlow::Continue(())
        })
        .unwrap();
        // Defaults, five EASE λ, four grid points, the blend, then the
        // defaults and the three best grid points on the served path, then
        // the served search's moves, each without a history half-life and
        // with each of the four.
        let halves = 1 + HISTORY_HALF_LIVES.len();
        assert_eq!((a.trials.len() - 11) % halves, 0, "{:?}", a.trials);
        assert!(
            a.trials.len() > 1 + 5 + 4 + 1 + 4 * halves,
            "no served search"
        );
        assert_eq!(seen, (1..=a.trials.len()).collect::<Vec<_>>());
        let models: Vec<&str> = a.trials.iter().map(|t| t.model.as_str()).collect();
        assert_eq!(models[0], "als");
        assert_eq!(&models[1..6], &["ease"; 5]);
        assert_eq!(models[10], "blend");
        assert!(models[11..].iter().all(|m| *m == "recommend"));
        let key = |t: &Trial| (t.factors, t.alpha, t.regularization, t.iterations);
        let served: Vec<&[Trial]> = a.trials[11..].chunks(halves).collect();
        for check in &served {
            assert!(check.iter().all(|t| key(t) == key(&check[0])));
            let tried: Vec<Option<f64>> = check.iter().map(|t| t.history_half_life).collect();
            let mut expected = vec![None];
            expected.extend(HISTORY_HALF_LIVES.map(|h| Some(f64::from(h))));
            assert_eq!(tried, expected);
        }
        assert_eq!(key(&served[0][0]), key(&a.trials[0]), "the defaults first");
        // Then the best three ALS rows by the protocol, best first.
        let mut als: Vec<&Trial> = a.trials.iter().filter(|t| t.model == "als").collect();
        als.sort_by(|x, y| y.ndcg.total_cmp(&x.ndcg));
        let rest: Vec<_> = als
            .iter()
            .map(|t| key(t))
            .filter(|k| *k != key(&a.trials[0]))
            .take(3)
            .collect();
        assert_eq!(
            served[1..4].iter().map(|c| key(&c[0])).collect::<Vec<_>>(),
            rest
        );
        // The served search tried each setting once and stopped at a local
        // best: with the budget to spare, every move from the returned
        // parameters was tried.
        let mut keys: Vec<_> = served.iter().map(|c| key(&c[0])).collect();
        for n in served_neighbours(&a.als) {
            let k = (
                Some(n.factors),
                Some(f64::from(n.alpha)),
                Some(f64::from(n.regularization)),
                Some(n.iterations),
            );
            assert!(keys.contains(&k), "{k:?} not tried");
        }
        keys.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
        keys.dedup();
        assert_eq!(keys.len(), served.len(), "a setting served twice");
        // The returned parameters are those of the best served row.
        let best = a.trials[11..]
            .iter()
            .max_by(|x, y| x.ndcg.total_cmp(&y.ndcg))
            .unwrap();
        assert_eq!(
            (Some(a.als.factors), Some(a.als.iterations)),
            (best.factors, best.iterations)
        );
        assert_eq!(Some(f64::from(a.als.alpha)), best.alpha);
        assert_eq!(Some(f64::from(a.als.regularization)), best.regularization);
        assert_eq!(
            a.settings.history_half_life.map(f64::from),
            best.history_half_life
        );
        assert_eq!(
            a.settings,
            ServeSettings {
                history_half_life: a.settings.history_half_life,
                ..ServeSettings::default()
            }
        );
        assert_eq!(a.model.users.rows(), a.customer_ids.len());
        let b = tune(&shop.log, &config, |_| ControlFlow::Continue(())).unwrap();
        let strip = |t: &[Trial]| {
            t.iter()
                .map(|t| (t.model.clone(), t.factors, t.alpha, t.ndcg.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&a.trials), strip(&b.trials));
        assert_eq!(a.model, b.model);
        assert_eq!(a.settings, b.settings);
    }

    #[test]
    fn the_budget_and_the_trial_count_stop_the_search_and_cancel_is_an_error() {
        let shop = synthetic_storefront(2, Size::Tiny).unwrap();
        let config = small_grid().max_trials(3);
        let t = tune(&shop.log, &config, |_| ControlFlow::Continue(())).unwrap();
        // Two search trials and the blend; one ALS setting tried, so one served
        // check, then the served search (which `max_trials` does not count).
        let models: Vec<&str> = t.trials.iter().map(|t| t.model.as_str()).collect();
        assert_eq!(models[2], "blend");
        assert!(models[3..].iter().all(|m| *m == "recommend"));
        assert!(models.len() > 3 + 1 + HISTORY_HALF_LIVES.len());
        // A budget already spent after the first trial: that trial, the blend
        // and the served check of the starting parameters.
        let tiny = small_grid().budget_seconds(1e-9);
        let t = tune(&shop.log, &tiny, |_| ControlFlow::Continue(())).unwrap();
        let models: Vec<&str> = t.trials.iter().map(|t| t.model.as_str()).collect();
        assert_eq!(models[..2], ["als", "blend"]);
        assert_eq!(models[2..], ["recommend"; 1 + HISTORY_HALF_LIVES.len()]);
        let cancelled = tune(&shop.log, &config, |_| ControlFlow::Break(()));
        assert!(matches!(cancelled, Err(Error::Cancelled)));
    }

    #[test]
    fn hostile_settings_are_refused_before_any_work() {
        let shop = synthetic_storefront(2, Size::Tiny).unwrap();
        let run = |c: TuneConfig| tune(&shop.log, &c, |_| ControlFlow::Continue(()));
        for budget in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert!(matches!(
                run(small_grid().budget_seconds(budget)),
                Err(Error::InvalidParam { .. })
            ));
        }
        for n in [0, MAX_TRIALS + 1] {
            assert!(matches!(
                run(small_grid().max_trials(n)),
                Err(Error::InvalidParam { .. })
            ));
        }
        let mut huge = small_grid();
        huge.factors = vec![8; 1 << 20];
        huge.alpha = vec![1.0; 1 << 20];
        assert!(matches!(run(huge), Err(Error::InvalidParam { .. })));
        let mut bad = small_grid();
        bad.factors = vec![0];
        assert!(matches!(run(bad), Err(Error::InvalidParam { .. })));
    }
}
