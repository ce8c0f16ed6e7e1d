//! The webhook stage: delivering an event to its organization's webhook: the signed
//! headers of
//! [`crate::processor::webhook_signature`], `User-Agent: Impressio-Webhook/1.0`, a 10 s
//! timeout, 200 / 201 / 202 / 204 = delivered; any other answer is permanent (4xx, redirects,
//! other 2xx: the receiver must be fixed) or retryable (5xx, timeouts, connection failures).
//! The URL goes through the outbound guard ([`crate::processor::outbound`]) first.

use std::time::Instant;

use crate::clock::Clock;
use crate::event::EventRecord;
use crate::org::{IntegrationSetting, Lookup};
use crate::processor::delivery::{classify_failure, Delivery};
use crate::processor::outbound::{post, OutboundError, OutboundPolicy, Resolve};
use crate::processor::stage::{organization, StageOutcome, StageStatus};
use crate::processor::webhook_signature::{impressio_signature, standard_signature_header, WebhookSecret};

/// The time a webhook delivery is given, ms.
pub const WEBHOOK_TIMEOUT_MS: u64 = 10_000;

/// Runs the stage for `event` of the organization `lookup` found, as its `attempts`-th call:
/// the outcome, with the delivery's duration (ms) when it reached the network (an answer, a
/// timeout or a connection failure; a URL refused before any call took no network time).
/// The `webhook-timestamp` is `clock`'s time when the stage starts, in seconds.
pub async fn run<R: Resolve>(
    event: &EventRecord,
    lookup: &Lookup,
    attempts: u32,
    resolver: &R,
    policy: &OutboundPolicy,
    clock: &dyn Clock,
) -> (StageOutcome, Option<f64>) {
    let now = clock.now_ms();
    let org = match organization(lookup, now) {
        Ok(org) => org,
        Err(problem) => return (problem, None),
    };
    let setting = org
        .integrations
        .as_ref()
        .map_or(IntegrationSetting::Off, |i| i.webhook());
    let (url, secrets) = match setting {
        IntegrationSetting::Off => {
            let detail = Some("no webhook is configured".into());
            return (StageOutcome::new(StageStatus::Skipped, None, detail, 0, now), None);
        }
        IntegrationSetting::Incomplete(why) => {
            return (
                StageOutcome::new(StageStatus::Permanent, None, Some(why.into()), 0, now),
                None,
            )
        }
        IntegrationSetting::On(c) => c,
    };
    let body = webhook_body(event);
    let start = Instant::now();
    let (d, detail) = deliver_explained(
        url,
        &secrets,
        &event.event_id,
        &body,
        now.div_euclid(1000),
        resolver,
        policy,
    )
    .await;
    let ms = (!matches!(d, Delivery::Permanent(None))).then(|| start.elapsed().as_secs_f64() * 1000.0);
    (StageOutcome::of_delivery(d, detail, attempts, clock.now_ms()), ms)
}

/// The webhook body: `{"type": "event.recorded", "timestamp": <RFC 3339>, "data": <event>}`
/// (the Standard Webhooks payload shape), the event as [`EventRecord::public_json`] shows it.
pub fn webhook_body(event: &EventRecord) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "event.recorded",
        "timestamp": event.received_at,
        "data": event.public_json(),
    }))
    .unwrap_or_default()
}

/// Signs and POSTs `body` (the event as JSON) to `url` under every secret in `secrets` (the
/// first one, the current secret, signs `X-Impressio-Signature`; all sign
/// `webhook-signature`, for rotation). Without a secret nothing is sent:
/// [`Delivery::Permanent`].
pub async fn deliver<R: Resolve>(
    url: &str,
    secrets: &[WebhookSecret],
    event_id: &str,
    body: &[u8],
    timestamp: i64,
    resolver: &R,
    policy: &OutboundPolicy,
) -> Delivery {
    deliver_explained(url, secrets, event_id, body, timestamp, resolver, policy)
        .await
        .0
}

/// As [`deliver`], with why a delivery failed without an answer (a refused URL, a timeout), in
/// words that carry no secret.
pub async fn deliver_explained<R: Resolve>(
    url: &str,
    secrets: &[WebhookSecret],
    event_id: &str,
    body: &[u8],
    timestamp: i64,
    resolver: &R,
    policy: &OutboundPolicy,
) -> (Delivery, Option<String>) {
    let Some(first) = secrets.first() else {
        return (Delivery::Permanent(None), Some("no webhook secret".into()));
    };
    let headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("User-Agent", "Impressio-Webhook/1.0".to_string()),
        ("X-Impressio-Signature", impressio_signature(body, first)),
        ("X-Impressio-Signature-Version", "v1".to_string()),
        ("webhook-id", event_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            standard_signature_header(event_id, timestamp, body, secrets),
        ),
    ];
    match post(url, body.to_vec(), &headers, WEBHOOK_TIMEOUT_MS, resolver, policy).await {
        Ok(resp) => match resp.status().as_u16() {
            s @ (200 | 201 | 202 | 204) => (Delivery::Delivered(s), None),
            s => (classify_failure(s), None),
        },
        Err(
            e @ (OutboundError::BadUrl(_)
            | OutboundError::UserInfo
            | OutboundError::Port(_)
            | OutboundError::Forbidden { .. }
            | OutboundError::NoSuchHost { .. }),
        ) => {
            match &e {
                // Not the URL itself: some webhook URLs carry their token in the path or
                // the query. (The organization's own processing item keeps the detail.)
                OutboundError::BadUrl(_) => tracing::warn!(error = "not an http(s) URL", "webhook URL refused"),
                _ => tracing::warn!(error = %e, "webhook URL refused"),
            }
            (Delivery::Permanent(None), Some(e.to_string()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "webhook delivery failed");
            (Delivery::Retryable(None), Some(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::sketch::SketchRaise;
    use crate::event::{Route, ServerContext, TrackPayload};

    #[test]
    fn the_body_carries_the_event_without_the_table_s_bookkeeping() {
        let valid = TrackPayload {
            organization_id: Some("org_demo_pro".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let mut event = EventRecord::new(
            "r-1",
            Route::Track,
            valid,
            None,
            ServerContext::default(),
            1_795_000_000_000,
            30,
        );
        event.gsi_visitor_pk = Some("ORG#org_demo_pro#VISITOR#v".into());
        event.sketch_raises = vec![SketchRaise {
            pk: "ORG#org_demo_pro#AGG#JA4#x".into(),
            start: 1_794_999_900,
            index: 3,
            rank: 2,
        }];
        let body: serde_json::Value = serde_json::from_slice(&webhook_body(&event)).unwrap();
        assert_eq!(body["type"], "event.recorded");
        let data = body["data"].as_object().unwrap();
        assert_eq!(data["organization_id"], "org_demo_pro");
        for k in crate::event::INTERNAL_ATTRIBUTES {
            assert!(!data.contains_key(k), "{k} sent to the organization");
        }
    }
}
