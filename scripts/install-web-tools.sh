#!/usr/bin/env bash
# Installs what the browser build and tests need and the machine may lack, each
# only when missing: the wasm32 target, the wasm-bindgen-cli that matches
# Cargo.lock (into the build cache, so a machine that keeps only the cache keeps
# it too), and with --chromium the Chromium the browser tests drive. Idempotent:
# scripts/build-web.sh calls it, and scripts/test.sh starts it in the background
# while the native build runs (both mostly wait on single crates and links, so the
# second core has room: measured in README's timing table).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/icl-lab-target}"
tools="$CARGO_TARGET_DIR/tools"
export PATH="$tools/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (have: ${have:-none}); a few minutes, once"
  # No prebuilt binary comes from a registry this machine reaches (crates.io ships
  # sources; npm and PyPI have no wasm-bindgen-cli). Not --locked: one of its locked
  # dependencies was yanked (see docs/toolchain.md). Built without scripts/test.sh's
  # lint wrapper (its lints are for this crate only) and in a target directory of
  # its own, so it never waits on the lock of a build running beside it.
  # opt-level 1: it compiles in much less time than the default 3, and the tool
  # only rewrites three modules per build (seconds either way).
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install wasm-bindgen-cli --version "$want" --quiet --root "$tools" \
    --target-dir "$tools/target"
  rm -rf "$tools/target"
fi

if [ "${1:-}" = --chromium ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "error: the browser tests need chromium (a Debian package)" >&2
    exit 1
  fi
fi
