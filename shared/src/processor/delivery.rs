//! How a call out ends ([`Delivery`]), shared by the GA4, webhook and push-alert stages, and
//! the stage outcome it makes.

use super::stage::{StageOutcome, StageStatus};

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

impl StageOutcome {
    /// The outcome of a stage whose call ended as `delivery`, at `now` (ms since the Unix
    /// epoch), counting `attempts` calls: delivered is done; `detail` says why a failed call
    /// failed without an answer.
    pub fn of_delivery(delivery: Delivery, detail: Option<String>, attempts: u32, now: i64) -> Self {
        match delivery {
            Delivery::Delivered(s) => StageOutcome::new(StageStatus::Done, Some(s), None, attempts, now),
            Delivery::Permanent(s) => StageOutcome::new(StageStatus::Permanent, s, detail, attempts, now),
            Delivery::Retryable(s) => StageOutcome::new(StageStatus::Retryable, s, detail, attempts, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_timeouts_and_server_errors_are_retried_and_the_rest_is_not() {
        for status in [408, 429, 500, 503, 599] {
            assert_eq!(classify_failure(status), Delivery::Retryable(Some(status)));
        }
        for status in [203, 301, 400, 401, 404, 410] {
            assert_eq!(classify_failure(status), Delivery::Permanent(Some(status)));
        }
        let done = StageOutcome::of_delivery(Delivery::Delivered(204), Some("ignored".into()), 2, 7);
        assert_eq!(
            (done.status, done.http_status, done.detail, done.attempts),
            (StageStatus::Done, Some(204), None, 2)
        );
        let later = StageOutcome::of_delivery(Delivery::Retryable(None), Some("timeout".into()), 1, 7);
        assert_eq!(
            (later.status, later.detail.as_deref()),
            (StageStatus::Retryable, Some("timeout"))
        );
    }
}
