//! Offline evaluation: the measuring stick every model is judged by.
//!
//! [`Positives`] picks the positive events of a log; a [`Split`] holds some out;
//! a [`Scorer`] scores the whole catalogue for each tested customer; each
//! customer's training items are excluded and the top of the ranking is scored
//! with [`metrics::at_k`]. Metrics are averaged over tested customers;
//! coverage@k is the share of the catalogue that appears in any top-k list.
//!
//! Depends on: `events`, `identity` (through the log), `interactions` (the CSR
//! type) and `embed` (to fit models by name). Models never depend on this
//! module: they are scored through the [`Scorer`] trait, implemented here.

pub mod baselines;
#[cfg(feature = "ease")]
mod blend;
mod cold;
mod context;
pub mod metrics;
mod serve;
mod split;
#[cfg(feature = "ease")]
mod tune;

#[cfg(feature = "ease")]
pub use blend::{Blend, BlendWeights, CANDIDATES, COMPONENTS, MAX_VALIDATION_USERS, WEIGHT_GRID};
pub use cold::{evaluate_cold_start, ColdStartConfig, ColdStartReport, MAX_DRAWS};
pub use context::{evaluate_context, ContextReport, BLEND_GRID, SESSION_GAP};
pub use serve::{evaluate_recommend, evaluate_recommend_settings, training_log};
pub use split::{lower_quantile, Positives, Split, SplitData};
#[cfg(feature = "ease")]
pub use tune::{
    tune, Trial, TuneConfig, TuneProgress, Tuned, EASE_LAMBDAS, MAX_BUDGET_SECONDS, MAX_TRIALS,
};

use crate::catalog::{Catalog, Item};
use crate::embed::{AlsModel, AlsParams};
#[cfg(feature = "ease")]
use crate::embed::{EaseModel, EaseParams};
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::interactions::Csr;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// Anything that scores every catalogue item for a customer from their history.
pub trait Scorer: Sync {
    /// Writes one score per catalogue item into `out` (higher is better) for
    /// customer `user`, whose training items are `history`.
    fn score(&self, user: u32, history: &[u32], out: &mut [f32]);
}

#[cfg(feature = "ease")]
impl Scorer for EaseModel {
    fn score(&self, _user: u32, history: &[u32], out: &mut [f32]) {
        let history: Vec<(u32, f32)> = history.iter().map(|&i| (i, 1.0)).collect();
        self.scores(&history, out);
    }
}

impl Scorer for AlsModel {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        self.items.scores(self.users.row(user), out);
    }
}

/// The models [`evaluate`] knows by name. `recommend` is the recommender as
/// it serves (see [`evaluate_recommend`]); `blend` is [`Blend`] with weights
/// chosen on validation (feature `ease`).
pub const MODELS: [&str; 6] = [
    "popularity",
    "item-knn",
    "als",
    "ease",
    "blend",
    "recommend",
];

/// The cut-offs every evaluation reports.
pub const CUTOFFS: [usize; 2] = [10, 20];

/// What to evaluate and how.
///
/// Defaults: leave-last-out split, every positive-weight kind is a positive, no
/// value threshold, models `popularity` and `item-knn` (100 neighbours); `als`
/// runs with [`EvalConfig::als`] when asked for.
///
/// ```
/// use maitre::eval::{EvalConfig, Split};
/// let config = EvalConfig::default()
///     .split("temporal".parse::<Split>()?)
///     .positive_kinds(["rating"])
///     .min_value(4.0)
///     .models(["popularity"]);
/// assert_eq!(config.models, vec!["popularity".to_string()]);
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// A name for the report.
    pub dataset: String,
    pub split: Split,
    /// Kinds that count as positive; `None`: every kind with a positive weight.
    pub positive_kinds: Option<Vec<String>>,
    /// Minimum value (e.g. rating ≥ 4) for a positive.
    pub min_value: Option<f64>,
    /// Models to run, by name: `popularity`, `item-knn`, `als`, `ease`, `blend`, `recommend`.
    pub models: Vec<String>,
    /// Neighbours per item for `item-knn`.
    pub knn_neighbours: usize,
    /// Parameters of `als`, and of the ALS inside `recommend`.
    pub als: AlsParams,
    /// Parameters of `ease` (feature `ease`, on by default).
    #[cfg(feature = "ease")]
    pub ease: EaseParams,
    /// The catalogue `recommend` serves from, aligned with the log; `None`:
    /// every item of the log, as a product in stock.
    pub catalog: Option<Catalog>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            dataset: "events".into(),
            split: Split::default(),
            positive_kinds: None,
            min_value: None,
            models: vec!["popularity".into(), "item-knn".into()],
            knn_neighbours: baselines::ItemKnn::DEFAULT_NEIGHBOURS,
            als: AlsParams::default(),
            #[cfg(feature = "ease")]
            ease: EaseParams::default(),
            catalog: None,
        }
    }
}

impl EvalConfig {
    /// Names the data set in the report.
    #[must_use]
    pub fn dataset(mut self, name: impl Into<String>) -> Self {
        self.dataset = name.into();
        self
    }

    /// Sets the split.
    #[must_use]
    pub fn split(mut self, split: Split) -> Self {
        self.split = split;
        self
    }

    /// Sets the kinds that count as positive.
    #[must_use]
    pub fn positive_kinds<S: Into<String>>(mut self, kinds: impl IntoIterator<Item = S>) -> Self {
        self.positive_kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the parameters of `ease`.
    #[cfg(feature = "ease")]
    #[must_use]
    pub fn ease(mut self, params: EaseParams) -> Self {
        self.ease = params;
        self
    }

    /// Sets the catalogue `recommend` serves from (aligned with the log).
    #[must_use]
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Sets the minimum value of a positive.
    #[must_use]
    pub fn min_value(mut self, value: f64) -> Self {
        self.min_value = Some(value);
        self
    }

    /// The catalogue the served path is evaluated with: `catalog`, or every
    /// item of `log` as a plain product.
    pub(crate) fn catalog_for(&self, log: &EventLog) -> Catalog {
        match &self.catalog {
            Some(catalog) => catalog.clone(),
            None => Catalog::from_aligned(log.items().names().iter().map(Item::new).collect()),
        }
    }

    /// Sets the parameters of `als`.
    #[must_use]
    pub fn als(mut self, params: AlsParams) -> Self {
        self.als = params;
        self
    }

    /// Sets the models to run.
    #[must_use]
    pub fn models<S: Into<String>>(mut self, models: impl IntoIterator<Item = S>) -> Self {
        self.models = models.into_iter().map(Into::into).collect();
        self
    }
}

/// One model's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelResult {
    pub model: String,
    /// `hr@k`, `precision@k`, `recall@k`, `ndcg@k`, `map@k`, `mrr@k`, `coverage@k` for k in [`CUTOFFS`].
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
    pub fit_seconds: f64,
}

/// The evaluate example's JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub dataset: String,
    pub split: String,
    /// Tested customers.
    pub users: usize,
    /// Catalogue size.
    pub items: usize,
    pub results: Vec<ModelResult>,
    /// The weights `blend` chose on validation, when it ran.
    #[cfg(feature = "ease")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blend: Option<BlendWeights>,
}

/// Splits the log's positives and evaluates each configured model.
///
/// ```
/// use maitre::datasets::{synthetic_storefront, Size};
/// use maitre::eval::{evaluate, EvalConfig};
/// let shop = synthetic_storefront(3, Size::Tiny)?;
/// let report = evaluate(&shop.log, &EvalConfig::default().positive_kinds(["purchase"]))?;
/// let pop = &report.results[0];
/// assert_eq!(pop.model, "popularity");
/// assert!((0.0..=1.0).contains(&pop.metrics["ndcg@10"]));
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn evaluate(log: &EventLog, config: &EvalConfig) -> Result<EvalReport> {
    for model in &config.models {
        if !MODELS.contains(&model.as_str()) {
            return Err(Error::param(
                "models",
                format!("unknown model {model:?}: expected one of {MODELS:?}"),
            ));
        }
    }
    let positives = Positives::from_log(log, config.positive_kinds.as_deref(), config.min_value)?;
    let split = config.split.apply(&positives, log.timestamp_column())?;
    let mut results = Vec::new();
    #[cfg(feature = "ease")]
    let mut blend_weights = None;
    for model in &config.models {
        if model == "recommend" {
            results.push(evaluate_recommend(log, &config.catalog_for(log), config)?);
            continue;
        }
        let started = web_time::Instant::now();
        let scorer: Box<dyn Scorer> = match model.as_str() {
            #[cfg(feature = "ease")]
            "blend" => {
                let (blend, weights) = Blend::fit_validated(log, config, &split)?;
                blend_weights = Some(weights);
                Box::new(blend)
            }
            name => fit_scorer(name, &split.train, config)?,
        };
        let fit_seconds = started.elapsed().as_secs_f64();
        results.push(ModelResult {
            model: model.clone(),
            metrics: score_split(&split, scorer.as_ref()),
            fit_seconds,
        });
    }
    Ok(EvalReport {
        dataset: config.dataset.clone(),
        split: config.split.name().into(),
        users: split.test.len(),
        items: split.n_items(),
        results,
        #[cfg(feature = "ease")]
        blend: blend_weights,
    })
}

/// Fits the model `name` (any of [`MODELS`] but `recommend` and `blend`) on
/// a customers × items matrix of positives.
pub(crate) fn fit_scorer(name: &str, train: &Csr, config: &EvalConfig) -> Result<Box<dyn Scorer>> {
    Ok(match name {
        "popularity" => Box::new(baselines::Popularity::fit(train)),
        "item-knn" => Box::new(baselines::ItemKnn::fit(train, config.knn_neighbours)?),
        #[cfg(feature = "ease")]
        "ease" => Box::new(config.ease.fit(train)?),
        "als" => Box::new(
            config
                .als
                .fit_matrix(train, |_| std::ops::ControlFlow::Continue(()))?,
        ),
        other => {
            return Err(Error::param(
                "models",
                format!("{other:?} needs maitre's `ease` feature (left out of the browser build)"),
            ))
        }
    })
}

/// Ranks the catalogue for every tested customer (in parallel), excluding their
/// training items, and averages the metrics at each of [`CUTOFFS`].
pub fn score_split(split: &SplitData, scorer: &dyn Scorer) -> BTreeMap<String, f64> {
    let n_items = split.n_items();
    let max_k = *CUTOFFS.iter().max().expect("cut-offs");
    let rankings: Vec<Vec<u32>> = split
        .test
        .par_iter()
        .map_init(
            || vec![0f32; n_items],
            |scores, (user, _)| {
                let history = split.train.row(*user).0;
                scorer.score(*user, history, scores);
                for &i in history {
                    scores[i as usize] = f32::NEG_INFINITY;
                }
                metrics::top_k(scores, max_k)
            },
        )
        .collect();
    let n = rankings.len() as f64;
    let mut out = BTreeMap::new();
    for k in CUTOFFS {
        let mut sum = metrics::AtK::default();
        let mut covered = vec![false; n_items];
        for (ranked, (_, held)) in rankings.iter().zip(&split.test) {
            let m = metrics::at_k(ranked, held, k);
            sum.hit += m.hit;
            sum.precision += m.precision;
            sum.recall += m.recall;
            sum.ndcg += m.ndcg;
            sum.ap += m.ap;
            sum.rr += m.rr;
            for &i in ranked.iter().take(k) {
                covered[i as usize] = true;
            }
        }
        let coverage = covered.iter().filter(|&&c| c).count() as f64 / n_items.max(1) as f64;
        for (name, total) in [
            ("hr", sum.hit),
            ("precision", sum.precision),
            ("recall", sum.recall),
            ("ndcg", sum.ndcg),
            ("map", sum.ap),
            ("mrr", sum.rr),
        ] {
            out.insert(format!("{name}@{k}"), total / n);
        }
        out.insert(format!("coverage@{k}"), coverage);
    }
    out
}
