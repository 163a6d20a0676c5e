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
/// type `T`. The core's request types reject unknown keys; the error names the
/// whole path, so `{"categorys": …}` is an `InvalidParamError` naming
/// `request.filters.categorys`, not a filter quietly dropped.
pub fn strict_json<T: serde::de::DeserializeOwned>(name: &str, json: &str) -> PyResult<T> {
    let invalid = |name: String, reason: String| to_py(Error::InvalidParam { name, reason });
    let mut reader = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let path = match e.path().to_string().as_str() {
            "." => name.to_owned(),
            // A list at the root: `offers[2].value`, not `offers.[2].value`.
            path if path.starts_with('[') => format!("{name}{path}"),
            path => format!("{name}.{path}"),
        };
        invalid(path, e.into_inner().to_string())
    })?;
    reader
        .end()
        .map_err(|e| invalid(name.to_owned(), e.to_string()))?;
    Ok(value)
}
