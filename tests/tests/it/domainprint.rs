//! Signed domainprints through the edge, on moto: a value a client makes up is never an
//! identity. The forged-domainprint takeover (a victim's fingerprint plus a value of the
//! attacker's choice) aliases nothing and echoes nothing; an altered signed value is a fraud
//! signal; a value of another organization is forged there; the previous key keeps visitors
//! through a rotation; and the collector's body copy is judged like the cookie.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use impressio::config::EdgeConfig;
use impressio::env::Secret;
use impressio::identity::domainprint::DomainprintKeys;
use integration_tests::harness::{with_chrome_headers, Answer, Harness};
use serde_json::{json, Value};

const ORG: &str = "org_demo_free";
const VICTIM_FP: &str = "fpVictim0123456789";

/// A `/t` from a browser on its own address (each call another one: the session-hopping
/// layer would rightly block one address presenting several visitors).
fn track(cookie: Option<&str>, body: Value) -> String {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    let ip = format!("198.51.100.{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut pairs = vec![("Content-Type", "application/json"), ("Origin", "https://shop.example")];
    if let Some(c) = cookie {
        pairs.push(("Cookie", c));
    }
    let mut headers = serde_json::Map::new();
    for (k, v) in with_chrome_headers(&pairs) {
        headers.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": ip, "method": "POST", "uri": "/t",
        "querystring": "", "headers": headers, "body": {"encoding": "text", "data": body.to_string()}}}}]})
    .to_string()
}

/// The domainprint value of the answer's `Set-Cookie`.
fn cookie_value(a: &Answer) -> String {
    let c = a.header("set-cookie").expect("a domainprint cookie");
    c.split(';')
        .next()
        .unwrap()
        .strip_prefix("_impdp=")
        .expect("_impdp")
        .to_string()
}

/// Every domainprint index key of the table (`ORG#<org>#DP#<value>`).
async fn indexed_domainprints(h: &Harness) -> Vec<String> {
    let items: Vec<HashMap<String, AttributeValue>> = h.items_of_type("identity_index").await;
    items
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .filter(|pk| pk.contains("#DP#"))
        .collect()
}

fn keys(secret: &str, previous: Option<&str>) -> DomainprintKeys {
    DomainprintKeys::new(
        Secret::new(secret.repeat(40)),
        previous.map(|p| Secret::new(p.repeat(40))),
    )
    .unwrap()
}

#[tokio::test]
async fn a_chosen_value_beside_a_victims_fingerprint_is_never_aliased_nor_echoed() {
    let h = Harness::new().await;
    let victim = h
        .invoke(&track(None, json!({"organizationId": ORG, "fingerprint": VICTIM_FP})))
        .await;
    assert_eq!(victim.status, 200);
    let victim_id = victim.json()["identity"]["visitorId"].as_str().unwrap().to_string();
    let victim_dp = cookie_value(&victim);

    // The attacker: the victim's fingerprint and a domainprint of their choice.
    let chosen = "attacker-chosen-domainprint-0001";
    let attack = h
        .invoke(&track(
            Some(&format!("_impdp={chosen}")),
            json!({"organizationId": ORG, "fingerprint": VICTIM_FP}),
        ))
        .await;
    assert_eq!(attack.status, 200);
    let issued = cookie_value(&attack);
    assert_ne!(issued, chosen, "the chosen value is not echoed");
    assert_ne!(issued, victim_dp);
    assert!(issued.starts_with("d2."), "a new signed value: {issued}");
    let body = attack.json();
    assert!(
        body["identity"].get("conflict").is_none(),
        "conflict is not told to the page"
    );
    assert_eq!(body["identity"]["domainprint"], issued.as_str());
    let breakdown = &body["risk"]["breakdown"]["domainprint"];
    assert_eq!(breakdown["reasons"][0]["code"], "unsigned_domainprint", "{body}");
    assert!(breakdown["score"].as_f64().unwrap() > 0.0);
    let indexed = indexed_domainprints(&h).await;
    assert!(
        !indexed.iter().any(|pk| pk.contains(chosen)),
        "nothing aliased: {indexed:?}"
    );

    // The chosen value alone resolves to nobody: a new visitor, not the victim.
    let alone = h
        .invoke(&track(
            Some(&format!("_impdp={chosen}")),
            json!({"organizationId": ORG}),
        ))
        .await;
    assert_eq!(alone.status, 200);
    let identity = &alone.json()["identity"];
    assert_ne!(identity["visitorId"], victim_id.as_str());
    assert_eq!(identity["method"], "new");
    assert_ne!(cookie_value(&alone), chosen);

    // The same through the body's copy (the collector's localStorage).
    let in_body = h
        .invoke(&track(None, json!({"organizationId": ORG, "domainprint": chosen})))
        .await;
    assert_eq!(in_body.status, 200);
    assert_ne!(in_body.json()["identity"]["visitorId"], victim_id.as_str());
    assert!(!indexed_domainprints(&h).await.iter().any(|pk| pk.contains(chosen)));

    // The victim's own signed value still works, alone.
    let back = h
        .invoke(&track(
            Some(&format!("_impdp={victim_dp}")),
            json!({"organizationId": ORG}),
        ))
        .await;
    assert_eq!(back.json()["identity"]["visitorId"], victim_id.as_str());
    assert_eq!(back.json()["identity"]["method"], "cookie");
    assert_eq!(cookie_value(&back), victim_dp, "a valid value is kept");
}

#[tokio::test]
async fn an_altered_signed_value_is_forged_and_raises_the_request_to_high() {
    let h = Harness::new().await;
    let first = h.invoke(&track(None, json!({"organizationId": ORG}))).await;
    let dp = cookie_value(&first);
    // Another visitor's id spliced into the signed value.
    let mut parts: Vec<String> = dp.split('.').map(str::to_string).collect();
    parts[2] = "AZLwxH9LfD6aUTwfC24tFw".into();
    let forged = parts.join(".");
    let a = h
        .invoke(&track(
            Some(&format!("_impdp={forged}")),
            json!({"organizationId": ORG}),
        ))
        .await;
    assert_eq!(a.status, 200, "scored, not refused: {}", a.json());
    let body = a.json();
    assert_eq!(body["risk"]["trigger"], "forged_domainprint", "{body}");
    assert_eq!(body["risk"]["level"], "high");
    assert_eq!(body["identity"]["method"], "new", "the forged value names nobody");
    assert_ne!(cookie_value(&a), forged);
    assert!(!indexed_domainprints(&h).await.iter().any(|pk| pk.ends_with(&forged)));
}

#[tokio::test]
async fn a_value_of_another_organization_is_forged_there() {
    let h = Harness::new().await;
    let free = h.invoke(&track(None, json!({"organizationId": ORG}))).await;
    let dp = cookie_value(&free);
    let body = json!({"organizationId": "org_demo_starter", "domainprint": dp});
    let other = h.invoke(&track(None, body)).await;
    assert_eq!(other.status, 200);
    let j = other.json();
    assert_eq!(
        j["risk"]["breakdown"]["domainprint"]["reasons"][0]["code"],
        "forged_domainprint"
    );
    assert_ne!(j["identity"]["visitorId"], free.json()["identity"]["visitorId"]);
}

#[tokio::test]
async fn the_previous_key_keeps_visitors_through_a_rotation() {
    let old = Harness::with_config(EdgeConfig {
        domainprint_keys: keys("a", None),
        ..EdgeConfig::default()
    })
    .await;
    let first = old.invoke(&track(None, json!({"organizationId": ORG}))).await;
    let visitor = first.json()["identity"]["visitorId"].clone();
    let old_dp = cookie_value(&first);

    // The same table, a new key, the old one as previous.
    let rotated = Harness::on_table(
        EdgeConfig {
            domainprint_keys: keys("b", Some("a")),
            ..EdgeConfig::default()
        },
        &old.table,
    )
    .await;
    let a = rotated
        .invoke(&track(
            Some(&format!("_impdp={old_dp}")),
            json!({"organizationId": ORG}),
        ))
        .await;
    assert_eq!(a.json()["identity"]["visitorId"], visitor, "the same visitor");
    let new_dp = cookie_value(&a);
    assert_ne!(new_dp, old_dp, "re-issued under the current key");
    let again = rotated
        .invoke(&track(
            Some(&format!("_impdp={new_dp}")),
            json!({"organizationId": ORG}),
        ))
        .await;
    assert_eq!(again.json()["identity"]["visitorId"], visitor);
    assert_eq!(cookie_value(&again), new_dp);
    assert!(again.json()["risk"]["breakdown"]["domainprint"]["reasons"]
        .as_array()
        .unwrap()
        .is_empty());

    // Once the previous key is dropped, an old value names a key no longer held.
    let dropped = Harness::on_table(
        EdgeConfig {
            domainprint_keys: keys("b", None),
            ..EdgeConfig::default()
        },
        &old.table,
    )
    .await;
    let stale = dropped
        .invoke(&track(
            Some(&format!("_impdp={old_dp}")),
            json!({"organizationId": ORG}),
        ))
        .await;
    assert_eq!(
        stale.json()["risk"]["breakdown"]["domainprint"]["reasons"][0]["code"],
        "unknown_domainprint_key"
    );
    assert_ne!(stale.json()["identity"]["visitorId"], visitor);
}

#[tokio::test]
async fn a_value_lives_as_long_as_its_cookie_is_replaced_weekly_and_refused_once_expired() {
    const DAY_MS: i64 = 86_400_000;
    let h = Harness::new().await;
    let body = json!({"organizationId": ORG, "fingerprint": "fpLifetime0001"});
    let first = h.invoke(&track(None, body.clone())).await;
    assert_eq!(first.status, 200);
    let visitor = first.json()["identity"]["visitorId"].clone();
    let value = cookie_value(&first);
    let max_age = |a: &Answer| -> i64 {
        let c = a.header("set-cookie").unwrap();
        c.split("; ")
            .find_map(|p| p.strip_prefix("Max-Age="))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(max_age(&first), 365 * 86_400);
    // Three days later: the same value, the cookie set for what remains of its life.
    h.clock.advance(3 * DAY_MS);
    let cookie = format!("_impdp={value}");
    let a = h.invoke(&track(Some(&cookie), body.clone())).await;
    assert_eq!(cookie_value(&a), value);
    assert_eq!(max_age(&a), 362 * 86_400);
    // Eight days after issue: a new value for the same visitor, good for a year again.
    h.clock.advance(5 * DAY_MS);
    let a = h.invoke(&track(Some(&cookie), body.clone())).await;
    assert_eq!(a.json()["identity"]["visitorId"], visitor);
    assert_ne!(cookie_value(&a), value);
    assert_eq!(max_age(&a), 365 * 86_400);
    // Past its lifetime the old value is no identity and says so.
    h.clock.advance(360 * DAY_MS);
    let a = h.invoke(&track(Some(&cookie), body)).await;
    assert_eq!(a.status, 200);
    assert_ne!(cookie_value(&a), value);
    let reasons = a.json()["risk"]["breakdown"]["domainprint"]["reasons"].clone();
    assert_eq!(reasons[0]["code"], "expired_domainprint", "{reasons}");
}
