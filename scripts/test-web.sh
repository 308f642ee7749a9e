#!/usr/bin/env bash
# The browser tests, in headless Chromium with WebGPU enabled (SwiftShader, a
# software adapter): wasm-bindgen-test (worker protocol; WebGPU against the CPU
# backend) and the end-to-end tests on the built static site. Called by
# scripts/test.sh; installs Chromium, chromedriver and playwright-core if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"
export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "error: the browser tests need chromium and chromium-driver (Debian packages)" >&2
    exit 1
  fi
fi

# Builds site/ and installs wasm-bindgen-cli (which brings wasm-bindgen-test-runner).
scripts/build-web.sh

# wasm-bindgen-test in a dedicated worker; Chromium flags from webdriver.json.
export CHROMEDRIVER="$(command -v chromedriver)"
export WASM_BINDGEN_TEST_TIMEOUT=900
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test --profile wasm-release --locked --target wasm32-unknown-unknown --test web

# End-to-end on the built site. One test imports a run the native CLI trained
# (already built by `cargo test --release`; this is a no-op then).
cargo build --release --locked --bin icl-lab
export ICL_LAB_BIN="$CARGO_TARGET_DIR/release/icl-lab"
(cd tests/e2e && npm ci --no-audit --no-fund --silent)
node --test --test-concurrency=1 tests/e2e/
