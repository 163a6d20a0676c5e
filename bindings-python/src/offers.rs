//! `NextBestOffer` and `evaluate_policy`: next best offer from Python.
//!
//! The Python wrapper (`maitre.NextBestOffer` in `python/maitre/_offers.py`)
//! turns rows, DataFrames and keyword arguments into the core's serde types
//! as JSON (offers, contact policy, bandit parameters, the decision request),
//! parsed strictly here (`convert::strict_json`: a misspelt key is an
//! `InvalidParamError` naming its path); context vectors cross as numpy
//! arrays. Each method makes one core call with the GIL released and returns
//! the core's result as plain dicts and lists.
//!
//! The engine is `Send + Sync` behind a `&self` API with its own short locks,
//! so it is held directly (no outer lock) and its calls run on the calling
//! thread, never in the rayon pool: a pool thread must never wait for a lock
//! (see `pool::detach_locked`), and no offers call uses rayon.

use crate::args;
use crate::convert::{strict_json, to_python};
use crate::errors::to_py;
use crate::events::PyEventLog;
use maitre::offers::{
    evaluate_policy as core_evaluate_policy, BanditParams, ContactPolicy, CustomerState, Decision,
    Exclusion, Logged, NextBestOffer, Offer, OfferRequest, OfferSet, OpeParams,
};
use maitre::Error;
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

/// The native next-best-offer engine. Use ``maitre.NextBestOffer``, which
/// wraps it with rows, DataFrames, keyword arguments and pickling.
#[pyclass(name = "NextBestOffer", module = "maitre._maitre", frozen)]
pub struct PyNextBestOffer {
    pub(crate) inner: NextBestOffer,
}

fn context_vec(context: &PyReadonlyArray1<'_, f32>) -> Vec<f32> {
    context.as_array().iter().copied().collect()
}

/// The rule code (as the core serialises it) and its detail.
fn exclusion(e: &Exclusion) -> (&'static str, Option<&str>) {
    match e {
        Exclusion::OutsideValidity => ("outside_validity", None),
        Exclusion::BudgetSpent => ("budget_spent", None),
        Exclusion::FrequencyCap => ("frequency_cap", None),
        Exclusion::CoolDown => ("cool_down", None),
        Exclusion::Filters => ("filters", None),
        Exclusion::Attribute(k) => ("attribute", Some(k)),
        Exclusion::State(s) => ("state", Some(s)),
        Exclusion::ContactPolicy(r) => ("contact_policy", Some(r)),
    }
}

/// A decision as plain tuples, lists and arrays (what `maitre.Decision` is
/// built from): converting through JSON values cost more than the decision.
type DecisionParts<'py> = (
    Vec<(String, &'static str, usize, u64, f64, f64, f64, String)>,
    Vec<String>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Vec<String>,
    Vec<(String, &'static str, Option<String>)>,
);

fn parts(py: Python<'_>, d: Decision) -> DecisionParts<'_> {
    let chosen = d
        .chosen
        .into_iter()
        .map(|c| {
            (
                c.offer,
                c.kind.name(),
                c.position,
                c.event_id,
                c.propensity,
                c.estimate,
                c.value,
                c.why,
            )
        })
        .collect();
    let column = |f: fn(&maitre::offers::Scored) -> f64| {
        PyArray1::from_vec(py, d.scores.iter().map(f).collect())
    };
    let (scores, estimates, widths) = (
        column(|s| s.score),
        column(|s| s.estimate),
        column(|s| s.width),
    );
    let excluded = d
        .excluded
        .iter()
        .map(|(offer, why)| {
            let (rule, detail) = exclusion(why);
            (offer.clone(), rule, detail.map(str::to_owned))
        })
        .collect();
    (
        chosen,
        d.scores.into_iter().map(|s| s.id).collect(),
        scores,
        estimates,
        widths,
        PyArray1::from_vec(py, d.probabilities),
        d.fired,
        excluded,
    )
}

#[pymethods]
impl PyNextBestOffer {
    /// A new engine from the core's JSON: a list of offers, a contact policy
    /// (None: the default) and bandit parameters, over contexts of `dim`.
    #[staticmethod]
    #[pyo3(signature = (offers, policy, dim, bandit))]
    fn create(
        py: Python<'_>,
        offers: &str,
        policy: Option<&str>,
        dim: &Bound<'_, PyAny>,
        bandit: &str,
    ) -> PyResult<Self> {
        let dim = args::count("dim", dim)?;
        let offers: Vec<Offer> = strict_json("offers", offers)?;
        let policy: ContactPolicy = match policy {
            None => ContactPolicy::default(),
            Some(json) => strict_json("policy", json)?,
        };
        let params: BanditParams = strict_json("bandit", bandit)?;
        let inner = py
            .detach(|| NextBestOffer::new(OfferSet::new(offers)?, policy, dim, params))
            .map_err(to_py)?;
        Ok(PyNextBestOffer { inner })
    }

    /// One decision: `request` is the core's ``OfferRequest`` as JSON (its
    /// ``context`` empty), `context` the vector. Returns the core's
    /// ``Decision`` as (chosen tuples, candidate ids, scores, estimates,
    /// widths, probabilities, fired rules, (offer, rule, detail) exclusions).
    fn _decide<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        context: PyReadonlyArray1<'py, f32>,
    ) -> PyResult<DecisionParts<'py>> {
        let mut request: OfferRequest = strict_json("request", request)?;
        request.context = context_vec(&context);
        let decision = py.detach(|| self.inner.decide(&request)).map_err(to_py)?;
        Ok(parts(py, decision))
    }

    /// A decision for customer `customer` of `log` (its events in
    /// ``[since, now]`` are its recent events); `request` as for `_decide`
    /// (its customer's id and recent events are replaced, its attributes kept).
    fn _decide_from_log<'py>(
        &self,
        py: Python<'py>,
        log: PyRef<'py, PyEventLog>,
        customer: &str,
        since: &Bound<'py, PyAny>,
        request: &str,
        context: PyReadonlyArray1<'py, f32>,
    ) -> PyResult<DecisionParts<'py>> {
        let since = args::integer("since", since)?;
        let mut request: OfferRequest = strict_json("request", request)?;
        request.context = context_vec(&context);
        let log: &PyEventLog = &log;
        let decision = py
            .detach(|| {
                let state = {
                    let log = log.read();
                    CustomerState::from_log(customer, &log, None, since, request.now)?
                };
                request.customer.id = state.id;
                request.customer.recent = state.recent;
                self.inner.decide(&request)
            })
            .map_err(to_py)?;
        Ok(parts(py, decision))
    }

    /// Records the outcome of a showing; returns what it settled.
    fn reward<'py>(
        &self,
        py: Python<'py>,
        event_id: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let event_id = args::seed("event_id", event_id)?;
        let value = args::real("value", value)?;
        let now = args::integer("now", now)?;
        let settled = py
            .detach(|| self.inner.reward(event_id, value, now))
            .map_err(to_py)?;
        to_python(py, &settled)
    }

    /// Settles every showing whose reward window has closed at `now` with
    /// the default reward; returns what it settled.
    fn expire<'py>(&self, py: Python<'py>, now: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let now = args::integer("now", now)?;
        let settled = py.detach(|| self.inner.expire(now)).map_err(to_py)?;
        to_python(py, &settled)
    }

    /// Drops ledger entries that can no longer exclude an offer at `now`.
    fn prune(&self, py: Python<'_>, now: &Bound<'_, PyAny>) -> PyResult<usize> {
        let now = args::integer("now", now)?;
        Ok(py.detach(|| self.inner.prune(now)))
    }

    /// The decision log's records as dicts.
    fn _log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let log = py.detach(|| self.inner.bandit().log());
        to_python(py, &log.records())
    }

    /// The decision log as JSON Lines text.
    fn log_jsonl(&self, py: Python<'_>) -> PyResult<String> {
        let text = py
            .detach(|| {
                let mut out = Vec::new();
                self.inner.bandit().log().write_jsonl(&mut out)?;
                Ok::<_, Error>(out)
            })
            .map_err(to_py)?;
        String::from_utf8(text)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
    }

    /// Writes the decision log to `path` as JSON Lines.
    fn write_jsonl(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.bandit().log().write_jsonl_file(&path))
            .map_err(to_py)
    }

    /// Removes every trace of the given ids (see `NextBestOffer.forget`).
    fn _forget<'py>(&self, py: Python<'py>, ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let gone = py.detach(|| self.inner.forget(&refs));
        to_python(py, &gone)
    }

    /// What the given ids were shown (see `NextBestOffer.activity`).
    fn _activity<'py>(
        &self,
        py: Python<'py>,
        ids: Vec<String>,
        recent: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let recent = args::count("recent", recent)?;
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let activity = py.detach(|| self.inner.activity(&refs, recent));
        to_python(py, &activity)
    }

    /// Offers, dimension, pending decisions, logged decisions and the
    /// bandit parameters.
    fn _summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let b = self.inner.bandit();
        let summary = serde_json::json!({
            "offers": self.inner.offers().offers(),
            "dim": b.dim(),
            "pending": b.pending(),
            "decisions": b.log().len(),
            "bandit": b.params(),
            "policy": self.inner.policy(),
            "apprentice": b.apprentice(),
        });
        to_python(py, &summary)
    }

    /// The whole engine as artifact bytes (bit-exact on load).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.inner.to_bytes()).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads bytes from `to_bytes`.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = py
            .detach(|| NextBestOffer::from_bytes(data))
            .map_err(to_py)?;
        Ok(PyNextBestOffer { inner })
    }

    /// Saves the engine to `path` atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(to_py)
    }

    /// Loads an engine saved with `save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| NextBestOffer::load(&path)).map_err(to_py)?;
        Ok(PyNextBestOffer { inner })
    }
}

/// Off-policy estimates (dm, ips, snips, dr with bootstrap intervals) of a
/// target policy on logged rounds; use ``maitre.evaluate_policy``, which
/// returns a DataFrame. `params` is the core's ``OpeParams`` as JSON.
#[pyfunction]
#[pyo3(signature = (contexts, actions, propensities, rewards, target, params))]
pub fn evaluate_policy<'py>(
    py: Python<'py>,
    contexts: PyReadonlyArray2<'py, f32>,
    actions: PyReadonlyArray1<'py, i64>,
    propensities: PyReadonlyArray1<'py, f64>,
    rewards: PyReadonlyArray1<'py, f64>,
    target: PyReadonlyArray2<'py, f64>,
    params: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let params: OpeParams = strict_json("params", params)?;
    let dim = contexts.shape()[1];
    let n_actions = target.shape()[1];
    let contexts: Vec<f32> = contexts.as_array().iter().copied().collect();
    let target: Vec<f64> = target.as_array().iter().copied().collect();
    let actions = actions
        .as_array()
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            usize::try_from(a).map_err(|_| {
                to_py(Error::InvalidParam {
                    name: format!("actions[{i}]"),
                    reason: format!("{a} is not an action index"),
                })
            })
        })
        .collect::<PyResult<Vec<usize>>>()?;
    let propensities: Vec<f64> = propensities.as_array().iter().copied().collect();
    let rewards: Vec<f64> = rewards.as_array().iter().copied().collect();
    let report = py
        .detach(|| {
            let logged = Logged {
                contexts: &contexts,
                dim,
                actions: &actions,
                propensities: &propensities,
                rewards: &rewards,
                n_actions,
            };
            core_evaluate_policy(&logged, &target, &params)
        })
        .map_err(to_py)?;
    to_python(py, &report)
}
