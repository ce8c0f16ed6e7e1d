//! Message ids against moto server: a retry of a message whose answer was lost (`messageId`
//! sent again) is answered with the event the first send stored and not stored twice, on
//! `/t` and `/c`, per organization, within the configured window; the event and its marker
//! are written together or not at all.

use impressio::config::EdgeConfig;
use impressio::event::EventStore;
use impressio::event::MessageRecord;
use impressio::fraud::FraudConfig;
use impressio::store::{StoreError, StoredMessage, Written};
use integration_tests::harness::{cloudfront_track, minimal_event, Harness, TEST_NOW_MS};
use serde_json::{json, Value};

const CLIENT_IP: &str = "198.51.100.23";

/// The edge's default configuration in observation mode: these tests send one visitor's
/// signups again and again, which the velocity layers would (rightly) block.
fn observing() -> EdgeConfig {
    EdgeConfig {
        fraud: FraudConfig::with_override(r#"{"mode": "observe"}"#).expect("fraud config"),
        ..EdgeConfig::default()
    }
}

fn track(body: Value) -> String {
    cloudfront_track(CLIENT_IP, &[], &body)
}

fn signup(org: &str, message_id: &str) -> Value {
    json!({"organizationId": org, "event": "signup", "fingerprint": "fpMessageTest01", "messageId": message_id,
        "url": "https://shop.example/join"})
}

fn text(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str) -> String {
    item[name].as_s().expect("a string").clone()
}

#[tokio::test]
async fn a_repeated_message_is_answered_with_the_first_event_and_stored_once() {
    let h = Harness::with_config(observing()).await;
    let first = h.invoke(&track(signup("org_demo_pro", "0193a1b2c3d4e5f6"))).await;
    assert_eq!(first.status, 200, "{}", first.json());
    let first_json = first.json();
    assert_eq!(first_json["stored"], true);
    assert!(
        first_json.get("duplicate").is_none(),
        "a first send is no duplicate: {first_json}"
    );
    let stored = h.records(&first.request_id()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].message_id.as_deref(), Some("0193a1b2c3d4e5f6"));

    // The same message again (its first answer was lost): answered, not stored.
    let again = h.invoke(&track(signup("org_demo_pro", "0193a1b2c3d4e5f6"))).await;
    assert_eq!(again.status, 200, "{}", again.json());
    let j = again.json();
    assert_eq!(j["duplicate"], true);
    assert_eq!(j["stored"], true, "the message is stored: a sender stops retrying");
    assert_eq!(j["duplicateOf"], json!(first.request_id()));
    assert_eq!(j["eventId"], first_json["eventId"]);
    assert_eq!(j["requestId"], json!(again.request_id()));
    assert!(
        j.get("risk").is_none() && j.get("identity").is_none(),
        "nothing was scored: {j}"
    );
    assert!(h.records(&again.request_id()).await.is_empty());
    assert_eq!(h.items_of_type("event").await.len(), 1);
    let markers = h.items_of_type("message").await;
    assert_eq!(markers.len(), 1);
    assert_eq!(text(&markers[0], "pk"), "MSG#org_demo_pro#0193a1b2c3d4e5f6");
    assert_eq!(text(&markers[0], "request_id"), first.request_id());
    // Counted as a duplicate, not as an event.
    let points = h.metrics.datapoints();
    let count = |name: &str| {
        points
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.values.iter().sum::<f64>())
            .sum::<f64>()
    };
    assert_eq!(count("DuplicateMessages"), 1.0);
    assert_eq!(count("Events"), 1.0);

    // Another message id, and the same id in another organization, are new messages.
    let other_id = h.invoke(&track(signup("org_demo_pro", "0193a1b2c3d4e5f7"))).await;
    assert!(other_id.json().get("duplicate").is_none());
    let other_org = h.invoke(&track(signup("org_demo_starter", "0193a1b2c3d4e5f6"))).await;
    assert_eq!(other_org.status, 200, "{}", other_org.json());
    assert!(other_org.json().get("duplicate").is_none(), "{}", other_org.json());
    assert_eq!(h.items_of_type("event").await.len(), 3);
    // Without a message id nothing is deduplicated: two sends, two events.
    let plain = json!({"organizationId": "org_demo_pro", "event": "page_view", "url": "https://shop.example/"});
    h.invoke(&track(plain.clone())).await;
    h.invoke(&track(plain)).await;
    assert_eq!(h.items_of_type("event").await.len(), 5);
    assert_eq!(h.items_of_type("message").await.len(), 3);
}

#[tokio::test]
async fn a_repeated_campaign_message_is_not_stored_twice() {
    let h = Harness::with_config(observing()).await;
    let campaign = |id: &str| {
        let mut v: Value = serde_json::from_str(&track(json!({"organizationId": "org_demo_starter", "messageId": id,
            "url": "https://shop.example/?utm_source=news&utm_medium=email"})))
        .unwrap();
        v["Records"][0]["cf"]["request"]["uri"] = json!("/c");
        v.to_string()
    };
    let first = h.invoke(&campaign("campaign-7")).await;
    assert_eq!(first.status, 200, "{}", first.json());
    let again = h.invoke(&campaign("campaign-7")).await;
    assert_eq!(again.status, 200, "{}", again.json());
    assert_eq!(again.json()["duplicateOf"], json!(first.request_id()));
    assert_eq!(h.items_of_type("event").await.len(), 1);
}

#[tokio::test]
async fn the_window_is_the_configured_one() {
    let config = EdgeConfig {
        message_dedupe_hours: 2,
        ..observing()
    };
    let h = Harness::with_config(config).await;
    let first = h.invoke(&track(signup("org_demo_pro", "window-1"))).await;
    let markers = h.items_of_type("message").await;
    let expires: i64 = markers[0]["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(expires, TEST_NOW_MS / 1000 + 2 * 3600, "TTL = the window");

    h.clock.advance(2 * 3600 * 1000 - 1000);
    let inside = h.invoke(&track(signup("org_demo_pro", "window-1"))).await;
    assert_eq!(
        inside.json()["duplicateOf"],
        json!(first.request_id()),
        "{}",
        inside.json()
    );

    // Past the window the marker no longer counts, though DynamoDB has not removed it yet:
    // the retry is a new event, and its marker replaces the old one.
    h.clock.advance(2000);
    let after = h.invoke(&track(signup("org_demo_pro", "window-1"))).await;
    assert_eq!(after.status, 200);
    assert!(after.json().get("duplicate").is_none(), "{}", after.json());
    assert_eq!(h.items_of_type("event").await.len(), 2);
    let markers = h.items_of_type("message").await;
    assert_eq!(markers.len(), 1);
    assert_eq!(text(&markers[0], "request_id"), after.request_id());
}

#[tokio::test]
async fn two_sends_racing_past_the_read_meet_in_the_transaction() {
    let h = Harness::with_config(observing()).await;
    let store = &h.app.store;
    let a = minimal_event("race-a", "org_demo_pro", Some("race-1"), TEST_NOW_MS);
    let b = minimal_event("race-b", "org_demo_pro", Some("race-1"), TEST_NOW_MS + 5);
    // Both sends read before either wrote: neither saw a marker.
    assert_eq!(
        store.find_message("org_demo_pro", "race-1", TEST_NOW_MS).await.unwrap(),
        None
    );
    let (ma, mb) = (MessageRecord::of(&a, 168), MessageRecord::of(&b, 168));
    let (ra, rb) = tokio::join!(store.put_event(&a, ma.as_ref()), store.put_event(&b, mb.as_ref()));
    let (winner, loser) = match (ra.unwrap(), rb.unwrap()) {
        (Written::Stored, Written::Repeated(first)) => ((&a, first), &b),
        (Written::Repeated(first), Written::Stored) => ((&b, first), &a),
        other => panic!("exactly one send stores the message: {other:?}"),
    };
    assert_eq!(
        winner.1,
        StoredMessage {
            request_id: winner.0.request_id.clone(),
            event_id: winner.0.event_id.clone()
        }
    );
    assert!(h.records(&loser.request_id).await.is_empty(), "the loser wrote nothing");
    assert_eq!(h.records(&winner.0.request_id).await.len(), 1);
    assert_eq!(
        store.find_message("org_demo_pro", "race-1", TEST_NOW_MS).await.unwrap(),
        Some(winner.1.clone())
    );
}

#[tokio::test]
async fn an_event_that_cannot_be_written_leaves_no_marker() {
    let h = Harness::with_config(observing()).await;
    let store = &h.app.store;
    let first = minimal_event("same-request", "org_demo_pro", None, TEST_NOW_MS);
    assert_eq!(store.put_event(&first, None).await.unwrap(), Written::Stored);
    // Another event under the same key (a request id used twice) with a message id: the
    // event's condition fails, so the marker is not written either.
    let second = minimal_event("same-request", "org_demo_pro", Some("orphan-1"), TEST_NOW_MS);
    let marker = MessageRecord::of(&second, 168);
    let err = store.put_event(&second, marker.as_ref()).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    assert_eq!(
        store
            .find_message("org_demo_pro", "orphan-1", TEST_NOW_MS)
            .await
            .unwrap(),
        None
    );
    assert!(h.items_of_type("message").await.is_empty());
}
