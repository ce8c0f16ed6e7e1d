#!/usr/bin/env bash
# The test command: sets up the machine, checks formatting and lints, starts moto server and
# a throwaway PostgreSQL for the integration tests, runs every test, and validates
# template.yaml offline.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"

TEST_MOTO_PORT=${TEST_MOTO_PORT:-8001}
TEST_PG_PORT=${TEST_PG_PORT:-5439}
RUN_DIR="$ROOT/target/test-stack"
mkdir -p "$RUN_DIR"
trap stop_groups EXIT

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

log "starting moto server on 127.0.0.1:$TEST_MOTO_PORT for the integration tests"
start_moto "$TEST_MOTO_PORT" "$RUN_DIR/moto.log"
export MOTO_ENDPOINT="http://127.0.0.1:$TEST_MOTO_PORT"

log "starting PostgreSQL on 127.0.0.1:$TEST_PG_PORT for the Supabase migration tests"
start_postgres "$TEST_PG_PORT" "$RUN_DIR/postgres" "$RUN_DIR/postgres.log"
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/postgres"
export SAM_CLI="$VENV/bin/sam"

log "cargo test"
cargo test --workspace

log "sam validate --lint (offline)"
AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/sam" validate --lint --template template.yaml
