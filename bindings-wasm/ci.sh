#!/usr/bin/env bash
# CI for the npm package, from a fresh machine: toolchain, build, Node tests,
# type check, Chromium page. Run from the repository root:
#   bash bindings-wasm/ci.sh
# Idempotent: installs only what is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$(dirname "$here")"

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "wasm32 target"
rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

step "wasm-bindgen CLI"
want="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$here/Cargo.toml")"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  # Not --locked: the locked build wants a crate version the registry may lack.
  cargo install wasm-bindgen-cli --version "$want"
fi
wasm-bindgen --version

step "chromium"
if [ ! -x /usr/bin/chromium ]; then
  sudo_ apt-get update
  # Without the recommends: they pull in systemd, avahi and samba libraries.
  sudo_ apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version

step "npm ci"
(cd "$here" && npm ci --no-audit --no-fund)

step "build"
bash "$here/build.sh"

step "storefront demo data (export_storefront example)"
# The Node and browser tests load the artifact and expected lists it writes;
# the browser test also times the 20,000-item artifact it writes.
bash examples/storefront/prepare.sh medium

step "node tests"
(cd "$here" && npm test)

step "types"
(cd "$here" && npm run test:types)

step "browser test"
(cd "$here" && npm run test:browser)

step "ok"
