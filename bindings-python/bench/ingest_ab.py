"""A/B of `EventLog.from_parquet` between two builds of maitre, on one file.

On a shared machine, one build's time drifts by 10-20 % from minute to
minute, more than most changes are worth. This runs the builds in
alternating child processes (A, B, A, B, ...) and prints each one's median
wall time and process CPU time (user + system, every thread), so both saw
the same minutes. CPU time shows a saving even when both cores are busy.

Install each build into a folder of its own, then name the folders:

    pip install --no-deps --target /tmp/a-pkg ./bindings-python   # on one commit
    pip install --no-deps --target /tmp/b-pkg ./bindings-python   # on the other
    python bindings-python/bench/ingest_ab.py events.parquet /tmp/a-pkg /tmp/b-pkg --runs 8

`events.parquet`: any file `from_parquet` reads, such as the one
`ingest_speed.write_data` makes. An empty string as a folder means the
maitre the running Python imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CHILD = """
import resource, sys, time
import maitre
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c, t = cpu(), time.perf_counter()
log = maitre.EventLog.from_parquet(sys.argv[1])
print(time.perf_counter() - t, cpu() - c, len(log))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parquet")
    parser.add_argument("builds", nargs="+", help="folders holding an installed maitre package")
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    times: "dict[str, list]" = {b: [] for b in args.builds}
    for _ in range(args.runs):
        for build in args.builds:
            env = dict(os.environ, PYTHONPATH=build) if build else dict(os.environ)
            out = subprocess.run([sys.executable, "-c", CHILD, args.parquet], env=env,
                                 check=True, capture_output=True, text=True).stdout.split()
            times[build].append((float(out[0]), float(out[1])))
    print(f"from_parquet({args.parquet!r}), {args.runs} alternating runs each")
    print("| build | median wall s | median CPU s | all wall s |")
    print("| --- | ---: | ---: | --- |")
    for build, runs in times.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| {build or '(installed)'} | {wall:.2f} | {cpu:.2f} | {' '.join(f'{r[0]:.2f}' for r in runs)} |")


if __name__ == "__main__":
    main()
