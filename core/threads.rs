//! Work on a rayon pool of the size a caller asked for (fits and k-means
//! take a `threads` parameter; `None` means the current pool).
//!
//! Depends on: `error` only.

use crate::error::{Error, Result};

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
