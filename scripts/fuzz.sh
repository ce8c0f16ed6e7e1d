#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (cargo fuzz, libFuzzer) for a bounded time each and prints
# a table of executions, executions per second and crashes per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      # default: 45 s each, every target, two at a time
#   scripts/fuzz.sh --runs N [TARGET...]       # N executions each, however long they take
#
# The test command runs it briefly; the long run the README quotes is `scripts/fuzz.sh --runs
# 10000000`. cargo-fuzz is installed into ~/.cargo/bin when
# missing; the stable toolchain gets the unstable flags it needs from RUSTC_BOOTSTRAP=1. The
# targets are built against the shared crate without its `io` feature (no AWS SDK), in release
# with debug assertions (overflow checks), without a sanitizer: the fuzzed code is safe Rust,
# and what it can do wrong — panic, overflow, loop — libFuzzer sees without one.
# The working corpora grow under target/fuzz/corpus/<target>, seeded from fuzz/seeds/<target>;
# a crash leaves its input in fuzz/artifacts/<target>/ and fails the run: copy it to
# fuzz/regressions/<target>/ with the fix (a unit test replays every file there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

if [[ ${1:-} == --runs ]]; then
  LIMIT=(-runs="$2")
  WHAT="$2 executions"
  shift 2
else
  LIMIT=(-max_total_time="${1:-45}")
  WHAT="${1:-45} s"
  shift || true
fi
CARGO_FUZZ_VERSION=0.13.2
ALL_TARGETS=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^impressio-fuzz$')
TARGETS=${*:-$ALL_TARGETS}

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
FLAGS=(--sanitizer none --debug-assertions --fuzz-dir fuzz --target-dir "$ROOT/target/fuzz")

log "building the fuzz targets (release, debug assertions, no AWS SDK)"
cargo fuzz build "${FLAGS[@]}"

RUN_DIR="$ROOT/target/fuzz/runs"
mkdir -p "$RUN_DIR"
run_one() {
  local t=$1 corpus="$ROOT/target/fuzz/corpus/$1"
  mkdir -p "$corpus"
  cargo fuzz run "${FLAGS[@]}" "$t" "$corpus" "fuzz/seeds/$t" -- \
    "${LIMIT[@]}" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    >"$RUN_DIR/$t.log" 2>&1
}

log "fuzzing each target for $WHAT, two at a time"
# Two at a time: the next target starts as soon as one ends.
failed=()
declare -A running=()
for t in $TARGETS; do
  while ((${#running[@]} >= 2)); do
    status=0
    wait -n -p done_pid "${!running[@]}" || status=$?
    ((status == 0)) || failed+=("${running[$done_pid]}")
    unset "running[$done_pid]"
  done
  run_one "$t" &
  running[$!]=$t
done
for pid in "${!running[@]}"; do
  wait "$pid" || failed+=("${running[$pid]}")
done

printf '\n%-20s %14s %10s %8s %8s\n' target executions "exec/s" seconds crashes
for t in $TARGETS; do
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$RUN_DIR/$t.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$RUN_DIR/$t.log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$RUN_DIR/$t.log" | tail -1)
  crashes=$(find "fuzz/artifacts/$t" -type f 2>/dev/null | wc -l)
  printf '%-20s %14s %10s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${secs:-?}" "$crashes"
done
if ((${#failed[@]})); then
  echo "fuzzing found a failure in: ${failed[*]} (logs in $RUN_DIR, inputs in fuzz/artifacts/)" >&2
  for t in "${failed[@]}"; do tail -30 "$RUN_DIR/$t.log" >&2; done
  exit 1
fi
