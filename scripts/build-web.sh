#!/usr/bin/env bash
# Builds the browser lab into site/: www/ (page, styles, worker script) plus the
# wasm-bindgen output in wasm-pkg/. Installs on the way what is missing: the
# wasm32 target and the wasm-bindgen-cli that matches Cargo.lock
# (scripts/install-web-tools.sh). The folder uses relative paths only, so it can be
# copied as-is to any static host or sub-path.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"
# wasm-bindgen-cli lives in the build cache (scripts/install-web-tools.sh); one
# already on PATH at the right version is used.
tools="$CARGO_TARGET_DIR/tools"
export PATH="$tools/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

scripts/install-web-tools.sh

# Three modules from one source tree, each the library as a cdylib (only for this
# build, so native builds stay rlib-only), each in its own profile so that the
# three feature sets keep their own build caches:
#   icl_lab_page             the page: config, reducer, charts; no burn (wasm-page)
#   icl_lab_trainer          the worker's CPU-only trainer (wasm-cpu)
#   icl_lab_trainer_webgpu   the worker's trainer with WebGPU (wasm-release)
# worker.js picks a trainer; boot.js starts the page. ICL_WASM_PROFILE overrides the
# trainers' profiles (one name for both), e.g. for a profiling build.
rm -rf wasm-pkg/*.js wasm-pkg/*.wasm wasm-pkg/snippets
# Warnings are errors in the crate itself (not its dependencies: `cargo rustc`
# passes them to the last crate only, so nothing else rebuilds): each module is the
# only build of its feature set, so this is where code a feature leaves unused shows
# up. Under scripts/test.sh, clippy-driver compiles the crate (RUSTC_WORKSPACE_WRAPPER),
# so its lints are denied too, on each module's code.
build() { # name profile features
  cargo rustc --profile "$2" --locked --lib --crate-type cdylib --target wasm32-unknown-unknown \
    --no-default-features --features "$3" -- -D warnings
  wasm-bindgen --target web --no-typescript --remove-name-section --out-dir wasm-pkg \
    --out-name "$1" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$2/icl_lab.wasm"
}
build icl_lab_page wasm-page page
build icl_lab_trainer "${ICL_WASM_PROFILE:-wasm-cpu}" trainer
build icl_lab_trainer_webgpu "${ICL_WASM_PROFILE:-wasm-release}" webgpu

site="${ICL_SITE:-site}"
rm -rf "$site"
mkdir -p "$site"
cp -r www/. "$site"/
cp -r wasm-pkg "$site"/wasm-pkg
rm -f "$site"/wasm-pkg/.gitkeep

sizes=""
for m in icl_lab_page icl_lab_trainer icl_lab_trainer_webgpu; do
  f="$site/wasm-pkg/${m}_bg.wasm"
  sizes="$sizes $m $(( $(stat -c %s "$f") / 1024 )) KiB ($(( $(gzip -9 -c "$f" | wc -c) / 1024 )) KiB gzipped);"
done
echo "$site/ ready:$sizes"
