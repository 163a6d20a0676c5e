//! `Recommender`: build, serve, save and load.
//!
//! The Python wrapper (`maitre.Recommender` in `python/maitre/_recommend.py`)
//! turns keyword arguments, DataFrames and dicts into two plain shapes this
//! module takes: a request as JSON text, parsed strictly into the core's serde
//! `Request` (`convert::strict_json`), and an item table as a dict of
//! equal-length lists. Each method then makes one core call, with the GIL
//! released when it may take a while, and returns lists and numpy arrays.

use crate::als::PyAlsModel;
use crate::args;
use crate::convert::{strict_json, to_python};
use crate::errors::to_py;
use crate::events::PyEventLog;
use crate::pool;
use maitre::artifact::Flavour;
use maitre::catalog::{Catalog, Item, ItemKind};
use maitre::embed::ColdStartParams;
use maitre::error::{BadRow, Location, Problem};
use maitre::index::{HnswParams, IndexKind, IndexParams};
use maitre::recommend::{
    BuildOptions, Filters, Reason, Recommendation, Recommender, Request, ServeSettings,
};
use maitre::Error;
use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The native recommender. Use ``maitre.Recommender``, which wraps it with
/// keyword arguments, DataFrames and pickling.
///
/// Safe to share between threads: serving takes a read lock with the GIL
/// released, so many requests run at once; ``add_item`` takes the write lock
/// (also with the GIL released) and waits for the requests in flight.
#[pyclass(name = "Recommender", module = "maitre._maitre", frozen)]
pub struct PyRecommender {
    inner: RwLock<Recommender>,
}

impl PyRecommender {
    fn new(inner: Recommender) -> Self {
        PyRecommender {
            inner: RwLock::new(inner),
        }
    }

    /// The recommender for reading. Always called with the GIL released (in
    /// `py.detach`), so no thread waits for the lock while holding the GIL.
    /// Nothing panics while a lock is held, but a poisoned lock still holds a
    /// consistent value: take it.
    fn read(&self) -> RwLockReadGuard<'_, Recommender> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Recommender> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The reason code and the items (or the context pair) behind it.
fn reason(r: &Reason) -> (&'static str, Option<Vec<String>>) {
    match r {
        Reason::Because { items } => ("because", Some(items.clone())),
        Reason::Taste => ("taste", None),
        Reason::Pinned => ("pinned", None),
        Reason::PopularInContext { context } => ("popular_in_context", Some(vec![context.clone()])),
        Reason::Popular => ("popular", None),
        Reason::NewArrival => ("new_arrival", None),
    }
}

/// Ids, scores and, when asked, the reasons of a list.
type Listed<'py> = (
    Vec<String>,
    Bound<'py, PyArray1<f32>>,
    Option<(Vec<&'static str>, Vec<Option<Vec<String>>>)>,
);

fn listed(py: Python<'_>, list: Vec<Recommendation>, details: bool) -> Listed<'_> {
    let scores = list.iter().map(|r| r.score).collect();
    let why = details.then(|| list.iter().map(|r| reason(&r.reason)).unzip());
    let ids = list.into_iter().map(|r| r.item).collect();
    (ids, PyArray1::from_vec(py, scores), why)
}

fn flavour(name: &str) -> PyResult<Flavour> {
    match name {
        "full" => Ok(Flavour::Full),
        "storefront" => Ok(Flavour::Storefront),
        other => Err(to_py(Error::InvalidParam {
            name: "flavour".into(),
            reason: format!("{other:?} is not \"full\" or \"storefront\""),
        })),
    }
}

fn column<'py, T: FromPyObjectOwned<'py>>(
    columns: &Bound<'py, PyDict>,
    name: &str,
    rows: usize,
) -> PyResult<Vec<T>> {
    let col = columns.get_item(name)?.ok_or_else(|| {
        to_py(Error::MissingColumn {
            column: name.into(),
            present: String::new(),
        })
    })?;
    let values = col.extract::<Vec<T>>()?;
    if values.len() != rows {
        return Err(to_py(Error::LengthMismatch {
            name: name.into(),
            expected: rows,
            got: values.len(),
        }));
    }
    Ok(values)
}

/// Catalogue items from the wrapper's columns: id, kind, category, brand,
/// price_band (str or None), price (float or None), tags (lists of str),
/// in_stock (bool). An unknown kind is a bad record at its row.
pub(crate) fn items(columns: &Bound<'_, PyDict>) -> PyResult<Vec<Item>> {
    let ids: Vec<String> = columns
        .get_item("id")?
        .ok_or_else(|| {
            to_py(Error::MissingColumn {
                column: "id".into(),
                present: String::new(),
            })
        })?
        .extract()?;
    let n = ids.len();
    let kinds: Vec<Option<String>> = column(columns, "kind", n)?;
    let categories: Vec<Option<String>> = column(columns, "category", n)?;
    let brands: Vec<Option<String>> = column(columns, "brand", n)?;
    let bands: Vec<Option<String>> = column(columns, "price_band", n)?;
    let prices: Vec<Option<f64>> = column(columns, "price", n)?;
    let tags: Vec<Vec<String>> = column(columns, "tags", n)?;
    let stock: Vec<bool> = column(columns, "in_stock", n)?;
    let mut out = Vec::with_capacity(n);
    for (row, id) in ids.into_iter().enumerate() {
        let kind = match &kinds[row] {
            None => ItemKind::default(),
            Some(k) => k.parse::<ItemKind>().map_err(|_| {
                to_py(Error::BadRecord(BadRow {
                    location: Location::Index(row),
                    field: "kind".into(),
                    problem: Problem::Malformed(format!(
                        "{k:?} is not an item kind (product, content, offer or service)"
                    )),
                }))
            })?,
        };
        out.push(Item {
            id,
            kind,
            category: categories[row].clone(),
            brand: brands[row].clone(),
            price_band: bands[row].clone(),
            price: prices[row].map(|p| p as f32),
            tags: tags[row].clone(),
            in_stock: stock[row],
        });
    }
    Ok(out)
}

/// Catalogue items as the columns `items` reads (tags as lists of str).
pub(crate) fn item_columns<'py>(py: Python<'py>, items: &[Item]) -> PyResult<Bound<'py, PyDict>> {
    let columns = PyDict::new(py);
    let text = |f: fn(&Item) -> &Option<String>| items.iter().map(f).cloned().collect::<Vec<_>>();
    columns.set_item(
        "id",
        items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
    )?;
    columns.set_item(
        "kind",
        items.iter().map(|i| i.kind.name()).collect::<Vec<_>>(),
    )?;
    columns.set_item("category", text(|i| &i.category))?;
    columns.set_item("brand", text(|i| &i.brand))?;
    columns.set_item("price_band", text(|i| &i.price_band))?;
    columns.set_item("price", items.iter().map(|i| i.price).collect::<Vec<_>>())?;
    columns.set_item(
        "tags",
        items.iter().map(|i| i.tags.clone()).collect::<Vec<_>>(),
    )?;
    columns.set_item(
        "in_stock",
        items.iter().map(|i| i.in_stock).collect::<Vec<_>>(),
    )?;
    Ok(columns)
}

#[pymethods]
impl PyRecommender {
    /// Builds a recommender from the log `model` was fitted on (see
    /// ``maitre.Recommender.build``). `items` is a dict of columns (id, kind,
    /// category, brand, price_band, price, tags, in_stock) or None. The
    /// caller's log is not changed.
    #[staticmethod]
    #[pyo3(signature = (log, model, items = None, attributes = true, without_customers = false,
        index = "auto", hnsw = None, calibrate_new_items = None))]
    #[allow(clippy::too_many_arguments)]
    fn build(
        py: Python<'_>,
        log: PyRef<'_, PyEventLog>,
        model: PyRef<'_, PyAlsModel>,
        items: Option<Bound<'_, PyDict>>,
        attributes: bool,
        without_customers: bool,
        index: &str,
        hnsw: Option<Bound<'_, PyDict>>,
        calibrate_new_items: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let calibrate_new_items =
            args::opt_real("calibrate_new_items", calibrate_new_items.as_ref())?.map(|s| s as f32);
        let kind = match index {
            "auto" => IndexKind::Auto,
            "exact" => IndexKind::Exact,
            "hnsw" => IndexKind::Hnsw,
            other => {
                return Err(to_py(Error::InvalidParam {
                    name: "index".into(),
                    reason: format!("{other:?} is not \"auto\", \"exact\" or \"hnsw\""),
                }))
            }
        };
        let items = match items {
            Some(columns) => self::items(&columns)?,
            None => Vec::new(),
        };
        let mut index = IndexParams::default().kind(kind);
        if let Some(settings) = hnsw {
            index = index.hnsw(hnsw_params(&settings)?);
        }
        let options = BuildOptions {
            index,
            attributes: attributes.then(ColdStartParams::default),
            calibrate_new_items,
            without_customers,
            ..BuildOptions::default()
        };
        let log: &PyEventLog = &log;
        let model = model.inner.clone();
        let inner = pool::detach_locked(
            py,
            || log.read(),
            |log| {
                let mut log = (**log).clone();
                let catalog = Catalog::aligned(&mut log, items)?;
                Recommender::build(&log, &catalog, model, &options)
            },
        )?
        .map_err(to_py)?;
        Ok(PyRecommender::new(inner))
    }

    /// One request (JSON of the core's `Request`): (ids, scores, reasons or None).
    #[pyo3(signature = (request, details = false))]
    fn _recommend<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        details: bool,
    ) -> PyResult<Listed<'py>> {
        let request: Request = strict_json("request", request)?;
        let list = py
            .detach(|| self.read().recommend(&request))
            .map_err(to_py)?;
        Ok(listed(py, list, details))
    }

    /// The request (JSON) for each customer, in parallel in the core with the
    /// GIL released. Returns (item rows: int64 (n, k), -1 where a list is
    /// shorter; scores: float32 (n, k), NaN there; reason codes, flat, or None).
    /// The first failed request raises its error. `contexts`, when given,
    /// holds one list of (key, value) pairs per customer, added to the
    /// request's own context for that customer's row.
    #[pyo3(signature = (request, customers, details = false, contexts = None))]
    #[allow(clippy::type_complexity)]
    fn _recommend_batch<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        customers: Vec<String>,
        details: bool,
        contexts: Option<Vec<Vec<(String, String)>>>,
    ) -> PyResult<(
        Bound<'py, PyArray2<i64>>,
        Bound<'py, PyArray2<f32>>,
        Option<Vec<&'static str>>,
    )> {
        let template: Request = strict_json("request", request)?;
        let n = customers.len();
        if let Some(rows) = &contexts {
            if rows.len() != n {
                return Err(to_py(Error::LengthMismatch {
                    name: "context (one per customer)".into(),
                    expected: n,
                    got: rows.len(),
                }));
            }
        }
        let mut contexts = contexts.map(Vec::into_iter);
        let (rows, scores, reasons, k) = pool::detach_locked(
            py,
            || self.read(),
            |rec| {
                // The table's width: k capped at the catalogue, and n × width
                // checked against memory, by the core, before anything is allocated.
                let k = rec.batch_width(template.k, n)?;
                let requests: Vec<Request> = customers
                    .into_iter()
                    .map(|c| {
                        let mut request = Request {
                            customer: Some(c),
                            ..template.clone()
                        };
                        if let Some(row) = contexts.as_mut().and_then(Iterator::next) {
                            request.context.extend(row);
                        }
                        request
                    })
                    .collect();
                let mut rows = vec![-1i64; n * k];
                let mut scores = vec![f32::NAN; n * k];
                let mut reasons = if details { vec![""; n * k] } else { Vec::new() };
                for (u, list) in rec.recommend_batch(&requests).into_iter().enumerate() {
                    for (j, r) in list?.into_iter().take(k).enumerate() {
                        rows[u * k + j] = i64::from(r.index);
                        scores[u * k + j] = r.score;
                        if details {
                            reasons[u * k + j] = reason(&r.reason).0;
                        }
                    }
                }
                Ok::<_, Error>((rows, scores, reasons, k))
            },
        )?
        .map_err(to_py)?;
        let rows = PyArray1::from_vec(py, rows).reshape([n, k])?;
        let scores = PyArray1::from_vec(py, scores).reshape([n, k])?;
        Ok((rows, scores, details.then_some(reasons)))
    }

    /// Every item id, by row (the rows `_recommend_batch` returns).
    fn item_ids(&self, py: Python<'_>) -> Vec<String> {
        py.detach(|| {
            self.read()
                .catalog()
                .items()
                .iter()
                .map(|i| i.id.clone())
                .collect()
        })
    }

    /// Items most like `item` under `filters` (JSON of the core's `Filters`, or None).
    #[pyo3(signature = (item, k, filters = None))]
    fn _similar_items<'py>(
        &self,
        py: Python<'py>,
        item: &str,
        k: &Bound<'py, PyAny>,
        filters: Option<&str>,
    ) -> PyResult<Listed<'py>> {
        let k = args::count("k", k)?;
        let filters: Filters = match filters {
            Some(json) => strict_json("filters", json)?,
            None => Filters::default(),
        };
        let list = py
            .detach(|| self.read().similar_items(item, k, &filters))
            .map_err(to_py)?;
        Ok(listed(py, list, false))
    }

    /// The `k` known customers most likely to want `item`: (ids, scores).
    #[pyo3(signature = (item, k))]
    fn _customers_for_item<'py>(
        &self,
        py: Python<'py>,
        item: &str,
        k: &Bound<'py, PyAny>,
    ) -> PyResult<(Vec<String>, Bound<'py, PyArray1<f32>>)> {
        let k = args::count("k", k)?;
        let list = pool::detach_locked(py, || self.read(), |rec| rec.customers_for_item(item, k))?
            .map_err(to_py)?;
        let (ids, scores): (Vec<String>, Vec<f32>) = list.into_iter().unzip();
        Ok((ids, PyArray1::from_vec(py, scores)))
    }

    /// For each customer, their own `candidates` ordered for the request
    /// (JSON) with that customer, in parallel in the core with the GIL
    /// released. Returns flat arrays over every candidate: (customer
    /// position, item row, score, reason codes or None), each customer's
    /// best first. The first failed customer raises its error.
    #[pyo3(signature = (request, customers, candidates, details = false))]
    #[allow(clippy::type_complexity)]
    fn _rerank_batch<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        customers: Vec<String>,
        candidates: Vec<Vec<String>>,
        details: bool,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f32>>,
        Option<Vec<&'static str>>,
    )> {
        let template: Request = strict_json("request", request)?;
        if candidates.len() != customers.len() {
            return Err(to_py(Error::LengthMismatch {
                name: "candidates (one list per customer)".into(),
                expected: customers.len(),
                got: candidates.len(),
            }));
        }
        let batch: Vec<(Request, Vec<String>)> = customers
            .into_iter()
            .zip(candidates)
            .map(|(c, items)| {
                let request = Request {
                    customer: Some(c),
                    ..template.clone()
                };
                (request, items)
            })
            .collect();
        let (owners, rows, scores, reasons) = pool::detach_locked(
            py,
            || self.read(),
            |rec| {
                let (mut owners, mut rows, mut scores, mut reasons) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for (u, list) in rec.rerank_batch(&batch).into_iter().enumerate() {
                    for r in list? {
                        owners.push(u as i64);
                        rows.push(i64::from(r.index));
                        scores.push(r.score);
                        if details {
                            reasons.push(reason(&r.reason).0);
                        }
                    }
                }
                Ok::<_, Error>((owners, rows, scores, reasons))
            },
        )?
        .map_err(to_py)?;
        Ok((
            PyArray1::from_vec(py, owners),
            PyArray1::from_vec(py, rows),
            PyArray1::from_vec(py, scores),
            details.then_some(reasons),
        ))
    }

    /// `candidates` ordered for the request (JSON): (ids, scores, reasons or None).
    #[pyo3(signature = (request, candidates, details = false))]
    fn _rerank<'py>(
        &self,
        py: Python<'py>,
        request: &str,
        candidates: Vec<String>,
        details: bool,
    ) -> PyResult<Listed<'py>> {
        let request: Request = strict_json("request", request)?;
        let list = py
            .detach(|| self.read().rerank(&request, &candidates))
            .map_err(to_py)?;
        Ok(listed(py, list, details))
    }

    /// Adds the one item of `columns` (as for `build`), with `vector` or a
    /// cold-start vector from its attributes. Returns its row.
    ///
    /// Waits (with the GIL released) for requests in flight, then adds the
    /// item under the write lock: all or nothing.
    #[pyo3(signature = (columns, vector = None))]
    fn _add_item(
        &self,
        py: Python<'_>,
        columns: Bound<'_, PyDict>,
        vector: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u32> {
        let vector: Option<Vec<f32>> = vector
            .filter(|v| !v.is_none())
            .map(|v| args::reals("vector", v))
            .transpose()?
            .map(|v| v.into_iter().map(|x| x as f32).collect());
        let mut items = items(&columns)?;
        if items.len() != 1 {
            return Err(to_py(Error::LengthMismatch {
                name: "item".into(),
                expected: 1,
                got: items.len(),
            }));
        }
        let item = items.remove(0);
        py.detach(|| self.write().add_item(item, vector))
            .map_err(to_py)
    }

    /// Removes a known customer (see `Recommender.forget`).
    fn _forget<'py>(&self, py: Python<'py>, customer: &str) -> PyResult<Bound<'py, PyAny>> {
        let gone = py.detach(|| self.write().forget(customer)).map_err(to_py)?;
        to_python(py, &gone)
    }

    /// The serving settings, as a dict (context_weight, session_weight,
    /// popular_per_context).
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let settings = py.detach(|| self.read().settings().clone());
        to_python(py, &settings)
    }

    /// Replaces the serving settings with `settings` (JSON of the core's
    /// `ServeSettings`; unknown keys and bad values are errors and change
    /// nothing). Waits for requests in flight, like `_add_item`.
    fn _set_settings(&self, py: Python<'_>, settings: &str) -> PyResult<()> {
        let settings: ServeSettings = strict_json("settings", settings)?;
        py.detach(|| self.write().set_settings(settings))
            .map_err(to_py)
    }

    /// Writes the artifact atomically; `flavour` is "full" or "storefront".
    #[pyo3(signature = (path, flavour = "full"))]
    fn save(&self, py: Python<'_>, path: PathBuf, flavour: &str) -> PyResult<()> {
        let flavour = self::flavour(flavour)?;
        py.detach(|| self.read().save(&path, flavour))
            .map_err(to_py)
    }

    /// Reads an artifact file.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = pool::detach(py, || Recommender::load(&path))?.map_err(to_py)?;
        Ok(PyRecommender::new(inner))
    }

    /// The artifact as bytes; `flavour` is "full" or "storefront".
    #[pyo3(signature = (flavour = "full"))]
    fn to_bytes<'py>(&self, py: Python<'py>, flavour: &str) -> PyResult<Bound<'py, PyBytes>> {
        let flavour = self::flavour(flavour)?;
        let bytes = py.detach(|| self.read().to_bytes(flavour)).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads artifact bytes (from `to_bytes`).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let inner = pool::detach(py, || Recommender::from_bytes(data))?.map_err(to_py)?;
        Ok(PyRecommender::new(inner))
    }

    /// Whether known customers are kept (False for the storefront flavour).
    #[getter]
    fn has_customers(&self, py: Python<'_>) -> bool {
        py.detach(|| self.read().has_customers())
    }

    /// Items, factors and customers, as a dict.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let summary = py.detach(|| {
            let rec = self.read();
            serde_json::json!({
                "items": rec.catalog().len(),
                "factors": rec.item_vectors().k(),
                "customers": rec.customers().map_or(0, |c| c.ids.len()),
            })
        });
        to_python(py, &summary)
    }
}

/// HNSW parameters from a dict of `max_connections`, `ef_construction`,
/// `ef_search` and `seed` (each optional, integers); any other key is an
/// error, so a misspelt setting is never silently ignored. The core checks
/// the values.
fn hnsw_params(settings: &Bound<'_, PyDict>) -> PyResult<HnswParams> {
    let mut params = HnswParams::default();
    for (key, value) in settings.iter() {
        let name: String = key.extract()?;
        // Integers only (not bools or floats), as every count: args.rs.
        let field = format!("hnsw.{name}");
        let count = || args::count(&field, &value);
        params = match name.as_str() {
            "max_connections" => params.max_connections(count()?),
            "ef_construction" => params.ef_construction(count()?),
            "ef_search" => params.ef_search(count()?),
            "seed" => params.seed(args::seed(&field, &value)?),
            _ => {
                return Err(to_py(Error::InvalidParam {
                    name: format!("hnsw.{name}"),
                    reason: "not one of max_connections, ef_construction, ef_search, seed".into(),
                }))
            }
        };
    }
    params.validate().map_err(to_py)?;
    Ok(params)
}
