"""Ingestion speed and peak memory: maitre against the readers it sits beside.

Writes N synthetic events (string customer ids, integer item ids, three kinds,
epoch-second timestamps, a float value with gaps, a channel) once as CSV and
as Parquet, then times each way in to a fresh child process (so each peak RSS
is its own):

    pd.read_csv                 the CSV floor a data team knows
    pd.read_csv + from_pandas   the CSV into an EventLog through pandas
    pq.read_table               the Parquet floor (Arrow, no Python objects)
    pd.read_parquet + from_pandas
    EventLog.from_parquet       batch by batch, text as dictionary codes

    python bindings-python/bench/ingest_speed.py --rows 10000000

Needs pandas and pyarrow (the CI venv has both). Prints a markdown table and
writes JSON with --json PATH. Linux (peak RSS: VmHWM after a reset, imports excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# (imports, the timed statement)
WAYS = {
    "pd.read_csv": ("import pandas as pd", "pd.read_csv(CSV)"),
    "pd.read_csv + from_pandas": (
        "import pandas as pd, maitre", "maitre.EventLog.from_pandas(pd.read_csv(CSV))"),
    "pq.read_table": ("import pyarrow.parquet as pq", "pq.read_table(PARQUET)"),
    "pd.read_parquet + from_pandas": (
        "import pandas as pd, pyarrow, maitre", "maitre.EventLog.from_pandas(pd.read_parquet(PARQUET))"),
    "EventLog.from_parquet": ("import pyarrow, maitre", "maitre.EventLog.from_parquet(PARQUET)"),
}

# Imports first, then the peak-RSS counter is reset (Linux keeps the
# parent's peak across fork and exec otherwise), then the timed statement.
CHILD = """
import sys, time
CSV, PARQUET = sys.argv[1], sys.argv[2]
exec(sys.argv[3])
def status(field):
    return int([l for l in open("/proc/self/status") if l.startswith(field)][0].split()[1])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status("VmRSS:")
start = time.perf_counter()
exec(sys.argv[4])
seconds = time.perf_counter() - start
print(seconds, status("VmHWM:") - base)
"""


def write_data(rows: int, folder: str) -> "tuple[str, str]":
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    value = rng.integers(1, 6, rows).astype(float)
    kind = rng.choice(["view", "purchase", "rating"], rows, p=[0.7, 0.1, 0.2])
    value[kind != "rating"] = np.nan
    df = pd.DataFrame({
        "customer_id": np.char.add("c", rng.integers(0, rows // 30 + 1, rows).astype(str)),
        "item_id": rng.integers(0, 50_000, rows),
        "kind": kind,
        "timestamp": 1_714_564_800 + rng.integers(0, 180 * 86_400, rows),
        "value": value,
        "channel": rng.choice(["web", "app", "store"], rows),
    })
    csv, parquet = os.path.join(folder, "events.csv"), os.path.join(folder, "events.parquet")
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, index=False)
    return csv, parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--ways", help="comma-separated subset of the ways in (default: all; "
                        "pq.read_table is always run, as the floor)")
    args = parser.parse_args()
    asked = args.ways.split(",") if args.ways else list(WAYS)
    unknown = [name for name in asked if name not in WAYS]
    if unknown:
        parser.error(f"unknown ways {unknown}; the ways are {list(WAYS)}")
    ways = {name: WAYS[name] for name in WAYS if name in asked or name == "pq.read_table"}
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        csv, parquet = write_data(args.rows, folder)
        print(f"# {args.rows:,} events written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        # All repeats of one way, then the next. Not round after round: a
        # child right after a different one is slowed by it (pq.read_table
        # took 1.6-2.3 s right after a pd.read_csv + from_pandas child, even
        # 3 s later, and 0.6-1.0 s after itself), so each way's best comes
        # after runs of itself.
        runs: "dict[str, list]" = {name: [] for name in ways}
        for name, (imports, statement) in ways.items():
            for _ in range(args.repeats):
                out = subprocess.run([sys.executable, "-c", CHILD, csv, parquet, imports, statement],
                                     check=True, capture_output=True, text=True).stdout.split()
                runs[name].append((float(out[0]), int(out[1]) * 1024))
                print(f"# {name}: {runs[name][-1][0]:.2f} s", file=sys.stderr)
        results = {name: {"seconds": min(r[0] for r in rs), "all_seconds": [r[0] for r in rs],
                          "peak_rss_bytes": max(r[1] for r in rs)} for name, rs in runs.items()}
    floor = results["pq.read_table"]["seconds"]
    print(f"\n{args.rows:,} events; best of {args.repeats}; peak RSS above the process after its imports\n")
    print("| way in | seconds | × pq.read_table | peak RSS above imports (MB) |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['seconds']:.2f} | {r['seconds'] / floor:.1f} | {r['peak_rss_bytes'] / 2**20:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "repeats": args.repeats, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
