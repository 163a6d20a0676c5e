//! Numeric arguments, converted strictly.
//!
//! pyo3's own conversions take `True` as 1, truncate nothing but raise a bare
//! `TypeError`/`OverflowError` for `1.5`, `-1` or `2**64`, none of which is a
//! maitre error. These helpers accept exactly Python ints and numpy integers
//! for counts and integers (never bools or floats), ints and floats for real
//! numbers, and raise `InvalidParamError` naming the argument otherwise. They
//! only convert: whether a value is in range is for the core to say.

use crate::errors::to_py;
use maitre::Error;
use numpy::{PyArrayDescrMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBool, PyFloat, PyInt};

fn invalid(name: &str, value: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    let shown = value
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "the value".into());
    let type_name = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    to_py(Error::InvalidParam {
        name: name.to_owned(),
        reason: format!("{shown} ({type_name}) is not {expected}"),
    })
}

/// The value as a Python int, if it is an integer (a Python int or a numpy
/// integer, not a bool, not a float, not a string).
fn as_int<'py>(value: &Bound<'py, PyAny>) -> Option<Bound<'py, PyInt>> {
    if value.is_instance_of::<PyBool>() || value.is_instance_of::<PyFloat>() {
        return None;
    }
    if let Ok(int) = value.cast::<PyInt>() {
        return Some(int.clone());
    }
    // numpy integers (and other exact integer types) implement __index__;
    // numpy bools do too, so they are excluded by name.
    let numpy_bool = value
        .get_type()
        .name()
        .is_ok_and(|n| n.to_string().starts_with("bool"));
    if numpy_bool || !value.hasattr("__index__").unwrap_or(false) {
        return None;
    }
    value
        .call_method0("__index__")
        .ok()?
        .cast_into::<PyInt>()
        .ok()
}

/// A count, size or `k`: a non-negative integer that fits 64 bits.
pub fn count(name: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    as_int(value)
        .and_then(|i| i.extract::<u64>().ok())
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| invalid(name, value, "a non-negative integer below 2**64"))
}

/// An optional count (`None` stays `None`).
pub fn opt_count(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| count(name, v))
        .transpose()
}

/// A seed: any non-negative integer below 2**64.
pub fn seed(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    as_int(value)
        .and_then(|i| i.extract::<u64>().ok())
        .ok_or_else(|| invalid(name, value, "a non-negative integer below 2**64"))
}

/// A signed integer such as a timestamp in epoch seconds.
pub fn integer(name: &str, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    as_int(value)
        .and_then(|i| i.extract::<i64>().ok())
        .ok_or_else(|| invalid(name, value, "an integer between -2**63 and 2**63-1"))
}

/// A real number: a Python int or float or a numpy number (not a bool, not
/// text). NaN and infinities pass: the core says where they are allowed.
pub fn real(name: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<PyFloat>() {
        return value.extract::<f64>();
    }
    if let Some(int) = as_int(value) {
        return int.extract::<f64>().or_else(|_| Ok(f64::INFINITY));
    }
    let numpy_float = value
        .get_type()
        .name()
        .is_ok_and(|n| n.to_string().starts_with("float"));
    if numpy_float {
        if let Ok(v) = value.extract::<f64>() {
            return Ok(v);
        }
    }
    Err(invalid(name, value, "a number"))
}

/// An optional real number (`None` stays `None`).
pub fn opt_real(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| real(name, v))
        .transpose()
}

/// A list of counts (item rows and the like).
pub fn counts(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    if let Some(values) = integer_array(name, value)? {
        return Ok(values);
    }
    let items = value
        .try_iter()
        .map_err(|_| invalid(name, value, "a sequence of non-negative integers"))?;
    items
        .enumerate()
        .map(|(i, item)| count(&format!("{name}[{i}]"), &item?))
        .collect()
}

/// A one-dimensional numpy array of integers, converted in bulk (a block of
/// a Spark fit passes millions); `None` for anything else, which `counts`
/// then reads item by item. A negative value is an error naming its position.
fn integer_array(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Option<Vec<usize>>> {
    let Ok(array) = value.cast::<numpy::PyUntypedArray>() else {
        return Ok(None);
    };
    let kind = array.dtype().kind();
    if array.ndim() != 1 || !(kind == b'i' || kind == b'u') {
        return Ok(None);
    }
    let np = value.py().import("numpy")?;
    let negative = np
        .getattr("flatnonzero")?
        .call1((np.getattr("less")?.call1((value, 0))?,))?;
    if negative.len()? > 0 {
        let at: usize = negative.get_item(0)?.extract()?;
        return Err(invalid(
            &format!("{name}[{at}]"),
            &value.get_item(at)?,
            "a non-negative integer below 2**64",
        ));
    }
    let converted = np.getattr("ascontiguousarray")?.call(
        (value,),
        Some(&[("dtype", "uint64")].into_py_dict(value.py())?),
    )?;
    let values = converted.extract::<numpy::PyReadonlyArray1<'_, u64>>()?;
    values
        .as_slice()?
        .iter()
        .map(|&v| usize::try_from(v).map_err(|_| invalid(name, value, "values below 2**64")))
        .collect::<PyResult<Vec<usize>>>()
        .map(Some)
}

/// A list of real numbers.
pub fn reals(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if value.is_instance_of::<pyo3::types::PyString>() {
        return Err(invalid(name, value, "a sequence of numbers"));
    }
    let items = value
        .try_iter()
        .map_err(|_| invalid(name, value, "a sequence of numbers"))?;
    items
        .enumerate()
        .map(|(i, item)| real(&format!("{name}[{i}]"), &item?))
        .collect()
}

/// Any numeric array-like (numpy array of any shape and float dtype, nested
/// lists) as flat f32 values, through numpy's own conversion; anything else
/// raises InvalidParamError naming the argument.
pub fn f32_array(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    let np = value.py().import("numpy")?;
    let converted = np
        .getattr("ascontiguousarray")?
        .call(
            (value,),
            Some(&[("dtype", "float32")].into_py_dict(value.py())?),
        )
        .and_then(|a| a.call_method1("reshape", (-1,)));
    match converted {
        Ok(array) => Ok(array
            .extract::<numpy::PyReadonlyArray1<'_, f32>>()?
            .as_slice()?
            .to_vec()),
        Err(_) => Err(invalid(name, value, "an array of numbers")),
    }
}
