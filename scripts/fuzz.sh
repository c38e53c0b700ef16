#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while on its kept corpus (fuzz/corpus/<target>), failing on
# any crash. The test command runs it briefly; run it longer to grow the corpus:
#
#   bash scripts/fuzz.sh            # 10 s per target (what scripts/test.sh does)
#   RT_FUZZ_SECONDS=600 RT_FUZZ_GROW=1 bash scripts/fuzz.sh   # and keep what it finds in fuzz/corpus
#
# Needs the nightly toolchain (installed by rustup on these machines) and cargo-fuzz, which this
# script installs when missing. A crash leaves its input in fuzz/artifacts/<target>/: turn it into
# a regression test (the parser's or decoder's own unit tests) before fixing it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
seconds="${RT_FUZZ_SECONDS:-10}"
# Outside the clone, so a fresh clone (CI) reuses the instrumented build of an earlier run.
target_dir="${RT_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/realtime-wasm/fuzz-target}"
mkdir -p "$ROOT/target"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "[fuzz] the nightly toolchain is missing; fuzzing needs it (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz (once, a few minutes)"
  cargo install cargo-fuzz --locked 2>/dev/null || cargo install cargo-fuzz
fi

status=0
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target"
  # New inputs go to a scratch directory unless asked to grow the kept corpus (then minimise it
  # with `cargo fuzz cmin` before committing).
  if [ -n "${RT_FUZZ_GROW:-}" ]; then
    dirs=("corpus/$target")
  else
    scratch="$(mktemp -d)"
    dirs=("$scratch" "corpus/$target")
  fi
  echo "[fuzz] $target: ${seconds} s"
  # -timeout: one input running over 10 s is a hang, reported like a crash.
  if ! cargo +nightly fuzz run --target-dir "$target_dir" "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$ROOT/target/fuzz-$target.log" 2>&1; then
    echo "[fuzz] $target FAILED; input kept in fuzz/artifacts/$target/, log target/fuzz-$target.log" >&2
    tail -n 30 "$ROOT/target/fuzz-$target.log" >&2
    status=1
  else
    grep -E '^Done|stat::number_of_executed_units|cov:' "$ROOT/target/fuzz-$target.log" | tail -n 2 | sed "s/^/[fuzz] $target: /"
  fi
  if [ -z "${RT_FUZZ_GROW:-}" ]; then rm -rf "$scratch"; fi
done
exit $status
