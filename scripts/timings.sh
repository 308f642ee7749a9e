#!/usr/bin/env bash
# Runs scripts/test.sh and prints how long each phase took, so a change to the build
# or the tests can be compared with the last run. COLD=1 uses an empty build cache
# (a fresh CARGO_TARGET_DIR under /tmp, removed afterwards) as a new clone on a new
# machine would; tools installed machine-wide (Chromium, wasm-bindgen-cli, Mesa's
# Vulkan driver) are not removed, so a cold run here still skips their install.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${COLD:-0}" = 1 ]; then
  export CARGO_TARGET_DIR=$(mktemp -d /tmp/icl-cold-target.XXXX)
  trap 'rm -rf "$CARGO_TARGET_DIR"' EXIT
  echo "cold run: empty CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
fi
log=$(mktemp)
start=$SECONDS
scripts/test.sh "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo
echo "== phases ($(date -u +%F), $(nproc) cores) =="
grep '^phase ' "$log"
grep '^tests: ' "$log"
echo "total: $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
rm -f "$log"
exit $status
