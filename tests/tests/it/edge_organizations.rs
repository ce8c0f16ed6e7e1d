//! Organizations end to end through the edge function: plan gates and limits, domains, CORS
//! for owned and foreign origins, unknown organizations, and Supabase down with and without
//! a cached entry.

use impressio::config::{EdgeConfig, Secret};
use impressio::org::supabase::SupabaseConfig;
use impressio::org::{LookupSource, Plan};
use integration_tests::harness::{with_chrome_headers, Answer, Harness, TEST_NOW_MS};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn event(method: &str, uri: &str, query: &str, headers: &[(&str, &str)], body: Option<serde_json::Value>) -> String {
    // Each request from its own address: these tests are about organizations, not about
    // several new visitors behind one IP (which the session-hopping layer watches).
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let net = ["192.0.2", "198.51.100", "203.0.113"][(n as usize / 250) % 3];
    let address = format!("{net}.{}:4000", 1 + n % 250);
    let mut all = vec![("CloudFront-Viewer-Address", address.as_str())];
    all.extend_from_slice(headers);
    let mut h = serde_json::Map::new();
    for (k, v) in with_chrome_headers(&all) {
        h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    let mut req = json!({"clientIp": "198.51.100.4", "method": method, "uri": uri, "querystring": query, "headers": h});
    if let Some(b) = body {
        req["body"] = json!({"inputTruncated": false, "encoding": "text", "data": b.to_string()});
    }
    json!({"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": req}}]}).to_string()
}

const CT: (&str, &str) = ("Content-Type", "application/json");

fn track(org: &str, origin: &str) -> String {
    event(
        "POST",
        "/t",
        "",
        &[CT, ("Origin", origin)],
        Some(json!({"organizationId": org, "event": "signup"})),
    )
}

fn campaign(org: &str) -> String {
    let body = json!({"organizationId": org, "url": "https://shop.example/?utm_source=news&utm_medium=email"});
    event("POST", "/c", "", &[CT, ("Origin", "https://shop.example")], Some(body))
}

fn script(path: &str, org: &str) -> String {
    event(
        "GET",
        path,
        &format!("organizationId={org}"),
        &[("Referer", "https://shop.example/")],
        None,
    )
}

#[tokio::test]
async fn each_plans_features_are_gated_with_a_precise_403() {
    let h = Harness::new().await;
    let a = h.invoke(&campaign("org_demo_free")).await;
    assert_eq!(a.status, 403);
    let body = a.json();
    assert_eq!(body["error"], "feature_not_in_plan");
    assert_eq!(body["feature"], "campaigns");
    assert_eq!(body["plan"], "free");
    assert_eq!(body["requiredPlan"], "starter");
    assert!(h.records(&a.request_id()).await.is_empty());
    for org in ["org_demo_starter", "org_demo_pro", "org_demo_enterprise"] {
        assert_eq!(h.invoke(&campaign(org)).await.status, 200, "{org}");
    }
    for (org, ok) in [
        ("org_demo_free", false),
        ("org_demo_starter", false),
        ("org_demo_pro", true),
        ("org_demo_enterprise", true),
    ] {
        let a = h.invoke(&script("/h-pro.js", org)).await;
        if ok {
            assert_eq!(a.status, 200, "{org}");
            assert!(String::from_utf8_lossy(&a.body).contains("keyIntervalMeanMs"));
        } else {
            assert_eq!(a.status, 403, "{org}");
            assert_eq!(a.json()["feature"], "behavioral");
            assert_eq!(a.json()["requiredPlan"], "pro");
        }
        assert_eq!(
            h.invoke(&script("/h.js", org)).await.status,
            200,
            "every plan gets /h.js"
        );
    }
}

#[tokio::test]
async fn over_quota_is_429_until_the_next_month() {
    let h = Harness::new().await;
    let a = h.invoke(&track("org_demo_over_quota", "https://shop.example")).await;
    assert_eq!(a.status, 429);
    let body = a.json();
    assert_eq!(body["error"], "quota_exceeded");
    assert_eq!(body["plan"], "free");
    assert_eq!(body["limit"], 10_000);
    assert_eq!(body["used"], 10_000);
    assert_eq!(body["upgradePlan"], "starter");
    // TEST_NOW is 2026-11-18T11:06:40Z; December starts at 1796083200.
    assert_eq!(
        a.header("retry-after"),
        Some((1_796_083_200 - TEST_NOW_MS / 1000).to_string().as_str())
    );
    assert!(h.records(&a.request_id()).await.is_empty());
    let pixel = event("GET", "/p.gif", "organizationId=org_demo_over_quota", &[], None);
    let a = h.invoke(&pixel).await;
    assert_eq!((a.status, a.header("x-tracking-status")), (200, Some("rejected")));
    assert!(a.header("x-tracking-error").unwrap().contains("quota"));
    // Scripts are still served: the events they send are what is refused.
    assert_eq!(h.invoke(&script("/h.js", "org_demo_over_quota")).await.status, 200);
}

#[tokio::test]
async fn domains_subdomains_and_the_plans_domain_limit() {
    let dir = std::env::temp_dir().join(format!("orgs-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orgs.json");
    std::fs::write(
        &file,
        json!([{"id": "org_four", "plan": "starter", "domains": ["a.example", "b.example", "c.example", "d.example"]}])
            .to_string(),
    )
    .unwrap();
    let mut config = EdgeConfig::default();
    config.directory.organizations_file = Some(file);
    let h = Harness::with_config(config).await;
    for (origin, status) in [
        ("https://a.example", 200),
        ("https://www.c.example", 200),
        ("https://d.example", 403), // the fourth domain: starter honors three
        ("https://evil-a.example", 403),
        ("https://a.example.evil.test", 403),
    ] {
        let a = h.invoke(&track("org_four", origin)).await;
        assert_eq!(a.status, status, "{origin}");
        if status == 403 {
            assert_eq!(a.json()["error"], "domain_not_allowed");
        }
    }
    // A Referer stands in for a missing Origin; neither is refused on /t.
    let referer_only = event(
        "POST",
        "/t",
        "",
        &[CT, ("Referer", "https://b.example/page")],
        Some(json!({"organizationId": "org_four"})),
    );
    assert_eq!(h.invoke(&referer_only).await.status, 200);
    let neither = event("POST", "/t", "", &[CT], Some(json!({"organizationId": "org_four"})));
    let a = h.invoke(&neither).await;
    assert_eq!((a.status, a.json()["error"].as_str()), (403, Some("origin_required")));
    // A pixel with neither (an e-mail open) is accepted; with a foreign Referer it is not.
    let a = h
        .invoke(&event("GET", "/o.gif", "organizationId=org_four", &[], None))
        .await;
    assert_eq!(a.header("x-tracking-status"), Some("stored"));
    let a = h
        .invoke(&event(
            "GET",
            "/o.gif",
            "organizationId=org_four",
            &[("Referer", "https://z.example/")],
            None,
        ))
        .await;
    assert_eq!(a.header("x-tracking-status"), Some("rejected"));
}

#[tokio::test]
async fn cors_only_for_the_organizations_domains() {
    let h = Harness::new().await;
    let owned = h.invoke(&track("org_demo_free", "https://shop.example")).await;
    assert_eq!(owned.status, 200);
    assert_eq!(
        owned.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(owned.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(owned.header("vary"), Some("Origin"));
    let foreign = h.invoke(&track("org_demo_free", "https://blog.example")).await;
    assert_eq!(foreign.status, 403, "the free plan honors one domain");
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    assert_eq!(foreign.header("vary"), Some("Origin"));

    let preflight = |org: &str, origin: &str| {
        event(
            "OPTIONS",
            "/t",
            &format!("organizationId={org}"),
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            None,
        )
    };
    let ok = h.invoke(&preflight("org_demo_starter", "https://blog.example")).await;
    assert_eq!(ok.status, 204);
    assert_eq!(ok.header("access-control-allow-origin"), Some("https://blog.example"));
    assert_eq!(ok.header("access-control-allow-methods"), Some("POST, OPTIONS"));
    assert_eq!(ok.header("access-control-allow-headers"), Some("Content-Type"));
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    assert_eq!(ok.header("vary"), Some("Origin"));
    let refused = h.invoke(&preflight("org_demo_starter", "https://evil.example")).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    let no_org = event(
        "OPTIONS",
        "/t",
        "",
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert_eq!(h.invoke(&no_org).await.status, 400);
    // The cookie test names its organization to be readable cross-origin.
    let ct = event(
        "GET",
        "/cookie-test",
        "organizationId=org_demo_free",
        &[("Origin", "https://shop.example")],
        None,
    );
    assert_eq!(
        h.invoke(&ct).await.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
}

#[tokio::test]
async fn unknown_organizations_are_never_served() {
    let h = Harness::new().await;
    let a = h.invoke(&track("org_nobody", "https://shop.example")).await;
    assert_eq!(
        (a.status, a.json()["error"].as_str()),
        (404, Some("unknown_organization"))
    );
    let a = h.invoke(&script("/h.js", "org_nobody")).await;
    assert_eq!(a.status, 404);
    let a = h
        .invoke(&event("GET", "/p.gif", "organizationId=org_nobody", &[], None))
        .await;
    assert_eq!((a.status, a.header("x-tracking-status")), (200, Some("rejected")));
    let mismatch = event(
        "POST",
        "/t",
        "organizationId=org_demo_pro",
        &[CT, ("Origin", "https://shop.example")],
        Some(json!({"organizationId": "org_demo_free"})),
    );
    let a = h.invoke(&mismatch).await;
    assert_eq!((a.status, a.json()["field"].as_str()), (400, Some("organizationId")));
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn stored_events_record_how_the_organization_was_decided() {
    let h = Harness::new().await;
    let a = h.invoke(&track("org_demo_pro", "https://app.example")).await;
    assert_eq!(a.status, 200);
    let r = &h.records(&a.request_id()).await[0];
    let d = r.organization.unwrap();
    assert_eq!(d.plan, Plan::Pro);
    assert_eq!(d.source, LookupSource::Local);
    assert!(!d.stale);
    let again = h.invoke(&track("org_demo_pro", "https://app.example")).await;
    let d = h.records(&again.request_id()).await[0].organization.unwrap();
    assert_eq!(d.source, LookupSource::Memory);
}

async fn supabase_harness(server: &MockServer) -> Harness {
    let mut config = EdgeConfig::default();
    config.directory.supabase = Some(SupabaseConfig {
        url: server.uri(),
        service_key: Secret::new("service-key"),
        timeout_ms: 300,
    });
    Harness::with_config(config).await
}

#[tokio::test]
async fn supabase_down_serves_a_cached_organization_as_stale_and_refuses_the_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/v1/organizations"))
        .and(query_param("id", "eq.org_live"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "org_live", "plan": "starter", "domains": ["shop.example"], "events_this_month": 5, "billing_period_start": "2026-11-01"}
        ])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let h = supabase_harness(&server).await;
    let first = h.invoke(&track("org_live", "https://shop.example")).await;
    assert_eq!(first.status, 200);
    let d = h.records(&first.request_id()).await[0].organization.unwrap();
    assert_eq!((d.source, d.stale), (LookupSource::Supabase, false));

    // Supabase goes down; the in-process entry expires.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    h.clock.advance(10 * 60_000);
    let stale = h.invoke(&track("org_live", "https://shop.example")).await;
    assert_eq!(stale.status, 200, "no legitimate event is lost");
    let d = h.records(&stale.request_id()).await[0].organization.unwrap();
    assert_eq!(d.source, LookupSource::Stale);
    assert!(d.stale);
    assert_eq!(d.age_ms, 10 * 60_000);

    let unknown = h.invoke(&track("org_never_seen", "https://shop.example")).await;
    assert_eq!(unknown.status, 503);
    assert_eq!(unknown.json()["error"], "organization_directory_unavailable");
    assert_eq!(unknown.header("retry-after"), Some("5"));
    assert!(
        !String::from_utf8_lossy(&unknown.body).contains("503"),
        "no internals in the answer"
    );
    let pixel = h
        .invoke(&event("GET", "/p.gif", "organizationId=org_never_seen", &[], None))
        .await;
    assert_eq!((pixel.status, pixel.header("x-tracking-status")), (503, Some("failed")));
    assert_eq!(pixel.body.len(), 43);
}

#[tokio::test]
async fn supabase_down_with_nothing_cached_is_503_not_a_guess() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(800)))
        .mount(&server)
        .await;
    let h = supabase_harness(&server).await;
    let a: Answer = h.invoke(&track("org_live", "https://shop.example")).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.json()["error"], "organization_directory_unavailable");
    assert_eq!(h.item_count().await, 0);
}

#[tokio::test]
async fn a_data_layer_needs_the_starter_plan_and_is_stored_with_the_event() {
    let h = Harness::new().await;
    let with_data = |org: &str| {
        event(
            "POST",
            "/t",
            "",
            &[CT, ("Origin", "https://shop.example")],
            Some(json!({"organizationId": org, "event": "page_view",
                "digitalData": {"page": {"pageInfo": {"pageName": "home"}}, "cart": {"total": 42.5}}})),
        )
    };
    let a = h.invoke(&with_data("org_demo_free")).await;
    assert_eq!(a.status, 403);
    assert_eq!(a.json()["feature"], "digital_data");
    assert_eq!(a.json()["requiredPlan"], "starter");
    let a = h.invoke(&with_data("org_demo_starter")).await;
    assert_eq!(a.status, 200);
    let stored = h.records(&a.request_id()).await;
    let dd = stored[0].digital_data.as_ref().expect("digitalData stored");
    assert_eq!(dd["page"]["pageInfo"]["pageName"], "home");
    // The generated scripts send it only where the plan has it.
    for (org, on) in [("org_demo_free", false), ("org_demo_starter", true)] {
        let body = String::from_utf8(h.invoke(&script("/h.js", org)).await.body).unwrap();
        assert!(body.contains(&format!("var DIGITAL_DATA = {on};")), "{org}");
    }
}
