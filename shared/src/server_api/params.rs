//! What a Server API call names, checked before anything is read: request and visitor ids,
//! the page of a visitor's history (`limit`, `cursor`, `from`, `to`) and a feedback body.
//! Each refusal names its parameter ([`ParamError`]); the edge answers it with `400`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::event::model::{MAX_EVENT_TS_MS, MIN_EVENT_TS_MS};

/// Events a page holds when the call names no `limit`.
pub const DEFAULT_PAGE_LIMIT: usize = 20;
/// Most events a page holds (`limit` above it is refused): a page is one `Query` of
/// `GSI_VISITOR` and one `BatchGetItem` of at most 200 keys (event and feedback).
pub const MAX_PAGE_LIMIT: usize = 100;
/// Longest feedback reason, characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Largest feedback body, bytes.
pub const MAX_FEEDBACK_BYTES: usize = 4096;

/// A parameter of a Server API call that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter} {message}")]
pub struct ParamError {
    /// The parameter's name as the API documents it (`requestId`, `limit`, …).
    pub parameter: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ParamError {
    fn new(parameter: &'static str, message: impl Into<String>) -> Self {
        ParamError {
            parameter,
            message: message.into(),
        }
    }
}

/// An id the API takes in its path (request ids and visitor ids are UUIDs, written the way
/// we write them: lowercase, hyphenated), checked so it names exactly one key.
///
/// # Errors
/// [`ParamError`] naming `parameter` when `text` is not such a UUID.
pub fn uuid_id(parameter: &'static str, text: &str) -> Result<String, ParamError> {
    match uuid::Uuid::try_parse(text) {
        Ok(u) if u.hyphenated().to_string() == text => Ok(text.to_string()),
        _ => Err(ParamError::new(parameter, "must be a lowercase hyphenated UUID")),
    }
}

/// Where a page of a visitor's history starts: after the event at `ts` (ms) with
/// `request_id`. Opaque to callers: base64url (no padding) of `<ts>.<request id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last event's `ts`, ms since the Unix epoch.
    pub ts: i64,
    /// The last event's request id.
    pub request_id: String,
}

impl Cursor {
    /// The cursor's text.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.ts, self.request_id))
    }

    /// Reads a cursor a previous page gave.
    ///
    /// # Errors
    /// [`ParamError`] (`cursor`) for anything a page did not give.
    pub fn decode(text: &str) -> Result<Self, ParamError> {
        let bad = || ParamError::new("cursor", "is not a cursor this API gave");
        if text.len() > 128 {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (ts, request_id) = raw.split_once('.').ok_or_else(bad)?;
        let ts: i64 = ts.parse().map_err(|_| bad())?;
        if !(MIN_EVENT_TS_MS..=MAX_EVENT_TS_MS).contains(&ts) {
            return Err(bad());
        }
        let request_id = uuid_id("cursor", request_id).map_err(|_| bad())?;
        Ok(Cursor { ts, request_id })
    }
}

/// A page of a visitor's history: newest first, `from_ms <= ts <= to_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Most events on the page, 1..=[`MAX_PAGE_LIMIT`].
    pub limit: usize,
    /// Continue after this event.
    pub cursor: Option<Cursor>,
    /// Earliest `ts`, ms since the Unix epoch (inclusive).
    pub from_ms: i64,
    /// Latest `ts`, ms since the Unix epoch (inclusive).
    pub to_ms: i64,
}

/// `v` when it is a non-negative integer written the one way (`0`, or digits without a
/// leading zero, no sign): `05`, `+5` and `5.0` are not, though Rust's integer parsing takes
/// the first two.
fn canonical_integer(v: &str) -> Option<&str> {
    let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    (digits && (v == "0" || !v.starts_with('0'))).then_some(v)
}

impl PageQuery {
    /// Reads `limit`, `cursor`, `from` and `to` (each optional) through `param`.
    ///
    /// # Errors
    /// [`ParamError`] for a `limit` that is not 1..=100, a cursor no page gave, a time that is
    /// not an integer of ms within 2000-01-01 … 2100-01-01, or `from` after `to`.
    pub fn parse(param: impl Fn(&str) -> Option<String>) -> Result<Self, ParamError> {
        let limit = match param("limit") {
            None => DEFAULT_PAGE_LIMIT,
            Some(v) => match canonical_integer(&v).and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ParamError::new(
                        "limit",
                        format!("must be an integer from 1 to {MAX_PAGE_LIMIT}"),
                    ))
                }
            },
        };
        let cursor = param("cursor").map(|c| Cursor::decode(&c)).transpose()?;
        let time = |name: &'static str, default: i64| -> Result<i64, ParamError> {
            match param(name) {
                None => Ok(default),
                Some(v) => canonical_integer(&v)
                    .and_then(|v| v.parse::<i64>().ok())
                    .filter(|t| (MIN_EVENT_TS_MS..=MAX_EVENT_TS_MS).contains(t))
                    .ok_or_else(|| {
                        ParamError::new(name, "must be ms since the Unix epoch, within 2000-01-01 … 2100-01-01")
                    }),
            }
        };
        let from_ms = time("from", MIN_EVENT_TS_MS)?;
        let to_ms = time("to", MAX_EVENT_TS_MS)?;
        if from_ms > to_ms {
            return Err(ParamError::new("from", "must not be after to"));
        }
        // A page continues within the range it was asked for (DynamoDB refuses a start key
        // outside the key condition).
        if cursor.as_ref().is_some_and(|c| !(from_ms..=to_ms).contains(&c.ts)) {
            return Err(ParamError::new(
                "cursor",
                "belongs to another time range: ask with the from and to that gave it",
            ));
        }
        Ok(PageQuery {
            limit,
            cursor,
            from_ms,
            to_ms,
        })
    }
}

/// A customer's label of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The event was fraud (a chargeback, an account takeover, a bot).
    Fraud,
    /// The event was a legitimate customer's.
    Legitimate,
}

impl Label {
    /// The label's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Fraud => "fraud",
            Label::Legitimate => "legitimate",
        }
    }
}

/// The body of `POST /v1/events/{requestId}/feedback`: `{"label": "fraud" | "legitimate",
/// "reason": "…"}`, the reason optional and at most [`MAX_REASON_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    pub label: Label,
    #[serde(default)]
    pub reason: Option<String>,
}

impl FeedbackBody {
    /// Checks the reason's length and characters.
    ///
    /// # Errors
    /// [`ParamError`] (`reason`) when it is longer than [`MAX_REASON_CHARS`] characters or
    /// holds control characters.
    pub fn validate(self) -> Result<Self, ParamError> {
        if let Some(r) = &self.reason {
            if r.chars().count() > MAX_REASON_CHARS {
                return Err(ParamError::new(
                    "reason",
                    format!("must be at most {MAX_REASON_CHARS} characters"),
                ));
            }
            if r.chars().any(char::is_control) {
                return Err(ParamError::new("reason", "must not contain control characters"));
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const RID: &str = "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7b";

    fn page(params: &[(&str, &str)]) -> Result<PageQuery, ParamError> {
        let map: HashMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PageQuery::parse(|k| map.get(k).cloned())
    }

    #[test]
    fn ids_are_canonical_uuids() {
        assert_eq!(uuid_id("requestId", RID).unwrap(), RID);
        for bad in [
            "",
            "x",
            &RID.to_uppercase(),
            &RID.replace('-', ""),
            &format!("{{{RID}}}"),
            &format!("{RID} "),
        ] {
            assert_eq!(uuid_id("requestId", bad).unwrap_err().parameter, "requestId", "{bad:?}");
        }
    }

    #[test]
    fn a_cursor_round_trips_and_nothing_else_is_one() {
        let c = Cursor {
            ts: 1_790_000_000_000,
            request_id: RID.into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let forged = |raw: &str| URL_SAFE_NO_PAD.encode(raw);
        for bad in [
            "".to_string(),
            "!!".to_string(),
            forged("1790000000000"),
            forged(&format!("-5.{RID}")),
            forged(&format!("99999999999999999999.{RID}")),
            forged("1790000000000.not-a-uuid"),
            "A".repeat(200),
        ] {
            assert_eq!(Cursor::decode(&bad).unwrap_err().parameter, "cursor", "{bad:?}");
        }
    }

    #[test]
    fn a_page_has_bounded_limits_and_an_ordered_range() {
        let p = page(&[]).unwrap();
        assert_eq!(
            (p.limit, p.cursor, p.from_ms, p.to_ms),
            (DEFAULT_PAGE_LIMIT, None, MIN_EVENT_TS_MS, MAX_EVENT_TS_MS)
        );
        assert_eq!(page(&[("limit", "100"), ("from", "1790000000000")]).unwrap().limit, 100);
        for (k, v) in [
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "-1"),
            ("limit", "ten"),
            ("limit", "05"),
            ("limit", "+5"),
            ("limit", " 5"),
            ("from", "01790000000000"),
            ("from", "+1790000000000"),
            ("from", "1.5"),
            ("to", "99999999999999999999"),
        ] {
            assert_eq!(page(&[(k, v)]).unwrap_err().parameter, k, "{k}={v}");
        }
        assert_eq!(
            page(&[("from", "1790000000001"), ("to", "1790000000000")])
                .unwrap_err()
                .parameter,
            "from"
        );
        let c = Cursor {
            ts: 1_790_000_000_000,
            request_id: RID.into(),
        }
        .encode();
        assert!(page(&[("cursor", &c), ("to", "1790000000000")]).is_ok());
        assert_eq!(
            page(&[("cursor", &c), ("to", "1789999999999")]).unwrap_err().parameter,
            "cursor"
        );
    }

    #[test]
    fn feedback_takes_a_known_label_and_a_short_reason() {
        let body: FeedbackBody = serde_json::from_str(r#"{"label":"fraud","reason":"chargeback"}"#).unwrap();
        assert_eq!(body.clone().validate().unwrap().label, Label::Fraud);
        assert!(serde_json::from_str::<FeedbackBody>(r#"{"label":"spam"}"#).is_err());
        assert!(serde_json::from_str::<FeedbackBody>(r#"{"label":"fraud","extra":1}"#).is_err());
        let long = FeedbackBody {
            label: Label::Legitimate,
            reason: Some("é".repeat(MAX_REASON_CHARS + 1)),
        };
        assert_eq!(long.validate().unwrap_err().parameter, "reason");
        let exact = FeedbackBody {
            label: Label::Legitimate,
            reason: Some("é".repeat(MAX_REASON_CHARS)),
        };
        assert!(exact.validate().is_ok());
    }
}
