#!/usr/bin/env bash
# The main job: sets up the machine, starts moto server, the local receivers (Supabase's
# REST subset, GA4, the demo webhooks, push) and both functions under `cargo lambda watch`,
# creates the table, drives the edge function with every sample in events/ (through
# `cargo lambda invoke`), prints the fraud-scoring quality report (through the backtesting CLI
# `score`), replays real traffic, then pumps the table's real stream through the processor
# (as the event source mapping would, honoring batchItemFailures), prints what the receivers
# got and what the processor recorded, loads a page embedding /h.js in headless Chromium through
# the local CloudFront (real TLS: Chromium's own JA4 reaches the edge) and prints what the edge
# stored for it (with a screenshot), runs real clients of this machine (curl, python-requests,
# Chromium, …) through a local CloudFront and prints how the edge scored each, then builds
# the template with `sam build` and shows one `sam local invoke` of each function in Docker
# (scripts/sam-local.sh, scripts/sam-stack.sh demo; skipped, saying why, on a machine with
# neither a usable Docker nor root), and stops everything it started.
#
# Ports: MOTO_PORT (default 8000, the one in functions/processor/Cargo.toml), LAMBDA_PORT
# (default 9000), RECEIVERS_PORT (9100, the one in functions/processor/Cargo.toml),
# CLOUDFRONT_PORT (the local CloudFront, default 8443) and WEBDRIVER_PORT (chromedriver, default
# 9516). REPLAY_COUNT sets the number of replayed requests (default 400).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"

MOTO_PORT=${MOTO_PORT:-8000}
LAMBDA_PORT=${LAMBDA_PORT:-9000}
RECEIVERS_PORT=9100
REPLAY_COUNT=${REPLAY_COUNT:-400}
WEBDRIVER_PORT=${WEBDRIVER_PORT:-9516}
CLOUDFRONT_PORT=${CLOUDFRONT_PORT:-8443}
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

log "starting the local receivers on 127.0.0.1:$RECEIVERS_PORT (log: $RUN_DIR/receivers.jsonl)"
port_free "$RECEIVERS_PORT"
start_group "$RUN_DIR/receivers.jsonl" "$ROOT/target/debug/local-receivers" --port "$RECEIVERS_PORT" \
  --record-webhooks "$RUN_DIR/webhooks.jsonl"
wait_port "$RECEIVERS_PORT" 30

log "starting cargo lambda watch on 127.0.0.1:$LAMBDA_PORT (log: $RUN_DIR/watch.log)"
port_free "$LAMBDA_PORT"
start_group "$RUN_DIR/watch.log" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
  --env-var "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB" --env-var "DYNAMODB_TABLE=$DYNAMODB_TABLE" \
  --env-var "DYNAMODB_ATTEMPT_TIMEOUT_MS=$MOTO_ATTEMPT_TIMEOUT_MS" --env-var "DYNAMODB_OPERATION_TIMEOUT_MS=$MOTO_OPERATION_TIMEOUT_MS"
wait_port "$LAMBDA_PORT" 120

log "starting the local CloudFront on https://localhost:$CLOUDFRONT_PORT in front of the edge (log: $RUN_DIR/local-cloudfront.log)"
start_local_cloudfront "$CLOUDFRONT_PORT" "http://127.0.0.1:$LAMBDA_PORT/lambda-url/edge" "$RUN_DIR/local-cloudfront.log"
cat "$RUN_DIR/local-cloudfront.log"

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

log "fraud scoring quality on real User-Agent lists and measured transports, through the backtesting CLI (docs/detection.md)"
QUALITY="$RUN_DIR/quality"
"$ROOT/target/debug/quality-corpus" "$QUALITY"
"$ROOT/target/debug/score" "$QUALITY/events.jsonl" >"$QUALITY/assessments.jsonl"
"$ROOT/target/debug/quality-report" "$QUALITY/labels.jsonl" "$QUALITY/assessments.jsonl"
"$ROOT/target/debug/score" --summary --quiet "$QUALITY/events.jsonl"

log "population replay: people and bots over simulated days through the edge pipeline in memory (docs/fraud-scoring.md)"
"$ROOT/target/debug/population-replay" --days 3

log "replaying $REPLAY_COUNT requests built from tools/data (real user agents and JA4 strings)"
"$ROOT/target/debug/replay" --endpoint "http://127.0.0.1:$LAMBDA_PORT" --count "$REPLAY_COUNT" \
  --table "$DYNAMODB_TABLE" --samples "$RUN_DIR/samples"

log "processing the table's stream: moto's real stream records, through the template's filter, to the processor"
"$ROOT/target/debug/stream-pump" --endpoint "$AWS_ENDPOINT_URL_DYNAMODB" --table "$DYNAMODB_TABLE" \
  --invoke "http://127.0.0.1:$LAMBDA_PORT" --batch-size 100 --idle-secs 3 --on-failure "$RUN_DIR/on-failure.jsonl"

log "invoking the processor with every sample in events/processor"
for f in events/processor/*.json; do
  out="$RUN_DIR/samples/processor-$(basename "$f")"
  if ! cargo lambda invoke processor --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
    --data-file "$f" --output-format json >"$out" 2>"$out.err"; then
    echo "cargo lambda invoke failed for $f:" >&2
    cat "$out.err" >&2
    exit 1
  fi
  echo "  $(basename "$f"): $(tr -d '\n ' <"$out")"
done

log "the Server API (docs/server-api.md): a backend verifies a request id, reads the visitor, labels the event, erases the visitor"
EDGE_URL="http://127.0.0.1:$LAMBDA_PORT/lambda-url/edge"
API_KEY="org_demo_enterprise.local-demo-server-api-key"
json_field() { "$VENV/bin/python" -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$1"; }
# A server-side login (the organization's backend forwards its end user: docs/api.md).
tracked=$(curl -sf -X POST "$EDGE_URL/t" -H 'Content-Type: application/json' \
  -H 'Authorization: Bearer local-demo-enterprise-server-key' \
  -d '{"organizationId":"org_demo_enterprise","event":"login","userId":"demo-user","fingerprint":"fpServerApiDemo01",
       "forwarded":{"ip":"198.51.100.44","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","acceptLanguage":"en-US"}}')
request_id=$(json_field requestId <<<"$tracked")
visitor_id=$(json_field identity.visitorId <<<"$tracked")
api() { curl -s -X "$1" "$EDGE_URL$2" -H "Authorization: Bearer $API_KEY" "${@:3}"; }
echo "  GET /v1/events/$request_id: $(api GET "/v1/events/$request_id" | "$VENV/bin/python" -c 'import json,sys; b=json.load(sys.stdin); e=b["event"]; print("visitor", e["visitor_id"], "method", e["identity"]["method"], "risk", e["risk"]["score"], e["risk"]["level"], "processing", "settled" if b["processing"] else "not yet")')"
echo "  GET /v1/visitors/$visitor_id: $(api GET "/v1/visitors/$visitor_id?limit=5" | "$VENV/bin/python" -c 'import json,sys; b=json.load(sys.stdin); print(len(b["events"]), "event(s), user ids", b["linked"]["userIds"], "fingerprints", b["linked"]["fingerprints"])')"
echo "  POST feedback: $(api POST "/v1/events/$request_id/feedback" -H 'Content-Type: application/json' -d '{"label":"fraud","reason":"demo chargeback"}')"
echo "  without the key: $(curl -s "$EDGE_URL/v1/events/$request_id")"
echo "  DELETE /v1/visitors/$visitor_id: $(api DELETE "/v1/visitors/$visitor_id")"
echo "  then GET /v1/events/$request_id: $(api GET "/v1/events/$request_id")"

log "what the local receivers got (each line of $RUN_DIR/receivers.jsonl is one request)"
python3 - "$RUN_DIR/receivers.jsonl" <<'PY'
import collections, json, sys
counts = collections.Counter()
examples = {}
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    kind = r["receiver"]
    if kind == "webhook":
        kind += " signatures " + ("valid" if r["impressio_signature"] == r["standard_signature"] == "valid" else "INVALID")
    elif kind == "ga4":
        kind += " credentials " + r["credentials"] + ", payload " + r["payload"]
    elif kind == "billing":
        kind += " duplicate key (ignored)" if r.get("duplicate") else ""
    elif kind == "push":
        kind += " authorized" if r["authorized"] else " UNAUTHORIZED"
    counts[kind] += 1
    examples.setdefault(r["receiver"], line.strip())
for k, v in sorted(counts.items()):
    print(f"  {v:5d}  {k}")
for k, line in sorted(examples.items()):
    print(f"  e.g. {line[:300]}")
PY

log "every webhook delivery, verified with the reference Standard Webhooks library (PyPI standardwebhooks)"
"$VENV/bin/python" "$ROOT/scripts/verify_webhooks.py" --organizations infra/organizations/local.json "$RUN_DIR/webhooks.jsonl"

log "a real browser: headless Chromium loads an HTTPS page embedding /h-pro.js from the edge behind the local CloudFront (chromedriver log: $RUN_DIR/chromedriver.log)"
ensure_chromium
start_chromedriver "$WEBDRIVER_PORT" "$RUN_DIR/chromedriver.log"
"$ROOT/target/debug/browser-demo" --edge "https://localhost:$CLOUDFRONT_PORT" --trust-spki "$LOCAL_CLOUDFRONT_SPKI" \
  --webdriver "http://127.0.0.1:$WEBDRIVER_PORT" --table "$DYNAMODB_TABLE" --screenshot "$RUN_DIR/browser.png"
echo "the page as Chromium rendered it: $RUN_DIR/browser.png"

log "real clients through a local CloudFront (one viewer network each): how the edge scores each tool and the browser"
"$ROOT/target/debug/real-clients" --origin "http://127.0.0.1:$LAMBDA_PORT/lambda-url/edge" \
  --webdriver "http://127.0.0.1:$WEBDRIVER_PORT" --table "$DYNAMODB_TABLE"

log "sam local invoke: the template's functions as sam build packages them, in Docker"
if [[ $(id -u) -ne 0 ]] && ! docker info >/dev/null 2>&1; then
  echo "skipped: no usable Docker here and not root (scripts/sam-local.sh starts a private dockerd only as root)"
else
  # Debug, as the test command builds it (a release build takes several more minutes).
  PATH="$VENV/bin:$PATH" SAM_BUILD_MODE=debug AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
    "$VENV/bin/sam" build --beta-features --build-dir "$ROOT/target/sam-build" --template template.yaml >"$RUN_DIR/sam-build.log" 2>&1 ||
    { tail -n 20 "$RUN_DIR/sam-build.log" >&2; exit 1; }
  stop_groups
  "$ROOT/scripts/sam-local.sh" "$ROOT/scripts/sam-stack.sh" demo
fi
