"""maitre's HNSW index against hnswlib and faiss IndexHNSWFlat.

Run through ann_vs_hnswlib.sh, which sets up the venv and the release build of
`examples/ann.rs`. All three libraries:

* index the same vectors, written by `ann --write` (synthetic clustered
  vectors, raw little-endian f32) with the same M, ef_construction, ef_search;
* search by inner product: hnswlib space "ip", faiss METRIC_INNER_PRODUCT,
  maitre on its own graph with distance −x·y (hnswlib's "ip" space);
* build on the same number of threads and search on one thread;
* are scored against the same truth: maitre's exact index top-10 (`truth.u32`).

Peers search a whole query batch in one call (no Python per-query overhead);
maitre's example times one `search` call per query from Rust.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

K = 10


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def recall(truth, got):
    hits = sum(len(set(t) & set(g)) for t, g in zip(truth, got))
    return hits / truth.size


def run_hnswlib(items, queries, truth, a):
    import hnswlib

    index = hnswlib.Index(space="ip", dim=items.shape[1])
    index.init_index(max_elements=len(items), ef_construction=a.ef_construction, M=a.m,
                     random_seed=42)
    index.set_num_threads(a.threads)
    started = time.perf_counter()
    index.add_items(items, np.arange(len(items)))
    build = time.perf_counter() - started
    index.set_num_threads(1)

    def search(ef):
        index.set_ef(ef)
        started = time.perf_counter()
        labels, _ = index.knn_query(queries, k=K)
        return len(queries) / (time.perf_counter() - started), recall(truth, labels)

    qps, rec = search(a.ef_search)
    return {"library": "hnswlib", "version": getattr(hnswlib, "__version__", "?"),
            "build_s": build, "qps_1_thread": qps, "recall_at_10": rec,
            "sweep": sweep(search, a)}


def run_faiss(items, queries, truth, a):
    import faiss

    index = faiss.IndexHNSWFlat(items.shape[1], a.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = a.ef_construction
    faiss.omp_set_num_threads(a.threads)
    started = time.perf_counter()
    index.add(items)
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)

    def search(ef):
        index.hnsw.efSearch = ef
        started = time.perf_counter()
        _, labels = index.search(queries, K)
        return len(queries) / (time.perf_counter() - started), recall(truth, labels)

    qps, rec = search(a.ef_search)
    return {"library": "faiss IndexHNSWFlat", "version": faiss.__version__,
            "build_s": build, "qps_1_thread": qps, "recall_at_10": rec,
            "sweep": sweep(search, a)}


def sweep(search, a):
    """Speed and recall at each ef of --ef-sweep, on the built index."""
    out = []
    for ef in a.ef_sweep:
        qps, rec = search(ef)
        out.append({"ef": ef, "qps": qps, "recall_at_10": rec})
    return out


def qps_at_recall(points, target):
    """QPS at `target` recall, interpolated (log QPS, linear in recall) between
    the two sweep points around it; None outside the swept range."""
    pts = sorted((p["recall_at_10"], p["qps"]) for p in points)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1:
            t = 0.0 if r1 == r0 else (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    return None


def equal_recall_table(rows):
    """maitre's QPS against each peer's, at the peer's recall on each ef."""
    mine = rows[0]["sweep"]
    out = ["| peer | ef | peer recall@10 | peer QPS | maitre QPS at that recall | maitre / peer |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows[1:]:
        for p in r["sweep"]:
            q = qps_at_recall(mine, p["recall_at_10"])
            ours = "out of range" if q is None else f"{q:.0f}"
            ratio = "" if q is None else f"{q / p['qps']:.2f}x"
            out.append(f"| {r['library']} | {p['ef']} | {p['recall_at_10']:.4f} | {p['qps']:.0f} "
                       f"| {ours} | {ratio} |")
    return "\n".join(out)


def table(rows):
    base = rows[0]
    out = ["| library | build s | build vs maitre | QPS (1 thread) | QPS vs maitre | recall@10 |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['library']} | {r['build_s']:.1f} | {r['build_s'] / base['build_s']:.2f}x "
                   f"| {r['qps_1_thread']:.0f} | {r['qps_1_thread'] / base['qps_1_thread']:.2f}x "
                   f"| {r['recall_at_10']:.4f} |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ann", required=True, help="the built examples/ann binary")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--items", type=int, default=200_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef-search", type=int, default=100)
    p.add_argument("--ef-sweep", default="10,20,40,60,100,160,250",
                   help="ef values measured on every built index, for equal-recall ratios")
    a = p.parse_args()
    a.ef_sweep = [int(e) for e in a.ef_sweep.split(",") if e]

    log(f"maitre: {a.items} x {a.dim}")
    cmd = [a.ann, "--items", a.items, "--dim", a.dim, "--queries", a.queries, "--m", a.m,
           "--ef-construction", a.ef_construction, "--ef-search", a.ef_search,
           "--threads", a.threads, "--write", a.work,
           "--ef-sweep", ",".join(map(str, a.ef_sweep))]
    out = subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True)
    maitre = json.loads(out.stdout.strip().splitlines()[-1])

    items = np.fromfile(f"{a.work}/items.f32", dtype="<f4").reshape(-1, a.dim)
    queries = np.fromfile(f"{a.work}/queries.f32", dtype="<f4").reshape(-1, a.dim)
    truth = np.fromfile(f"{a.work}/truth.u32", dtype="<u4").reshape(-1, K)
    rows = [maitre]
    for run in (run_hnswlib, run_faiss):
        log(f"{run.__name__[4:]} ...")
        rows.append(run(items, queries, truth, a))

    params = {k: getattr(a, k) for k in ("items", "dim", "queries", "m", "ef_construction",
                                         "ef_search", "threads")}
    # Timings on a shared machine mean little without the load they ran under.
    load = os.getloadavg()
    with open(a.out, "w") as f:
        json.dump({"params": params, "load_average_1_5_15": load, "cpus": os.cpu_count(),
                   "results": rows}, f, indent=2)
    log(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cpus")
    print(table(rows))
    print()
    print(equal_recall_table(rows))


if __name__ == "__main__":
    main()
