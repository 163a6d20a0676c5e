#!/usr/bin/env bash
# maitre on Spark against Spark MLlib's implicit ALS, in one local[2] session:
# quality and fit time on MovieLens 100K (two splits, each library's grid tuned
# on validation, the same scoring code) and fit time on the synthetic storefront.
# With --quality-split temporal the storefront fits train on maitre's training
# split of the purchases and are scored on the held-out ones (grids tuned on a
# validation pair: --tune-size, --LIB-tune-size, --LIB-grid, --tuning-from);
# --recommend-all checks maitre.spark.recommend_all against recommend_batch.
#
#   bash benches/peers/spark_vs_mllib.sh [--storefront-size medium|large|N] [--seeds 3]
#   bash benches/peers/spark_vs_mllib.sh --skip-movielens --storefront-size large --driver-memory 12g \
#       --quality-split temporal --mllib-grid 0.3,1,3:1,4 --recommend-all --out RESULTS.json
#
# Writes benches/peers/results/spark_vs_mllib.json and prints a markdown table.
# Needs Java 17 and the CI venv (pyspark, pyarrow, maitre): `bash bindings-python/ci.sh`
# builds it. For MLlib's native BLAS install Debian's libopenblas0 (the JSON
# records which BLAS it loaded).
# Environment: MAITRE_ML100K (data dir), SPARK_VENV (default .venv-ci),
# PEERS_WORK (scratch; default target/peers-spark).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
started=$(date +%s)

VENV="${SPARK_VENV:-$ROOT/.venv-ci}"
if ! "$VENV/bin/python" -c "import pyspark, pyarrow, maitre.spark" 2>/dev/null; then
    echo "$VENV lacks pyspark, pyarrow or maitre: run bash bindings-python/ci.sh first" >&2
    exit 1
fi

# MovieLens 100K where every maitre loader looks ($MAITRE_ML100K, ../shared,
# data/); the error says to run scripts/fetch-movielens.sh when it is nowhere.
DATA="$("$VENV/bin/python" -c 'import maitre; print(maitre.movielens_dir())')"
command -v java >/dev/null || { echo "no java: apt-get install openjdk-17-jre-headless" >&2; exit 1; }

# Workers must be the venv's Python (maitre, pyarrow); maitre's own threads and
# Spark's local[2] share the machine's 2 cores, BLAS stays single-threaded.
export PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=1

cargo build --release --example peer
PEER="$ROOT/target/release/examples/peer"

WORK="${PEERS_WORK:-$ROOT/target/peers-spark}"
mkdir -p "$WORK"
"$VENV/bin/python" "$ROOT/benches/peers/spark_vs_mllib.py" run \
    --peer "$PEER" --data "$DATA" --work "$WORK" \
    --out "$ROOT/benches/peers/results/spark_vs_mllib.json" "$@"

echo "total: $(( $(date +%s) - started )) s"
