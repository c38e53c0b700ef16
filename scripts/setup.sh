#!/usr/bin/env bash
# Brings this machine to the state the build and tests need, installing only what is missing:
#   - a wasm32 standard library: rustup's wasm32-unknown-unknown target ("plain" route), or on
#     Debian without it Debian's rustc-web + cargo-web + rust-web-src + rust-web-clippy ("debian"
#     route: std is built from source with -Z build-std, see scripts/env.sh); where apt has those,
#     they are installed beside rustup's target too: the release package is built with them
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock, and wasm-pack
#   - a current wasm-opt (npm `binaryen`, into ~/.cache/realtime-wasm/tools; Debian's binaryen 108
#     is too old for what rustc emits today)
#   - chromium + chromium-driver, firefox-esr + geckodriver (cargo install)
#   - rustfmt and clippy for rustup's toolchain
# Idempotent; takes a few seconds when everything is present.
#
# Environment knobs:
#   RT_FORCE_WASM_ROUTE=plain|debian  skip route detection
#   RT_SKIP_FIREFOX=1                 do not install firefox-esr/geckodriver
#   RT_SKIP_BROWSERS=1                do not install any browser or driver
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

say() { printf '[setup] %s\n' "$*"; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=()
if [ "$(id -u)" != 0 ] && have sudo; then SUDO=(sudo); fi

# ---- apt helpers ---------------------------------------------------------------------------
HAVE_APT=0
if have apt-get && have dpkg-query; then HAVE_APT=1; fi
APT_UPDATED=0
apt_missing() { # prints the given packages that are not installed
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$p"
    fi
  done
}
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    "${SUDO[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
}
apt_install() { # installs the missing ones among the given packages
  local missing
  missing="$(apt_missing "$@" | tr '\n' ' ')"
  [ -z "${missing// /}" ] && return 0
  apt_update_once
  say "apt-get install $missing"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q $missing >/dev/null
}
apt_has_candidate() {
  apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'
}

# ---- rustup components ----------------------------------------------------------------------
have cargo || die "cargo not found: install Rust with rustup first (https://rustup.rs)"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  have rustup || die "rustfmt/clippy missing and no rustup to add them"
  say "rustup component add rustfmt clippy"
  rustup component add rustfmt clippy
fi

# ---- the wasm32 standard library --------------------------------------------------------------
DEBIAN_ROUTE_PKGS=(rustc-web cargo-web rust-web-src rust-web-clippy)
if [ "$RT_WASM_ROUTE" = none ]; then
  want="${RT_FORCE_WASM_ROUTE:-}"
  if [ -z "$want" ]; then
    # Prefer Debian's packages where they exist: `rustup target add` hangs forever on a machine
    # that reaches only package registries. Elsewhere (a laptop), rustup does the job.
    if [ "$HAVE_APT" = 1 ]; then
      apt_update_once
      if apt_has_candidate rustc-web && apt_has_candidate rust-web-src; then want=debian; fi
    fi
    want="${want:-plain}"
  fi
  if [ "$want" = debian ]; then
    [ "$HAVE_APT" = 1 ] || die "the debian route needs apt-get"
    say "wasm32 std: Debian's rustc-web + rust-web-src (std built from source with -Z build-std)"
    apt_install "${DEBIAN_ROUTE_PKGS[@]}"
  else
    have rustup || die "no wasm32 std and no rustup: install the wasm32-unknown-unknown target"
    say "wasm32 std: rustup target add wasm32-unknown-unknown (timeout ${RT_RUSTUP_TIMEOUT:-600}s)"
    timeout "${RT_RUSTUP_TIMEOUT:-600}" rustup target add wasm32-unknown-unknown ||
      die "rustup target add wasm32-unknown-unknown failed or timed out (on Debian, RT_FORCE_WASM_ROUTE=debian uses apt instead)"
  fi
  source scripts/env.sh
  [ "$RT_WASM_ROUTE" != none ] || die "still no wasm32 standard library after installing"
fi
# The release package is built on the debian route wherever it exists, even where rustup has the
# target (scripts/build-pkg.sh: only a standard library built from source has immediate-abort
# panics, which keep panic formatting out of the wasm file): install its packages where apt has them.
if [ "$RT_WASM_ROUTE" = plain ] && [ "$HAVE_APT" = 1 ] && [ -n "$(apt_missing "${DEBIAN_ROUTE_PKGS[@]}")" ]; then
  if apt_update_once && apt_has_candidate rustc-web && apt_has_candidate rust-web-src; then
    say "Debian's rustc-web + rust-web-src too, for the release package (immediate-abort panics)"
    apt_install "${DEBIAN_ROUTE_PKGS[@]}" || say "WARNING: could not install them; the package is built without immediate-abort panics (larger)"
  fi
fi
if [ "$RT_WASM_ROUTE" = debian ]; then
  if [ "$HAVE_APT" = 1 ]; then apt_install "${DEBIAN_ROUTE_PKGS[@]}"; fi
  [ -x "${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER:-}" ] ||
    die "no wasm linker: rustup's rust-lld is missing (or install Debian's lld)"
fi
say "wasm32 route: $RT_WASM_ROUTE ${RT_WASM_CARGO_ARGS:+(cargo args: $RT_WASM_CARGO_ARGS)}"

# ---- wasm-bindgen-cli at the lock's version ---------------------------------------------------
if [ ! -f Cargo.lock ]; then
  say "cargo generate-lockfile (no Cargo.lock yet)"
  cargo generate-lockfile -q
fi
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[ -n "$WB_VERSION" ] || die "wasm-bindgen not found in Cargo.lock"
have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_wb" != "$WB_VERSION" ] || ! have wasm-bindgen-test-runner; then
  say "cargo install wasm-bindgen-cli --version $WB_VERSION (have: ${have_wb:-none}; takes ~4 min)"
  # No --locked: its lock pins a crate version some registry mirrors lack.
  env -u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO_TARGET_DIR \
    cargo install -q --force wasm-bindgen-cli --version "$WB_VERSION"
fi
say "wasm-bindgen $WB_VERSION"

# ---- wasm-pack ----------------------------------------------------------------------------------
if ! have wasm-pack; then
  say "cargo install wasm-pack (takes ~3 min)"
  env -u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO_TARGET_DIR cargo install -q wasm-pack
fi
say "$(wasm-pack --version)"

# ---- wasm-opt -----------------------------------------------------------------------------------
# rustc >= 1.82 emits bulk-memory, sign-ext, multivalue, reference-types...; binaryen 108 chokes
# on some of it. npm's `binaryen` ships wasm-opt compiled to wasm, run by node: no download of
# a prebuilt native binary, works wherever node does.
BINARYEN_NPM_VERSION="${RT_BINARYEN_VERSION:-132.0.0}"
if [ ! -x "$RT_TOOLS_DIR/node_modules/.bin/wasm-opt" ] ||
  ! "$RT_TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version ${BINARYEN_NPM_VERSION%%.*}"; then
  if have npm; then
    say "npm install binaryen@$BINARYEN_NPM_VERSION into $RT_TOOLS_DIR"
    mkdir -p "$RT_TOOLS_DIR"
    # A failure here only costs the release build its wasm-opt step: warn, do not stop the tests.
    if npm install --prefix "$RT_TOOLS_DIR" --no-audit --no-fund --loglevel=error \
      "binaryen@$BINARYEN_NPM_VERSION" >/dev/null; then
      source scripts/env.sh
    else
      say "WARNING: npm install binaryen failed; scripts/build-pkg.sh will lack a current wasm-opt"
    fi
  else
    say "WARNING: no npm, so no current wasm-opt; release builds may skip or fail wasm-opt"
  fi
fi
if have wasm-opt; then say "$(wasm-opt --version) at $(command -v wasm-opt)"; fi

# ---- browsers and drivers -----------------------------------------------------------------------
if [ "${RT_SKIP_BROWSERS:-0}" != 1 ]; then
  browser_pkgs=(chromium chromium-driver)
  [ "${RT_SKIP_FIREFOX:-0}" = 1 ] || browser_pkgs+=(firefox-esr)
  if [ "$HAVE_APT" = 1 ]; then
    apt_install "${browser_pkgs[@]}"
  elif ! have chromedriver; then
    say "WARNING: no apt-get: install Chrome/Chromium, chromedriver and Firefox yourself"
  fi
  if [ "${RT_SKIP_FIREFOX:-0}" != 1 ] && ! have geckodriver; then
    say "cargo install geckodriver (takes ~3 min)"
    env -u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO_TARGET_DIR cargo install -q geckodriver
  fi
  source scripts/env.sh
  say "chromedriver: ${CHROMEDRIVER:-MISSING}; geckodriver: ${RT_GECKODRIVER:-MISSING}"
fi
say "ready"
