#!/usr/bin/env bash
# Round-trip and latency benchmark of the edge's request paths (tests/src/bin/round-trips.rs):
# starts moto server, runs the edge in-process with DynamoDB behind a proxy adding a fixed
# delay to each call, prints a table per path. Arguments go to the benchmark:
#   scripts/bench-round-trips.sh [--delay-ms 40] [--rounds 50]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
RUN_DIR=$(mktemp -d)
trap 'stop_groups; rm -rf "$RUN_DIR"' EXIT
PORT=${BENCH_MOTO_PORT:-8011}
start_moto "$PORT" "$RUN_DIR/moto.log"
cargo build -q -p integration-tests --bin round-trips
MOTO_ENDPOINT="http://127.0.0.1:$PORT" cargo run -q -p integration-tests --bin round-trips -- "$@"
