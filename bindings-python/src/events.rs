//! `EventLog`: ingestion from files and columns, identity links, summaries.
//!
//! Each method converts its arguments, makes one core call with the GIL
//! released, and converts the result. Pandas handling lives in Python
//! (`python/maitre/_frames.py`); `extend_columns` receives plain lists and
//! float64 arrays.

use crate::args;
use crate::convert::to_python;
use crate::errors::to_py;
use crate::pool;
use maitre::events::{
    Columns, EventKinds, EventLog, IngestOptions, Schema, TextColumn, TimeColumn, ValueColumn,
};
use maitre::Error;
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyType};
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A log of behaviour events (who did what to which item, when, how much, in
/// which context), validated and interned.
///
/// Use the subclass `maitre.EventLog`, which adds `from_pandas`, `from_csv`,
/// `from_jsonl` and `extend`.
///
/// Safe to share between threads: reading (fitting, evaluating, summaries)
/// takes a read lock and ingesting the write lock, each acquired with the GIL
/// released, so an ingestion waits for the fits in flight and the other way
/// round, instead of raising "Already borrowed".
#[pyclass(name = "EventLog", module = "maitre._maitre", subclass, frozen)]
pub struct PyEventLog {
    inner: RwLock<EventLog>,
}

impl PyEventLog {
    /// An instance of `cls` (the Python subclass, usually) holding `log`.
    fn build<'py>(cls: &Bound<'py, PyType>, log: EventLog) -> PyResult<Bound<'py, PyAny>> {
        let obj = cls.call0()?;
        *obj.cast::<PyEventLog>()?.get().write() = log;
        Ok(obj)
    }

    /// The log for reading. Call it with the GIL released (inside
    /// `py.detach`): a thread that waits for the lock must not hold the GIL,
    /// since the holder may need it (a progress callback, the next chunk).
    /// A poisoned lock still holds a consistent log (nothing panics while
    /// it is held): take it.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, EventLog> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The log for writing; with the GIL released, as `read`.
    fn write(&self) -> RwLockWriteGuard<'_, EventLog> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn schema(
    customer: String,
    item: String,
    kind: String,
    timestamp: String,
    value: String,
    context: Option<Vec<String>>,
) -> Schema {
    Schema {
        customer,
        item,
        kind,
        timestamp,
        value,
        context,
    }
}

fn options(skip_bad_rows: bool) -> IngestOptions {
    if skip_bad_rows {
        IngestOptions::default().skip_bad_rows()
    } else {
        IngestOptions::default()
    }
}

/// A storefront size: a name or a number of customers (a Python or numpy
/// integer; the core checks the range).
pub(crate) fn size(value: Option<&Bound<'_, PyAny>>) -> PyResult<maitre::datasets::Size> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(maitre::datasets::Size::Tiny);
    };
    let text = match value.extract::<String>() {
        Ok(name) => name,
        Err(_) => args::seed("size", value)?.to_string(),
    };
    text.parse().map_err(to_py)
}

/// A seed argument (None: 0).
fn seed_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    value
        .filter(|v| !v.is_none())
        .map_or(Ok(0), |v| args::seed("seed", v))
}

/// The synthetic storefront's catalogue, as columns (see
/// `maitre.synthetic_catalog`): item `i` is the log's item `i`.
#[pyfunction]
#[pyo3(signature = (seed = None, size = None))]
pub fn synthetic_catalog<'py>(
    py: Python<'py>,
    seed: Option<&Bound<'py, PyAny>>,
    size: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (seed, size) = (seed_arg(seed)?, self::size(size)?);
    let shop =
        pool::detach(py, || maitre::datasets::synthetic_storefront(seed, size))?.map_err(to_py)?;
    crate::recommend::item_columns(py, shop.catalog.items())
}

/// Where MovieLens 100K is (see `maitre.movielens_dir`): the core resolves it.
#[pyfunction]
#[pyo3(signature = (path = None))]
pub fn movielens_dir(path: Option<PathBuf>) -> PyResult<PathBuf> {
    maitre::datasets::movielens::locate(path.as_deref()).map_err(to_py)
}

/// MovieLens 100K's movies, as columns (see `maitre.load_movielens_catalog`).
#[pyfunction]
#[pyo3(signature = (path = None))]
pub fn movielens_catalog(py: Python<'_>, path: Option<PathBuf>) -> PyResult<Bound<'_, PyDict>> {
    let dir = movielens_dir(path)?;
    let movielens = py
        .detach(|| maitre::datasets::movielens::load(&dir))
        .map_err(to_py)?;
    crate::recommend::item_columns(py, movielens.catalog.items())
}

/// A value column: float64 numbers (NaN where a row has none), numbers or
/// nothing per row, or text for the core to parse.
enum Values {
    Floats(Lent<f64>),
    Numbers(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

/// A timestamp column: float64 epoch seconds, or text (epoch seconds or RFC 3339).
enum Times {
    Seconds(Lent<f64>),
    Text(Vec<String>),
}

/// A numpy array's elements for the core, which reads them on its own
/// thread without the GIL: read where they lie when the array is
/// contiguous, aligned and read-only (how `_frames.py` hands over Arrow's
/// buffers), else copied. Copying every id byte, offset, timestamp and
/// value once more was ~8 % of `from_parquet`'s CPU at 10 M events. The
/// core checks what it reads either way (offsets, UTF-8, codes); memory a
/// caller's other thread writes anyway through a writeable base array
/// while the call runs is that caller's race, as with numpy's own loops
/// that run without the GIL.
enum Lent<T> {
    Copied(Vec<T>),
    /// `len` elements at `data`, inside `_array`'s buffer, which this keeps
    /// alive; read-only, so neither Python nor numpy writes it meanwhile.
    InPlace {
        data: *const T,
        len: usize,
        _array: Py<PyAny>,
    },
}

// SAFETY: the elements are plain numbers nobody writes while this lives
// (`lend` only keeps read-only arrays in place), and `Py` is Send and Sync.
unsafe impl<T: Sync> Send for Lent<T> {}
unsafe impl<T: Sync> Sync for Lent<T> {}

impl<T: numpy::Element + Copy> Lent<T> {
    fn lend(array: &PyReadonlyArray1<'_, T>) -> PyResult<Self> {
        use numpy::{PyArrayMethods, PyUntypedArrayMethods};
        let untyped = array.as_untyped();
        let ptr = array.data() as *const T;
        let in_place = untyped.is_c_contiguous()
            && untyped.len() > 0
            && ptr.is_aligned()
            && !untyped
                .getattr("flags")?
                .getattr("writeable")?
                .extract::<bool>()?;
        Ok(if in_place {
            Lent::InPlace {
                data: ptr,
                len: untyped.len(),
                _array: array.as_any().clone().unbind(),
            }
        } else {
            Lent::Copied(array.as_array().to_vec())
        })
    }
}

impl<T> std::ops::Deref for Lent<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Lent::Copied(v) => v,
            // SAFETY: `lend` checked that `data` is aligned and starts `len`
            // contiguous elements of the array `_array` keeps alive.
            Lent::InPlace { data, len, .. } => unsafe { std::slice::from_raw_parts(*data, *len) },
        }
    }
}

fn column<'py>(columns: &Bound<'py, PyMapping>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    if !columns.contains(name)? {
        return Ok(None);
    }
    let col = columns.get_item(name)?;
    Ok((!col.is_none()).then_some(col))
}

fn required<'py>(columns: &Bound<'py, PyMapping>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    column(columns, name)?.ok_or_else(|| {
        let present: Vec<String> = columns.keys().and_then(|k| k.extract()).unwrap_or_default();
        to_py(Error::MissingColumn {
            column: name.to_owned(),
            present: present.join(", "),
        })
    })
}

fn floats(col: &Bound<'_, PyAny>) -> PyResult<Option<Lent<f64>>> {
    col.extract::<PyReadonlyArray1<'_, f64>>()
        .ok()
        .map(|a| Lent::lend(&a))
        .transpose()
}

/// A text column as it crossed: a list of str (or str-or-None); a
/// dictionary-encoded pair `(codes, values)`: an int64 array and the list
/// of distinct strings (how `_frames.py` sends pandas columns, factorized);
/// or Arrow's buffers `(offsets, data, nulls)`: int64 offsets (one more than
/// the rows), the uint8 UTF-8 bytes, and a bool array or None (how Arrow
/// text crosses, with no Python object per string).
enum Text {
    Plain(Vec<String>),
    Optional(Vec<Option<String>>),
    Coded {
        codes: Lent<i64>,
        values: Vec<String>,
    },
    Utf8 {
        offsets: Lent<i64>,
        data: Lent<u8>,
        nulls: Option<Vec<bool>>,
    },
}

/// A column's null mask, which must have one entry per row.
fn null_mask(mask: Option<PyReadonlyArray1<'_, bool>>, rows: usize) -> PyResult<Option<Vec<bool>>> {
    let mask = mask.map(|n| n.as_array().to_vec());
    match mask {
        Some(n) if n.len() != rows => Err(to_py(Error::LengthMismatch {
            name: "nulls".to_owned(),
            expected: rows,
            got: n.len(),
        })),
        mask => Ok(mask),
    }
}

impl Text {
    fn convert(col: &Bound<'_, PyAny>, optional: bool) -> PyResult<Self> {
        if let Ok((codes, values)) = col.extract::<(PyReadonlyArray1<'_, i64>, Vec<String>)>() {
            let codes = Lent::lend(&codes)?;
            return Ok(Text::Coded { codes, values });
        }
        type Buffers<'py> = (
            PyReadonlyArray1<'py, i64>,
            PyReadonlyArray1<'py, u8>,
            Option<PyReadonlyArray1<'py, bool>>,
        );
        type Integers<'py> = (
            String,
            PyReadonlyArray1<'py, i64>,
            Option<PyReadonlyArray1<'py, bool>>,
        );
        if let Ok((tag, ints, nulls)) = col.extract::<Integers<'_>>() {
            if tag == "int64" {
                let ints = ints.as_array();
                let nulls = null_mask(nulls, ints.len())?;
                return Ok(Self::integers(ints.iter().copied(), nulls));
            }
        }
        if let Ok((offsets, data, nulls)) = col.extract::<Buffers<'_>>() {
            let offsets = Lent::lend(&offsets)?;
            let nulls = null_mask(nulls, offsets.len().saturating_sub(1))?;
            let data = Lent::lend(&data)?;
            return Ok(Text::Utf8 {
                offsets,
                data,
                nulls,
            });
        }
        Ok(if optional {
            Text::Optional(col.extract()?)
        } else {
            Text::Plain(col.extract()?)
        })
    }

    /// Integer ids as their decimal text, in Arrow's layout (what Arrow's
    /// cast to text gives, written in one pass without it). `nulls` has one
    /// entry per id ([`null_mask`]).
    fn integers(ints: impl ExactSizeIterator<Item = i64>, nulls: Option<Vec<bool>>) -> Self {
        let mut offsets = Vec::with_capacity(ints.len() + 1);
        let mut data = Vec::with_capacity(ints.len() * 8);
        offsets.push(0);
        for (i, id) in ints.enumerate() {
            if !nulls.as_ref().is_some_and(|n| n[i]) {
                push_decimal(&mut data, id);
            }
            offsets.push(data.len() as i64);
        }
        Text::Utf8 {
            offsets: Lent::Copied(offsets),
            data: Lent::Copied(data),
            nulls,
        }
    }

    fn column(&self) -> TextColumn<'_> {
        match self {
            Text::Plain(v) => TextColumn::Plain(v),
            Text::Optional(v) => TextColumn::Optional(v),
            Text::Coded { codes, values } => TextColumn::Coded { codes, values },
            Text::Utf8 {
                offsets,
                data,
                nulls,
            } => TextColumn::Utf8 {
                offsets,
                data,
                nulls: nulls.as_deref(),
            },
        }
    }
}

/// Appends `v`'s decimal text, as Arrow's cast to text writes it, digit by
/// digit into the vector's spare room: `extend_from_slice` of an id's few
/// bytes was a `memcpy` call per id, ~5 % of `from_parquet`'s CPU at 10 M
/// events with integer item ids.
fn push_decimal(out: &mut Vec<u8>, v: i64) {
    let mut rest = v.unsigned_abs();
    let digits = rest.checked_ilog10().map_or(1, |d| d as usize + 1);
    let sign = usize::from(v < 0);
    out.reserve(sign + digits);
    let text = &mut out.spare_capacity_mut()[..sign + digits];
    if v < 0 {
        text[0].write(b'-');
    }
    for digit in text[sign..].iter_mut().rev() {
        digit.write(b'0' + (rest % 10) as u8);
        rest /= 10;
    }
    // SAFETY: the `sign + digits` bytes past the length were just written.
    unsafe { out.set_len(out.len() + sign + digits) };
}

/// One converted column chunk, owned, ready to lend to the core as `Columns`.
struct Chunk {
    customers: Text,
    items: Text,
    kinds: Text,
    times: Times,
    values: Option<Values>,
    context: Vec<(String, Text)>,
}

impl Chunk {
    /// `columns` maps column names to: lists of str (customer, item, kind); a
    /// float64 array of epoch seconds or a list of str (timestamp); a float64
    /// array or a list of float-or-None or str-or-None (value); lists of
    /// str-or-None (context). A column whose value is None counts as absent.
    fn convert(columns: &Bound<'_, PyMapping>, schema: &Schema) -> PyResult<Self> {
        let customers = Text::convert(&required(columns, &schema.customer)?, false)?;
        let items = Text::convert(&required(columns, &schema.item)?, false)?;
        let kinds = Text::convert(&required(columns, &schema.kind)?, false)?;
        let times = required(columns, &schema.timestamp)?;
        let times = match floats(&times)? {
            Some(seconds) => Times::Seconds(seconds),
            None => match times.extract::<Vec<String>>() {
                Ok(text) => Times::Text(text),
                Err(_) => Times::Seconds(Lent::Copied(times.extract()?)),
            },
        };
        let values = match column(columns, &schema.value)? {
            None => None,
            Some(col) => Some(match floats(&col)? {
                Some(v) => Values::Floats(v),
                None => match col.extract::<Vec<Option<f64>>>() {
                    Ok(v) => Values::Numbers(v),
                    Err(_) => Values::Text(col.extract()?),
                },
            }),
        };
        let context_names: Vec<String> = match &schema.context {
            Some(names) => names.clone(),
            None => columns
                .keys()?
                .extract::<Vec<String>>()?
                .into_iter()
                .filter(|k| {
                    ![
                        &schema.customer,
                        &schema.item,
                        &schema.kind,
                        &schema.timestamp,
                        &schema.value,
                    ]
                    .contains(&k)
                })
                .collect(),
        };
        let mut context = Vec::with_capacity(context_names.len());
        for name in context_names {
            if let Some(col) = column(columns, &name)? {
                context.push((name, Text::convert(&col, true)?));
            }
        }
        Ok(Chunk {
            customers,
            items,
            kinds,
            times,
            values,
            context,
        })
    }

    /// The context columns as the core borrows them.
    fn context(&self) -> Vec<(String, TextColumn<'_>)> {
        self.context
            .iter()
            .map(|(name, text)| (name.clone(), text.column()))
            .collect()
    }

    fn columns<'a>(&'a self, context: &'a [(String, TextColumn<'a>)]) -> Columns<'a> {
        Columns {
            customer: self.customers.column(),
            item: self.items.column(),
            kind: self.kinds.column(),
            timestamp: match &self.times {
                Times::Seconds(s) => TimeColumn::Seconds(s),
                Times::Text(s) => TimeColumn::Text(s),
            },
            value: self.values.as_ref().map(|v| match v {
                Values::Floats(v) => ValueColumn::Floats(v),
                Values::Numbers(v) => ValueColumn::Numbers(v),
                Values::Text(v) => ValueColumn::Text(v),
            }),
            context,
        }
    }
}

#[pymethods]
impl PyEventLog {
    /// An empty log.
    ///
    /// Parameters:
    ///     kinds: the event kinds it accepts, as ``{kind: weight}`` (the
    ///         confidence one event adds; negative for kinds that count
    ///         against an item, such as returns). None: the defaults, view 1,
    ///         click 1, cart 3, purchase 5, rating 1 × the rating, review 2,
    ///         share 2, return −4, dislike −3, complaint −4.
    ///     scaled: kinds among ``kinds`` whose weight is multiplied by each
    ///         event's value (a rating, a quantity). Only with ``kinds``.
    ///
    /// Raises InvalidParamError for an empty mapping, a non-finite weight, or
    /// a ``scaled`` kind that is not in ``kinds``.
    ///
    /// Example:
    ///     >>> len(maitre.EventLog())
    ///     0
    ///     >>> log = maitre.EventLog({"view": 0.5, "purchase": 4, "stars": 1}, scaled=["stars"])
    ///     >>> log.kinds()
    ///     {'view': 0.5, 'purchase': 4.0, 'stars': 1.0}
    ///     >>> log.scaled_kinds()
    ///     ['stars']
    #[new]
    #[pyo3(signature = (kinds = None, *, scaled = None))]
    fn new(kinds: Option<&Bound<'_, PyAny>>, scaled: Option<Vec<String>>) -> PyResult<Self> {
        let log = match (kinds, scaled) {
            (None, None) => EventLog::new(),
            (None, Some(_)) => {
                return Err(to_py(Error::param(
                    "scaled",
                    "give it with kinds={kind: weight, ...}",
                )))
            }
            (Some(kinds), scaled) => {
                let mapping = kinds.cast::<PyMapping>().map_err(|_| {
                    to_py(Error::param("kinds", "expected a mapping {kind: weight}"))
                })?;
                let mut weights = Vec::new();
                for pair in mapping.items()?.iter() {
                    let (name, weight): (String, Bound<'_, PyAny>) = pair.extract()?;
                    let weight = args::real(&format!("weight of {name:?}"), &weight)?;
                    weights.push((name, weight as f32));
                }
                let kinds = EventKinds::from_weights(&weights, &scaled.unwrap_or_default())
                    .map_err(to_py)?;
                EventLog::with_kinds(kinds)
            }
        };
        Ok(PyEventLog {
            inner: RwLock::new(log),
        })
    }

    /// The kinds this log accepts, as ``{kind: weight}``.
    ///
    /// Example:
    ///     >>> maitre.EventLog().kinds()["purchase"]
    ///     5.0
    fn kinds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let weights: Vec<(String, f32)> = py.detach(|| {
            let log = self.read();
            let specs = log.kinds().specs();
            specs.iter().map(|s| (s.name.clone(), s.weight)).collect()
        });
        let out = PyDict::new(py);
        for (name, weight) in weights {
            out.set_item(name, weight)?;
        }
        Ok(out)
    }

    /// The kinds whose weight is multiplied by each event's value.
    ///
    /// Example:
    ///     >>> maitre.EventLog().scaled_kinds()
    ///     ['rating']
    fn scaled_kinds(&self, py: Python<'_>) -> Vec<String> {
        py.detach(|| {
            let log = self.read();
            let specs = log.kinds().specs();
            specs
                .iter()
                .filter(|s| s.scale_by_value)
                .map(|s| s.name.clone())
                .collect()
        })
    }

    /// The canonical customer id of any of a person's ids (after identity
    /// links), or None for an id never seen.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> log.link("anon-7", "c42", 1714564800)
    ///     >>> log.resolve("anon-7"), log.resolve("nobody")
    ///     ('c42', None)
    fn resolve(&self, py: Python<'_>, id: &str) -> Option<String> {
        py.detach(|| {
            let log = self.read();
            let ids = log.identities();
            ids.resolve_name(log.raw_customers(), id).map(str::to_owned)
        })
    }

    /// Every id of the person ``id`` belongs to (itself included), in the
    /// order they were first seen; None for an id never seen.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> log.link("anon-7", "c42", 1714564800)
    ///     >>> log.link("app-3", "c42", 1714564900)
    ///     >>> log.identities("anon-7")
    ///     ['anon-7', 'c42', 'app-3']
    fn identities(&self, py: Python<'_>, id: &str) -> Option<Vec<String>> {
        py.detach(|| {
            let log = self.read();
            let ids = log.identities();
            ids.aliases(log.raw_customers(), id)
                .map(|v| v.into_iter().map(str::to_owned).collect())
        })
    }

    /// A deterministic synthetic storefront (customers, items, channels, returns).
    ///
    /// Parameters:
    ///     seed: the random seed (same seed, same log).
    ///     size: "tiny" (300 customers), "small" (3,000), "medium" (30,000),
    ///         "large" (300,000), or a number of customers up to 1,000,000.
    ///
    /// Raises InvalidParamError for an unknown size.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog.synthetic_storefront(seed=7, size="tiny")
    ///     >>> len(log) > 0
    ///     True
    #[classmethod]
    #[pyo3(signature = (seed = None, size = None))]
    fn synthetic_storefront<'py>(
        cls: &Bound<'py, PyType>,
        seed: Option<&Bound<'py, PyAny>>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (seed, size) = (seed_arg(seed)?, self::size(size)?);
        let shop = pool::detach(cls.py(), || {
            maitre::datasets::synthetic_storefront(seed, size)
        })?
        .map_err(to_py)?;
        Self::build(cls, shop.log)
    }

    /// MovieLens 100K as an event log (kind "rating", value = the rating).
    ///
    /// Parameters:
    ///     path: the data directory; None looks where the core looks
    ///         (the MAITRE_ML100K environment variable, then shared/data/ml-100k
    ///         beside the checkout, then data/ml-100k in it).
    ///
    /// Raises MaitreFileNotFoundError when the data is not there.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog.from_movielens()  # doctest: +SKIP
    ///     >>> log.summary()["customers"]               # doctest: +SKIP
    ///     943
    #[classmethod]
    #[pyo3(signature = (path = None))]
    fn from_movielens<'py>(
        cls: &Bound<'py, PyType>,
        path: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let dir = movielens_dir(path)?;
        let movielens = cls
            .py()
            .detach(|| maitre::datasets::movielens::load(&dir))
            .map_err(to_py)?;
        Self::build(cls, movielens.log)
    }

    /// Appends the rows of a CSV file; returns the ingestion report.
    ///
    /// The batch is all or nothing: on a bad row the log is left as it was and
    /// BadRecordError names the line and the column, unless `skip_bad_rows`.
    ///
    /// Parameters:
    ///     path: the CSV file (with a header).
    ///     customer, item, kind, timestamp, value: column names.
    ///     context: context columns; None takes every other column.
    ///     skip_bad_rows: skip bad rows and count them instead of raising.
    ///
    /// Returns a dict: accepted, skipped, skipped_by_field, first_skipped.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> log.read_csv("events.csv")["accepted"]  # doctest: +SKIP
    ///     120
    #[pyo3(signature = (path, *, customer = "customer_id".to_owned(), item = "item_id".to_owned(),
        kind = "kind".to_owned(), timestamp = "timestamp".to_owned(), value = "value".to_owned(),
        context = None, skip_bad_rows = false))]
    #[allow(clippy::too_many_arguments)]
    fn read_csv<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        customer: String,
        item: String,
        kind: String,
        timestamp: String,
        value: String,
        context: Option<Vec<String>>,
        skip_bad_rows: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let schema = schema(customer, item, kind, timestamp, value, context);
        let report = pool::detach_written(
            py,
            || self.write(),
            |log| log.read_csv_file(&path, &schema, &options(skip_bad_rows)),
        )?
        .map_err(to_py)?;
        to_python(py, &report)
    }

    /// Appends the objects of a JSON Lines file; returns the ingestion report.
    ///
    /// Same parameters and guarantees as `read_csv`. Ids may be strings or
    /// numbers; a `context` object is read as context too.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> log.read_jsonl("events.jsonl")["skipped"]  # doctest: +SKIP
    ///     0
    #[pyo3(signature = (path, *, customer = "customer_id".to_owned(), item = "item_id".to_owned(),
        kind = "kind".to_owned(), timestamp = "timestamp".to_owned(), value = "value".to_owned(),
        context = None, skip_bad_rows = false))]
    #[allow(clippy::too_many_arguments)]
    fn read_jsonl<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        customer: String,
        item: String,
        kind: String,
        timestamp: String,
        value: String,
        context: Option<Vec<String>>,
        skip_bad_rows: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let schema = schema(customer, item, kind, timestamp, value, context);
        let report = pool::detach_written(
            py,
            || self.write(),
            |log| log.read_jsonl_file(&path, &schema, &options(skip_bad_rows)),
        )?
        .map_err(to_py)?;
        to_python(py, &report)
    }

    /// Appends a batch of already converted columns; returns the ingestion report.
    ///
    /// Low level: `maitre.EventLog.extend` converts DataFrames and dicts and calls this.
    /// `columns` maps column names to: lists of str (customer, item, kind); a
    /// float64 array of epoch seconds or a list of str (timestamp); a float64
    /// array or a list of float-or-None (value, optional); lists of str-or-None
    /// (context). A column whose value is None counts as absent.
    ///
    /// Parameters:
    ///     columns: the mapping of column name to column.
    ///     customer, item, kind, timestamp, value: column names.
    ///     context: context columns; None takes every other column.
    ///     skip_bad_rows: skip bad rows and count them instead of raising.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> log.extend_columns({"customer_id": ["c1"], "item_id": ["i1"],
    ///     ...     "kind": ["view"], "timestamp": ["2024-05-01T12:00:00Z"]})["accepted"]
    ///     1
    #[pyo3(signature = (columns, *, customer = "customer_id".to_owned(), item = "item_id".to_owned(),
        kind = "kind".to_owned(), timestamp = "timestamp".to_owned(), value = "value".to_owned(),
        context = None, skip_bad_rows = false))]
    #[allow(clippy::too_many_arguments)]
    fn extend_columns<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyMapping>,
        customer: String,
        item: String,
        kind: String,
        timestamp: String,
        value: String,
        context: Option<Vec<String>>,
        skip_bad_rows: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let schema = schema(customer, item, kind, timestamp, value, context);
        let chunk = Chunk::convert(columns, &schema)?;
        let report = pool::detach_written(
            py,
            || self.write(),
            |log| {
                let context = chunk.context();
                log.extend_columns(&chunk.columns(&context), &schema, &options(skip_bad_rows))
            },
        )?
        .map_err(to_py)?;
        to_python(py, &report)
    }

    /// Appends one batch that arrives as an iterator of column mappings (each
    /// as for `extend_columns`), converted one at a time while the core
    /// ingests: memory holds one chunk's conversion, not the frame's. Still
    /// all or nothing across the chunks; rows are numbered across them. An
    /// exception raised by the iterator undoes the batch and is re-raised.
    /// `rows` is the expected total (a hint that sizes the log once).
    #[pyo3(signature = (chunks, rows, *, customer = "customer_id".to_owned(), item = "item_id".to_owned(),
        kind = "kind".to_owned(), timestamp = "timestamp".to_owned(), value = "value".to_owned(),
        context = None, skip_bad_rows = false))]
    #[allow(clippy::too_many_arguments)]
    fn _extend_chunks<'py>(
        &self,
        py: Python<'py>,
        chunks: &Bound<'py, PyAny>,
        rows: usize,
        customer: String,
        item: String,
        kind: String,
        timestamp: String,
        value: String,
        context: Option<Vec<String>>,
        skip_bad_rows: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let schema = schema(customer, item, kind, timestamp, value, context);
        let chunks = chunks.try_iter()?.unbind();
        let options = options(skip_bad_rows);
        let (this, schema, options) = (self, &schema, &options);
        // The core ingests chunk n on a thread of its own while this thread,
        // with the GIL, has the next chunks read and converted: reading
        // Parquet or Arrow overlaps the core's work instead of alternating
        // with it. Up to `WAITING` converted chunks (a few MB each) wait, so
        // a slow chunk on either side does not stall the other: 4 against
        // 1 took 1.66-2.20 s against 1.84-2.53 s for 10 M Parquet events
        // (4 alternating runs each).
        const WAITING: usize = 4;
        // The core's parallel work runs in the binding's pool, never rayon's
        // global one, which a forked child inherits without its threads.
        // The write lock is taken outside the pool (see `pool::detach_locked`).
        let pool = pool::pool()?;
        let (raised, result) = py.detach(|| {
            std::thread::scope(|scope| {
                let (send, receive) = std::sync::mpsc::sync_channel::<Option<Chunk>>(WAITING);
                let core = scope.spawn(move || {
                    let mut log = this.write();
                    let log: &mut EventLog = &mut log;
                    pool.install(move || {
                        log.extend_column_chunks(rows, schema, options, |feed| {
                            match receive.recv() {
                                Ok(Some(chunk)) => {
                                    let context = chunk.context();
                                    feed(&chunk.columns(&context)).map(|()| true)
                                }
                                // The iterator raised: undo the batch.
                                Ok(None) => Err(Error::Cancelled),
                                // The iterator is exhausted.
                                Err(_) => Ok(false),
                            }
                        })
                    })
                });
                let mut raised: Option<PyErr> = None;
                loop {
                    let chunk = Python::attach(|py| -> PyResult<Option<Chunk>> {
                        let Some(next) = chunks.bind(py).clone().next() else {
                            return Ok(None);
                        };
                        Chunk::convert(next?.cast::<PyMapping>()?, schema).map(Some)
                    });
                    match chunk {
                        Ok(Some(chunk)) => {
                            if send.send(Some(chunk)).is_err() {
                                break; // the core stopped on a bad row: its error says why
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            raised = Some(e);
                            let _ = send.send(None);
                            break;
                        }
                    }
                }
                drop(send);
                let result = core
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (raised, result)
            })
        });
        match (result, raised) {
            (_, Some(e)) => Err(e),
            (Ok(report), None) => to_python(py, &report),
            (Err(e), None) => Err(to_py(e)),
        }
    }

    /// Records that `alias` (an anonymous, device or secondary id) is the same
    /// person as `customer`. Links may arrive before or after the events.
    ///
    /// Parameters:
    ///     alias: the other id.
    ///     customer: the customer id it belongs to.
    ///     timestamp: when the link was observed, in epoch seconds.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> log.link("anon-7", "c42", 1714564800)
    ///     >>> log.summary()["customers"]
    ///     1
    fn link(
        &self,
        py: Python<'_>,
        alias: &str,
        customer: &str,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let timestamp = args::integer("timestamp", timestamp)?;
        py.detach(|| self.write().link(alias, customer, timestamp))
            .map_err(to_py)
    }

    /// Removes a person: every event and identity link of every id linked
    /// to ``customer`` (accounts, devices, anonymous ids). Returns what was
    /// removed: ``customer`` (canonical id), ``identities``, ``events``,
    /// ``links``. An unknown id raises UnknownIdError and changes nothing.
    ///
    /// Example:
    ///     >>> log = maitre.EventLog()
    ///     >>> _ = log.extend({"customer_id": ["anon-7"], "item_id": ["sku-1"], "kind": ["view"], "timestamp": [1714564800]})
    ///     >>> log.link("anon-7", "c42", 1714564900)
    ///     >>> log.forget("c42")["identities"], len(log)
    ///     (['anon-7', 'c42'], 0)
    fn forget<'py>(&self, py: Python<'py>, customer: &str) -> PyResult<Bound<'py, PyAny>> {
        let gone = py.detach(|| self.write().forget(customer)).map_err(to_py)?;
        to_python(py, &gone)
    }

    /// The log as bytes (``EventLog.from_bytes`` reads them back): about the
    /// log's own size. Pickling and ``copy.deepcopy`` go through them.
    ///
    /// Example:
    ///     >>> log = maitre.synthetic_storefront(seed=7, size="tiny")
    ///     >>> copy = maitre.EventLog.from_bytes(log.to_bytes())
    ///     >>> copy.summary() == log.summary()
    ///     True
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.read().to_bytes()).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads bytes from ``to_bytes`` into a new log of this class. Raises
    /// ArtifactError for anything else.
    ///
    /// Example:
    ///     >>> len(maitre.EventLog.from_bytes(maitre.EventLog().to_bytes()))
    ///     0
    #[classmethod]
    fn from_bytes<'py>(cls: &Bound<'py, PyType>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let log = cls
            .py()
            .detach(|| EventLog::from_bytes(data))
            .map_err(to_py)?;
        Self::build(cls, log)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let bytes = slf.get().to_bytes(slf.py())?;
        Ok((slf.get_type().getattr("from_bytes")?, (bytes,)))
    }

    /// Number of events.
    fn __len__(&self, py: Python<'_>) -> usize {
        py.detach(|| self.read().len())
    }

    /// What was ingested, as a dict: events, raw_ids, customers (after identity
    /// links), items, links, linked_ids, first_timestamp, last_timestamp,
    /// kinds (events per kind), context (events per value of each context key).
    ///
    /// Example:
    ///     >>> maitre.EventLog().summary()["events"]
    ///     0
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let summary = py.detach(|| self.read().summary());
        to_python(py, &summary)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let summary = py.detach(|| self.read().summary());
        format!(
            "EventLog(events={}, customers={}, items={})",
            summary.events, summary.customers, summary.items
        )
    }
}
