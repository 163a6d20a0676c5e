#!/usr/bin/env bash
# maitre's HNSW index against hnsw_rs (maitre's opt-in `hnsw-rs` backend, the
# crate its own graph replaced), hnswlib and faiss IndexHNSWFlat on the same
# vectors (synthetic clustered, 200,000 x 64 by default), same M / ef params,
# in one run: build time, single-thread queries per second, recall@10 against
# maitre's exact index.
#
#   bash benches/peers/ann_vs_hnswlib.sh [--items 200000 --dim 64 --queries 1000
#                                         --m 16 --ef-construction 200 --ef-search 100]
#
# Writes benches/peers/results/ann_vs_hnswlib.json and prints a markdown table.
# Environment: PEERS_VENV (default .venv-peers), PEERS_WORK (scratch; default
# target/peers/ann), THREADS (build threads for every library; default 2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)

VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import hnswlib, faiss, numpy" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet hnswlib faiss-cpu numpy
fi

THREADS="${THREADS:-2}"
# Searches are timed on one thread for every library; builds use $THREADS.
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS="$THREADS"

# --features hnsw-rs: every run also measures hnsw_rs, the crate maitre's own
# graph replaced, so that the reason for the replacement stays evidenced.
cargo build --release --example ann --features hnsw-rs
ANN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/ann"

WORK="${PEERS_WORK:-$ROOT/target/peers/ann}"
mkdir -p "$WORK" "$ROOT/benches/peers/results"
"$VENV/bin/python" "$ROOT/benches/peers/ann_vs_hnswlib.py" \
    --ann "$ANN" --work "$WORK" --threads "$THREADS" \
    --out "$ROOT/benches/peers/results/ann_vs_hnswlib.json" "$@"

echo "total: $(( $(date +%s) - started )) s"
