#!/usr/bin/env bash
# The main job: sets up the machine, starts moto server and the edge function under
# `cargo lambda watch`, creates the table, drives the function with every sample in events/
# (through `cargo lambda invoke`), prints the fraud-scoring quality report (through the
# backtesting CLI `score`), replays real traffic, prints the summary, and stops everything
# it started.
#
# Ports: MOTO_PORT (default 8000, the one in functions/edge/Cargo.toml) and LAMBDA_PORT
# (default 9000). REPLAY_COUNT sets the number of replayed requests (default 400).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"

MOTO_PORT=${MOTO_PORT:-8000}
LAMBDA_PORT=${LAMBDA_PORT:-9000}
REPLAY_COUNT=${REPLAY_COUNT:-400}
RUN_DIR="$ROOT/target/local-stack"
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR/samples"
trap stop_groups EXIT

export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$MOTO_PORT"
export DYNAMODB_TABLE=${DYNAMODB_TABLE:-fingerprint-events}

log "building the workspace"
cargo build --workspace --bins

log "starting moto server on 127.0.0.1:$MOTO_PORT (log: $RUN_DIR/moto.log)"
start_moto "$MOTO_PORT" "$RUN_DIR/moto.log"
"$ROOT/target/debug/create-table" "$DYNAMODB_TABLE"

log "starting cargo lambda watch on 127.0.0.1:$LAMBDA_PORT (log: $RUN_DIR/watch.log)"
port_free "$LAMBDA_PORT"
start_group "$RUN_DIR/watch.log" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
  --env-var "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB" --env-var "DYNAMODB_TABLE=$DYNAMODB_TABLE"
wait_port "$LAMBDA_PORT" 120

log "invoking the edge function with every sample in events/edge"
for f in events/edge/function-url/*.json events/edge/cloudfront/*.json; do
  name="$(basename "$(dirname "$f")")-$(basename "$f" .json)"
  if ! cargo lambda invoke edge --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
    --data-file "$f" --output-format json >"$RUN_DIR/samples/$name.json" 2>"$RUN_DIR/samples/$name.err"; then
    echo "cargo lambda invoke failed for $f:" >&2
    cat "$RUN_DIR/samples/$name.err" >&2
    exit 1
  fi
done
echo "$(ls "$RUN_DIR/samples"/*.json | wc -l) samples invoked"

log "fraud scoring quality: every isbot crawler and browser UA, and the tool JA4s, through the backtesting CLI"
QUALITY="$RUN_DIR/quality"
"$ROOT/target/debug/quality-corpus" "$QUALITY"
"$ROOT/target/debug/score" "$QUALITY/events.jsonl" >"$QUALITY/assessments.jsonl"
"$ROOT/target/debug/quality-report" "$QUALITY/labels.jsonl" "$QUALITY/assessments.jsonl"
"$ROOT/target/debug/score" --summary --quiet "$QUALITY/events.jsonl"

log "replaying $REPLAY_COUNT requests built from tests/data (real user agents and JA4 strings)"
"$ROOT/target/debug/replay" --endpoint "http://127.0.0.1:$LAMBDA_PORT" --count "$REPLAY_COUNT" \
  --table "$DYNAMODB_TABLE" --samples "$RUN_DIR/samples"
