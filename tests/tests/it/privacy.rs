//! Retention and IP minimization per organization, through the edge function on moto server:
//! every item a request writes expires within the organization's retention (capped by its
//! plan), and under `truncated` / `hashed` IP storage no item holds the visitor's address —
//! while the blacklist still stops the address that was blocked, and an erasure still finds
//! every item keyed by it.

use impressio::config::EdgeConfig;
use integration_tests::harness::{cloudfront_track, Harness, TEST_NOW_MS};
use serde_json::{json, Value};

const DAY: i64 = 86_400;

async fn with_organizations(orgs: Value, fraud: Option<&str>) -> Harness {
    let config = EdgeConfig {
        fraud: fraud.map_or_else(Default::default, |f| {
            impressio::fraud::FraudConfig::with_override(f).unwrap()
        }),
        ..EdgeConfig::default()
    };
    Harness::with_organizations(&orgs, config).await
}

/// Every item of the table as `(pk, JSON text, expires_at)`.
async fn items(h: &Harness) -> Vec<(String, String, Option<i64>)> {
    h.all_items()
        .await
        .into_iter()
        .map(|i| {
            let v: Value = serde_dynamo::from_item(i).unwrap();
            (
                v["pk"].as_str().unwrap_or("").to_string(),
                v.to_string(),
                v["expires_at"].as_i64(),
            )
        })
        .collect()
}

fn org(id: &str, plan: &str, extra: Value) -> Value {
    let mut o = json!({"id": id, "plan": plan, "domains": ["shop.example"],
        "api_key_sha256": impressio::org::ServerKeyDigest::of_key(&format!("{id}.key-0123456789abcdef")).to_hex()});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

#[tokio::test]
async fn every_item_a_request_writes_expires_within_the_organizations_retention() {
    let h = with_organizations(
        json!([
            org("org_short", "pro", json!({"retention_days": 30})),
            org("org_greedy", "free", json!({"retention_days": 3000})),
            org("org_default", "pro", json!({})),
        ]),
        None,
    )
    .await;
    for (id, days) in [("org_short", 30), ("org_greedy", 90), ("org_default", 395)] {
        let before: Vec<String> = items(&h).await.into_iter().map(|(pk, ..)| pk).collect();
        // A login with a user id and a message id: an event, its marker, a new visitor's
        // identity records, aggregates, the login counter.
        let body = json!({"organizationId": id, "fingerprint": format!("fpRetention{id}"), "event": "login",
            "userId": "u-1", "messageId": format!("m-{id}")});
        let a = h.invoke(&cloudfront_track("198.51.100.40", &[], &body)).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let written: Vec<_> = items(&h)
            .await
            .into_iter()
            .filter(|(pk, ..)| !before.contains(pk))
            .collect();
        assert!(written.len() >= 5, "{written:#?}");
        let cap = TEST_NOW_MS / 1000 + days * DAY;
        for (pk, text, expires) in &written {
            let e = expires.unwrap_or_else(|| panic!("{pk} has no TTL: {text}"));
            assert!(
                e <= cap,
                "{id}: {pk} expires {} days after now, beyond {days}",
                (e - TEST_NOW_MS / 1000) / DAY
            );
        }
        let event = h.records(a.json()["requestId"].as_str().unwrap()).await.remove(0);
        assert_eq!(event.expires_at, cap, "{id}: the event lives the whole retention");
    }
}

#[tokio::test]
async fn minimized_addresses_never_reach_the_table_yet_the_blacklist_and_erasure_still_find_them() {
    for (storage, stored_prefix) in [("truncated", "198.51.100.0"), ("hashed", "h:")] {
        let h = with_organizations(json!([org("org_min", "pro", json!({"ip_storage": storage}))]), None).await;
        let ip = "198.51.100.77";
        let body = json!({"organizationId": "org_min", "fingerprint": "fpMinimized01", "event": "page_view"});
        let a = h
            .invoke(&cloudfront_track(
                ip,
                &[("CloudFront-Viewer-Address", "198.51.100.77:40123")],
                &body,
            ))
            .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let visitor = a.json()["identity"]["visitorId"].as_str().unwrap().to_string();
        let event = h.records(a.json()["requestId"].as_str().unwrap()).await.remove(0);
        let stored = event.context.ip.clone().unwrap();
        assert!(stored.starts_with(stored_prefix), "{storage}: {stored}");
        assert!(event.context.viewer.address.is_none());

        // A scripted client from the same address is blocked; the address stays blacklisted.
        let bot = json!({"organizationId": "org_min", "event": "login"});
        let ua = [
            ("User-Agent", "python-requests/2.32.3"),
            ("sec-ch-ua", ""),
            ("Sec-Fetch-Mode", ""),
        ];
        let blocked = h.invoke(&cloudfront_track(ip, &ua, &bot)).await;
        assert_eq!(blocked.status, 403, "{}", String::from_utf8_lossy(&blocked.body));
        let again = h.invoke(&cloudfront_track(ip, &[], &body)).await;
        assert_eq!(again.status, 429, "{storage}: the hashed key still matches the address");
        let other = h.invoke(&cloudfront_track("198.51.100.78", &[], &body)).await;
        assert_eq!(other.status, 200, "{storage}: a neighbour is not blocked");

        // Nothing in the table holds the address, in any form that reads it back.
        let holding: Vec<_> = items(&h)
            .await
            .into_iter()
            .filter(|(_, text, _)| text.contains(ip) || (storage == "hashed" && text.contains("198.51.100.")))
            .collect();
        assert!(holding.is_empty(), "{storage}: {holding:#?}");

        // Erasure finds the items keyed by the hashed address.
        let key = "org_min.key-0123456789abcdef";
        let del = json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": "192.0.2.1", "method": "DELETE",
            "uri": format!("/v1/visitors/{visitor}"), "querystring": "",
            "headers": {"authorization": [{"key": "Authorization", "value": format!("Bearer {key}")}]}}}}]});
        let d = h.invoke(&del.to_string()).await;
        assert_eq!(
            (d.status, d.json()["status"].clone()),
            (202, json!("completed")),
            "{}",
            String::from_utf8_lossy(&d.body)
        );
        let labels = event.context.address.clone().unwrap();
        let ip_rate = format!("ORG#org_min#AGG#IP#{}", labels.ip);
        let left: Vec<_> = items(&h)
            .await
            .into_iter()
            .filter(|(pk, text, _)| text.contains(&visitor) || *pk == ip_rate)
            .collect();
        assert!(left.is_empty(), "{storage}: {left:#?}");
    }
}

#[tokio::test]
async fn ga4_gets_an_event_only_with_analytics_consent_and_with_its_consent_fields() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let ga4 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/mp/collect"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&ga4)
        .await;
    let orgs = json!([{"id": "org_ga4", "plan": "pro", "domains": ["shop.example"], "integrations": {
        "ga4_measurement_id": "G-CONSENT1", "ga4_api_secret": "ga4-secret"}}]);
    // Observed: three fresh visitors of one TLS client in a second would be blocked.
    let h = with_organizations(orgs.clone(), Some(r#"{"mode": "observe"}"#)).await;
    let mut stream = tools::stream::StreamReader::open(&tools::moto_endpoint(), &h.table)
        .await
        .unwrap();
    let send = |consent: Value, fp: &str| {
        let body = json!({"organizationId": "org_ga4", "fingerprint": fp, "consent": consent, "clientId": "111.222"});
        cloudfront_track("198.51.100.50", &[], &body)
    };
    let denied = h
        .invoke(&send(json!({"analytics": false, "fraud": true}), "fpGa4Denied"))
        .await;
    let granted = h
        .invoke(&send(
            json!({"analytics": true, "fraud": true, "adUserData": true, "adPersonalization": false}),
            "fpGa4Granted",
        ))
        .await;
    let silent = h.invoke(&send(Value::Null, "fpGa4Silent")).await;
    for a in [&denied, &granted, &silent] {
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    }
    let stored = h.records(denied.json()["requestId"].as_str().unwrap()).await.remove(0);
    assert_eq!(stored.consent.map(|c| (c.analytics, c.fraud)), Some((false, true)));

    let processor = integration_tests::stream_processor::processor_on(&h, &orgs, &format!("{}/mp/collect", ga4.uri()));
    let report = processor
        .process(&tools::stream::batch(stream.drain().await.unwrap()))
        .await;
    assert_eq!((report.processed, report.failures.len()), (3, 0), "{report:?}");
    let sent: Vec<Value> = ga4
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        sent.len(),
        2,
        "the event without analytics consent is not forwarded: {sent:?}"
    );
    let consents: Vec<Value> = sent.iter().map(|b| b["consent"].clone()).collect();
    assert!(
        consents.contains(&json!({"ad_user_data": "GRANTED", "ad_personalization": "DENIED"})),
        "{consents:?}"
    );
    assert!(
        consents.contains(&Value::Null),
        "no consent given, no consent fields: {consents:?}"
    );
}

#[tokio::test]
async fn without_fraud_consent_the_edge_identifies_no_one_and_sets_no_cookie() {
    let h = with_organizations(json!([org("org_anon", "pro", json!({}))]), None).await;
    let before = items(&h).await.len();
    // A client that sends identifiers anyway: they are dropped, not trusted to have asked.
    let body = json!({"organizationId": "org_anon", "fingerprint": "fpNoConsent01", "userId": "u-9",
        "consent": {"analytics": true, "fraud": false}});
    let a = h.invoke(&cloudfront_track("198.51.100.60", &[], &body)).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.header("set-cookie").is_none(), "no domainprint cookie");
    let id = a.json()["identity"].clone();
    assert_eq!(id["method"], "anonymous");
    let again = h.invoke(&cloudfront_track("198.51.100.60", &[], &body)).await;
    assert_ne!(again.json()["identity"]["visitorId"], id["visitorId"], "never linked");
    let e = h.records(a.json()["requestId"].as_str().unwrap()).await.remove(0);
    assert!(e.fingerprint.is_none() && e.user_id.is_none());
    // No identity records: only the events, their aggregates and counters.
    let kinds: Vec<String> = items(&h)
        .await
        .into_iter()
        .skip(before)
        .filter_map(|(_, text, _)| {
            serde_json::from_str::<Value>(&text).ok()?["item_type"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(
        !kinds.iter().any(|k| k == "visitor" || k == "identity_index"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn without_fraud_consent_nothing_read_from_a_cookie_nor_the_address_reaches_the_event_in_both_shapes() {
    use integration_tests::harness::{track_in, SHAPES};
    for shape in SHAPES {
        let h = with_organizations(json!([org("org_anon", "pro", json!({}))]), None).await;
        // Only a `_ga` cookie, and no consent at all.
        let body = json!({"organizationId": "org_anon", "consent": {"analytics": false, "fraud": false}});
        let ga = ("Cookie", "_ga=GA1.2.1234567890.1700000000");
        let a = h.invoke(&track_in(shape, "198.51.100.61", &[ga], &body)).await;
        assert_eq!(a.status, 200, "{shape}: {}", String::from_utf8_lossy(&a.body));
        let e = h.records(&a.request_id()).await.remove(0);
        assert_eq!(
            e.ga4_client_id, None,
            "{shape}: the _ga cookie was read without consent"
        );
        assert_eq!(e.context.ip, None, "{shape}");
        assert!(
            e.context.address.is_none() && e.context.viewer.address.is_none(),
            "{shape}"
        );
        assert!(e.sketch_raises.is_empty(), "{shape}: raises keyed by the address");
        // The stored event item holds neither the client id nor the address.
        let event_text = items(&h)
            .await
            .into_iter()
            .find(|(pk, text, _)| pk == &format!("REQ#{}", a.request_id()) && text.contains("\"sk\":\"EVENT\""))
            .unwrap()
            .1;
        assert!(!event_text.contains("1234567890.1700000000"), "{shape}: {event_text}");
        assert!(!event_text.contains("198.51.100.61"), "{shape}: {event_text}");
        // With consent, the same cookie is the event's client id.
        let consented = json!({"organizationId": "org_anon", "consent": {"analytics": true, "fraud": true}});
        let b = h.invoke(&track_in(shape, "198.51.100.61", &[ga], &consented)).await;
        let e = h.records(&b.request_id()).await.remove(0);
        assert_eq!(e.ga4_client_id.as_deref(), Some("1234567890.1700000000"), "{shape}");
    }
}
