#!/usr/bin/env bash
# The browser tests, in headless Chromium with WebGPU enabled (SwiftShader, a
# software adapter): end-to-end tests on the built static site, WebGPU against the
# CPU backend included. They use the wasm modules scripts/build-web.sh makes for the
# site (page, CPU-only trainer, WebGPU trainer); a separate wasm-bindgen-test build
# compiled burn, cubecl and wgpu for wasm once more: ~40 min cold. Called by scripts/test.sh; installs
# Chromium and playwright-core if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"
export PATH="$CARGO_TARGET_DIR/tools/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

t0=$SECONDS
phase() { echo "phase $1: $((SECONDS - t0)) s"; t0=$SECONDS; }

scripts/install-web-tools.sh --chromium
phase "tools: Chromium, wasm-bindgen-cli (installed if missing)"

# Builds site/.
scripts/build-web.sh
phase "wasm build (site/)"

# End-to-end on the built site. One test imports a run the native CLI trained
# (already built by `cargo test --release`; this is a no-op then).
# The CLI the import test runs. scripts/test.sh passes the one its `cargo test` just
# built: `cargo build` would build burn's tree again, with the features the test
# build unifies differently (minutes on a cold machine).
if [ -z "${ICL_LAB_BIN:-}" ]; then
  cargo build --release --locked --bin icl-lab
  export ICL_LAB_BIN="$CARGO_TARGET_DIR/release/icl-lab"
fi
(cd tests/e2e && npm ci --no-audit --no-fund --silent)
status=0
node --test --test-concurrency=1 tests/e2e/ || status=$?
phase "browser end-to-end tests"
exit $status
