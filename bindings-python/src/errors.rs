//! maitre's one error enum, as a Python exception hierarchy.
//!
//! `MaitreError(ValueError)` is the base; one subclass per core variant, picked
//! by `Error::kind()`. Where Python users catch something else, the subclass
//! inherits that too (`UnknownIdError` is a `KeyError`, the file errors are
//! `FileNotFoundError` / `OSError`). The message is the core's `Display`; the
//! variant's fields become attributes (`row`, `line`, `field`, `problem`, …).

use maitre::error::{BadRow, Location};
use maitre::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// (class name, core kind, extra Python base, docstring). The first is the base class.
const CLASSES: [(&str, &str, Option<&str>, &str); 11] = [
    (
        "MaitreError",
        "",
        Some("ValueError"),
        "Base class of every error maitre raises. A ValueError.",
    ),
    (
        "BadRecordError",
        "BadRecord",
        None,
        "One record of an input is bad. Nothing of its batch was kept.\n\n\
         Attributes: `row` (0-based position in an in-memory batch, or None),\n\
         `line` (1-based line of a file, or None), `field` (the column or key at\n\
         fault), `problem` (a stable code: missing, empty, unknown_kind, not_finite,\n\
         not_a_number, bad_timestamp, timestamp_out_of_range, malformed) and `detail`\n\
         (the offending value, or None).",
    ),
    (
        "MissingColumnError",
        "MissingColumn",
        None,
        "A required column is absent. Attributes: `column`, `present` (the columns there are).",
    ),
    (
        "InvalidParamError",
        "InvalidParam",
        None,
        "A parameter or option is out of range. Attributes: `name`, `reason`.",
    ),
    (
        "UnknownIdError",
        "Unknown",
        Some("KeyError"),
        "An id the caller named is not known. Also a KeyError. Attributes: `what`, `id`.",
    ),
    (
        "LengthMismatchError",
        "LengthMismatch",
        None,
        "Inputs that must agree in length do not. Attributes: `name`, `expected`, `got`.",
    ),
    (
        "NotEnoughDataError",
        "NotEnoughData",
        None,
        "Not enough data for the operation (an empty log, a split without test users).",
    ),
    (
        "CancelledError",
        "Cancelled",
        None,
        "A long operation (a fit) was stopped by its progress callback returning False.",
    ),
    (
        "ArtifactError",
        "Artifact",
        None,
        "A saved recommender (file or bytes) that cannot be read: not an artifact,\n\
         truncated, corrupt, a newer format, or missing a part. Attributes: `problem`\n\
         (a stable code: not_an_artifact, unsupported_version, truncated,\n\
         checksum_mismatch, malformed, missing_section, bad_section) and `filename`\n\
         (the file, or None for bytes).",
    ),
    (
        "MaitreFileNotFoundError",
        "FileNotFound",
        Some("FileNotFoundError"),
        "A file that does not exist. Also a FileNotFoundError. Attributes: `filename`, `errno`.",
    ),
    (
        "MaitreIOError",
        "Io",
        Some("OSError"),
        "Any other I/O failure. Also an OSError. Attributes: `filename`, `errno`.",
    ),
];

static CLASS_OBJECTS: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Vec<Py<PyType>>> {
    CLASS_OBJECTS.get_or_try_init(py, || {
        let builtins = py.import("builtins")?;
        let type_ = builtins.getattr("type")?;
        let mut made: Vec<Py<PyType>> = Vec::with_capacity(CLASSES.len());
        for (name, _, extra, doc) in CLASSES {
            let mut bases = Vec::new();
            if let Some(base) = made.first() {
                bases.push(base.bind(py).clone().into_any());
            }
            if let Some(extra) = extra {
                bases.push(builtins.getattr(extra)?);
            }
            let dict = PyDict::new(py);
            dict.set_item("__module__", "maitre")?;
            dict.set_item("__doc__", doc)?;
            if made.is_empty() {
                // KeyError and OSError format their own str(); keep the core's message as is.
                dict.set_item(
                    "__str__",
                    builtins.getattr("BaseException")?.getattr("__str__")?,
                )?;
            }
            let class = type_.call1((name, PyTuple::new(py, bases)?, dict))?;
            made.push(class.cast_into::<PyType>()?.unbind());
        }
        Ok(made)
    })
}

/// Adds every exception class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for ((name, ..), class) in CLASSES.iter().zip(classes(py)?) {
        m.add(*name, class.bind(py))?;
    }
    Ok(())
}

/// The Python exception for a core error.
pub fn to_py(err: Error) -> PyErr {
    Python::attach(|py| build(py, &err).unwrap_or_else(|e| e))
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let classes = classes(py)?;
    let index = CLASSES
        .iter()
        .position(|(_, kind, ..)| *kind == err.kind())
        .unwrap_or(0);
    let exc = classes[index].bind(py).call1((err.to_string(),))?;
    let set = |name: &str, value: Bound<'_, PyAny>| exc.setattr(name, value);
    match err {
        Error::BadRecord(row) => bad_row_attributes(&exc, row)?,
        Error::MissingColumn { column, present } => {
            set("column", column.into_pyobject(py)?.into_any())?;
            let present: Vec<&str> = present.split(", ").filter(|s| !s.is_empty()).collect();
            set("present", present.into_pyobject(py)?)?;
        }
        Error::InvalidParam { name, reason } => {
            set("name", name.into_pyobject(py)?.into_any())?;
            set("reason", reason.into_pyobject(py)?.into_any())?;
        }
        Error::Unknown { what, id } => {
            set("what", what.into_pyobject(py)?.into_any())?;
            set("id", id.into_pyobject(py)?.into_any())?;
        }
        Error::LengthMismatch {
            name,
            expected,
            got,
        } => {
            set("name", name.into_pyobject(py)?.into_any())?;
            set("expected", expected.into_pyobject(py)?.into_any())?;
            set("got", got.into_pyobject(py)?.into_any())?;
        }
        Error::FileNotFound { path, .. } => {
            set("filename", path.into_pyobject(py)?.into_any())?;
            set("errno", 2i32.into_pyobject(py)?.into_any())?; // ENOENT
        }
        Error::Artifact { path, problem } => {
            set("problem", problem.code().into_pyobject(py)?.into_any())?;
            let path = path.as_ref().map(|p| p.display().to_string());
            set("filename", path.into_pyobject(py)?.into_any())?;
        }
        Error::Io { path, source } => {
            set("filename", path.into_pyobject(py)?.into_any())?;
            set("errno", source.raw_os_error().into_pyobject(py)?.into_any())?;
        }
        _ => {}
    }
    Ok(PyErr::from_value(exc))
}

fn bad_row_attributes(exc: &Bound<'_, PyAny>, row: &BadRow) -> PyResult<()> {
    let py = exc.py();
    let (index, line) = match row.location {
        Location::Index(n) => (Some(n), None),
        Location::Line(n) => (None, Some(n)),
    };
    exc.setattr("row", index)?;
    exc.setattr("line", line)?;
    exc.setattr("field", &row.field)?;
    // The problem as the core serialises it: {"problem": code, "detail": value}.
    let problem = serde_json::to_value(&row.problem)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    let code = problem.get("problem").and_then(|v| v.as_str());
    let detail = problem.get("detail").and_then(|v| v.as_str());
    exc.setattr("problem", code.into_pyobject(py)?)?;
    exc.setattr("detail", detail.into_pyobject(py)?)?;
    Ok(())
}
