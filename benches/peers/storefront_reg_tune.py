"""Single-process maitre ALS on the storefront's quality split: a grid of
regularisations tuned on the validation pair, the best of each family scored
on the test. No Spark: ``maitre.spark.fit_als`` gives the model
``maitre.ALS.fit`` gives (issue 16), so the regularisation can be chosen here
and the Spark run only confirms it.

Uses the split, tables and scoring of ``spark_vs_mllib.py`` (``peer
storefront-split`` / ``peer score``): the same events, the same metrics.

A family is a regularisation scale and exponent ν (``maitre.ALS``'s
``regularization_scale`` and ``regularization_exponent``); each is tuned over
its own λ × α grid on validation only, and only its best setting is fitted on
the training events and scored on the test.

    python benches/peers/storefront_reg_tune.py --peer target/release/examples/peer \\
        --work target/peers-reg --size medium --out RESULTS.json \\
        --family all_pairs:0:30,50,100,150,200,300:0.25,0.5,1,2,4 \\
        --family observed:1:0.1,0.2,0.3,0.5,1,2:0.25,0.5,1,2,4
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spark_vs_mllib import FACTORS, ITERATIONS, SEED, StorefrontSplit, log  # noqa: E402


def parse_family(text):
    """"SCALE:NU:R1,R2,..:A1,A2,.." -> (scale, nu, regs, alphas)."""
    scale, nu, regs, alphas = text.split(":")
    return scale, float(nu), [float(x) for x in regs.split(",")], [float(x) for x in alphas.split(",")]


def main():
    import maitre

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", default="medium")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--split", default="temporal")
    ap.add_argument("--half-life-days", type=float, default=60.0)
    ap.add_argument("--factors", type=int, default=FACTORS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--family", action="append", required=True, metavar="SCALE:NU:REGS:ALPHAS")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    sp = StorefrontSplit(args.peer, args.work, args.size, args.seed, args.split)
    log(f"[split] {sp.info}")
    logs = {which: maitre.EventLog.from_parquet(sp.parquet(which), kinds=sp.kinds, scaled=sp.scaled)
            for which in ("valid_train", "train")}

    def run(which, test, scale, nu, reg, alpha):
        als = maitre.ALS(factors=args.factors, iterations=ITERATIONS, regularization=reg, alpha=alpha,
                         regularization_exponent=nu, regularization_scale=scale, seed=SEED,
                         threads=args.threads)
        started = time.perf_counter()
        model = als.fit(logs[which], half_life_days=args.half_life_days)
        seconds = time.perf_counter() - started
        r = sp.score(args.peer, which, test, *sp.model_tables(model), "reg")
        return {"scale": scale, "exponent": nu, "regularization": reg, "alpha": alpha,
                "fit_seconds": seconds, "metrics": r["metrics"]}

    results = {"split": sp.info, "factors": args.factors, "iterations": ITERATIONS, "seed": SEED,
               "half_life_days": args.half_life_days, "families": []}
    for text in args.family:
        scale, nu, regs, alphas = parse_family(text)
        grid = []
        for reg in regs:
            for alpha in alphas:
                g = run("valid_train", "valid_test", scale, nu, reg, alpha)
                grid.append(g)
                log(f"[valid {scale} nu={nu}] reg={reg:<7} alpha={alpha:<5} ndcg@10 "
                    f"{g['metrics']['ndcg@10']:.4f} ({g['fit_seconds']:.1f}s)")
        # Ties keep the first grid point.
        best = max(grid, key=lambda g: g["metrics"]["ndcg@10"])
        test = run("train", "test", scale, nu, best["regularization"], best["alpha"])
        log(f"[test  {scale} nu={nu}] reg={best['regularization']} alpha={best['alpha']} "
            f"valid {best['metrics']['ndcg@10']:.4f} test ndcg@10 {test['metrics']['ndcg@10']:.4f}")
        results["families"].append({"family": text, "grid": grid, "best": best, "test": test})
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
