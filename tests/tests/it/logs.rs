//! The JSON log lines of both functions, as the production subscriber writes them (captured
//! in memory): every line written while handling an edge request carries its request id, and
//! every line of a processor batch the Lambda invocation's id; none carries an IP address, a
//! User-Agent, a user id or an e-mail address.
//!
//! The tests of this file run one at a time. `tracing` decides whether a log call is wanted the
//! first time it runs and caches the answer; when a test on another thread of this binary runs
//! that call for the first time while the capturing subscriber is being installed, the cached
//! answer can miss it (a known race of `tracing-core`'s callsite registry). So each test first
//! runs its request once without capturing, which registers every call on that path, and only
//! then installs the subscriber (which recomputes the answers of every registered call) and
//! runs the request it checks.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use impressio::clock::FixedClock;
use impressio::event::{DynamoEventStore, EventStore};
use impressio::event::{EventRecord, Route, ServerContext, TrackPayload};
use impressio::metrics::Metrics;
use impressio::org::local::LocalDirectory;
use impressio::org::supabase::SupabaseClient;
use impressio::org::tiered::TierConfig;
use impressio::org::{AnySource, TieredDirectory};
use impressio::processor::config::ProcessorConfig;
use impressio::processor::outbound::{OutboundPolicy, SystemResolver};
use impressio::processor::pipeline::Processor;
use impressio::processor::store::DynamoProcessorStore;
use integration_tests::harness::{cloudfront_track, Harness, CHROME_HEADERS, PYTHON_JA4, TEST_NOW_MS};
use serde_json::{json, Value};
use tools::stream::{batch, StreamReader};
use tools::table::TableDefinition;
use tools::{dynamo_client, moto_endpoint, unique_table_name};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_IP: &str = "198.51.100.7";
const USER_ID: &str = "alice@example.com";

/// One test at a time (see the module documentation).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A log writer into memory.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// The production subscriber at `info`, writing to memory, as this thread's default (the
/// runtime of `tokio::test` runs every task on this thread) until the guard is dropped.
fn capture() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let guard = tracing::subscriber::set_default(impressio::logging::json_subscriber("info", move || writer.clone()));
    (logs, guard)
}

/// Fails when `line` holds the client's IP, User-Agent, user id or fingerprint.
fn assert_nothing_personal(line: &str) {
    let user_agent = CHROME_HEADERS.iter().find(|(k, _)| *k == "User-Agent").unwrap().1;
    for personal in [CLIENT_IP, user_agent, "Chrome/131", USER_ID, "fpLogsTest01"] {
        assert!(!line.contains(personal), "{personal:?} logged: {line}");
    }
}

fn track(headers: &[(&str, &str)], body: Value) -> String {
    cloudfront_track(CLIENT_IP, headers, &body)
}

fn body(event: &str) -> Value {
    json!({"organizationId": "org_demo_pro", "event": event, "fingerprint": "fpLogsTest01", "userId": USER_ID})
}

#[tokio::test]
async fn every_log_line_of_an_edge_request_carries_its_request_id_and_nothing_personal() {
    let _serial = SERIAL.lock().await;
    // The same two requests on a table of their own register every log call of the path.
    let warm = Harness::new().await;
    assert_eq!(warm.invoke(&track(&[PYTHON_JA4], body("signup"))).await.status, 403);
    assert_eq!(warm.invoke(&track(&[], body("login"))).await.status, 429);
    let h = Harness::new().await;
    let (logs, guard) = capture();
    let blocked = h.invoke(&track(&[PYTHON_JA4], body("signup"))).await;
    assert_eq!(blocked.status, 403);
    let again = h.invoke(&track(&[], body("login"))).await;
    assert_eq!(again.status, 429);
    drop(guard);

    let lines = logs.lines();
    let mut seen = HashSet::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let id = v["span"]["request_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no request id: {line}"));
        assert!(id == blocked.request_id() || id == again.request_id(), "{line}");
        seen.insert((
            id.to_string(),
            v["fields"]["message"].as_str().unwrap_or("").to_string(),
        ));
        assert_nothing_personal(line);
    }
    for (id, message) in [
        (blocked.request_id(), "identifiers blacklisted"),
        (blocked.request_id(), "request refused"),
        (blocked.request_id(), "request answered"),
        (again.request_id(), "blacklisted"),
        (again.request_id(), "request answered"),
    ] {
        assert!(
            seen.contains(&(id.clone(), message.to_string())),
            "{message} of {id} in {lines:#?}"
        );
    }
    // The blacklist hit says which kind of identifier matched, not its value.
    let hit: Value = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["fields"]["message"] == "blacklisted")
        .unwrap();
    assert!(
        ["fingerprint", "ip", "ja4", "ja4_network", "visitor"].contains(&hit["fields"]["identifier"].as_str().unwrap()),
        "{hit}"
    );
    assert_eq!(hit["fields"]["detection_type"], "ja4_mismatch");
}

#[tokio::test]
async fn every_log_line_of_a_processor_batch_carries_the_invocation_id_and_nothing_personal() {
    let _serial = SERIAL.lock().await;
    let endpoint = moto_endpoint();
    let dynamo = dynamo_client(&endpoint);
    let table = unique_table_name("logs");
    TableDefinition::load().unwrap().create(&dynamo, &table).await.unwrap();
    let mut reader = StreamReader::open(&endpoint, &table).await.unwrap();
    // The organization's webhook fails: the record is reported for retry, and says so.
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&mock)
        .await;
    let orgs = json!([{"id": "org_logs", "plan": "pro", "domains": ["shop.example"], "integrations": {
        "webhook_url": format!("{}/hooks", mock.uri()), "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}]);
    let clock = std::sync::Arc::new(FixedClock::at(TEST_NOW_MS));
    let processor = Processor {
        store: DynamoProcessorStore::new(dynamo.clone(), table.clone()),
        sketches: impressio::behavior::sketch_writer::DynamoSketchWriter::new(dynamo.clone(), table.clone()),
        directory: TieredDirectory::new(
            AnySource::Local(LocalDirectory::from_json(&orgs.to_string()).unwrap()),
            None,
            clock.clone(),
            TierConfig::default(),
        ),
        billing: None::<SupabaseClient>,
        http: reqwest::Client::new(),
        resolver: SystemResolver,
        config: ProcessorConfig {
            table_name: table.clone(),
            // The receiver listens on 127.0.0.1.
            outbound: OutboundPolicy::local(),
            ..ProcessorConfig::from_lookup(|_| None).unwrap()
        },
        clock,
        metrics: Metrics::in_memory("Impressio").0,
    };
    let valid = TrackPayload {
        organization_id: Some("org_logs".into()),
        event: Some("login".into()),
        fingerprint: Some("fpLogsTest01".into()),
        user_id: Some(USER_ID.into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let context = ServerContext {
        ip: Some(CLIENT_IP.into()),
        user_agent: Some(CHROME_HEADERS[3].1.into()),
        ..ServerContext::default()
    };
    let record = EventRecord::new("rid-logs-1", Route::Track, valid, None, context, TEST_NOW_MS, 30);
    DynamoEventStore::new(dynamo.clone(), table.clone())
        .put_event(&record, None)
        .await
        .unwrap();
    let records = reader.drain().await.unwrap();
    assert_eq!(records.len(), 1);

    // The first delivery registers every log call of the path; the capture checks its retry
    // (the webhook still fails, so the retry takes the same path).
    let first = processor.handle(batch(records.clone()), "aws-request-logs-0").await;
    assert_eq!(first.batch_item_failures.len(), 1);
    let (logs, guard) = capture();
    let response = processor.handle(batch(records), "aws-request-logs-1").await;
    drop(guard);
    assert_eq!(response.batch_item_failures.len(), 1);

    let lines = logs.lines();
    let mut messages = Vec::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(v["span"]["name"], "batch", "{line}");
        assert_eq!(v["span"]["aws_request_id"], "aws-request-logs-1", "{line}");
        assert_eq!(v["span"]["records"], 1, "{line}");
        assert_nothing_personal(line);
        messages.push(v["fields"]["message"].as_str().unwrap_or("").to_string());
    }
    for expected in ["record reported for retry", "stream batch processed"] {
        assert!(messages.iter().any(|m| m == expected), "{expected} in {lines:#?}");
    }
}

/// A Function URL `POST /t` with `headers` as given (values may hold any character).
fn function_url_with(headers: &[(&str, &str)]) -> String {
    let h: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    json!({"version": "2.0", "routeKey": "$default", "rawPath": "/t", "rawQueryString": "", "headers": h,
        "requestContext": {"accountId": "anonymous", "apiId": "x", "domainName": "x.lambda-url.us-east-1.on.aws",
            "domainPrefix": "x", "http": {"method": "POST", "path": "/t", "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9", "userAgent": "t"}, "requestId": "r", "routeKey": "$default",
            "stage": "$default", "time": "18/Nov/2026:11:06:40 +0000", "timeEpoch": 0},
        "body": body("page_view").to_string(), "isBase64Encoded": false})
    .to_string()
}

#[tokio::test]
async fn a_malformed_credential_header_is_named_never_echoed_in_both_shapes() {
    let _serial = SERIAL.lock().await;
    const SECRET: &str = "org_demo_pro.SeCrEtKeYbYtEs0123456789";
    let h = Harness::new().await;
    let cases: Vec<(&str, String)> = vec![
        ("Authorization", format!("Bearer {SECRET}\u{0}x")),
        ("Cookie", format!("_impdp={SECRET}\u{0}x")),
        ("X-Origin-Verify", format!("{SECRET}\u{7}\u{0}")),
    ];
    let payloads = |name: &str, value: &str| {
        [
            (
                "function_url",
                function_url_with(&[(name, value), ("Content-Type", "application/json")]),
            ),
            ("cloudfront", track(&[(name, value)], body("page_view"))),
        ]
    };
    // Every log call of the path registered first (see the module documentation).
    for (name, value) in &cases {
        for (_, p) in payloads(name, value) {
            h.invoke(&p).await;
        }
    }
    let (logs, guard) = capture();
    let mut answers = Vec::new();
    for (name, value) in &cases {
        for (shape, p) in payloads(name, value) {
            answers.push((shape, *name, h.invoke(&p).await));
        }
    }
    drop(guard);
    let lines = logs.lines();
    assert!(lines.iter().any(|l| l.contains("malformed_event")), "{lines:#?}");
    for (shape, name, a) in &answers {
        let text = String::from_utf8_lossy(&a.body).to_string();
        assert_eq!(a.status, 400, "{shape} {name}: {text}");
        assert_eq!(a.json()["error"], "malformed_event", "{shape} {name}: {text}");
        let message = a.json()["message"].as_str().unwrap().to_ascii_lowercase();
        assert!(
            message.contains(&name.to_ascii_lowercase()),
            "{shape}: names the header: {message}"
        );
        for piece in ["SeCrEtKeYbYtEs", "0123456789", "org_demo_pro.", "\\u0000"] {
            assert!(!text.contains(piece), "{shape} {name}: {piece} in the answer: {text}");
            for line in &lines {
                assert!(!line.contains(piece), "{shape} {name}: {piece} logged: {line}");
            }
        }
    }
}
