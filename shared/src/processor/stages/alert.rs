//! The alert stage: push alerts to the dashboard:
//! `POST {PUSH_API_URL}` with `Authorization: Bearer {PUSH_API_KEY}` and
//! a JSON [`Alert`], when an event's risk score is at least 60, its travel was impossible, or
//! its account sharing score is at least 60. It runs once travel and sharing are judged, so an
//! alert goes out once, with every reason.

use std::time::Duration;

use serde::Serialize;

use super::sharing::Sharing;
use super::travel::Travel;
use crate::clock::Clock;
use crate::event::EventRecord;
use crate::processor::config::{AlertConfig, PushConfig};
use crate::processor::delivery::{send_classified, Delivery};
use crate::processor::stage::{Stage, StageOutcome, StageStatus};
use crate::processor::state::{AlertResult, ProcessingState};

/// Runs the stage for `event`, whose travel and sharing results are in `state`: waits
/// (retryable) while they are not settled; skipped when no condition is met or push is not
/// configured (`push` is `None`); else the call's outcome, with the reasons sent.
pub async fn run(
    http: &reqwest::Client,
    push: Option<&PushConfig>,
    conditions: &AlertConfig,
    event: &EventRecord,
    state: &ProcessingState,
    clock: &dyn Clock,
) -> AlertResult {
    let now = clock.now_ms();
    if !(state.settled(Stage::Travel) && state.settled(Stage::Sharing)) {
        return AlertResult {
            outcome: StageOutcome::new(
                StageStatus::Retryable,
                None,
                Some("waiting for travel and sharing".into()),
                0,
                now,
            ),
            reasons: Vec::new(),
        };
    }
    let attempts = state.alert.as_ref().map_or(0, |a| a.outcome.attempts);
    let travel = state.travel.as_ref().and_then(|t| t.travel.as_ref());
    let sharing = state.sharing.as_ref().and_then(|s| s.sharing.as_ref());
    let risk = event.risk.as_ref();
    let reasons = reasons(risk.map(|r| r.score), travel, sharing, conditions);
    if reasons.is_empty() {
        return AlertResult {
            outcome: StageOutcome::new(StageStatus::Skipped, None, None, 0, now),
            reasons,
        };
    }
    let Some(push) = push else {
        let detail = Some("PUSH_API_URL is not configured".into());
        return AlertResult {
            outcome: StageOutcome::new(StageStatus::Skipped, None, detail, 0, now),
            reasons,
        };
    };
    let alert = Alert {
        kind: "fraud_alert",
        organization_id: &event.organization_id,
        event_id: &event.event_id,
        request_id: &event.request_id,
        event_name: &event.event_name,
        user_id: event.user_id.as_deref(),
        visitor_id: event.visitor_id.as_deref(),
        site: event.site.as_deref(),
        risk_score: risk.map(|r| r.score),
        risk_level: risk.and_then(|r| serde_json::to_value(r.level).ok()?.as_str().map(String::from)),
        impossible_travel: travel.filter(|t| t.impossible),
        account_sharing: sharing.filter(|s| s.score > 0.0),
        reasons: reasons.clone(),
        ts: event.ts,
    };
    let d = send(http, push, &alert).await;
    AlertResult {
        outcome: StageOutcome::of_delivery(d, None, attempts + 1, clock.now_ms()),
        reasons,
    }
}

/// The body of a push alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert<'a> {
    /// Always `fraud_alert`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub organization_id: &'a str,
    pub event_id: &'a str,
    pub request_id: &'a str,
    pub event_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<&'a str>,
    /// The edge's composite risk score (0–100) and level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impossible_travel: Option<&'a Travel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_sharing: Option<&'a Sharing>,
    /// Why the alert fired, one line per condition.
    pub reasons: Vec<String>,
    /// Event time, ms since the Unix epoch.
    pub ts: i64,
}

/// The conditions met, as reasons (empty: no alert).
pub fn reasons(risk: Option<f64>, travel: Option<&Travel>, sharing: Option<&Sharing>, c: &AlertConfig) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = risk.filter(|r| *r >= c.min_risk_score) {
        out.push(format!("risk score {r} is at least {}", c.min_risk_score));
    }
    if let Some(t) = travel.filter(|t| t.impossible) {
        out.push(format!(
            "impossible travel: {:.0} km at {:.0} km/h",
            t.distance_km, t.speed_kmh
        ));
    }
    if let Some(s) = sharing.filter(|s| s.score >= c.min_sharing_score) {
        out.push(format!(
            "account sharing score {} is at least {} ({})",
            s.score,
            c.min_sharing_score,
            s.reasons.join(", ")
        ));
    }
    out
}

/// Sends an alert: 2xx = delivered; 408, 429, 5xx, timeouts and connection failures are
/// retryable; other statuses permanent.
pub async fn send(http: &reqwest::Client, config: &PushConfig, alert: &Alert<'_>) -> Delivery {
    let req = http
        .post(&config.url)
        .bearer_auth(config.key.expose())
        .timeout(Duration::from_millis(config.timeout_ms))
        .json(alert);
    send_classified(req, "push alert").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_conditions() {
        let c = AlertConfig::default();
        assert!(reasons(Some(59.9), None, None, &c).is_empty());
        assert_eq!(reasons(Some(60.0), None, None, &c).len(), 1);
        let travel = Travel {
            distance_km: 5837.0,
            speed_kmh: 11674.0,
            impossible: true,
            risk: 90.0,
        };
        let possible = Travel {
            impossible: false,
            risk: 0.0,
            ..travel
        };
        assert_eq!(reasons(None, Some(&possible), None, &c).len(), 0);
        assert!(reasons(None, Some(&travel), None, &c)[0].starts_with("impossible travel: 5837 km"));
        let sharing = Sharing {
            score: 60.0,
            concurrent_sessions: true,
            countries: 1,
            fingerprints: 2,
            reasons: vec!["two devices within 15 minutes".into()],
        };
        assert_eq!(reasons(Some(10.0), Some(&travel), Some(&sharing), &c).len(), 2);
        let low = Sharing { score: 40.0, ..sharing };
        assert!(reasons(None, None, Some(&low), &c).is_empty());
    }
}
