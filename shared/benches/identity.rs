//! The identity resolver's own decision logic per request, store calls excluded: reading
//! the identity inputs of a request (cookies included, the domainprint's signature verified)
//! and applying the rules of the fast and the parallel path.
//!
//! `cargo bench -p impressio --bench identity`

use criterion::{criterion_group, criterion_main, Criterion};
use impressio::event::TrackPayload;
use impressio::http::{EdgeRequest, RequestSource};
use impressio::identity::decide::{after_domainprint, after_reads, Confidences, IndexEntry, Reads};
use impressio::identity::domainprint::DomainprintKeys;
use impressio::identity::CorroborationConfig;
use impressio::identity::IdentityInputs;

const VISITOR: &str = "01a1fd2d-416a-7651-a773-36b44a6c6909";

fn request(keys: &DomainprintKeys) -> EdgeRequest {
    let dp = keys.issue("org_demo_pro", VISITOR, 1_795_000_000_000).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "cookie",
        format!("_ga=GA1.1.1234567890.1699999999; _impdp={dp}; theme=dark")
            .parse()
            .unwrap(),
    );
    headers.insert(
        "user-agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0"
            .parse()
            .unwrap(),
    );
    EdgeRequest::new(
        RequestSource::CloudFront,
        http::Method::POST,
        "/t",
        "",
        headers,
        vec![],
        false,
        None,
        None,
    )
}

fn decide(c: &mut Criterion) {
    let keys = DomainprintKeys::ephemeral();
    let req = request(&keys);
    let event = TrackPayload {
        organization_id: Some("org_demo_pro".into()),
        fingerprint: Some("fp3f9c2a1b7d4e6f80".into()),
        user_id: Some("user-1001".into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let conf = Confidences::default();
    let dp_entry = IndexEntry {
        visitor_id: VISITOR.into(),
        fingerprint: Some("fp3f9c2a1b7d4e6f80".into()),
        last_seen_ms: 1_795_000_000_000,
        ..Default::default()
    };
    c.bench_function("identity: inputs + fast-path decision", |b| {
        b.iter(|| {
            let inputs = impressio::judge::prepare::identity_inputs(
                Some(std::hint::black_box(&req)),
                &event,
                &keys,
                1_795_000_000_000,
            );
            let (_, visitor) = inputs.domainprint.verified().expect("signed");
            after_domainprint(&inputs, visitor, Some(&dp_entry), &conf, 1_795_000_030_000, 60_000)
        })
    });
    let anonymous = IdentityInputs {
        fingerprint: Some("fp3f9c2a1b7d4e6f80".into()),
        behavioral: Some("beh-sig-A1".into()),
        ..Default::default()
    };
    let reads = Reads {
        fingerprint: Some(dp_entry.clone()),
        pair: Some(dp_entry.clone()),
        ..Default::default()
    };
    let corroboration = CorroborationConfig::default();
    c.bench_function("identity: parallel-path decision (corroborated)", |b| {
        b.iter(|| {
            after_reads(
                std::hint::black_box(&anonymous),
                &reads,
                &conf,
                &corroboration,
                1_795_000_030_000,
                false,
            )
        })
    });
}

criterion_group!(benches, decide);
criterion_main!(benches);
