#!/usr/bin/env bash
# maitre (defaults and `tune`) against EASE (numpy), implicit ALS / BPR / item-kNN,
# popularity and LightFM (when it installs) on MovieLens 100K, four protocols
# (ratings >= 4 or every rating; leave-last-out or a global temporal cut), and on
# the synthetic storefront (next purchase, temporal cut), one run.
#
#   bash benches/peers/protocols_vs_peers.sh [--budget 120] [--protocols "positives, temporal" ...]
#       [--storefront-size medium] [--out results.json]
#
# Writes benches/peers/results/protocols_vs_peers.json (or --out) and prints a
# markdown table per protocol. ~15-20 min for MovieLens on 2 shared cores, the
# medium storefront about as long again.
#
# Environment:
#   MAITRE_ML100K  the data (default ../shared/data/ml-100k or data/ml-100k)
#   PEERS_VENV     the peers' venv (default .venv-peers): implicit, scipy, numpy,
#                  pandas, lightfm (optional)
#   MAITRE_VENV    a venv where maitre is built and installed (default .venv-ci,
#                  made by bindings-python/ci.sh). Only its `maitre` package is
#                  put on the path (a symlink in target/peers-protocols/), so the
#                  script runs with the peers' numpy/pandas and maitre's compiled
#                  module; the two venvs must share a Python minor version
#                  (maitre's module is abi3, numpy 2 on both sides).
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

MAITRE_VENV="${MAITRE_VENV:-$ROOT/.venv-ci}"
MAITRE_PKG="$("$MAITRE_VENV/bin/python" -c 'import maitre, os; print(os.path.dirname(maitre.__file__))')" || {
    echo "maitre is not importable from $MAITRE_VENV: run bash bindings-python/ci.sh or set MAITRE_VENV" >&2
    exit 1
}

VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import implicit, numpy, scipy, pandas" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet implicit numpy scipy pandas
fi
if ! "$VENV/bin/python" -c "import lightfm" 2>/dev/null; then
    # lightfm 1.17's setup.py fails under pip's build isolation with recent
    # setuptools ("'dict' object has no attribute '__LIGHTFM_SETUP__'"); building it
    # in the venv itself works. Optional: the run goes on without it.
    "$VENV/bin/pip" install --quiet setuptools wheel 2>/dev/null || true
    "$VENV/bin/pip" install --quiet --no-build-isolation lightfm \
        || echo "lightfm did not install: running without it" >&2
fi

SHIM="$ROOT/target/peers-protocols/maitre-path"
mkdir -p "$SHIM"
ln -sfn "$MAITRE_PKG" "$SHIM/maitre"

# implicit and LightFM run their own 2 threads; BLAS inside stays at one thread, as
# implicit asks (EASE's 1,682 x 1,682 inverse takes well under a second on one).
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=2

# The storefront's events come from maitre's own generator (examples/peer.rs).
cargo build --release --example peer

PYTHONPATH="$SHIM${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" \
    "$ROOT/benches/peers/protocols_vs_peers.py" \
    --data "$DATA" --out "$ROOT/benches/peers/results/protocols_vs_peers.json" \
    --peer "$ROOT/target/release/examples/peer" --work "$ROOT/target/peers-protocols" "$@"

echo "total: $(( $(date +%s) - started )) s"
