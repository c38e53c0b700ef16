#!/usr/bin/env bash
# THE test command: bash scripts/test.sh [--chrome-only | --firefox-only] [--no-lint] [--no-pkg]
#
#  1. scripts/setup.sh (installs whatever is missing; ~1 s when all is there)
#  2. lint: cargo fmt --check; clippy -D warnings natively (workspace, all targets) and for wasm32
#  3. native tests: cargo test --workspace, and the client's unit tests again in a build with only
#     the websocket and polling transports (cargo features; see "Reduced build" below)
#  4. the release package: scripts/build-pkg.sh (prints its gzip -9 size); before the browser
#     tests because fixture pages they load import /pkg/ (with --no-pkg an existing pkg/ is used)
#  5. browser tests: starts `realtime-server --addr 127.0.0.1:0 --test-hooks --static-dir www
#     --static-dir tests/fixtures` (fixture pages the tests load from the server's origin) from the
#     repo root, waits for its `listening on http://...` line, exports RT_SERVER=http://127.0.0.1:PORT
#     (the browser tests read it at COMPILE time with option_env!("RT_SERVER")), then runs
#     `wasm-pack test --headless --chrome` and `--firefox` at the same time (the server is killed
#     on exit); then, in Chromium, tests/reduced.rs on that reduced build
#  6. end-to-end, on that package: scripts/e2e.sh (package.json and declarations + tsc --strict,
#     the Vite example built and loaded, the demo page driven in headless Chromium)
# Every phase runs even when an earlier one failed; the exit status is non-zero if any failed.
# Logs: target/test-logs/. The last line counts the tests of steps 3, 5 and 6: `N passed, M failed`.
#
# Environment: RT_FUZZ_SECONDS (per fuzz target, default 10; 0 skips), RT_BROWSERS="chrome firefox" (default), WASM_BINDGEN_TEST_TIMEOUT (seconds per
# browser test binary, default 900), RT_BROWSER_TEST_TIMEOUT (seconds per browser run, default
# 1800), RT_SERVER_ARGS (extra server flags).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

browsers="${RT_BROWSERS:-chrome firefox}"
lint=1
pkg=1
for arg in "$@"; do
  case "$arg" in
    --chrome-only) browsers=chrome ;;
    --firefox-only) browsers=firefox ;;
    --no-lint) lint=0 ;;
    --no-pkg) pkg=0 ;;
    -h | --help)
      sed -n '2,20p' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

skip_firefox=1
case " $browsers " in *" firefox "*) skip_firefox=0 ;; esac
RT_SKIP_FIREFOX=$skip_firefox bash scripts/setup.sh || {
  echo "[test] ERROR: scripts/setup.sh failed" >&2
  exit 1
}
# shellcheck source=scripts/env.sh
source scripts/env.sh

LOG_DIR="$ROOT/target/test-logs"
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/*.log

declare -a PHASES=()
failed=0
counted_logs=()

# phase NAME COMMAND...: runs COMMAND (in a subshell), output shown and saved to
# target/test-logs/NAME.log, result recorded for the summary.
phase() {
  local name="$1" start status
  shift
  printf '\n==== [test] %s: %s\n' "$name" "$*"
  start=$SECONDS
  "$@" 2>&1 | tee "$LOG_DIR/$name.log"
  status=${PIPESTATUS[0]}
  record "$name" "$status" "$start"
  return "$status"
}
record() { # NAME STATUS START_SECONDS
  local name="$1" status="$2" start="$3"
  if [ "$status" = 0 ]; then
    PHASES+=("ok     $(printf '%5ss' $((SECONDS - start)))  $name")
  else
    PHASES+=("FAILED $(printf '%5ss' $((SECONDS - start)))  $name (exit $status; log: target/test-logs/$name.log)")
    failed=1
  fi
}

# ---- lint ------------------------------------------------------------------------------------
if [ "$lint" = 1 ]; then
  phase fmt cargo fmt --all --check
  phase clippy-native cargo clippy --workspace --all-targets -- -D warnings
  if [ "$RT_WASM_ROUTE" = debian ]; then
    # rustup's clippy would look for rustup's (missing) wasm32 std; Debian's clippy-driver matches
    # Debian's rustc. CLIPPY_ARGS is how cargo-clippy hands `-D warnings` to clippy-driver.
    phase clippy-wasm32 env "${RT_WASM_ENV[@]}" RUSTC_WORKSPACE_WRAPPER=/usr/bin/clippy-driver \
      CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__ \
      cargo check --target wasm32-unknown-unknown "${RT_WASM_ARGS[@]}" --lib --tests
  else
    phase clippy-wasm32 env "${RT_WASM_ENV[@]}" \
      cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings
  fi
fi

# ---- native tests ----------------------------------------------------------------------------
phase native-tests cargo test --workspace
counted_logs+=("$LOG_DIR/native-tests.log")

# Reduced build: one cargo feature per transport; this set leaves out eventsource, streaming and
# iframe (tests/reduced.rs says what a user of such a build gets).
REDUCED_FEATURES=(--no-default-features --features websocket,polling)
phase native-tests-reduced cargo test -p realtime-wasm --lib "${REDUCED_FEATURES[@]}"
counted_logs+=("$LOG_DIR/native-tests-reduced.log")

# ---- fuzzing: a short run of every cargo-fuzz target on its kept corpus ------------------------
if [ "${RT_FUZZ_SECONDS:-10}" != 0 ]; then
  phase fuzz bash scripts/fuzz.sh
fi

# ---- release package -------------------------------------------------------------------------
# Before the browser tests: some of them load pages from the server that import /pkg/.
pkg_status=1
if [ "$pkg" = 1 ]; then
  phase release-pkg bash scripts/build-pkg.sh
  pkg_status=$?
fi

# ---- browser tests against the real server ---------------------------------------------------
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

start_server() { # [PORT] (default 0: any free port)
  cargo build -p realtime-server || return 1
  local bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/realtime-server"
  local log="$LOG_DIR/server.log" skip=0
  [ -f "$log" ] && skip=$(wc -l <"$log")
  # tests/fixtures holds pages the browser tests load from the server's own origin.
  local static=()
  [ -d www ] && static+=(--static-dir www)
  [ -d tests/fixtures ] && static+=(--static-dir tests/fixtures)
  echo "[test] $bin --addr 127.0.0.1:${1:-0} --test-hooks ${static[*]} ${RT_SERVER_ARGS:-}"
  # shellcheck disable=SC2086 # RT_SERVER_ARGS is a list of flags
  "$bin" --addr "127.0.0.1:${1:-0}" --test-hooks "${static[@]}" ${RT_SERVER_ARGS:-} >>"$log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30)) url=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    url="$(tail -n "+$((skip + 1))" "$log" | grep -m1 -o 'listening on http://[^[:space:]]*' | sed 's/^listening on //')"
    [ -n "$url" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "[test] ERROR: realtime-server exited before printing 'listening on http://...':"
      cat "$log"
      SERVER_PID=""
      return 1
    fi
    sleep 0.2
  done
  if [ -z "$url" ]; then
    echo "[test] ERROR: realtime-server printed no 'listening on http://...' line within 30 s:"
    cat "$log"
    return 1
  fi
  export RT_SERVER="${url%/}"
  echo "[test] realtime-server (pid $SERVER_PID) at $RT_SERVER; log: target/test-logs/server.log"
}

# shellcheck disable=SC2317 # called through `phase`
browser_tests() { # BROWSER
  # The runner prefers GECKODRIVER over CHROMEDRIVER: leave only the one wasm-pack sets.
  timeout --kill-after=30 "${RT_BROWSER_TEST_TIMEOUT:-1800}" \
    env -u GECKODRIVER -u CHROMEDRIVER "${RT_WASM_ENV[@]}" \
    wasm-pack test --headless "--$1" --mode no-install . "${RT_WASM_ARGS[@]}"
}

printf '\n==== [test] server: realtime-server --addr 127.0.0.1:0 --test-hooks\n'
server_start=$SECONDS
# Not through `phase`: the server must be a child of this shell, and RT_SERVER set in it.
start_server >"$LOG_DIR/server-start.log" 2>&1
server_status=$?
cat "$LOG_DIR/server-start.log"
record server "$server_status" "$server_start"
if [ "$server_status" = 0 ]; then
  # The browsers run at the same time against the one server: they spend most of their time
  # waiting on timers and the network, so two cores serve both, and the run takes the longer one.
  # Each compiles the same test crate (cargo's lock lets one build it, the other reuse it).
  browser_start=$SECONDS
  browser_pids=()
  for b in $browsers; do
    printf '\n==== [test] browser-%s (in the background; log: target/test-logs/browser-%s.log)\n' "$b" "$b"
    (
      browser_tests "$b" >"$LOG_DIR/browser-$b.log" 2>&1
      echo $? >"$LOG_DIR/browser-$b.status"
    ) &
    browser_pids+=($!)
  done
  wait "${browser_pids[@]}"
  for b in $browsers; do
    printf '\n==== [test] browser-%s\n' "$b"
    grep -E '^(test |running |test result|Running headless)|panicked at|timed out' "$LOG_DIR/browser-$b.log" | cut -c1-300
    record "browser-$b" "$(cat "$LOG_DIR/browser-$b.status" 2>/dev/null || echo 1)" "$browser_start"
    counted_logs+=("$LOG_DIR/browser-$b.log")
  done
  case " $browsers " in
    *" chrome "*)
      phase browser-reduced timeout --kill-after=30 "${RT_BROWSER_TEST_TIMEOUT:-1800}" \
        env -u GECKODRIVER -u CHROMEDRIVER "${RT_WASM_ENV[@]}" \
        wasm-pack test --headless --chrome --mode no-install . "${RT_WASM_ARGS[@]}" \
        "${REDUCED_FEATURES[@]}" --test reduced
      counted_logs+=("$LOG_DIR/browser-reduced.log")
      ;;
  esac
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "[test] ERROR: realtime-server (pid $SERVER_PID) died during the browser tests (failures after that point may come from that)"
    echo "[test] its output (target/test-logs/server.log):"
    tail -n 30 "$LOG_DIR/server.log"
  fi
else
  echo "[test] browser tests skipped: the server did not start"
fi
stop_server

# ---- end-to-end: scripts/e2e.sh (its own server, npm installs skipped when up to date) ----------
if [ "$pkg" = 1 ]; then
  if [ "$pkg_status" = 0 ]; then
    phase e2e bash scripts/e2e.sh
    counted_logs+=("$LOG_DIR/e2e.log")
  else
    echo "[test] e2e skipped: the release package did not build"
  fi
fi

# ---- summary ---------------------------------------------------------------------------------
printf '\n==== [test] summary (wasm32 route: %s; browsers: %s)\n' "$RT_WASM_ROUTE" "$browsers"
printf '  %s\n' "${PHASES[@]}"
grep -h 'size: total gzip' "$LOG_DIR/release-pkg.log" 2>/dev/null | sed 's/^\[build-pkg\]/ /'
# Sum cargo's and wasm-bindgen-test's `test result: ... N passed; M failed` lines.
read -r passed failed_tests < <(cat "${counted_logs[@]}" 2>/dev/null |
  sed -n 's/.*test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' |
  awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }')
# A failed phase that reported no failing test (a build or lint error) counts as one failure, so
# the closing line never reads "0 failed" for a failed run.
failed_phases=0
for line in "${PHASES[@]}"; do
  case "$line" in
    FAILED*)
      name="$(awk '{print $3}' <<<"$line")"
      if ! grep -Eq 'test result: [A-Za-z]+\. [0-9]+ passed; [1-9][0-9]* failed' "$LOG_DIR/$name.log" 2>/dev/null; then
        failed_phases=$((failed_phases + 1))
      fi
      ;;
  esac
done
if [ "$failed" != 0 ]; then
  echo "[test] FAILED ($failed_tests failing tests, $failed_phases failed phases without a failing test)"
else
  echo "[test] all phases passed"
fi
echo "$passed passed, $((failed_tests + failed_phases)) failed"
exit "$failed"
