//! The edge function's CloudWatch Embedded Metric Format lines, through the handler against
//! moto server: events by route, risk level and action, blocks by trigger, latency by route,
//! and nothing personal in them. (Its log lines are checked in `logs.rs`.)

use std::collections::BTreeMap;

use impressio::config::EdgeConfig;
use impressio::fraud::FraudConfig;
use impressio::metrics::Datapoints;
use integration_tests::harness::{cloudfront_track, Harness, PYTHON_JA4, TEST_NOW_MS};
use serde_json::{json, Value};

const CLIENT_IP: &str = "198.51.100.7";
const USER_ID: &str = "alice@example.com";

fn track(headers: &[(&str, &str)], body: Value) -> String {
    cloudfront_track(CLIENT_IP, headers, &body)
}

fn body(event: &str) -> Value {
    json!({"organizationId": "org_demo_pro", "event": event, "fingerprint": "fpMetricsTest01", "userId": USER_ID})
}

fn dims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The sum of the values of `name` recorded under exactly `dimensions`.
fn total(points: &[Datapoints], name: &str, dimensions: &[(&str, &str)]) -> f64 {
    let want = dims(dimensions);
    points
        .iter()
        .filter(|p| p.name == name && p.dimensions == want)
        .flat_map(|p| p.values.iter())
        .sum()
}

#[tokio::test]
async fn a_clean_and_a_blocked_request_are_counted_by_level_action_and_trigger() {
    let config = EdgeConfig {
        metrics_namespace: "Impressio/Test".into(),
        ..EdgeConfig::default()
    };
    let h = Harness::with_config(config).await;
    let clean = h.invoke(&track(&[], body("page_view"))).await;
    assert_eq!(clean.status, 200);
    let blocked = h.invoke(&track(&[PYTHON_JA4], body("signup"))).await;
    assert_eq!(blocked.status, 403);
    // The block blacklisted the client: its next request is refused before any scoring.
    let again = h.invoke(&track(&[], body("page_view"))).await;
    assert_eq!(again.status, 429);

    let docs = h.metrics.documents();
    assert_eq!(docs.len(), 3, "one line per request: {docs:?}");
    let ids: Vec<&str> = docs.iter().map(|d| d["RequestId"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [clean.request_id(), blocked.request_id(), again.request_id()],
        "each line names its request"
    );
    assert_eq!(
        docs.iter().map(|d| d["Status"].as_u64().unwrap()).collect::<Vec<_>>(),
        [200, 403, 429]
    );
    assert!(docs.iter().all(|d| d["OrganizationId"] == "org_demo_pro"));

    let points = h.metrics.datapoints();
    assert!(points
        .iter()
        .all(|p| p.namespace == "Impressio/Test" && p.timestamp_ms == TEST_NOW_MS));
    let events = |level: &str, action: &str| {
        total(
            &points,
            "Events",
            &[("Route", "/t"), ("RiskLevel", level), ("Action", action)],
        )
    };
    assert_eq!(events("low", "allow"), 1.0);
    assert_eq!(events("critical", "block"), 1.0);
    assert_eq!(
        points.iter().filter(|p| p.name == "Events").count(),
        2,
        "the blacklisted request was not scored: {points:?}"
    );
    assert_eq!(total(&points, "Blocks", &[("Trigger", "ja4_mismatch")]), 1.0);
    assert_eq!(total(&points, "Blocks", &[("Trigger", "blacklisted")]), 1.0);
    assert_eq!(points.iter().filter(|p| p.name == "Blocks").count(), 2);
    assert!(points
        .iter()
        .filter(|p| p.name == "Blocks" || p.name == "Events")
        .all(|p| p.unit.as_deref() == Some("Count")));
    let latency: Vec<&Datapoints> = points.iter().filter(|p| p.name == "RequestLatency").collect();
    assert_eq!(latency.len(), 3);
    for p in latency {
        assert_eq!(p.dimensions, dims(&[("Route", "/t")]));
        assert_eq!(p.unit.as_deref(), Some("Milliseconds"));
        assert!(p.values.len() == 1 && p.values[0] > 0.0, "{p:?}");
    }
    // Nothing personal in the metrics, dimensions or properties.
    for line in h.metrics.lines() {
        for personal in [CLIENT_IP, USER_ID, "Mozilla", "fpMetricsTest01"] {
            assert!(!line.contains(personal), "{personal} in {line}");
        }
    }
}

#[tokio::test]
async fn observation_mode_counts_the_block_action_but_no_block() {
    let config = EdgeConfig {
        fraud: FraudConfig::with_override(r#"{"mode": "observe"}"#).unwrap(),
        ..EdgeConfig::default()
    };
    let h = Harness::with_config(config).await;
    assert_eq!(h.invoke(&track(&[PYTHON_JA4], body("signup"))).await.status, 200);
    let points = h.metrics.datapoints();
    assert!(
        points.iter().all(|p| p.namespace == "Impressio"),
        "the default namespace"
    );
    assert_eq!(
        total(
            &points,
            "Events",
            &[("Route", "/t"), ("RiskLevel", "critical"), ("Action", "block")]
        ),
        1.0
    );
    assert!(points.iter().all(|p| p.name != "Blocks"), "{points:?}");
}

#[tokio::test]
async fn a_pixel_records_the_block_action_without_enforcing_it_and_other_requests_are_timed() {
    let h = Harness::new().await;
    // No browser headers at all: critical, but the pixel never refuses.
    let pixel = json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": CLIENT_IP, "method": "GET",
        "uri": "/open.gif", "querystring": "organizationId=org_demo_pro&e=email_open", "headers": {}}}}]});
    let answer = h.invoke(&pixel.to_string()).await;
    assert_eq!(
        (answer.status, answer.header("x-tracking-status")),
        (200, Some("stored"))
    );
    let script = json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": CLIENT_IP, "method": "GET",
        "uri": "/h.js", "querystring": "organizationId=org_demo_pro", "headers": {}}}}]});
    assert_eq!(h.invoke(&script.to_string()).await.status, 200);
    // A CORS preflight of /t is timed apart from /t itself.
    let preflight = json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": CLIENT_IP, "method": "OPTIONS",
        "uri": "/t", "querystring": "organizationId=org_demo_pro", "headers": {
            "origin": [{"key": "Origin", "value": "https://shop.example"}],
            "access-control-request-method": [{"key": "Access-Control-Request-Method", "value": "POST"}]}}}}]});
    assert_eq!(h.invoke(&preflight.to_string()).await.status, 204);
    let points = h.metrics.datapoints();
    let routes: Vec<(&str, &str)> = points
        .iter()
        .map(|p| (p.name.as_str(), p.dimensions["Route"].as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            ("RequestLatency", "pixel"),
            ("Events", "pixel"),
            ("RequestLatency", "/h.js"),
            ("RequestLatency", "preflight")
        ],
        "no Blocks: {points:?}"
    );
    assert_eq!(
        points[1].dimensions,
        dims(&[("Route", "pixel"), ("RiskLevel", "critical"), ("Action", "block")])
    );
}
