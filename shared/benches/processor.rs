//! The processor on a batch of 100 events whose outbound endpoints (Supabase billing, GA4, the
//! webhooks, push) each answer after 50 ms: the stages of different records overlap, so the
//! batch takes a few endpoint latencies, not a hundred. Billing makes one call per
//! organization (three here), checked on every iteration.
//!
//! The DynamoDB side is an in-process store that waits 5 ms per call (DynamoDB's typical
//! single-digit latency), so the figure is the pipeline's, not moto server's (which serves one
//! request at a time); the store is exercised for real against moto in
//! `tests/tests/processor.rs`.
//!
//! `cargo bench -p impressio --bench processor`

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use impressio::clock::SystemClock;
use impressio::config::{DirectoryConfig, Secret};
use impressio::event::{EventRecord, Route, ServerContext, TrackPayload};
use impressio::fraud::composite::combine;
use impressio::fraud::{Component, ComponentResult, FraudConfig};
use impressio::metrics::{MetricSink, Metrics};
use impressio::org::local::LocalDirectory;
use impressio::org::supabase::{SupabaseClient, SupabaseConfig};
use impressio::org::tiered::TierConfig;
use impressio::org::TieredDirectory;
use impressio::processor::config::{DetectionConfig, ProcessorConfig, PushConfig};
use impressio::processor::history::UserEvent;
use impressio::processor::outbound::{OutboundPolicy, SystemResolver};
use impressio::processor::pipeline::Processor;
use impressio::processor::state::ProcessingState;
use impressio::processor::store::ProcessorStore;
use impressio::store::StoreError;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const STORE_LATENCY: Duration = Duration::from_millis(5);
const ENDPOINT_LATENCY: Duration = Duration::from_millis(50);

/// Processing items in memory, each call waiting [`STORE_LATENCY`].
/// A metric sink that drops its lines.
struct Discard;

impl MetricSink for Discard {
    fn write_line(&self, _line: &str) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct SlowStore {
    states: Mutex<HashMap<String, ProcessingState>>,
    calls: AtomicUsize,
}

impl SlowStore {
    async fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(STORE_LATENCY).await;
    }
}

impl ProcessorStore for SlowStore {
    async fn load_states(&self, pks: &[&str]) -> Result<HashMap<String, ProcessingState>, StoreError> {
        self.call().await;
        let states = self.states.lock().unwrap();
        Ok(pks
            .iter()
            .filter_map(|pk| states.get(*pk).map(|s| (pk.to_string(), s.clone())))
            .collect())
    }

    async fn erased(&self, _tombstones: &[String]) -> Result<std::collections::HashSet<String>, StoreError> {
        // The tombstone read runs beside the processing items' read, as in the DynamoDB store.
        self.call().await;
        Ok(Default::default())
    }

    async fn save_states(&self, states: &[&ProcessingState]) -> Vec<(String, String)> {
        // BatchWriteItem chunks of 25, written at once as the DynamoDB store does.
        futures::future::join_all(states.chunks(25).map(|_| self.call())).await;
        let mut m = self.states.lock().unwrap();
        for s in states {
            m.insert(s.pk.clone(), (*s).clone());
        }
        Vec::new()
    }

    async fn save_together(&self, states: &[&ProcessingState]) -> Result<(), StoreError> {
        self.save_states(states).await;
        Ok(())
    }

    async fn user_events(&self, _: &str, _: i64, _: i64) -> Result<Vec<UserEvent>, StoreError> {
        self.call().await;
        Ok(Vec::new())
    }
}

fn batch(n: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let org = ["org_x", "org_y", "org_z"][i % 3];
            let valid = TrackPayload {
                organization_id: Some(org.into()),
                event: Some("login".into()),
                url: Some("https://shop.example/login".into()),
                fingerprint: Some(format!("fp{i}")),
                user_id: Some(format!("user-{i}")),
                client_id: Some(format!("{i}.1763700000")),
                ..Default::default()
            }
            .validate()
            .unwrap();
            let mut ctx = ServerContext::default();
            ctx.viewer.latitude = Some(48.85);
            ctx.viewer.longitude = Some(2.35);
            ctx.viewer.country = Some("FR".into());
            let mut e = EventRecord::new(
                &uuid::Uuid::now_v7().to_string(),
                Route::Track,
                valid,
                None,
                ctx,
                1_795_000_000_000 + i as i64,
                30,
            );
            // One in five is risky enough to alert.
            let mut layer = ComponentResult::default();
            layer.add("headless_user_agent", if i % 5 == 0 { 75.0 } else { 10.0 }, "bench");
            e.risk = Some(combine([(Component::Headless, 1.0, layer)], &FraudConfig::default()));
            let image = serde_json::to_value(serde_dynamo::Item::from(
                serde_dynamo::to_item::<_, HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>(&e).unwrap(),
            ))
            .unwrap();
            json!({
                "eventID": format!("id{i}"), "eventName": "INSERT", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                "dynamodb": {"ApproximateCreationDateTime": 1_795_000_000.0, "Keys": {"pk": {"S": e.pk}, "sk": {"S": "EVENT"}},
                    "NewImage": image, "SequenceNumber": format!("{:021}", i), "SizeBytes": 1500, "StreamViewType": "NEW_IMAGE"}
            })
        })
        .collect();
    json!({ "Records": records })
}

fn processor_batch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = rt.block_on(async {
        // Not recording requests: a benchmark sends thousands.
        let mock = MockServer::builder().disable_request_recording().start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(204).set_delay(ENDPOINT_LATENCY))
            .mount(&mock)
            .await;
        mock
    });
    let uri = mock.uri();
    let orgs: Vec<Value> = ["org_x", "org_y", "org_z"]
        .iter()
        .map(|id| {
            json!({"id": id, "plan": "pro", "integrations": {
                "ga4_measurement_id": "G-BENCH", "ga4_api_secret": "s",
                // A 32-byte key: Standard Webhooks keys are 24 to 64 bytes.
                "webhook_url": format!("{uri}/hooks/{id}"), "webhook_secret": "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQta2V5LTMyLWJ5dGU="}})
        })
        .collect();
    let clock = Arc::new(SystemClock);
    let config = ProcessorConfig {
        table_name: "bench".into(),
        directory: DirectoryConfig::default(),
        ga4_endpoint: format!("{uri}/mp/collect"),
        ga4_timeout_ms: 5000,
        push: Some(PushConfig {
            url: format!("{uri}/push"),
            key: Secret::new("k"),
            timeout_ms: 5000,
        }),
        outbound: OutboundPolicy::local(),
        concurrency: ProcessorConfig::from_lookup(|_| None).unwrap().concurrency,
        detection: DetectionConfig::default(),
        metrics_namespace: impressio::metrics::DEFAULT_NAMESPACE.to_string(),
        dynamodb_timeouts: Default::default(),
        dynamodb_endpoint: None,
    };
    let billing = SupabaseClient::new(SupabaseConfig {
        url: uri.clone(),
        service_key: Secret::new("k"),
        timeout_ms: 2000,
    })
    .unwrap();
    let make = || Processor {
        store: SlowStore::default(),
        sketches: impressio::behavior::memory::MemoryBehaviorStore::new(),
        directory: TieredDirectory::new(
            LocalDirectory::from_json(&Value::Array(orgs.clone()).to_string()).unwrap(),
            None,
            clock.clone(),
            TierConfig::default(),
        ),
        billing: Some(billing.clone()),
        http: reqwest::Client::new(),
        resolver: SystemResolver,
        config: config.clone(),
        clock: clock.clone(),
        // The metric lines are built (their cost is measured) but not printed among the
        // benchmark's output.
        metrics: Metrics::new("Bench", Arc::new(Discard)),
    };
    let events = batch(100);
    // The directory is warm in a running function: look the organizations up once.
    let warm = make();
    let report = rt.block_on(warm.process(&events));
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!((report.processed, report.billing_calls, report.alerts), (100, 3, 20));
    c.bench_function("processor: batch of 100, endpoints answering in 50 ms", |b| {
        b.to_async(&rt).iter_batched(
            // A fresh stage memory each time (else every record would arrive complete).
            make,
            |p| {
                let events = &events;
                async move {
                    let report = p.process(events).await;
                    assert_eq!(report.billing_calls, 3, "one billing call per organization");
                    assert!(report.failures.is_empty());
                }
            },
            criterion::BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = processor_batch
}
criterion_main!(benches);
