"""NextBestOffer.decide / reward from Python against the same calls from Rust, in one run.

    cargo build --release --example offers_state
    .venv-ci/bin/python bindings-python/bench/offers_vs_rust.py [--n 2000] [--rounds 3]

Runs `target/release/examples/offers_state --decide N` (the Rust side: 20
offers, 8-dimensional contexts, one slot, N warm-up decisions with rewards,
then N timed ones) and the identical workload through ``maitre.NextBestOffer``,
alternating `--rounds` times so both run under the same machine load. Checks
both made the same decisions (a checksum of the chosen offers) and prints the
medians and the ratio Python / Rust for decide and for reward.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import maitre

ROOT = Path(__file__).resolve().parents[2]
OFFERS, DIM, T0 = 20, 8, 1_800_000_000


def engine() -> maitre.NextBestOffer:
    return maitre.NextBestOffer([{"id": f"o{k}", "value": 1.0 + k % 5} for k in range(OFFERS)], dim=DIM)


def context(t: int) -> np.ndarray:
    return np.array([((t * 7 + j * 3) % 11) / 10 for j in range(DIM)], dtype=np.float32)


def python_side(n: int) -> dict:
    nbo = engine()
    contexts = [context(t) for t in range(2 * n)]
    decide, reward, checksum = [], [], 0
    for t in range(2 * n):
        start = time.perf_counter()
        d = nbo.decide(f"c{t % 100}", contexts[t], now=T0 + t)
        took = time.perf_counter() - start
        c = d.chosen[0]
        k = int(c.offer[1:])
        accepted = (t * 13 + k) % 7 == 0
        start = time.perf_counter()
        nbo.reward(c.event_id, float(accepted), now=T0 + t)
        took_reward = time.perf_counter() - start
        if t >= n:
            decide.append(took * 1e6)
            reward.append(took_reward * 1e6)
            checksum = (checksum * 31 + k) % 1_000_000_007
    return {"decide_us": statistics.median(decide), "reward_us": statistics.median(reward), "checksum": checksum}


def rust_side(n: int) -> dict:
    binary = ROOT / "target" / "release" / "examples" / "offers_state"
    if not binary.exists():
        sys.exit("build the Rust side first: cargo build --release --example offers_state")
    out = subprocess.run([str(binary), "--decide", str(n)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for _ in range(args.rounds):
        rust = rust_side(args.n)
        py = python_side(args.n)
        if rust["checksum"] != py["checksum"]:
            sys.exit(f"the two sides decided differently: {rust} vs {py}")
        rows.append((py["decide_us"], rust["decide_us"], py["reward_us"], rust["reward_us"]))
    for (pd_, rd, pr, rr) in rows:
        print(f"decide: python {pd_:.1f} µs, rust {rd:.1f} µs, ratio {pd_ / rd:.2f} | "
              f"reward: python {pr:.1f} µs, rust {rr:.1f} µs, ratio {pr / rr:.2f}")
    ratio = statistics.median(r[0] / r[1] for r in rows)
    print(f"median decide ratio python/rust over {args.rounds} rounds: {ratio:.2f}")
    print(f"median reward ratio python/rust over {args.rounds} rounds: {statistics.median(r[2] / r[3] for r in rows):.2f}")


if __name__ == "__main__":
    main()
