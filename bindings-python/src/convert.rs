//! Serde values to and from Python: reports and summaries leave as plain
//! dicts; request options arrive as JSON text and are parsed strictly.

use crate::errors::to_py;
use maitre::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

/// Any `Serialize` value as the Python object its JSON form maps to.
pub fn to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(value).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    json(py, &value)
}

fn json<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Request options, written as JSON by the Python wrapper, as the core's serde
/// type `T`. The core's option structs fill absent fields with their defaults
/// and would silently ignore a misspelt key, so every key of the input must
/// come back when the parsed value is serialised again: `{"categorys": …}` is
/// an `InvalidParamError` naming `filters.categorys`, not a filter quietly
/// dropped.
pub fn strict_json<T>(name: &str, json: &str) -> PyResult<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let invalid = |name: String, reason: String| to_py(Error::InvalidParam { name, reason });
    let input: Value =
        serde_json::from_str(json).map_err(|e| invalid(name.to_owned(), e.to_string()))?;
    let parsed: T = serde_json::from_value(input.clone())
        .map_err(|e| invalid(name.to_owned(), e.to_string()))?;
    let back =
        serde_json::to_value(&parsed).map_err(|e| invalid(name.to_owned(), e.to_string()))?;
    match unknown_key(&input, &back, name) {
        Some(path) => Err(invalid(path, "unknown option".to_owned())),
        None => Ok(parsed),
    }
}

/// The path of the first key of `input` that `parsed` does not have.
fn unknown_key(input: &Value, parsed: &Value, path: &str) -> Option<String> {
    match (input, parsed) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| {
            let here = format!("{path}.{k}");
            match b.get(k) {
                None => Some(here),
                Some(w) => unknown_key(v, w, &here),
            }
        }),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| unknown_key(v, w, &format!("{path}[{i}]"))),
        _ => None,
    }
}
