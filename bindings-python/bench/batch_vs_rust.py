"""Python's recommend_batch against the same call from Rust, in one run.

    python bindings-python/bench/batch_vs_rust.py [--repeats 30] [--data DIR]

Starts `cargo run --release --example batch_recommend -- --paired` (the Rust
side: same data, same model settings, same users, same k) and times
`Recommender.recommend_batch` (arrays out) for every MovieLens 100K user, top
10, alternating with one timed Rust batch at a time, so both sides run under
the same machine load. Prints the medians, the median of the paired ratios
Python / Rust (target: at most 1.1) and the ratio of the minimums. Both sides
fit the same deterministic model (ALS defaults, seed 0) and the bench checks
they return the same first list. Run it from the repository root with
the package installed (e.g. `bash bindings-python/ci.sh` first, then
`.venv-ci/bin/python bindings-python/bench/batch_vs_rust.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import maitre

ROOT = Path(__file__).resolve().parents[2]


def start_rust(repeats: int, data: str | None) -> subprocess.Popen:
    """The Rust side in paired mode: it times one batch per line we send."""
    cmd = ["cargo", "run", "--quiet", "--release", "--example", "batch_recommend", "--",
           "--paired", "--repeats", str(repeats)]
    if data:
        cmd += ["--data", data]
    return subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def ask(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        sys.exit(f"the Rust side stopped (exit code {proc.wait()})")
    return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--data", default=os.environ.get("MAITRE_ML100K"))
    args = parser.parse_args()
    proc = start_rust(args.repeats, args.data)
    log = maitre.load_movielens(args.data)
    rec = maitre.Recommender.build(log, maitre.ALS(seed=0).fit(log))
    users = [str(u) for u in range(1, 944)]
    assert ask(proc) == {"ready": True}
    rust_ms, python_ms = [], []

    def python_once() -> None:
        started = time.perf_counter()
        ids, scores = rec.recommend_batch(users, k=10)
        python_ms.append((time.perf_counter() - started) * 1e3)
        python_once.ids = ids  # type: ignore[attr-defined]

    def rust_once() -> None:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        rust_ms.append(ask(proc)["ms"])

    # Alternate, and alternate who goes first, so both see the same load.
    for i in range(args.repeats):
        for side in (rust_once, python_once) if i % 2 == 0 else (python_once, rust_once):
            side()
    proc.stdin.close()
    r = ask(proc)
    proc.wait()
    first = list(python_once.ids[0])  # type: ignore[attr-defined]
    same = r["first_user_top"] == first
    ratios = [p / q for p, q in zip(python_ms, rust_ms)]
    report = {
        "customers": len(users),
        "k": 10,
        "pairs": len(ratios),
        "rust_ms": {"median": statistics.median(rust_ms), "min": min(rust_ms)},
        "python_ms": {"median": statistics.median(python_ms), "min": min(python_ms)},
        "ratio_of_medians": statistics.median(python_ms) / statistics.median(rust_ms),
        "median_paired_ratio": statistics.median(ratios),
        "ratio_of_mins": min(python_ms) / min(rust_ms),
        "same_first_list": same,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    print(
        f"recommend_batch, {len(users)} MovieLens users, top 10, {len(ratios)} alternating pairs: "
        f"Rust {report['rust_ms']['median']:.2f} ms, Python {report['python_ms']['median']:.2f} ms (medians); "
        f"Python/Rust: median of paired ratios {report['median_paired_ratio']:.3f}, "
        f"ratio of mins {report['ratio_of_mins']:.3f}; target <= 1.1",
        file=sys.stderr,
    )
    if not same:
        sys.exit("the two sides returned different lists")


if __name__ == "__main__":
    main()
