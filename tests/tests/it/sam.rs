//! The template's functions as `sam build` packaged them, run by `sam local start-lambda` in
//! Docker containers (`scripts/sam-stack.sh test`, run by the full test command through
//! `scripts/sam-local.sh`), against moto server and the local receivers on the Docker bridge:
//! every committed sample of `events/` with the same expected answers and stored items as the
//! in-process tests (`edge_samples`, `processor`), and one batch of the table's real stream
//! records through the processor with its `batchItemFailures` checked. Calls go through the
//! Lambda Invoke API that `start-lambda` serves (`POST /2015-03-31/functions/<name>/invocations`,
//! the API the AWS SDK's Lambda client calls).
//!
//! Settings (from `scripts/sam-stack.sh`): `SAM_LAMBDA_ENDPOINT` (start-lambda), `SAM_MOTO_ENDPOINT`
//! and `SAM_TABLE` (the table the functions write), `SAM_FAILING_WEBHOOK_ORG` (the organization
//! whose webhook URL points at a closed port). The glibc check needs only `target/sam-build`.

use std::collections::BTreeSet;

use impressio::processor::stage::{Stage, StageStatus};
use impressio::processor::state::ProcessingState;
use integration_tests::harness::{assert_edge_sample_answer, records_in, story_in, Answer};
use serde_json::{json, Value};
use tools::artifact::{glibc_versions_needed, AL2023_GLIBC};
use tools::workspace_root;

fn setting(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run these tests through scripts/sam-stack.sh test"))
}

#[test]
fn the_bootstraps_need_no_glibc_newer_than_amazon_linux_2023s() {
    for function in ["EdgeFunction", "ProcessorFunction"] {
        let path = workspace_root()
            .join("target/sam-build")
            .join(function)
            .join("bootstrap");
        let needed = glibc_versions_needed(&path).unwrap_or_else(|e| panic!("{e} (run sam build first)"));
        assert!(
            !needed.is_empty(),
            "{function}: links glibc dynamically, so it names versions"
        );
        let newest = needed.iter().max().copied().unwrap();
        println!("{function}: needs glibc {}.{} at most", newest.0, newest.1);
        assert!(
            newest <= AL2023_GLIBC,
            "{function}/bootstrap needs glibc {}.{}; the provided.al2023 runtime has {}.{}",
            newest.0,
            newest.1,
            AL2023_GLIBC.0,
            AL2023_GLIBC.1
        );
    }
}

/// Invokes a function of the template through start-lambda: the function's answer (the
/// Invoke API's 200 carries the handler's result, or its error object).
async fn invoke(function: &str, payload: &str) -> Value {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        setting("SAM_LAMBDA_ENDPOINT")
    );
    let response = reqwest::Client::new()
        .post(&url)
        .body(payload.to_string())
        .timeout(std::time::Duration::from_secs(120))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{function}: Invoke API answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{function} answered {text:?}: {e}"))
}

fn moto() -> aws_sdk_dynamodb::Client {
    tools::dynamo_client(&setting("SAM_MOTO_ENDPOINT"))
}

fn samples(dir: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(workspace_root().join(dir))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Every edge sample in both shapes, answered and stored as `edge_samples` expects in process;
/// then the stream records those events made, as one batch through the processor: the
/// records of the organization whose webhook is down are the batch item failures, the others
/// are processed and their processing items settled.
#[tokio::test]
async fn every_edge_sample_and_their_stream_batch_run_under_sam_local() {
    let client = moto();
    let table = setting("SAM_TABLE");
    let mut stored = Vec::new();
    for shape in ["function-url", "cloudfront"] {
        for (name, payload) in samples(&format!("events/edge/{shape}")) {
            let answer = Answer::from_value(&invoke("EdgeFunction", &payload).await);
            let records = records_in(&client, &table, &answer.request_id()).await;
            assert_edge_sample_answer(shape, &name, &answer, records.len());
            stored.extend(records);
        }
    }
    assert_eq!(
        stored.len(),
        8,
        "track, track-server-side, campaign and pixel in both shapes"
    );
    // The track sample as the in-process test reads it back (viewer metadata, the server-side
    // sample's forwarded end user): the same function code in its Lambda package.
    let track = stored.iter().find(|r| r.event_name == "page_view").unwrap();
    assert_eq!(track.organization_id, "org_demo_free");
    assert_eq!(track.context.ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(
        track.context.viewer.ja4.as_deref(),
        Some("t13d1516h2_8daaf6152771_02713d6af862")
    );
    let server_side = stored.iter().find(|r| r.server_side).unwrap();
    assert_eq!(server_side.server_ip.as_deref(), Some("192.0.2.44"));

    // The table's real stream (moto's), through the template's filter, as one batch.
    let ids: BTreeSet<&str> = stored.iter().map(|r| r.request_id.as_str()).collect();
    let mut reader = tools::stream::StreamReader::open(&setting("SAM_MOTO_ENDPOINT"), &table)
        .await
        .expect("the table's stream");
    let filters = tools::stream::template_filters().unwrap();
    let records: Vec<Value> = reader
        .drain()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| filters.iter().any(|f| tools::stream::matches_filter(f, r)))
        .filter(|r| {
            r.pointer("/dynamodb/NewImage/request_id/S")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.contains(id))
        })
        .collect();
    assert_eq!(records.len(), stored.len(), "one INSERT per stored event");
    let batch = tools::stream::batch(records);
    let failing_org = setting("SAM_FAILING_WEBHOOK_ORG");
    let org_of = |r: &Value| {
        r.pointer("/dynamodb/NewImage/organization_id/S")
            .and_then(Value::as_str)
            .map(String::from)
    };
    let expected_failures: BTreeSet<String> = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| org_of(r).as_deref() == Some(failing_org.as_str()))
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expected_failures.len(), 2, "the server-side sample in both shapes");
    let answer = invoke("ProcessorFunction", &batch.to_string()).await;
    let failures: BTreeSet<String> = answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failures, expected_failures, "{answer}");
    // What the processor recorded beside each event.
    for r in &stored {
        let state = processing_state(&client, &table, &r.request_id).await;
        if r.organization_id == failing_org {
            assert_eq!(
                state.status(Stage::Webhook),
                Some(StageStatus::Retryable),
                "{}",
                r.request_id
            );
            assert_eq!(state.unsettled(), vec![Stage::Webhook]);
        } else {
            assert!(state.complete(), "{}: {:?}", r.organization_id, state.statuses());
        }
        assert_eq!(
            state.status(Stage::Billing),
            Some(StageStatus::Done),
            "{}",
            r.organization_id
        );
    }
    let starter = stored.iter().find(|r| r.organization_id == "org_demo_starter").unwrap();
    let state = processing_state(&client, &table, &starter.request_id).await;
    assert_eq!(
        state.status(Stage::Webhook),
        Some(StageStatus::Done),
        "delivered to the receivers"
    );
}

/// The processing item the processor keeps beside the event of `request_id`.
async fn processing_state(client: &aws_sdk_dynamodb::Client, table: &str, request_id: &str) -> ProcessingState {
    let item = story_in(client, table, request_id)
        .await
        .into_iter()
        .find(|i| i.get("item_type").and_then(|t| t.as_s().ok()).map(String::as_str) == Some("processing"))
        .unwrap_or_else(|| panic!("{request_id}: no processing item"));
    serde_dynamo::from_item(item).expect("a processing item")
}

/// Every processor sample, answered as the in-process test expects: the real moto batch
/// processed (its event's processing item settled), the undecodable records skipped without
/// failing the batch, a payload that is no stream event answered with no failures.
#[tokio::test]
async fn every_processor_sample_runs_under_sam_local() {
    let client = moto();
    let table = setting("SAM_TABLE");
    let mut seen = 0;
    for (name, payload) in samples("events/processor") {
        let answer = invoke("ProcessorFunction", &payload).await;
        assert_eq!(answer, json!({"batchItemFailures": []}), "{name}");
        seen += 1;
    }
    assert_eq!(seen, 3);
    // The batch's event (an INSERT of org_demo_pro's) has its processing item, every stage
    // settled: billed, GA4 and the webhook delivered to the receivers.
    let batch: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("events/processor/stream-batch.json")).unwrap(),
    )
    .unwrap();
    let request_id = batch
        .pointer("/Records/0/dynamodb/NewImage/request_id/S")
        .and_then(Value::as_str)
        .unwrap();
    let state = processing_state(&client, &table, request_id).await;
    assert!(state.complete(), "{:?}", state.statuses());
    for stage in [Stage::Billing, Stage::Ga4, Stage::Webhook] {
        assert_eq!(state.status(stage), Some(StageStatus::Done), "{}", stage.name());
    }
}
