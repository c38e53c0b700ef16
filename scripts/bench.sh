#!/usr/bin/env bash
# THE bench command: bash scripts/bench.sh [--quick] [--runs N] [--phases browser,bytes,server,size]
#                                          [--only REGEX] [--no-build]
#
#  1. installs what is missing (scripts/setup.sh, without Firefox) and builds the release package
#     into pkg/ (scripts/build-pkg.sh), two with fewer transports into target/pkg-features/ (the
#     size table: websocket + polling, websocket alone) and the release realtime-server
#  2. npm ci in bench/ (playwright-core, socket.io, ws and the peer clients whose bundles are
#     measured), skipped while bench/node_modules matches bench/package-lock.json
#  3. node bench/run.mjs: starts `realtime-server --addr 127.0.0.1:0 --test-hooks --static-dir
#     bench/page --pkg-dir pkg` (the bench page is same-origin with /rt), drives headless Chromium
#     (/usr/bin/chromium or RT_CHROMIUM) through playwright-core, then the server figures on fresh
#     processes, and writes bench/results/<date>.json, bench/results/<date>.svg and BENCHMARKS.md
#
# About 12 minutes of measuring on 2 cores (9 runs; more on a busy machine), plus the builds.
# --quick: one run with small counts, results in bench/results/tmp/ (ignored by git), BENCHMARKS.md
# untouched. --no-build: use pkg/ and the server binary as they are. --only REGEX: only the
# browser/bytes cases whose id matches. Loopback only; every load is bounded in count and time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[bench] %s\n' "$*"; }
die() {
  printf '[bench] ERROR: %s\n' "$*" >&2
  exit 1
}

build=1
run_args=()
for a in "$@"; do
  case "$a" in
    -h | --help)
      sed -n '2,17p' "$0"
      exit 0
      ;;
    --no-build) build=0 ;;
    *) run_args+=("$a") ;;
  esac
done

{ command -v node && command -v npm; } >/dev/null || die "node and npm are needed"

if [ "$build" = 1 ]; then
  RT_SKIP_FIREFOX=1 bash scripts/setup.sh
  bash scripts/build-pkg.sh
  # Builds with fewer transports, for the size table (socket.io-client carries this pair).
  rm -rf target/pkg-features
  for set in websocket,polling websocket; do
    RT_FEATURES="$set" RT_PKG_DIR="target/pkg-features/${set//,/+}" bash scripts/build-pkg.sh
  done
fi
# shellcheck source=scripts/env.sh
source scripts/env.sh
if [ "$build" = 1 ]; then
  say "cargo build --release -p realtime-server"
  cargo build --release -p realtime-server
fi
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/realtime-server"
[ -x "$bin" ] || die "no $bin (run without --no-build)"
[ -f pkg/realtime_wasm_bg.wasm ] || die "no pkg/ (run without --no-build)"
export RT_CHROMIUM="${RT_CHROMIUM:-/usr/bin/chromium}"
[ -x "$RT_CHROMIUM" ] || die "no Chromium at $RT_CHROMIUM (scripts/setup.sh installs it; RT_CHROMIUM=path overrides)"

# npm ci unless bench/node_modules was installed from this very lock file.
want="$(cat bench/package.json bench/package-lock.json | sha256sum | cut -d' ' -f1)"
have="$(cat bench/node_modules/.rt-installed 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  say "npm ci in bench/"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in bench/ failed"
  echo "$want" >bench/node_modules/.rt-installed
fi

# 5,000 idle sessions need 5,000 sockets on each side: raise the soft limit where the hard one allows.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$hard" ]; then ulimit -n "$hard" || true; fi
say "file descriptors: $(ulimit -n); load now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

exec node bench/run.mjs --server-bin "$bin" --pkg-dir pkg "${run_args[@]}"
