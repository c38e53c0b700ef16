#!/usr/bin/env bash
# Soak and load tests (issue 6, item 7): long, so not part of scripts/test.sh. Loopback only,
# bounded in count and time; each phase stops by itself.
#
#   bash scripts/soak.sh [--polls N] [--streams N] [--hold SECS] [--deadline SECS]
#
# Server load: builds realtime-server and the load client (server/examples/load.rs) in release
# mode, then the client starts the server on 127.0.0.1:0, holds N long polls (default 2000) and
# N event streams (default 2000) open at once for --hold seconds (default 5), fans one event out to
# all of them, and reports the server's RSS idle, with everything held, and after the fan-out.
# It fails (exit 1) if any connection fails or misses the event, or after --deadline seconds
# (default 180). The line to quote is the one starting `load: RESULT`.
# Logs: target/test-logs/soak-load.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOG_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/test-logs"
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
mkdir -p "$LOG_DIR"

# 4,000 connections take 4,000 descriptors on each side (client and server are two processes).
want=16384
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
fi
echo "[soak] file descriptor limit: $(ulimit -n)"

echo "[soak] building realtime-server and the load client (release)"
cargo build --release -p realtime-server --bin realtime-server --example load

echo "[soak] server load: long polls and event streams held at once"
"$BIN_DIR/examples/load" --server "$BIN_DIR/realtime-server" "$@" 2>&1 | tee "$LOG_DIR/soak-load.log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 0 ]; then
  echo "[soak] server load: ok"
else
  echo "[soak] server load: FAILED (exit $status)"
fi
exit "$status"
