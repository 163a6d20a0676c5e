"""maitre's implicit ALS against benfred/implicit's AlternatingLeastSquares (CPU, CG).

Run through als_vs_implicit.sh, which sets up the venv, the thread environment
and the release build of `examples/peer.rs`. Both libraries:

* train on the same binary matrices, read from the same split files that
  `peer split` wrote (MovieLens 100K, ratings >= 4, maitre's indices);
* are tuned on the same grid, each with its own meaning of alpha, on the same
  validation files (carved from the training positives with the same kind of
  split), picking the best NDCG@10;
* are scored on the test files by the same code: maitre's `score_split`,
  implicit's factors going through `peer score`;
* are timed on the same matrices (fit only, median of 3 runs, 2 threads).

Usage (normally via the .sh):
  python als_vs_implicit.py run --peer BIN --data DIR --work DIR --out JSON
  python als_vs_implicit.py implicit-fit-matrix --matrix DIR [...]   (internal)
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

SPLITS = ["leave-last-out", "temporal"]
GRID_REGULARIZATION = [0.01, 0.1, 1.0]
GRID_ALPHA = [1.0, 5.0, 20.0]
FACTORS = 64
ITERATIONS = 15
THREADS = 2
SEED = 0
# The tuned models are refitted on train with these seeds: seed 0 is the headline,
# the spread shows how much of a gap is initialisation noise.
TEST_SEEDS = list(range(10))
REPEATS = 3
# The speed runs use one fixed setting for both libraries (the work per sweep of
# a 3-step CG solver does not depend on these values).
SPEED_REGULARIZATION = 0.1
SPEED_ALPHA = 5.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def peer(binary, *args):
    cmd = [binary, *[str(a) for a in args]]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return last_json(out.stdout)


def implicit_model(regularization, alpha, seed=SEED):
    # The CPU class directly: implicit.als.AlternatingLeastSquares would pick the
    # GPU when one is there.
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(
        factors=FACTORS,
        regularization=regularization,
        alpha=alpha,
        iterations=ITERATIONS,
        use_cg=True,
        use_native=True,
        calculate_training_loss=False,
        num_threads=THREADS,
        random_state=seed,
        dtype=np.float32,
    )


def implicit_fit(matrix, regularization, alpha, seed=SEED):
    """A fresh model fitted to `matrix` (users x items); returns (model, fit seconds)."""
    model = implicit_model(regularization, alpha, seed)
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    return model, time.perf_counter() - started


def read_pairs_csr(path, n_users, n_items):
    pairs = np.loadtxt(path, dtype=np.int64, delimiter="\t", ndmin=2)
    data = np.ones(len(pairs), dtype=np.float32)
    m = sp.csr_matrix((data, (pairs[:, 0], pairs[:, 1])), shape=(n_users, n_items))
    m.sum_duplicates()
    m.sort_indices()
    assert m.data.max() == 1.0, f"{path}: duplicate pairs"
    return m


class SplitFiles:
    def __init__(self, directory):
        self.dir = directory
        with open(os.path.join(directory, "meta.json")) as f:
            self.meta = json.load(f)
        self.meta_path = os.path.join(directory, "meta.json")

    def path(self, name):
        return os.path.join(self.dir, f"{name}.tsv")

    def matrix(self, name):
        return read_pairs_csr(self.path(name), self.meta["n_users"], self.meta["n_items"])


def maitre_fit(binary, files, train, test, regularization, alpha, seed=SEED, save=None):
    extra = [] if save is None else ["--save-users", save[0], "--save-items", save[1]]
    return peer(
        binary, "fit",
        "--train", files.path(train), "--test", files.path(test), "--meta", files.meta_path,
        "--factors", FACTORS, "--iterations", ITERATIONS, "--threads", THREADS,
        "--seed", seed, "--regularization", regularization, "--alpha", alpha, *extra,
    )


def objective(matrix, users, items, regularization, confidence_extra):
    """The iALS loss both libraries minimise, on a binary matrix: observed entries
    with confidence 1 + confidence_extra and preference 1, every other entry with
    weight 1 and preference 0, plus regularization times the squared norms."""
    dense = matrix.toarray().astype(np.float64)
    scores = users.astype(np.float64) @ items.astype(np.float64).T
    weights = 1.0 + confidence_extra * dense
    return float((weights * (dense - scores) ** 2).sum()
                 + regularization * ((users.astype(np.float64) ** 2).sum()
                                     + (items.astype(np.float64) ** 2).sum()))


def read_factors(path, rows):
    return np.fromfile(path, dtype="<f4").reshape(rows, FACTORS)


def implicit_fit_and_score(binary, files, train, test, regularization, alpha, work, seed=SEED):
    model, seconds = implicit_fit(files.matrix(train), regularization, alpha, seed)
    users = os.path.join(work, "implicit_users.f32")
    items = os.path.join(work, "implicit_items.f32")
    uf = np.ascontiguousarray(model.user_factors, dtype="<f4")
    itf = np.ascontiguousarray(model.item_factors, dtype="<f4")
    assert uf.shape == (files.meta["n_users"], FACTORS), uf.shape
    assert itf.shape == (files.meta["n_items"], FACTORS), itf.shape
    uf.tofile(users)
    itf.tofile(items)
    scored = peer(
        binary, "score",
        "--train", files.path(train), "--test", files.path(test), "--meta", files.meta_path,
        "--users", users, "--items", items, "--factors", FACTORS,
    )
    scored["fit_seconds"] = seconds
    return scored


def compare_split(binary, data, work, split):
    directory = os.path.join(work, split)
    peer(binary, "split", "--data", data, "--split", split, "--out", directory)
    files = SplitFiles(directory)
    log(f"[{split}] {files.meta}")
    grid = {"maitre": [], "implicit": []}
    for reg in GRID_REGULARIZATION:
        for alpha in GRID_ALPHA:
            m = maitre_fit(binary, files, "valid_train", "valid_test", reg, alpha)
            i = implicit_fit_and_score(
                binary, files, "valid_train", "valid_test", reg, alpha, directory
            )
            for lib, r in (("maitre", m), ("implicit", i)):
                grid[lib].append({
                    "regularization": reg, "alpha": alpha,
                    "valid_ndcg@10": r["metrics"]["ndcg@10"],
                    "valid_recall@20": r["metrics"]["recall@20"],
                })
            log(f"[{split}] reg={reg:<5} alpha={alpha:<5} valid ndcg@10 "
                f"maitre={m['metrics']['ndcg@10']:.4f} implicit={i['metrics']['ndcg@10']:.4f}")
    result = {"meta": files.meta, "grid": grid}

    train_matrix = files.matrix("train")
    n_users, n_items = train_matrix.shape

    def on_test(lib, reg, alpha):
        runs = []
        losses = []
        for seed in TEST_SEEDS:
            if lib == "maitre":
                save = (os.path.join(directory, "maitre_users.f32"),
                        os.path.join(directory, "maitre_items.f32"))
                r = maitre_fit(binary, files, "train", "test", reg, alpha, seed, save)
                extra = alpha
            else:
                r = implicit_fit_and_score(
                    binary, files, "train", "test", reg, alpha, directory, seed
                )
                save = (os.path.join(directory, "implicit_users.f32"),
                        os.path.join(directory, "implicit_items.f32"))
                extra = alpha - 1.0
            losses.append(objective(train_matrix, read_factors(save[0], n_users),
                                    read_factors(save[1], n_items), reg, extra))
            runs.append(r)
        ndcg = [r["metrics"]["ndcg@10"] for r in runs]
        recall = [r["metrics"]["recall@20"] for r in runs]
        return {
            "test_ndcg@10": ndcg[0],
            "test_recall@20": recall[0],
            "test_metrics": runs[0]["metrics"],
            "test_users": runs[0]["test_users"],
            "seeds": TEST_SEEDS,
            "test_ndcg@10_by_seed": ndcg,
            "test_recall@20_by_seed": recall,
            "test_ndcg@10_mean": statistics.mean(ndcg),
            "test_ndcg@10_sd": statistics.stdev(ndcg),
            "test_recall@20_mean": statistics.mean(recall),
            "test_recall@20_sd": statistics.stdev(recall),
            "train_objective_by_seed": losses,
            "train_objective_mean": statistics.mean(losses),
        }

    for lib in ("maitre", "implicit"):
        # Ties keep the first grid point (smaller regularization, then smaller alpha).
        best = max(grid[lib], key=lambda g: g["valid_ndcg@10"])
        result[lib] = {
            "best": {"regularization": best["regularization"], "alpha": best["alpha"]},
            "valid_ndcg@10": best["valid_ndcg@10"],
            **on_test(lib, best["regularization"], best["alpha"]),
        }
        r = result[lib]
        log(f"[{split}] {lib} best {result[lib]['best']} test ndcg@10={r['test_ndcg@10']:.4f} "
            f"(mean {r['test_ndcg@10_mean']:.4f} sd {r['test_ndcg@10_sd']:.4f}) "
            f"recall@20={r['test_recall@20']:.4f}")
    # A consistency check, not part of the tuned comparison: on binary data maitre's
    # confidence is 1 + alpha and implicit's is alpha, so implicit at maitre's best
    # (alpha + 1) solves the same problem and should land close to maitre.
    b = result["maitre"]["best"]
    result["implicit_at_maitre_equivalent"] = {
        "regularization": b["regularization"], "alpha": b["alpha"] + 1.0,
        **on_test("implicit", b["regularization"], b["alpha"] + 1.0),
    }
    return result


def median_summary(values):
    return {"median": statistics.median(values), "runs": values}


def speed_ml100k(binary, work):
    files = SplitFiles(os.path.join(work, "leave-last-out"))
    matrix = files.matrix("train")
    maitre, implicit = [], []
    for _ in range(REPEATS):  # interleaved, as on the storefront
        maitre.append(maitre_fit(binary, files, "train", "test", SPEED_REGULARIZATION,
                                 SPEED_ALPHA)["fit_seconds"])
        implicit.append(implicit_fit(matrix, SPEED_REGULARIZATION, SPEED_ALPHA)[1])
    m, i = statistics.median(maitre), statistics.median(implicit)
    log(f"[speed ml-100k] maitre {maitre} implicit {implicit}")
    return {
        "matrix": "ml-100k leave-last-out train (binary)",
        "n_users": matrix.shape[0], "n_items": matrix.shape[1], "nnz": int(matrix.nnz),
        "maitre_fit_seconds": median_summary(maitre),
        "implicit_fit_seconds": median_summary(implicit),
        "ratio_maitre_over_implicit": m / i,
    }


def load_raw_csr(directory):
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    indptr = np.fromfile(os.path.join(directory, "indptr.u64"), dtype="<u8").astype(np.int64)
    indices = np.fromfile(os.path.join(directory, "indices.u32"), dtype="<u4").astype(np.int32)
    data = np.fromfile(os.path.join(directory, "data.f32"), dtype="<f4")
    m = sp.csr_matrix((data, indices, indptr), shape=(meta["n_users"], meta["n_items"]))
    return meta, m


def implicit_fit_matrix(args):
    """Internal: times implicit on the raw storefront CSR in its own process."""
    meta, m = load_raw_csr(args.matrix)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    seconds = []
    finite = True
    for _ in range(args.repeats):
        model, s = implicit_fit(m, args.regularization, args.alpha)
        seconds.append(s)
        finite = finite and bool(np.isfinite(model.user_factors).all()
                                 and np.isfinite(model.item_factors).all())
        del model
    import threadpoolctl

    print(json.dumps({
        "library": "implicit",
        "fit_seconds": seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_rss_before_fit_mib": rss_before,
        "factors_finite": finite,
        "threadpools": [
            {k: p[k] for k in ("user_api", "internal_api", "num_threads")}
            for p in threadpoolctl.threadpool_info()
        ],
    }))


def speed_storefront(binary, work, size, seed):
    directory = os.path.join(work, "storefront")
    started = time.perf_counter()
    meta = peer(binary, "matrix", "--size", size, "--seed", seed, "--out", directory)
    log(f"[speed storefront] matrix in {time.perf_counter() - started:.1f}s: {meta}")
    # Interleaved (maitre, implicit, maitre, ...), so a burst of load from other work
    # on a shared machine does not land on one library only.
    maitre_runs, implicit_runs = [], []
    for _ in range(REPEATS):
        r = peer(
            binary, "fit-matrix", "--matrix", directory,
            "--factors", FACTORS, "--iterations", ITERATIONS, "--threads", THREADS,
            "--seed", SEED, "--regularization", SPEED_REGULARIZATION, "--alpha", SPEED_ALPHA,
        )
        assert r["factors_finite"], r
        maitre_runs.append(r)
        log(f"[speed storefront] maitre {r['fit_seconds']:.2f}s peak {r['peak_rss_mib']:.0f} MiB")
        out = subprocess.run(
            [sys.executable, __file__, "implicit-fit-matrix", "--matrix", directory,
             "--regularization", str(SPEED_REGULARIZATION), "--alpha", str(SPEED_ALPHA),
             "--repeats", "1"],
            check=True, capture_output=True, text=True,
        )
        i = last_json(out.stdout)
        implicit_runs.append(i)
        log(f"[speed storefront] implicit {i['fit_seconds'][0]:.2f}s "
            f"peak {i['peak_rss_mib']:.0f} MiB")
    imp = {
        "fit_seconds": [i["fit_seconds"][0] for i in implicit_runs],
        "peak_rss_mib": max(i["peak_rss_mib"] for i in implicit_runs),
        "peak_rss_before_fit_mib": implicit_runs[0]["peak_rss_before_fit_mib"],
        "factors_finite": all(i["factors_finite"] for i in implicit_runs),
        "threadpools": implicit_runs[0]["threadpools"],
    }
    maitre = [r["fit_seconds"] for r in maitre_runs]
    m, i = statistics.median(maitre), statistics.median(imp["fit_seconds"])
    return {
        "matrix": meta,
        "maitre_fit_seconds": median_summary(maitre),
        "implicit_fit_seconds": median_summary(imp["fit_seconds"]),
        "ratio_maitre_over_implicit": m / i,
        "maitre_peak_rss_mib": max(r["peak_rss_mib"] for r in maitre_runs),
        "maitre_peak_rss_is_fit_only": all(r["peak_rss_is_fit_only"] for r in maitre_runs),
        "maitre_rss_before_fit_mib": maitre_runs[0]["rss_before_fit_mib"],
        "maitre_process_peak_rss_mib": max(r["process_peak_rss_mib"] for r in maitre_runs),
        "implicit_process_peak_rss_mib": imp["peak_rss_mib"],
        "implicit_rss_before_fit_mib": imp["peak_rss_before_fit_mib"],
        "implicit_factors_finite": imp["factors_finite"],
        "implicit_threadpools": imp["threadpools"],
    }


def table(results):
    lines = []
    lines.append("| split | library | best regularization | best alpha | valid NDCG@10 "
                 f"| test NDCG@10 | test Recall@20 | test NDCG@10, {len(TEST_SEEDS)} seeds "
                 f"| test Recall@20, {len(TEST_SEEDS)} seeds |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def row(split, name, reg, alpha, valid, r):
        valid = "–" if valid is None else f"{valid:.4f}"
        return (
            f"| {split} | {name} | {reg:g} | {alpha:g} | {valid} "
            f"| {r['test_ndcg@10']:.4f} | {r['test_recall@20']:.4f} "
            f"| {r['test_ndcg@10_mean']:.4f} ± {r['test_ndcg@10_sd']:.4f} "
            f"| {r['test_recall@20_mean']:.4f} ± {r['test_recall@20_sd']:.4f} |"
        )

    for split in SPLITS:
        s = results["quality"][split]
        for lib in ("maitre", "implicit"):
            r = s[lib]
            lines.append(row(split, lib, r["best"]["regularization"], r["best"]["alpha"],
                             r["valid_ndcg@10"], r))
        e = s["implicit_at_maitre_equivalent"]
        lines.append(row(split, "implicit at maitre's best, alpha + 1 (check)",
                         e["regularization"], e["alpha"], None, e))
    lines.append("")
    for split in SPLITS:
        s = results["quality"][split]
        m, e = s["maitre"], s["implicit_at_maitre_equivalent"]
        lines.append(
            f"Check, {split}: the training objective at maitre's best setting, mean over "
            f"seeds: maitre {m['train_objective_mean']:.1f}, implicit "
            f"{e['train_objective_mean']:.1f} "
            f"({e['train_objective_mean'] / m['train_objective_mean'] - 1:+.2%})."
        )
    lines.append("")
    lines.append(f"Test columns: seed {SEED}, then mean ± sd over seeds "
                 f"{TEST_SEEDS[0]}–{TEST_SEEDS[-1]} (tuning used seed {SEED}). Test users: "
                 + ", ".join(f"{sp} {results['quality'][sp]['maitre']['test_users']}"
                             for sp in SPLITS) + ".")
    lines.append("")
    lines.append(f"Fit time, factors {FACTORS}, {ITERATIONS} iterations, {THREADS} threads, "
                 f"regularization {SPEED_REGULARIZATION:g}, alpha {SPEED_ALPHA:g}, "
                 f"median of {REPEATS}:")
    lines.append("")
    lines.append("| matrix | users × items | nnz | maitre s | implicit s | maitre / implicit "
                 "| maitre peak RSS MiB: fit (process) | implicit process peak RSS MiB |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    ml = results["speed"]["ml-100k"]
    lines.append(
        f"| ML-100K leave-last-out train | {ml['n_users']} × {ml['n_items']} | {ml['nnz']} "
        f"| {ml['maitre_fit_seconds']['median']:.3f} | {ml['implicit_fit_seconds']['median']:.3f} "
        f"| {ml['ratio_maitre_over_implicit']:.2f} | – | – |"
    )
    st = results["speed"]["storefront"]
    mm = st["matrix"]
    lines.append(
        f"| {mm['dataset']}, {mm['events'] / 1e6:.1f}M events | {mm['n_users']} × {mm['n_items']} "
        f"| {mm['nnz']} | {st['maitre_fit_seconds']['median']:.2f} "
        f"| {st['implicit_fit_seconds']['median']:.2f} | {st['ratio_maitre_over_implicit']:.2f} "
        f"| {st['maitre_peak_rss_mib']:.0f} ({st['maitre_process_peak_rss_mib']:.0f}) "
        f"| {st['implicit_process_peak_rss_mib']:.0f} |"
    )
    lines.append("")
    lines.append("Peak RSS: maitre's fit alone (VmHWM reset after loading), and its whole "
                 "process; implicit's whole Python process (ru_maxrss, with numpy/scipy and "
                 "the matrix loaded).")
    return "\n".join(lines)


def versions():
    import implicit
    import scipy

    return {
        "implicit": implicit.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": sys.version.split()[0],
    }


def run(args):
    started = time.perf_counter()
    os.makedirs(args.work, exist_ok=True)
    env = {k: os.environ.get(k) for k in
           ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")}
    results = {
        "what": "maitre implicit ALS vs implicit.cpu.als.AlternatingLeastSquares (use_cg=True)",
        "versions": versions(),
        "environment": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(), **env},
        "settings": {
            "factors": FACTORS, "iterations": ITERATIONS, "threads": THREADS, "seed": SEED,
            "cg_steps": 3, "grid_regularization": GRID_REGULARIZATION,
            "grid_alpha": GRID_ALPHA, "selection": "best validation NDCG@10",
            "speed_regularization": SPEED_REGULARIZATION, "speed_alpha": SPEED_ALPHA,
            "repeats": REPEATS,
            "alpha_meaning": {
                "maitre": "confidence = 1 + alpha * weight",
                "implicit": "confidence = alpha * weight",
            },
        },
        "quality": {},
        "speed": {},
    }
    for split in SPLITS:
        results["quality"][split] = compare_split(args.peer, args.data, args.work, split)
    results["speed"]["ml-100k"] = speed_ml100k(args.peer, args.work)
    results["speed"]["storefront"] = speed_storefront(
        args.peer, args.work, args.size, args.storefront_seed
    )
    results["benchmark_seconds"] = time.perf_counter() - started
    results["environment"]["loadavg_at_end"] = os.getloadavg()
    text = table(results)
    results["table"] = text
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(text)
    print(f"\nresults: {args.out} ({results['benchmark_seconds']:.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--peer", required=True, help="the built examples/peer binary")
    r.add_argument("--data", required=True, help="MovieLens 100K atomic files")
    r.add_argument("--work", required=True, help="scratch directory")
    r.add_argument("--out", required=True, help="results JSON")
    r.add_argument("--size", default="large", help="storefront size for the speed part")
    r.add_argument("--storefront-seed", default=42, type=int)
    f = sub.add_parser("implicit-fit-matrix")
    f.add_argument("--matrix", required=True)
    f.add_argument("--regularization", type=float, required=True)
    f.add_argument("--alpha", type=float, required=True)
    f.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    warnings.simplefilter("default")
    if args.command == "run":
        run(args)
    else:
        implicit_fit_matrix(args)


if __name__ == "__main__":
    main()
