//! Customer intelligence: segments, RFM and lifecycle, loyalty, the single
//! customer view. Each call builds the core's `CustomerBase` from the log and
//! catalogue and makes one call; the pandas frames are built in
//! `python/maitre/_customers.py`.

use crate::als::PyAlsModel;
use crate::args;
use crate::convert::strict_json;
use crate::convert::to_python;
use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::offers::PyNextBestOffer;
use crate::pool;
use maitre::catalog::{Catalog, Item};
use maitre::customers::{
    describe, CustomerBase, CustomerFilter, CustomerSettings, KMeans, KMeansParams, Lifecycle,
    Loyalty, Representation, Rfm, SegmentTally, Targeting,
};
use maitre::events::EventLog;
use maitre::index::{ExactIndex, Index};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;

fn base(
    log: &EventLog,
    items: Option<Vec<Item>>,
    now: Option<i64>,
) -> maitre::Result<CustomerBase> {
    let mut log = log.clone();
    let catalog = Catalog::aligned(&mut log, items.unwrap_or_default())?;
    let mut settings = CustomerSettings::default();
    if let Some(now) = now {
        settings = settings.now(now);
    }
    CustomerBase::new(log, catalog, settings)
}

/// A base with the customer and item vectors of `model`, which must have
/// been fitted on this log (its row ids are checked against the base's).
fn base_with(
    log: &EventLog,
    items: Option<Vec<Item>>,
    now: Option<i64>,
    model: Option<&PyAlsModel>,
) -> maitre::Result<CustomerBase> {
    let base = base(log, items, now)?;
    let Some(model) = model else {
        return Ok(base);
    };
    let same = match &model.ids {
        Some((customers, items)) => {
            customers.as_slice() == base.customers()
                && items.as_slice() == base.log().items().names()
        }
        None => false,
    };
    if !same {
        return Err(maitre::Error::InvalidParam {
            name: "model".into(),
            reason: "its rows are not this log's customers and items: fit it on this log \
                     (maitre.ALS().fit(log)) and pass the same log"
                .into(),
        });
    }
    base.with_vectors(model.inner.users.clone(), Some(model.inner.items.clone()))
}

fn items(items: Option<Bound<'_, PyDict>>) -> PyResult<Option<Vec<Item>>> {
    items.map(|i| crate::recommend::items(&i)).transpose()
}

fn now(now: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    now.filter(|n| !n.is_none())
        .map(|n| args::integer("now", n))
        .transpose()
}

/// k-means parameters from Python's optional arguments (None: the default).
fn kmeans_params(
    k: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    n_init: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<KMeansParams> {
    let mut params = KMeansParams::default();
    if let Some(k) = args::opt_count("k", k)? {
        params = params.k(k);
    }
    if let Some(seed) = seed.filter(|s| !s.is_none()) {
        params = params.seed(args::seed("seed", seed)?);
    }
    if let Some(n) = args::opt_count("n_init", n_init)? {
        params = params.n_init(n);
    }
    if let Some(threads) = args::opt_count("threads", threads)? {
        params = params.threads(threads);
    }
    Ok(params)
}

#[derive(serde::Serialize)]
struct SegmentsOut<'a> {
    customers: &'a [String],
    #[serde(flatten)]
    segments: &'a maitre::customers::Segments,
}

/// Segments the customers with k-means++ (see `maitre.segments`).
#[pyfunction]
#[pyo3(signature = (log, items = None, k = None, representation = "category_shares",
    fit_min_days = None, seed = None, threads = None, model = None))]
#[allow(clippy::too_many_arguments)]
pub fn segments<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    items: Option<Bound<'py, PyDict>>,
    k: Option<&Bound<'py, PyAny>>,
    representation: &str,
    fit_min_days: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
    model: Option<PyRef<'py, PyAlsModel>>,
) -> PyResult<Bound<'py, PyAny>> {
    let representation = match (representation, &model) {
        ("category_shares", _) => Representation::CategoryShares,
        ("vectors", Some(_)) => Representation::Vectors,
        (other, _) => {
            return Err(to_py(maitre::Error::InvalidParam {
                name: "representation".into(),
                reason: format!(
                    "{other:?}: \"category_shares\", or \"vectors\" with model= (an ALS model fitted on this log)"
                ),
            }))
        }
    };
    let model: Option<&PyAlsModel> = model.as_deref();
    let params = kmeans_params(k, seed, None, threads)?;
    let fit_min_days = args::opt_count("fit_min_days", fit_min_days)?.unwrap_or(1);
    let items = self::items(items)?;
    let log: &PyEventLog = &log;
    let out = pool::detach_locked(
        py,
        || log.read(),
        |log| -> maitre::Result<serde_json::Value> {
            let mut base = base_with(log, items, None, model)?;
            base.segment(&params, representation, fit_min_days)?;
            let segments = base.segments().expect("segmented just now");
            serde_json::to_value(SegmentsOut {
                customers: base.customers(),
                segments,
            })
            .map_err(|e| maitre::Error::InvalidParam {
                name: "segments".into(),
                reason: e.to_string(),
            })
        },
    )?
    .map_err(to_py)?;
    to_python(py, &out)
}

/// RFM scores, lifecycle stages and loyalty of every customer (see `maitre.rfm`).
#[pyfunction]
#[pyo3(signature = (log, items = None, now = None))]
pub fn rfm<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    items: Option<Bound<'py, PyDict>>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let now = self::now(now)?;
    let items = self::items(items)?;
    let log: &PyEventLog = &log;
    let c = pool::detach_locked(
        py,
        || log.read(),
        |log| -> maitre::Result<RfmColumns> {
            let base = base(log, items, now)?;
            Ok(RfmColumns::of(base.rfm(), base.lifecycle(), base.loyalty()))
        },
    )?
    .map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("customer", c.customer)?;
    out.set_item("recency_days", PyArray1::from_vec(py, c.recency_days))?;
    out.set_item("frequency", PyArray1::from_vec(py, c.frequency))?;
    out.set_item("monetary", PyArray1::from_vec(py, c.monetary))?;
    for (name, scores) in [("r", c.r), ("f", c.f), ("m", c.m)] {
        out.set_item(name, PyArray1::from_vec(py, scores))?;
    }
    out.set_item("group", c.group)?;
    out.set_item("stage", c.stage)?;
    out.set_item(
        "typical_gap_days",
        PyArray1::from_vec(py, c.typical_gap_days),
    )?;
    out.set_item("loyalty", PyArray1::from_vec(py, c.loyalty))?;
    Ok(out.into_any())
}

/// `rfm`'s table as columns: numbers as numpy arrays, words as lists. One
/// JSON object per customer and table, turned into Python dicts and then
/// into a frame, took ~6 of the 9-10 s of `maitre.rfm` at 300,000 customers.
struct RfmColumns {
    customer: Vec<String>,
    /// NaN: never bought.
    recency_days: Vec<f64>,
    frequency: Vec<i64>,
    monetary: Vec<f64>,
    r: Vec<i64>,
    f: Vec<i64>,
    m: Vec<i64>,
    group: Vec<&'static str>,
    stage: Vec<&'static str>,
    typical_gap_days: Vec<f64>,
    loyalty: Vec<f64>,
}

impl RfmColumns {
    /// The three per-customer tables, all in customer order.
    fn of(rfm: &[Rfm], life: &[Lifecycle], loyalty: &[Loyalty]) -> Self {
        RfmColumns {
            customer: rfm.iter().map(|x| x.customer.clone()).collect(),
            recency_days: rfm
                .iter()
                .map(|x| x.recency_days.unwrap_or(f64::NAN))
                .collect(),
            frequency: rfm.iter().map(|x| x.frequency as i64).collect(),
            monetary: rfm.iter().map(|x| x.monetary).collect(),
            r: rfm.iter().map(|x| i64::from(x.r)).collect(),
            f: rfm.iter().map(|x| i64::from(x.f)).collect(),
            m: rfm.iter().map(|x| i64::from(x.m)).collect(),
            group: rfm.iter().map(|x| x.group).collect(),
            stage: life.iter().map(|x| x.stage.name()).collect(),
            typical_gap_days: life.iter().map(|x| x.typical_gap_days).collect(),
            loyalty: loyalty.iter().map(|x| x.score).collect(),
        }
    }
}

/// The single customer view of one customer (see `maitre.customer_view`).
#[pyfunction]
#[pyo3(signature = (log, customer, items = None, recent = None, now = None, model = None,
    offers = None, context = None, attributes = None))]
#[allow(clippy::too_many_arguments)]
pub fn customer_view<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    customer: String,
    items: Option<Bound<'py, PyDict>>,
    recent: Option<&Bound<'py, PyAny>>,
    now: Option<&Bound<'py, PyAny>>,
    model: Option<PyRef<'py, PyAlsModel>>,
    offers: Option<PyRef<'py, PyNextBestOffer>>,
    context: Option<PyReadonlyArray1<'py, f32>>,
    attributes: Option<BTreeMap<String, String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let recent = args::opt_count("recent", recent)?.unwrap_or(50);
    let now = self::now(now)?;
    let items = self::items(items)?;
    let context: Option<Vec<f32>> = context.map(|c| c.as_array().iter().copied().collect());
    let attributes = attributes.unwrap_or_default();
    let (log, model, offers): (&PyEventLog, Option<&PyAlsModel>, Option<&PyNextBestOffer>) =
        (&log, model.as_deref(), offers.as_deref());
    let view = pool::detach_locked(
        py,
        || log.read(),
        |log| {
            let base = base_with(log, items, now, model)?;
            match offers {
                Some(o) => {
                    o.inner
                        .customer_view(&base, &customer, recent, context.as_deref(), &attributes)
                }
                None => base.customer_view(&customer, recent),
            }
        },
    )?
    .map_err(to_py)?;
    to_python(py, &view)
}

/// The customers most likely to engage with an item or a category (see
/// `maitre.target`).
#[pyfunction]
#[pyo3(signature = (log, model, item = None, category = None, k = None, items = None,
    customer_filter = None, now = None))]
#[allow(clippy::too_many_arguments)]
pub fn target<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    model: PyRef<'py, PyAlsModel>,
    item: Option<String>,
    category: Option<String>,
    k: Option<&Bound<'py, PyAny>>,
    items: Option<Bound<'py, PyDict>>,
    customer_filter: Option<&str>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let what = match (item, category) {
        (Some(i), None) => Targeting::Item(i),
        (None, Some(c)) => Targeting::Category(c),
        _ => {
            return Err(to_py(maitre::Error::InvalidParam {
                name: "item".into(),
                reason: "give exactly one of item= and category=".into(),
            }))
        }
    };
    let k = args::opt_count("k", k)?.unwrap_or(100);
    let filter: CustomerFilter = match customer_filter {
        Some(text) => strict_json("customer_filter", text)?,
        None => CustomerFilter::default(),
    };
    let now = self::now(now)?;
    let items = self::items(items)?;
    let (log, model): (&PyEventLog, &PyAlsModel) = (&log, &model);
    let targets = pool::detach_locked(
        py,
        || log.read(),
        |log| base_with(log, items, now, Some(model))?.target(&what, k, &filter),
    )?
    .map_err(to_py)?;
    to_python(py, &targets)
}

/// The `n` most loyal customers, each with why (see `maitre.advocates`).
#[pyfunction]
#[pyo3(signature = (log, items = None, n = None, now = None))]
pub fn advocates<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    items: Option<Bound<'py, PyDict>>,
    n: Option<&Bound<'py, PyAny>>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let n = args::opt_count("n", n)?.unwrap_or(20);
    let now = self::now(now)?;
    let items = self::items(items)?;
    let log: &PyEventLog = &log;
    let top = pool::detach_locked(py, || log.read(), |log| base(log, items, now)?.advocates(n))?
        .map_err(to_py)?;
    to_python(py, &top)
}

/// k-means++ on the rows of a matrix (see `maitre.KMeans`): the core's fit,
/// the GIL released. Returns (centroids k × dim, labels, inertia, iterations,
/// converged, silhouettes).
#[pyfunction]
#[pyo3(signature = (data, dim, k = None, seed = None, n_init = None, threads = None))]
#[allow(clippy::type_complexity)]
pub fn kmeans_fit<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    dim: &Bound<'py, PyAny>,
    k: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    n_init: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
) -> PyResult<(
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<u32>>,
    f64,
    usize,
    bool,
    Vec<(usize, f64)>,
)> {
    let dim = args::count("dim", dim)?;
    let params = kmeans_params(k, seed, n_init, threads)?;
    let data = args::f32_array("data", data)?;
    let fit = crate::pool::detach(py, || params.fit(&data, dim))?.map_err(to_py)?;
    let centroids = numpy::ndarray::Array2::from_shape_vec((fit.k(), fit.dim), fit.centroids)
        .map_err(|e| to_py(maitre::Error::param("centroids", e.to_string())))?;
    Ok((
        PyArray2::from_owned_array(py, centroids),
        PyArray1::from_vec(py, fit.labels),
        fit.inertia,
        fit.iterations,
        fit.converged,
        fit.silhouettes,
    ))
}

/// The nearest of `centroids` (k × dim) for each row of `data`, as the
/// core's `KMeans::predict` (ties: the lower segment).
#[pyfunction]
pub fn kmeans_predict<'py>(
    py: Python<'py>,
    centroids: &Bound<'py, PyAny>,
    dim: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let dim = args::count("dim", dim)?;
    if dim == 0 {
        return Err(to_py(maitre::Error::param("dim", "must be at least 1")));
    }
    let centroids = args::f32_array("centroids", centroids)?;
    let data = args::f32_array("data", data)?;
    for (name, values) in [("centroids", &centroids), ("data", &data)] {
        if values.len() % dim != 0 {
            return Err(to_py(maitre::Error::LengthMismatch {
                name: format!("{name} (a multiple of the dimension)"),
                expected: values.len() / dim * dim,
                got: values.len(),
            }));
        }
    }
    if centroids.is_empty() {
        return Err(to_py(maitre::Error::param("centroids", "no centre")));
    }
    let model = KMeans {
        centroids,
        dim,
        labels: Vec::new(),
        inertia: 0.0,
        iterations: 0,
        converged: true,
        silhouettes: Vec::new(),
    };
    let labels = py
        .detach(|| {
            data.chunks_exact(dim)
                .map(|row| model.predict(row))
                .collect::<maitre::Result<Vec<u32>>>()
        })
        .map_err(to_py)?;
    Ok(PyArray1::from_vec(py, labels))
}

/// Rows and their scores, best first.
type Ranked<'py> = (Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<f32>>);

/// The `k` rows of `vectors` (row-major, `dim` values each) with the largest
/// inner product with `query`, best first (ties: the lower row), and their
/// scores: the core's exact search, as `target` ranks customers. Spark's
/// targeting scores each block of customers with it.
#[pyfunction]
pub fn exact_top_k<'py>(
    py: Python<'py>,
    vectors: &Bound<'py, PyAny>,
    query: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
) -> PyResult<Ranked<'py>> {
    let k = args::count("k", k)?;
    let query = args::f32_array("query", query)?;
    let vectors = args::f32_array("vectors", vectors)?;
    let hits = crate::pool::detach(py, || {
        let index = ExactIndex::build(query.len(), &vectors)?;
        index.search(&query, k, None)
    })?
    .map_err(to_py)?;
    Ok((
        PyArray1::from_iter(py, hits.iter().map(|h| h.item)),
        PyArray1::from_iter(py, hits.iter().map(|h| h.score)),
    ))
}

/// Segment summaries and descriptions from tallies counted elsewhere (Spark):
/// the core's `describe`, so the words are `segments`' own. `tallies` is a
/// JSON list of `SegmentTally`, `overall` a JSON map category → product
/// events over every customer.
#[pyfunction]
pub fn describe_segments<'py>(
    py: Python<'py>,
    tallies: &str,
    overall: &str,
    customers: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let customers = args::count("customers", customers)?;
    let tallies: Vec<SegmentTally> = strict_json("tallies", tallies)?;
    let overall: BTreeMap<String, f64> = strict_json("overall", overall)?;
    to_python(py, &describe(tallies, &overall, customers))
}
