//! The behavioral layers against moto server with an injectable clock (the fraud design,
//! "Fraud Detection System", and the JA4 design, "JA4-Based Fraud Detection Enhancement"):
//! session hopping, household NAT, proxy rotation, browser switching, escalation and expiry
//! of blocks, collector-token replay and forgery, and a request's story.

use impressio::config::{EdgeConfig, Secret};
use impressio::fraud::{FraudConfig, Trigger};
use integration_tests::harness::{with_chrome_headers, Answer, Harness};
use serde_json::json;

const SEED_JA4: &str = "q13d0315h3_55b375c5d22e_dc5437974b47";
const CHROME_JA4: &str = "t13d1516h2_8daaf6152771_02713d6af862";
const FIREFOX_JA4: &str = "t13d1715h2_5b57614c22b0_7121afd63204";
const PYTHON_JA4: &str = "t13d181000_85036bcba153_d41ae481755e";
const FIREFOX_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

#[derive(Clone)]
struct Req<'a> {
    ip: &'a str,
    ja4: &'a str,
    fingerprint: &'a str,
    event: &'a str,
    extra: Vec<(&'a str, &'a str)>,
    body_extra: serde_json::Value,
}

impl<'a> Req<'a> {
    fn new(ip: &'a str, ja4: &'a str, fingerprint: &'a str) -> Self {
        Req {
            ip,
            ja4,
            fingerprint,
            event: "page_view",
            extra: vec![],
            body_extra: json!({}),
        }
    }

    fn event(mut self, e: &'a str) -> Self {
        self.event = e;
        self
    }

    fn header(mut self, k: &'a str, v: &'a str) -> Self {
        self.extra.push((k, v));
        self
    }

    fn payload(&self) -> String {
        let address = format!("{}:4000", self.ip);
        let mut pairs = vec![
            ("Content-Type", "application/json"),
            ("Origin", "https://shop.example"),
            ("CloudFront-Viewer-JA4-Fingerprint", self.ja4),
            ("CloudFront-Viewer-Address", address.as_str()),
        ];
        if self.ja4.starts_with('q') {
            pairs.push(("CloudFront-Viewer-Http-Version", "3.0"));
        }
        pairs.extend(self.extra.iter().copied());
        let mut h = serde_json::Map::new();
        for (k, v) in with_chrome_headers(&pairs) {
            h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
        }
        let mut body = json!({"organizationId": "org_demo_pro", "event": self.event, "fingerprint": self.fingerprint});
        for (k, v) in self.body_extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": self.ip, "method": "POST", "uri": "/t",
            "querystring": "", "headers": h, "body": {"encoding": "text", "data": body.to_string()}}}}]})
        .to_string()
    }
}

/// A current Firefox: its JA4, User-Agent and headers (no client hints).
fn firefox<'a>(ip: &'a str, fingerprint: &'a str) -> Req<'a> {
    Req::new(ip, FIREFOX_JA4, fingerprint)
        .header("User-Agent", FIREFOX_UA)
        .header("sec-ch-ua", "")
        .header("sec-ch-ua-mobile", "")
        .header("sec-ch-ua-platform", "")
        .header(
            "CloudFront-Viewer-Header-Order",
            "host:user-agent:accept:accept-language:origin:sec-fetch-mode",
        )
}

fn codes(a: &Answer) -> Vec<String> {
    a.json()["risk"]["breakdown"]
        .as_object()
        .map(|b| {
            b.values()
                .flat_map(|c| c["reasons"].as_array().cloned().unwrap_or_default())
                .filter_map(|r| r["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_seeds_session_hopping_scenario_is_blocked_then_stopped_by_the_blacklist() {
    let h = Harness::new().await;
    let mut statuses = Vec::new();
    let mut answers = Vec::new();
    for i in 1..=5 {
        let fp = format!("fpHopper{i}");
        // The seed's scenario is a signup form: session hopping is positive evidence on
        // submissions (on page views a cluster is a shared network's normal).
        let a = h
            .invoke(&Req::new("198.51.100.42", SEED_JA4, &fp).event("signup").payload())
            .await;
        statuses.push(a.status);
        answers.push(a);
        h.clock.advance(40_000);
    }
    assert_eq!(statuses[0], 200);
    let blocked_at = statuses.iter().position(|s| *s == 403).expect("one attempt is blocked");
    assert!(blocked_at <= 2, "blocked by the second or third: {statuses:?}");
    let block = &answers[blocked_at];
    assert!(block.json()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "ja4_clustering"));
    assert!(
        statuses[blocked_at + 1..].iter().all(|s| *s == 429),
        "later attempts hit the blacklist: {statuses:?}"
    );
    let last = answers.last().unwrap();
    let retry: i64 = last.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (3000..=3600).contains(&retry),
        "a first offense blocks for an hour: {retry}"
    );
    // The block and the hit are on record under their request ids.
    let story = h.story(&block.request_id()).await;
    let types: Vec<&str> = story
        .iter()
        .filter_map(|i| i.get("item_type")?.as_s().ok().map(String::as_str))
        .collect();
    assert!(types.contains(&"event") && types.contains(&"block"), "{types:?}");
    let hit = h.story(&last.request_id()).await;
    assert!(hit
        .iter()
        .any(|i| i.get("item_type").and_then(|t| t.as_s().ok()).map(String::as_str) == Some("blacklist_hit")));
    let block_item = story
        .iter()
        .find(|i| i.get("sk").and_then(|s| s.as_s().ok()).map(String::as_str) == Some("BLOCK"))
        .unwrap();
    assert_eq!(block_item["detection_type"].as_s().unwrap(), "ja4_session_hopping");
}

#[tokio::test]
async fn a_household_behind_one_ip_with_different_browsers_passes() {
    let h = Harness::new().await;
    let devices = [
        Req::new("198.51.100.77", CHROME_JA4, "fpDad"),
        firefox("198.51.100.77", "fpMum"),
        Req::new("198.51.100.77", "t13d1517h2_8daaf6152771_b0da82dd1658", "fpKid"),
    ];
    for round in 0..2 {
        for (i, d) in devices.iter().enumerate() {
            let a = h.invoke(&d.payload()).await;
            assert_eq!(a.status, 200, "round {round}, device {i}: {:?}", a.json());
            assert!(!codes(&a).contains(&"ja4_clustering".to_string()));
            h.clock.advance(20_000);
        }
    }
}

#[tokio::test]
async fn one_visitor_submitting_from_two_ips_is_proxy_rotation() {
    let h = Harness::new().await;
    let first = h
        .invoke(
            &Req::new("198.51.100.10", CHROME_JA4, "fpRotator")
                .event("signup")
                .payload(),
        )
        .await;
    assert_eq!(first.status, 200);
    h.clock.advance(60_000);
    // The same browser (its domainprint cookie) through another proxy's address: one visitor.
    // Without the cookie, a fingerprint alone on another network is no proof of one visitor.
    let cookie = first.header("set-cookie").expect("domainprint cookie");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let second = h
        .invoke(
            &Req::new("203.0.113.200", CHROME_JA4, "fpRotator")
                .event("signup")
                .header("Cookie", &cookie)
                .payload(),
        )
        .await;
    assert_eq!(second.status, 403);
    let reasons = second.json()["reasons"].clone();
    assert!(
        reasons.as_array().unwrap().iter().any(|r| r["code"] == "ip_diversity"),
        "{reasons}"
    );
    let r = &h.records(&second.request_id()).await[0];
    assert_eq!(
        r.risk.as_ref().unwrap().trigger.map(Trigger::name),
        Some("ip_diversity")
    );
}

#[tokio::test]
async fn three_browsers_from_one_ip_pass_with_the_ip_signal_visible() {
    let h = Harness::new().await;
    let browsers = [
        Req::new("198.51.100.90", CHROME_JA4, "fpB1"),
        firefox("198.51.100.90", "fpB2"),
        Req::new("198.51.100.90", "t13d1517h2_8daaf6152771_b0da82dd1658", "fpB3"),
    ];
    let mut last = None;
    for b in &browsers {
        let a = h.invoke(&b.clone().event("signup").payload()).await;
        assert_eq!(a.status, 200, "{:?}", a.json());
        last = Some(a);
        h.clock.advance(30_000);
    }
    let a = last.unwrap();
    let ip = &a.json()["risk"]["breakdown"]["ip_rate"];
    assert_eq!(
        ip["score"], 50.0,
        "three submissions from one IP: 50 % (the fraud design's IP rate rule)"
    );
    assert!(ip["contribution"].as_f64().unwrap() > 0.0);
    assert_eq!(a.json()["risk"]["level"], "low");
}

fn offender(i: u32) -> String {
    // A tool's TLS stack behind a Chrome User-Agent: critical every time.
    Req::new("198.51.100.66", PYTHON_JA4, &format!("fpOffender{i}")).payload()
}

async fn offend(h: &Harness, i: u32) -> i64 {
    let a = h.invoke(&offender(i)).await;
    assert_eq!(a.status, 403, "offense {i}: {:?}", a.json());
    let next = h.invoke(&offender(i)).await;
    assert_eq!(next.status, 429);
    next.header("retry-after").unwrap().parse().unwrap()
}

#[tokio::test]
async fn timeouts_escalate_one_four_eight_twelve_twentyfour_hours_and_expire() {
    // A week-long offense window, so five blocks fit in it; the seed's 24 h window is below.
    let fraud =
        FraudConfig::with_override(r#"{"components": {"repeat_offender": {"offense_window_secs": 604800}}}"#).unwrap();
    let h = Harness::with_config(EdgeConfig {
        fraud,
        ..EdgeConfig::default()
    })
    .await;
    let mut seen = Vec::new();
    for i in 1..=6 {
        let retry = offend(&h, i).await;
        seen.push((retry + 1800) / 3600);
        h.clock.advance(retry * 1000 + 1000);
    }
    assert_eq!(seen, vec![1, 4, 8, 12, 24, 24], "hours per offense");
    // After the last block expired the same client is let through (and offends again).
    assert_eq!(h.invoke(&offender(7)).await.status, 403);
}

#[tokio::test]
async fn offenses_older_than_the_window_are_forgotten() {
    let h = Harness::new().await;
    assert_eq!((offend(&h, 1).await + 1800) / 3600, 1);
    h.clock.advance(3_601_000);
    assert_eq!((offend(&h, 2).await + 1800) / 3600, 4);
    // More than 24 h after both offenses the count starts again.
    h.clock.advance(25 * 3_600_000);
    assert_eq!((offend(&h, 3).await + 1800) / 3600, 1);
}

async fn token_harness(max_uses: u64) -> Harness {
    let fraud = FraudConfig::with_override(&format!(
        r#"{{"components": {{"collector_token": {{"max_uses": {max_uses}}}}}}}"#
    ))
    .unwrap();
    Harness::with_config(EdgeConfig {
        fraud,
        collector_token_secret: Some(Secret::new("collector-secret")),
        ..EdgeConfig::default()
    })
    .await
}

#[tokio::test]
async fn the_scripts_token_is_accepted_replays_and_forgeries_are_blocked() {
    let h = token_harness(3).await;
    // The page gets its token from /cookie-test (the script itself is shared and cached).
    let cookie_test = json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": "198.51.100.5", "method": "GET",
        "uri": "/cookie-test", "querystring": "organizationId=org_demo_pro",
        "headers": {"origin": [{"key": "Origin", "value": "https://shop.example"}]}}}}]});
    let answer = h.invoke(&cookie_test.to_string()).await;
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let token = answer.json()["token"].as_str().expect("a token").to_string();
    // A foreign page gets the cookie test but no token.
    let foreign = cookie_test
        .to_string()
        .replace("https://shop.example", "https://elsewhere.example");
    assert!(h.invoke(&foreign).await.json().get("token").is_none());
    assert!(token.starts_with("v1.org_demo_pro."));
    let with_token = |t: &str, fp: &str, ip: &str| {
        let mut r = Req::new(ip, CHROME_JA4, fp);
        r.body_extra = json!({"token": t});
        r.payload()
    };
    for i in 1..=3 {
        let a = h.invoke(&with_token(&token, "fpTok", "198.51.100.5")).await;
        assert_eq!(a.status, 200, "use {i}");
        assert_eq!(a.json()["risk"]["breakdown"]["collector_token"]["score"], 0.0);
    }
    let replay = h.invoke(&with_token(&token, "fpTokReplay", "203.0.113.5")).await;
    assert_eq!(replay.status, 403);
    assert!(replay.json()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "replayed_token"));
    let r = &h.records(&replay.request_id()).await[0];
    assert_eq!(
        r.risk.as_ref().unwrap().score,
        100.0,
        "a token replay scores 100 (the fraud design's token replay rule)"
    );

    let forged = impressio::behavior::token::issue(
        b"not-our-secret",
        "org_demo_pro",
        integration_tests::harness::TEST_NOW_MS,
    );
    let a = h.invoke(&with_token(&forged, "fpForger", "192.0.2.50")).await;
    assert_eq!(a.status, 403);
    assert!(a.json()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "forged_token"));

    // No token: a small score, no block.
    let a = h
        .invoke(&Req::new("192.0.2.60", CHROME_JA4, "fpNoToken").payload())
        .await;
    assert_eq!(a.status, 200);
    assert!(codes(&a).contains(&"missing_token".to_string()));
}

/// The domainprint cookie a browser gets on its first, ordinary, visit.
async fn cookie_of_first_visit(h: &Harness, ip: &str, fingerprint: &str) -> String {
    let a = h.invoke(&Req::new(ip, CHROME_JA4, fingerprint).payload()).await;
    assert_eq!(a.status, 200, "{:?}", a.json());
    a.header("set-cookie").unwrap().split(';').next().unwrap().to_string()
}

async fn memory_case(score_mode: &str) -> (u16, Option<String>) {
    let fraud = FraudConfig::with_override(&format!(
        r#"{{"components": {{"repeat_offender": {{"score_mode": "{score_mode}"}}}}}}"#
    ))
    .unwrap();
    let h = Harness::with_config(EdgeConfig {
        fraud,
        ..EdgeConfig::default()
    })
    .await;
    // A visitor (its cookie) is blocked for a tool's TLS stack behind a Chrome User-Agent
    // (ja4_mismatch). A refused answer sets no cookie: the cookie is the one it had.
    let cookie = cookie_of_first_visit(&h, "198.51.100.31", "fpMemory0").await;
    let first = h
        .invoke(
            &Req::new("198.51.100.31", PYTHON_JA4, "fpMemory1")
                .header("Cookie", &cookie)
                .payload(),
        )
        .await;
    assert_eq!(first.status, 403);
    assert!(first.header("set-cookie").is_none(), "a refused answer sets no cookie");
    // Minutes after its one-hour block ended the same visitor (its cookie) comes back from
    // elsewhere with a browser's stack and one JA4 ↔ context signal: no Accept-Language.
    h.clock.advance(65 * 60_000);
    let back = Req::new("203.0.113.31", CHROME_JA4, "fpMemory2")
        .header("Cookie", &cookie)
        .header("Accept-Language", "")
        .payload();
    let a = h.invoke(&back).await;
    let trigger = if a.status == 403 {
        h.records(&a.request_id()).await[0]
            .risk
            .clone()
            .and_then(|r| r.trigger)
            .map(|t| t.name().to_string())
    } else {
        None
    };
    (a.status, trigger)
}

#[tokio::test]
async fn repeat_offender_memory_lifts_a_recent_offender_over_the_threshold_unless_additive() {
    assert_eq!(memory_case("holistic").await, (403, Some("repeat_offender".into())));
    assert_eq!(memory_case("additive").await.0, 200);
}

#[tokio::test]
async fn a_blocked_visitor_stays_blocked_under_a_new_fingerprint_and_ip() {
    let h = Harness::new().await;
    let cookie = cookie_of_first_visit(&h, "198.51.100.41", "fpVisitorBlock0").await;
    let first = h
        .invoke(
            &Req::new("198.51.100.41", PYTHON_JA4, "fpVisitorBlock1")
                .header("Cookie", &cookie)
                .payload(),
        )
        .await;
    assert_eq!(first.status, 403);
    let back = Req::new("203.0.113.41", CHROME_JA4, "fpVisitorBlock2")
        .header("Cookie", &cookie)
        .payload();
    let a = h.invoke(&back).await;
    assert_eq!(a.status, 429, "{:?}", a.json());
    // After the hour the visitor is welcome again.
    h.clock.advance(3_601_000);
    assert_eq!(h.invoke(&back).await.status, 200);
}
