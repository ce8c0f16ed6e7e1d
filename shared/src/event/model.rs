//! The event item stored in DynamoDB.
//!
//! Key design (single table, see `infra/dynamodb/table.json`):
//! - `pk` = `REQ#<request id>`, `sk` = `EVENT`: every record a request produces shares its
//!   partition, so a request's whole story is one `Query` by request id;
//! - `gsi_user_pk` and `ts` (ms) key the `GSI_USER` index, which every event is in:
//!   `ORG#<organization>#USER#<user id>` for an event that names a user, else
//!   `ORG#<organization>#VISITOR#<visitor id>`: a user's (or visitor's) events in time order,
//!   for impossible travel (the previous event) and account sharing (the last 24 h);
//! - `item_type` = `event` tells event items from the other item types of the table (stream
//!   filters match on it);
//! - `expires_at` (Unix seconds) is the TTL attribute;
//! - an event sent with a `messageId` has a marker beside it, `pk` = `MSG#<organization>#<message
//!   id>`, `sk` = `MESSAGE` ([`MessageRecord`]), written in the same transaction: a retry of a
//!   message whose answer was lost finds it and is not stored twice.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attribution::Attribution;
use super::payload::{Forwarded, ValidEvent};
use crate::behavior::sketch::SketchRaise;
use crate::http::{EdgeRequest, RequestSource, ViewerMetadata};
use crate::identity::IdentityResult;
use crate::org::{LookupSource, Plan};

/// How the organization of an event was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDecision {
    /// The organization's plan when the event was accepted.
    pub plan: Plan,
    /// The tier that answered.
    pub source: LookupSource,
    /// True when the answer was stale data served while the source was unavailable.
    pub stale: bool,
    /// Age of the organization data, ms.
    pub age_ms: i64,
}

/// `item_type` of event items.
pub const EVENT_ITEM_TYPE: &str = "event";

/// `item_type` of message markers.
pub const MESSAGE_ITEM_TYPE: &str = "message";

/// Which route recorded the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `POST /t`.
    Track,
    /// `POST /c`.
    Campaign,
    /// Any other `GET`: the tracking pixel.
    Pixel,
}

/// Server-side facts about the request (not sent by the client's script).
///
/// For a server-side event (see [`EventRecord::server_side`]) `ip`, `user_agent` and
/// `accept_language` are the end user's as the organization's server forwarded them, and
/// `origin` and `viewer` are empty: the request's own headers and CloudFront metadata describe
/// that server, not the visitor, so no geo, ASN or TLS data is recorded as the visitor's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerContext {
    /// Event shape the request arrived in.
    pub source: Option<RequestSource>,
    /// Viewer IP address (the forwarded one for a server-side event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_language: Option<String>,
    /// `Origin` request header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `Host` request header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// CloudFront's request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudfront_request_id: Option<String>,
    /// CloudFront viewer metadata: TLS, JA4/JA3, HTTP version, ASN, geo, header order.
    pub viewer: ViewerMetadata,
    /// How the address was written in item keys, when the organization minimizes addresses
    /// (its keyed hashes, [`crate::privacy`]): what an erasure needs to find those items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<crate::privacy::AddressLabels>,
}

impl ServerContext {
    /// Applies the organization's IP minimization: `ip` becomes what the policy stores, and
    /// under minimization the labels the address was keyed by are kept in `address`.
    pub fn minimize(&mut self, ip: Option<std::net::IpAddr>, policy: &crate::privacy::AddressPolicy) {
        let Some(ip) = ip else { return };
        if !policy.minimizes() {
            return;
        }
        self.ip = Some(policy.stored(ip));
        self.address = Some(policy.labels(ip));
        // CloudFront's `address:port` is the address again.
        self.viewer.address = None;
    }

    /// Drops everything that locates the visitor's address more finely than CloudFront's
    /// city: the address (`ip`, `address`, CloudFront's `address:port`) and the latitude and
    /// longitude. What an event without fraud consent keeps (docs/privacy.md, "Consent").
    pub fn without_address(&mut self) {
        self.ip = None;
        self.address = None;
        self.viewer.address = None;
        self.viewer.latitude = None;
        self.viewer.longitude = None;
    }

    /// Collects the server context of a request.
    pub fn from_request(req: &EdgeRequest) -> Self {
        ServerContext {
            source: Some(req.source),
            ip: req.client_ip.map(|ip| ip.to_string()),
            user_agent: req.header_lossy("user-agent"),
            accept_language: req.header_lossy("accept-language"),
            origin: req.header_lossy("origin"),
            host: req.header_lossy("host"),
            cloudfront_request_id: req.cloudfront_request_id.clone(),
            viewer: req.viewer.clone(),
            address: None,
        }
    }

    /// The context of a server-side event: the end user's forwarded address and headers; no
    /// origin and no viewer metadata (they are the calling server's). The caller's own address
    /// goes to [`EventRecord::server_ip`].
    pub fn server_side(req: &EdgeRequest, forwarded: &Forwarded) -> Self {
        ServerContext {
            source: Some(req.source),
            ip: Some(forwarded.ip.to_string()),
            user_agent: Some(forwarded.user_agent.clone()),
            accept_language: forwarded.accept_language.clone(),
            origin: None,
            host: req.header_lossy("host"),
            cloudfront_request_id: req.cloudfront_request_id.clone(),
            viewer: ViewerMetadata::default(),
            address: None,
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Partition key: `REQ#<request id>`.
    pub pk: String,
    /// Sort key: `EVENT`.
    pub sk: String,
    /// Always `event`.
    pub item_type: String,
    /// The request id returned as `X-Request-Id` (UUIDv7).
    pub request_id: String,
    /// Event id (UUIDv7).
    pub event_id: String,
    pub organization_id: String,
    pub route: Route,
    /// Event name, e.g. `page_view`, `login`, `signup`, `campaign`.
    pub event_name: String,
    /// Server receive time, ms since the Unix epoch (the `GSI_USER` sort key).
    pub ts: i64,
    /// Server receive time, RFC 3339.
    pub received_at: String,
    /// Client clock at send time, ms since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// Host of the page URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The behavioral signature the script sent (`/h-pro.js`), an identity input like the
    /// fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavioral_signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// GA4 client id (from the `_ga` cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ga4_client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// The fingerprint components the collector measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Map<String, Value>>,
    /// The page's W3C CEDDL `window.digitalData` (starter plan and up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_data: Option<Map<String, Value>>,
    /// The collector's automation and WebRTC signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<crate::fraud::ClientSignals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
    /// The visitor the identity resolver matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// How the visitor was matched (confidence, method, conflict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityResult>,
    /// The fraud assessment: score, level, action, breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<crate::fraud::RiskAssessment>,
    /// How the organization was established (plan, cache tier, staleness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrgDecision>,
    pub context: ServerContext,
    /// True for a server-side event: sent by the organization's server with its server key
    /// (`POST /t` with `Authorization: Bearer …`, enterprise plan), the end user's address and
    /// headers forwarded in the body and kept in `context`. False for everything else,
    /// including records stored before server-side events existed.
    #[serde(default)]
    pub server_side: bool,
    /// The address of the organization's server that sent a server-side event, for audit;
    /// absent on other events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<String>,
    /// The sender's message id (`messageId`), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The visitor's consent as the page gave it; absent when the page manages consent itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<super::payload::Consent>,
    /// The JA4 sketch raises the edge left to the stream processor (an event in the first
    /// seconds of a 5-minute bucket: `SessionHoppingConfig::edge_raise_after_secs`); absent
    /// when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sketch_raises: Vec<SketchRaise>,
    /// `GSI_USER` partition key: the user's, else the visitor's (see the module
    /// documentation); absent only before the identity is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gsi_user_pk: Option<String>,
    /// `GSI_VISITOR` partition key, `ORG#<organization>#VISITOR#<visitor id>`: every event
    /// of a visitor, with or without a user id (the Server API's visitor history and the
    /// erasure of a visitor); absent only before the identity is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_visitor_pk: Option<String>,
    /// TTL attribute, Unix seconds.
    pub expires_at: i64,
}

/// The attributes of a stored event that are the table's own bookkeeping, never shown to an
/// organization (webhooks, the Server API): its keys, item type, index keys, TTL and the
/// sketch raises it carries to the processor.
pub const INTERNAL_ATTRIBUTES: [&str; 7] = [
    "pk",
    "sk",
    "item_type",
    "gsi_user_pk",
    "gsi_visitor_pk",
    "expires_at",
    "sketch_raises",
];

/// Earliest plausible server time of an event: 2000-01-01T00:00:00Z, ms.
pub const MIN_EVENT_TS_MS: i64 = 946_684_800_000;
/// Latest plausible server time of an event: 2100-01-01T00:00:00Z, ms.
pub const MAX_EVENT_TS_MS: i64 = 4_102_444_800_000;

impl EventRecord {
    /// Checks the values the processor computes with are ones the edge could have written:
    /// `ts` within [`MIN_EVENT_TS_MS`] … [`MAX_EVENT_TS_MS`], `client_ts` at most the latter,
    /// latitude and longitude within ±90 / ±180, the risk score within 0–100. A stream
    /// record that fails is refused at decode (logged and skipped), so no arithmetic on it can
    /// overflow.
    ///
    /// # Errors
    /// Which value is implausible.
    pub fn check_plausible(&self) -> Result<(), String> {
        if !(MIN_EVENT_TS_MS..=MAX_EVENT_TS_MS).contains(&self.ts) {
            return Err(format!("ts {} is outside 2000-01-01 … 2100-01-01", self.ts));
        }
        if self.client_ts.is_some_and(|t| t > MAX_EVENT_TS_MS as u64) {
            return Err("client_ts is after 2100-01-01".into());
        }
        let v = &self.context.viewer;
        if v.latitude.is_some_and(|l| !(-90.0..=90.0).contains(&l))
            || v.longitude.is_some_and(|l| !(-180.0..=180.0).contains(&l))
        {
            return Err("latitude or longitude out of range".into());
        }
        if self.risk.as_ref().is_some_and(|r| !(0.0..=100.0).contains(&r.score)) {
            return Err("risk score outside 0..=100".into());
        }
        Ok(())
    }

    /// The organization-facing JSON of the event: the stored record without
    /// [`INTERNAL_ATTRIBUTES`] (snake_case field names, as stored). Webhooks send it as their
    /// `data` and the Server API answers it as its `event`.
    pub fn public_json(&self) -> serde_json::Value {
        let mut data = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(map) = data.as_object_mut() {
            for k in INTERNAL_ATTRIBUTES {
                map.remove(k);
            }
        }
        data
    }

    /// Records the identity of the event; an event without a user id is then keyed in
    /// `GSI_USER` by its visitor.
    pub fn set_identity(&mut self, identity: IdentityResult) {
        let visitor_key = crate::schema::visitor_index_pk(&self.organization_id, &identity.visitor_id);
        if self.gsi_user_pk.is_none() {
            self.gsi_user_pk = Some(visitor_key.clone());
        }
        self.gsi_visitor_pk = Some(visitor_key);
        self.visitor_id = Some(identity.visitor_id.clone());
        self.identity = Some(identity);
    }

    /// Builds the record of a validated event.
    ///
    /// `now_ms` is the server receive time (ms since the Unix epoch); `ttl_days` sets
    /// `expires_at`.
    pub fn new(
        request_id: &str,
        route: Route,
        event: ValidEvent,
        attribution: Option<Attribution>,
        context: ServerContext,
        now_ms: i64,
        ttl_days: u32,
    ) -> Self {
        let gsi_user_pk = event
            .user_id
            .as_deref()
            .map(|u| crate::schema::user_index_pk(&event.organization_id, u));
        EventRecord {
            pk: crate::schema::request_pk(request_id),
            sk: crate::schema::EVENT_SK.to_string(),
            item_type: EVENT_ITEM_TYPE.to_string(),
            request_id: request_id.to_string(),
            event_id: uuid::Uuid::now_v7().to_string(),
            organization_id: event.organization_id,
            route,
            event_name: event.event_name,
            ts: now_ms,
            received_at: rfc3339(now_ms),
            client_ts: event.client_ts,
            site: event
                .url
                .as_ref()
                .and_then(|u| u.host_str())
                .map(str::to_ascii_lowercase),
            page_url: event.url.map(String::from),
            referrer: event.referrer.map(String::from),
            title: event.title,
            fingerprint: event.fingerprint,
            behavioral_signature: event.behavioral_signature,
            user_id: event.user_id,
            ga4_client_id: event.ga4_client_id,
            properties: event.properties,
            components: event.components,
            digital_data: event.digital_data,
            signals: event.signals,
            attribution,
            visitor_id: None,
            identity: None,
            risk: None,
            organization: None,
            context,
            server_side: false,
            server_ip: None,
            sketch_raises: Vec::new(),
            message_id: event.message_id,
            consent: event.consent,
            gsi_user_pk,
            gsi_visitor_pk: None,
            expires_at: now_ms / 1000 + i64::from(ttl_days) * 86_400,
        }
    }
}

/// The marker of a message id an organization's sender used, stored in the same transaction
/// as the event that carried it (so it exists exactly when that event does) and read before a
/// later event with the same id is scored. It lives `MESSAGE_DEDUPE_HOURS` (default 168): a
/// retry after that is stored as a new event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Partition key: `MSG#<organization>#<message id>` (the same id in two organizations is
    /// two messages).
    pub pk: String,
    /// Sort key: `MESSAGE`.
    pub sk: String,
    /// Always `message`.
    pub item_type: String,
    pub organization_id: String,
    pub message_id: String,
    /// The request that stored the message's event.
    pub request_id: String,
    /// The event it stored.
    pub event_id: String,
    /// When it was stored, ms since the Unix epoch.
    pub ts: i64,
    /// TTL attribute, Unix seconds.
    pub expires_at: i64,
}

impl MessageRecord {
    /// The marker of `event`, kept `dedupe_hours`; `None` when the event has no message id.
    pub fn of(event: &EventRecord, dedupe_hours: u32) -> Option<Self> {
        let message_id = event.message_id.clone()?;
        Some(MessageRecord {
            pk: crate::schema::message_pk(&event.organization_id, &message_id),
            sk: crate::schema::MESSAGE_SK.to_string(),
            item_type: MESSAGE_ITEM_TYPE.to_string(),
            organization_id: event.organization_id.clone(),
            message_id,
            request_id: event.request_id.clone(),
            event_id: event.event_id.clone(),
            ts: event.ts,
            // Never outliving its event (the organization's retention).
            expires_at: (event.ts / 1000)
                .saturating_add(i64::from(dedupe_hours) * 3600)
                .min(event.expires_at),
        })
    }
}

/// RFC 3339 UTC text of a time in ms since the Unix epoch.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TrackPayload;

    /// The record of `payload` received at 1_700_000_000_123 ms, kept 2 days.
    fn record(payload: TrackPayload) -> EventRecord {
        let ev = payload.validate().unwrap();
        EventRecord::new(
            "rid",
            Route::Track,
            ev,
            None,
            ServerContext::default(),
            1_700_000_000_123,
            2,
        )
    }

    #[test]
    fn keys_and_ttl() {
        let r = record(TrackPayload {
            organization_id: Some("org1".into()),
            user_id: Some("u-9".into()),
            url: Some("https://Shop.Example/x".into()),
            ..Default::default()
        });
        assert_eq!(r.pk, "REQ#rid");
        assert_eq!(r.sk, "EVENT");
        assert_eq!(r.gsi_user_pk.as_deref(), Some("ORG#org1#USER#u-9"));
        assert_eq!(r.site.as_deref(), Some("shop.example"));
        assert_eq!(r.expires_at, 1_700_000_000 + 2 * 86_400);
        assert_eq!(r.received_at, "2023-11-14T22:13:20.123Z");
        assert!(!r.server_side);
        assert_eq!(MessageRecord::of(&r, 168), None, "no message id, no marker");
    }

    #[test]
    fn message_marker_keys_and_ttl() {
        let r = record(TrackPayload {
            organization_id: Some("org1".into()),
            message_id: Some("0193-abc".into()),
            ..Default::default()
        });
        assert_eq!(r.message_id.as_deref(), Some("0193-abc"));
        let m = MessageRecord::of(&r, 168).unwrap();
        assert_eq!(m.pk, "MSG#org1#0193-abc");
        assert_eq!(m.sk, "MESSAGE");
        assert_eq!(m.item_type, "message");
        assert_eq!(
            (m.request_id.as_str(), m.event_id.as_str()),
            ("rid", r.event_id.as_str())
        );
        // Kept `dedupe_hours`, never beyond its event (kept 2 days here).
        assert_eq!(m.expires_at, r.expires_at);
        assert_eq!(MessageRecord::of(&r, 24).unwrap().expires_at, 1_700_000_000 + 24 * 3600);
    }

    #[test]
    fn server_side_fields_round_trip_through_dynamodb_items_and_default_when_absent() {
        type Item = std::collections::HashMap<String, serde_dynamo::AttributeValue>;
        let ev = TrackPayload {
            organization_id: Some("org1".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let mut r = EventRecord::new(
            "rid",
            Route::Track,
            ev,
            None,
            ServerContext::default(),
            1_700_000_000_123,
            2,
        );
        r.server_side = true;
        r.server_ip = Some("192.0.2.10".into());
        r.context.ip = Some("203.0.113.7".into());
        r.context.user_agent = Some("Mozilla/5.0".into());
        // The item the table holds and the stream image the processor decodes.
        let item: Item = serde_dynamo::to_item(&r).unwrap();
        assert_eq!(item["server_side"], serde_dynamo::AttributeValue::Bool(true));
        let back: EventRecord = serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(back, r);
        let image: serde_dynamo::Item = serde_dynamo::to_item(&r).unwrap();
        assert_eq!(serde_dynamo::from_item::<_, EventRecord>(image).unwrap(), r);
        // A record stored before server-side events existed has neither field.
        let mut old = item;
        old.remove("server_side");
        old.remove("server_ip");
        let back: EventRecord = serde_dynamo::from_item(old).unwrap();
        assert!(!back.server_side);
        assert_eq!(back.server_ip, None);
    }
}
