//! The stream processor against moto server's real table and stream, with `wiremock` standing
//! in for Supabase, GA4, the organizations' webhooks and the push endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use impressio::clock::Clock;
use impressio::clock::FixedClock;
use impressio::config::{DirectoryConfig, Secret};
use impressio::event::{DynamoEventStore, EventStore};
use impressio::event::{EventRecord, Route, ServerContext, TrackPayload};
use impressio::fraud::composite::combine;
use impressio::fraud::{Component, ComponentResult, FraudConfig};
use impressio::metrics::Metrics;
use impressio::org::local::LocalDirectory;
use impressio::org::supabase::{SupabaseClient, SupabaseConfig, PROCESSOR_COLUMNS};
use impressio::org::tiered::TierConfig;
use impressio::org::{AnySource, TieredDirectory};
use impressio::processor::config::{DetectionConfig, ProcessorConfig, PushConfig};
use impressio::processor::outbound::{OutboundPolicy, Resolve};
use impressio::processor::pipeline::Processor;
use impressio::processor::stage::StageStatus;
use impressio::processor::state::ProcessingState;
use impressio::processor::store::DynamoProcessorStore;
use impressio::processor::webhook_signature::{verify_impressio, WebhookSecret};
use integration_tests::harness::TEST_NOW_MS;
use serde_json::{json, Value};
use tools::stream::{batch, sequence_numbers, StreamReader};
use tools::table::TableDefinition;
use tools::{dynamo_client, moto_endpoint, unique_table_name};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PARIS: (f64, f64) = (48.8566, 2.3522);
const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
const VERSAILLES: (f64, f64) = (48.8049, 2.1204);
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The secret being rotated out (the key "the previous key of org a 12345").
const OLD_SECRET: &str = "whsec_dGhlIHByZXZpb3VzIGtleSBvZiBvcmcgYSAxMjM0NQ==";
const SECRET_B: &str = "whsec_b3JnIGIncyB3ZWJob29rIGtleSBvZiAyOSBieXRlcw";

/// Names resolved to chosen addresses (a DNS answer pointing at a private address).
struct MapResolver(HashMap<String, std::net::IpAddr>);

impl Resolve for MapResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        match self.0.get(host) {
            Some(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
            // A resolver that does not answer (EAI_AGAIN): may pass later.
            None if host.starts_with("dns-timeout.") => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "Temporary failure in name resolution",
            )),
            // NXDOMAIN, as `SystemResolver` reports it.
            None => Err(std::io::Error::new(std::io::ErrorKind::NotFound, host.to_string())),
        }
    }
}

type TestProcessor = Processor<DynamoProcessorStore, AnySource, SupabaseClient, MapResolver>;

struct Fx {
    table: String,
    dynamo: aws_sdk_dynamodb::Client,
    events: DynamoEventStore,
    reader: StreamReader,
    mock: MockServer,
}

async fn fixture() -> Fx {
    let endpoint = moto_endpoint();
    let dynamo = dynamo_client(&endpoint);
    let table = unique_table_name("processor");
    TableDefinition::load().unwrap().create(&dynamo, &table).await.unwrap();
    let reader = StreamReader::open(&endpoint, &table).await.unwrap();
    Fx {
        events: DynamoEventStore::new(dynamo.clone(), table.clone()),
        table,
        dynamo,
        reader,
        mock: MockServer::start().await,
    }
}

/// Two organizations: `org_a` with GA4 and a webhook, `org_b` with a webhook (an unpadded
/// secret) and no GA4.
fn orgs(uri: &str) -> String {
    json!([
        {"id": "org_a", "plan": "pro", "domains": ["shop.example"], "integrations": {
            "ga4_measurement_id": "G-TEST123", "ga4_api_secret": "ga4-api-secret",
            "webhook_url": format!("{uri}/hooks/a"), "webhook_secret": SECRET_A}},
        {"id": "org_b", "plan": "starter", "domains": ["shop.example"], "integrations": {
            "webhook_url": format!("{uri}/hooks/b"), "webhook_secret": SECRET_B}},
    ])
    .to_string()
}

fn config(fx: &Fx, allow_private: bool) -> ProcessorConfig {
    let uri = fx.mock.uri();
    ProcessorConfig {
        table_name: fx.table.clone(),
        directory: DirectoryConfig::default(),
        ga4_endpoint: format!("{uri}/mp/collect"),
        ga4_timeout_ms: 2000,
        push: Some(PushConfig {
            url: format!("{uri}/push"),
            key: Secret::new("push-key"),
            timeout_ms: 2000,
        }),
        // Any port: the receivers listen on wiremock's; the port rule is unit-tested.
        outbound: OutboundPolicy {
            allow_private,
            ports: None,
        },
        concurrency: 32,
        detection: DetectionConfig::default(),
        metrics_namespace: impressio::metrics::DEFAULT_NAMESPACE.to_string(),
        dynamodb_timeouts: Default::default(),
        dynamodb_endpoint: None,
    }
}

fn supabase(fx: &Fx) -> SupabaseClient {
    SupabaseClient::new(SupabaseConfig {
        url: fx.mock.uri(),
        service_key: Secret::new("service-key"),
        timeout_ms: 2000,
    })
    .unwrap()
}

fn processor_with(fx: &Fx, source: AnySource, allow_private: bool, resolver: MapResolver) -> TestProcessor {
    processor_on_clock(
        fx,
        source,
        allow_private,
        resolver,
        Arc::new(FixedClock::at(TEST_NOW_MS + 25 * HOUR)),
    )
}

fn processor_on_clock(
    fx: &Fx,
    source: AnySource,
    allow_private: bool,
    resolver: MapResolver,
    clock: Arc<dyn impressio::clock::Clock>,
) -> TestProcessor {
    Processor {
        store: DynamoProcessorStore::new(fx.dynamo.clone(), fx.table.clone()),
        sketches: impressio::behavior::sketch_writer::DynamoSketchWriter::new(fx.dynamo.clone(), fx.table.clone()),
        directory: TieredDirectory::new(source, None, clock.clone(), TierConfig::default()),
        billing: Some(supabase(fx)),
        http: reqwest::Client::new(),
        resolver,
        config: config(fx, allow_private),
        clock,
        // Kept in memory, off the test output; a test that reads them puts its own.
        metrics: Metrics::in_memory(impressio::metrics::DEFAULT_NAMESPACE).0,
    }
}

fn processor(fx: &Fx) -> TestProcessor {
    let local = LocalDirectory::from_json(&orgs(&fx.mock.uri())).unwrap();
    processor_with(fx, AnySource::Local(local), true, MapResolver(HashMap::new()))
}

/// An event of `org` by `user` (or, without one, by the visitor of `fingerprint`), seen at
/// `place` (latitude, longitude, country) at `ts`.
fn event(org: &str, user: Option<&str>, fingerprint: &str, place: Option<((f64, f64), &str)>, ts: i64) -> EventRecord {
    let valid = TrackPayload {
        organization_id: Some(org.into()),
        event: Some("login".into()),
        url: Some("https://shop.example/login".into()),
        fingerprint: Some(fingerprint.into()),
        user_id: user.map(String::from),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let mut ctx = ServerContext::default();
    if let Some(((lat, lon), country)) = place {
        ctx.viewer.latitude = Some(lat);
        ctx.viewer.longitude = Some(lon);
        ctx.viewer.country = Some(country.into());
    }
    let mut r = EventRecord::new(
        &uuid::Uuid::now_v7().to_string(),
        Route::Track,
        valid,
        None,
        ctx,
        ts,
        30,
    );
    r.visitor_id = Some(format!("visitor-{fingerprint}"));
    if r.gsi_user_pk.is_none() {
        r.gsi_user_pk = Some(impressio::schema::visitor_index_pk(
            org,
            &format!("visitor-{fingerprint}"),
        ));
    }
    r
}

fn with_risk(mut r: EventRecord, score: f64) -> EventRecord {
    let mut layer = ComponentResult::default();
    // A positive reason: anomalies alone stop at the top of medium.
    layer.add("headless_user_agent", score, "set by the test");
    r.risk = Some(combine([(Component::Headless, 1.0, layer)], &FraudConfig::default()));
    r
}

impl Fx {
    async fn put(&self, events: &[EventRecord]) {
        for e in events {
            self.events.put_event(e, None).await.unwrap();
        }
    }

    /// Changes a stored event: a MODIFY record on the stream.
    async fn modify(&self, e: &EventRecord) {
        self.dynamo
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(e.pk.clone()))
            .key("sk", AttributeValue::S("EVENT".into()))
            .update_expression("SET note = :n")
            .expression_attribute_values(":n", AttributeValue::S("edited".into()))
            .send()
            .await
            .unwrap();
    }

    /// Stores an item of another type (identity, blacklist, …).
    async fn put_other(&self, pk: &str, sk: &str, item_type: &str) {
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S(sk.into()))
            .item("item_type", AttributeValue::S(item_type.into()))
            .send()
            .await
            .unwrap();
    }

    /// Everything new on the stream, as Lambda would deliver it.
    async fn stream(&mut self) -> Vec<Value> {
        self.reader.drain().await.unwrap()
    }

    async fn state(&self, e: &EventRecord) -> ProcessingState {
        let item = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(e.pk.clone()))
            .key("sk", AttributeValue::S(impressio::schema::PROCESSING_SK.into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_else(|| panic!("no processing item for {}", e.pk));
        serde_dynamo::from_item(item).unwrap()
    }

    async fn requests(&self, p: &str) -> Vec<Request> {
        self.mock
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == p)
            .collect()
    }
}

async fn mount_all_ok(mock: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/rest/v1/rpc/increment_events_this_month"))
        .respond_with(ResponseTemplate::new(200).set_body_json(1))
        .mount(mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/mp/collect"))
        .respond_with(ResponseTemplate::new(204))
        .mount(mock)
        .await;
    for p in ["/hooks/a", "/hooks/b", "/push"] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(202))
            .mount(mock)
            .await;
    }
}

fn body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn header_of<'a>(r: &'a Request, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The records from the one with `seq` to the end: what Lambda sends again after a batch
/// item failure.
fn from_sequence(records: &[Value], seq: &str) -> Vec<Value> {
    let i = records
        .iter()
        .position(|r| r["dynamodb"]["SequenceNumber"] == seq)
        .unwrap();
    records[i..].to_vec()
}

#[tokio::test]
async fn a_batch_of_100_reports_only_the_failed_webhook_and_its_retry_redoes_only_that() {
    let mut fx = fixture().await;
    let events: Vec<EventRecord> = (0..99)
        .map(|i| {
            let org = if i < 60 { "org_a" } else { "org_b" };
            event(
                org,
                Some(&format!("user-{i}")),
                &format!("fp{i}"),
                Some((PARIS, "FR")),
                TEST_NOW_MS + i * 1000,
            )
        })
        .collect();
    let failing = events[42].clone();
    fx.put(&events[..50]).await;
    // An event item the processor cannot decode (its required fields are missing).
    fx.dynamo
        .put_item()
        .table_name(&fx.table)
        .item("pk", AttributeValue::S("REQ#undecodable".into()))
        .item("sk", AttributeValue::S("EVENT".into()))
        .item("item_type", AttributeValue::S("event".into()))
        .item("ts", AttributeValue::S("not a number".into()))
        .send()
        .await
        .unwrap();
    fx.put(&events[50..]).await;
    let records = fx.stream().await;
    assert_eq!(records.len(), 100);

    Mock::given(method("POST"))
        .and(path("/hooks/a"))
        .and(header("webhook-id", failing.event_id.as_str()))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .mount(&fx.mock)
        .await;
    mount_all_ok(&fx.mock).await;
    let p = processor(&fx);
    let report = p.process(&batch(records.clone())).await;
    let failing_seq = records
        .iter()
        .find(|r| r["dynamodb"]["NewImage"]["event_id"]["S"] == failing.event_id.as_str())
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(report.failures, vec![failing_seq.clone()], "{report:?}");
    assert_eq!((report.received, report.undecodable, report.processed), (100, 1, 99));
    let response = serde_json::to_value(p.handle(batch(vec![]), "aws-request-1").await).unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));

    // One billing call per organization, with the amount and an idempotency key.
    let rpc = fx.requests("/rest/v1/rpc/increment_events_this_month").await;
    assert_eq!(rpc.len(), 2);
    let mut amounts: Vec<(String, u64)> = rpc
        .iter()
        .map(|r| {
            let b = body(r);
            assert!(b["idempotency_key"].as_str().unwrap().starts_with("events:"));
            (
                b["org_uuid"].as_str().unwrap().to_string(),
                b["amount"].as_u64().unwrap(),
            )
        })
        .collect();
    amounts.sort();
    assert_eq!(amounts, vec![("org_a".to_string(), 60), ("org_b".to_string(), 39)]);
    assert_eq!(header_of(&rpc[0], "apikey"), "service-key");
    assert_eq!(fx.requests("/mp/collect").await.len(), 60);
    assert_eq!(fx.requests("/hooks/a").await.len(), 60);
    assert_eq!(fx.requests("/hooks/b").await.len(), 39);

    let s = fx.state(&failing).await;
    assert_eq!(s.webhook.as_ref().unwrap().status, StageStatus::Retryable);
    assert_eq!(s.webhook.as_ref().unwrap().http_status, Some(500));
    assert_eq!(s.billing.as_ref().unwrap().outcome.status, StageStatus::Done);
    assert_eq!(s.ga4.as_ref().unwrap().status, StageStatus::Done);

    // Lambda sends the batch again from the failed record on; the webhook is fixed now.
    fx.mock.reset().await;
    mount_all_ok(&fx.mock).await;
    let retry = from_sequence(&records, &failing_seq);
    let report = p.process(&batch(retry.clone())).await;
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.processed, 1);
    assert_eq!(report.already_complete, retry.len() - 1 - report.undecodable);
    assert_eq!(report.billing_calls, 0);
    assert!(fx.requests("/rest/v1/rpc/increment_events_this_month").await.is_empty());
    assert!(fx.requests("/mp/collect").await.is_empty());
    let hooks = fx.requests("/hooks/a").await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(header_of(&hooks[0], "webhook-id"), failing.event_id);
    assert!(fx.requests("/hooks/b").await.is_empty());
    let s = fx.state(&failing).await;
    let webhook = s.webhook.unwrap();
    assert_eq!((webhook.status, webhook.attempts), (StageStatus::Done, 2));
    assert_eq!(s.rounds, 2);
}

/// The sum of the values of `name` under exactly `dims` among `points`, and how many values.
fn metric(points: &[impressio::metrics::Datapoints], name: &str, dims: &[(&str, &str)]) -> (f64, usize) {
    let want: std::collections::BTreeMap<String, String> =
        dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let values: Vec<f64> = points
        .iter()
        .filter(|p| p.name == name && p.dimensions == want)
        .flat_map(|p| p.values.iter().copied())
        .collect();
    (values.iter().sum(), values.len())
}

#[tokio::test]
async fn each_batch_writes_its_stage_outcomes_latencies_and_failures_as_emf_lines() {
    let mut fx = fixture().await;
    let events = vec![
        event("org_a", Some("user-m1"), "fpm1", None, TEST_NOW_MS),
        event("org_a", Some("user-m2"), "fpm2", None, TEST_NOW_MS + 1),
        event("org_b", Some("user-m3"), "fpm3", None, TEST_NOW_MS + 2),
    ];
    fx.put(&events).await;
    let records = fx.stream().await;
    // org_b's webhook fails this time.
    Mock::given(method("POST"))
        .and(path("/hooks/b"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&fx.mock)
        .await;
    mount_all_ok(&fx.mock).await;
    let mut p = processor(&fx);
    let (metrics, sink) = Metrics::in_memory("Impressio");
    p.metrics = metrics;

    let report = p.process(&batch(records.clone())).await;
    assert_eq!(report.failures.len(), 1, "{report:?}");
    let points = sink.datapoints();
    assert!(points
        .iter()
        .all(|pt| pt.namespace == "Impressio" && pt.timestamp_ms == TEST_NOW_MS + 25 * HOUR));
    assert_eq!(metric(&points, "BatchItemFailures", &[]), (1.0, 1));
    let outcome =
        |stage: &str, outcome: &str| metric(&points, "StageOutcomes", &[("Stage", stage), ("Outcome", outcome)]).0;
    for (stage, result, n) in [
        ("billing", "done", 3.0),
        ("ga4", "done", 2.0),
        // org_b has no GA4 property.
        ("ga4", "skipped", 1.0),
        ("webhook", "done", 2.0),
        ("webhook", "retryable", 1.0),
        // No locations on these events.
        ("travel", "skipped", 3.0),
        ("sharing", "done", 3.0),
        // No risk, travel or sharing worth an alert.
        ("alert", "skipped", 3.0),
    ] {
        assert_eq!(outcome(stage, result), n, "{stage} {result}: {points:?}");
    }
    assert_eq!(
        points
            .iter()
            .filter(|pt| pt.name == "StageOutcomes")
            .map(|pt| pt.values[0])
            .sum::<f64>(),
        18.0,
        "6 stages of 3 records, each counted once"
    );
    // One billing call per organization, one delivery per record; each timed.
    let billing: Vec<f64> = points
        .iter()
        .filter(|pt| pt.name == "BillingLatency")
        .flat_map(|pt| pt.values.clone())
        .collect();
    assert_eq!(billing.len(), report.billing_calls);
    assert_eq!(billing.len(), 2);
    let webhooks: Vec<f64> = points
        .iter()
        .filter(|pt| pt.name == "WebhookLatency")
        .flat_map(|pt| pt.values.clone())
        .collect();
    assert_eq!(webhooks.len(), 3);
    assert!(
        billing.iter().chain(&webhooks).all(|ms| *ms > 0.0),
        "{billing:?} {webhooks:?}"
    );
    for pt in points.iter().filter(|pt| pt.name.ends_with("Latency")) {
        assert_eq!(pt.unit.as_deref(), Some("Milliseconds"));
        assert!(pt.dimensions.is_empty());
    }
    // No personal data in the lines.
    for line in sink.lines() {
        for personal in ["user-m1", "fpm1", "org_a"] {
            assert!(!line.contains(personal), "{personal} in {line}");
        }
    }

    // The retry redoes the webhook only: only it is counted, and nothing is billed.
    sink.clear();
    let failed = from_sequence(&records, &report.failures[0]);
    let report = p.process(&batch(failed[..1].to_vec())).await;
    assert!(report.failures.is_empty(), "{report:?}");
    let points = sink.datapoints();
    assert_eq!(metric(&points, "BatchItemFailures", &[]), (0.0, 1));
    let counted: Vec<(String, String, f64)> = points
        .iter()
        .filter(|pt| pt.name == "StageOutcomes")
        .map(|pt| {
            (
                pt.dimensions["Stage"].clone(),
                pt.dimensions["Outcome"].clone(),
                pt.values[0],
            )
        })
        .collect();
    assert_eq!(counted, [("webhook".to_string(), "done".to_string(), 1.0)]);
    assert_eq!(metric(&points, "BillingLatency", &[]).1, 0);
    assert_eq!(metric(&points, "WebhookLatency", &[]).1, 1);
}

#[tokio::test]
async fn a_retried_billing_key_keeps_its_amount_whatever_subset_comes_back() {
    let mut fx = fixture().await;
    let events: Vec<EventRecord> = (0..4)
        .map(|i| event("org_a", None, &format!("fpb{i}"), None, TEST_NOW_MS + i))
        .collect();
    fx.put(&events).await;
    let records = fx.stream().await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/rpc/increment_events_this_month"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&fx.mock)
        .await;
    mount_all_ok(&fx.mock).await;
    let p = processor(&fx);

    // Supabase is down: every record is retried, but the key was recorded first.
    let report = p.process(&batch(records.clone())).await;
    assert_eq!(report.failures, sequence_numbers(&batch(records.clone())));
    // Retried in halves (as BisectBatchOnFunctionError or a partial retry would), plus a new
    // event beside the second half.
    let report = p.process(&batch(records[2..].to_vec())).await;
    assert!(report.failures.is_empty(), "{report:?}");
    let newcomer = event("org_a", None, "fpb-new", None, TEST_NOW_MS + 10);
    fx.put(std::slice::from_ref(&newcomer)).await;
    let mut third = records[..2].to_vec();
    third.extend(fx.stream().await);
    let report = p.process(&batch(third)).await;
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.billing_calls, 2);

    let calls: Vec<Value> = fx
        .requests("/rest/v1/rpc/increment_events_this_month")
        .await
        .iter()
        .map(body)
        .collect();
    assert_eq!(calls.len(), 4, "{calls:?}");
    let first_key = calls[0]["idempotency_key"].clone();
    // The key of the first four events always carries their whole amount; the ledger
    // (tested on PostgreSQL in supabase_sql.rs) applies it once.
    let (same, other): (Vec<&Value>, Vec<&Value>) = calls.iter().partition(|c| c["idempotency_key"] == first_key);
    assert_eq!(same.len(), 3);
    assert!(same.iter().all(|c| c["amount"] == 4 && c["org_uuid"] == "org_a"));
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["amount"], 1);
    // GA4 and webhooks went out once per event.
    assert_eq!(fx.requests("/mp/collect").await.len(), 5);
    assert_eq!(fx.requests("/hooks/a").await.len(), 5);
    for e in events.iter().chain([&newcomer]) {
        assert_eq!(fx.state(e).await.billing.unwrap().outcome.status, StageStatus::Done);
    }
}

#[tokio::test]
async fn webhooks_to_private_loopback_and_metadata_addresses_are_refused() {
    let mut fx = fixture().await;
    let port = fx.mock.address().port();
    let orgs = json!([
        {"id": "org_meta", "plan": "pro", "integrations": {
            "webhook_url": "http://169.254.169.254/latest/meta-data/", "webhook_secret": SECRET_A}},
        {"id": "org_loop", "plan": "pro", "integrations": {
            "webhook_url": format!("http://127.0.0.1:{port}/hooks/a"), "webhook_secret": SECRET_A}},
        {"id": "org_dns", "plan": "pro", "integrations": {
            "webhook_url": format!("http://hooks.internal.example:{port}/hooks/a"), "webhook_secret": SECRET_A}},
    ]);
    let events = [
        event("org_meta", None, "fps1", None, TEST_NOW_MS),
        event("org_loop", None, "fps2", None, TEST_NOW_MS + 1),
        event("org_dns", None, "fps3", None, TEST_NOW_MS + 2),
    ];
    fx.put(&events).await;
    let records = fx.stream().await;
    mount_all_ok(&fx.mock).await;
    let resolver = MapResolver(HashMap::from([(
        "hooks.internal.example".to_string(),
        "10.0.0.1".parse().unwrap(),
    )]));
    let local = LocalDirectory::from_json(&orgs.to_string()).unwrap();
    let p = processor_with(&fx, AnySource::Local(local), false, resolver);
    let report = p.process(&batch(records)).await;
    assert!(report.failures.is_empty(), "refusals are permanent: {report:?}");
    for (e, addr) in events.iter().zip(["169.254.169.254", "127.0.0.1", "10.0.0.1"]) {
        let w = fx.state(e).await.webhook.unwrap();
        assert_eq!(w.status, StageStatus::Permanent);
        let detail = w.detail.unwrap();
        assert!(
            detail.contains(addr) && detail.contains("not a globally reachable address"),
            "{detail}"
        );
    }
    assert!(fx.requests("/hooks/a").await.is_empty());
}

#[tokio::test]
async fn a_webhook_host_that_does_not_exist_is_permanent_and_a_resolver_timeout_is_retried() {
    let mut fx = fixture().await;
    let orgs = json!([
        {"id": "org_nx", "plan": "pro", "integrations": {
            "webhook_url": "http://probe-nonexistent.invalid/", "webhook_secret": SECRET_A}},
        {"id": "org_nohost", "plan": "pro", "integrations": {
            "webhook_url": "http:///x", "webhook_secret": SECRET_A}},
        {"id": "org_slowdns", "plan": "pro", "integrations": {
            "webhook_url": "https://dns-timeout.example/hook", "webhook_secret": SECRET_A}},
    ]);
    let events = [
        event("org_nx", None, "fpnx1", None, TEST_NOW_MS),
        event("org_nohost", None, "fpnx2", None, TEST_NOW_MS + 1),
        event("org_slowdns", None, "fpnx3", None, TEST_NOW_MS + 2),
    ];
    fx.put(&events).await;
    let records = fx.stream().await;
    mount_all_ok(&fx.mock).await;
    let local = LocalDirectory::from_json(&orgs.to_string()).unwrap();
    let p = processor_with(&fx, AnySource::Local(local), false, MapResolver(HashMap::new()));
    let report = p.process(&batch(records.clone())).await;
    // Only the resolver timeout comes back as a batch item failure.
    assert_eq!(report.failures.len(), 1, "{report:?}");
    for (e, status) in events
        .iter()
        .zip([StageStatus::Permanent, StageStatus::Permanent, StageStatus::Retryable])
    {
        let w = fx.state(e).await.webhook.unwrap();
        assert_eq!(w.status, status, "{}: {:?}", e.organization_id, w.detail);
    }
}

#[tokio::test]
async fn impossible_travel_uses_the_previous_event_and_alerts() {
    let mut fx = fixture().await;
    mount_all_ok(&fx.mock).await;
    let p = processor(&fx);
    // The first event of u1 is processed in an earlier batch: its successor finds it in
    // GSI_USER.
    let paris = event("org_b", Some("u1"), "fpt1", Some((PARIS, "FR")), TEST_NOW_MS);
    fx.put(std::slice::from_ref(&paris)).await;
    let first = fx.stream().await;
    p.process(&batch(first)).await;
    assert_eq!(
        fx.state(&paris).await.travel.unwrap().outcome.detail.as_deref(),
        Some("no earlier event of this user")
    );

    let new_york = event(
        "org_b",
        Some("u1"),
        "fpt1",
        Some((NEW_YORK, "US")),
        TEST_NOW_MS + 5 * HOUR,
    );
    // u2: two events in this batch, 10 minutes and 15 km apart.
    let u2_paris = event("org_b", Some("u2"), "fpt2", Some((PARIS, "FR")), TEST_NOW_MS + HOUR);
    let u2_versailles = event(
        "org_b",
        Some("u2"),
        "fpt2",
        Some((VERSAILLES, "FR")),
        TEST_NOW_MS + HOUR + 10 * MIN,
    );
    // u3: Paris then New York 30 minutes later.
    let u3_paris = event("org_b", Some("u3"), "fpt3", Some((PARIS, "FR")), TEST_NOW_MS + 2 * HOUR);
    let u3_new_york = event(
        "org_b",
        Some("u3"),
        "fpt3",
        Some((NEW_YORK, "US")),
        TEST_NOW_MS + 2 * HOUR + 30 * MIN,
    );
    fx.put(&[
        u3_new_york.clone(),
        new_york.clone(),
        u2_versailles.clone(),
        u2_paris.clone(),
        u3_paris.clone(),
    ])
    .await;
    let report = p.process(&batch(fx.stream().await)).await;
    assert!(report.failures.is_empty(), "{report:?}");

    // 5837 km in 5 h: 1167 km/h, risk 50 + (1167 − 900) / 200 × 10 ≈ 63.4.
    let t = fx.state(&new_york).await.travel.unwrap();
    assert_eq!(t.previous_event_id.as_deref(), Some(paris.event_id.as_str()));
    let travel = t.travel.unwrap();
    assert!((5830.0..5845.0).contains(&travel.distance_km), "{travel:?}");
    assert!(travel.impossible);
    let expected = 50.0 + (travel.speed_kmh - 900.0) / 200.0 * 10.0;
    assert!((travel.risk - expected).abs() < 1e-9 && (63.0..64.0).contains(&travel.risk));
    // Under 50 km: not judged.
    let t = fx.state(&u2_versailles).await.travel.unwrap();
    assert_eq!(t.previous_event_id.as_deref(), Some(u2_paris.event_id.as_str()));
    assert!(t.travel.is_none());
    // In 30 minutes: capped at 90.
    let t = fx.state(&u3_new_york).await.travel.unwrap().travel.unwrap();
    assert_eq!(t.risk, 90.0);

    let pushes = fx.requests("/push").await;
    assert_eq!(pushes.len(), 2, "one alert per impossible trip");
    for push in &pushes {
        assert_eq!(header_of(push, "authorization"), "Bearer push-key");
        let b = body(push);
        assert_eq!(b["type"], "fraud_alert");
        assert_eq!(b["impossible_travel"]["impossible"], true);
        assert!(b["reasons"][0].as_str().unwrap().starts_with("impossible travel"));
    }
    let alerted: Vec<String> = pushes
        .iter()
        .map(|r| body(r)["event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(alerted.contains(&new_york.event_id) && alerted.contains(&u3_new_york.event_id));
    let alert = fx.state(&u3_new_york).await.alert.unwrap();
    assert_eq!(alert.outcome.status, StageStatus::Done);
    assert_eq!(
        fx.state(&u2_versailles).await.alert.unwrap().outcome.status,
        StageStatus::Skipped
    );
}

#[tokio::test]
async fn account_sharing_scores_devices_countries_and_concurrency() {
    let mut fx = fixture().await;
    mount_all_ok(&fx.mock).await;
    let p = processor(&fx);
    let t = TEST_NOW_MS + 24 * HOUR;
    // u4: four devices in three countries within 24 h, the last two 10 minutes apart.
    let shared = [
        event("org_b", Some("u4"), "fpa", Some((NEW_YORK, "US")), t - 20 * HOUR),
        event("org_b", Some("u4"), "fpb", Some(((52.52, 13.405), "DE")), t - 10 * HOUR),
        event("org_b", Some("u4"), "fpc", Some((PARIS, "FR")), t - 10 * MIN),
        event("org_b", Some("u4"), "fpd", Some((PARIS, "FR")), t),
    ];
    // u5: one device, one country.
    let single = [
        event("org_b", Some("u5"), "fpe", Some((PARIS, "FR")), t - 2 * HOUR),
        event("org_b", Some("u5"), "fpe", Some((PARIS, "FR")), t),
    ];
    // An event older than the window does not count.
    let old = event("org_b", Some("u4"), "fpz", Some(((35.68, 139.69), "JP")), t - 30 * HOUR);
    fx.put(std::slice::from_ref(&old)).await;
    p.process(&batch(fx.stream().await)).await;
    fx.put(&shared).await;
    fx.put(&single).await;
    let report = p.process(&batch(fx.stream().await)).await;
    assert!(report.failures.is_empty(), "{report:?}");

    // +40 concurrent sessions, +20 × 3 countries, +10 × 4 devices = 140, capped at 100.
    let s = fx.state(&shared[3]).await.sharing.unwrap().sharing.unwrap();
    assert!(s.concurrent_sessions);
    assert_eq!((s.countries, s.fingerprints, s.score), (3, 4, 100.0));
    // The third event saw three devices in three countries, none within 15 minutes of
    // another: +20 × 3 = 60, enough for an alert.
    let s3 = fx.state(&shared[2]).await.sharing.unwrap().sharing.unwrap();
    assert_eq!(
        (s3.concurrent_sessions, s3.countries, s3.fingerprints, s3.score),
        (false, 3, 3, 60.0)
    );
    let s = fx.state(&single[1]).await.sharing.unwrap().sharing.unwrap();
    assert_eq!(s.score, 0.0);

    let pushes = fx.requests("/push").await;
    let alerted: Vec<String> = pushes
        .iter()
        .map(|r| body(r)["event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(alerted.contains(&shared[3].event_id) && alerted.contains(&shared[2].event_id));
    assert!(!alerted.contains(&single[1].event_id));
    let last = pushes
        .iter()
        .find(|r| body(r)["event_id"] == shared[3].event_id.as_str())
        .unwrap();
    assert_eq!(body(last)["account_sharing"]["score"], 100.0);
}

#[tokio::test]
async fn only_event_inserts_are_processed_and_permanent_failures_are_not_retried() {
    let mut fx = fixture().await;
    let risky = with_risk(event("org_a", None, "fpr", None, TEST_NOW_MS), 72.0);
    let broken_org = event("org_c", None, "fpc", None, TEST_NOW_MS + 1);
    let unknown = event("org_nobody", None, "fpn", None, TEST_NOW_MS + 2);
    fx.put(&[risky.clone(), broken_org.clone(), unknown.clone()]).await;
    // Other writes on the stream: an update of the event, another item type.
    fx.modify(&risky).await;
    fx.put_other("VISITOR#x", "VISITOR", "visitor").await;
    let records = fx.stream().await;
    assert_eq!(records.len(), 5);

    let uri = fx.mock.uri();
    let orgs = json!([
        {"id": "org_a", "plan": "pro", "integrations": {
            "ga4_measurement_id": "G-TEST123", "ga4_api_secret": "ga4-api-secret",
            "webhook_url": format!("{uri}/hooks/gone"), "webhook_secret": SECRET_A}},
        {"id": "org_c", "plan": "pro", "integrations": {
            "ga4_measurement_id": "G-HALF", "webhook_url": format!("{uri}/hooks/c")}},
    ]);
    Mock::given(method("POST"))
        .and(path("/hooks/gone"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&fx.mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/push"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&fx.mock)
        .await;
    mount_all_ok(&fx.mock).await;
    let local = LocalDirectory::from_json(&orgs.to_string()).unwrap();
    let p = processor_with(&fx, AnySource::Local(local), true, MapResolver(HashMap::new()));
    let report = p.process(&batch(records.clone())).await;
    assert_eq!((report.ignored, report.processed), (2, 3));
    // Only the alert that met a 503 is retried.
    let risky_seq = records
        .iter()
        .find(|r| r["eventName"] == "INSERT" && r["dynamodb"]["NewImage"]["event_id"]["S"] == risky.event_id.as_str())
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(report.failures, vec![risky_seq.clone()]);

    let s = fx.state(&risky).await;
    let w = s.webhook.unwrap();
    assert_eq!((w.status, w.http_status), (StageStatus::Permanent, Some(410)));
    assert_eq!(s.ga4.unwrap().status, StageStatus::Done);
    assert_eq!(s.alert.as_ref().unwrap().outcome.status, StageStatus::Retryable);
    assert_eq!(
        s.alert.unwrap().reasons,
        vec!["risk score 72 is at least 60".to_string()]
    );
    let s = fx.state(&broken_org).await;
    assert_eq!(
        s.webhook.unwrap().detail.as_deref(),
        Some("webhook_url is set without webhook_secret")
    );
    assert_eq!(
        s.ga4.unwrap().detail.as_deref(),
        Some("ga4_measurement_id is set without ga4_api_secret")
    );
    let s = fx.state(&unknown).await;
    assert_eq!(s.billing.unwrap().outcome.status, StageStatus::Permanent);
    assert_eq!(s.webhook.unwrap().detail.as_deref(), Some("unknown organization"));
    // No call went to the half-configured organization.
    assert!(fx.requests("/hooks/c").await.is_empty());

    // GA4 got the documented request.
    let ga4 = fx.requests("/mp/collect").await;
    assert_eq!(ga4.len(), 1);
    let q: HashMap<String, String> = ga4[0].url.query_pairs().into_owned().collect();
    assert_eq!(q["measurement_id"], "G-TEST123");
    assert_eq!(q["api_secret"], "ga4-api-secret");
    let b = body(&ga4[0]);
    assert_eq!(b["client_id"], "fpr");
    assert_eq!(b["events"][0]["name"], "fingerprint_event");
    assert_eq!(b["events"][0]["params"]["fingerprint"], "fpr");
    assert_eq!(b["events"][0]["params"]["site"], "shop.example");
    assert_eq!(b["events"][0]["params"]["risk_score"], 72.0);

    // The retry sends the alert only.
    let before = fx.mock.received_requests().await.unwrap().len();
    let report = p.process(&batch(from_sequence(&records, &risky_seq))).await;
    assert!(report.failures.is_empty(), "{report:?}");
    let after = fx.mock.received_requests().await.unwrap();
    assert_eq!(after.len(), before + 1);
    assert_eq!(after.last().unwrap().url.path(), "/push");
}

#[tokio::test]
async fn webhooks_are_signed_both_ways_and_with_every_secret_during_rotation() {
    let mut fx = fixture().await;
    let uri = fx.mock.uri();
    let orgs = json!([
        {"id": "org_r", "plan": "pro", "integrations": {
            "webhook_url": format!("{uri}/hooks/a"), "webhook_secret": SECRET_A,
            "webhook_secret_previous": OLD_SECRET}},
    ]);
    let e = event("org_r", Some("ur"), "fpw", None, TEST_NOW_MS);
    fx.put(std::slice::from_ref(&e)).await;
    mount_all_ok(&fx.mock).await;
    let local = LocalDirectory::from_json(&orgs.to_string()).unwrap();
    let p = processor_with(&fx, AnySource::Local(local), true, MapResolver(HashMap::new()));
    p.process(&batch(fx.stream().await)).await;
    let hooks = fx.requests("/hooks/a").await;
    assert_eq!(hooks.len(), 1);
    let h = &hooks[0];
    assert_eq!(header_of(h, "user-agent"), "Impressio-Webhook/1.0");
    assert_eq!(header_of(h, "x-impressio-signature-version"), "v1");
    assert!(verify_impressio(
        &h.body,
        &WebhookSecret::parse(SECRET_A).unwrap(),
        header_of(h, "x-impressio-signature")
    ));
    assert_eq!(header_of(h, "webhook-id"), e.event_id);
    let ts: i64 = header_of(h, "webhook-timestamp").parse().unwrap();
    assert_eq!(ts, (TEST_NOW_MS + 25 * HOUR) / 1000);
    let expected = impressio::processor::webhook_signature::standard_signature_header(
        &e.event_id,
        ts,
        &h.body,
        &[
            WebhookSecret::parse(SECRET_A).unwrap(),
            WebhookSecret::parse(OLD_SECRET).unwrap(),
        ],
    );
    assert_eq!(header_of(h, "webhook-signature"), expected);
    assert_eq!(header_of(h, "webhook-signature").split(' ').count(), 2);
    let b = body(h);
    assert_eq!(b["type"], "event.recorded");
    assert_eq!(b["data"]["event_id"], e.event_id.as_str());
    assert!(b["data"].get("pk").is_none() && b["data"].get("gsi_user_pk").is_none());
}

/// The reference library's verdict on real deliveries: the processor, on the real clock (the
/// library refuses a timestamp more than 5 minutes from now), delivers events of an
/// organization in the middle of a rotation; `scripts/verify_webhooks.py` checks every
/// delivery with PyPI `standardwebhooks` under both secrets (and a tampered body under
/// neither), and the hex signature under the key the library derives.
#[tokio::test]
async fn deliveries_verify_with_the_reference_standard_webhooks_library() {
    let mut fx = fixture().await;
    let uri = fx.mock.uri();
    // An unpadded current secret (the library pads; so do we) and a padded previous one.
    let current = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let previous = format!(
        "whsec_{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            b"the previous webhook key, 33 bytes"
        )
    );
    let orgs = json!([{"id": "org_r", "plan": "pro", "integrations": {"webhook_url": format!("{uri}/hooks/a"),
        "webhook_secret": current, "webhook_secret_previous": previous}}]);
    let now = impressio::clock::SystemClock.now_ms();
    let events: Vec<EventRecord> = (0..3)
        .map(|i| event("org_r", Some("ur"), &format!("fp{i}"), None, now))
        .collect();
    fx.put(&events).await;
    mount_all_ok(&fx.mock).await;
    let local = LocalDirectory::from_json(&orgs.to_string()).unwrap();
    let p = processor_on_clock(
        &fx,
        AnySource::Local(local),
        true,
        MapResolver(HashMap::new()),
        Arc::new(impressio::clock::SystemClock),
    );
    let report = p.process(&batch(fx.stream().await)).await;
    assert!(report.failures.is_empty(), "{report:?}");
    let deliveries: Vec<Value> = fx
        .requests("/hooks/a")
        .await
        .iter()
        .map(|r| {
            let headers: serde_json::Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), json!(v.to_str().unwrap())))
                .collect();
            json!({"headers": headers, "body": String::from_utf8(r.body.clone()).unwrap()})
        })
        .collect();
    assert_eq!(deliveries.len(), 3);
    let file = std::env::temp_dir().join(format!("deliveries-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(
        &file,
        json!({"secrets": [current, previous], "deliveries": deliveries}).to_string(),
    )
    .unwrap();
    let python = tools::workspace_root().join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(tools::workspace_root().join("scripts/verify_webhooks.py"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{} (run scripts/setup.sh): {e}", python.display()));
    let summary: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{summary}");
    assert_eq!(summary["signatures_verified"], 6, "{summary}");
    assert_eq!(summary["failures"], json!([]));
}

#[tokio::test]
async fn integrations_come_from_supabase_once_and_billing_without_supabase_is_recorded_skipped() {
    let mut fx = fixture().await;
    let uri = fx.mock.uri();
    Mock::given(method("GET"))
        .and(path("/rest/v1/organizations"))
        .and(wiremock::matchers::query_param("select", PROCESSOR_COLUMNS))
        .and(wiremock::matchers::query_param("id", "eq.org_s"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": "org_s", "name": "S", "plan": "pro", "domains": [], "events_this_month": 1,
            "billing_period_start": "2026-11-01", "ga4_measurement_id": null, "ga4_api_secret": null,
            "webhook_url": format!("{uri}/hooks/b"), "webhook_secret": SECRET_B, "webhook_secret_previous": null
        }])))
        .expect(1)
        .mount(&fx.mock)
        .await;
    mount_all_ok(&fx.mock).await;
    let mut p = processor_with(
        &fx,
        AnySource::Supabase(supabase(&fx).with_integrations()),
        true,
        MapResolver(HashMap::new()),
    );
    p.billing = None;
    for i in 0..2 {
        let e = event("org_s", None, &format!("fpq{i}"), None, TEST_NOW_MS + i);
        fx.put(std::slice::from_ref(&e)).await;
        let report = p.process(&batch(fx.stream().await)).await;
        assert!(report.failures.is_empty(), "{report:?}");
        let s = fx.state(&e).await;
        assert_eq!(s.webhook.unwrap().status, StageStatus::Done);
        let billing = s.billing.unwrap();
        assert_eq!(billing.outcome.status, StageStatus::Skipped);
        assert_eq!(
            billing.outcome.detail.as_deref(),
            Some("billing is not configured (no SUPABASE_URL)")
        );
    }
    assert!(fx.requests("/rest/v1/rpc/increment_events_this_month").await.is_empty());
    let hooks = fx.requests("/hooks/b").await;
    assert_eq!(hooks.len(), 2);
    assert!(verify_impressio(
        &hooks[1].body,
        &WebhookSecret::parse(SECRET_B).unwrap(),
        header_of(&hooks[1], "x-impressio-signature")
    ));
}

#[tokio::test]
async fn the_template_filter_lets_only_event_inserts_through() {
    let mut fx = fixture().await;
    let e = event("org_a", None, "fpf", None, TEST_NOW_MS);
    fx.put(std::slice::from_ref(&e)).await;
    fx.modify(&e).await;
    fx.put_other("BLACKLIST#ip#203.0.113.9", "BLACKLIST", "blacklist").await;
    let records = fx.stream().await;
    assert_eq!(records.len(), 3);
    let filters = tools::stream::template_filters().unwrap();
    let passed: Vec<&Value> = records
        .iter()
        .filter(|r| filters.iter().any(|f| tools::stream::matches_filter(f, r)))
        .collect();
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0]["eventName"], "INSERT");
    assert_eq!(passed[0]["dynamodb"]["NewImage"]["event_id"]["S"], e.event_id.as_str());
}

#[tokio::test]
async fn the_committed_samples_are_processed_as_their_names_say() {
    let fx = fixture().await;
    mount_all_ok(&fx.mock).await;
    let p = processor(&fx);
    let dir = tools::workspace_root().join("events/processor");
    let read =
        |name: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap() };
    // A real moto stream batch: the INSERT of an event and the MODIFY of the same item.
    let r = p.process(&read("stream-batch.json")).await;
    assert_eq!(
        (r.received, r.processed, r.ignored, r.undecodable),
        (2, 1, 1, 0),
        "{r:?}"
    );
    assert!(r.failures.is_empty());
    // An event image that does not decode and a record without its `dynamodb` key: logged
    // and skipped, and the good record beside them is processed (already, from above).
    let r = p.process(&read("bad-undecodable-records.json")).await;
    assert_eq!((r.received, r.undecodable, r.already_complete), (3, 2, 1), "{r:?}");
    assert!(r.failures.is_empty());
    let r = p.process(&read("bad-not-a-stream-event.json")).await;
    assert_eq!((r.received, r.processed), (0, 0));
    assert!(r.failures.is_empty());
}

#[tokio::test]
async fn the_sketch_raises_events_carry_are_written_once_per_bucket() {
    let mut fx = fixture().await;
    mount_all_ok(&fx.mock).await;
    let p = processor(&fx);
    let ids = impressio::behavior::keys::Identifiers {
        organization_id: "org_b".into(),
        fingerprint: None,
        ip: Some("198.51.100.7".parse().unwrap()),
        ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
        ja4_is_tool: false,
        visitor: None,
        address: None,
        retention_days: None,
    };
    let pk = ids.ja4_key().unwrap();
    let start = impressio::behavior::keys::bucket_start(TEST_NOW_MS, 300);
    let raise = |index: u16, rank: u8| impressio::behavior::sketch::SketchRaise {
        pk: pk.clone(),
        start,
        index,
        rank,
    };
    let mut a = event("org_b", None, "fpsk1", None, TEST_NOW_MS);
    a.sketch_raises = vec![raise(3, 2)];
    let mut b = event("org_b", None, "fpsk2", None, TEST_NOW_MS + 1);
    b.sketch_raises = vec![raise(3, 1), raise(8, 4)];
    fx.put(&[a, b]).await;
    let records = fx.stream().await;
    let report = p.process(&batch(records)).await;
    assert_eq!(
        report.sketch_updates, 1,
        "both events' raises in one update: {report:?}"
    );
    let item = fx
        .dynamo
        .get_item()
        .table_name(&fx.table)
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::S(impressio::schema::bucket_sk(start)))
        .send()
        .await
        .unwrap()
        .item
        .expect("the bucket's sketch");
    let rank = |r: &str| item.get(r).and_then(|v| v.as_n().ok()).cloned();
    assert_eq!((rank("r3"), rank("r8")), (Some("2".into()), Some("4".into())));
}
