"""maitre's HNSW index against hnsw_rs, hnswlib and faiss IndexHNSWFlat.

Run through ann_vs_hnswlib.sh, which sets up the venv and the release build of
`examples/ann.rs` with `--features hnsw-rs`: that binary builds maitre's graph
and the hnsw_rs crate's (maitre's opt-in `HnswRsIndex`, which maitre's own
graph replaced; measuring it every run keeps that choice evidenced). All four:

* index the same vectors, written by `ann --write` (synthetic clustered
  vectors, raw little-endian f32) with the same M, ef_construction, ef_search;
* search by inner product: hnswlib space "ip", faiss METRIC_INNER_PRODUCT,
  maitre on its own graph with distance −x·y (hnswlib's "ip" space), hnsw_rs
  with M² − x·y (the same order, kept non-negative as hnsw_rs requires);
* build on the same number of threads and search on one thread;
* are scored against the same truth: maitre's exact index top-10 (`truth.u32`).

Python peers search a whole query batch in one call (no Python per-query
overhead); the example times one `search` call per query from Rust, for
maitre's graph and hnsw_rs alike (both behind maitre's `Index` contract: exact
rescoring, filters, never-short lists). Search timings are interleaved: both
Rust indexes wait in a running `ann --serve 1` process while the Python peers
are built, then all take turns at each ef for several rounds, and the median
is reported, so that all see the same machine load. A binary built without
`--features hnsw-rs` simply leaves the hnsw_rs row out.
"""

import argparse
import json
import math
import statistics
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

    return {"library": "hnswlib", "version": getattr(hnswlib, "__version__", "?"),
            "build_s": build}, search


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

    return {"library": "faiss IndexHNSWFlat", "version": faiss.__version__,
            "build_s": build}, search


def crate_version(name):
    """The version of `name` in the repository's Cargo.lock, or "?"."""
    lock = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Cargo.lock")
    try:
        blocks = open(lock).read().split("[[package]]")
    except OSError:
        return "?"
    for b in blocks:
        if f'name = "{name}"\n' in b:
            return b.split('version = "', 1)[1].split('"', 1)[0]
    return "?"


def start_maitre(a):
    """Builds maitre's index (and hnsw_rs's, when the binary has the feature)
    in `ann --serve 1`; returns the summary, a search(ef, prefix) that asks the
    running process for one timing, and the process."""
    cmd = [a.ann, "--items", a.items, "--dim", a.dim, "--queries", a.queries, "--m", a.m,
           "--ef-construction", a.ef_construction, "--ef-search", a.ef_search,
           "--threads", a.threads, "--write", a.work, "--serve", 1]
    proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    summary = json.loads(proc.stdout.readline())

    def search(ef, prefix=""):
        proc.stdin.write(f"{prefix}{ef}\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"ann exited with {proc.wait()}")
        r = json.loads(line)
        return r["qps"], r["recall_at_10"]

    return summary, search, proc


def interleaved_sweep(libraries, a):
    """Every library's speed at every ef, in --rounds rounds; within a round
    the libraries take turns at each ef (in an order that rotates), so a
    change in machine load hits all of them alike. QPS is the median over
    rounds; recall does not change between rounds."""
    qps = {(lib, ef): [] for lib in range(len(libraries)) for ef in a.ef_sweep}
    recall = {}
    for r in range(a.rounds):
        for ef in a.ef_sweep:
            for j in range(len(libraries)):
                lib = (j + r) % len(libraries)
                q, rec = libraries[lib](ef)
                qps[(lib, ef)].append(q)
                recall[(lib, ef)] = rec
        log(f"round {r + 1}/{a.rounds} done")
    return [[{"ef": ef, "qps": statistics.median(qps[(lib, ef)]), "qps_rounds": qps[(lib, ef)],
              "recall_at_10": recall[(lib, ef)]} for ef in a.ef_sweep]
            for lib in range(len(libraries))]


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
    p.add_argument("--ef-sweep", default="10,20,40,60,100,160,250,400,640",
                   help="ef values measured on every built index, for equal-recall ratios")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    a = p.parse_args()
    a.ef_sweep = sorted({int(e) for e in a.ef_sweep.split(",") if e} | {a.ef_search})

    log(f"maitre: {a.items} x {a.dim}")
    maitre, maitre_search, proc = start_maitre(a)
    items = np.fromfile(f"{a.work}/items.f32", dtype="<f4").reshape(-1, a.dim)
    queries = np.fromfile(f"{a.work}/queries.f32", dtype="<f4").reshape(-1, a.dim)
    truth = np.fromfile(f"{a.work}/truth.u32", dtype="<u4").reshape(-1, K)
    rows, searches = [maitre], [maitre_search]
    rs = maitre.pop("hnsw_rs", None)
    if rs:
        rs.pop("sweep", None)
        rs["version"] = crate_version("hnsw_rs")
        rows.append(rs)
        searches.append(lambda ef: maitre_search(ef, "hnsw_rs "))
    else:
        log("no hnsw_rs row: the ann binary was built without --features hnsw-rs")
    for run in (run_hnswlib, run_faiss):
        log(f"{run.__name__[4:]} ...")
        row, search = run(items, queries, truth, a)
        rows.append(row)
        searches.append(search)
    for row, sweep in zip(rows, interleaved_sweep(searches, a)):
        row["sweep"] = sweep
        at = next(p for p in sweep if p["ef"] == a.ef_search)
        row["qps_1_thread"], row["recall_at_10"] = at["qps"], at["recall_at_10"]
    proc.stdin.close()
    proc.wait()

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
