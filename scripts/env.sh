# shellcheck shell=bash
# Environment for building and testing realtime-wasm. Source it, do not run it:
#
#   source scripts/env.sh          # tools on PATH, drivers, wasm route detected (native cargo untouched)
#   source scripts/env.sh --wasm   # additionally export the wasm32 compiler variables into this shell
#
# Two ways to get a wasm32 standard library (scripts/setup.sh installs one of them):
#   plain   rustup has the wasm32-unknown-unknown target (any laptop with internet).
#   debian  Debian's rustc-web + rust-web-src (1.96): cargo builds std from source with
#           `-Z build-std`, RUSTC/RUSTDOC point at /usr/bin, RUSTC_BOOTSTRAP=1 unlocks -Z,
#           and rustup's rust-lld links (Debian's rustc ships none).
#
# Native builds (the server, native unit tests, clippy) always use rustup's rustc in target/.
# Wasm builds use target/wasm or target/wasm-std (RT_WASM_TARGET_DIR): compilers never share one,
# so alternating `cargo test` and `wasm-pack test` does not rebuild everything each time.
# That is why RUSTC is NOT exported globally: use `wasm_env CMD...` (or `--wasm`) for wasm work.
#
# Exported after sourcing:
#   RT_ROOT               repository root
#   RT_WASM_ROUTE         plain | debian | none (none: run scripts/setup.sh)
#   RT_WASM_CARGO_ARGS    extra cargo args for wasm32 builds ("-Z build-std=std,panic_abort" or "")
#   RT_WASM_TARGET_DIR    target dir for wasm32 builds: target/wasm (plain), target/wasm-std (debian)
#   RT_TOOLS_DIR          where setup.sh puts tools that are not cargo/apt installs (npm binaryen)
#   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER   rust-lld (debian route only; affects wasm32 only)
#   CHROMEDRIVER, RT_GECKODRIVER (not GECKODRIVER: see below), WASM_BINDGEN_TEST_TIMEOUT,
#   WASM_BINDGEN_TEST_DRIVER_TIMEOUT,
#   PATH (~/.cargo/bin first; the npm wasm-opt dir before Debian's)
# Arrays/functions (bash only):
#   RT_WASM_ENV=(VAR=value ...)   variables a wasm32 cargo/wasm-pack command needs
#   RT_WASM_ARGS=(...)            RT_WASM_CARGO_ARGS as an array
#   wasm_env CMD...               run CMD with RT_WASM_ENV applied
#   rt_use_wasm_route plain|debian   switch route (build-pkg.sh prefers debian: immediate-abort)
# RT_FORCE_WASM_ROUTE=plain|debian before sourcing overrides the detection (plain preferred).

RT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RT_ROOT

case ":$PATH:" in
  *":$HOME/.cargo/bin:"*) ;;
  *) PATH="$HOME/.cargo/bin:$PATH" ;;
esac

# Tools setup.sh fetched from a registry other than cargo/apt (kept outside the work tree so a
# fresh clone on the same machine, e.g. CI, reuses them).
export RT_TOOLS_DIR="${RT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/realtime-wasm/tools}"
# A newer wasm-opt (npm `binaryen`) wins over Debian's binaryen 108 when setup.sh installed it.
if [ -x "$RT_TOOLS_DIR/node_modules/.bin/wasm-opt" ]; then
  case ":$PATH:" in
    *":$RT_TOOLS_DIR/node_modules/.bin:"*) ;;
    *) PATH="$RT_TOOLS_DIR/node_modules/.bin:$PATH" ;;
  esac
fi
export PATH

# rustup's own rustc, whatever RUSTC the caller's shell may hold.
rt_rustup_rustc() { env -u RUSTC -u RUSTC_BOOTSTRAP rustc "$@"; }

# Which wasm32 std is usable right now (no installs here; setup.sh installs).
rt_plain_route_ok() {
  local libdir
  libdir="$(rt_rustup_rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)"
  [ -n "$libdir" ] && compgen -G "$libdir/libstd-*.rlib" >/dev/null
}
rt_debian_route_ok() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/rustdoc ] &&
    [ -d "$(/usr/bin/rustc --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library/std" ]
}
rt_detect_wasm_route() {
  case "${RT_FORCE_WASM_ROUTE:-}" in
    plain) if rt_plain_route_ok; then echo plain; else echo none; fi ;;
    debian) if rt_debian_route_ok; then echo debian; else echo none; fi ;;
    *) if rt_plain_route_ok; then echo plain; elif rt_debian_route_ok; then echo debian; else echo none; fi ;;
  esac
}

# rust-lld of rustup's toolchain (Debian's rustc has none); Debian's wasm-ld-NN as a fallback.
rt_find_wasm_linker() {
  local sysroot host lld
  sysroot="$(rt_rustup_rustc --print sysroot 2>/dev/null || true)"
  host="$(rt_rustup_rustc -vV 2>/dev/null | sed -n 's/^host: //p')"
  lld="$sysroot/lib/rustlib/$host/bin/rust-lld"
  if [ -n "$sysroot" ] && [ -x "$lld" ]; then
    echo "$lld"
    return
  fi
  lld="$(compgen -c wasm-ld | sort -V | tail -n 1 || true)"
  if [ -n "$lld" ]; then
    command -v "$lld"
  fi
}

# Sets RT_WASM_ROUTE, RT_WASM_TARGET_DIR, RT_WASM_ENV, RT_WASM_ARGS, RT_WASM_CARGO_ARGS for a route.
# Each route has its own target dir (target/wasm, target/wasm-std): two compilers never share one.
rt_use_wasm_route() {
  RT_WASM_ROUTE="$1"
  export RT_WASM_ROUTE
  RT_WASM_ARGS=()
  if [ "$RT_WASM_ROUTE" = debian ]; then
    RT_WASM_TARGET_DIR="${RT_WASM_STD_TARGET_DIR:-$RT_ROOT/target/wasm-std}"
    # shellcheck disable=SC2054 # the comma belongs to the cargo argument
    RT_WASM_ARGS=(-Z build-std=std,panic_abort)
    RT_WASM_ENV=("CARGO_TARGET_DIR=$RT_WASM_TARGET_DIR" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1)
    if [ -z "${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER:-}" ]; then
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$(rt_find_wasm_linker)"
    fi
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER
  else
    RT_WASM_TARGET_DIR="${RT_WASM_PLAIN_TARGET_DIR:-$RT_ROOT/target/wasm}"
    RT_WASM_ENV=("CARGO_TARGET_DIR=$RT_WASM_TARGET_DIR")
  fi
  export RT_WASM_TARGET_DIR
  RT_WASM_CARGO_ARGS="${RT_WASM_ARGS[*]}"
  export RT_WASM_CARGO_ARGS
}
rt_use_wasm_route "$(rt_detect_wasm_route)"

wasm_env() { env "${RT_WASM_ENV[@]}" "$@"; }

# Browser drivers for wasm-bindgen-test-runner. wasm-pack finds both on PATH by itself and sets the
# variable of the browser it runs. The runner picks GECKODRIVER over CHROMEDRIVER when both are
# set, so only CHROMEDRIVER is exported; for Firefox run e.g.
#   GECKODRIVER=$RT_GECKODRIVER wasm_env cargo test --target wasm32-unknown-unknown ...
if [ -z "${CHROMEDRIVER:-}" ] && command -v chromedriver >/dev/null 2>&1; then
  CHROMEDRIVER="$(command -v chromedriver)"
  export CHROMEDRIVER
fi
RT_GECKODRIVER="${GECKODRIVER:-$(command -v geckodriver 2>/dev/null || true)}"
export RT_GECKODRIVER
# wasm-bindgen-test-runner gives ONE test binary (all tests of one tests/*.rs file) this many
# seconds in total, default 20: far too little for reconnect/fallback tests.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-900}"
# And the WebDriver this long to bind its port, default 5 s: on a loaded 2-core machine (the other
# browser's tests compiling beside it) chromedriver once took longer, and the whole Chromium phase
# failed before any test ran ("driver failed to bind port during startup").
export WASM_BINDGEN_TEST_DRIVER_TIMEOUT="${WASM_BINDGEN_TEST_DRIVER_TIMEOUT:-60}"

if [ "${1:-}" = --wasm ]; then
  for kv in "${RT_WASM_ENV[@]}"; do
    export "${kv?}"
  done
  unset kv
fi
