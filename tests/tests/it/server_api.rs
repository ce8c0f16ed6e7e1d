//! The Server API (`/v1/`) through the edge function, on moto server, in both event shapes: a
//! backend verifies a request id, reads a visitor's history across pages, labels an event;
//! the API key (current and previous, one `401` for every wrong key, never another
//! organization's data) and every malformed parameter's precise `4xx`.

use impressio::config::EdgeConfig;
use impressio::org::ServerKeyDigest;
use integration_tests::harness::{cloudfront_track, Answer, Harness};
use serde_json::{json, Value};

/// The demo organizations' Server API keys (`infra/organizations/local.json`, docs/server-api.md).
fn demo_key(org: &str) -> String {
    format!("{org}.local-demo-server-api-key")
}

/// Which Lambda event shape a call arrives in.
#[derive(Debug, Clone, Copy)]
enum Shape {
    CloudFront,
    FunctionUrl,
}

/// A Server API call from an organization's backend: `method path?query`, with
/// `Authorization: Bearer <key>` when `key` is given, and a JSON body when `body` is.
fn call(shape: Shape, method: &str, target: &str, key: Option<&str>, body: Option<&str>) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = vec![
        ("User-Agent", "python-requests/2.32.3".to_string()),
        ("Accept", "application/json".to_string()),
    ];
    if let Some(k) = key {
        headers.push(("Authorization", format!("Bearer {k}")));
    }
    if body.is_some() {
        headers.push(("Content-Type", "application/json".to_string()));
    }
    match shape {
        Shape::CloudFront => {
            let mut h = serde_json::Map::new();
            for (k, v) in &headers {
                h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
            }
            let mut req =
                json!({"clientIp": "192.0.2.10", "method": method, "uri": path, "querystring": query, "headers": h});
            if let Some(b) = body {
                req["body"] = json!({"encoding": "text", "data": b});
            }
            json!({"Records": [{"cf": {"config": {"distributionId": "E1", "eventType": "origin-request"}, "request": req}}]})
                .to_string()
        }
        Shape::FunctionUrl => {
            let h: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
                .collect();
            let mut ev = json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
                "headers": h, "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10", "userAgent": "python-requests/2.32.3"}, "requestId": "r-1", "timeEpoch": 0},
                "isBase64Encoded": false});
            if let Some(b) = body {
                ev["body"] = json!(b);
            }
            ev.to_string()
        }
    }
}

fn assert_error(a: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
    let body = a.json();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        a.header("access-control-allow-origin").is_none(),
        "no CORS on the Server API"
    );
    body
}

/// Stores `n` events of one Chrome visitor of `org` (a second apart, the cookie kept), the
/// last with user id `user`; returns the visitor id and the request ids, oldest first.
async fn visitor_with_events(h: &Harness, org: &str, fp: &str, n: usize, user: &str) -> (String, Vec<String>) {
    let mut cookie: Option<String> = None;
    let mut ids = Vec::new();
    let mut visitor = String::new();
    for i in 0..n {
        let headers: Vec<(&str, &str)> = cookie.as_deref().map(|c| vec![("Cookie", c)]).unwrap_or_default();
        let user_id = (i + 1 == n).then_some(user);
        let body = json!({"organizationId": org, "fingerprint": fp, "userId": user_id, "event": "page_view"});
        let a = h.invoke(&cloudfront_track("198.51.100.7", &headers, &body)).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        if let Some(set) = a.header("set-cookie") {
            cookie = Some(set.split(';').next().unwrap().to_string());
        }
        visitor = a.json()["identity"]["visitorId"].as_str().unwrap().to_string();
        ids.push(a.json()["requestId"].as_str().unwrap().to_string());
        h.clock.advance(1000);
    }
    (visitor, ids)
}

#[tokio::test]
async fn a_backend_verifies_a_request_reads_the_history_across_pages_and_labels_an_event() {
    let h = Harness::new().await;
    let key = demo_key("org_demo_pro");
    let (visitor, ids) = visitor_with_events(&h, "org_demo_pro", "fpServerApi01", 5, "user-42").await;
    for shape in [Shape::CloudFront, Shape::FunctionUrl] {
        // Verify a request id: the stored event with its identity, risk and context.
        let a = h
            .invoke(&call(shape, "GET", &format!("/v1/events/{}", ids[0]), Some(&key), None))
            .await;
        assert_eq!(a.status, 200, "{shape:?}: {}", String::from_utf8_lossy(&a.body));
        assert!(a.header("access-control-allow-origin").is_none());
        let b = a.json();
        assert_eq!(b["requestId"], ids[0]);
        let event = &b["event"];
        assert_eq!(event["visitor_id"], visitor.as_str());
        assert_eq!(event["identity"]["visitor_id"], visitor.as_str());
        assert!(event["identity"]["confidence"].as_f64().is_some());
        assert!(event["risk"]["score"].as_f64().is_some() && event["risk"]["breakdown"].is_object());
        assert_eq!(event["context"]["ip"], "198.51.100.7");
        for internal in impressio::event::INTERNAL_ATTRIBUTES {
            assert!(event.get(internal).is_none(), "{internal} shown");
        }
        assert_eq!(
            (b["processing"].clone(), b["feedback"].clone()),
            (Value::Null, Value::Null)
        );

        // The visitor's history, two at a time, newest first, across pages.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..5 {
            let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
            let a = h
                .invoke(&call(
                    shape,
                    "GET",
                    &format!("/v1/visitors/{visitor}?limit=2{q}"),
                    Some(&key),
                    None,
                ))
                .await;
            assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
            let page = a.json();
            assert!(page["events"].as_array().unwrap().len() <= 2);
            seen.extend(
                page["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["requestId"].as_str().unwrap().to_string()),
            );
            assert_eq!(page["linked"]["fingerprints"], json!(["fpServerApi01"]));
            assert_eq!(page["linked"]["userIds"], json!(["user-42"]));
            assert_eq!(page["linked"]["domainprints"].as_array().unwrap().len(), 1);
            assert_eq!(page["blacklist"]["visitor"], Value::Null);
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
        assert_eq!(seen, newest_first, "{shape:?}");

        // A time range: the middle three seconds.
        let from = impressio_ts(&h, &ids[1]).await;
        let to = impressio_ts(&h, &ids[3]).await;
        let a = h
            .invoke(&call(
                shape,
                "GET",
                &format!("/v1/visitors/{visitor}?from={from}&to={to}"),
                Some(&key),
                None,
            ))
            .await;
        let got: Vec<String> = a.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["requestId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, vec![ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    }

    // Label an event: stored, returned by both reads; labelling again replaces it.
    let fb = json!({"label": "fraud", "reason": "chargeback 2026-12-01"}).to_string();
    let a = h
        .invoke(&call(
            Shape::FunctionUrl,
            "POST",
            &format!("/v1/events/{}/feedback", ids[4]),
            Some(&key),
            Some(&fb),
        ))
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["feedback"]["label"], "fraud");
    let b = h
        .invoke(&call(
            Shape::CloudFront,
            "GET",
            &format!("/v1/events/{}", ids[4]),
            Some(&key),
            None,
        ))
        .await
        .json();
    assert_eq!(
        (b["feedback"]["label"].as_str(), b["feedback"]["reason"].as_str()),
        (Some("fraud"), Some("chargeback 2026-12-01"))
    );
    let fb = json!({"label": "legitimate"}).to_string();
    let a = h
        .invoke(&call(
            Shape::CloudFront,
            "POST",
            &format!("/v1/events/{}/feedback", ids[4]),
            Some(&key),
            Some(&fb),
        ))
        .await;
    assert_eq!(a.status, 200);
    let page = h
        .invoke(&call(
            Shape::CloudFront,
            "GET",
            &format!("/v1/visitors/{visitor}?limit=1"),
            Some(&key),
            None,
        ))
        .await
        .json();
    assert_eq!(page["events"][0]["requestId"], ids[4].as_str());
    assert_eq!(page["events"][0]["feedback"]["label"], "legitimate");
    assert_eq!(page["events"][0]["feedback"]["reason"], Value::Null);
    assert_eq!(h.items_of_type("feedback").await.len(), 1, "one label per event");
}

/// The stored `ts` of a request.
async fn impressio_ts(h: &Harness, request_id: &str) -> i64 {
    h.records(request_id).await[0].ts
}

#[tokio::test]
async fn a_key_reads_only_its_own_organization_and_every_wrong_key_is_one_401() {
    let h = Harness::new().await;
    let (visitor, ids) = visitor_with_events(&h, "org_demo_pro", "fpServerApi02", 1, "u").await;
    let own = demo_key("org_demo_pro");
    let other = demo_key("org_demo_starter");
    let event = format!("/v1/events/{}", ids[0]);
    let visitor_path = format!("/v1/visitors/{visitor}");
    for shape in [Shape::CloudFront, Shape::FunctionUrl] {
        assert_eq!(
            h.invoke(&call(shape, "GET", &event, Some(&own), None)).await.status,
            200
        );
        // Another organization's valid key finds nothing: the same 404 as an unknown id.
        let a = h.invoke(&call(shape, "GET", &event, Some(&other), None)).await;
        assert_error(&a, 404, "event_not_found");
        let a = h.invoke(&call(shape, "GET", &visitor_path, Some(&other), None)).await;
        assert_error(&a, 404, "visitor_not_found");
        let fb = json!({"label": "fraud"}).to_string();
        let a = h
            .invoke(&call(
                shape,
                "POST",
                &format!("{event}/feedback"),
                Some(&other),
                Some(&fb),
            ))
            .await;
        assert_error(&a, 404, "event_not_found");

        // No key, not a bearer credential: api_key_required with a Bearer challenge.
        let a = h.invoke(&call(shape, "GET", &event, None, None)).await;
        assert_error(&a, 401, "api_key_required");
        assert_eq!(a.header("www-authenticate"), Some(r#"Bearer realm="impressio""#));
        // A wrong secret, an unknown organization, a key of no shape, the server key: one answer.
        let mut bodies = Vec::new();
        for wrong in [
            "org_demo_pro.not-the-right-secret-at-all".to_string(),
            "org_nobody.local-demo-server-api-key".to_string(),
            "local-demo-enterprise-server-key".to_string(),
            format!("{own}x"),
        ] {
            let a = h.invoke(&call(shape, "GET", &event, Some(&wrong), None)).await;
            let mut b = assert_error(&a, 401, "invalid_api_key");
            assert_eq!(
                a.header("www-authenticate"),
                Some(r#"Bearer realm="impressio", error="invalid_token""#)
            );
            assert!(
                !String::from_utf8_lossy(&a.body).contains(&wrong),
                "the key is never echoed"
            );
            b.as_object_mut().unwrap().remove("requestId");
            bodies.push(b);
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    }
}

#[tokio::test]
async fn a_rotated_key_and_its_predecessor_both_work_until_the_predecessor_is_removed() {
    let (new, old) = (
        "org_rot.new-secret-0123456789abcdef",
        "org_rot.old-secret-0123456789abcdef",
    );
    let orgs = |previous: Option<&str>| {
        json!([{"id": "org_rot", "plan": "free", "domains": ["shop.example"],
            "api_key_sha256": ServerKeyDigest::of_key(new).to_hex(),
            "api_key_previous_sha256": previous.map(|p| ServerKeyDigest::of_key(p).to_hex())}])
    };
    let during = Harness::with_organizations(&orgs(Some(old)), EdgeConfig::default()).await;
    let after = Harness::with_organizations(&orgs(None), EdgeConfig::default()).await;
    let (_, ids) = visitor_with_events(&during, "org_rot", "fpServerApi03", 1, "u").await;
    let path = format!("/v1/events/{}", ids[0]);
    for key in [new, old] {
        assert_eq!(
            during
                .invoke(&call(Shape::CloudFront, "GET", &path, Some(key), None))
                .await
                .status,
            200,
            "{key}"
        );
    }
    let (_, ids) = visitor_with_events(&after, "org_rot", "fpServerApi03", 1, "u").await;
    let path = format!("/v1/events/{}", ids[0]);
    assert_eq!(
        after
            .invoke(&call(Shape::CloudFront, "GET", &path, Some(new), None))
            .await
            .status,
        200
    );
    assert_error(
        &after
            .invoke(&call(Shape::CloudFront, "GET", &path, Some(old), None))
            .await,
        401,
        "invalid_api_key",
    );
}

/// A refused call: method, target, body, then the status, error code and parameter named.
type Case = (
    &'static str,
    String,
    Option<String>,
    u16,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn malformed_ids_cursors_limits_bodies_and_labels_are_precise_4xx_and_change_nothing() {
    let h = Harness::new().await;
    let key = demo_key("org_demo_pro");
    let (visitor, ids) = visitor_with_events(&h, "org_demo_pro", "fpServerApi04", 1, "u").await;
    let event = format!("/v1/events/{}", ids[0]);
    let items = h.item_count().await;
    let unknown = "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7b";
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/v1/events/not-a-uuid".into(),
            None,
            400,
            "invalid_parameter",
            Some("requestId"),
        ),
        (
            "GET",
            format!("/v1/events/{}", ids[0].to_uppercase()),
            None,
            400,
            "invalid_parameter",
            Some("requestId"),
        ),
        (
            "GET",
            format!("/v1/events/{unknown}"),
            None,
            404,
            "event_not_found",
            None,
        ),
        (
            "GET",
            format!("/v1/visitors/{unknown}"),
            None,
            404,
            "visitor_not_found",
            None,
        ),
        (
            "GET",
            "/v1/visitors/12345".into(),
            None,
            400,
            "invalid_parameter",
            Some("visitorId"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?limit=0"),
            None,
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?limit=101"),
            None,
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?limit=05"),
            None,
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?limit=%2B5"),
            None,
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?limit=abc"),
            None,
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?cursor=bm90LWEtY3Vyc29y"),
            None,
            400,
            "invalid_parameter",
            Some("cursor"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?from=20&to=10"),
            None,
            400,
            "invalid_parameter",
            Some("from"),
        ),
        (
            "GET",
            format!("/v1/visitors/{visitor}?from=1795000000001&to=1795000000000"),
            None,
            400,
            "invalid_parameter",
            Some("from"),
        ),
        ("GET", event.clone(), Some("{}".into()), 400, "body_not_allowed", None),
        ("DELETE", event.clone(), None, 405, "method_not_allowed", None),
        ("GET", "/v1/nothing-here".into(), None, 404, "route_not_found", None),
        (
            "POST",
            format!("{event}/feedback"),
            Some(r#"{"label":"spam"}"#.into()),
            400,
            "invalid_document",
            None,
        ),
        (
            "POST",
            format!("{event}/feedback"),
            Some(r#"{"label":"fraud","extra":1}"#.into()),
            400,
            "invalid_document",
            None,
        ),
        (
            "POST",
            format!("{event}/feedback"),
            Some(r#"{"label":"fraud""#.into()),
            400,
            "malformed_json",
            None,
        ),
        (
            "POST",
            format!("{event}/feedback"),
            Some(json!({"label": "fraud", "reason": "x".repeat(501)}).to_string()),
            400,
            "invalid_parameter",
            Some("reason"),
        ),
        (
            "POST",
            format!("{event}/feedback"),
            Some(json!({"label": "fraud", "reason": "x".repeat(5000)}).to_string()),
            413,
            "body_too_large",
            None,
        ),
        (
            "POST",
            format!("/v1/events/{unknown}/feedback"),
            Some(r#"{"label":"fraud"}"#.into()),
            404,
            "event_not_found",
            None,
        ),
        (
            "GET",
            format!("{event}/feedback"),
            None,
            405,
            "method_not_allowed",
            None,
        ),
    ];
    for shape in [Shape::CloudFront, Shape::FunctionUrl] {
        for (method, target, body, status, code, parameter) in &cases {
            let a = h
                .invoke(&call(shape, method, target, Some(&key), body.as_deref()))
                .await;
            let b = assert_error(&a, *status, code);
            if let Some(p) = parameter {
                assert_eq!(b["parameter"], *p, "{method} {target}: {b}");
            }
        }
    }
    assert_eq!(h.item_count().await, items, "no refused call wrote anything");
}

#[tokio::test]
async fn labels_export_as_a_backtesting_corpus_and_a_configuration_is_scored_against_them() {
    // Observed, so the scripted client's events are stored (and labeled) rather than refused.
    let config = EdgeConfig {
        fraud: impressio::fraud::FraudConfig::with_override(r#"{"mode": "observe"}"#).unwrap(),
        ..EdgeConfig::default()
    };
    let h = Harness::with_config(config).await;
    let key = demo_key("org_demo_pro");
    let (_, people) = visitor_with_events(&h, "org_demo_pro", "fpServerApi05", 3, "u-1").await;
    let mut scripted = Vec::new();
    for i in 0..2 {
        let body = json!({"organizationId": "org_demo_pro", "event": "login", "userId": format!("victim-{i}")});
        let ua = [
            ("User-Agent", "python-requests/2.32.3"),
            ("sec-ch-ua", ""),
            ("Sec-Fetch-Mode", ""),
        ];
        let a = h.invoke(&cloudfront_track("203.0.113.66", &ua, &body)).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        scripted.push(a.json()["requestId"].as_str().unwrap().to_string());
    }
    let label = |id: &str, label: &str| {
        call(
            Shape::CloudFront,
            "POST",
            &format!("/v1/events/{id}/feedback"),
            Some(&key),
            Some(&json!({"label": label}).to_string()),
        )
    };
    for id in &people {
        assert_eq!(h.invoke(&label(id, "legitimate")).await.status, 200);
    }
    for id in &scripted {
        assert_eq!(h.invoke(&label(id, "fraud")).await.status, 200);
    }
    // Another organization's label is not in this one's corpus.
    let (_, other) = visitor_with_events(&h, "org_demo_starter", "fpServerApi06", 1, "u-2").await;
    let other_label = call(
        Shape::CloudFront,
        "POST",
        &format!("/v1/events/{}/feedback", other[0]),
        Some(&demo_key("org_demo_starter")),
        Some(r#"{"label":"fraud"}"#),
    );
    assert_eq!(h.invoke(&other_label).await.status, 200);

    let labeled = impressio::server_api::labels::labeled_events(&h.client, &h.table, "org_demo_pro", 0, i64::MAX / 2)
        .await
        .unwrap();
    assert_eq!(labeled.len(), 5);
    let corpus: Vec<String> = labeled.iter().map(|l| l.corpus_line().to_string()).collect();
    let report = impressio::backtest::backtest(
        corpus.iter().map(String::as_str),
        &impressio::fraud::FraudConfig::default(),
    );
    assert_eq!((report.events, report.fraud, report.legitimate), (5, 2, 3));
    assert!(report.unreadable.is_empty());
    // The scripted client is blocked, the browser is not: every label agrees at `block`.
    let b = report.config.block;
    assert_eq!(
        (b.true_positives, b.false_positives, b.false_negatives, b.true_negatives),
        (2, 0, 0, 3)
    );
    assert_eq!((b.precision, b.recall), (Some(1.0), Some(1.0)));
    // What ran decided the same (observed: the action is stored, not enforced).
    assert_eq!(report.stored.block, b);
}

#[tokio::test]
async fn every_client_map_follows_one_key_rule_and_an_unreadable_item_is_named_not_an_outage() {
    use integration_tests::harness::{track_in, SHAPES};
    let h = Harness::new().await;
    let long = "k".repeat(200);
    let refused = [
        (json!({"digitalData": {"": 1}}), "digitalData."),
        (json!({"digitalData": {long.clone(): 1}}), "digitalData.kkkk"),
        (json!({"digitalData": {"page\u{202E}gpj": 1}}), "digitalData.page"),
        (json!({"properties": {"cart": {"": 1}}}), "properties.cart."),
        (json!({"properties": {"a\u{2066}b": 1}}), "properties.a"),
    ];
    for shape in SHAPES {
        for (extra, path) in &refused {
            let mut body = json!({"organizationId": "org_demo_pro", "fingerprint": "fpKeyRule01"});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let a = h.invoke(&track_in(shape, "198.51.100.7", &[], &body)).await;
            let b = assert_error(&a, 400, "invalid_field");
            assert!(b["field"].as_str().unwrap().starts_with(path), "{shape}: {b}");
            assert!(h.records(&a.request_id()).await.is_empty());
        }
    }
    // A stored event that no longer reads back (here: altered by hand) is named, with its own
    // code; the table is not unavailable.
    let key = demo_key("org_demo_pro");
    let (visitor, ids) = visitor_with_events(&h, "org_demo_pro", "fpUnreadable01", 2, "user-u").await;
    h.client
        .update_item()
        .table_name(&h.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("REQ#{}", ids[1])),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("EVENT".into()))
        .update_expression("SET risk = :bad")
        .expression_attribute_values(
            ":bad",
            aws_sdk_dynamodb::types::AttributeValue::S("not an assessment".into()),
        )
        .send()
        .await
        .unwrap();
    for shape in [Shape::CloudFront, Shape::FunctionUrl] {
        let a = h
            .invoke(&call(shape, "GET", &format!("/v1/events/{}", ids[1]), Some(&key), None))
            .await;
        let b = assert_error(&a, 500, "unreadable_item");
        assert!(b["message"].as_str().unwrap().contains(&ids[1]), "{b}");
        let a = h
            .invoke(&call(
                shape,
                "GET",
                &format!("/v1/visitors/{visitor}"),
                Some(&key),
                None,
            ))
            .await;
        assert_error(&a, 500, "unreadable_item");
        // The other event still reads.
        let a = h
            .invoke(&call(shape, "GET", &format!("/v1/events/{}", ids[0]), Some(&key), None))
            .await;
        assert_eq!(a.status, 200);
    }
}
