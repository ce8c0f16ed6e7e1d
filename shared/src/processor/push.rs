//! Push alerts to the dashboard (seed `001_…`, stage 8): `POST {PUSH_API_URL}` with
//! `Authorization: Bearer {PUSH_API_KEY}` and a JSON [`Alert`], when an event's risk score is
//! at least 60, its travel was impossible, or its account sharing score is at least 60.

use std::time::Duration;

use serde::Serialize;

use super::config::{AlertConfig, PushConfig};
use super::sharing::Sharing;
use super::travel::Travel;
use super::webhook_delivery::{send_classified, Delivery};

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
