//! The Server API's reads and writes: what an organization's backend asks of its own data
//! under `/v1/` (the edge's routes answer them; `docs/server-api.md` documents every call).
//!
//! - a request's whole story by its request id: the event (identity, risk assessment with its
//!   breakdown and block trigger, server context), what the processor settled since (its
//!   `processing` item: billing, GA4, webhook, impossible travel, account sharing, alert) and
//!   the organization's label ([`StoredRequest`]);
//! - a visitor's history, newest first, a page at a time through `GSI_VISITOR` (keys, then one
//!   `BatchGetItem`), and what is linked to it: fingerprints, domainprints, possible same
//!   devices, user ids, blacklist state ([`VisitorLinks`]);
//! - the organization's labels of events ([`FeedbackRecord`]), kept beside the event.
//!
//! Every read is by key or index; a read never crosses organizations: an event of another
//! organization reads as absent, and visitor partitions are keyed by organization.

#[cfg(feature = "io")]
pub mod dynamo;
#[cfg(feature = "io")]
pub mod erase;
#[cfg(feature = "io")]
pub mod labels;
pub mod params;
pub mod tombstone;

use serde::{Deserialize, Serialize};

use crate::event::EventRecord;
use crate::processor::state::ProcessingState;
pub use params::{Cursor, FeedbackBody, Label, PageQuery, ParamError};

#[cfg(feature = "io")]
/// The behavioral identifiers a stored `event` was keyed by: its fingerprint, its JA4 and its
/// address as the keys wrote it (the labels kept on the event under IP minimization, else the
/// address itself), with `visitor`. `ja4_is_tool` says which JA4 key to name (a stored event
/// does not say whether its JA4 was a known tool's then: ask for both).
pub fn event_identifiers(
    event: &EventRecord,
    visitor: Option<&str>,
    ja4_is_tool: bool,
) -> crate::behavior::keys::Identifiers {
    let ip: Option<std::net::IpAddr> = event.context.ip.as_deref().and_then(|ip| ip.parse().ok());
    let address = event.context.address.clone().or_else(|| {
        ip.map(|ip| crate::privacy::AddressLabels {
            ip: ip.to_string(),
            scope: crate::privacy::address_scope(ip),
            network: crate::identity::corroborate::network_of(ip),
        })
    });
    crate::behavior::keys::Identifiers {
        organization_id: event.organization_id.clone(),
        fingerprint: event.fingerprint.clone(),
        ip: None,
        ja4: event.context.viewer.ja4.clone(),
        ja4_is_tool,
        visitor: visitor.map(str::to_string),
        address,
        retention_days: None,
    }
}

/// `item_type` of a label.
pub const FEEDBACK_ITEM_TYPE: &str = "feedback";

/// An organization's label of one of its events. Labelling again replaces it. The labels of
/// an organization are also a `GSI_VISITOR` partition of their own (`ORG#<org>#LABELS`, by
/// the time they were given), which the `score` CLI exports as a backtesting corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    /// `REQ#<request id>`, the event's partition.
    pub pk: String,
    /// `FEEDBACK`.
    pub sk: String,
    /// `feedback`.
    pub item_type: String,
    /// `ORG#<organization>#LABELS` ([`labels_key`]).
    pub gsi_visitor_pk: String,
    pub organization_id: String,
    pub request_id: String,
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was given, ms since the Unix epoch (the index's sort key).
    pub ts: i64,
    /// TTL attribute (Unix seconds): the event's own, so the label goes with it.
    pub expires_at: i64,
}

impl FeedbackRecord {
    /// The label `body` of `event`, given at `now_ms`.
    pub fn new(event: &EventRecord, body: FeedbackBody, now_ms: i64) -> Self {
        FeedbackRecord {
            pk: event.pk.clone(),
            sk: crate::schema::FEEDBACK_SK.to_string(),
            item_type: FEEDBACK_ITEM_TYPE.to_string(),
            gsi_visitor_pk: crate::schema::labels_index_pk(&event.organization_id),
            organization_id: event.organization_id.clone(),
            request_id: event.request_id.clone(),
            label: body.label,
            reason: body.reason,
            ts: now_ms,
            expires_at: event.expires_at,
        }
    }

    /// The label as the API answers it: `{"label", "reason", "labeledAt"}`.
    pub fn public_json(&self) -> serde_json::Value {
        serde_json::json!({"label": self.label.as_str(), "reason": self.reason, "labeledAt": self.ts})
    }
}

/// What is stored under one request id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub event: EventRecord,
    /// What the processor settled (absent until its first round).
    pub processing: Option<ProcessingState>,
    pub feedback: Option<FeedbackRecord>,
}

impl StoredRequest {
    /// The answer of `GET /v1/events/{requestId}`: `{"requestId", "event", "processing",
    /// "feedback"}`; `event` is [`EventRecord::public_json`], `processing` the processing
    /// item without its keys, `feedback` [`FeedbackRecord::public_json`] (null when absent).
    pub fn public_json(&self) -> serde_json::Value {
        let processing = self.processing.as_ref().map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                for k in ["pk", "sk", "item_type", "expires_at"] {
                    m.remove(k);
                }
            }
            v
        });
        serde_json::json!({
            "requestId": self.event.request_id,
            "event": self.event.public_json(),
            "processing": processing,
            "feedback": self.feedback.as_ref().map(FeedbackRecord::public_json),
        })
    }
}

/// One event of a visitor's history, as a page lists it: the event's summary and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub event: EventRecord,
    pub feedback: Option<FeedbackRecord>,
}

impl HistoryEntry {
    /// `{"requestId", "eventId", "event", "timestamp", "receivedAt", "site", "pageUrl",
    /// "userId", "serverSide", "identity": {"confidence", "method"}, "risk": {"score",
    /// "level", "action", "trigger"}, "feedback"}`; `timestamp` in ms since the Unix epoch.
    pub fn public_json(&self) -> serde_json::Value {
        let e = &self.event;
        serde_json::json!({
            "requestId": e.request_id,
            "eventId": e.event_id,
            "event": e.event_name,
            "timestamp": e.ts,
            "receivedAt": e.received_at,
            "site": e.site,
            "pageUrl": e.page_url,
            "userId": e.user_id,
            "serverSide": e.server_side,
            "identity": e.identity.as_ref().map(|i| serde_json::json!({
                "confidence": i.confidence,
                "method": i.method,
            })),
            "risk": e.risk.as_ref().map(|r| serde_json::json!({
                "score": r.score,
                "level": r.level,
                "action": r.action,
                "trigger": r.trigger,
            })),
            "feedback": self.feedback.as_ref().map(FeedbackRecord::public_json),
        })
    }
}

/// A page of a visitor's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// Newest first.
    pub events: Vec<HistoryEntry>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// What is linked to a visitor: read from its identity partition (`ORG#<org>#V#<visitor>`),
/// its newest index entries in `GSI_VISITOR` (user ids) and the blacklist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitorLinks {
    /// First and last time the identity resolver saw it, ms since the Unix epoch.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    /// Fingerprints it was seen with (sorted).
    pub fingerprints: Vec<String>,
    /// Domainprints (first-party cookie ids) it holds (sorted).
    pub domainprints: Vec<String>,
    /// Visitors recorded as possibly the same device (sorted).
    pub possible_same_device: Vec<String>,
    /// User ids its newest [`MAX_USER_ID_EVENTS`] events named (sorted).
    pub user_ids: Vec<String>,
    /// Until when the visitor itself is blocked (ms), if a block is in force or remembered.
    pub visitor_blocked_until: Option<i64>,
    /// Its fingerprints that are blacklisted, with until when (ms).
    pub blacklisted_fingerprints: Vec<(String, i64)>,
}

/// Most of a visitor's newest events whose user ids [`VisitorLinks::user_ids`] lists.
pub const MAX_USER_ID_EVENTS: usize = 1000;
/// Most items of a visitor's identity partition read for [`VisitorLinks`].
pub const MAX_IDENTITY_ITEMS: usize = 1000;

impl VisitorLinks {
    /// Whether the identity resolver knows the visitor at all.
    pub fn known(&self) -> bool {
        self.first_seen.is_some() || !self.domainprints.is_empty() || !self.fingerprints.is_empty()
    }

    /// The answer's `linked` and `blacklist` parts, at `now_ms` (a block that ended is not in
    /// force: `active` false).
    pub fn public_json(&self, now_ms: i64) -> serde_json::Value {
        serde_json::json!({
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
            "linked": {
                "fingerprints": self.fingerprints,
                "domainprints": self.domainprints,
                "userIds": self.user_ids,
                "possibleSameDevice": self.possible_same_device,
            },
            "blacklist": {
                "visitor": self.visitor_blocked_until.map(|until| serde_json::json!({"until": until, "active": until > now_ms})),
                "fingerprints": self.blacklisted_fingerprints.iter().map(|(fp, until)| serde_json::json!({
                    "fingerprint": fp, "until": until, "active": *until > now_ms,
                })).collect::<Vec<_>>(),
            },
        })
    }
}
