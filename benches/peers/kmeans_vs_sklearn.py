"""maitre k-means vs scikit-learn KMeans: time and inertia on the same vectors.

Run through kmeans_vs_sklearn.sh. The data: `rows` x `dim` float32 vectors
drawn around 30 centres with unequal spreads and sizes (a segmentation does not
get blobs of equal size), seeded. Each library fits k segments with greedy
k-means++ (2 + ln k candidates per centre), one initialisation, at most 300
Lloyd iterations, tolerance 1e-4 relative to the mean variance, 2 threads,
the best of `n_init` initialisations (default 3: one initialisation's
inertia swings by ±5 % between seeds on this data, in either library).
The inertia of both sets of centres is recomputed here in float64 by one
function, so rounding inside either library cannot tilt the comparison.
"""

import argparse
import json
import platform
import subprocess
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info, threadpool_limits


def make_data(rows, dim, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, size=(30, dim)).astype(np.float32)
    weights = rng.dirichlet(np.full(30, 2.0))
    spread = rng.uniform(0.3, 0.9, size=30).astype(np.float32)
    which = rng.choice(30, size=rows, p=weights)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    x *= spread[which, None]
    x += centres[which]
    return np.ascontiguousarray(x, dtype=np.float32)


def inertia64(x, centres, chunk=200_000):
    """Sum of squared distances to the nearest centre, in float64."""
    c = centres.astype(np.float64)
    cc = (c * c).sum(1)
    total = 0.0
    for i in range(0, len(x), chunk):
        b = x[i : i + chunk].astype(np.float64)
        d = (b * b).sum(1)[:, None] - 2.0 * b @ c.T + cc[None, :]
        total += np.maximum(d.min(1), 0.0).sum()
    return float(total)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n-init", type=int, default=3)
    a = ap.parse_args()

    x = make_data(a.rows, a.dim, 0)
    path = f"{a.work}/kmeans_{a.rows}x{a.dim}.f32"
    x.tofile(path)
    runs = []
    for seed in range(a.seeds):
        out = f"{a.work}/kmeans_centres_{seed}.f32"
        line = subprocess.run(
            [a.peer, path, str(a.dim), str(a.k), str(a.threads), str(seed), out, str(a.n_init)],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        m = json.loads(line)
        m_centres = np.fromfile(out, dtype=np.float32).reshape(a.k, a.dim)
        with threadpool_limits(limits=a.threads):
            km = KMeans(
                n_clusters=a.k, init="k-means++", n_init=a.n_init, max_iter=300, tol=1e-4,
                algorithm="lloyd", random_state=seed,
            )
            t0 = time.perf_counter()
            km.fit(x)
            s_seconds = time.perf_counter() - t0
        run = {
            "seed": seed,
            "maitre_seconds": m["seconds"],
            "maitre_iterations": m["iterations"],
            "maitre_inertia": inertia64(x, m_centres),
            "maitre_inertia_reported": m["inertia"],
            "sklearn_seconds": s_seconds,
            "sklearn_iterations": int(km.n_iter_),
            "sklearn_inertia": inertia64(x, km.cluster_centers_),
            "sklearn_inertia_reported": float(km.inertia_),
        }
        run["inertia_ratio"] = run["maitre_inertia"] / run["sklearn_inertia"]
        run["speedup"] = s_seconds / m["seconds"]
        runs.append(run)
        print(json.dumps(run), flush=True)

    def mean(key):
        return float(np.mean([r[key] for r in runs]))

    result = {
        "rows": a.rows, "dim": a.dim, "k": a.k, "threads": a.threads, "n_init": a.n_init,
        "seeds": a.seeds, "runs": runs,
        "sklearn": sklearn.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": platform.processor() or platform.machine(),
        "threadpools": threadpool_info(),
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print()
    print(f"k-means, {a.rows:,} x {a.dim} float32, k = {a.k}, {a.threads} threads, "
          f"k-means++ (greedy), best of {a.n_init} inits, mean of seeds 0-{a.seeds - 1}:")
    print()
    print("| library | fit seconds | iterations | inertia (float64, same code) |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| maitre | {mean('maitre_seconds'):.1f} | {mean('maitre_iterations'):.0f} | "
          f"{mean('maitre_inertia'):.6g} |")
    print(f"| scikit-learn {sklearn.__version__} | {mean('sklearn_seconds'):.1f} | "
          f"{mean('sklearn_iterations'):.0f} | {mean('sklearn_inertia'):.6g} |")
    print()
    print(f"speed-up (sklearn seconds / maitre seconds), per seed: "
          + ", ".join(f"{r['speedup']:.2f}" for r in runs))
    print(f"inertia ratio (maitre / sklearn), per seed: "
          + ", ".join(f"{r['inertia_ratio']:.4f}" for r in runs))


if __name__ == "__main__":
    main()
