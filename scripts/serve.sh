#!/usr/bin/env bash
# Builds the lab (scripts/build-web.sh) and serves site/ on http://127.0.0.1:${PORT:-8080}/
# with Python's static server, which sends .wasm as application/wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-web.sh
port="${PORT:-8080}"
echo "ICL Lab: http://127.0.0.1:$port/   (Ctrl-C stops)"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory site
