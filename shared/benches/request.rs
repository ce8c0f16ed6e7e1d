//! The CPU of one `/t` request's whole path outside its DynamoDB calls, over a corpus of
//! 1,000 CloudFront origin-request events whose User-Agents vary as real traffic does: the
//! event JSON parsed into an `EdgeRequest`, the body parsed and validated, the identity inputs
//! read (domainprint verified), the scoring input gathered and every component scored, the
//! event record built and turned into its DynamoDB item. Each iteration takes the next event of
//! the corpus, so caches (the User-Agent parser's lazily built automata) see the variety they
//! see in production, not one repeated request.
//!
//! The corpus (independent lists in `tools/data/useragents`, see its `SOURCE.md`): 900 events
//! drawn in proportion from the 10,000 real browser sessions of intoli/user-agents, and 100
//! crawler User-Agents spread over monperrus/crawler-user-agents' instances.
//!
//! `cargo bench -p impressio --bench request`

use criterion::{criterion_group, criterion_main, Criterion};
use impressio::event::body::parse_json_body;
use impressio::event::{EventRecord, Route, ServerContext, TrackPayload};
use impressio::fraud::{assess_evidence, BehaviorEvidence, Evidence, FraudConfig, Observations, ScoringInput};
use impressio::http::cloudfront::CloudFrontEvent;
use impressio::identity::domainprint::DomainprintKeys;
use serde_json::{json, Value};

/// The allocator the functions run with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `tools/data/useragents/<name>`'s `user_agents` array.
fn user_agents(name: &str) -> Vec<Value> {
    let path = format!("{}/../tools/data/useragents/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v["user_agents"].as_array().cloned().unwrap_or_default()
}

/// 900 browser User-Agents in proportion to their sessions, then 100 crawlers.
fn corpus_user_agents() -> Vec<String> {
    let mut weighted = Vec::new();
    for row in user_agents("intoli-user-agents.json") {
        let n = row["rows"].as_u64().unwrap_or(1);
        for _ in 0..n {
            weighted.push(row["ua"].as_str().unwrap_or_default().to_string());
        }
    }
    let step = weighted.len() as f64 / 900.0;
    let mut out: Vec<String> = (0..900).map(|i| weighted[(i as f64 * step) as usize].clone()).collect();
    let crawlers = user_agents("crawler-user-agents-instances.json");
    let step = crawlers.len() as f64 / 100.0;
    out.extend((0..100).map(|i| {
        crawlers[(i as f64 * step) as usize]["ua"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }));
    out
}

/// A collector `/t` event from `ua` on a distinct address, as CloudFront forwards it.
fn event(i: usize, ua: &str, domainprint: &str) -> String {
    let headers = [
        ("Host", "t.shop.example".to_string()),
        ("User-Agent", ua.to_string()),
        ("Accept", "*/*".into()),
        ("Content-Type", "text/plain;charset=UTF-8".into()),
        ("Origin", "https://shop.example".into()),
        ("Sec-Fetch-Site", "same-site".into()),
        ("Sec-Fetch-Mode", "cors".into()),
        ("Referer", "https://shop.example/products/42".into()),
        ("Accept-Encoding", "gzip, deflate, br, zstd".into()),
        ("Accept-Language", "en-US,en;q=0.9".into()),
        ("Cookie", format!("_ga=GA1.1.{i}.1795000000; _impdp={domainprint}")),
        ("CloudFront-Viewer-JA4-Fingerprint", "t13d1516h2_8daaf6152771_02713d6af862".into()),
        ("CloudFront-Viewer-TLS", "TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake".into()),
        ("CloudFront-Viewer-HTTP-Version", "2.0".into()),
        ("CloudFront-Viewer-Address", format!("198.18.{}.{}:52144", i / 250, i % 250 + 1)),
        ("CloudFront-Viewer-ASN", "7922".into()),
        ("CloudFront-Viewer-Country", "US".into()),
        ("CloudFront-Viewer-Latitude", "47.60620".into()),
        ("CloudFront-Viewer-Longitude", "-122.33210".into()),
        (
            "CloudFront-Viewer-Header-Order",
            "Host:User-Agent:Accept:Content-Type:Origin:Sec-Fetch-Site:Sec-Fetch-Mode:Referer:Accept-Encoding:Accept-Language:Cookie".into(),
        ),
        ("CloudFront-Viewer-Header-Count", "11".into()),
    ];
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    let body = json!({
        "organizationId": "org_demo_pro",
        "event": "page_view",
        "url": format!("https://shop.example/products/{i}"),
        "referrer": "https://www.google.com/",
        "title": "Product",
        "fingerprint": format!("fp{i:08x}0123456789abcdef"),
        "signals": {
            "webdriver": false, "plugins": 5, "languages": ["en-US", "en"], "platform": "Win32",
            "firstPartyCookies": true,
            "interaction": {"pointerMoves": 120, "pointerDistancePx": 1800, "keystrokes": 16, "activeMs": 9000}
        },
        "properties": {"sku": format!("SKU-{i}"), "price": 42.5}
    });
    json!({"Records": [{"cf": {"config": {"distributionId": "E1", "eventType": "origin-request"},
        "request": {"clientIp": format!("198.18.{}.{}", i / 250, i % 250 + 1), "method": "POST", "uri": "/t",
        "querystring": "", "headers": h, "body": {"encoding": "text", "data": body.to_string()}}}}]})
    .to_string()
}

/// The request's CPU path up to its risk assessment and, with `item`, on to the DynamoDB item
/// of its event; the risk score, so nothing is optimized away.
fn handle(text: &str, keys: &DomainprintKeys, config: &FraudConfig, item: bool) -> f64 {
    let event: CloudFrontEvent = serde_json::from_str(text).expect("a CloudFront event");
    let req = event.into_edge_request().expect("a request");
    let payload: TrackPayload = parse_json_body(
        &req.body,
        req.body_truncated,
        req.header("content-type").as_deref(),
        64 * 1024,
    )
    .expect("a JSON body");
    let valid = payload.validate().expect("a valid event");
    let inputs = impressio::judge::prepare::identity_inputs(Some(&req), &valid, keys, 1_795_000_000_000);
    let scoring = ScoringInput::from_request(&req, valid.signals.clone(), Some(&valid.event_name));
    let observations = Observations::default();
    let evidence = Evidence {
        request: &scoring,
        behavior: Some(BehaviorEvidence {
            observations: &observations,
            now_ms: 1_795_000_000_000,
            token_missing: false,
            domainprint: &inputs.domainprint,
            established: false,
            identity_conflict: false,
            memory: None,
        }),
    };
    let risk = assess_evidence(&evidence, config);
    let score = risk.score;
    if !item {
        return score;
    }
    let mut record = EventRecord::new(
        "0193a2b4-0000-7000-8000-000000000000",
        Route::Track,
        valid,
        None,
        ServerContext::from_request(&req),
        1_795_000_000_000,
        30,
    );
    record.risk = Some(risk);
    let item: serde_dynamo::Item = serde_dynamo::to_item(&record).expect("an item");
    std::hint::black_box(item);
    score
}

fn bench(c: &mut Criterion) {
    let keys = DomainprintKeys::ephemeral();
    let config = FraudConfig::default();
    let domainprint = keys
        .issue(
            "org_demo_pro",
            "0193a2b4-1111-7000-8000-000000000000",
            1_795_000_000_000,
        )
        .expect("a domainprint");
    let corpus: Vec<String> = corpus_user_agents()
        .iter()
        .enumerate()
        .map(|(i, ua)| event(i, ua, &domainprint))
        .collect();
    // Every event goes through once before the measurement (patterns compiled).
    for text in &corpus {
        handle(text, &keys, &config, true);
    }
    let mut next = 0usize;
    c.bench_function(
        "request: /t event JSON to risk assessment, 1,000 varied User-Agents",
        |b| {
            b.iter(|| {
                next = (next + 1) % corpus.len();
                handle(std::hint::black_box(&corpus[next]), &keys, &config, false)
            })
        },
    );
    c.bench_function(
        "request: /t event JSON to scored DynamoDB item, 1,000 varied User-Agents",
        |b| {
            b.iter(|| {
                next = (next + 1) % corpus.len();
                handle(std::hint::black_box(&corpus[next]), &keys, &config, true)
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
