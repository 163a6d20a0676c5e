//! Work on a rayon pool of the size a caller asked for (fits and k-means
//! take a `threads` parameter; `None` means the current pool).
//!
//! Depends on: `error`, and `embed` for the one [`MAX_THREADS`].

use crate::embed::MAX_THREADS;
use crate::error::{Error, Result};

/// Checks a requested worker count: 1 to [`MAX_THREADS`], or `None`.
pub(crate) fn check(threads: Option<usize>) -> Result<()> {
    match threads {
        Some(n) if !(1..=MAX_THREADS).contains(&n) => Err(Error::param(
            "threads",
            format!("{n} is not in 1..={MAX_THREADS}"),
        )),
        _ => Ok(()),
    }
}

/// Runs `work` on a new pool of `threads` workers, or on the current pool
/// when `threads` is `None`. The count is validated by the caller's
/// parameters (1 to [`crate::embed::MAX_THREADS`]); a pool the system
/// refuses is an [`Error::InvalidParam`] naming `threads`.
pub(crate) fn install<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> T + Send,
) -> Result<T> {
    match threads {
        None => Ok(work()),
        Some(n) => Ok(rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::param("threads", e.to_string()))?
            .install(work)),
    }
}
