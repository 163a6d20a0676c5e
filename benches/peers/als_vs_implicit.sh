#!/usr/bin/env bash
# maitre's implicit ALS against benfred/implicit (CPU, conjugate gradient):
# quality on MovieLens 100K (two splits, same files, same grid, same scoring code)
# and fit speed on ML-100K and the ~10M-event synthetic storefront.
#
#   bash benches/peers/als_vs_implicit.sh [--size large|medium|...]
#
# Writes benches/peers/results/als_vs_implicit.json and prints a markdown table.
# Environment: MAITRE_ML100K (data dir; default ../shared/data/ml-100k or data/ml-100k),
# PEERS_VENV (default .venv-peers), PEERS_WORK (scratch; default target/peers).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)

DATA="${MAITRE_ML100K:-}"
if [ -z "$DATA" ]; then
    for d in "$ROOT/../shared/data/ml-100k" "$ROOT/data/ml-100k"; do
        if [ -f "$d/ml-100k.inter" ]; then DATA="$d"; break; fi
    done
fi
if [ -z "$DATA" ] || [ ! -f "$DATA/ml-100k.inter" ]; then
    echo "MovieLens 100K not found: set MAITRE_ML100K or run scripts/fetch-movielens.sh" >&2
    exit 1
fi

VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import implicit, numpy, scipy, threadpoolctl" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet implicit numpy scipy threadpoolctl
fi

# implicit runs its own OpenMP threads (num_threads=2); BLAS inside must stay at one
# thread, as implicit itself warns. maitre gets --threads 2.
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=2

cargo build --release --example peer
PEER="$ROOT/target/release/examples/peer"

WORK="${PEERS_WORK:-$ROOT/target/peers}"
mkdir -p "$WORK"
"$VENV/bin/python" "$ROOT/benches/peers/als_vs_implicit.py" run \
    --peer "$PEER" --data "$DATA" --work "$WORK" \
    --out "$ROOT/benches/peers/results/als_vs_implicit.json" "$@"

echo "total: $(( $(date +%s) - started )) s"
