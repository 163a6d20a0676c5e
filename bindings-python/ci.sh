#!/usr/bin/env bash
# Builds the Python package (abi3 wheel, through pip's PEP 517 path) into a venv
# and runs its tests. Run from the repository root:  bash bindings-python/ci.sh
# Needs python3 (with venv) and a Rust toolchain (rustup); safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "ci.sh: cargo not found (install rustup)" >&2; exit 1; }

# Spark's tests need a JVM: Debian's headless Java 17 when there is none.
if ! command -v java >/dev/null 2>&1; then
    sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_ apt-get update
    sudo_ apt-get install -y --no-install-recommends openjdk-17-jre-headless
fi
java -version 2>&1 | head -n 1

venv="$root/.venv-ci"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
py="$venv/bin/python"

"$py" -m pip install --quiet --upgrade pip
# pyarrow: Arrow and Parquet input are tested; pyspark: maitre.spark in local[2].
# matplotlib and tqdm: the notebook draws its plot and the progress bar takes
# its tqdm path in CI, not only their fallbacks.
"$py" -m pip install --quiet "maturin>=1.9.4,<2" pytest numpy pandas pyarrow pyspark matplotlib tqdm
# Always rebuild and reinstall the package itself, never its dependencies.
"$py" -m pip install --quiet --force-reinstall --no-deps ./bindings-python
"$py" -m pytest bindings-python/tests -q "$@"
# The data team's Spark job, end to end (README "On Spark"), in local[2].
PYSPARK_PYTHON="$py" "$py" examples/spark_pipeline.py --k 3
