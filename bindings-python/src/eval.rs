//! Offline evaluation: the baselines, and cold start from item attributes.

use crate::als::PyAls;
use crate::args;
use crate::convert::to_python;
use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::pool;
use maitre::catalog::Catalog;
use maitre::eval::{
    evaluate as core_evaluate, evaluate_cold_start as core_cold_start, ColdStartConfig, EvalConfig,
    Split,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;

/// The settings both evaluations share.
fn config(
    als: Option<PyRef<'_, PyAls>>,
    positive_kinds: Option<Vec<String>>,
    min_value: Option<f64>,
) -> EvalConfig {
    // min_value arrives checked for type (args::opt_real); the core checks the rest.
    let mut config = EvalConfig::default();
    if let Some(als) = als {
        config = config.als(als.core_params().clone());
    }
    if let Some(kinds) = positive_kinds {
        config = config.positive_kinds(kinds);
    }
    if let Some(value) = min_value {
        config = config.min_value(value);
    }
    config
}

/// Splits the log's positives, fits each model on the training part and scores
/// the held-out part.
///
/// Parameters:
///     log: the EventLog.
///     split: "leave-last-out" (the last positive of each customer with at least
///         5), "temporal" (cut at the 80th percentile of time) or "random" (20 %, seed 0).
///     models: model names: "popularity", "item-knn", "als" (ALS on the
///         positives alone, the protocol's model) and "recommend" (the
///         recommender as it serves: ALS on every event kind, the default
///         rules, lists from ``Recommender.recommend``).
///     als: the ALS hyper-parameters of "als" and "recommend" (default ``maitre.ALS()``).
///     items: the catalogue "recommend" serves from, as columns
///         (``Recommender.build``'s ``items``); None: every item of the log,
///         as a product in stock.
///     positive_kinds: kinds that count as positive; None: every kind with a
///         positive weight.
///     min_value: minimum value of a positive (e.g. 4.0 for ratings of 4 stars or more).
///     dataset: a name for the report (default "events").
///
/// Returns a dict: dataset, split, users (tested customers), items, and results,
/// a list with one dict per model: model, hr@10, recall@10, recall@20, ndcg@10,
/// mrr@10, coverage@10, ... and fit_seconds.
///
/// Raises InvalidParamError for an unknown split or model, NotEnoughDataError
/// when the split leaves nothing to test.
///
/// Example:
///     >>> log = maitre.synthetic_storefront(seed=3, size="tiny")
///     >>> report = maitre.evaluate(log, positive_kinds=["purchase"])
///     >>> report["results"][0]["model"]
///     'popularity'
#[pyfunction]
#[pyo3(signature = (log, split = "leave-last-out", models = vec!["popularity".to_owned()],
    positive_kinds = None, min_value = None, dataset = None, als = None, items = None))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    split: &str,
    models: Vec<String>,
    positive_kinds: Option<Vec<String>>,
    min_value: Option<&Bound<'py, PyAny>>,
    dataset: Option<String>,
    als: Option<PyRef<'py, PyAls>>,
    items: Option<Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let min_value = args::opt_real("min_value", min_value)?;
    let mut config = config(als, positive_kinds, min_value)
        .split(split.parse::<Split>().map_err(to_py)?)
        .models(models);
    if let Some(name) = dataset {
        config = config.dataset(name);
    }
    let items = items
        .map(|items| crate::recommend::items(&items))
        .transpose()?;
    let log: &PyEventLog = &log;
    let report = pool::detach_locked(
        py,
        || log.read(),
        |log| match items {
            Some(items) => {
                let mut log = (**log).clone();
                let catalog = Catalog::aligned(&mut log, items)?;
                core_evaluate(&log, &config.catalog(catalog))
            }
            None => core_evaluate(log, &config),
        },
    )?
    .map_err(to_py)?;
    to_python(py, &report)
}

/// Holds out a share of the items and ranks them for the customers who
/// bought them, from attributes alone (see `maitre.evaluate_cold_start`).
///
/// `items` is a dict of columns as `Recommender.build` takes. Returns a dict:
/// cold_items, chance, users, results (one dict per ranker), recall_sd and
/// draws.
#[pyfunction]
#[pyo3(signature = (log, items, als = None, positive_kinds = None, min_value = None,
    fraction = None, draws = None, seed = None, segments = None))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_cold_start<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    items: Bound<'py, PyDict>,
    als: Option<PyRef<'py, PyAls>>,
    positive_kinds: Option<Vec<String>>,
    min_value: Option<&Bound<'py, PyAny>>,
    fraction: Option<&Bound<'py, PyAny>>,
    draws: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    segments: Option<BTreeMap<String, Bound<'py, PyAny>>>,
) -> PyResult<Bound<'py, PyAny>> {
    let min_value = args::opt_real("min_value", min_value)?;
    let defaults = ColdStartConfig::default();
    let fraction = args::opt_real("fraction", fraction)?.unwrap_or(defaults.fraction);
    let draws = args::opt_count("draws", draws)?.unwrap_or(defaults.draws);
    let seed = match seed.filter(|s| !s.is_none()) {
        Some(s) => args::seed("seed", s)?,
        None => defaults.seed,
    };
    let segments = segments
        .map(|s| {
            s.into_iter()
                .map(|(id, segment)| Ok((id, args::count("segments", &segment)?)))
                .collect::<PyResult<BTreeMap<_, _>>>()
        })
        .transpose()?;
    let items = crate::recommend::items(&items)?;
    let config = config(als, positive_kinds, min_value);
    let cold = ColdStartConfig {
        fraction,
        seed,
        draws,
        segments,
        ..ColdStartConfig::default()
    };
    let log: &PyEventLog = &log;
    let report = pool::detach_locked(
        py,
        || log.read(),
        |log| {
            let mut log = (**log).clone();
            let catalog = Catalog::aligned(&mut log, items)?;
            core_cold_start(&log, &catalog, &config, &cold)
        },
    )?
    .map_err(to_py)?;
    to_python(py, &report)
}
