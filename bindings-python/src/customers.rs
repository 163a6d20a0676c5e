//! Customer intelligence: segments, RFM and lifecycle, loyalty, the single
//! customer view. Each call builds the core's `CustomerBase` from the log and
//! catalogue and makes one call; the pandas frames are built in
//! `python/maitre/_customers.py`.

use crate::args;
use crate::convert::to_python;
use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::pool;
use maitre::catalog::{Catalog, Item};
use maitre::customers::{CustomerBase, CustomerSettings, KMeansParams, Representation};
use maitre::events::EventLog;
use pyo3::prelude::*;
use pyo3::types::PyDict;

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

fn items(items: Option<Bound<'_, PyDict>>) -> PyResult<Option<Vec<Item>>> {
    items.map(|i| crate::recommend::items(&i)).transpose()
}

fn now(now: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    now.filter(|n| !n.is_none())
        .map(|n| args::integer("now", n))
        .transpose()
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
    fit_min_days = None, seed = None, threads = None))]
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
) -> PyResult<Bound<'py, PyAny>> {
    let representation = match representation {
        "category_shares" => Representation::CategoryShares,
        other => {
            return Err(to_py(maitre::Error::InvalidParam {
                name: "representation".into(),
                reason: format!(
                    "{other:?}: only \"category_shares\" from Python (vectors: fit ALS in Rust)"
                ),
            }))
        }
    };
    let mut params = KMeansParams::default();
    if let Some(k) = args::opt_count("k", k)? {
        params = params.k(k);
    }
    if let Some(seed) = seed.filter(|s| !s.is_none()) {
        params = params.seed(args::seed("seed", seed)?);
    }
    if let Some(threads) = args::opt_count("threads", threads)? {
        params = params.threads(threads);
    }
    let fit_min_days = args::opt_count("fit_min_days", fit_min_days)?.unwrap_or(1);
    let items = self::items(items)?;
    let log: &PyEventLog = &log;
    let out = pool::detach_locked(
        py,
        || log.read(),
        |log| -> maitre::Result<serde_json::Value> {
            let mut base = base(log, items, None)?;
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
    let out = pool::detach_locked(
        py,
        || log.read(),
        |log| -> maitre::Result<serde_json::Value> {
            let base = base(log, items, now)?;
            Ok(serde_json::json!({
                "rfm": base.rfm(),
                "lifecycle": base.lifecycle(),
                "loyalty": base.loyalty(),
            }))
        },
    )?
    .map_err(to_py)?;
    to_python(py, &out)
}

/// The single customer view of one customer (see `maitre.customer_view`).
#[pyfunction]
#[pyo3(signature = (log, customer, items = None, recent = None, now = None))]
pub fn customer_view<'py>(
    py: Python<'py>,
    log: PyRef<'py, PyEventLog>,
    customer: String,
    items: Option<Bound<'py, PyDict>>,
    recent: Option<&Bound<'py, PyAny>>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let recent = args::opt_count("recent", recent)?.unwrap_or(50);
    let now = self::now(now)?;
    let items = self::items(items)?;
    let log: &PyEventLog = &log;
    let view = pool::detach_locked(
        py,
        || log.read(),
        |log| base(log, items, now)?.customer_view(&customer, recent),
    )?
    .map_err(to_py)?;
    to_python(py, &view)
}
