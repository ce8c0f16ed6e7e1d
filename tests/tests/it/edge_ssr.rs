//! Server-side events through the edge function, on moto server: `POST /t` with the
//! organization's server key (`Authorization: Bearer …`) and the end user in `forwarded`.
//! Authentication (401 with a Bearer challenge, no hint whether a key exists), the plan gate,
//! the forwarded fields' validation, what is stored and scored about whom (the forwarded end
//! user, not the calling server), the blacklist on the forwarded address, and the key never
//! leaving the request.

use impressio::config::EdgeConfig;
use impressio::event::EventRecord;
use impressio::fraud::composite::NOT_APPLICABLE;
use impressio::fraud::Component;
use impressio::fraud::Level;
use impressio::org::ServerKeyDigest;
use integration_tests::harness::{with_chrome_headers, Answer, Harness};
use serde_json::{json, Value};

/// The enterprise demo organization's server key (README, "Server-side events").
const DEMO_KEY: &str = "local-demo-enterprise-server-key";
const CHROME_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// The calling server's address.
const SERVER_IP: &str = "192.0.2.10";

/// A CloudFront origin-request event of `POST /t` as an organization's backend sends it: an
/// HTTP library's User-Agent and TLS client, HTTP/1.1, from AWS (a datacenter ASN) in
/// Ashburn. `authorization` is the header's whole value.
fn server_call(authorization: Option<&str>, body: &Value, extra: &[(&str, &str)]) -> String {
    let mut headers = vec![
        ("Host", "t.shop.example"),
        ("Content-Type", "application/json"),
        ("User-Agent", "python-requests/2.32.3"),
        ("Accept", "*/*"),
        ("CloudFront-Viewer-Address", "192.0.2.10:51234"),
        ("CloudFront-Viewer-ASN", "16509"),
        (
            "CloudFront-Viewer-JA4-Fingerprint",
            "t13d181000_85036bcba153_d41ae481755e",
        ),
        ("CloudFront-Viewer-TLS", "TLSv1.3:TLS_AES_256_GCM_SHA384:fullHandshake"),
        ("CloudFront-Viewer-Http-Version", "1.1"),
        ("CloudFront-Viewer-Country", "US"),
        ("CloudFront-Viewer-City", "Ashburn"),
        ("CloudFront-Viewer-Latitude", "39.04370"),
        ("CloudFront-Viewer-Longitude", "-77.48750"),
        (
            "CloudFront-Viewer-Header-Order",
            "Host:User-Agent:Accept-Encoding:Accept:Connection:Authorization:Content-Type:Content-Length",
        ),
        ("CloudFront-Viewer-Header-Count", "8"),
    ];
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    for (k, v) in extra {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        if !v.is_empty() {
            headers.push((k, v));
        }
    }
    cloudfront_post(&headers, body)
}

fn cloudfront_post(headers: &[(&str, &str)], body: &Value) -> String {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    json!({"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": {
        "clientIp": SERVER_IP, "method": "POST", "uri": "/t", "querystring": "", "headers": h,
        "body": {"inputTruncated": false, "encoding": "text", "data": body.to_string()}}}}]})
    .to_string()
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// An event for `org` about the end user at `ip`.
fn event(org: &str, ip: &str, fingerprint: &str) -> Value {
    json!({"organizationId": org, "event": "purchase", "fingerprint": fingerprint, "userId": "customer-42",
        "url": "https://shop.example/checkout/done", "properties": {"order": "A-1001", "total": 59.9},
        "forwarded": {"ip": ip, "userAgent": CHROME_UA, "acceptLanguage": "de-DE,de;q=0.9"}})
}

/// A harness whose organizations are `orgs` (a JSON array as `infra/organizations/local.json`).
async fn with_organizations(orgs: Value) -> Harness {
    Harness::with_organizations(&orgs, EdgeConfig::default()).await
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["error"], code);
}

/// The answer body without its request id, to compare two refusals.
fn body_without_request_id(a: &Answer) -> Value {
    let mut b = a.json();
    b.as_object_mut().unwrap().remove("requestId");
    b
}

#[tokio::test]
async fn an_enterprise_server_side_event_is_stored_about_the_forwarded_end_user() {
    let h = Harness::new().await;
    let a = h
        .invoke(&server_call(
            Some(&bearer(DEMO_KEY)),
            &event("org_demo_enterprise", "203.0.113.50", "fpServerSide01"),
            &[],
        ))
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let body = a.json();
    assert_eq!(body["stored"], true);
    assert_eq!(body["identity"]["isNew"], true);
    // Judged as the end user: a clean Chrome, whatever the server's transport looks like.
    assert_eq!(body["risk"]["level"], "low", "{body}");
    assert_eq!(body["risk"]["score"], 0.0, "{body}");
    // An answer to a server: no cookie, no CORS.
    for header in [
        "set-cookie",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "vary",
    ] {
        assert_eq!(a.header(header), None, "{header}");
    }

    let r: &EventRecord = &h.records(&a.request_id()).await[0];
    assert!(r.server_side);
    assert_eq!(r.server_ip.as_deref(), Some(SERVER_IP));
    assert_eq!(r.context.ip.as_deref(), Some("203.0.113.50"));
    assert_eq!(r.context.user_agent.as_deref(), Some(CHROME_UA));
    assert_eq!(r.context.accept_language.as_deref(), Some("de-DE,de;q=0.9"));
    assert_eq!(r.context.origin, None);
    // The server's CloudFront facts (AWS, Ashburn, its JA4) are not recorded as the visitor's.
    assert_eq!(r.context.viewer, impressio::http::ViewerMetadata::default());
    assert_eq!(r.user_id.as_deref(), Some("customer-42"));
    assert_eq!(r.site.as_deref(), Some("shop.example"));
    assert_eq!(r.event_name, "purchase");
    assert_eq!(r.organization.unwrap().plan, impressio::org::Plan::Enterprise);

    let risk = r.risk.as_ref().unwrap();
    // What judges the request's transport, or what only the collector script sends.
    let transport = [
        "ja4_tls",
        "ja4_context",
        "ja4_structure",
        "datacenter",
        "http2",
        "webrtc",
        "credential_stuffing",
        "ja4_session_hopping",
        "collector_token",
    ];
    let registered: Vec<_> = Component::ALL
        .iter()
        .filter(|c| c.judges_transport())
        .map(|c| c.name())
        .collect();
    assert_eq!(registered, transport);
    for name in transport {
        let c = &risk.breakdown[name];
        assert_eq!((c.score, c.weight, c.contribution), (0.0, 0.0, 0.0), "{name}");
        assert_eq!(c.reasons[0].code, NOT_APPLICABLE, "{name}");
        assert_eq!(c.reasons[0].message, "not applicable: server-side event", "{name}");
    }
    for name in ["headless", "bot_user_agent", "ip_rate", "visitor_velocity"] {
        assert!(risk.breakdown[name].weight > 0.0, "{name} is judged");
    }

    // Neither the key nor its digest is in the answer or anywhere in the stored items.
    let digest = ServerKeyDigest::of_key(DEMO_KEY).to_hex();
    let answer_text = String::from_utf8_lossy(&a.body).to_string();
    let stored_text = format!("{:?}", h.story(&a.request_id()).await);
    for secret in [DEMO_KEY, digest.as_str()] {
        assert!(!answer_text.contains(secret), "the answer carries {secret}");
        assert!(!stored_text.contains(secret), "the record carries {secret}");
    }
}

#[tokio::test]
async fn the_calling_servers_datacenter_asn_does_not_raise_the_vpn_layer() {
    let h = Harness::new().await;
    // From a browser, AWS's ASN scores the datacenter layer…
    let mut headers = vec![("Content-Type", "application/json"), ("Origin", "https://shop.example")];
    headers.extend([
        ("CloudFront-Viewer-ASN", "16509"),
        ("CloudFront-Viewer-Address", "198.51.100.70:4000"),
    ]);
    let browser = h
        .invoke(&cloudfront_post(
            &with_chrome_headers(&headers),
            &json!({"organizationId": "org_demo_enterprise", "fingerprint": "fpBrowserOnAws"}),
        ))
        .await;
    assert_eq!(browser.status, 200);
    assert_eq!(browser.json()["risk"]["breakdown"]["datacenter"]["score"], 40.0);
    // …from the organization's server on AWS, forwarding a home user, it does not.
    let a = h
        .invoke(&server_call(
            Some(&bearer(DEMO_KEY)),
            &event("org_demo_enterprise", "203.0.113.51", "fpServerSide02"),
            &[("CloudFront-Viewer-ASN", "14618")],
        ))
        .await;
    assert_eq!(a.status, 200);
    let dc = &a.json()["risk"]["breakdown"]["datacenter"];
    assert_eq!(
        (dc["score"].as_f64(), dc["weight"].as_f64()),
        (Some(0.0), Some(0.0)),
        "{dc}"
    );
    assert_eq!(h.records(&a.request_id()).await[0].context.viewer.asn, None);
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401_with_a_bearer_challenge() {
    let h = Harness::new().await;
    let body = event("org_demo_enterprise", "203.0.113.52", "fpServerSide03");
    for authorization in [
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer two words"),
        Some("local-demo-enterprise-server-key"),
    ] {
        let a = h.invoke(&server_call(authorization, &body, &[])).await;
        assert_error(&a, 401, "server_key_required");
        assert_eq!(a.header("www-authenticate"), Some(r#"Bearer realm="impressio""#));
        assert!(
            !String::from_utf8_lossy(&a.body).contains("dXNlcjpwYXNz"),
            "never echoed"
        );
        assert!(h.records(&a.request_id()).await.is_empty());
    }
    // A body forwarding an end user without any Authorization (and no Origin: not a browser).
    let a = h.invoke(&server_call(None, &body, &[])).await;
    assert_error(&a, 401, "server_key_required");
    assert_eq!(a.header("www-authenticate"), Some(r#"Bearer realm="impressio""#));
    assert!(a.json()["message"].as_str().unwrap().contains("Authorization"));
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn a_wrong_key_and_an_organization_without_a_key_get_the_same_401() {
    let h = with_organizations(json!([
        {"id": "org_ent_keyed", "plan": "enterprise", "domains": ["shop.example"],
         "server_key_sha256": ServerKeyDigest::of_key("keyed-org-key").to_hex()},
        {"id": "org_ent_keyless", "plan": "enterprise", "domains": ["shop.example"]},
    ]))
    .await;
    let wrong = h
        .invoke(&server_call(
            Some(&bearer("not-the-key")),
            &event("org_ent_keyed", "203.0.113.53", "fpServerSide04"),
            &[],
        ))
        .await;
    let keyless = h
        .invoke(&server_call(
            Some(&bearer("keyed-org-key")),
            &event("org_ent_keyless", "203.0.113.53", "fpServerSide04"),
            &[],
        ))
        .await;
    for a in [&wrong, &keyless] {
        assert_error(a, 401, "invalid_server_key");
        assert_eq!(
            a.header("www-authenticate"),
            Some(r#"Bearer realm="impressio", error="invalid_token""#)
        );
    }
    assert_eq!(body_without_request_id(&wrong), body_without_request_id(&keyless));
    // Another organization's key is a wrong key too.
    let other = h
        .invoke(&server_call(
            Some(&bearer(DEMO_KEY)),
            &event("org_ent_keyed", "203.0.113.53", "fpServerSide04"),
            &[],
        ))
        .await;
    assert_error(&other, 401, "invalid_server_key");
    assert_eq!(h.item_count().await, 0);
    // The right key works.
    let ok = h
        .invoke(&server_call(
            Some(&bearer("keyed-org-key")),
            &event("org_ent_keyed", "203.0.113.53", "fpServerSide04"),
            &[],
        ))
        .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn below_enterprise_a_valid_key_is_403_and_the_quota_still_applies() {
    let key = ServerKeyDigest::of_key("pro-org-key").to_hex();
    let h = with_organizations(json!([
        {"id": "org_pro_keyed", "plan": "pro", "domains": ["shop.example"], "server_key_sha256": key},
        {"id": "org_ent_full", "plan": "enterprise", "domains": ["shop.example"], "server_key_sha256": key,
         "events_this_month": 1_000_000},
    ]))
    .await;
    let body = event("org_pro_keyed", "203.0.113.54", "fpServerSide05");
    let a = h.invoke(&server_call(Some(&bearer("pro-org-key")), &body, &[])).await;
    assert_error(&a, 403, "feature_not_in_plan");
    let b = a.json();
    assert_eq!((b["feature"].as_str(), b["plan"].as_str()), (Some("ssr"), Some("pro")));
    assert_eq!(b["requiredPlan"], "enterprise");
    // The key is checked first: without it, a caller learns nothing of the plan.
    let a = h.invoke(&server_call(Some(&bearer("guess")), &body, &[])).await;
    assert_error(&a, 401, "invalid_server_key");

    let full = event("org_ent_full", "203.0.113.54", "fpServerSide05");
    let a = h.invoke(&server_call(Some(&bearer("pro-org-key")), &full, &[])).await;
    assert_error(&a, 429, "quota_exceeded");
    assert!(a.header("retry-after").is_some());
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn bad_forwarded_fields_are_precise_400s() {
    let h = Harness::new().await;
    let key = bearer(DEMO_KEY);
    let mut bad_ip = event("org_demo_enterprise", "203.0.113.300", "fpServerSide06");
    let a = h.invoke(&server_call(Some(&key), &bad_ip, &[])).await;
    assert_error(&a, 400, "invalid_field");
    assert_eq!(a.json()["field"], "forwarded.ip");
    bad_ip["forwarded"]["ip"] = json!("0.0.0.0");
    assert_eq!(
        h.invoke(&server_call(Some(&key), &bad_ip, &[])).await.json()["field"],
        "forwarded.ip"
    );

    let mut no_ua = event("org_demo_enterprise", "203.0.113.55", "fpServerSide06");
    no_ua["forwarded"].as_object_mut().unwrap().remove("userAgent");
    let a = h.invoke(&server_call(Some(&key), &no_ua, &[])).await;
    assert_eq!(
        (a.status, a.json()["field"].as_str()),
        (400, Some("forwarded.userAgent"))
    );

    let mut missing = event("org_demo_enterprise", "203.0.113.55", "fpServerSide06");
    missing.as_object_mut().unwrap().remove("forwarded");
    let a = h.invoke(&server_call(Some(&key), &missing, &[])).await;
    assert_error(&a, 400, "invalid_field");
    assert_eq!(a.json()["field"], "forwarded");

    // A browser may not claim an address, whatever its plan.
    let browser = cloudfront_post(
        &with_chrome_headers(&[("Content-Type", "application/json"), ("Origin", "https://shop.example")]),
        &event("org_demo_enterprise", "203.0.113.55", "fpServerSide06"),
    );
    let a = h.invoke(&browser).await;
    assert_error(&a, 400, "invalid_field");
    assert_eq!(a.json()["field"], "forwarded");
    assert_eq!(a.header("www-authenticate"), None);
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn a_blacklisted_forwarded_ip_is_429_and_the_server_itself_is_not_blocked() {
    let h = Harness::new().await;
    let key = bearer(DEMO_KEY);
    // A headless end user forwarded by the server: critical, refused, and its identifiers
    // (fingerprint, the forwarded IP, the visitor) blacklisted.
    let mut bot = event("org_demo_enterprise", "203.0.113.66", "fpHeadlessUser");
    bot["forwarded"]["userAgent"] = json!(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
    );
    let a = h.invoke(&server_call(Some(&key), &bot, &[])).await;
    assert_error(&a, 403, "risk_blocked");
    let risk = h.records(&a.request_id()).await[0].risk.clone().unwrap();
    assert_eq!(risk.level, Level::Critical);
    assert!(risk.enforced);

    // Another visitor behind the same forwarded IP is refused at the pre-check.
    let same_ip = event("org_demo_enterprise", "203.0.113.66", "fpSomeoneElse");
    let a = h.invoke(&server_call(Some(&key), &same_ip, &[])).await;
    assert_error(&a, 429, "blacklisted");
    assert!(a.header("retry-after").unwrap().parse::<i64>().unwrap() > 0);
    // The server (its address, its JA4) is not blocked: other end users still go through.
    let other = event("org_demo_enterprise", "203.0.113.67", "fpAThirdUser");
    let a = h.invoke(&server_call(Some(&key), &other, &[])).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    // A browser at the blacklisted address is refused too: the blacklist is about the user.
    let browser = cloudfront_post(
        &with_chrome_headers(&[
            ("Content-Type", "application/json"),
            ("Origin", "https://shop.example"),
            ("CloudFront-Viewer-Address", "203.0.113.66:4000"),
        ]),
        &json!({"organizationId": "org_demo_enterprise", "fingerprint": "fpYetAnother"}),
    );
    assert_error(&h.invoke(&browser).await, 429, "blacklisted");
}

#[tokio::test]
async fn a_function_url_call_without_cloudfront_works_the_same() {
    let h = Harness::new().await;
    let body = event("org_demo_enterprise", "2001:db8::42", "fpServerSide07");
    let payload = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/t", "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": bearer(DEMO_KEY),
            "user-agent": "node-fetch/3.3"},
        "requestContext": {"http": {"method": "POST", "path": "/t", "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.20", "userAgent": "node-fetch/3.3"}, "requestId": "r-1",
            "timeEpoch": 1_795_000_000_000i64},
        "body": body.to_string(), "isBase64Encoded": false
    });
    let a = h.invoke(&payload.to_string()).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let r = &h.records(&a.request_id()).await[0];
    assert!(r.server_side);
    assert_eq!(r.context.ip.as_deref(), Some("2001:db8::42"));
    assert_eq!(r.server_ip.as_deref(), Some("192.0.2.20"));
}

#[tokio::test]
async fn the_domainprint_goes_to_the_server_which_sends_it_back_for_the_fast_path() {
    let h = Harness::new().await;
    let key = bearer(DEMO_KEY);
    let first = h
        .invoke(&server_call(
            Some(&key),
            &event("org_demo_enterprise", "203.0.113.80", "fpServerSide08"),
            &[],
        ))
        .await;
    assert_eq!(first.status, 200);
    let identity = &first.json()["identity"];
    let domainprint = identity["domainprint"].as_str().expect("a server gets the domainprint");
    assert_eq!(identity["isNew"], true);
    let mut again = event("org_demo_enterprise", "203.0.113.80", "fpServerSide08");
    again["domainprint"] = json!(domainprint);
    let second = h.invoke(&server_call(Some(&key), &again, &[])).await;
    assert_eq!(second.status, 200);
    let identity2 = &second.json()["identity"];
    assert_eq!(identity2["visitorId"], identity["visitorId"]);
    assert_eq!(identity2["method"], "cookie_and_fingerprint");
    assert_eq!(identity2["domainprint"], domainprint, "no new domainprint minted");
    // A browser gets it both ways: the HttpOnly cookie, and in the answer for the collector's
    // copy (used where the cookie does not come back).
    let browser = cloudfront_post(
        &with_chrome_headers(&[("Content-Type", "application/json"), ("Origin", "https://shop.example")]),
        &json!({"organizationId": "org_demo_enterprise", "fingerprint": "fpServerSide08"}),
    );
    let a = h.invoke(&browser).await;
    assert_eq!(a.status, 200);
    let cookie = a
        .header("set-cookie")
        .expect("the cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        cookie,
        format!("_impdp={}", a.json()["identity"]["domainprint"].as_str().unwrap())
    );
}
