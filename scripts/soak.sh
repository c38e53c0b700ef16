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
#
# Then, whatever the load test gave: a server restart under 200 connected clients in one headless
# Chromium page (tests/soak/restart.mjs, see its step below); `restart: RESULT` is its line to quote.
# The script exits non-zero if either step failed.
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
set +e
"$BIN_DIR/examples/load" --server "$BIN_DIR/realtime-server" "$@" 2>&1 | tee "$LOG_DIR/soak-load.log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ]; then
  echo "[soak] server load: ok"
else
  echo "[soak] server load: FAILED (exit $status)"
fi

# ---- server restart under 200 connected clients (tests/soak/restart.mjs) ------------------------
# One headless Chromium page (/usr/bin/chromium, or RT_CHROMIUM) at the server's `/` holds 200
# RealtimeClients over WebSocket, each sending a numbered message every 100 ms; the server is
# SIGKILLed, stays down 1 s, and a new one starts on the same port. Fails if any client does not
# come back or any message is lost, duplicated or reordered; stops after 60 s whatever happens.
# Needs pkg/ (built if missing) and tests/e2e/node_modules (npm ci there if missing). The line to
# quote starts `restart: RESULT`. Logs: target/test-logs/soak-restart.log and
# soak-restart-server-{1,2}.log.
echo "[soak] server restart under 200 connected clients"
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi
set +e
node tests/soak/restart.mjs 2>&1 | tee "$LOG_DIR/soak-restart.log"
restart_status=${PIPESTATUS[0]}
set -e
if [ "$restart_status" -eq 0 ]; then
  echo "[soak] server restart: ok"
else
  echo "[soak] server restart: FAILED (exit $restart_status)"
fi
# ---- end of the server restart step ------------------------------------------------------------

[ "$status" -eq 0 ] && [ "$restart_status" -eq 0 ]
