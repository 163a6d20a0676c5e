#!/usr/bin/env bash
# Builds the npm package's wasm: pkg/ (ES module, --target web) and
# pkg-node/ (CommonJS, --target nodejs). Run from anywhere.
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen CLI equal to the
# pinned wasm-bindgen crate; wasm-opt from npm `binaryen` (a devDependency,
# installed by `npm ci`; skipped with a warning when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

want="$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$here/Cargo.toml")"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  echo "build.sh: wasm-bindgen CLI is '${have:-missing}', the crate pins $want" >&2
  echo "  cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi

# The shipping profile (fat LTO, one codegen unit; see Cargo.toml): about
# 15 KB gzipped smaller than --release, which the 400 KB budget needs since
# the next best offer joined the package.
cargo build -p maitre-wasm --target wasm32-unknown-unknown --profile dist
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
wasm="$target_dir/wasm32-unknown-unknown/dist/maitre_wasm.wasm"

rm -rf "$here/pkg" "$here/pkg-node"
wasm-bindgen "$wasm" --target web --out-dir "$here/pkg" --out-name maitre
wasm-bindgen "$wasm" --target nodejs --out-dir "$here/pkg-node" --out-name maitre
# The package is "type": "module"; the nodejs build is CommonJS.
echo '{"type":"commonjs"}' > "$here/pkg-node/package.json"

# Shrink with wasm-opt only if it comes from npm binaryen: Debian 12's
# binaryen (version 108) silently breaks wasm-bindgen's output (its externref
# table), so never install it for this.
opt="$here/node_modules/.bin/wasm-opt"
if [ -x "$opt" ]; then
  features="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-reference-types --enable-multivalue"
  # --converge repeats the passes until they stop gaining (−0.9 KB gzipped);
  # --low-memory-unused lets it fold constant offsets into loads, true of
  # Rust's layout (the stack sits below 1 MB and grows down; nothing lives
  # in the low 1 KB): −2.4 KB gzipped. Together they hold the 400 KB budget.
  opt_flags="-Oz --converge --low-memory-unused"
  # Both targets get the same wasm from wasm-bindgen: optimise it once (≈ 60 s).
  # shellcheck disable=SC2086
  "$opt" $opt_flags $features "$here/pkg/maitre_bg.wasm" -o "$here/pkg/maitre_bg.opt.wasm"
  if cmp -s "$here/pkg/maitre_bg.wasm" "$here/pkg-node/maitre_bg.wasm"; then
    cp "$here/pkg/maitre_bg.opt.wasm" "$here/pkg-node/maitre_bg.wasm"
  else
    # shellcheck disable=SC2086
    "$opt" $opt_flags $features "$here/pkg-node/maitre_bg.wasm" -o "$here/pkg-node/maitre_bg.wasm"
  fi
  mv "$here/pkg/maitre_bg.opt.wasm" "$here/pkg/maitre_bg.wasm"
else
  echo "build.sh: no npm wasm-opt in node_modules/.bin, skipping -Oz: the wasm" >&2
  echo "  is then about 50 KB gzipped larger, over the 400 KB budget (cd bindings-wasm && npm ci)" >&2
fi
ls -l "$here/pkg/maitre_bg.wasm"
