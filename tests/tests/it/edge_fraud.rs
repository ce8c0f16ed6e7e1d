//! Fraud scoring through the edge function: the risk on the answer and the stored event,
//! enforcement of critical requests on `/t` with client-visible reasons only, observation
//! mode, the credential-stuffing counter on DynamoDB (moto), and the collector's signals.

use impressio::config::EdgeConfig;
use impressio::fraud::{FraudConfig, Level, Trigger};
use integration_tests::harness::{with_chrome_headers, Harness};
use serde_json::json;

fn track(headers: &[(&str, &str)], body: serde_json::Value) -> String {
    let mut pairs = vec![("Content-Type", "application/json"), ("Origin", "https://shop.example")];
    pairs.extend_from_slice(headers);
    let mut h = serde_json::Map::new();
    for (k, v) in with_chrome_headers(&pairs) {
        h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": "198.51.100.7", "method": "POST", "uri": "/t",
        "querystring": "", "headers": h, "body": {"encoding": "text", "data": body.to_string()}}}}]})
    .to_string()
}

fn body(event: &str) -> serde_json::Value {
    json!({"organizationId": "org_demo_pro", "event": event, "fingerprint": "fpFraudTest01"})
}

const PYTHON_JA4: (&str, &str) = (
    "CloudFront-Viewer-JA4-Fingerprint",
    "t13d181000_85036bcba153_d41ae481755e",
);

#[tokio::test]
async fn a_clean_browser_gets_its_risk_in_the_answer_and_on_the_event() {
    let h = Harness::new().await;
    let a = h.invoke(&track(&[], body("page_view"))).await;
    assert_eq!(a.status, 200);
    let risk = &a.json()["risk"];
    assert_eq!(risk["level"], "low");
    assert_eq!(risk["action"], "allow");
    assert_eq!(risk["score"], 0.0);
    assert_eq!(
        risk["breakdown"].as_object().unwrap().len(),
        14,
        "8 layers, bot UA, 4 behavioral components, the domainprint"
    );
    let r = &h.records(&a.request_id()).await[0];
    let stored = r.risk.as_ref().unwrap();
    assert_eq!(stored.level, Level::Low);
    assert!(stored.breakdown.contains_key("ja4_context"));
}

#[tokio::test]
async fn critical_requests_are_refused_with_reasons_and_recorded() {
    let h = Harness::new().await;
    let a = h.invoke(&track(&[PYTHON_JA4], body("signup"))).await;
    assert_eq!(a.status, 403);
    let b = a.json();
    assert_eq!(b["error"], "risk_blocked");
    let reasons = b["reasons"].as_array().unwrap();
    // Python's TLS stack offers no ALPN, which no current Chrome omits: a decisive
    // contradiction of the User-Agent's claim.
    assert!(reasons.iter().any(|r| r["code"] == "no_alpn"), "{b}");
    assert!(
        reasons.iter().all(|r| r["code"] != "known_tool_ja4"),
        "evidence worth no points is not a client-visible reason: {b}"
    );
    let text = b.to_string();
    for internal in ["weight", "threshold", "contribution", "points", "score"] {
        assert!(
            !text.contains(internal),
            "the answer shows no internals ({internal}): {text}"
        );
    }
    // The refused event is recorded with its assessment.
    let r = &h.records(&a.request_id()).await[0];
    let risk = r.risk.as_ref().unwrap();
    assert_eq!(risk.level, Level::Critical);
    assert!(risk.enforced);
    assert_eq!(risk.trigger.map(Trigger::name), Some("ja4_mismatch"));
}

#[tokio::test]
async fn observation_mode_records_but_never_refuses() {
    let config = EdgeConfig {
        fraud: FraudConfig::with_override(r#"{"mode": "observe"}"#).unwrap(),
        ..EdgeConfig::default()
    };
    let h = Harness::with_config(config).await;
    let a = h.invoke(&track(&[PYTHON_JA4], body("signup"))).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["risk"]["level"], "critical");
    assert_eq!(a.json()["risk"]["action"], "block");
    assert_eq!(a.json()["risk"]["enforced"], false);
    assert_eq!(a.json()["risk"]["mode"], "observe");
}

#[tokio::test]
async fn more_than_twenty_logins_an_hour_from_one_tls_client_is_credential_stuffing() {
    let h = Harness::new().await;
    for i in 1..=20 {
        let a = h.invoke(&track(&[], body("login"))).await;
        assert_eq!(a.status, 200, "login {i}");
        assert_eq!(a.json()["risk"]["breakdown"]["credential_stuffing"]["score"], 0.0);
    }
    let a = h.invoke(&track(&[], body("login"))).await;
    assert_eq!(a.status, 403);
    assert!(a.json()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "credential_stuffing"));
    // Another client on another IP has its own count.
    let mut other = body("login");
    other["fingerprint"] = json!("fpSomeoneElse");
    let other_ip = track(&[("CloudFront-Viewer-Address", "198.51.100.99:4000")], other);
    assert_eq!(h.invoke(&other_ip).await.status, 200);
    // The block blacklisted this client: anything from it is refused until the timeout ends.
    assert_eq!(h.invoke(&track(&[], body("page_view"))).await.status, 429);
    // An hour later the block has expired and a new counting window has begun.
    h.clock.advance(3_600_000 + 1_000);
    assert_eq!(h.invoke(&track(&[], body("login"))).await.status, 200);
}

#[tokio::test]
async fn the_collectors_automation_signals_are_scored() {
    let h = Harness::new().await;
    let mut b = body("page_view");
    b["signals"] = json!({"webdriver": true, "plugins": 0, "languages": [], "platform": "Linux x86_64",
        "webrtcCandidates": ["candidate:1 1 udp 2122260223 203.0.113.80 5000 typ host"]});
    let a = h.invoke(&track(&[], b)).await;
    assert_eq!(a.status, 403);
    let r = &h.records(&a.request_id()).await[0];
    let risk = r.risk.as_ref().unwrap();
    let codes: Vec<&str> = risk
        .breakdown
        .values()
        .flat_map(|c| c.reasons.iter())
        .map(|r| r.code.as_str())
        .collect();
    for code in ["webdriver", "no_plugins", "no_languages", "platform_mismatch", "no_nat"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    // Oversized signals are a precise 400.
    let mut big = body("page_view");
    big["signals"] = json!({"webrtcCandidates": vec!["candidate:1 1 udp 1 203.0.113.1 1 typ host"; 40]});
    let a = h.invoke(&track(&[], big)).await;
    assert_eq!((a.status, a.json()["field"].as_str()), (400, Some("signals")));
}
