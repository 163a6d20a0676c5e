#!/usr/bin/env bash
# maitre's off-policy estimators (DM, IPS, SNIPS, DR) against Open Bandit Pipeline's
# on the Open Bandit Dataset sample bundled with obp: the Bernoulli-TS policy's value
# estimated from the uniform-random policy's logs, compared with its on-policy value.
#
#   bash benches/peers/ope_vs_obp.sh
#
# obp 0.5.7 declares Python < 3.11, so it lives in its own venv (.venv-obp), installed
# with --no-deps --ignore-requires-python and its own pins; torch is replaced by an
# import-only stand-in (benches/peers/torch_stub) since no estimator used here needs it.
# Writes benches/peers/results/ope_vs_obp.json and prints a markdown table. ~1 min.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)

VENV="${OBP_VENV:-$ROOT/.venv-obp}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
export PYTHONPATH="$ROOT/benches/peers/torch_stub${PYTHONPATH:+:$PYTHONPATH}"
if ! "$VENV/bin/python" -c "import obp" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet numpy==1.23.5 pandas==1.5.2 scipy==1.9.3 scikit-learn==1.1.3 \
        matplotlib seaborn tqdm pyyaml
    "$VENV/bin/pip" install --quiet --no-deps --ignore-requires-python obp==0.5.7
fi

cargo build --release --example offer_sim
WORK="${PEERS_WORK:-$ROOT/target/peers}/obp"
mkdir -p "$WORK"
"$VENV/bin/python" "$ROOT/benches/peers/ope_vs_obp.py" \
    --sim "$ROOT/target/release/examples/offer_sim" --work "$WORK" \
    --results "$ROOT/benches/peers/results" "$@"

echo "total: $(( $(date +%s) - started )) s"
