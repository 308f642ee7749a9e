#!/usr/bin/env bash
# Builds the browser lab into site/: www/ (page, styles, worker script) plus the
# wasm-bindgen output in wasm-pkg/. Installs on the way what is missing: the
# wasm32 target and the wasm-bindgen-cli that matches Cargo.lock. The folder uses
# relative paths only, so it can be copied as-is to any static host or sub-path.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"
# wasm-bindgen-cli is installed into the build cache, so a machine that keeps only
# the cache (CI) keeps it too; one already on PATH at the right version is used.
tools="$CARGO_TARGET_DIR/tools"
export PATH="$tools/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (have: ${have:-none}); a few minutes, once"
  # No prebuilt binary comes from a registry this machine reaches (crates.io ships
  # sources; npm and PyPI have no wasm-bindgen-cli). Not --locked: one of its locked
  # dependencies was yanked (see docs/toolchain.md).
  cargo install wasm-bindgen-cli --version "$want" --quiet --root "$tools"
fi

# The library as a cdylib only for this build, so native builds stay rlib-only.
profile="${ICL_WASM_PROFILE:-wasm-release}"
cargo rustc --profile "$profile" --locked --lib --crate-type cdylib --target wasm32-unknown-unknown
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/icl_lab.wasm"

rm -rf wasm-pkg/*.js wasm-pkg/*.wasm wasm-pkg/snippets
wasm-bindgen --target web --no-typescript --remove-name-section --out-dir wasm-pkg "$wasm"

site="${ICL_SITE:-site}"
rm -rf "$site"
mkdir -p "$site"
cp -r www/. "$site"/
cp -r wasm-pkg "$site"/wasm-pkg
rm -f "$site"/wasm-pkg/.gitkeep

raw=$(stat -c %s "$site"/wasm-pkg/icl_lab_bg.wasm)
gz=$(gzip -9 -c "$site"/wasm-pkg/icl_lab_bg.wasm | wc -c)
echo "$site/ ready: wasm $((raw / 1024)) KiB, $((gz / 1024)) KiB gzipped"
