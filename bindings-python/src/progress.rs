//! Progress callbacks from core loops into Python: the one bridge the ALS
//! fit and `tune` share.
//!
//! The core calls its progress closure on a thread of the binding's pool;
//! the closure attaches to Python, calls the user's callback with a dict,
//! and stops the core when the callback returns an explicit `False` or
//! raises. A raised exception is kept and re-raised once the core has
//! stopped (`finish`), in place of the core's `Cancelled`.

use crate::errors::to_py;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};
use std::ops::ControlFlow;

/// A user's progress callback (or none) and the exception it raised, if any.
pub struct Progress {
    callback: Option<Py<PyAny>>,
    raised: Option<PyErr>,
}

impl Progress {
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        Progress {
            callback,
            raised: None,
        }
    }

    /// Calls the callback with a dict that `fill` writes. Only an explicit
    /// `False` stops: `None` (print, list.append) continues.
    pub fn report(
        &mut self,
        fill: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
    ) -> ControlFlow<()> {
        let Some(callback) = &self.callback else {
            return ControlFlow::Continue(());
        };
        let answer = Python::attach(|py| -> PyResult<bool> {
            let info = PyDict::new(py);
            fill(&info)?;
            let answer = callback.bind(py).call1((info,))?;
            Ok(!answer.is(PyBool::new(py, false)))
        });
        match answer {
            Ok(true) => ControlFlow::Continue(()),
            Ok(false) => ControlFlow::Break(()),
            Err(e) => {
                self.raised = Some(e);
                ControlFlow::Break(())
            }
        }
    }

    /// The core's result, or the callback's exception if it raised one.
    pub fn finish<T>(self, result: maitre::Result<T>) -> PyResult<T> {
        match (result, self.raised) {
            (_, Some(e)) => Err(e),
            (result, None) => result.map_err(to_py),
        }
    }
}
