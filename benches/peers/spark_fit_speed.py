"""fit_als before and after a change, in one local[2] session, interleaved.

Loads two versions of ``maitre/spark.py`` (``--before`` a file, e.g. from
``git show REV:bindings-python/python/maitre/spark.py``; ``--after`` default the
installed one) and times ``fit_als`` of each on the same synthetic events,
alternating so load from other work hits both alike; checks both give the
single-process model.

    git show f12f158:bindings-python/python/maitre/spark.py > /tmp/spark_before.py
    PYSPARK_PYTHON=.venv-ci/bin/python .venv-ci/bin/python \\
        benches/peers/spark_fit_speed.py --before /tmp/spark_before.py
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

import maitre


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", default=None)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--factors", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import maitre.spark

    after = load(args.after, "spark_after") if args.after else maitre.spark
    before = load(args.before, "spark_before")
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    rng = np.random.default_rng(0)
    n = args.events
    events = pd.DataFrame({
        "customer_id": np.char.add("c", rng.integers(0, args.customers, n).astype(str)),
        "item_id": np.char.add("i", (rng.zipf(1.3, n) % args.items).astype(str)),
        "kind": rng.choice(["view", "purchase"], n, p=[0.8, 0.2]),
        "timestamp": 1_714_564_800 + rng.integers(0, 10**7, n),
    })
    als = maitre.ALS(factors=args.factors, iterations=args.iterations, seed=1, threads=2)
    single = als.fit(maitre.EventLog.from_pandas(events), half_life_days=60)
    frame = spark.createDataFrame(events).cache()
    frame.count()
    times = {"before": [], "after": []}
    diffs = {}
    for _ in range(args.repeats):
        for name, module in (("before", before), ("after", after)):
            started = time.perf_counter()
            model = module.fit_als(frame, als, half_life_days=60)
            times[name].append(time.perf_counter() - started)
            diffs[name] = max(float(np.abs(a - b).max() / np.abs(b).max()) for a, b in (
                (model.user_factors, single.user_factors), (model.item_factors, single.item_factors)))
            print(f"{name}: {times[name][-1]:.1f}s, max rel diff vs single {diffs[name]:.1e}", file=sys.stderr)
    spark.stop()
    out = {"events": n, "customers": args.customers, "items": args.items, "factors": args.factors,
           "iterations": args.iterations, "seconds": times, "max_rel_diff_vs_single": diffs,
           "median_before": statistics.median(times["before"]), "median_after": statistics.median(times["after"]),
           "loadavg": os.getloadavg()}
    out["speedup"] = out["median_before"] / out["median_after"]
    print(json.dumps(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
