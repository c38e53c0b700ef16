#!/usr/bin/env bash
# End-to-end checks of the npm package in pkg/ (scripts/test.sh runs this after the release build):
#   bash scripts/e2e.sh [TEST_FILE...]      (default: every tests/e2e/*.test.mjs)
#
#  1. npm ci in tests/e2e (playwright-core, typescript) and examples/vite (vite, typescript), each
#     skipped while its node_modules matches its committed package-lock.json
#  2. `npm pack` of pkg/, unpacked into examples/vite/node_modules/realtime-wasm: the Vite example
#     gets exactly what a registry install would give it
#  3. starts `realtime-server --addr 127.0.0.1:0 --test-hooks` serving www/ and pkg/, waits for its
#     `listening on http://...` line (RT_E2E_SERVER=http://HOST:PORT uses a running one instead,
#     e.g. the demo's: it must serve this pkg/ and run with --test-hooks)
#  4. node --test tests/e2e: package.json and declarations (no `any`, tsc --strict on a usage file),
#     the package's JavaScript API in a page, the Vite example (tsc + vite build + dev server,
#     loaded in headless Chromium), the demo page driven in headless Chromium over every
#     transport, with faults, and screenshots checked
#  5. stops the server; prints `e2e test result: ok|FAILED. N passed; M failed` (summed by test.sh)
#
# Needs pkg/ built (scripts/build-pkg.sh), node + npm, and Chromium (/usr/bin/chromium or
# RT_CHROMIUM). Artifacts (screenshots, TAP results, server log): target/e2e/.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

say() { printf '[e2e] %s\n' "$*"; }
die() {
  printf '[e2e] ERROR: %s\n' "$*" >&2
  exit 1
}

OUT="$ROOT/target/e2e"
mkdir -p "$OUT"
export RT_E2E_OUT="$OUT"
export RT_PKG_DIR="$ROOT/pkg"
export RT_CHROMIUM="${RT_CHROMIUM:-/usr/bin/chromium}"

{ command -v node && command -v npm; } >/dev/null || die "node and npm are needed"
[ -x "$RT_CHROMIUM" ] || die "no Chromium at $RT_CHROMIUM (scripts/setup.sh installs it; RT_CHROMIUM=path overrides)"
for f in realtime_wasm.js realtime_wasm.d.ts realtime_wasm_bg.wasm package.json; do
  [ -f "pkg/$f" ] || die "pkg/$f missing: run scripts/build-pkg.sh first"
done

# ---- 1. npm dependencies, installed only when the lock changed ----------------------------------
npm_ci() { # DIR: npm ci unless DIR/node_modules was installed from the same lock
  local dir="$1" want have
  want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
  have="$(cat "$dir/node_modules/.rt-installed" 2>/dev/null || true)"
  if [ "$want" = "$have" ]; then
    return 0
  fi
  say "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  echo "$want" >"$dir/node_modules/.rt-installed"
}
npm_ci "$ROOT/tests/e2e" || die "npm ci in tests/e2e failed"
npm_ci "$ROOT/examples/vite" || die "npm ci in examples/vite failed"

# ---- 2. the package as npm would install it ---------------------------------------------------------
rm -rf "$OUT/pack" && mkdir -p "$OUT/pack"
tarball="$(cd pkg && npm pack --silent --pack-destination "$OUT/pack" 2>/dev/null | tail -n 1)"
[ -f "$OUT/pack/$tarball" ] || die "npm pack of pkg/ failed"
dest="examples/vite/node_modules/realtime-wasm"
rm -rf "$dest" && mkdir -p "$dest"
tar -xzf "$OUT/pack/$tarball" -C "$dest" --strip-components=1 || die "could not unpack $tarball"
say "pkg/ packed as $tarball ($(wc -c <"$OUT/pack/$tarball") B) and unpacked into $dest"

# ---- 3. a realtime-server of our own -------------------------------------------------------------
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# Not RT_SERVER: scripts/test.sh exports that for the browser tests, and that server is gone.
if [ -z "${RT_E2E_SERVER:-}" ]; then
  # The debug build scripts/test.sh already made for the browser tests: no extra compile there.
  cargo build -q -p realtime-server || die "cargo build -p realtime-server failed"
  bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/realtime-server"
  log="$OUT/server.log"
  "$bin" --addr 127.0.0.1:0 --test-hooks --static-dir www --pkg-dir pkg >"$log" 2>&1 &
  SERVER_PID=$!
  url=""
  deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    url="$(grep -m1 -o 'listening on http://[^[:space:]]*' "$log" | sed 's/^listening on //')"
    [ -n "$url" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || {
      cat "$log"
      die "realtime-server exited before listening"
    }
    sleep 0.2
  done
  [ -n "$url" ] || die "realtime-server printed no 'listening on http://...' within 30 s"
  export RT_SERVER="${url%/}"
  say "realtime-server (pid $SERVER_PID) at $RT_SERVER; log: target/e2e/server.log"
else
  export RT_SERVER="${RT_E2E_SERVER%/}"
  say "using the running server RT_E2E_SERVER=$RT_SERVER"
fi

# ---- 4. the tests ------------------------------------------------------------------------------------
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=(tests/e2e/*.test.mjs)
fi
say "node --test ${files[*]}"
start=$SECONDS
# spec for people on stdout, TAP into a file for the counts.
node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$OUT/results.tap" \
  "${files[@]}"
status=$?
stop_server

passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$OUT/results.tap" | tail -n 1)"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$OUT/results.tap" | tail -n 1)"
todo="$(sed -n 's/^# todo \([0-9]*\)$/\1/p' "$OUT/results.tap" | tail -n 1)"
passed="${passed:-0}" failed="${failed:-0}" todo="${todo:-0}"
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
say "$((SECONDS - start)) s; screenshots, TAP results and the server log in target/e2e/"
if [ "$status" = 0 ]; then verdict=ok; else verdict=FAILED; fi
echo "e2e test result: $verdict. $passed passed; $failed failed; $todo todo"
exit "$status"
