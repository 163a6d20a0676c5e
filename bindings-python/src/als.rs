//! `ALS` (the checked hyper-parameters) and `AlsModel` (the fitted factors).
//!
//! `ALS(...)` feeds the core's `AlsParams` builder and validates at once, so
//! a bad value fails where it was written. `fit` builds the interaction
//! matrix and fits with the GIL released; the progress callback re-acquires it
//! once per sweep. The `progress=True` convenience (tqdm or print) lives in
//! `python/maitre/__init__.py`.

use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::pool;
use maitre::embed::{Als, AlsModel, AlsParams, Confidence};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::Error;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::ops::ControlFlow;

/// Implicit alternating least squares (Hu, Koren & Volinsky 2008) with a
/// conjugate-gradient row solver, as the core implements it.
///
/// Parameters (the core's defaults):
///     factors: latent factors (16), in 1..=1024.
///     iterations: sweeps (15); each solves customers, then items.
///     regularization: λ (10.0), positive.
///     regularization_exponent: ν (0.0): λ_u = λ·(|I_u| + α₀·|I|)^ν.
///     alpha: α (0.5): confidence c = 1 + α·f(|r|).
///     confidence: "linear" (f(r) = r) or "log" (f(r) = ln(1 + r/epsilon)).
///     epsilon: ε of the log confidence (1.0).
///     unobserved_weight: α₀ (1.0), the weight of every unobserved pair.
///     cg_steps: conjugate-gradient steps per row and sweep (3).
///     seed: seed of the initial factors (0): same seed, same model.
///     threads: worker threads; None uses every core.
///
/// Raises InvalidParamError (naming the parameter) for a value out of range.
///
/// Example:
///     >>> als = maitre.ALS(factors=16, iterations=5, seed=1)
///     >>> als
///     ALS(factors=16, iterations=5, regularization=10.0, alpha=0.5, confidence='linear', seed=1)
///     >>> maitre.ALS(factors=0)
///     Traceback (most recent call last):
///     ...
///     maitre.InvalidParamError: invalid parameter `factors`: 0 is not in 1..=1024
#[pyclass(name = "ALS", module = "maitre._maitre", subclass, frozen)]
pub struct PyAls {
    params: AlsParams,
}

impl PyAls {
    /// The checked core parameters.
    pub(crate) fn core_params(&self) -> &AlsParams {
        &self.params
    }
}

#[pymethods]
impl PyAls {
    #[new]
    #[pyo3(signature = (factors = 16, iterations = 15, regularization = 10.0,
        regularization_exponent = 0.0, alpha = 0.5, confidence = "linear", epsilon = 1.0,
        unobserved_weight = 1.0, cg_steps = 3, seed = 0, threads = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        factors: usize,
        iterations: usize,
        regularization: f32,
        regularization_exponent: f32,
        alpha: f32,
        confidence: &str,
        epsilon: f32,
        unobserved_weight: f32,
        cg_steps: usize,
        seed: u64,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let confidence = match confidence {
            "linear" => Confidence::Linear,
            "log" => Confidence::Log { epsilon },
            other => {
                return Err(to_py(Error::InvalidParam {
                    name: "confidence".into(),
                    reason: format!("{other:?} is not \"linear\" or \"log\""),
                }))
            }
        };
        let mut params = Als::params()
            .factors(factors)
            .iterations(iterations)
            .regularization(regularization)
            .regularization_exponent(regularization_exponent)
            .alpha(alpha)
            .confidence(confidence)
            .unobserved_weight(unobserved_weight)
            .cg_steps(cg_steps)
            .seed(seed);
        if let Some(n) = threads {
            params = params.threads(n);
        }
        params.validate().map_err(to_py)?;
        Ok(PyAls { params })
    }

    /// Builds the customer × item matrix of `log` and fits customer and item factors.
    ///
    /// Parameters:
    ///     log: the EventLog.
    ///     half_life_days: decay of event weights with age (None: no decay).
    ///     progress: None; a callable that receives a dict (iteration,
    ///         iterations, seconds) after every sweep and may return False to
    ///         stop the fit; or True (in ``maitre.ALS``): a tqdm bar if tqdm is
    ///         installed, else one printed line per sweep.
    ///
    /// Returns an AlsModel. The GIL is released while fitting.
    ///
    /// Raises NotEnoughDataError for a log without interactions,
    /// CancelledError when the callback returned False, and whatever the
    /// callback itself raised.
    ///
    /// Example:
    ///     >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
    ///     >>> seen = []
    ///     >>> model = maitre.ALS(factors=8, iterations=3).fit(log, progress=seen.append)
    ///     >>> [p["iteration"] for p in seen]
    ///     [1, 2, 3]
    #[pyo3(signature = (log, half_life_days = None, progress = None))]
    fn fit(
        &self,
        py: Python<'_>,
        log: PyRef<'_, PyEventLog>,
        half_life_days: Option<f64>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PyAlsModel> {
        let mut config = InteractionConfig::default();
        if let Some(days) = half_life_days {
            config = config.half_life_days(days);
        }
        let log = &log.inner;
        let params = &self.params;
        // An exception raised by the callback, re-raised after the core stops.
        let mut raised: Option<PyErr> = None;
        // The fit runs on a thread of the binding's pool (fork-safe, see
        // pool.rs), so the callback runs there too, attached to Python anew.
        let result = pool::detach(py, || {
            let matrix = Interactions::build(log, &config)?;
            params.fit_matrix(matrix.by_customer(), |report| {
                let Some(callback) = &progress else {
                    return ControlFlow::Continue(());
                };
                Python::attach(|py| {
                    let call = || -> PyResult<bool> {
                        let info = PyDict::new(py);
                        info.set_item("iteration", report.iteration)?;
                        info.set_item("iterations", report.iterations)?;
                        info.set_item("seconds", report.seconds)?;
                        let answer = callback.bind(py).call1((info,))?;
                        // Only an explicit False stops: None (print, list.append) continues.
                        Ok(!answer.is(pyo3::types::PyBool::new(py, false)))
                    };
                    match call() {
                        Ok(true) => ControlFlow::Continue(()),
                        Ok(false) => ControlFlow::Break(()),
                        Err(e) => {
                            raised = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                })
            })
        })?;
        match (result, raised) {
            (_, Some(e)) => Err(e),
            (Ok(model), None) => Ok(PyAlsModel { inner: model }),
            (Err(e), None) => Err(to_py(e)),
        }
    }

    /// The parameters as a dict (the keyword arguments of the constructor).
    ///
    /// Example:
    ///     >>> maitre.ALS(factors=8).params()["factors"]
    ///     8
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        params_dict(py, &self.params)
    }

    fn __repr__(&self) -> String {
        let p = &self.params;
        format!(
            "ALS(factors={}, iterations={}, regularization={:?}, alpha={:?}, confidence={:?}, seed={})",
            p.factors,
            p.iterations,
            p.regularization,
            p.alpha,
            confidence_name(p.confidence),
            p.seed
        )
        .replace('"', "'")
    }
}

fn confidence_name(c: Confidence) -> &'static str {
    match c {
        Confidence::Linear => "linear",
        Confidence::Log { .. } => "log",
    }
}

fn params_dict<'py>(py: Python<'py>, p: &AlsParams) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("factors", p.factors)?;
    d.set_item("iterations", p.iterations)?;
    d.set_item("regularization", p.regularization)?;
    d.set_item("regularization_exponent", p.regularization_exponent)?;
    d.set_item("alpha", p.alpha)?;
    d.set_item("confidence", confidence_name(p.confidence))?;
    let epsilon = match p.confidence {
        Confidence::Log { epsilon } => epsilon,
        Confidence::Linear => 1.0,
    };
    d.set_item("epsilon", epsilon)?;
    d.set_item("unobserved_weight", p.unobserved_weight)?;
    d.set_item("cg_steps", p.cg_steps)?;
    d.set_item("seed", p.seed)?;
    d.set_item("threads", p.threads)?;
    Ok(d)
}

/// Fitted customer and item factors (from ``ALS.fit``).
///
/// Rows follow the log's dense indices: customer row ``u`` is the log's
/// ``u``-th (resolved) customer, item row ``i`` its ``i``-th item.
///
/// Example:
///     >>> log = maitre.synthetic_storefront(seed=1, size="tiny")
///     >>> model = maitre.ALS(factors=8, iterations=2).fit(log)
///     >>> model.item_factors.shape[1], model.item_factors.dtype
///     (8, dtype('float32'))
#[pyclass(name = "AlsModel", module = "maitre._maitre", frozen)]
pub struct PyAlsModel {
    pub inner: AlsModel,
}

#[pymethods]
impl PyAlsModel {
    /// Customer factors: a float32 array of shape (customers, factors) (a copy).
    ///
    /// Example:
    ///     >>> model = maitre.ALS(factors=4, iterations=1).fit(maitre.synthetic_storefront(size="tiny"))
    ///     >>> model.user_factors.shape[1]
    ///     4
    #[getter]
    fn user_factors<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        PyArray2::from_array(py, &self.inner.users.view())
    }

    /// Item factors: a float32 array of shape (items, factors) (a copy).
    ///
    /// Example:
    ///     >>> model = maitre.ALS(factors=4, iterations=1).fit(maitre.synthetic_storefront(size="tiny"))
    ///     >>> model.item_factors.shape[1]
    ///     4
    #[getter]
    fn item_factors<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        PyArray2::from_array(py, &self.inner.items.view())
    }

    /// The parameters the model was fitted with, as a dict.
    ///
    /// Example:
    ///     >>> model = maitre.ALS(factors=4, iterations=1).fit(maitre.synthetic_storefront(size="tiny"))
    ///     >>> model.params()["iterations"]
    ///     1
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        params_dict(py, self.inner.params())
    }

    /// A customer vector from a few interactions, without refitting (exact
    /// least-squares solve against the fixed item factors).
    ///
    /// Parameters:
    ///     item_indices: item rows (ints).
    ///     weights: their interaction weights (negative for returns), same length.
    ///
    /// Returns a float32 array of length ``factors``.
    ///
    /// Raises LengthMismatchError, UnknownIdError for an index out of range.
    ///
    /// Example:
    ///     >>> model = maitre.ALS(factors=4, iterations=2).fit(maitre.synthetic_storefront(size="tiny"))
    ///     >>> model.fold_in([0, 3], [1.0, 2.0]).shape
    ///     (4,)
    fn fold_in<'py>(
        &self,
        py: Python<'py>,
        item_indices: Vec<u32>,
        weights: Vec<f32>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let model = &self.inner;
        let v = py
            .detach(|| model.fold_in(&item_indices, &weights))
            .map_err(to_py)?;
        Ok(PyArray1::from_vec(py, v))
    }

    fn __repr__(&self) -> String {
        format!(
            "AlsModel(customers={}, items={}, factors={})",
            self.inner.users.rows(),
            self.inner.items.rows(),
            self.inner.items.k()
        )
    }
}
