"""Peak memory of EventLog.from_pandas, per row, above the DataFrame.

Runs the ingestion in a child process (a fresh interpreter, so nothing else
is in its heap): builds a frame of --rows events (string customer, item, kind
and channel columns as pandas makes them, datetime64 timestamps, a float value
column), resets the kernel's peak-RSS counter, ingests, and reports

    peak over baseline / row    the most memory ingestion held above the frame
    kept over baseline / row    what the finished log holds (RSS after - before)
    artifact bytes / row        the log's own compact size (EventLog.to_bytes)

Linux only (reads /proc/self/status, resets VmHWM through /proc/self/clear_refs).

    python bindings-python/bench/ingest_memory.py --rows 3000000
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time


def rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(rows: int, customers: int, items: int) -> dict:
    import numpy as np
    import pandas as pd

    import maitre

    rng = np.random.default_rng(0)
    kinds = np.array(["view", "click", "cart", "purchase", "rating"], dtype=object)
    channels = np.array(["web", "app", "store", "email"], dtype=object)
    customer_names = np.array([f"c{i:07d}" for i in range(customers)], dtype=object)
    item_names = np.array([f"sku-{i:06d}" for i in range(items)], dtype=object)
    value = rng.random(rows) * 5
    frame = pd.DataFrame(
        {
            "customer_id": customer_names[rng.integers(0, customers, rows)],
            "item_id": item_names[rng.integers(0, items, rows)],
            "kind": kinds[rng.integers(0, len(kinds), rows)],
            "timestamp": pd.to_datetime(1_700_000_000 + rng.integers(0, 10**7, rows), unit="s"),
            "value": value,
            "channel": channels[rng.integers(0, len(channels), rows)],
        }
    )
    del value
    gc.collect()
    before = rss_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM (peak RSS) to the current RSS
    started = time.perf_counter()
    log = maitre.EventLog.from_pandas(frame)
    seconds = time.perf_counter() - started
    peak = rss_kb("VmHWM")
    gc.collect()
    after = rss_kb("VmRSS")
    assert len(log) == rows
    artifact = len(log.to_bytes())
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "peak_over_baseline_bytes_per_row": round((peak - before) * 1024 / rows, 1),
        "kept_over_baseline_bytes_per_row": round((after - before) * 1024 / rows, 1),
        "artifact_bytes_per_row": round(artifact / rows, 1),
        "peak_over_baseline_mb": round((peak - before) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rows, args.customers, args.items)))
        return
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--rows", str(args.rows), "--customers", str(args.customers),
         "--items", str(args.items)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key, value in result.items():
        print(f"{key:36} {value}")


if __name__ == "__main__":
    main()
