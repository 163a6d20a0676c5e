#!/usr/bin/env bash
# maitre's k-means (core/customers/kmeans.rs) against scikit-learn's KMeans on
# the same 1,000,000 x 64 float32 vectors, 20 segments, k-means++ (greedy, the
# same number of candidates), one init, max 300 iterations, tol 1e-4, 2 threads
# each. Both sets of centres are scored by the same float64 code.
#
#   bash benches/peers/kmeans_vs_sklearn.sh [--rows N] [--dim D] [--k K] [--seeds S] [--n-init N]
#
# Writes benches/peers/results/kmeans_vs_sklearn.json and prints a markdown table.
# Environment: PEERS_VENV (default .venv-peers), PEERS_WORK (default target/peers).
# Not run in CI (about 10 minutes on 2 cores).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)

VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import sklearn, numpy, threadpoolctl" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet scikit-learn numpy threadpoolctl
fi

# scikit-learn runs Lloyd on its own OpenMP threads; BLAS inside stays at one.
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=2

cargo build --release --example kmeans_peer
PEER="$ROOT/target/release/examples/kmeans_peer"

WORK="${PEERS_WORK:-$ROOT/target/peers}"
mkdir -p "$WORK" "$ROOT/benches/peers/results"
"$VENV/bin/python" "$ROOT/benches/peers/kmeans_vs_sklearn.py" \
    --peer "$PEER" --work "$WORK" \
    --out "$ROOT/benches/peers/results/kmeans_vs_sklearn.json" "$@"

echo "total: $(( $(date +%s) - started )) s"
