"""maitre.spark.segments against single-process maitre.segments on the
synthetic storefront, in one local[2] session: wall time, whether every
customer gets the same segment and every segment the same summary; and
maitre.spark.target against maitre.target (a category, --target-k
customers) with one single-process ALS model: wall time and whether the
lists, scores and reasons are the same; and maitre.spark.rfm against
maitre.rfm (wall time, rows equal, loyalty included), with target
filtered by lifecycle stages and RFM groups, and maitre.spark.advocates
against maitre.advocates (the top 100).

    PYSPARK_PYTHON=.venv-ci/bin/python .venv-ci/bin/python benches/peers/spark_segments.py \
        --peer target/release/examples/peer --size medium --out RESULTS.json

Builds on spark_vs_mllib.py's storefront Parquet (`peer events`: raw events,
customer ids resolved through the identity links). Both sides read the same
Parquet file; the single-process time includes `EventLog.from_parquet`, the
Spark time includes reading the file in Spark. With `--fit-sample N` the
Spark side also fits on a seeded sample of N customers (its agreement with
the full fit is reported as the share of customers in the same segment after
matching segments by their centres).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spark_vs_mllib as svm  # noqa: E402

import maitre  # noqa: E402
import maitre.spark as ms  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--peer", required=True)
    p.add_argument("--size", default="medium")
    p.add_argument("--seed", default=42)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--fit-min-days", type=int, default=2)
    p.add_argument("--fit-sample", type=int, default=None)
    p.add_argument("--target-k", type=int, default=1000)
    p.add_argument("--work", default="target/peers-spark")
    p.add_argument("--driver-memory", default="6g")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    path, kinds, scaled, info = svm.storefront_parquet(args.peer, args.work, args.size, args.seed)
    items = maitre.synthetic_catalog(seed=int(args.seed), size=args.size)
    options = dict(k=args.k, fit_min_days=args.fit_min_days, seed=0)

    started = time.perf_counter()
    log = maitre.EventLog.from_parquet(path, kinds=kinds, scaled=scaled)
    single = maitre.segments(log, items, **options)
    single_seconds = time.perf_counter() - started
    svm.log(f"single process: {single_seconds:.1f} s")

    spark = svm.session(8, args.driver_memory)
    spark.read.parquet(path).count()  # JVM warm-up, outside the timing
    started = time.perf_counter()
    labelled, summary = ms.segments(spark.read.parquet(path), items, kinds=kinds, scaled=scaled, **options)
    got = labelled.toPandas()
    spark_seconds = time.perf_counter() - started
    svm.log(f"spark: {spark_seconds:.1f} s")
    want = single.customers.set_index("customer")["segment"]
    same = got.set_index("customer")["segment"].reindex(want.index)
    out = {
        "what": "maitre.spark.segments vs maitre.segments, same Parquet file",
        "storefront": {"size": args.size, "seed": args.seed, **info},
        "options": options,
        "single_process_seconds": single_seconds,
        "spark_seconds": spark_seconds,
        "customers": int(len(want)),
        "same_segment": int((same.to_numpy() == want.to_numpy()).sum()),
        "sizes_single": single.segments["size"].tolist(),
        "sizes_spark": summary["size"].tolist(),
        # Same segments, same summary: words, shares and (to float rounding) values.
        "same_descriptions": int((summary["description"] == single.segments["description"]).sum()),
        "max_value_relative_difference": float(np.max(np.abs(summary["value"] - single.segments["value"])
                                                      / np.maximum(single.segments["value"], 1e-9))),
    }
    svm.log(f"same descriptions: {out['same_descriptions']} of {len(summary)}")
    model = maitre.ALS().fit(log)
    category = next(c for c, kind in zip(items["category"], items["kind"]) if c and kind == "product")
    started = time.perf_counter()
    want_top = maitre.target(log, model, category=category, items=items, k=args.target_k)
    single_target = time.perf_counter() - started
    started = time.perf_counter()
    got_top = ms.target(spark.read.parquet(path), model, category=category, items=items, k=args.target_k,
                        kinds=kinds, scaled=scaled)
    spark_target = time.perf_counter() - started
    out["target"] = {
        "category": category, "k": args.target_k,
        "single_process_seconds": single_target, "spark_seconds": spark_target,
        "same_customers": got_top["customer"].tolist() == want_top["customer"].tolist(),
        "same_scores": got_top["score"].tolist() == want_top["score"].tolist(),
        "same_reasons": got_top["reason"].tolist() == want_top["reason"].tolist(),
    }
    svm.log(f"target: single {single_target:.1f} s, spark {spark_target:.1f} s, {out['target']}")
    # RFM and lifecycle stages, and targeting within some of them.
    started = time.perf_counter()
    want_rfm = maitre.rfm(log, items)
    single_rfm = time.perf_counter() - started
    started = time.perf_counter()
    got_rfm = ms.rfm(spark.read.parquet(path), items, kinds=kinds, scaled=scaled).toPandas()
    spark_rfm = time.perf_counter() - started
    exact = ["customer", "recency_days", "frequency", "r", "f", "m", "group", "stage", "typical_gap_days", "loyalty"]
    filters = {"stages": ["at_risk", "lapsed"], "rfm_groups": ["champions", "loyal", "cant_lose"]}
    want_top = maitre.target(log, model, category=category, items=items, k=args.target_k, **filters)
    started = time.perf_counter()
    got_top = ms.target(spark.read.parquet(path), model, category=category, items=items, k=args.target_k,
                        kinds=kinds, scaled=scaled, **filters)
    spark_filtered = time.perf_counter() - started
    out["rfm"] = {
        "single_process_seconds": single_rfm, "spark_seconds": spark_rfm,
        "customers": len(want_rfm),
        "same_rows": int((got_rfm[exact].fillna(-1) == want_rfm[exact].fillna(-1)).all(axis=1).sum()),
        "max_monetary_relative_difference": float(np.max(np.abs(got_rfm["monetary"] - want_rfm["monetary"])
                                                         / np.maximum(want_rfm["monetary"], 1e-9))),
        "groups": want_rfm["group"].value_counts().to_dict(),
        "stages": want_rfm["stage"].value_counts().to_dict(),
        "target_filters": filters, "target_spark_seconds": spark_filtered,
        "target_same": got_top.to_dict("list") == want_top.to_dict("list"),
    }
    started = time.perf_counter()
    want_adv = maitre.advocates(log, items, n=100)
    out["rfm"]["advocates_single_process_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    got_adv = ms.advocates(spark.read.parquet(path), items, n=100, kinds=kinds, scaled=scaled)
    out["rfm"]["advocates_spark_seconds"] = time.perf_counter() - started
    out["rfm"]["advocates_same"] = got_adv.to_dict("list") == want_adv.to_dict("list")
    svm.log(f"rfm: single {single_rfm:.1f} s, spark {spark_rfm:.1f} s, {out['rfm']}")
    if args.fit_sample:
        started = time.perf_counter()
        sampled, _ = ms.segments(spark.read.parquet(path), items, kinds=kinds, scaled=scaled,
                                 fit_sample=args.fit_sample, **options)
        s = sampled.toPandas().set_index("customer")["segment"].reindex(want.index).to_numpy()
        seconds = time.perf_counter() - started
        # Segments matched by majority overlap with the full fit's.
        match = {a: np.bincount(want.to_numpy()[s == a]).argmax() for a in np.unique(s)}
        agree = float(np.mean(np.array([match[a] for a in s]) == want.to_numpy()))
        out["fit_sample"] = {"n": args.fit_sample, "seconds": seconds, "agreement": agree}
        svm.log(f"spark, fit on a sample of {args.fit_sample}: {seconds:.1f} s, agreement {agree:.4f}")
    spark.stop()
    print(json.dumps(out, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
