//! What a block may blacklist (issue "nobody can get someone else blocked"): an attacker who
//! knows a visitor's fingerprint sends it from its own address so that a block fires, and the
//! visitor must not be blocked — on its own network or any other — nor have its history
//! filled by requests it did not send.

use impressio::config::EdgeConfig;
use integration_tests::harness::{track_in, Answer, Harness, SHAPES};
use serde_json::json;

const VICTIM_IP: &str = "203.0.113.10";
const ATTACKER_IP: &str = "198.51.100.66";
const ELSEWHERE_IP: &str = "192.0.2.200";
const VICTIM_FP: &str = "fpVictimDevice01";

/// Enforced, with the session-hopping cluster at two visitors of one JA4 behind one address:
/// the rule the attack aims at others fires on the attacker's second request.
fn config() -> EdgeConfig {
    let mut config = EdgeConfig::default();
    config.fraud.components.ja4_session_hopping.cluster_min_visitors = 2;
    config
}

async fn send(h: &Harness, shape: &str, ip: &str, fingerprint: &str, cookie: Option<&str>) -> Answer {
    send_event(h, shape, "page_view", ip, fingerprint, cookie).await
}

/// The attack's requests are signups: session hopping fires on submissions only.
async fn send_event(
    h: &Harness,
    shape: &str,
    event: &str,
    ip: &str,
    fingerprint: &str,
    cookie: Option<&str>,
) -> Answer {
    let body = json!({"organizationId": "org_demo_pro", "event": event, "fingerprint": fingerprint});
    let mut headers = vec![];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    h.invoke(&track_in(shape, ip, &headers, &body)).await
}

fn cookie_of(a: &Answer) -> String {
    let set = a
        .header("set-cookie")
        .unwrap_or_else(|| panic!("a domainprint cookie: {:?}", a.json()));
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_block_aimed_at_a_known_fingerprint_leaves_its_visitor_unblocked_in_both_shapes() {
    for shape in SHAPES {
        let h = Harness::with_config(config()).await;
        // The victim's first visit, from home.
        let first = send(&h, shape, VICTIM_IP, VICTIM_FP, None).await;
        assert_eq!(first.status, 200, "{shape}: {:?}", first.json());
        let cookie = cookie_of(&first);
        let victim = first.json()["identity"]["visitorId"].as_str().unwrap().to_string();
        // Ordinary traffic: other visitors of the same browser build.
        for i in 0..4 {
            h.clock.advance(10_000);
            let a = send(&h, shape, &format!("192.0.2.{}", 10 + i), &format!("fpOther{i}"), None).await;
            assert_eq!(a.status, 200, "{shape}: {:?}", a.json());
        }
        // The attack: one request with any fingerprint, then one with the victim's, from one
        // address.
        h.clock.advance(10_000);
        let a = send_event(&h, shape, "signup", ATTACKER_IP, "fpAttackerAny1", None).await;
        assert_eq!(a.status, 200, "{shape}: {:?}", a.json());
        h.clock.advance(10_000);
        let blocked = send_event(&h, shape, "signup", ATTACKER_IP, VICTIM_FP, None).await;
        assert_eq!(
            blocked.status,
            403,
            "{shape}: the attack must fire a block: {:?}",
            blocked.json()
        );
        // The attacker's own address is blacklisted.
        h.clock.advance(10_000);
        let again = send(&h, shape, ATTACKER_IP, "fpAttackerAny2", None).await;
        assert_eq!(again.status, 429, "{shape}");
        // The victim: on its own network with its cookie, on another network with its
        // cookie, and on another network without it.
        for (ip, cookie) in [
            (VICTIM_IP, Some(cookie.as_str())),
            (ELSEWHERE_IP, Some(cookie.as_str())),
            (ELSEWHERE_IP, None),
            (VICTIM_IP, None),
        ] {
            h.clock.advance(10_000);
            let a = send(&h, shape, ip, VICTIM_FP, cookie).await;
            assert_eq!(
                a.status,
                200,
                "{shape}: victim from {ip} (cookie {}): {:?}",
                cookie.is_some(),
                a.json()
            );
        }
        // What the block wrote: the network's entries only — no fingerprint entry, no
        // visitor block.
        let keys: Vec<String> = h
            .items_of_type("blacklist")
            .await
            .iter()
            .filter_map(|i| i.get("pk")?.as_s().ok().cloned())
            .collect();
        assert!(!keys.is_empty(), "{shape}");
        for k in &keys {
            assert!(k.contains(ATTACKER_IP), "{shape}: {k} is not the attacker's network");
            assert!(!k.contains(VICTIM_FP), "{shape}: {k}");
        }
        assert!(h.items_of_type("visitor_block").await.is_empty(), "{shape}");
        assert!(!keys.iter().any(|k| k.contains(&victim)), "{shape}");
    }
}

#[tokio::test]
async fn requests_naming_a_visitor_by_its_fingerprint_do_not_fill_its_history() {
    // A visitor's velocity (events, submission addresses) counts only what its own browser
    // sent: an attacker on the visitor's network matched to it by fingerprint adds nothing.
    for shape in SHAPES {
        let h = Harness::with_config(config()).await;
        let first = send(&h, shape, VICTIM_IP, VICTIM_FP, None).await;
        assert_eq!(first.status, 200);
        let victim = first.json()["identity"]["visitorId"].as_str().unwrap().to_string();
        h.clock.advance(10_000);
        let matched = send(&h, shape, VICTIM_IP, VICTIM_FP, None).await;
        assert_eq!(matched.status, 200);
        assert_eq!(
            matched.json()["identity"]["visitorId"],
            victim.as_str(),
            "{shape}: matched by fingerprint"
        );
        let visitor_buckets = |items: Vec<impressio::store::attr::Item>| {
            items
                .iter()
                .filter(|i| {
                    i.get("pk")
                        .and_then(|p| p.as_s().ok())
                        .is_some_and(|p| p.contains("#AGG#VIS#"))
                })
                .map(|i| i.get("n").and_then(|n| n.as_n().ok()).cloned())
                .collect::<Vec<_>>()
        };
        let all = h.all_items().await;
        assert_eq!(
            visitor_buckets(all),
            [Some("1".to_string())],
            "{shape}: only the first, proven, event counts"
        );
    }
}

#[tokio::test]
async fn a_refused_answer_sets_no_cookie_in_both_shapes() {
    for shape in SHAPES {
        let h = Harness::with_config(config()).await;
        let body = json!({"organizationId": "org_demo_pro", "event": "signup", "fingerprint": "fpRefused01"});
        // A tool's TLS stack under Chrome's User-Agent: blocked, then blacklisted.
        let tool_ja4 = (
            "CloudFront-Viewer-JA4-Fingerprint",
            "t13d181000_85036bcba153_d41ae481755e",
        );
        let blocked = h.invoke(&track_in(shape, ATTACKER_IP, &[tool_ja4], &body)).await;
        assert_eq!(blocked.status, 403, "{shape}");
        assert!(blocked.header("set-cookie").is_none(), "{shape}: 403 sets a cookie");
        let again = h.invoke(&track_in(shape, ATTACKER_IP, &[], &body)).await;
        assert_eq!(again.status, 429, "{shape}");
        assert!(again.header("set-cookie").is_none(), "{shape}: 429 sets a cookie");
        // An accepted request does set one.
        let ok = h.invoke(&track_in(shape, VICTIM_IP, &[], &body)).await;
        assert_eq!(ok.status, 200, "{shape}");
        assert!(ok.header("set-cookie").is_some(), "{shape}");
    }
}
