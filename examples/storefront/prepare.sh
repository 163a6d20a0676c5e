#!/usr/bin/env bash
# Prepares the storefront demo for serving: the wasm web build (built if
# missing), the exported artifact and catalogue, copied next to the page,
# and the 20,000-item artifact the browser test times (about a second).
#   bash examples/storefront/prepare.sh [small|medium]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
[ -f bindings-wasm/pkg/maitre.js ] || bash bindings-wasm/build.sh
cargo run --release --example export_storefront -- "${1:-medium}"
cargo run --release --example export_storefront -- catalog20k
rm -rf "$here/pkg"
mkdir -p "$here/pkg"
cp bindings-wasm/pkg/maitre.js bindings-wasm/pkg/maitre_bg.wasm "$here/pkg/"
