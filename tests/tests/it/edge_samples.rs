//! Every sample in `events/edge/` in both event shapes, through the handler, against a real
//! DynamoDB API (moto server): the answer's status and shape, and what was stored under the
//! request id.

use impressio::event::{Channel, Route};
use integration_tests::harness::{assert_edge_sample_answer, AnswerShape, Harness};
use tools::workspace_root;

const SHAPES: [&str; 2] = ["function-url", "cloudfront"];

fn sample(shape: &str, name: &str) -> String {
    let path = workspace_root()
        .join("events/edge")
        .join(shape)
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn every_sample_gets_the_expected_status_and_stores_only_good_events() {
    let h = Harness::new().await;
    let mut seen = 0;
    for shape in SHAPES {
        let dir = workspace_root().join("events/edge").join(shape);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let answer = h.invoke(&std::fs::read_to_string(&path).unwrap()).await;
            let records = h.records(&answer.request_id()).await;
            assert_edge_sample_answer(shape, &name, &answer, records.len());
            seen += 1;
        }
    }
    assert!(seen >= 18, "only {seen} samples found");
}

#[tokio::test]
async fn track_stores_the_event_with_viewer_metadata_in_both_shapes() {
    let h = Harness::new().await;
    for shape in SHAPES {
        let answer = h.invoke(&sample(shape, "track")).await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        assert_eq!(body["stored"], true);
        assert_eq!(body["requestId"], answer.request_id());
        let records = h.records(&answer.request_id()).await;
        let r = &records[0];
        assert_eq!(r.event_id, body["eventId"].as_str().unwrap());
        assert_eq!(r.route, Route::Track);
        assert_eq!(r.request_id, answer.request_id());
        assert_eq!(r.organization_id, "org_demo_free");
        assert_eq!(r.event_name, "page_view");
        assert_eq!(r.site.as_deref(), Some("shop.example"));
        assert_eq!(r.user_id.as_deref(), Some("user-1001"));
        assert_eq!(r.gsi_user_pk.as_deref(), Some("ORG#org_demo_free#USER#user-1001"));
        assert_eq!(r.ga4_client_id.as_deref(), Some("1234567890.1763700000"));
        assert_eq!(r.properties.as_ref().unwrap()["price"], serde_json::json!(19.9));
        // The viewer's address wins over CloudFront's own address in the event.
        assert_eq!(r.context.ip.as_deref(), Some("198.51.100.23"));
        let v = &r.context.viewer;
        assert_eq!(v.ja4.as_deref(), Some("t13d1516h2_8daaf6152771_02713d6af862"));
        assert_eq!(v.tls.as_ref().unwrap().version, "TLSv1.3");
        assert_eq!(v.http_version.as_deref(), Some("2.0"));
        assert_eq!(v.asn, Some(7922));
        assert_eq!(v.city.as_deref(), Some("Seattle"));
        assert_eq!(v.latitude, Some(47.6062));
        assert_eq!(v.header_order.first().map(String::as_str), Some("Host"));
        assert_eq!(v.device.desktop, Some(true));
        assert_eq!(
            r.context.cloudfront_request_id.as_deref(),
            Some("4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==")
        );
        let source = r.context.source.unwrap().as_str();
        assert_eq!(
            source,
            if shape == "cloudfront" {
                "cloudfront"
            } else {
                "function_url"
            }
        );
        // Kept the organization's retention: the deployment's default, capped by its plan.
        let plan = h.app.config.plans.limits(r.organization.unwrap().plan);
        let days = h.app.config.event_ttl_days.min(plan.max_retention_days);
        assert_eq!(r.expires_at, r.ts / 1000 + i64::from(days) * 86_400);
    }
}

#[tokio::test]
async fn a_server_side_track_is_stored_about_the_forwarded_end_user_in_both_shapes() {
    let h = Harness::new().await;
    for shape in SHAPES {
        let answer = h.invoke(&sample(shape, "track-server-side")).await;
        assert_eq!(answer.status, 200, "{shape}: {}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.header("set-cookie"), None, "{shape}");
        assert_eq!(answer.header("access-control-allow-origin"), None, "{shape}");
        assert_eq!(answer.json()["risk"]["level"], "low", "{shape}");
        let r = &h.records(&answer.request_id()).await[0];
        assert!(r.server_side, "{shape}");
        assert_eq!(r.organization_id, "org_demo_enterprise");
        assert_eq!(r.event_name, "purchase");
        assert_eq!(r.server_ip.as_deref(), Some("192.0.2.44"), "{shape}");
        assert_eq!(r.context.ip.as_deref(), Some("198.51.100.23"));
        assert!(r.context.user_agent.as_deref().unwrap().contains("Chrome/131"));
        // The calling server's AWS / Ashburn metadata is not the visitor's.
        assert_eq!(r.context.viewer.asn, None);
        assert_eq!(r.context.viewer.city, None);
        assert_eq!(r.context.viewer.ja4, None);
        let risk = r.risk.as_ref().unwrap();
        assert_eq!(risk.breakdown["datacenter"].reasons[0].code, "not_applicable");
    }
}

#[tokio::test]
async fn campaign_parses_utm_and_click_ids_from_body_and_page_url() {
    let h = Harness::new().await;
    for shape in SHAPES {
        let answer = h.invoke(&sample(shape, "campaign")).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["attribution"]["channel"], "paid_search");
        let r = &h.records(&answer.request_id()).await[0];
        assert_eq!(r.route, Route::Campaign);
        assert_eq!(r.event_name, "campaign");
        let a = r.attribution.as_ref().unwrap();
        assert_eq!(a.utm["utm_source"], "google");
        assert_eq!(a.utm["utm_campaign"], "black_friday");
        assert_eq!(a.utm["utm_term"], "blue mug", "from the body");
        assert_eq!(a.click_ids["gclid"], "EAIaIQobChMI");
        assert_eq!(a.ad_networks, vec!["google_ads"]);
        assert_eq!(a.referrer_host.as_deref(), Some("www.google.com"));
        assert_eq!(a.channel, Channel::PaidSearch);
    }
}

#[tokio::test]
async fn pixel_answers_the_exact_gif_uncached_and_stores_the_query() {
    let h = Harness::new().await;
    for shape in SHAPES {
        let answer = h.invoke(&sample(shape, "pixel")).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, edge::routes::pixel::PIXEL_GIF.to_vec());
        assert_eq!(answer.body.len(), 43);
        assert_eq!(answer.header("content-type"), Some("image/gif"));
        assert!(answer.header("cache-control").unwrap().contains("no-store"));
        assert_eq!(answer.header("x-tracking-status"), Some("stored"));
        match answer.shape {
            AnswerShape::CloudFront => assert_eq!(answer.raw["bodyEncoding"], "base64"),
            AnswerShape::FunctionUrl => assert_eq!(answer.raw["isBase64Encoded"], true),
        }
        let r = &h.records(&answer.request_id()).await[0];
        assert_eq!(r.route, Route::Pixel);
        assert_eq!(r.event_name, "email_open");
        assert_eq!(r.page_url.as_deref(), Some("https://shop.example/newsletter"));
        assert_eq!(r.properties.as_ref().unwrap()["campaign"], "nov");
    }
}

#[tokio::test]
async fn cookie_test_sets_a_first_party_cookie_and_reports_the_previous_one() {
    let h = Harness::new().await;
    for shape in SHAPES {
        let answer = h.invoke(&sample(shape, "cookie-test")).await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        assert_eq!(body["previousCookieReturned"], true, "{shape}");
        assert_eq!(body["previousSetAt"], 1_763_700_000_000i64);
        let cookie = answer.header("set-cookie").expect("Set-Cookie");
        for attr in [
            "_imp_ct=",
            "Max-Age=86400",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
        ] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert!(!cookie.contains("Domain="), "host-only cookie");
    }
    // Without the cookie the answer says it did not come back.
    let without = sample("cloudfront", "cookie-test").replace("_imp_ct=1763700000000", "other=1");
    assert_eq!(h.invoke(&without).await.json()["previousCookieReturned"], false);
}

#[tokio::test]
async fn collector_script_is_javascript_for_the_organization() {
    use std::io::Read;
    let h = Harness::new().await;
    for shape in SHAPES {
        // The sample accepts gzip: the script comes compressed, within its size budget.
        let answer = h.invoke(&sample(shape, "collector-script")).await;
        assert_eq!(answer.status, 200);
        assert!(answer
            .header("content-type")
            .unwrap()
            .starts_with("application/javascript"));
        assert_eq!(answer.header("content-encoding"), Some("gzip"));
        assert_eq!(answer.header("vary"), Some("Accept-Encoding"));
        assert!(answer.body.len() < 12 * 1024, "{} bytes gzipped", answer.body.len());
        let mut js = String::new();
        flate2::read::GzDecoder::new(answer.body.as_slice())
            .read_to_string(&mut js)
            .unwrap();
        assert!(js.contains(r#"var ORG = "org_demo_pro";"#));
        assert!(js.contains("keepalive"));
        assert!(js.contains("messageId"), "every event carries a message id");
        println!(
            "/h.js ({shape}): {} bytes gzipped, {} bytes plain",
            answer.body.len(),
            js.len()
        );
        assert!(
            !js.contains("v1.org_demo_pro."),
            "no collector token inside a shared bundle"
        );
        if shape == "cloudfront" {
            assert_eq!(answer.raw["bodyEncoding"], "base64");
        }
        // The same for every visitor: shared caches may keep it, by its validator.
        assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));
        let gz_tag = answer.header("etag").expect("an ETag").to_string();
        assert!(gz_tag.ends_with("-gzip\""), "{gz_tag}");
        assert_eq!(answer.header("vary"), Some("Accept-Encoding"), "not Origin");
        assert!(answer.header("access-control-allow-origin").is_none());
        // Without Accept-Encoding: the plain script, as text, with its own validator.
        let plain = h
            .invoke(&sample(shape, "collector-script").replace("gzip, deflate, br, zstd", "identity"))
            .await;
        assert_eq!(plain.header("content-encoding"), None);
        let text = String::from_utf8(plain.body.clone()).unwrap();
        assert!(text.starts_with("/*! Impressio collector"));
        assert_eq!(text, js, "one bundle for every load");
        let tag = plain.header("etag").unwrap().to_string();
        assert_eq!(gz_tag, format!("{}-gzip\"", tag.trim_end_matches('"')));
        // A revalidation with either validator is a 304 without a body.
        for validator in [&tag, &gz_tag] {
            let again = h
                .invoke(&with_header(
                    &sample(shape, "collector-script"),
                    "If-None-Match",
                    validator,
                ))
                .await;
            assert_eq!(again.status, 304, "{validator}");
            assert!(again.body.is_empty());
            assert_eq!(again.header("etag"), Some(gz_tag.as_str()));
        }
        let changed = h
            .invoke(&with_header(
                &sample(shape, "collector-script"),
                "If-None-Match",
                "\"0123\"",
            ))
            .await;
        assert_eq!(changed.status, 200);
        // A page of another site still gets the public script (its events are what is refused).
        let foreign =
            sample(shape, "collector-script").replace("https://shop.example/products/42", "https://elsewhere.example/");
        assert_eq!(h.invoke(&foreign).await.status, 200);
    }
}

/// The pro bundles within their budgets: `/h-pro.js` under 8 KB gzipped, the service worker
/// far below; both cacheable like `/h.js`.
#[tokio::test]
async fn the_pro_bundles_keep_their_size_budget() {
    let h = Harness::new().await;
    for (uri, budget, marker) in [
        ("/h-pro.js", 8 * 1024, "keyIntervalMeanMs"),
        ("/sw.js", 4 * 1024, "impressio-queue"),
    ] {
        let answer = h
            .invoke(&sample("cloudfront", "collector-script").replace("\"/h.js\"", &format!("{uri:?}")))
            .await;
        assert_eq!(answer.status, 200, "{uri}");
        assert_eq!(answer.header("content-encoding"), Some("gzip"));
        assert!(answer.body.len() < budget, "{uri}: {} bytes gzipped", answer.body.len());
        assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));
        let mut js = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(answer.body.as_slice()), &mut js).unwrap();
        assert!(js.contains(marker), "{uri}");
        println!("{uri}: {} bytes gzipped, {} bytes plain", answer.body.len(), js.len());
    }
}

/// A sample with one more request header (both event shapes).
fn with_header(sample: &str, name: &str, value: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(sample).unwrap();
    if let Some(headers) = v.pointer_mut("/Records/0/cf/request/headers") {
        headers[name.to_ascii_lowercase()] = serde_json::json!([{"key": name, "value": value}]);
    } else {
        v["headers"][name.to_ascii_lowercase()] = serde_json::json!(value);
    }
    v.to_string()
}

#[tokio::test]
async fn a_user_agent_with_non_ascii_bytes_is_kept() {
    let h = Harness::new().await;
    let ua = "Mozilla/5.0 (Linux; Android 4.4.2) Chrome/30.0.0.0 Mobile Safari/537.36 Flipboard/4.2 Caf\u{e9}";
    let payload = sample("cloudfront", "track").replace(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        ua,
    );
    let answer = h.invoke(&payload).await;
    assert_eq!(answer.status, 200);
    let r = &h.records(&answer.request_id()).await[0];
    assert_eq!(r.context.user_agent.as_deref(), Some(ua));
    assert_eq!(r.context.source, Some(impressio::http::RequestSource::CloudFront));
}

/// Behind CloudFront the Function URL answers only requests carrying the distribution's
/// `X-Origin-Verify` secret (the current one or the previous one during a rotation); the
/// CloudFront origin-request event comes through the invoke API and is not checked.
#[tokio::test]
async fn the_function_url_answers_only_requests_from_cloudfront() {
    use impressio::config::{EdgeConfig, Secret};
    let h = Harness::with_config(EdgeConfig {
        origin_verify_secrets: vec![
            Secret::new("current-origin-secret"),
            Secret::new("previous-origin-secret"),
        ],
        ..EdgeConfig::default()
    })
    .await;
    let direct = h.invoke(&sample("function-url", "track")).await;
    assert_eq!(direct.status, 403);
    assert_eq!(direct.json()["error"], "origin_not_verified");
    assert!(h.records(&direct.request_id()).await.is_empty(), "nothing stored");
    let wrong = h
        .invoke(&with_header(
            &sample("function-url", "track"),
            "X-Origin-Verify",
            "guess",
        ))
        .await;
    assert_eq!(wrong.status, 403);
    assert!(
        !wrong.raw.to_string().contains("current-origin-secret"),
        "the secret is never echoed"
    );
    for secret in ["current-origin-secret", "previous-origin-secret"] {
        let through = h
            .invoke(&with_header(
                &sample("function-url", "track"),
                "X-Origin-Verify",
                secret,
            ))
            .await;
        assert_eq!(through.status, 200, "{secret}");
    }
    assert_eq!(h.invoke(&sample("cloudfront", "track")).await.status, 200);
}
