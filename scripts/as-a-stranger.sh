#!/usr/bin/env bash
# Runs the README as a stranger would: a fresh clone of the committed HEAD in
# an empty folder (no ../shared beside it, no MAITRE_ML100K), a fresh Python
# venv holding exactly what the README installs, and every command of the
# README's ```sh blocks in order, exactly as written (but `bash .ci/run`, which
# is what calls this), then the README's Python example.
#
#   bash scripts/as-a-stranger.sh
#
# Compiled dependencies are reused from this checkout's target/ (set
# CARGO_TARGET_DIR to change that); the clone's own code is built afresh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset MAITRE_ML100K
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

git clone --quiet "$root" "$work/maitre"
cd "$work/maitre"
[ ! -e ../shared ] || { echo "as-a-stranger: $work/shared exists" >&2; exit 1; }
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
. "$work/venv/bin/activate"

# The README's shell commands, one per line, comments and `.ci/run` left out.
mapfile -t commands < <(python3 - <<'PY'
import re
readme = open("README.md").read()
for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S):
    for line in block.splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#") and ".ci/run" not in line:
            print(line)
PY
)
[ "${#commands[@]}" -ge 3 ] || { echo "as-a-stranger: only ${#commands[@]} README commands" >&2; exit 1; }
for command in "${commands[@]}"; do
  printf '\n---- %s\n' "$command"
  bash -c "$command" > "$work/out.txt" 2>&1 || { tail -n 40 "$work/out.txt"; echo "as-a-stranger: failed: $command" >&2; exit 1; }
  tail -n 6 "$work/out.txt"
done

printf '\n---- the README Python example, in a venv with only: %s\n' "$(python -m pip freeze | tr '\n' ' ')"
python - <<'PY'
import re
blocks = re.findall(r"```python\n(.*?)```", open("README.md").read(), flags=re.S)
assert blocks, "the README has a Python example"
for block in blocks:
    exec(compile(block, "README.md", "exec"), {})
PY
echo "as-a-stranger: the README ran as written"
