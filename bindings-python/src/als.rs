//! `ALS` (the checked hyper-parameters) and `AlsModel` (the fitted factors).
//!
//! `ALS(...)` feeds the core's `AlsParams` builder and validates at once, so
//! a bad value fails where it was written. `fit` builds the interaction
//! matrix and fits with the GIL released; the progress callback re-acquires it
//! once per sweep. The `progress=True` convenience (tqdm or print) lives in
//! `python/maitre/__init__.py`.

use crate::args;
use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::pool;
use crate::progress::Progress;
use maitre::embed::{Als, AlsModel, AlsParams, Confidence, Factors, RegularizationScale, RowBlock};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::Error;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Implicit alternating least squares (Hu, Koren & Volinsky 2008) with a
/// conjugate-gradient row solver, as the core implements it.
///
/// Parameters (the core's defaults):
///     factors: latent factors (16), in 1..=1024.
///     iterations: sweeps (15); each solves customers, then items.
///     regularization: λ (10.0), positive.
///     regularization_exponent: ν (0.0): λ_u = λ·(|I_u| + α₀·|I|)^ν, or
///         λ·max(|I_u|, 1)^ν with regularization_scale="observed".
///     alpha: α (0.5): confidence c = 1 + α·f(|r|).
///     confidence: "linear" (f(r) = r) or "log" (f(r) = ln(1 + r/epsilon)).
///     epsilon: ε of the log confidence (1.0).
///     unobserved_weight: α₀ (1.0), the weight of every unobserved pair.
///     cg_steps: conjugate-gradient steps per row and sweep (3).
///     seed: seed of the initial factors (0): same seed, same model.
///     threads: worker threads, 1 to 1024 (a fixed cap, the same on every
///         machine); None uses every core.
///     regularization_scale: what ν scales λ by: "all_pairs" (the default,
///         |I_u| + α₀·|I|, Rendle et al.) or "observed" (the row's stored
///         entries only; with regularization_exponent=1 this is ALS-WR, the
///         regParam·(count of ratings) of Spark MLlib's ALS). Items are
///         scaled the same way by their customers.
///
/// Counts are Python or numpy integers (not floats or bools), the rest
/// numbers; None takes the default.
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
    #[pyo3(signature = (factors = None, iterations = None, regularization = None,
        regularization_exponent = None, alpha = None, confidence = "linear", epsilon = None,
        unobserved_weight = None, cg_steps = None, seed = None, threads = None,
        regularization_scale = "all_pairs"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        factors: Option<&Bound<'_, PyAny>>,
        iterations: Option<&Bound<'_, PyAny>>,
        regularization: Option<&Bound<'_, PyAny>>,
        regularization_exponent: Option<&Bound<'_, PyAny>>,
        alpha: Option<&Bound<'_, PyAny>>,
        confidence: &str,
        epsilon: Option<&Bound<'_, PyAny>>,
        unobserved_weight: Option<&Bound<'_, PyAny>>,
        cg_steps: Option<&Bound<'_, PyAny>>,
        seed: Option<&Bound<'_, PyAny>>,
        threads: Option<&Bound<'_, PyAny>>,
        regularization_scale: &str,
    ) -> PyResult<Self> {
        // None takes the core's default; anything else must be a number of
        // the right kind (args.rs), and the core checks its range.
        let d = AlsParams::default();
        let count = |name, v: Option<&Bound<'_, PyAny>>, default| {
            Ok::<_, PyErr>(args::opt_count(name, v)?.unwrap_or(default))
        };
        let real = |name, v: Option<&Bound<'_, PyAny>>, default: f32| {
            Ok::<_, PyErr>(args::opt_real(name, v)?.map_or(default, |x| x as f32))
        };
        let epsilon = real("epsilon", epsilon, 1.0)?;
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
        let regularization_scale = scale_of(regularization_scale)?;
        let seed = match seed.filter(|s| !s.is_none()) {
            Some(s) => args::seed("seed", s)?,
            None => d.seed,
        };
        let mut params = Als::params()
            .factors(count("factors", factors, d.factors)?)
            .iterations(count("iterations", iterations, d.iterations)?)
            .regularization(real("regularization", regularization, d.regularization)?)
            .regularization_exponent(real(
                "regularization_exponent",
                regularization_exponent,
                d.regularization_exponent,
            )?)
            .regularization_scale(regularization_scale)
            .alpha(real("alpha", alpha, d.alpha)?)
            .confidence(confidence)
            .unobserved_weight(real(
                "unobserved_weight",
                unobserved_weight,
                d.unobserved_weight,
            )?)
            .cg_steps(count("cg_steps", cg_steps, d.cg_steps)?)
            .seed(seed);
        if let Some(n) = args::opt_count("threads", threads)? {
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
        half_life_days: Option<&Bound<'_, PyAny>>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PyAlsModel> {
        let half_life_days = args::opt_real("half_life_days", half_life_days)?;
        let mut config = InteractionConfig::default();
        if let Some(days) = half_life_days {
            config = config.half_life_days(days);
        }
        let log: &PyEventLog = &log;
        let params = &self.params;
        // An exception raised by the callback, re-raised after the core stops.
        let mut progress = Progress::new(progress);
        // The fit runs on a thread of the binding's pool (fork-safe, see
        // pool.rs), so the callback runs there too, attached to Python anew.
        let (matrix, item_ids) = pool::detach_locked(
            py,
            || log.read(),
            |log| {
                let matrix = Interactions::build(log, &config)?;
                Ok::<_, maitre::Error>((matrix, log.items().names().to_vec()))
            },
        )?
        .map_err(to_py)?;
        let customer_ids = matrix.identities().names().to_vec();
        let result = pool::detach(py, || {
            params.fit_matrix(matrix.by_customer(), |report| {
                progress.report(|info| {
                    info.set_item("iteration", report.iteration)?;
                    info.set_item("iterations", report.iterations)?;
                    info.set_item("seconds", report.seconds)
                })
            })
        })?;
        let model = progress.finish(result)?;
        Ok(PyAlsModel {
            inner: model,
            ids: Some((customer_ids, item_ids)),
        })
    }

    /// The parameters as a dict (the keyword arguments of the constructor).
    ///
    /// Example:
    ///     >>> maitre.ALS(factors=8).params()["factors"]
    ///     8
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        params_dict(py, &self.params)
    }

    /// Pickling and ``copy.deepcopy``: the constructor's arguments.
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        (
            usize,
            usize,
            f32,
            f32,
            f32,
            &'static str,
            f32,
            f32,
            usize,
            u64,
            Option<usize>,
            &'static str,
        ),
    )> {
        let p = &slf.get().params;
        let epsilon = match p.confidence {
            Confidence::Log { epsilon } => epsilon,
            Confidence::Linear => 1.0,
        };
        Ok((
            slf.get_type().into_any(),
            (
                p.factors,
                p.iterations,
                p.regularization,
                p.regularization_exponent,
                p.alpha,
                confidence_name(p.confidence),
                epsilon,
                p.unobserved_weight,
                p.cg_steps,
                p.seed,
                p.threads,
                scale_name(p.regularization_scale),
            ),
        ))
    }

    /// Solves a block of rows against the fixed side, exactly as one
    /// half-sweep of ``fit`` does (the building block of a fit spread over
    /// machines, as ``maitre.spark.fit_als`` runs it). The GIL is released.
    ///
    /// Parameters:
    ///     gram: YᵀY of the fixed side over all its rows, (k, k) float32.
    ///     other_rows: how many rows the fixed side has in all.
    ///     start: the rows' current vectors, (rows, k) float32.
    ///     indptr: row r's entries are indptr[r]:indptr[r+1], (rows + 1,) int64.
    ///     neighbours: the fixed side's vector for each entry, (entries, k);
    ///         or, with ``columns``, the fixed vectors the entries point into.
    ///     weights: each entry's interaction weight, (entries,).
    ///     columns: optional, each entry's row of ``neighbours`` (entries,):
    ///         each fixed vector passed once, not once per entry (how
    ///         ``maitre.spark.fit_als`` calls it).
    ///
    /// Returns the solved vectors, (rows, k) float32. Raises
    /// LengthMismatchError or InvalidParamError for a block that does not fit
    /// together (and for non-finite values).
    ///
    /// Example:
    ///     >>> import numpy as np
    ///     >>> als = maitre.ALS(factors=2, regularization=0.1)
    ///     >>> x = als.solve_rows(np.eye(2), 2, np.zeros((1, 2)), [0, 1], [[1.0, 0.0]], [2.0])
    ///     >>> bool(x[0, 0] > 0.5), x.shape
    ///     (True, (1, 2))
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (gram, other_rows, start, indptr, neighbours, weights, columns=None))]
    fn solve_rows<'py>(
        &self,
        py: Python<'py>,
        gram: &Bound<'py, PyAny>,
        other_rows: &Bound<'py, PyAny>,
        start: &Bound<'py, PyAny>,
        indptr: &Bound<'py, PyAny>,
        neighbours: &Bound<'py, PyAny>,
        weights: &Bound<'py, PyAny>,
        columns: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let other_rows = args::count("other_rows", other_rows)?;
        let columns = columns
            .filter(|c| !c.is_none())
            .map(|c| {
                args::counts("columns", c)?
                    .into_iter()
                    .map(|v| {
                        u32::try_from(v).map_err(|_| {
                            to_py(Error::param("columns", format!("{v} is not below 2^32")))
                        })
                    })
                    .collect::<PyResult<Vec<u32>>>()
            })
            .transpose()?;
        let gram = args::f32_array("gram", gram)?;
        let start = args::f32_array("start", start)?;
        let neighbours = args::f32_array("neighbours", neighbours)?;
        let weights = args::f32_array("weights", weights)?;
        let indptr = args::counts("indptr", indptr)?;
        let params = &self.params;
        let solved = crate::pool::detach(py, || {
            params.solve_rows(&RowBlock {
                gram: &gram,
                other_rows,
                start: &start,
                indptr: &indptr,
                neighbours: &neighbours,
                weights: &weights,
                columns: columns.as_deref(),
            })
        })?
        .map_err(to_py)?;
        let k = params.factors;
        let rows = solved.len() / k;
        let array = numpy::ndarray::Array2::from_shape_vec((rows, k), solved)
            .map_err(|e| to_py(Error::param("start", e.to_string())))?;
        Ok(PyArray2::from_owned_array(py, array))
    }

    /// The vectors a fit starts from, for rows ``first`` to ``first + count``
    /// of the customer rows followed by the item rows (item ``i`` is row
    /// ``customers + i``): any slice, without drawing the rows before it.
    ///
    /// Example:
    ///     >>> als = maitre.ALS(factors=4, seed=3)
    ///     >>> bool((als.initial_rows(7, 3) == als.initial_rows(0, 10)[7:]).all())
    ///     True
    fn initial_rows<'py>(
        &self,
        py: Python<'py>,
        first: &Bound<'py, PyAny>,
        count: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let first = args::count("first", first)? as u64;
        let count = args::count("count", count)?;
        let params = &self.params;
        let values = py
            .detach(|| params.initial_rows(first, count))
            .map_err(to_py)?;
        let array = numpy::ndarray::Array2::from_shape_vec((count, params.factors), values)
            .map_err(|e| to_py(Error::param("count", e.to_string())))?;
        Ok(PyArray2::from_owned_array(py, array))
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

fn scale_name(s: RegularizationScale) -> &'static str {
    match s {
        RegularizationScale::AllPairs => "all_pairs",
        RegularizationScale::Observed => "observed",
    }
}

fn scale_of(name: &str) -> PyResult<RegularizationScale> {
    match name {
        "all_pairs" => Ok(RegularizationScale::AllPairs),
        "observed" => Ok(RegularizationScale::Observed),
        other => Err(to_py(Error::InvalidParam {
            name: "regularization_scale".into(),
            reason: format!("{other:?} is not \"all_pairs\" or \"observed\""),
        })),
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
    d.set_item("regularization_scale", scale_name(p.regularization_scale))?;
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
    /// (customer ids, item ids) of the rows, when fitted from a log.
    pub(crate) ids: Option<(Vec<String>, Vec<String>)>,
}

impl PyAlsModel {
    /// A model fitted from a log, with the ids of its rows.
    pub fn with_ids(inner: AlsModel, customer_ids: Vec<String>, item_ids: Vec<String>) -> Self {
        PyAlsModel {
            inner,
            ids: Some((customer_ids, item_ids)),
        }
    }
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

    /// Customer ids in row order: row ``u`` of ``user_factors`` is
    /// ``customer_ids()[u]`` (canonical ids, after identity links). None for a
    /// model read with ``from_bytes`` (the bytes hold factors, not ids;
    /// pickling keeps them).
    ///
    /// Example:
    ///     >>> log = maitre.synthetic_storefront(size="tiny")
    ///     >>> model = maitre.ALS(factors=4, iterations=1).fit(log)
    ///     >>> len(model.customer_ids()) == model.user_factors.shape[0]
    ///     True
    fn customer_ids(&self) -> Option<Vec<String>> {
        self.ids.as_ref().map(|(c, _)| c.clone())
    }

    /// Item ids in row order: row ``i`` of ``item_factors`` is
    /// ``item_ids()[i]``. None for a model read with ``from_bytes``.
    ///
    /// Example:
    ///     >>> log = maitre.synthetic_storefront(size="tiny")
    ///     >>> model = maitre.ALS(factors=4, iterations=1).fit(log)
    ///     >>> len(model.item_ids()) == model.item_factors.shape[0]
    ///     True
    fn item_ids(&self) -> Option<Vec<String>> {
        self.ids.as_ref().map(|(_, i)| i.clone())
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
        item_indices: &Bound<'py, PyAny>,
        weights: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let item_indices: Vec<u32> = args::counts("item_indices", item_indices)?
            .into_iter()
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        let weights: Vec<f32> = args::reals("weights", weights)?
            .into_iter()
            .map(|w| w as f32)
            .collect();
        let model = &self.inner;
        let v = py
            .detach(|| model.fold_in(&item_indices, &weights))
            .map_err(to_py)?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// The model as bytes (``AlsModel.from_bytes`` reads them back); pickling
    /// and ``copy.deepcopy`` go through them.
    ///
    /// Example:
    ///     >>> model = maitre.ALS(factors=4, iterations=1).fit(maitre.synthetic_storefront(size="tiny"))
    ///     >>> copy = maitre.AlsModel.from_bytes(model.to_bytes())
    ///     >>> bool((copy.item_factors == model.item_factors).all())
    ///     True
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let model = &self.inner;
        let bytes = py.detach(|| model.to_bytes()).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads bytes from ``to_bytes``. Raises ArtifactError for anything else.
    ///
    /// Example:
    ///     >>> maitre.AlsModel.from_bytes(b"junk")
    ///     Traceback (most recent call last):
    ///     ...
    ///     maitre.ArtifactError: artifact: not a maitre artifact (it starts with "junk")
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = py.detach(|| AlsModel::from_bytes(data)).map_err(to_py)?;
        Ok(PyAlsModel { inner, ids: None })
    }

    /// A model from factors computed elsewhere (a fit spread over machines,
    /// ``maitre.spark.fit_als``), usable everywhere a fitted model is.
    ///
    /// Parameters:
    ///     user_factors: (customers, k) float32.
    ///     item_factors: (items, k) float32.
    ///     als: the ALS parameters they were fitted with (k = its factors).
    ///     customer_ids, item_ids: the ids of the rows (optional; both or neither).
    ///
    /// Example:
    ///     >>> import numpy as np
    ///     >>> m = maitre.AlsModel.from_factors(np.ones((3, 2)), np.ones((4, 2)), maitre.ALS(factors=2))
    ///     >>> m.item_factors.shape
    ///     (4, 2)
    #[staticmethod]
    #[pyo3(signature = (user_factors, item_factors, als, customer_ids = None, item_ids = None))]
    fn from_factors(
        py: Python<'_>,
        user_factors: &Bound<'_, PyAny>,
        item_factors: &Bound<'_, PyAny>,
        als: PyRef<'_, PyAls>,
        customer_ids: Option<Vec<String>>,
        item_ids: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let k = als.params.factors;
        let matrix = |name: &str, v: &Bound<'_, PyAny>| -> PyResult<Factors> {
            let data = args::f32_array(name, v)?;
            if data.len() % k != 0 {
                return Err(to_py(Error::param(
                    name,
                    format!("{} values are not rows of {k} factors", data.len()),
                )));
            }
            Factors::from_vec(data.len() / k, k, data).map_err(to_py)
        };
        let (users, items) = (
            matrix("user_factors", user_factors)?,
            matrix("item_factors", item_factors)?,
        );
        let params = als.params.clone();
        let inner = py
            .detach(|| AlsModel::from_parts(users, items, params))
            .map_err(to_py)?;
        let ids = match (customer_ids, item_ids) {
            (None, None) => None,
            (Some(c), Some(i)) => Some((c, i)),
            _ => {
                return Err(to_py(Error::param(
                    "customer_ids",
                    "give customer_ids and item_ids together, or neither",
                )))
            }
        };
        let model = PyAlsModel { inner, ids: None };
        let bytes = py.detach(|| model.inner.to_bytes()).map_err(to_py)?;
        Self::_from_parts(py, &bytes, ids)
    }

    /// Unpickling: the bytes and the ids, checked against the factors' rows.
    #[staticmethod]
    fn _from_parts(
        py: Python<'_>,
        data: &[u8],
        ids: Option<(Vec<String>, Vec<String>)>,
    ) -> PyResult<Self> {
        let mut model = Self::from_bytes(py, data)?;
        if let Some((customers, items)) = &ids {
            for (name, got, expected) in [
                ("customer_ids", customers.len(), model.inner.users.rows()),
                ("item_ids", items.len(), model.inner.items.rows()),
            ] {
                if got != expected {
                    return Err(to_py(maitre::Error::LengthMismatch {
                        name: name.into(),
                        expected,
                        got,
                    }));
                }
            }
        }
        model.ids = ids;
        Ok(model)
    }

    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        (Bound<'py, PyBytes>, Option<(Vec<String>, Vec<String>)>),
    )> {
        let bytes = slf.get().to_bytes(slf.py())?;
        let ids = slf.get().ids.clone();
        Ok((slf.get_type().getattr("_from_parts")?, (bytes, ids)))
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
