"""maitre in a forked child (issue #5): multiprocessing's fork start method,
gunicorn --preload and the like fork a process whose rayon pool already has
threads; the child must not wait on threads that only exist in the parent."""

import os
import signal
import sys
import time
import traceback
import warnings

import pytest

import maitre

TIMEOUT = 60.0


def _big_frame():
    """Enough rows that ingestion checks them in parallel (65,536 a window)."""
    import numpy as np
    n = 150_000
    return {"customer_id": np.char.add("c", (np.arange(n) % 5000).astype(str)), "item_id": np.arange(n) % 700,
            "kind": ["view"] * n, "timestamp": 1_714_564_800 + np.arange(n, dtype=np.float64)}


def _child_work():
    # Ingestion's parallel check, in chunks and in one batch.
    assert len(maitre.EventLog.from_pandas(_big_frame())) == 150_000
    frame = _big_frame()
    one = maitre.EventLog()
    one.extend_columns({"customer_id": frame["customer_id"].tolist(), "item_id": frame["item_id"].astype(str).tolist(),
                        "kind": frame["kind"], "timestamp": frame["timestamp"]})
    assert len(one) == 150_000
    log = maitre.synthetic_storefront(seed=1, size="tiny")
    model = maitre.ALS(factors=8, iterations=3).fit(log)
    rec = maitre.Recommender.build(log, model)
    some, _ = rec.customers_for_item(rec.item_ids()[0], k=5)
    ids, scores = rec.recommend_batch(list(some), k=4)
    assert ids.shape == (len(some), 4) and scores.shape == (len(some), 4)
    # ALS(threads=n) builds its own pool inside the core: it must work here too.
    maitre.ALS(factors=8, iterations=2, threads=2).fit(log)
    maitre.evaluate(log, positive_kinds=["purchase"])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parallel_calls_work_in_a_forked_child():
    # The parent uses the pool first, so its threads exist when it forks;
    # ingestion first, which once reached rayon's global pool.
    assert len(maitre.EventLog.from_pandas(_big_frame())) == 150_000
    log = maitre.synthetic_storefront(seed=1, size="tiny")
    maitre.ALS(factors=8, iterations=3).fit(log)

    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may deadlock:
        # that is the case under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            _child_work()
            status = 0
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(status)

    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child hung for {TIMEOUT:.0f} s (rayon pool not re-created after fork)")
        time.sleep(0.05)
    assert os.WIFEXITED(status), f"child died: status {status}"
    assert os.WEXITSTATUS(status) == 0, "the forked child raised (traceback above)"

    # The parent's pool still works after the fork.
    maitre.ALS(factors=8, iterations=1).fit(log)
