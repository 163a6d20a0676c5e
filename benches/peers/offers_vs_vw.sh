#!/usr/bin/env bash
# maitre's next-best-offer bandit against Vowpal Wabbit (--cb_explore_adf) on the
# same simulated rounds: both tuned on validation seeds with the same budget
# (13 settings each), then 5 test seeds x 50,000 rounds.
#
#   bash benches/peers/offers_vs_vw.sh [--test-seeds 1,2,3,4,5] [--rounds 50000]
#
# Writes benches/peers/results/offers_vs_vw.json, offer_sim.json and
# offer_rewards.svg, and prints a markdown table. ~6 min on 2 cores.
# Environment: PEERS_VENV (default .venv-peers), PEERS_WORK (scratch; default target/peers).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)

VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import vowpalwabbit, numpy" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet vowpalwabbit numpy
fi

cargo build --release --example offer_sim
WORK="${PEERS_WORK:-$ROOT/target/peers}/offers"
mkdir -p "$WORK"
"$VENV/bin/python" "$ROOT/benches/peers/offers_vs_vw.py" \
    --sim "$ROOT/target/release/examples/offer_sim" --work "$WORK" \
    --results "$ROOT/benches/peers/results" "$@"

echo "total: $(( $(date +%s) - started )) s"
