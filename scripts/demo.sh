#!/usr/bin/env bash
# THE demo command: bash scripts/demo.sh [PORT | --addr HOST:PORT] [extra realtime-server flags...]
#
# Installs what is missing (scripts/setup.sh), builds the release package into pkg/
# (scripts/build-pkg.sh), then runs the release server from the repo root with fault injection on:
#   realtime-server --addr 127.0.0.1:8080 --test-hooks
# and prints the URL of the demo page (www/ at /, the package at /pkg/). Ctrl-C stops it.
# The port also comes from RT_DEMO_PORT or PORT; RT_DEMO_HOST sets the host (default 127.0.0.1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

host="${RT_DEMO_HOST:-127.0.0.1}"
port="${RT_DEMO_PORT:-${PORT:-8080}}"
addr=""
server_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      sed -n '2,9p' "$0"
      exit 0
      ;;
    --addr)
      addr="$2"
      shift 2
      ;;
    --addr=*)
      addr="${1#--addr=}"
      shift
      ;;
    --port)
      port="$2"
      shift 2
      ;;
    [0-9]*)
      port="$1"
      shift
      ;;
    *)
      server_args+=("$1")
      shift
      ;;
  esac
done
addr="${addr:-$host:$port}"

RT_SKIP_FIREFOX=1 bash scripts/setup.sh
bash scripts/build-pkg.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh

echo "[demo] cargo build --release -p realtime-server"
cargo build --release -p realtime-server
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/realtime-server"

cat <<EOF

  ========================================================================
    realtime-wasm demo:  http://$addr/
    (page from www/, package from pkg/, sessions at /rt, fault injection on)
    Ctrl-C stops the server.
  ========================================================================

EOF
exec "$bin" --addr "$addr" --test-hooks "${server_args[@]}"
