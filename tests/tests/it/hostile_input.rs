//! Hostile input through both event shapes: deep nesting, numbers DynamoDB cannot store or
//! readers cannot read exactly, NUL bytes, invalid UTF-8, bad base64, ten thousand headers,
//! absurd CloudFront-Viewer values, duplicate keys, control characters in keys. Every case gets
//! its precise answer (a 4xx naming the problem, the GIF for pixel GETs, or a 200 where the
//! input is acceptable) and none a 5xx; nothing is stored for a refused one.

use base64::Engine;
use integration_tests::harness::{with_chrome_headers, Answer, Harness};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug)]
enum Shape {
    CloudFront,
    FunctionUrl,
}

const SHAPES: [Shape; 2] = [Shape::CloudFront, Shape::FunctionUrl];

/// A request in `shape`; `body` is raw bytes (sent base64-encoded, so any byte reaches us).
/// Each from its own address: the session-hopping layer would rightly block one address
/// presenting many visitors.
fn event(
    shape: Shape,
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> String {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    let ip = format!("203.0.113.{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match shape {
        Shape::CloudFront => {
            let mut h = serde_json::Map::new();
            for (k, v) in headers {
                let list = h.entry(k.to_ascii_lowercase()).or_insert_with(|| json!([]));
                list.as_array_mut().unwrap().push(json!({"key": k, "value": v}));
            }
            let mut req = json!({"clientIp": ip, "method": method, "uri": path, "querystring": query, "headers": h});
            if let Some(b) = body {
                req["body"] = json!({"inputTruncated": false, "encoding": "base64", "data": b64(b)});
            }
            json!({"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": req}}]}).to_string()
        }
        Shape::FunctionUrl => {
            let h: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
                .collect();
            let mut ev = json!({"version": "2.0", "rawPath": path, "rawQueryString": query, "headers": h,
                "requestContext": {"http": {"method": method, "path": path, "sourceIp": ip}},
                "isBase64Encoded": true});
            if let Some(b) = body {
                ev["body"] = json!(b64(b));
            }
            ev.to_string()
        }
    }
}

fn browser_headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs = vec![("Content-Type", "application/json"), ("Origin", "https://shop.example")];
    pairs.extend_from_slice(extra);
    with_chrome_headers(&pairs)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn track(shape: Shape, body: &[u8]) -> String {
    event(shape, "POST", "/t", "", &browser_headers(&[]), Some(body))
}

/// What a case must be answered with.
enum Expect {
    /// This status and error code; nothing stored.
    Refused(u16, &'static str),
    /// `400 invalid_field` naming this field (or path).
    Field(&'static str),
    /// Stored (200).
    Stored,
    /// The pixel's GIF with this status.
    Gif(u16),
}

async fn check(h: &Harness, name: &str, shape: Shape, payload: &str, expect: &Expect) {
    let a: Answer = h.invoke(payload).await;
    assert!(
        a.status < 500,
        "{name} ({shape:?}): {} {:?}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    let rid = a.request_id();
    match expect {
        Expect::Refused(status, code) => {
            assert_eq!(
                (a.status, a.json()["error"].as_str()),
                (*status, Some(*code)),
                "{name} ({shape:?}): {}",
                a.json()
            );
            assert!(h.records(&rid).await.is_empty(), "{name}: nothing stored");
        }
        Expect::Field(field) => {
            let body = a.json();
            assert_eq!(
                (a.status, body["error"].as_str()),
                (400, Some("invalid_field")),
                "{name} ({shape:?}): {body}"
            );
            assert_eq!(body["field"], *field, "{name} ({shape:?}): {body}");
            assert!(h.records(&rid).await.is_empty(), "{name}: nothing stored");
        }
        Expect::Stored => {
            assert_eq!(
                a.status,
                200,
                "{name} ({shape:?}): {:?}",
                String::from_utf8_lossy(&a.body)
            );
            assert_eq!(h.records(&rid).await.len(), 1, "{name}: stored once");
        }
        Expect::Gif(status) => {
            assert_eq!(a.status, *status, "{name} ({shape:?})");
            assert_eq!(a.header("content-type"), Some("image/gif"), "{name} ({shape:?})");
            assert_eq!(a.body.len(), 43, "{name} ({shape:?}): the GIF");
        }
    }
}

#[tokio::test]
async fn hostile_bodies_get_precise_answers_in_both_shapes() {
    let h = Harness::new().await;
    let org = "org_demo_starter";
    let props = |p: &str| format!(r#"{{"organizationId":"{org}","properties":{p}}}"#);
    let deep_props = format!(
        r#"{{"organizationId":"{org}","properties":{{"a":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let deep_doc = format!(
        r#"{{"organizationId":"{org}","properties":{}}}"#,
        "{\"a\":".repeat(5000) + "1" + &"}".repeat(5000)
    );
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "huge number",
            props(r#"{"price":1e200}"#).into(),
            Expect::Field("properties.price"),
        ),
        (
            "huge negative number",
            props(r#"{"x":{"y":[1,-1e300]}}"#).into(),
            Expect::Field("properties.x.y[1]"),
        ),
        (
            "tiny number",
            props(r#"{"p":1e-131}"#).into(),
            Expect::Field("properties.p"),
        ),
        (
            "number below a double's range, which parsing reads as 0",
            props(r#"{"p":{"q":[0, 1e-400]}}"#).into(),
            Expect::Field("properties.p.q[1]"),
        ),
        (
            "data layer number below a double's range",
            format!(r#"{{"organizationId":"{org}","digitalData":{{"t":-2.5E-999}}}}"#).into(),
            Expect::Field("digitalData.t"),
        ),
        (
            "integer beyond 2^53",
            props(r#"{"id":99999999999999999999999999999999}"#).into(),
            Expect::Field("properties.id"),
        ),
        (
            "u64 integer",
            props(r#"{"id":18446744073709551615}"#).into(),
            Expect::Field("properties.id"),
        ),
        (
            "huge component",
            format!(r#"{{"organizationId":"{org}","components":{{"screen":[1920,1e200]}}}}"#).into(),
            Expect::Field("components.screen[1]"),
        ),
        (
            "huge data layer number",
            format!(r#"{{"organizationId":"{org}","digitalData":{{"cart":{{"total":-1e300}}}}}}"#).into(),
            Expect::Field("digitalData.cart.total"),
        ),
        (
            "timestamp of u64::MAX",
            format!(r#"{{"organizationId":"{org}","timestamp":18446744073709551615}}"#).into(),
            Expect::Field("timestamp"),
        ),
        (
            "timestamp in 1970",
            format!(r#"{{"organizationId":"{org}","timestamp":5}}"#).into(),
            Expect::Field("timestamp"),
        ),
        (
            "exact numbers",
            props(r#"{"a":9007199254740991,"b":-0.5,"c":1e-130,"d":0}"#).into(),
            Expect::Stored,
        ),
        (
            "nested arrays past the depth rule",
            deep_props.into(),
            Expect::Field("properties"),
        ),
        (
            "5000 levels of objects",
            deep_doc.into(),
            Expect::Refused(400, "malformed_json"),
        ),
        (
            "duplicate property key",
            props(r#"{"a":1,"a":2}"#).into(),
            Expect::Refused(400, "invalid_document"),
        ),
        (
            "duplicate nested key",
            props(r#"{"a":{"b":1,"b":1}}"#).into(),
            Expect::Refused(400, "invalid_document"),
        ),
        (
            "duplicate top-level field",
            format!(r#"{{"organizationId":"{org}","organizationId":"{org}"}}"#).into(),
            Expect::Refused(400, "invalid_document"),
        ),
        (
            "control character in a key",
            props(r#"{"a\u0007b":1}"#).into(),
            Expect::Field("properties.a\\u{7}b"),
        ),
        (
            "NUL in a key",
            props(r#"{"k\u0000":1}"#).into(),
            Expect::Field("properties.k\\0"),
        ),
        (
            "NUL in a property value",
            props(r#"{"k":"a\u0000b"}"#).into(),
            Expect::Stored,
        ),
        (
            "NUL in the title",
            format!(r#"{{"organizationId":"{org}","title":"a\u0000b"}}"#).into(),
            Expect::Field("title"),
        ),
        (
            "invalid UTF-8",
            b"{\"organizationId\":\"\xff\xfe\"}".to_vec(),
            Expect::Refused(400, "invalid_utf8"),
        ),
        ("bare NUL bytes", vec![0u8; 64], Expect::Refused(400, "malformed_json")),
    ];
    for shape in SHAPES {
        for (name, body, expect) in &cases {
            check(&h, name, shape, &track(shape, body), expect).await;
        }
    }
}

#[tokio::test]
async fn hostile_events_get_precise_answers_in_both_shapes() {
    let h = Harness::new().await;
    let body = br#"{"organizationId":"org_demo_starter"}"#;
    let pixel_query = "organizationId=org_demo_starter&event=email_open";
    for shape in SHAPES {
        // Bad base64 where the event says base64.
        let bad_b64 = match shape {
            Shape::CloudFront => track(shape, body).replace(
                &base64::engine::general_purpose::STANDARD.encode(body),
                "%%% not base64 %%%",
            ),
            Shape::FunctionUrl => {
                let mut v: Value = serde_json::from_str(&track(shape, body)).unwrap();
                v["body"] = json!("%%% not base64 %%%");
                v.to_string()
            }
        };
        check(
            &h,
            "bad base64",
            shape,
            &bad_b64,
            &Expect::Refused(400, "malformed_event"),
        )
        .await;
        // Ten thousand headers.
        let mut many = browser_headers(&[]);
        many.extend((0..10_000).map(|i| (format!("x-h{i}"), "v".to_string())));
        let tracked = event(shape, "POST", "/t", "", &many, Some(body));
        check(
            &h,
            "10k headers",
            shape,
            &tracked,
            &Expect::Refused(431, "too_many_headers"),
        )
        .await;
        let pixel = event(shape, "GET", "/p.gif", pixel_query, &many, None);
        check(&h, "10k headers on the pixel", shape, &pixel, &Expect::Gif(431)).await;
        // Absurd CloudFront-Viewer values: ignored, the event stored.
        let absurd = browser_headers(&[
            ("CloudFront-Viewer-Latitude", "1e309"),
            ("CloudFront-Viewer-Longitude", "-999999"),
            ("CloudFront-Viewer-Address", "not-an-address:99999999"),
            ("CloudFront-Viewer-ASN", "99999999999999999999999"),
            ("CloudFront-Viewer-Header-Count", "-1"),
            ("CloudFront-Viewer-TLS", ":::::"),
            ("CloudFront-Viewer-JA4-Fingerprint", "t99d9999h9_zzzzzzzzzzzz_"),
            ("CloudFront-Viewer-Time-Zone", &"Z".repeat(4000)),
        ]);
        let a = h.invoke(&event(shape, "POST", "/t", "", &absurd, Some(body))).await;
        assert_eq!(
            a.status,
            200,
            "absurd viewer values ({shape:?}): {:?}",
            String::from_utf8_lossy(&a.body)
        );
        let stored = &h.records(&a.request_id()).await[0];
        assert_eq!(
            (stored.context.viewer.latitude, stored.context.viewer.asn),
            (None, None)
        );
        // A header value with a control character: the pixel still answers the GIF.
        let ctl = vec![("User-Agent".to_string(), "Mozilla/5.0\u{1}".to_string())];
        let pixel = event(shape, "GET", "/p.gif", pixel_query, &ctl, None);
        let expect = match shape {
            Shape::CloudFront => Expect::Gif(400),
            // Function URL header values arrive as JSON strings; one with a control character
            // is not an HTTP header value either.
            Shape::FunctionUrl => Expect::Gif(400),
        };
        check(&h, "control character in a pixel header", shape, &pixel, &expect).await;
        let tracked = event(shape, "POST", "/t", "", &ctl, Some(body));
        check(
            &h,
            "control character in a /t header",
            shape,
            &tracked,
            &Expect::Refused(400, "malformed_event"),
        )
        .await;
    }
    // Not an event of either shape, and JSON of the wrong kinds.
    for payload in [
        r#"{"hello": "world"}"#,
        "[1, 2, 3]",
        "\"a string\"",
        "42",
        r#"{"Records": [{"cf": 1}]}"#,
    ] {
        let a = h.invoke(payload).await;
        assert_eq!(
            (a.status, a.json()["error"].as_str()),
            (400, Some("malformed_event")),
            "{payload}"
        );
    }
}

#[tokio::test]
async fn an_event_over_dynamodbs_item_limit_is_413_never_503() {
    // Bodies up to 1 MiB (CloudFront's own limit), so the item, not the body, is too large:
    // 45 properties of 9,000 characters make an item of about 405 KB.
    let h = Harness::with_config(impressio::config::EdgeConfig {
        max_body_bytes: 1 << 20,
        ..impressio::config::EdgeConfig::default()
    })
    .await;
    let props: serde_json::Map<String, Value> = (0..45).map(|i| (format!("p{i}"), json!("x".repeat(9_000)))).collect();
    let body = json!({"organizationId": "org_demo_starter", "properties": props}).to_string();
    for shape in SHAPES {
        check(
            &h,
            "item over 400 KB",
            shape,
            &track(shape, body.as_bytes()),
            &Expect::Refused(413, "item_too_large"),
        )
        .await;
    }
}
