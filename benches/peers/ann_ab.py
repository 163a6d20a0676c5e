"""A/B of two builds of maitre's `ann` example on the same vectors.

    cargo build --release --example ann && cp target/release/examples/ann /tmp/ann-a
    # ... change the code ...
    cargo build --release --example ann
    python3 benches/peers/ann_ab.py /tmp/ann-a target/release/examples/ann \
        [--items 100000 --queries 500 --rounds 12 --ef 40,100]

Both binaries build their graph (the same one, if the build did not change:
it depends on the seed and the vectors only) and wait in `--serve 1`; then
they take turns at each ef for --rounds rounds, in alternating order, so that
machine load hits both alike. Prints each build's median queries per second,
its recall@10, and the median of the per-round ratios B / A.
"""

import argparse
import json
import statistics
import subprocess


def start(binary, a):
    proc = subprocess.Popen(
        [binary, "--items", str(a.items), "--queries", str(a.queries), "--serve", "1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()  # the build's summary

    def search(ef):
        proc.stdin.write(f"{ef}\n")
        proc.stdin.flush()
        r = json.loads(proc.stdout.readline())
        return r["qps"], r["recall_at_10"]

    return proc, search


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--ef", default="40,100")
    a = p.parse_args()
    efs = [int(e) for e in a.ef.split(",")]
    (proc_a, search_a), (proc_b, search_b) = start(a.a, a), start(a.b, a)
    qps = {(side, ef): [] for side in "ab" for ef in efs}
    recall = {}
    for r in range(a.rounds):
        for ef in efs:
            order = [("a", search_a), ("b", search_b)]
            for side, search in order if r % 2 == 0 else order[::-1]:
                q, rec = search(ef)
                qps[(side, ef)].append(q)
                recall[(side, ef)] = rec
    for proc in (proc_a, proc_b):
        proc.stdin.close()
        proc.wait()
    for ef in efs:
        ratio = statistics.median(b / x for x, b in zip(qps[("a", ef)], qps[("b", ef)]))
        print(f"ef {ef}: A {statistics.median(qps[('a', ef)]):.0f} q/s (recall {recall[('a', ef)]}), "
              f"B {statistics.median(qps[('b', ef)]):.0f} q/s (recall {recall[('b', ef)]}), "
              f"B / A {ratio:.3f}")


if __name__ == "__main__":
    main()
