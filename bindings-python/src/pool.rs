//! The binding's own rayon pool, re-created after `os.fork()`.
//!
//! rayon's global pool does not survive a fork: the child inherits the pool's
//! bookkeeping but none of its threads, so the first parallel call in a forked
//! child (multiprocessing's fork start method, gunicorn `--preload`, ...)
//! queues work that nobody runs and hangs. Every call that may reach rayon
//! therefore runs through [`detach`], which installs a pool owned by this
//! module and remembers the pid that built it; a call from another pid (a
//! forked child) builds a fresh pool first. Parallel iterators inside the core
//! (the HNSW build among them) use the pool they are installed in, so the global
//! pool is never touched. `ALS(threads=n)` still builds its own pool inside
//! the core, nested in this one.

use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Arc, Mutex, PoisonError};

/// The pool and the pid of the process that built it.
static POOL: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);

/// The pool of this process, built on first use and again after a fork.
pub fn pool() -> PyResult<Arc<ThreadPool>> {
    let pid = std::process::id();
    // Nothing panics while the lock is held, but a poisoned lock still holds a
    // consistent value: take it rather than fail every later call.
    let mut slot = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, pool)) = slot.as_ref() {
        if *owner == pid {
            return Ok(Arc::clone(pool));
        }
    }
    // Default size: RAYON_NUM_THREADS, else one thread per core, as rayon's global pool.
    let fresh = Arc::new(
        ThreadPoolBuilder::new()
            .thread_name(|i| format!("maitre-{i}"))
            .build()
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?,
    );
    if let Some((_, stale)) = slot.replace((pid, Arc::clone(&fresh))) {
        // The parent's pool, copied by fork without its threads. Dropping it
        // would signal threads that do not exist here, through locks a parent
        // thread may have held at the fork: leak it instead (once per fork).
        std::mem::forget(stale);
    }
    Ok(fresh)
}

/// [`detach`] for work on a locked object: `lock` runs first, on the calling
/// thread (outside the pool), and `f` gets what it locked. A pool thread must
/// never wait for a lock: while it waits in a join, rayon lets it run another
/// caller's job, and if that job waits for a read lock behind a queued writer
/// while an older job further down the same thread's stack holds a read lock,
/// nothing moves again (seen: `EventLog.extend` while three threads fit).
pub fn detach_locked<G, T, L, F>(py: Python<'_>, lock: L, f: F) -> PyResult<T>
where
    L: FnOnce() -> G + Send,
    G: Sync,
    F: FnOnce(&G) -> T + Send,
    T: Send,
{
    let pool = pool()?;
    Ok(py.detach(|| {
        let guard = lock();
        pool.install(|| f(&guard))
    }))
}

/// [`detach_locked`] for work that changes the locked object: `lock` (a
/// write lock, say) is taken on the calling thread, and `f` runs in the
/// pool with the object itself.
pub fn detach_written<G, V, T, L, F>(py: Python<'_>, lock: L, f: F) -> PyResult<T>
where
    L: FnOnce() -> G + Send,
    G: std::ops::DerefMut<Target = V>,
    V: Send + ?Sized,
    F: FnOnce(&mut V) -> T + Send,
    T: Send,
{
    let pool = pool()?;
    Ok(py.detach(|| {
        let mut guard = lock();
        let value: &mut V = &mut guard;
        pool.install(|| f(value))
    }))
}

/// `py.detach(f)`, with `f` run inside this process's pool: the GIL is
/// released and every rayon call `f` makes uses a pool whose threads exist.
pub fn detach<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let pool = pool()?;
    Ok(py.detach(|| pool.install(f)))
}
