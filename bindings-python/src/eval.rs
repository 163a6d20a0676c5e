//! Offline evaluation: the baselines, and cold start from item attributes.

use crate::als::{PyAls, PyAlsModel};
use crate::args;
use crate::convert::to_python;
use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::pool;
use crate::progress::Progress;
use maitre::catalog::Catalog;
use maitre::eval::{
    evaluate as core_evaluate, evaluate_cold_start as core_cold_start, tune as core_tune,
    ColdStartConfig, EvalConfig, Split, TuneConfig,
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
    fraction = None, draws = None, seed = None, segments = None, full_catalogue = false))]
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
    full_catalogue: bool,
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
        full_catalogue,
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

/// Searches ALS's factors, regularisation, alpha and sweeps, EASE's lambda
/// and a blend of them on a validation split of ``log``, within a time budget,
/// checks the starting and the best ALS settings on the served path, and
/// returns the one that served best refitted on every event with the table
/// of trials (see ``maitre.tune``).
///
/// Parameters:
///     log: the EventLog.
///     budget: seconds (checked between trials and during each ALS fit; the
///         first trial, the final blend and two served checks always run).
///     progress: None, or a callable that receives a dict (trials,
///         max_trials, seconds, budget, model, ndcg, best_ndcg) after every
///         trial and may return False to stop (CancelledError).
///     split, positive_kinds, min_value: the validation protocol, as for ``evaluate``.
///     seed: shuffles the order of the ALS grid.
///     max_trials: the most search trials, the blend included.
///     als: the starting parameters (trial one), default ``maitre.ALS()``.
///     items: the catalogue the served checks recommend from, as columns
///         (``Recommender.build``'s ``items``); None: every item of the log,
///         as a product. Its items without events are left out.
///
/// Returns (AlsModel, list of trial dicts, the best model on validation:
/// "als", "ease" or "blend", the serving settings it served best with). The
/// same seed, data and number of trials give the same result on any thread
/// count. The GIL is released while searching.
///
/// Example:
///     >>> log = maitre.synthetic_storefront(seed=3, size="tiny")
///     >>> model, trials, best, settings = maitre._maitre.tune(log, budget=60, max_trials=3, positive_kinds=["purchase"])
///     >>> [t["model"] for t in trials][:4], {t["model"] for t in trials[3:]}
///     (['als', 'ease', 'blend', 'recommend'], {'recommend'})
///     >>> sorted(settings)
///     ['context_weight', 'history_half_life', 'popular_per_context', 'session_weight']
#[pyfunction]
#[pyo3(signature = (log, budget = None, progress = None, split = "leave-last-out",
    positive_kinds = None, min_value = None, seed = None, max_trials = None, als = None,
    items = None))]
#[allow(clippy::too_many_arguments)]
pub fn tune<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    budget: Option<&Bound<'py, PyAny>>,
    progress: Option<Py<PyAny>>,
    split: &str,
    positive_kinds: Option<Vec<String>>,
    min_value: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    max_trials: Option<&Bound<'py, PyAny>>,
    als: Option<PyRef<'py, PyAls>>,
    items: Option<Bound<'py, PyDict>>,
) -> PyResult<(PyAlsModel, Bound<'py, PyAny>, String, Bound<'py, PyAny>)> {
    let min_value = args::opt_real("min_value", min_value)?;
    let eval = config(als, positive_kinds, min_value).split(split.parse::<Split>().map_err(to_py)?);
    let seed = match seed.filter(|s| !s.is_none()) {
        Some(s) => args::seed("seed", s)?,
        None => 0,
    };
    let mut tune_config = TuneConfig::default().eval(eval).seed(seed);
    if let Some(seconds) = args::opt_real("budget", budget)? {
        tune_config = tune_config.budget_seconds(seconds);
    }
    if let Some(n) = args::opt_count("max_trials", max_trials)? {
        tune_config = tune_config.max_trials(n);
    }
    let items = items
        .map(|items| crate::recommend::items(&items))
        .transpose()?;
    let log: &PyEventLog = &log;
    let mut progress = Progress::new(progress);
    let result = pool::detach_locked(
        py,
        || log.read(),
        |log| {
            // The served checks recommend from the catalogue. Its items without
            // events are left out: nothing about them can be learnt or held
            // out, and aligning them would add rows to the returned model.
            let with_catalog = match items {
                Some(items) => {
                    let known: Vec<_> = items
                        .into_iter()
                        .filter(|it| log.items().get(&it.id).is_some())
                        .collect();
                    let mut aligned = (**log).clone();
                    let catalog = Catalog::aligned(&mut aligned, known)?;
                    tune_config.eval = tune_config.eval.clone().catalog(catalog);
                    Some(aligned)
                }
                None => None,
            };
            let log = with_catalog.as_ref().unwrap_or(log);
            let tuned = core_tune(log, &tune_config, |report| {
                progress.report(|info| {
                    info.set_item("trials", report.trials)?;
                    info.set_item("max_trials", report.max_trials)?;
                    info.set_item("seconds", report.seconds)?;
                    info.set_item("budget", report.budget_seconds)?;
                    info.set_item("model", &report.last.model)?;
                    info.set_item("ndcg", report.last.ndcg)?;
                    info.set_item("best_ndcg", report.best_ndcg)
                })
            })?;
            Ok::<_, maitre::Error>((tuned, log.items().names().to_vec()))
        },
    )?;
    let (tuned, item_ids) = progress.finish(result)?;
    let trials = to_python(py, &tuned.trials)?;
    let settings = to_python(py, &tuned.settings)?;
    Ok((
        PyAlsModel::with_ids(tuned.model, tuned.customer_ids, item_ids),
        trials,
        tuned.best,
        settings,
    ))
}
