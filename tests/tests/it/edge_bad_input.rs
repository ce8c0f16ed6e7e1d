//! Bad input: every case gets a precise 4xx with a JSON error body (or the pixel for beacon
//! GETs), stores nothing, and never panics or answers 5xx. Storage failure is the one 5xx.

use impressio::config::EdgeConfig;
use integration_tests::harness::{Answer, Harness};
use serde_json::json;

fn cloudfront(
    method: &str,
    uri: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> String {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    let mut req = json!({"clientIp": "203.0.113.9", "method": method, "uri": uri, "querystring": query, "headers": h});
    if let Some(b) = body {
        req["body"] = b;
    }
    json!({"Records": [{"cf": {"config": {"distributionId": "E1", "eventType": "origin-request"}, "request": req}}]})
        .to_string()
}

fn function_url(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: Option<&str>) -> String {
    let h: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    let mut ev = json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query, "headers": h,
        "requestContext": {"accountId": "anonymous", "apiId": "x", "domainName": "x.lambda-url.us-east-1.on.aws", "domainPrefix": "x",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "t"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "21/Nov/2026:07:40:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false});
    if let Some(b) = body {
        ev["body"] = json!(b);
    }
    ev.to_string()
}

fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn refused(h: &Harness, payload: &str, status: u16, code: &str) -> Answer {
    let a = h.invoke(payload).await;
    assert_eq!(a.status, status, "{:?}", String::from_utf8_lossy(&a.body));
    let body = a.json();
    assert_eq!(body["error"], code, "{body}");
    assert!(h.records(&a.request_id()).await.is_empty(), "nothing stored for {code}");
    a
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

#[tokio::test]
async fn body_over_the_limit_is_413_in_both_shapes() {
    let h = Harness::with_config(EdgeConfig {
        max_body_bytes: 1024,
        ..EdgeConfig::default()
    })
    .await;
    let big = json!({"organizationId": "o", "title": "x".repeat(2000)}).to_string();
    refused(
        &h,
        &function_url("POST", "/t", "", &[JSON], Some(&big)),
        413,
        "body_too_large",
    )
    .await;
    let cf_body = json!({"inputTruncated": false, "encoding": "base64", "data": b64(big.as_bytes())});
    let a = refused(
        &h,
        &cloudfront("POST", "/t", "", &[JSON], Some(cf_body)),
        413,
        "body_too_large",
    )
    .await;
    assert!(a.json()["message"].as_str().unwrap().contains("limit is 1024 bytes"));
}

#[tokio::test]
async fn each_bad_body_has_its_own_code() {
    let h = Harness::new().await;
    let cf = |headers: &[(&str, &str)], data: &[u8]| {
        cloudfront(
            "POST",
            "/t",
            "",
            headers,
            Some(json!({"encoding": "base64", "data": b64(data)})),
        )
    };
    refused(&h, &cf(&[JSON], br#"{"organizationId": "#), 400, "malformed_json").await;
    refused(
        &h,
        &cf(&[JSON], b"{\"organizationId\": \"\xc3\x28\"}"),
        400,
        "invalid_utf8",
    )
    .await;
    refused(&h, &cf(&[JSON], b""), 400, "empty_body").await;
    refused(&h, &cf(&[], br#"{"organizationId": "o"}"#), 415, "missing_content_type").await;
    refused(
        &h,
        &cf(&[("Content-Type", "application/xml")], b"<a/>"),
        415,
        "unsupported_content_type",
    )
    .await;
    refused(
        &h,
        &cf(&[JSON], br#"{"organizationId": "o", "colour": "red"}"#),
        400,
        "invalid_document",
    )
    .await;
    refused(&h, &cf(&[JSON], br#"[1, 2]"#), 400, "invalid_document").await;
    let a = refused(&h, &cf(&[JSON], br#"{"event": "page_view"}"#), 400, "invalid_field").await;
    assert_eq!(a.json()["field"], "organizationId");
    let a = refused(
        &h,
        &cf(&[JSON], br#"{"organizationId": "o", "url": "notaurl"}"#),
        400,
        "invalid_field",
    )
    .await;
    assert_eq!(a.json()["field"], "url");
    let truncated = cloudfront(
        "POST",
        "/c",
        "",
        &[JSON],
        Some(json!({"inputTruncated": true, "encoding": "base64", "data": b64(b"{\"organizationId\"")})),
    );
    refused(&h, &truncated, 413, "body_truncated").await;
    let unknown_utm = function_url(
        "POST",
        "/c",
        "",
        &[JSON],
        Some(r#"{"organizationId": "o", "utm_sorce": "x"}"#),
    );
    let a = refused(&h, &unknown_utm, 400, "invalid_field").await;
    assert!(a.json()["message"].as_str().unwrap().contains("utm_sorce"));
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let h = Harness::new().await;
    let a = refused(&h, &cloudfront("PUT", "/c", "", &[], None), 405, "method_not_allowed").await;
    assert_eq!(a.header("allow"), Some("POST, OPTIONS"));
    let a = refused(
        &h,
        &function_url("POST", "/somewhere", "", &[JSON], Some("{}")),
        405,
        "method_not_allowed",
    )
    .await;
    assert_eq!(a.header("allow"), Some("GET, HEAD, OPTIONS"));
    let a = refused(
        &h,
        &function_url("DELETE", "/cookie-test", "", &[], None),
        405,
        "method_not_allowed",
    )
    .await;
    assert_eq!(a.header("allow"), Some("GET, HEAD, OPTIONS"));
    let a = h.invoke(&cloudfront("OPTIONS", "/t", "", &[], None)).await;
    assert_eq!(a.status, 204);
    assert_eq!(a.header("allow"), Some("POST, OPTIONS"));
}

#[tokio::test]
async fn malformed_events_are_400_in_the_shape_they_came_in() {
    let h = Harness::new().await;
    // JSON of no known shape: answered in the Function URL shape. (A payload that is not JSON
    // never reaches the function: the Lambda runtime refuses it as an invocation error.)
    let a = refused(&h, r#"{"hello": "world"}"#, 400, "malformed_event").await;
    assert!(a.raw.get("statusCode").is_some());
    // A CloudFront event missing its uri, with bad base64, or with no record: CloudFront shape.
    let no_uri = json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": "1.2.3.4", "method": "GET"}}}]});
    let a = refused(&h, &no_uri.to_string(), 400, "malformed_event").await;
    assert_eq!(a.raw["status"], "400");
    let bad_b64 = cloudfront(
        "POST",
        "/t",
        "",
        &[JSON],
        Some(json!({"encoding": "base64", "data": "%%%"})),
    );
    refused(&h, &bad_b64, 400, "malformed_event").await;
    let bad_method = cloudfront("GE T", "/", "", &[], None);
    refused(&h, &bad_method, 400, "malformed_event").await;
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn beacon_gets_always_get_the_pixel() {
    let h = Harness::new().await;
    for query in [
        "",
        "organizationId=bad%20org",
        "organizationId=o&timestamp=soon",
        "organizationId=o&url=%FF%FE",
    ] {
        let a = h.invoke(&cloudfront("GET", "/p.gif", query, &[], None)).await;
        assert_eq!(a.status, 200, "{query}");
        assert_eq!(a.body.len(), 43);
        assert_eq!(a.header("x-tracking-status"), Some("rejected"), "{query}");
        assert!(a.header("x-tracking-error").is_some());
        assert!(h.records(&a.request_id()).await.is_empty());
    }
    // HEAD answers the headers and records nothing.
    let a = h
        .invoke(&cloudfront("HEAD", "/p.gif", "organizationId=o", &[], None))
        .await;
    assert_eq!(a.status, 200);
    assert!(a.body.is_empty());
    assert_eq!(a.header("x-tracking-status"), Some("not_recorded"));
    // A missing organization on /h.js is a JSON 400.
    let a = refused(&h, &function_url("GET", "/h.js", "", &[], None), 400, "invalid_field").await;
    assert_eq!(a.json()["field"], "organizationId");
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn storage_down_is_503_with_retry_after_and_no_secret() {
    // A DynamoDB endpoint where nothing listens.
    let client = tools::dynamo_client("http://127.0.0.1:9");
    let config = EdgeConfig::default();
    let clock = std::sync::Arc::new(impressio::clock::SystemClock);
    let directory = impressio::org::build_directory(&config.directory, clock).unwrap();
    let identity = impressio::identity::DynamoIdentityStore::new(client.clone(), "t");
    let counter = impressio::behavior::counter::AnyCounter::Dynamo(impressio::behavior::counter::DynamoCounter {
        client: client.clone(),
        table: "t".into(),
    });
    let behavior = impressio::behavior::dynamo::DynamoBehaviorStore::new(client.clone(), "t");
    let api = impressio::server_api::dynamo::DynamoApiStore::new(client.clone(), "t");
    let store = impressio::event::DynamoEventStore::new(client, "t");
    let adapters = edge::Adapters {
        store,
        directory,
        identity,
        counter,
        behavior,
        api,
    };
    let app = edge::App::new(config, adapters);
    let track = cloudfront(
        "POST",
        "/t",
        "",
        &[JSON, ("Origin", "https://shop.example")],
        Some(json!({"encoding": "text", "data": r#"{"organizationId": "org_demo_free"}"#})),
    );
    let v = edge::handle_payload(&app, &serde_json::value::RawValue::from_string(track).unwrap()).await;
    let a = Answer::from_value(&v);
    assert_eq!(a.status, 503);
    assert_eq!(a.header("retry-after"), Some("1"));
    let body = a.json();
    assert_eq!(body["error"], "storage_unavailable");
    assert!(
        !body["message"].as_str().unwrap().contains("127.0.0.1"),
        "no internals in the answer"
    );
    let pixel = cloudfront("GET", "/x.gif", "organizationId=org_demo_free", &[], None);
    let v = edge::handle_payload(&app, &serde_json::value::RawValue::from_string(pixel).unwrap()).await;
    let a = Answer::from_value(&v);
    assert_eq!(a.status, 503);
    assert_eq!(a.body.len(), 43, "the pixel still answers the GIF");
    assert_eq!(a.header("x-tracking-status"), Some("failed"));
}
