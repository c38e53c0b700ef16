#!/usr/bin/env bash
# Where the bytes of the wasm file go: bash scripts/size-report.sh [TOP_N]
#
# Builds the release wasm exactly like scripts/build-pkg.sh (same profile, no reference types,
# immediate-abort panics and no panic locations on the debian route) but keeps function names
# (strip off, in its own target dir target/wasm-size, so the package build is not disturbed),
# runs wasm-bindgen --keep-debug and wasm-opt -Oz -g, then prints twiggy's largest items and a
# table by part of the crate (scripts/size-report.mjs). The sizes are code and data bytes of the optimised file, names
# excluded, so they add up to the shipped realtime_wasm_bg.wasm within a few per cent.
# Needs twiggy (`cargo install twiggy`, installed here when missing; ~2 min) and scripts/setup.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh
top="${1:-25}"

say() { printf '[size-report] %s\n' "$*"; }
[ "$RT_WASM_ROUTE" != none ] || {
  echo "[size-report] ERROR: no wasm32 standard library; run scripts/setup.sh" >&2
  exit 1
}
if [ "$RT_WASM_ROUTE" = plain ] && rt_debian_route_ok; then rt_use_wasm_route debian; fi
if ! command -v twiggy >/dev/null; then
  say "cargo install twiggy"
  env -u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO_TARGET_DIR cargo install -q twiggy
fi

out="$ROOT/target/size-report"
mkdir -p "$out"
args=("${RT_WASM_ARGS[@]}")
extra=(CARGO_PROFILE_RELEASE_STRIP=false)
rustflags="-Ctarget-feature=-reference-types"
if [ "$RT_WASM_ROUTE" = debian ] && cargo -Z help 2>/dev/null | grep -q -- '-Z panic-immediate-abort'; then
  args+=(-Z panic-immediate-abort)
  extra+=(CARGO_PROFILE_RELEASE_PANIC=immediate-abort)
  rustflags+=" -Zlocation-detail=none"
fi
extra+=("RUSTFLAGS=${RUSTFLAGS:+$RUSTFLAGS }$rustflags")
say "cargo build --release (names kept) in target/wasm-size"
wasm_env env CARGO_TARGET_DIR="$ROOT/target/wasm-size" "${extra[@]}" \
  cargo build -q --release --lib --target wasm32-unknown-unknown "${args[@]}" \
  --no-default-features --features "${RT_FEATURES:-websocket,eventsource,streaming,iframe,polling}"
wasm-bindgen --target web --keep-debug --out-dir "$out" \
  "$ROOT/target/wasm-size/wasm32-unknown-unknown/release/realtime_wasm.wasm"
wasm-opt -Oz -g --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-multivalue \
  "$out/realtime_wasm_bg.wasm" -o "$out/named.wasm"

twiggy top -n "$top" "$out/named.wasm"
twiggy top -n 100000 -f csv "$out/named.wasm" >"$out/items.csv"
node scripts/size-report.mjs "$out/items.csv"
if [ -f pkg/realtime_wasm_bg.wasm ]; then
  say "the shipped pkg/: wasm $(gzip -9 -c pkg/realtime_wasm_bg.wasm | wc -c) B gzip, glue (JS snippets inlined) $(gzip -9 -c pkg/realtime_wasm.js | wc -c) B gzip"
fi
