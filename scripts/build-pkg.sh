#!/usr/bin/env bash
# Builds the release npm package into pkg/ (pkg/realtime_wasm.js, .d.ts, _bg.wasm, package.json)
# with `wasm-pack build --release --target web`, wasm-opt included, and prints its gzip -9 size.
#
# On the debian route (std built from source; preferred here whenever Debian's rustc-web and
# rust-web-src are installed) panics are compiled as immediate aborts, which drops the panic
# formatting machinery from the wasm file. RT_PANIC=abort keeps the Cargo.toml
# profile's plain `abort` instead (panic messages then still reach a panic hook). With immediate
# aborts nothing reads panic locations, so they are compiled out too (-Z location-detail=none).
#
# On every route the wasm is compiled without the reference-types feature: wasm-bindgen then keeps
# JS values in a table on the JS side instead of wrapping every import in an externref shim in the
# wasm file (1.1 KB gzip less in all, measured in docs/SIZE.md; every browser runs both).
#
# scripts/finish-pkg.mjs then finishes the package (package.json, declarations) and makes it
# smaller: the JS snippets inlined into the glue, short import and export names, the glue minified
# by terser (installed here from npm into the tools dir when missing; without it the glue only
# loses its comments). docs/SIZE.md has the figures.
#
# The package is built without the crate's Rust API (cargo feature `rust-api`: JavaScript uses the
# class of src/js/client.js) and with every transport; RT_FEATURES=websocket,polling builds one
# with only those transports (the crate's cargo features, docs/SIZE.md has the sizes), and
# RT_PKG_DIR=DIR writes it somewhere else than pkg/.
# Run scripts/setup.sh first (scripts/test.sh and scripts/demo.sh do).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

say() { printf '[build-pkg] %s\n' "$*"; }
[ "$RT_WASM_ROUTE" != none ] || {
  echo "[build-pkg] ERROR: no wasm32 standard library; run scripts/setup.sh" >&2
  exit 1
}

# The release build prefers the build-std route even where rustup has the wasm32 target: only a
# std built from source can use immediate-abort panics, so the package is the same size everywhere
# Debian's packages exist.
if [ "$RT_WASM_ROUTE" = plain ] && [ -z "${RT_FORCE_WASM_ROUTE:-}" ] && rt_debian_route_ok; then
  rt_use_wasm_route debian
fi

out="${RT_PKG_DIR:-pkg}"
features=(--no-default-features --features "${RT_FEATURES:-websocket,eventsource,streaming,iframe,polling}")
cargo_args=("${RT_WASM_ARGS[@]}" "${features[@]}")
extra_env=()
rustflags="-Ctarget-feature=-reference-types"
panic_mode="abort (Cargo.toml profile)"
if [ "$RT_WASM_ROUTE" = debian ] && [ "${RT_PANIC:-immediate-abort}" = immediate-abort ]; then
  core_src="$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library/core/src/panicking.rs"
  if cargo -Z help 2>/dev/null | grep -q -- '-Z panic-immediate-abort' &&
    grep -q 'immediate-abort' "$core_src" 2>/dev/null; then
    # Rust >= 1.92: immediate-abort is a panic strategy of its own, set through the profile.
    cargo_args+=(-Z panic-immediate-abort)
    extra_env+=(CARGO_PROFILE_RELEASE_PANIC=immediate-abort)
    panic_mode="immediate-abort (profile panic strategy)"
  elif ! grep -q 'immediate-abort' "$core_src" 2>/dev/null; then
    # Older std sources: the std feature of the same name.
    cargo_args+=(-Z build-std-features=panic_immediate_abort)
    panic_mode="immediate-abort (build-std feature)"
  fi
  if [ "$panic_mode" != "abort (Cargo.toml profile)" ]; then
    # No panic message is ever formatted, so the file/line/column data of panic locations
    # (`#[track_caller]`, RefCell, unwrap) would be dead weight: about 0.7 KB gzip.
    rustflags+=" -Zlocation-detail=none"
  fi
fi
extra_env+=("RUSTFLAGS=${RUSTFLAGS:+$RUSTFLAGS }$rustflags")

# wasm-pack 0.15.1 `build --mode no-install` still runs its wasm32 target check, and where rustup's
# toolchain lacks the target that check runs `rustup target add`, which can hang forever on a
# machine that reaches only package registries. `--mode force` skips the check; it downloads
# nothing as long as wasm-bindgen (the lock's version) and wasm-opt are on PATH, checked here.
mode=no-install
if [ "$RT_WASM_ROUTE" = debian ]; then
  mode=force
  command -v wasm-opt >/dev/null || {
    echo "[build-pkg] ERROR: no wasm-opt on PATH (wasm-pack --mode force would try to download one); run scripts/setup.sh" >&2
    exit 1
  }
  wb_lock="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$wb_lock" ] || {
    echo "[build-pkg] ERROR: wasm-bindgen on PATH is not $wb_lock (Cargo.lock); run scripts/setup.sh" >&2
    exit 1
  }
fi

wo_version="$(wasm-opt --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p')"
if [ -n "$wo_version" ] && [ "$wo_version" -lt 116 ]; then
  say "WARNING: wasm-opt $wo_version is too old for what rustc emits (binaryen 108 fails to parse it); run scripts/setup.sh for npm's binaryen"
fi

say "route: $RT_WASM_ROUTE; panic: $panic_mode; wasm-opt: $(command -v wasm-opt || echo none) ($(wasm-opt --version 2>/dev/null || true))"
say "RUSTFLAGS=\"${RUSTFLAGS:+$RUSTFLAGS }$rustflags\" wasm-pack build --release --target web --mode $mode --out-dir $out . ${cargo_args[*]}"
start=$SECONDS
# A snippet directory left by an earlier build would be counted (and shipped) with this one.
rm -rf "$out/snippets"
if ! wasm_env env "${extra_env[@]}" wasm-pack build --release --target web --mode "$mode" --out-dir "$out" . "${cargo_args[@]}"; then
  if [ "$panic_mode" != "abort (Cargo.toml profile)" ]; then
    say "build with immediate-abort panics failed; retrying with the profile's panic = abort"
    panic_mode="abort (fallback)"
    wasm_env env "RUSTFLAGS=${RUSTFLAGS:+$RUSTFLAGS }-Ctarget-feature=-reference-types" \
      wasm-pack build --release --target web --mode "$mode" --out-dir "$out" . "${RT_WASM_ARGS[@]}" "${features[@]}"
  else
    exit 1
  fi
fi
say "built in $((SECONDS - start)) s (panic: $panic_mode)"

for f in "$out"/realtime_wasm.js "$out"/realtime_wasm.d.ts "$out"/realtime_wasm_bg.wasm "$out"/package.json; do
  [ -f "$f" ] || {
    echo "[build-pkg] ERROR: $f missing" >&2
    exit 1
  }
done
# terser for finish-pkg's glue minification: npm's, into the tools dir (as setup.sh does binaryen).
TERSER_VERSION="${RT_TERSER_VERSION:-5.51.2}"
if [ -z "${RT_TERSER_DIR:-}" ] && [ ! -f "$RT_TOOLS_DIR/node_modules/terser/package.json" ] && command -v npm >/dev/null; then
  say "npm install terser@$TERSER_VERSION into $RT_TOOLS_DIR"
  mkdir -p "$RT_TOOLS_DIR"
  npm install --prefix "$RT_TOOLS_DIR" --no-audit --no-fund --loglevel=error "terser@$TERSER_VERSION" >/dev/null ||
    say "WARNING: npm install terser failed; the glue is shipped unminified"
fi
# One package for plain pages and bundlers (exports, module, sideEffects), declarations without
# `any`, snippets inlined, short names, minified glue: scripts/finish-pkg.mjs.
if command -v node >/dev/null; then
  RT_TOOLS_DIR="$RT_TOOLS_DIR" node scripts/finish-pkg.mjs "$out" || exit 1
else
  say "WARNING: no node, so $out/package.json keeps wasm-pack's fields (no exports map) and the glue its full size"
fi
wasm_raw=$(wc -c <"$out"/realtime_wasm_bg.wasm)
wasm_gz=$(gzip -9 -c "$out"/realtime_wasm_bg.wasm | wc -c)
# The glue, and any snippet module finish-pkg could not inline (a page loads those too).
js_files=("$out"/realtime_wasm.js)
if [ -d "$out"/snippets ]; then mapfile -t -O 1 js_files < <(find "$out"/snippets -name '*.js' | sort); fi
js_raw=0
js_gz=0
for f in "${js_files[@]}"; do
  js_raw=$((js_raw + $(wc -c <"$f")))
  js_gz=$((js_gz + $(gzip -9 -c "$f" | wc -c)))
done
say "size: realtime_wasm_bg.wasm $wasm_raw B raw, $wasm_gz B gzip -9"
say "size: realtime_wasm.js      $js_raw B raw, $js_gz B gzip -9$([ "${#js_files[@]}" -gt 1 ] && echo " (with $((${#js_files[@]} - 1)) snippet file(s))")"
say "size: total gzip -9 (wasm + JS glue): $((wasm_gz + js_gz)) B"
