#!/usr/bin/env bash
# Smoke run of every fuzz target: installs cargo-afl (AFL++ for stable Rust)
# if missing, builds the targets instrumented, seeds the artifact corpus from
# freshly written artifacts, runs each target for FUZZ_SECONDS (default 35)
# and fails if any input crashed a target. Run from anywhere:
#     bash fuzz/ci.sh                 # all targets, 35 s each
#     FUZZ_SECONDS=600 bash fuzz/ci.sh artifact    # one target, 10 minutes
# A crash is left in fuzz/out-ci/<target>/default/crashes/; reproduce it with
#     fuzz/target/release/<target> < that-file
# and add it to tests/fixtures/fuzz/<target>/ (replayed by cargo test).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

seconds="${FUZZ_SECONDS:-35}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(artifact csv jsonl request)

if ! cargo afl --version >/dev/null 2>&1; then
  cargo install cargo-afl
fi
# Builds AFL++ once per toolchain; "already built" is an error we can ignore.
cargo afl config --build >/dev/null 2>&1 || true
cargo afl build --release

# AFL++ refuses to start when core dumps go to a helper program or the CPU
# governor is not "performance"; neither matters for a smoke run and both
# need root to change.
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 \
  AFL_NO_AFFINITY=1

rm -rf out-ci corpus-ci
mkdir -p out-ci
./target/release/seeds corpus-ci
cp -r seeds/csv seeds/jsonl seeds/request corpus-ci/

failed=0
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${seconds}s"
  cargo afl fuzz -i "corpus-ci/$t" -o "out-ci/$t" -V "$seconds" "target/release/$t" >"out-ci-$t.log" 2>&1 || {
    tail -n 20 "out-ci-$t.log"; failed=1; continue; }
  stats="out-ci/$t/default/fuzzer_stats"
  execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")
  crashes=$(find "out-ci/$t/default/crashes" -name 'id:*' | wc -l)
  hangs=$(find "out-ci/$t/default/hangs" -name 'id:*' | wc -l)
  echo "   $t: $execs executions, $crashes crashes, $hangs hangs"
  if [ "$crashes" -gt 0 ]; then
    failed=1
    for f in "out-ci/$t/default/crashes"/id:*; do
      echo "   crash: $f"
      "./target/release/$t" <"$f" 2>&1 | grep -m1 -A1 panicked || true
    done
  fi
  rm -f "out-ci-$t.log"
done
exit "$failed"
