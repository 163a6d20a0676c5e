"""A data team's nightly job on Spark: Parquet events on disk -> fit ALS on
Spark -> score every customer -> Parquet out.

    pip install './bindings-python[spark]'          # pyspark, pyarrow, pandas
    python examples/spark_pipeline.py --events events.parquet --out recs.parquet

Without --events it writes random events to a temporary Parquet file first, so the whole path runs anywhere with Java 17.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

import pandas as pd  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

import maitre  # noqa: E402
import maitre.spark as ms  # noqa: E402


def synthetic_events(path: str, n: int = 50_000) -> None:
    """Random events (2,000 customers, 400 items, views and purchases over a
    year) as a Parquet file."""
    import numpy as np

    rng = np.random.default_rng(0)
    pd.DataFrame({
        "customer_id": np.char.add("c", rng.integers(0, 2000, n).astype(str)),
        "item_id": np.char.add("sku-", (rng.zipf(1.3, n) % 400).astype(str)),
        "kind": rng.choice(["view", "purchase"], n, p=[0.8, 0.2]),
        "timestamp": pd.to_datetime(1_700_000_000 + rng.integers(0, 365 * 86_400, n), unit="s"),
    }).to_parquet(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", help="Parquet file or folder of events (default: synthetic)")
    parser.add_argument("--out", default=None, help="where to write the recommendations (Parquet)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    events_path = args.events or os.path.join(folder, "events.parquet")
    if args.events is None:
        synthetic_events(events_path)
    out = args.out or os.path.join(folder, "recommendations.parquet")

    spark = (SparkSession.builder.master(args.master).config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    events = spark.read.parquet(events_path)
    started = time.perf_counter()
    model = ms.fit_als(events, maitre.ALS(iterations=5), progress=lambda p: print(f"sweep {p['iteration']}/{p['iterations']}"))
    print(f"fitted {len(model.customer_ids())} customers x {len(model.item_ids())} items "
          f"in {time.perf_counter() - started:.0f} s")
    # The recommender needs the log for popularity and histories: one
    # process holds the events it serves from (here the same Parquet file).
    log = maitre.EventLog.from_parquet(events_path)
    recommender = maitre.Recommender.build(log, model)
    customers = events.select("customer_id").distinct()
    recs = ms.recommend_all(customers, recommender, k=args.k)
    recs.write.mode("overwrite").parquet(out)
    print(pd.read_parquet(out).sort_values(["customer_id", "rank"]).head(args.k).to_string(index=False))
    print(f"wrote {out}")
    spark.stop()


if __name__ == "__main__":
    main()
