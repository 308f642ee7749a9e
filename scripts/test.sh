#!/usr/bin/env bash
# Runs every test: unit tests beside the code, integration tests in tests/, the
# examples and benches compiled and run once in test mode. Release profile, so burn
# is compiled once for tests, the CLI and the benches alike.
set -euo pipefail
cd "$(dirname "$0")/.."
# A build cache outside the clone makes repeated runs incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"
cargo test --release --locked --all-targets "$@"
