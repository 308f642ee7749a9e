#!/usr/bin/env bash
# Runs every test: unit tests beside the code, integration tests in tests/ (CLI,
# end-to-end learning, wgpu against CPU), the examples and benches compiled and run
# once in test mode, then the browser tests (scripts/test-web.sh: the wasm build,
# end-to-end tests of the built site in headless Chromium). Release profile, so
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

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Each phase prints "phase NAME: N s" (scripts/timings.sh collects them).
t0=$SECONDS
# Not called through a pipe: a pipe would run it in a subshell and lose t0.
phase() {
  echo "phase $1: $((SECONDS - t0)) s" | tee -a "$log"
  t0=$SECONDS
}
# The lint gate. Formatting first: it costs a second and says at once what `cargo fmt`
# would change. Then clippy, warnings denied, on every native target and on the wasm
# library (the page and the worker exist only there; this also checks that the crate
# compiles for the browser when the browser tests are skipped). The wasm lints use the
# site's profiles so they share the build scripts and proc macros with the wasm builds.
cargo fmt --all --check 2>&1 | tee "$log" || status=1
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo clippy --release --locked --all-targets -- -D warnings 2>&1 | tee -a "$log" || status=1
# The browser's library twice: every wasm feature at once (page and WebGPU trainer:
# all the code), then the page alone, whose build has no trainer (what the `trainer`
# feature gates must leave nothing unused behind).
cargo clippy --profile wasm-release --locked --lib --target wasm32-unknown-unknown \
  --no-default-features --features page,webgpu -- -D warnings 2>&1 | tee -a "$log" || status=1
cargo clippy --profile wasm-page --locked --lib --target wasm32-unknown-unknown \
  --no-default-features --features page -- -D warnings 2>&1 | tee -a "$log" || status=1
phase "lint (fmt, clippy native and wasm)"
cargo test --release --locked --all-targets --no-run "$@" 2>&1 | tee -a "$log" || status=1
phase "native build (tests, examples, benches)"
cargo test --release --locked --all-targets "$@" 2>&1 | tee -a "$log" || status=1
phase "native tests"
# The browser: end-to-end tests of the built site in headless Chromium.
if [ "${ICL_SKIP_BROWSER:-0}" != 1 ]; then
  # The CLI `cargo test` built (tests/cli.rs runs it too).
  ICL_LAB_BIN="$CARGO_TARGET_DIR/release/icl-lab" scripts/test-web.sh 2>&1 | tee -a "$log" || status=1
else
  echo "browser tests NOT run (ICL_SKIP_BROWSER=1)" | tee -a "$log"
fi
grep '^phase ' "$log" || true
# One closing line for the whole run: cargo prints one per test binary, node one per run.
awk '/^test result:/ { p += $4; f += $6 }
     /^# pass / { p += $3 } /^# fail / { f += $3 } /^# skipped / { s += $3 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit $status
