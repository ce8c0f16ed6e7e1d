//! Erasure (GDPR Art. 17) through the edge function and the processor, on moto server: `DELETE
//! /v1/visitors/{id}` removes every item of the visitor — events, processing items, labels,
//! identity records and reverse indexes, aggregates, blacklist entries, message markers — and a
//! scan of the whole table finds nothing of it; the tombstone holds no personal data; a
//! redelivered stream record and the visitor's old cookie bring nothing back; an interrupted
//! erasure resumes when asked again.

use std::time::Duration;

use impressio::config::EdgeConfig;
use impressio::identity::population::{hash48, PopSet};
use integration_tests::harness::{cloudfront_track, Harness, TEST_NOW_MS};
use integration_tests::stream_processor::processor_on;
use serde_json::{json, Value};
use tools::stream::{batch, StreamReader};

const KEY: &str = "org_demo_pro.local-demo-server-api-key";

/// A Server API call through CloudFront.
fn api(method: &str, path: &str, body: Option<&str>) -> String {
    let mut headers = json!({"authorization": [{"key": "Authorization", "value": format!("Bearer {KEY}")}]});
    let mut req = json!({"clientIp": "192.0.2.10", "method": method, "uri": path, "querystring": ""});
    if let Some(b) = body {
        headers["content-type"] = json!([{"key": "Content-Type", "value": "application/json"}]);
        req["body"] = json!({"encoding": "text", "data": b});
    }
    req["headers"] = headers;
    json!({"Records": [{"cf": {"config": {"distributionId": "E1", "eventType": "origin-request"}, "request": req}}]})
        .to_string()
}

/// The same call as a Function URL request (the other event shape).
fn api_url(method: &str, path: &str, body: Option<&str>) -> String {
    let mut headers = json!({"authorization": format!("Bearer {KEY}")});
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let mut ev = json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers, "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
        "sourceIp": "192.0.2.10", "userAgent": "python-requests/2.32.3"}, "requestId": "r-1", "timeEpoch": 0},
        "isBase64Encoded": false});
    if let Some(b) = body {
        ev["body"] = json!(b);
    }
    ev.to_string()
}

/// A visitor's browsing: `n` events from `ip` with fingerprint `fp` (the cookie kept), the
/// second with a user id and a message id.
struct Browsing {
    visitor: String,
    cookie: String,
    domainprint: String,
    requests: Vec<String>,
    events: Vec<String>,
}

async fn browse(h: &Harness, ip: &str, fp: &str, n: usize, tag: &str) -> Browsing {
    let mut cookie: Option<String> = None;
    let mut b = Browsing {
        visitor: String::new(),
        cookie: String::new(),
        domainprint: String::new(),
        requests: Vec::new(),
        events: Vec::new(),
    };
    for i in 0..n {
        let headers: Vec<(&str, &str)> = cookie.as_deref().map(|c| vec![("Cookie", c)]).unwrap_or_default();
        let mut body = json!({"organizationId": "org_demo_pro", "fingerprint": fp, "event": "page_view"});
        if i == 1 {
            body["userId"] = json!(format!("user-{tag}"));
            body["messageId"] = json!(format!("msg-{tag}"));
            body["event"] = json!("login");
        }
        let a = h.invoke(&cloudfront_track(ip, &headers, &body)).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        if let Some(set) = a.header("set-cookie") {
            cookie = Some(set.split(';').next().unwrap().to_string());
        }
        let j = a.json();
        b.visitor = j["identity"]["visitorId"].as_str().unwrap().to_string();
        b.domainprint = j["identity"]["domainprint"].as_str().unwrap_or_default().to_string();
        b.requests.push(j["requestId"].as_str().unwrap().to_string());
        b.events.push(j["eventId"].as_str().unwrap().to_string());
        h.clock.advance(1000);
    }
    b.cookie = cookie.unwrap();
    if b.domainprint.is_empty() {
        b.domainprint = b.cookie.split_once('=').unwrap().1.to_string();
    }
    b
}

/// Every item of the table as JSON text, with its key.
async fn scan(h: &Harness) -> Vec<(String, String)> {
    h.all_items()
        .await
        .into_iter()
        .map(|item| {
            let v: Value = serde_dynamo::from_item(item).unwrap();
            let key = format!(
                "{} / {}",
                v["pk"].as_str().unwrap_or(""),
                v["sk"].as_str().unwrap_or("")
            );
            (key, v.to_string())
        })
        .collect()
}

/// The items of the table that hold any of `needles` (as text or as a population hash).
async fn holding(h: &Harness, needles: &[String], hashes: &[u64]) -> Vec<String> {
    scan(h)
        .await
        .into_iter()
        .filter(|(_, text)| {
            needles.iter().any(|n| text.contains(n.as_str())) || hashes.iter().any(|x| text.contains(&x.to_string()))
        })
        .map(|(key, text)| format!("{key}: {text}"))
        .collect()
}

fn observed() -> EdgeConfig {
    EdgeConfig {
        fraud: impressio::fraud::FraudConfig::with_override(r#"{"mode": "observe"}"#).unwrap(),
        ..EdgeConfig::default()
    }
}

#[tokio::test]
async fn an_erased_visitor_leaves_nothing_in_the_table_and_never_comes_back() {
    let h = Harness::with_config(observed()).await;
    let mut stream = StreamReader::open(&tools::moto_endpoint(), &h.table).await.unwrap();
    // The visitor to erase, and a neighbour on the same network whose data must stay.
    let gone = browse(&h, "198.51.100.21", "fpErasureGone01", 4, "gone").await;
    let kept = browse(&h, "198.51.100.22", "fpErasureKept01", 2, "kept").await;
    let label = json!({"label": "fraud", "reason": "chargeback"}).to_string();
    let a = h
        .invoke(&api(
            "POST",
            &format!("/v1/events/{}/feedback", gone.requests[0]),
            Some(&label),
        ))
        .await;
    assert_eq!(a.status, 200);
    // A scripted client reusing the visitor's cookie and fingerprint is blocked: blacklist
    // entries and forensic records name the visitor.
    // (The same domainprint keys: the cookie proves the visitor, whose own block is written.)
    let enforced = Harness::on_table(
        EdgeConfig {
            domainprint_keys: h.app.config.domainprint_keys.clone(),
            ..EdgeConfig::default()
        },
        &h.table,
    )
    .await;
    let bot = json!({"organizationId": "org_demo_pro", "fingerprint": "fpErasureGone01", "event": "login"});
    let a = enforced
        .invoke(&cloudfront_track(
            "198.51.100.21",
            &[("Cookie", &gone.cookie), ("User-Agent", "python-requests/2.32.3")],
            &bot,
        ))
        .await;
    assert_eq!(a.status, 403, "{}", String::from_utf8_lossy(&a.body));

    // The processor settles every event: processing items with travel and sharing results.
    let records = stream.drain().await.unwrap();
    let orgs = json!([{"id": "org_demo_pro", "plan": "pro", "domains": ["shop.example"]}]);
    let processor = processor_on(&h, &orgs, "http://127.0.0.1:9/mp/collect");
    let report = processor.process(&batch(records.clone())).await;
    assert!(report.processed >= 6 && report.failures.is_empty(), "{report:?}");

    let mut needles = vec![
        gone.visitor.clone(),
        gone.domainprint.clone(),
        "fpErasureGone01".into(),
        "user-gone".into(),
        "msg-gone".into(),
        // Its address: every item holding it (blacklist entries, aggregates, the login
        // counter) goes too.
        "198.51.100.21".into(),
    ];
    needles.extend(gone.requests.iter().cloned());
    needles.extend(gone.events.iter().cloned());
    let hashes = [
        hash48(PopSet::Visitors, &gone.visitor),
        hash48(PopSet::Domainprints, &gone.domainprint),
    ];
    let before = holding(&h, &needles, &hashes).await;
    for kind in [
        "event",
        "processing",
        "feedback",
        "visitor",
        "identity_index",
        "message",
        "blacklist",
        "visitor_block",
        "counter",
        "aggregate",
    ] {
        assert!(
            before.iter().any(|i| i.contains(&format!("\"item_type\":\"{kind}\""))),
            "no {kind} item before: {before:#?}"
        );
    }

    // Erase: 202, completed in one pass, with the count removed.
    let a = h
        .invoke(&api("DELETE", &format!("/v1/visitors/{}", gone.visitor), None))
        .await;
    assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
    let d = a.json();
    assert_eq!(d["status"], "completed");
    assert_eq!(
        d["deletionId"],
        impressio::schema::deletion_id("org_demo_pro", &gone.visitor)
    );
    let removed = d["removed"].as_u64().unwrap();
    assert!(
        removed as usize >= before.len(),
        "removed {removed} of {} items",
        before.len()
    );
    let left = holding(&h, &needles, &hashes).await;
    assert!(left.is_empty(), "items of the erased visitor remain: {left:#?}");
    // The tombstone is there, and says nothing of whom.
    let tombstones: Vec<_> = scan(&h)
        .await
        .into_iter()
        .filter(|(k, _)| k.contains("#DEL#"))
        .collect();
    assert_eq!(tombstones.len(), 1);

    // Its progress; the reads find nothing; the neighbour is intact.
    let p = h
        .invoke(&api(
            "GET",
            &format!("/v1/deletions/{}", d["deletionId"].as_str().unwrap()),
            None,
        ))
        .await;
    assert_eq!(
        (p.status, p.json()["status"].clone(), p.json()["removed"].clone()),
        (200, json!("completed"), json!(removed))
    );
    for path in [
        format!("/v1/events/{}", gone.requests[0]),
        format!("/v1/visitors/{}", gone.visitor),
    ] {
        assert_eq!(h.invoke(&api("GET", &path, None)).await.status, 404, "{path}");
    }
    let k = h
        .invoke(&api("GET", &format!("/v1/visitors/{}", kept.visitor), None))
        .await;
    assert_eq!(k.status, 200);
    assert_eq!(k.json()["events"].as_array().unwrap().len(), 2);
    assert_eq!(
        h.invoke(&api("GET", &format!("/v1/events/{}", kept.requests[1]), None))
            .await
            .status,
        200
    );

    // Asked again: the same deletion, nothing more to remove.
    let again = h
        .invoke(&api("DELETE", &format!("/v1/visitors/{}", gone.visitor), None))
        .await;
    assert_eq!(
        (
            again.status,
            again.json()["deletionId"].clone(),
            again.json()["removed"].clone()
        ),
        (202, d["deletionId"].clone(), json!(removed))
    );

    // The stream delivers the erased visitor's inserts again: skipped, nothing re-created.
    let gone_records: Vec<Value> = records
        .iter()
        .filter(|r| r.to_string().contains(&gone.visitor))
        .cloned()
        .collect();
    assert!(!gone_records.is_empty());
    let report = processor.process(&batch(gone_records.clone())).await;
    // Its four events and the blocked one.
    assert_eq!(
        (report.erased, report.processed, report.failures.len()),
        (gone.requests.len() + 1, 0, 0),
        "{report:?}"
    );
    assert!(holding(&h, &needles, &hashes).await.is_empty());

    // The browser comes back with its old cookie: a new visitor, under a new domainprint.
    let body = json!({"organizationId": "org_demo_pro", "fingerprint": "fpErasureGone02"});
    let back = h
        .invoke(&cloudfront_track("198.51.100.21", &[("Cookie", &gone.cookie)], &body))
        .await;
    assert_eq!(back.status, 200);
    let id = back.json()["identity"].clone();
    assert_ne!(id["visitorId"], gone.visitor.as_str(), "{id}");
    assert_eq!(id["isNew"], true);
    assert!(holding(&h, std::slice::from_ref(&gone.visitor), &[]).await.is_empty());
}

#[tokio::test]
async fn an_interrupted_erasure_resumes_and_finishes_when_asked_again() {
    let h = Harness::with_config(observed()).await;
    let gone = browse(&h, "198.51.100.31", "fpErasureLong01", 30, "long").await;
    // A pass out of time after its first page of events (25 of 30).
    let first = h
        .app
        .api
        .erase_visitor(
            "org_demo_pro",
            &gone.visitor,
            TEST_NOW_MS,
            impressio::server_api::erase::EraseTerms {
                keep_days: 400,
                budget: Duration::ZERO,
                login_window_secs: 3600,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, impressio::server_api::tombstone::DeletionStatus::Running);
    assert!(first.removed >= 25, "{first:?}");
    let remaining = h.records(&gone.requests[29]).await.len() + h.records(&gone.requests[0]).await.len();
    assert!(remaining >= 1, "the pass stopped before the last events");
    // The API reports it running; the visitor's remaining events still read.
    let p = h
        .invoke(&api("GET", &format!("/v1/deletions/{}", first.deletion_id), None))
        .await;
    assert_eq!(p.json()["status"], "running");
    // Asked again: finished.
    let a = h
        .invoke(&api("DELETE", &format!("/v1/visitors/{}", gone.visitor), None))
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(a.json()["status"], "completed");
    assert!(a.json()["removed"].as_u64().unwrap() > first.removed);
    let mut needles = vec![gone.visitor.clone(), gone.domainprint.clone()];
    needles.extend(gone.requests.iter().cloned());
    assert!(holding(&h, &needles, &[]).await.is_empty());
}

#[tokio::test]
async fn erasing_an_unknown_or_malformed_visitor_is_a_precise_4xx_in_both_shapes() {
    let h = Harness::new().await;
    let unknown = "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7b";
    let cases = [
        (
            "DELETE",
            format!("/v1/visitors/{unknown}"),
            None,
            404,
            "error",
            "visitor_not_found",
        ),
        (
            "DELETE",
            "/v1/visitors/not-a-visitor".to_string(),
            None,
            400,
            "parameter",
            "visitorId",
        ),
        (
            "DELETE",
            format!("/v1/visitors/{unknown}"),
            Some("{}"),
            400,
            "error",
            "body_not_allowed",
        ),
        (
            "GET",
            format!("/v1/deletions/{unknown}"),
            None,
            404,
            "error",
            "deletion_not_found",
        ),
        (
            "GET",
            "/v1/deletions/42".to_string(),
            None,
            400,
            "parameter",
            "deletionId",
        ),
    ];
    for shape in [api as fn(&str, &str, Option<&str>) -> String, api_url] {
        for (method, path, body, status, field, value) in &cases {
            let a = h.invoke(&shape(method, path, *body)).await;
            assert_eq!(
                (a.status, a.json()[*field].clone()),
                (*status, json!(value)),
                "{method} {path}"
            );
        }
    }
    assert_eq!(h.item_count().await, 0, "nothing written for a refused erasure");
}
