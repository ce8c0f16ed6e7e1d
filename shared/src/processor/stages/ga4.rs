//! The GA4 stage: Google Analytics 4 Measurement Protocol:
//! `POST /mp/collect?measurement_id=…&api_secret=…` with `client_id` =
//! the GA4 client id, else the fingerprint, and the event `fingerprint_event` with the
//! fingerprint, the site and the risk score.
//!
//! GA4 answers 2xx even to payloads it drops, so every payload is checked against GA4's
//! documented limits before it is sent: event and parameter names of at most 40 characters,
//! starting with a letter, of letters, digits and `_`; no reserved event name and no reserved
//! prefix (`google_`, `ga_`, `firebase_`); at most 25 parameters per event and 25 events per
//! request; parameter values of at most 100 characters; a `client_id`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::event::EventRecord;
use crate::org::{IntegrationSetting, Lookup};
use crate::processor::delivery::{send_classified, Delivery};
use crate::processor::stage::{organization, StageOutcome, StageStatus};

/// Where and how long the GA4 stage calls (from the processor's configuration).
#[derive(Debug, Clone, Copy)]
pub struct Ga4Target<'a> {
    /// The Measurement Protocol endpoint (`https://www.google-analytics.com/mp/collect`).
    pub endpoint: &'a str,
    /// Timeout of one call, ms.
    pub timeout_ms: u64,
}

/// Runs the stage for `event` of the organization `lookup` found, as its `attempts`-th call:
/// skipped when the organization has no GA4 settings, permanent when they are incomplete or
/// GA4 would drop the payload, else as the call ends ([`StageOutcome::of_delivery`]).
pub async fn run(
    http: &reqwest::Client,
    target: Ga4Target<'_>,
    event: &EventRecord,
    lookup: &Lookup,
    attempts: u32,
    clock: &dyn Clock,
) -> StageOutcome {
    let now = clock.now_ms();
    let org = match organization(lookup, now) {
        Ok(org) => org,
        Err(problem) => return problem,
    };
    let setting = org.integrations.as_ref().map_or(IntegrationSetting::Off, |i| i.ga4());
    let (measurement_id, api_secret) = match setting {
        IntegrationSetting::Off => {
            return StageOutcome::new(StageStatus::Skipped, None, Some("GA4 is not configured".into()), 0, now)
        }
        IntegrationSetting::Incomplete(why) => {
            return StageOutcome::new(StageStatus::Permanent, None, Some(why.into()), 0, now)
        }
        IntegrationSetting::On(c) => c,
    };
    // Forwarded only with the visitor's analytics consent (or when the page manages consent
    // itself and gave none).
    if event.consent.is_some_and(|c| !c.analytics) {
        return StageOutcome::new(StageStatus::Skipped, None, Some("no analytics consent".into()), 0, now);
    }
    let mut payload = Ga4Payload::fingerprint_event(
        event.ga4_client_id.as_deref(),
        event.fingerprint.as_deref(),
        event.visitor_id.as_deref(),
        event.site.as_deref(),
        event.risk.as_ref().map(|r| r.score),
    );
    payload.consent = Ga4Consent::of(event.consent.as_ref());
    if let Err(e) = payload.validate() {
        let detail = Some(format!("GA4 would drop the payload: {e}"));
        return StageOutcome::new(StageStatus::Permanent, None, detail, 0, now);
    }
    let d = send(
        http,
        target.endpoint,
        measurement_id,
        api_secret,
        &payload,
        target.timeout_ms,
    )
    .await;
    StageOutcome::of_delivery(d, None, attempts, clock.now_ms())
}

/// Event names GA4 reserves (Measurement Protocol reference, "Reserved names").
pub const RESERVED_EVENT_NAMES: [&str; 34] = [
    "ad_activeview",
    "ad_click",
    "ad_exposure",
    "ad_impression",
    "ad_query",
    "ad_reward",
    "adunit_exposure",
    "app_clear_data",
    "app_exception",
    "app_install",
    "app_remove",
    "app_store_refund",
    "app_update",
    "app_upgrade",
    "dynamic_link_app_open",
    "dynamic_link_app_update",
    "dynamic_link_first_open",
    "error",
    "firebase_campaign",
    "firebase_in_app_message_action",
    "firebase_in_app_message_dismiss",
    "firebase_in_app_message_impression",
    "first_open",
    "first_visit",
    "in_app_purchase",
    "notification_dismiss",
    "notification_foreground",
    "notification_open",
    "notification_receive",
    "notification_send",
    "os_update",
    "screen_view",
    "session_start",
    "user_engagement",
];
/// Prefixes GA4 reserves for event and parameter names.
pub const RESERVED_PREFIXES: [&str; 3] = ["google_", "ga_", "firebase_"];
/// Longest event or parameter name.
pub const MAX_NAME: usize = 40;
/// Longest parameter value (standard properties).
pub const MAX_VALUE: usize = 100;
/// Most parameters per event, events per request.
pub const MAX_PARAMS: usize = 25;
pub const MAX_EVENTS: usize = 25;

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ga4Event {
    pub name: String,
    pub params: Map<String, Value>,
}

/// The request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ga4Payload {
    pub client_id: String,
    /// The Measurement Protocol's consent fields, when the visitor's consent gave them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<Ga4Consent>,
    pub events: Vec<Ga4Event>,
}

/// The Measurement Protocol's `consent` object (Measurement Protocol reference, "consent":
/// `ad_user_data`, `ad_personalization`, each `GRANTED` or `DENIED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ga4Consent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_user_data: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_personalization: Option<&'static str>,
}

impl Ga4Consent {
    /// The fields `consent` gives, if any.
    pub fn of(consent: Option<&crate::event::Consent>) -> Option<Self> {
        let word = |b: bool| if b { "GRANTED" } else { "DENIED" };
        let c = consent?;
        let g = Ga4Consent {
            ad_user_data: c.ad_user_data.map(word),
            ad_personalization: c.ad_personalization.map(word),
        };
        (g.ad_user_data.is_some() || g.ad_personalization.is_some()).then_some(g)
    }
}

/// What GA4 would silently drop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ga4Error {
    #[error("no client_id")]
    NoClientId,
    #[error("{0} events; GA4 takes at most 25 per request")]
    TooManyEvents(usize),
    #[error("invalid name {0:?}: at most 40 letters, digits or '_', starting with a letter")]
    BadName(String),
    #[error("reserved name {0:?}")]
    Reserved(String),
    #[error("event {0:?} has {1} parameters; at most 25")]
    TooManyParams(String, usize),
    #[error("parameter {0:?} is longer than 100 characters")]
    ValueTooLong(String),
}

fn check_name(name: &str) -> Result<(), Ga4Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(Ga4Error::BadName(name.to_string()));
    }
    if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Err(Ga4Error::Reserved(name.to_string()));
    }
    Ok(())
}

impl Ga4Payload {
    /// The event sent: `fingerprint_event` with `fingerprint`, `site` and `risk_score`.
    /// `client_id` is the GA4 client id, else the fingerprint, else the visitor id.
    pub fn fingerprint_event(
        ga4_client_id: Option<&str>,
        fingerprint: Option<&str>,
        visitor_id: Option<&str>,
        site: Option<&str>,
        risk_score: Option<f64>,
    ) -> Self {
        let client_id = ga4_client_id
            .or(fingerprint)
            .or(visitor_id)
            .unwrap_or_default()
            .to_string();
        let mut params = Map::new();
        if let Some(f) = fingerprint {
            params.insert("fingerprint".into(), Value::String(f.into()));
        }
        if let Some(s) = site {
            params.insert("site".into(), Value::String(s.into()));
        }
        if let Some(r) = risk_score {
            params.insert("risk_score".into(), Value::from(r));
        }
        Ga4Payload {
            client_id,
            consent: None,
            events: vec![Ga4Event {
                name: "fingerprint_event".into(),
                params,
            }],
        }
    }

    /// Checks the payload against GA4's documented limits.
    ///
    /// # Errors
    /// The first [`Ga4Error`] found.
    pub fn validate(&self) -> Result<(), Ga4Error> {
        if self.client_id.is_empty() {
            return Err(Ga4Error::NoClientId);
        }
        if self.events.len() > MAX_EVENTS {
            return Err(Ga4Error::TooManyEvents(self.events.len()));
        }
        for e in &self.events {
            check_name(&e.name)?;
            if RESERVED_EVENT_NAMES.contains(&e.name.as_str()) {
                return Err(Ga4Error::Reserved(e.name.clone()));
            }
            if e.params.len() > MAX_PARAMS {
                return Err(Ga4Error::TooManyParams(e.name.clone(), e.params.len()));
            }
            for (k, v) in &e.params {
                check_name(k)?;
                if v.as_str().is_some_and(|s| s.chars().count() > MAX_VALUE) {
                    return Err(Ga4Error::ValueTooLong(k.clone()));
                }
            }
        }
        Ok(())
    }
}

/// Sends a validated payload: `POST {endpoint}?measurement_id=…&api_secret=…`. 2xx =
/// delivered; 408, 429, 5xx, timeouts and connection failures are retryable; other statuses
/// permanent. The API secret is in the URL, so errors are logged without it.
pub async fn send(
    http: &reqwest::Client,
    endpoint: &str,
    measurement_id: &str,
    api_secret: &str,
    payload: &Ga4Payload,
    timeout_ms: u64,
) -> Delivery {
    let req = http
        .post(endpoint)
        .query(&[("measurement_id", measurement_id), ("api_secret", api_secret)])
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .json(payload);
    send_classified(req, "GA4 Measurement Protocol").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_fields_are_granted_or_denied_and_absent_when_not_given() {
        use crate::event::Consent;
        let c = |ad_user_data, ad_personalization| Consent {
            analytics: true,
            fraud: true,
            ad_user_data,
            ad_personalization,
        };
        assert_eq!(Ga4Consent::of(None), None);
        assert_eq!(Ga4Consent::of(Some(&c(None, None))), None);
        let g = Ga4Consent::of(Some(&c(Some(true), Some(false)))).unwrap();
        let mut p = Ga4Payload::fingerprint_event(Some("1.2"), None, None, None, None);
        p.consent = Some(g);
        let body = serde_json::to_value(&p).unwrap();
        assert_eq!(
            body["consent"],
            serde_json::json!({"ad_user_data": "GRANTED", "ad_personalization": "DENIED"})
        );
        let only = Ga4Consent::of(Some(&c(Some(false), None))).unwrap();
        assert_eq!(
            serde_json::to_value(only).unwrap(),
            serde_json::json!({"ad_user_data": "DENIED"})
        );
    }

    #[test]
    fn the_seeds_event_is_valid_and_bad_ones_are_caught() {
        let p = Ga4Payload::fingerprint_event(None, Some("fp123"), None, Some("shop.example"), Some(12.5));
        assert_eq!(
            p.client_id, "fp123",
            "the fingerprint stands in for a missing client id"
        );
        p.validate().unwrap();
        let p = Ga4Payload::fingerprint_event(Some("123.456"), Some("fp"), None, None, None);
        assert_eq!(p.client_id, "123.456");
        let mut bad = p.clone();
        bad.events[0].name = "session_start".into();
        assert_eq!(bad.validate(), Err(Ga4Error::Reserved("session_start".into())));
        bad.events[0].name = "ga_custom".into();
        assert_eq!(bad.validate(), Err(Ga4Error::Reserved("ga_custom".into())));
        bad.events[0].name = "1st".into();
        assert!(matches!(bad.validate(), Err(Ga4Error::BadName(_))));
        let mut long = p.clone();
        long.events[0]
            .params
            .insert("site".into(), Value::String("x".repeat(101)));
        assert_eq!(long.validate(), Err(Ga4Error::ValueTooLong("site".into())));
        let mut many = p.clone();
        for i in 0..25 {
            many.events[0].params.insert(format!("p{i}"), Value::from(i));
        }
        assert!(matches!(many.validate(), Err(Ga4Error::TooManyParams(_, 26))));
        let mut empty = p.clone();
        empty.client_id.clear();
        assert_eq!(empty.validate(), Err(Ga4Error::NoClientId));
    }
}
