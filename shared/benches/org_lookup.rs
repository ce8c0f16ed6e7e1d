//! Organization lookup: the warm in-process hit (no network call) and the cold path through
//! a local HTTP stand-in of Supabase's PostgREST.
//!
//! `cargo bench -p impressio --bench org_lookup`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use impressio::clock::SystemClock;
use impressio::config::Secret;
use impressio::org::local::LocalDirectory;
use impressio::org::supabase::{SupabaseClient, SupabaseConfig};
use impressio::org::tiered::TierConfig;
use impressio::org::{Lookup, TieredDirectory};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn warm(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = TieredDirectory::new(
        LocalDirectory::embedded(),
        None,
        Arc::new(SystemClock),
        TierConfig::default(),
    );
    assert!(matches!(rt.block_on(dir.get("org_demo_pro")), Lookup::Found { .. }));
    c.bench_function("org lookup, warm in-process hit", |b| {
        b.iter(|| {
            let hit = dir.get_warm(std::hint::black_box("org_demo_pro"));
            assert!(hit.is_some());
            hit
        })
    });
}

fn cold(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/rest/v1/organizations"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                {"id": "org_1", "plan": "pro", "domains": ["shop.example"], "events_this_month": 5, "billing_period_start": "2026-11-01"}
            ])))
            .mount(&server)
            .await;
        server
    });
    let client = SupabaseClient::new(SupabaseConfig {
        url: server.uri(),
        service_key: Secret::new("k"),
        timeout_ms: 2000,
    })
    .unwrap();
    c.bench_function("org lookup, cold through PostgREST stand-in", |b| {
        b.to_async(&rt).iter(|| async {
            // A fresh warm tier each time: every lookup goes to the source.
            let dir = TieredDirectory::new(client.clone(), None, Arc::new(SystemClock), TierConfig::default());
            let found = dir.get("org_1").await;
            assert!(matches!(found, Lookup::Found { .. }));
        })
    });
}

criterion_group!(benches, warm, cold);
criterion_main!(benches);
