//! Delivering an event to an organization's webhook (seed `001_…`, stage 5): the signed
//! headers of [`super::webhook`], `User-Agent: Impressio-Webhook/1.0`, a 10 s timeout,
//! 200 / 201 / 202 / 204 = delivered; any other answer is permanent (4xx, redirects, other
//! 2xx: the receiver must be fixed) or retryable (5xx, timeouts, connection failures).

use super::outbound::{post, OutboundError, OutboundPolicy, Resolve};
use super::webhook::{impressio_signature, standard_signature_header, WebhookSecret};

/// Seconds the seed gives a webhook.
pub const WEBHOOK_TIMEOUT_MS: u64 = 10_000;

/// The outcome of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered(u16),
    /// Will not succeed by retrying (4xx, a redirect, an unexpected 2xx, a forbidden URL).
    Permanent(Option<u16>),
    /// Worth retrying (5xx, timeout, connection failure).
    Retryable(Option<u16>),
}

/// The outcome of a status that is not a success: 408, 429 and 5xx are worth retrying;
/// anything else (4xx, a redirect, an unexpected 2xx) is permanent.
pub fn classify_failure(status: u16) -> Delivery {
    match status {
        500..=599 | 429 | 408 => Delivery::Retryable(Some(status)),
        _ => Delivery::Permanent(Some(status)),
    }
}

/// Sends a request to one of our own endpoints (GA4, push) and classifies the answer: any 2xx
/// delivered, else as [`classify_failure`]; a transport failure or timeout is retryable and
/// logged as `<service> call failed`, without the URL (GA4's carries its API secret).
pub async fn send_classified(req: reqwest::RequestBuilder, service: &'static str) -> Delivery {
    match req.send().await {
        Ok(resp) if resp.status().is_success() => Delivery::Delivered(resp.status().as_u16()),
        Ok(resp) => classify_failure(resp.status().as_u16()),
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "{service} call failed");
            Delivery::Retryable(None)
        }
    }
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
            | OutboundError::Forbidden { .. }),
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
