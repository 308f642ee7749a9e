#!/usr/bin/env bash
# Runs every test: unit tests beside the code, integration tests in tests/ (CLI,
# end-to-end learning, wgpu against CPU), the examples and benches compiled and run
# once in test mode, and a compile check of the core for wasm32. Release profile, so
# burn is compiled once for tests, the CLI and the benches alike.
set -euo pipefail
cd "$(dirname "$0")/.."
# A build cache outside the clone makes repeated runs incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"

# The wgpu test needs a Vulkan adapter; Mesa's lavapipe is a software one.
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq mesa-vulkan-drivers >/dev/null
  else
    echo "warning: no software Vulkan driver; install mesa-vulkan-drivers for the wgpu test" >&2
  fi
fi

# The core must keep compiling for the browser.
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo check --release --locked --lib --target wasm32-unknown-unknown
echo "wasm32 check: ok"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --release --locked --all-targets "$@" 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
