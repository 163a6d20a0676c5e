#!/usr/bin/env bash
# Fetches MovieLens 100K (RecBole's atomic files) into data/ml-100k/ (git-ignored).
#
# The files come from the recbole 1.2.1 wheel on PyPI, which ships them under
# recbole/dataset_example/ml-100k/. MovieLens is not ours to redistribute: it is
# never committed. Tests and examples find it here, at ../shared/data/ml-100k/,
# or wherever MAITRE_ML100K points.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/data/ml-100k"
if [ -f "$dest/ml-100k.inter" ]; then
  echo "MovieLens 100K already at $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" recbole==1.2.1
mkdir -p "$dest"
python3 - "$tmp" "$dest" <<'PY'
import glob, os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "recbole-1.2.1-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("ml-100k.inter", "ml-100k.item", "ml-100k.user"):
        with z.open(f"recbole/dataset_example/ml-100k/{name}") as src, open(os.path.join(dest, name), "wb") as out:
            out.write(src.read())
PY
echo "MovieLens 100K fetched to $dest"
