#!/usr/bin/env bash
# The template's functions as `sam build` packaged them (target/sam-build), run by `sam local`
# in Docker against a local stack the containers can reach: moto server and the local
# receivers listening on the Docker bridge's address. Run it through scripts/sam-local.sh,
# which prepares Docker and says where the containers find the host:
#
#   scripts/sam-local.sh scripts/sam-stack.sh test   # every events/ sample through
#       `sam local start-lambda --warm-containers EAGER`, checked by `cargo test -- sam::`
#       (tests/tests/it/sam.rs): what the full test command runs
#   scripts/sam-local.sh scripts/sam-stack.sh demo   # one `sam local invoke` of each
#       function, printed: what the main job shows
#
# The functions get the variables of events/env.json with the local endpoints put in (the
# template declares DYNAMODB_ENDPOINT and WEBHOOK_ALLOW_PRIVATE_TARGETS for this, empty and
# off when deployed); one organization's webhook (SAM_FAILING_WEBHOOK_ORG, default
# org_demo_enterprise) points at a closed port, so that a stream batch has records that fail.
# Ports: SAM_MOTO_PORT (8002), SAM_RECEIVERS_PORT (9102), SAM_LAMBDA_PORT (3001, on 127.0.0.1).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MODE=${1:-}
[[ $MODE == test || $MODE == demo ]] || { echo "usage: scripts/sam-stack.sh test|demo (through scripts/sam-local.sh)" >&2; exit 2; }
HOST=${SAM_LOCAL_HOST_ADDRESS:?run through scripts/sam-local.sh, which sets SAM_LOCAL_HOST_ADDRESS}
# Where the servers listen: the bridge's address here; on a machine whose Docker reaches the
# host as host.docker.internal, the loopback address it forwards to.
BIND=${SAM_LOCAL_BIND_ADDRESS:-$HOST}
SAM_MOTO_PORT=${SAM_MOTO_PORT:-8002}
SAM_RECEIVERS_PORT=${SAM_RECEIVERS_PORT:-9102}
SAM_LAMBDA_PORT=${SAM_LAMBDA_PORT:-3001}
SAM_FAILING_WEBHOOK_ORG=${SAM_FAILING_WEBHOOK_ORG:-org_demo_enterprise}
TABLE=sam-events
BUILT="$ROOT/target/sam-build/template.yaml"
RUN_DIR="$ROOT/target/sam-stack"
[[ -f $BUILT ]] || { echo "sam-stack: no $BUILT: run sam build first (scripts/test.sh does)" >&2; exit 1; }
[[ -x $ROOT/target/debug/local-receivers ]] || { echo "sam-stack: no target/debug/local-receivers: cargo build -p tools --bin local-receivers" >&2; exit 1; }
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR"
trap stop_groups EXIT
# SAM hands the containers these credentials and region (moto accepts any), so that the
# SDK inside never looks for an instance role.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export SAM_CLI_TELEMETRY=0

log "sam local stack: moto server on $BIND:$SAM_MOTO_PORT, table $TABLE"
start_moto "$SAM_MOTO_PORT" "$RUN_DIR/moto.log" "$BIND"
"$VENV/bin/python" "$ROOT/scripts/create_table.py" "http://$BIND:$SAM_MOTO_PORT" "$TABLE"

# The demo organizations with their webhooks on the receivers the containers reach.
"$VENV/bin/python" - "$HOST:$SAM_RECEIVERS_PORT" "$HOST:$((SAM_RECEIVERS_PORT + 1))" "$SAM_FAILING_WEBHOOK_ORG" \
  >"$RUN_DIR/organizations.json" <<'PY'
import json, sys
receivers, closed, failing = sys.argv[1:]
orgs = json.load(open("infra/organizations/local.json"))
for org in orgs:
    integrations = org.get("integrations") or {}
    if "webhook_url" in integrations:
        integrations["webhook_url"] = f"http://{closed if org['id'] == failing else receivers}/webhook/{org['id']}"
json.dump(orgs, sys.stdout, indent=2)
PY
log "sam local stack: the local receivers on $BIND:$SAM_RECEIVERS_PORT (log: $RUN_DIR/receivers.jsonl)"
port_free "$SAM_RECEIVERS_PORT" "$BIND"
start_group "$RUN_DIR/receivers.jsonl" "$ROOT/target/debug/local-receivers" --address "$BIND" --port "$SAM_RECEIVERS_PORT" \
  --organizations "$RUN_DIR/organizations.json"
wait_port "$SAM_RECEIVERS_PORT" 30 "$BIND"

# events/env.json with the local stack's endpoints, for `--env-vars`.
"$VENV/bin/python" - "$HOST" "$SAM_MOTO_PORT" "$SAM_RECEIVERS_PORT" "$TABLE" >"$RUN_DIR/env.json" <<'PY'
import json, sys
host, moto, receivers, table = sys.argv[1:]
env = json.load(open("events/env.json"))
common = {"DYNAMODB_TABLE": table, "DYNAMODB_ENDPOINT": f"http://{host}:{moto}",
          "SUPABASE_URL": f"http://{host}:{receivers}", "SUPABASE_SERVICE_KEY": "local-service-key"}
# No collector tokens, as the in-process tests run the edge; fraud scoring observes (as in
# events/env.json): every sample comes from one client address into one table, which enforced
# scoring rightly blocks after a few.
env["EdgeFunction"].update(common, COLLECTOR_TOKEN_SECRET="")
env["ProcessorFunction"].update(common, GA4_ENDPOINT=f"http://{host}:{receivers}/mp/collect",
    PUSH_API_URL=f"http://{host}:{receivers}/push", PUSH_API_KEY="local-push-key",
    WEBHOOK_ALLOW_PRIVATE_TARGETS="true", WEBHOOK_ALLOWED_PORTS="any")
json.dump(env, sys.stdout, indent=2)
PY

if [[ $MODE == demo ]]; then
  for f in events/edge/function-url/track.json events/processor/stream-batch.json; do
    function=EdgeFunction
    [[ $f == events/processor/* ]] && function=ProcessorFunction
    log "sam local invoke $function -e $f (a cold container: the Lambda runtime interface emulator on the base image)"
    "$VENV/bin/sam" local invoke "$function" -t "$BUILT" -e "$f" --env-vars "$RUN_DIR/env.json" --skip-pull-image \
      >"$RUN_DIR/$function.json" 2>"$RUN_DIR/$function.log" ||
      { tail -n 20 "$RUN_DIR/$function.log" >&2; exit 1; }
    grep -E '^(START|REPORT)|"message"' "$RUN_DIR/$function.log" | tail -n 3 || true
    "$VENV/bin/python" - "$RUN_DIR/$function.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
if "statusCode" in answer:
    body = json.loads(answer["body"])
    print(f"answer: HTTP {answer['statusCode']}, request {body['requestId']}, visitor {body['identity']['visitorId']}"
          f" ({body['identity']['method']}), risk {body['risk']['level']} {body['risk']['score']}, stored {body['stored']}")
else:
    print(f"answer: {json.dumps(answer)}")
PY
  done
  log "what the receivers got from the sam local processor"
  grep '"receiver"' "$RUN_DIR/receivers.jsonl" | head -n 6
  exit 0
fi

log "sam local start-lambda on 127.0.0.1:$SAM_LAMBDA_PORT, warm containers (log: $RUN_DIR/start-lambda.log)"
port_free "$SAM_LAMBDA_PORT"
start_group "$RUN_DIR/start-lambda.log" "$VENV/bin/sam" local start-lambda -t "$BUILT" --host 127.0.0.1 --port "$SAM_LAMBDA_PORT" \
  --env-vars "$RUN_DIR/env.json" --skip-pull-image --warm-containers EAGER
wait_port "$SAM_LAMBDA_PORT" 180

log "cargo test: every events/ sample and a stream batch through sam local start-lambda (tests/tests/it/sam.rs)"
SAM_LAMBDA_ENDPOINT="http://127.0.0.1:$SAM_LAMBDA_PORT" SAM_MOTO_ENDPOINT="http://$BIND:$SAM_MOTO_PORT" SAM_TABLE=$TABLE \
  SAM_FAILING_WEBHOOK_ORG=$SAM_FAILING_WEBHOOK_ORG cargo test --workspace -- sam:: --test-threads 1
