#!/usr/bin/env bash
# Cold-start benchmark: builds the edge, the processor and a hello-world lambda_runtime
# function (tools/hello-lambda: the same runtime versions, the workspace's release profile) in
# release mode, then times each from process start to its first request for an invocation
# under a fake Lambda Runtime API, in alternating runs (tools/src/bin/cold-start.rs), and
# prints the medians and each one's ratio to the hello-world's.
#
#   scripts/bench-cold-start.sh [RUNS]   # default 40 runs each
#
# The figures are in docs/performance.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"

log "cargo build --release (edge, processor, hello-lambda)"
cargo build --release --bin edge --bin processor --bin hello-lambda
cargo build -p tools --bin cold-start
# As deployed: a Supabase URL (its client is built at init); nothing is called.
log "cold start: process start to the first /next, ${1:-40} alternating runs each"
"$ROOT/target/debug/cold-start" --runs "${1:-40}" --set SUPABASE_URL=https://project.supabase.co \
  --set SUPABASE_SERVICE_KEY=bench-key hello=target/release/hello-lambda \
  edge=target/release/edge@EdgeFunction processor=target/release/processor@ProcessorFunction
