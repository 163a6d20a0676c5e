//! `maitre._maitre`: the native half of the `maitre` Python package.
//!
//! Conversions only: every function converts its arguments, makes one call
//! into the `maitre` core (with the GIL released when it may take a while) and
//! converts the result. Calls that may use rayon run in the binding's own
//! pool (`pool.rs`), which survives `os.fork()`. Validation and algorithms live in the core; pandas
//! conveniences live in `python/maitre/`. Nothing here panics across the
//! boundary: core errors become the exceptions of `errors.rs`.

mod als;
mod args;
mod convert;
mod customers;
mod errors;
mod eval;
mod events;
mod offers;
mod pool;
mod progress;
mod recommend;

use pyo3::prelude::*;

#[pymodule]
fn _maitre(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<events::PyEventLog>()?;
    m.add_class::<als::PyAls>()?;
    m.add_class::<als::PyAlsModel>()?;
    m.add_class::<recommend::PyRecommender>()?;
    m.add_class::<offers::PyNextBestOffer>()?;
    m.add_function(wrap_pyfunction!(offers::evaluate_policy, m)?)?;
    m.add_function(wrap_pyfunction!(eval::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(eval::evaluate_cold_start, m)?)?;
    m.add_function(wrap_pyfunction!(eval::tune, m)?)?;
    m.add_function(wrap_pyfunction!(events::synthetic_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(events::movielens_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(events::movielens_dir, m)?)?;
    m.add_function(wrap_pyfunction!(customers::segments, m)?)?;
    m.add_function(wrap_pyfunction!(customers::kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(customers::kmeans_predict, m)?)?;
    m.add_function(wrap_pyfunction!(customers::exact_top_k, m)?)?;
    m.add_function(wrap_pyfunction!(customers::describe_segments, m)?)?;
    m.add_function(wrap_pyfunction!(customers::rfm, m)?)?;
    m.add_function(wrap_pyfunction!(customers::customer_view, m)?)?;
    m.add_function(wrap_pyfunction!(customers::target, m)?)?;
    m.add_function(wrap_pyfunction!(customers::advocates, m)?)?;
    errors::register(m)?;
    Ok(())
}
