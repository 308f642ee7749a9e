#!/usr/bin/env bash
# Runs every test: unit tests beside the code, integration tests in tests/ (CLI,
# end-to-end learning; wgpu against CPU with ICL_TEST_WGPU=1), the examples and benches compiled and run
# once in test mode, then the browser tests (scripts/test-web.sh: the wasm build,
# end-to-end tests of the built site in headless Chromium), then a sweep on a
# one-node SLURM cluster (tests/slurm/test.sh). Release profile, so
# burn is compiled once for tests, the CLI and the benches alike.
set -euo pipefail
cd "$(dirname "$0")/.."
# A build cache outside the clone makes repeated runs incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"

# The native build leaves out burn's wgpu backend unless ICL_TEST_WGPU=1: with it,
# cubecl's kernel crates and wgpu are compiled natively as well as for the browser,
# which a cold run cannot afford inside CI's time (see README's timing table). The
# wgpu code path stays tested in the browser (WebGPU against the CPU backend); the
# native one (tests/it/wgpu_backend.rs, on Vulkan) runs with ICL_TEST_WGPU=1, e.g. on a
# GPU machine.
features=(--no-default-features --features trainer)
if [ "${ICL_TEST_WGPU:-0}" = 1 ]; then
  features=()
  # The wgpu test needs a Vulkan adapter; Mesa's lavapipe is a software one.
  if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq mesa-vulkan-drivers >/dev/null
    else
      echo "warning: no software Vulkan driver; install mesa-vulkan-drivers for the wgpu test" >&2
    fi
  fi
fi

log=$(mktemp)
tools_log=$(mktemp)
trap 'rm -f "$log" "$tools_log"' EXIT
status=0
# Each phase prints "phase NAME: N s" (scripts/timings.sh collects them).
t0=$SECONDS
# Not called through a pipe: a pipe would run it in a subshell and lose t0.
phase() {
  echo "phase $1: $((SECONDS - t0)) s" | tee -a "$log"
  t0=$SECONDS
}
# The lint gate. Formatting first: it costs a second and says at once what `cargo fmt`
# would change. Then clippy's lints, warnings denied, applied while building: with
# clippy-driver as the workspace's compiler wrapper (what `cargo clippy` does), the
# crate's own targets are compiled and linted in one pass, and the dependencies are
# compiled once, by rustc. A separate `cargo clippy` would check every dependency
# again, natively and for wasm: about 9 min of a cold run (527 s measured on
# 2026-12-01). The same wrapper lints the three wasm modules as scripts/build-web.sh
# builds them (page, CPU trainer, WebGPU trainer: every cfg of the browser code).
cargo fmt --all --check 2>&1 | tee "$log" || status=1
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
if clippy=$(command -v clippy-driver); then
  export RUSTC_WORKSPACE_WRAPPER="$clippy"
  # `cargo clippy -- -D warnings` hands its arguments to the driver this way.
  export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
else
  echo "error: clippy-driver not found (rustup component add clippy)" | tee -a "$log"
  status=1
fi
phase "lint (fmt)"
# What the browser tests need and a new machine lacks (Chromium, wasm-bindgen-cli
# built from source: about 4 min cold) is installed beside the native build, which
# leaves a core idle on its long single-crate compiles and links.
tools_pid=
if [ "${ICL_SKIP_BROWSER:-0}" != 1 ]; then
  scripts/install-web-tools.sh --chromium >"$tools_log" 2>&1 &
  tools_pid=$!
fi
cargo test --release --locked --all-targets "${features[@]}" --no-run "$@" 2>&1 | tee -a "$log" || status=1
phase "native build and lint (tests, examples, benches)"
cargo test --release --locked --all-targets "${features[@]}" "$@" 2>&1 | tee -a "$log" || status=1
if [ "${ICL_TEST_WGPU:-0}" != 1 ]; then
  echo "native wgpu test NOT run (ICL_TEST_WGPU=1 runs it)" | tee -a "$log"
fi
phase "native tests"
# The browser: end-to-end tests of the built site in headless Chromium.
if [ "${ICL_SKIP_BROWSER:-0}" != 1 ]; then
  # A failed install shows again, with its message, when test-web.sh retries it.
  wait "$tools_pid" || true
  tee -a "$log" <"$tools_log"
  phase "waiting for the browser tools"
  # The CLI `cargo test` built (tests/it/cli.rs runs it too).
  ICL_LAB_BIN="$CARGO_TARGET_DIR/release/icl-lab" scripts/test-web.sh 2>&1 | tee -a "$log" || status=1
else
  echo "browser tests NOT run (ICL_SKIP_BROWSER=1)" | tee -a "$log"
fi
# A one-node SLURM cluster started by the test itself: a sweep's job array submitted,
# one task cancelled and resubmitted, the results collected (tests/slurm/test.sh;
# it installs SLURM and munge on a machine without them).
if [ "${ICL_SKIP_SLURM:-0}" != 1 ]; then
  # (test-web.sh printed its own phases.)
  t0=$SECONDS
  ICL_LAB_BIN="$CARGO_TARGET_DIR/release/icl-lab" tests/slurm/test.sh 2>&1 | tee -a "$log" || status=1
  phase "SLURM cluster test"
else
  echo "SLURM cluster test NOT run (ICL_SKIP_SLURM=1)" | tee -a "$log"
fi
grep '^phase ' "$log" || true
# One closing line for the whole run: cargo prints one per test binary, node one per run.
awk '/^test result:/ { p += $4; f += $6 }
     /^# pass / { p += $3 } /^# fail / { f += $3 } /^# skipped / { s += $3 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit $status
