#!/usr/bin/env bash
# Memory over many invocations: the release edge under a fake Lambda Runtime API
# (tools/src/bin/soak.rs), each invocation a new visitor's /t (events/edge/cloudfront/track.json
# with its own address and fingerprint), DynamoDB on moto server; prints the peak and final RSS
# and the invocations' median and p99 time.
#
#   scripts/bench-soak.sh [INVOCATIONS]   # default 2000
#
# The figures are in docs/performance.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
RUN_DIR=$(mktemp -d)
trap 'stop_groups; rm -rf "$RUN_DIR"' EXIT
PORT=${BENCH_MOTO_PORT:-8013}
start_moto "$PORT" "$RUN_DIR/moto.log"
TABLE=$("$VENV/bin/python" -c 'import json; print(json.load(open("events/env.json"))["EdgeFunction"]["DYNAMODB_TABLE"])')
"$VENV/bin/python" "$ROOT/scripts/create_table.py" "http://127.0.0.1:$PORT" "$TABLE"
log "cargo build --release --bin edge"
cargo build --release --bin edge
cargo build -p tools --bin soak
log "soak: ${1:-2000} invocations"
"$ROOT/target/debug/soak" --invocations "${1:-2000}" --set "DYNAMODB_ENDPOINT=http://127.0.0.1:$PORT" \
  --set RUST_LOG=warn edge=target/release/edge@EdgeFunction events/edge/cloudfront/track.json
