//! The identity inputs of a request, validated before use.
//!
//! - `fingerprint`: from `/h.js`, 1–128 of `A–Z a–z 0–9 _ -` (checked with the event);
//! - `domainprint`: our first-party cookie [`DOMAINPRINT_COOKIE`] (or the body's
//!   `domainprint` when cookies are blocked: the collector keeps a copy), verified against
//!   the organization's signing keys ([`super::domainprint`]). Only a correctly signed value
//!   (and not past its lifetime) is an identity; anything else presented is
//!   [`Presented::Unsigned`], [`Presented::UnknownKey`], [`Presented::Forged`] or
//!   [`Presented::Expired`] — treated as absent (a new value is
//!   issued, the presented one is never aliased nor echoed) and scored as a fraud signal. A
//!   body field that is not 1–128 of `A–Z a–z 0–9 _ . -` is refused;
//! - `behavioral`: the `/h-pro.js` signature, 8–128 of `A–Z a–z 0–9 _ . -`;
//! - `user_id`: the customer's user id (checked with the event);
//! - `ga4_client_id`: the event's `clientId`, else read from the `_ga` cookie
//!   (`GA1.<n>.<client id>`).

use super::corroborate::Sighting;
use super::domainprint::{DomainprintKeys, Presented};
use crate::event::payload::ValidEvent;
use crate::event::FieldError;
use crate::http::EdgeRequest;

/// Name of the domainprint cookie.
pub const DOMAINPRINT_COOKIE: &str = "_impdp";

/// Longest domainprint a client may send, characters (a signed one is
/// [`super::domainprint::SIGNED_LEN`]).
pub const MAX_DOMAINPRINT: usize = 128;

/// What a request tells about who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityInputs {
    pub fingerprint: Option<String>,
    /// The domainprint presented (cookie first, else body), as verified.
    pub domainprint: Presented,
    pub behavioral: Option<String>,
    pub user_id: Option<String>,
    pub ga4_client_id: Option<String>,
    /// Where the request comes from (network, ASN, time zone, language, device class), for
    /// corroborating a fingerprint match; the caller fills it from what it trusts (the
    /// request's transport, or a server's forwarded values).
    pub sighting: Sighting,
    /// The organization's retention, days: identity records live at most this long after
    /// they were last seen (`None`: `record_ttl_days`).
    pub retention_days: Option<u32>,
}

impl Default for IdentityInputs {
    fn default() -> Self {
        IdentityInputs {
            fingerprint: None,
            domainprint: Presented::Absent,
            behavioral: None,
            user_id: None,
            ga4_client_id: None,
            sighting: Sighting::default(),
            retention_days: None,
        }
    }
}

/// Whether `v` has the characters and length a domainprint may have (1–128 of `A–Z a–z
/// 0–9 _ . -`); whether it is ours is [`DomainprintKeys::verify`]'s answer.
pub fn plausible_domainprint(v: &str) -> bool {
    (1..=MAX_DOMAINPRINT).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl IdentityInputs {
    /// Collects the inputs of a request: the event's validated fields plus the cookies, the
    /// domainprint verified with `keys` for the event's organization.
    ///
    /// # Errors
    /// [`FieldError`] for a malformed `domainprint` or `behavioralSignature` in the body.
    pub fn from_request(
        req: &EdgeRequest,
        event: &ValidEvent,
        keys: &DomainprintKeys,
        now_ms: i64,
    ) -> Result<Self, FieldError> {
        Self::gather(Some(req), event, keys, now_ms)
    }

    /// The inputs of a server-side event: the event's fields only (its `domainprint`,
    /// `clientId`, …). The request's cookies are the calling server's, not the visitor's.
    ///
    /// # Errors
    /// As [`IdentityInputs::from_request`].
    pub fn from_event(event: &ValidEvent, keys: &DomainprintKeys, now_ms: i64) -> Result<Self, FieldError> {
        Self::gather(None, event, keys, now_ms)
    }

    fn gather(
        req: Option<&EdgeRequest>,
        event: &ValidEvent,
        keys: &DomainprintKeys,
        now_ms: i64,
    ) -> Result<Self, FieldError> {
        let body_domainprint = event.domainprint.clone();
        let behavioral = event.behavioral_signature.clone();
        if let Some(d) = &body_domainprint {
            if !plausible_domainprint(d) {
                return Err(FieldError::new(
                    "domainprint",
                    "must be 1-128 characters of letters, digits, '_', '.' or '-'",
                ));
            }
        }
        if let Some(b) = &behavioral {
            let ok = (8..=128).contains(&b.len())
                && b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
            if !ok {
                return Err(FieldError::new(
                    "behavioralSignature",
                    "must be 8-128 characters of letters, digits, '_', '.' or '-'",
                ));
            }
        }
        // The cookie wins over the body's copy; a cookie that cannot even be a domainprint
        // (odd characters, too long) is judged like any unsigned value.
        let presented = req.and_then(|r| r.cookie(DOMAINPRINT_COOKIE)).or(body_domainprint);
        let domainprint = match presented {
            None => Presented::Absent,
            Some(v) if !plausible_domainprint(&v) => Presented::Unsigned,
            Some(v) => keys.verify(&event.organization_id, &v, now_ms),
        };
        if let Some(code) = domainprint.refusal() {
            tracing::warn!(refusal = code, "presented domainprint refused; a new one is issued");
        }
        Ok(IdentityInputs {
            fingerprint: event.fingerprint.clone(),
            domainprint,
            behavioral,
            user_id: event.user_id.clone(),
            ga4_client_id: event
                .ga4_client_id
                .clone()
                .or_else(|| req.and_then(|r| r.cookie("_ga")).and_then(|ga| ga4_client_id(&ga))),
            sighting: Sighting::default(),
            retention_days: None,
        })
    }
}

/// The GA4 client id of a `_ga` cookie value (`GA1.1.1234567890.1699999999` →
/// `1234567890.1699999999`).
pub fn ga4_client_id(cookie: &str) -> Option<String> {
    let mut parts = cookie.splitn(3, '.');
    let version = parts.next()?;
    let _depth = parts.next()?;
    let id = parts.next()?;
    let ok = version.starts_with("GA")
        && id.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    ok.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ga_cookie_and_domainprint_formats() {
        assert_eq!(
            ga4_client_id("GA1.1.1234567890.1699999999").as_deref(),
            Some("1234567890.1699999999")
        );
        assert_eq!(ga4_client_id("GA1.2.x.y"), None);
        assert_eq!(ga4_client_id("junk"), None);
        let dp = DomainprintKeys::ephemeral()
            .issue("o", &uuid::Uuid::now_v7().to_string(), 1_795_000_000_000)
            .unwrap();
        assert!(plausible_domainprint(&dp), "{dp}");
        assert!(!plausible_domainprint(""));
        assert!(!plausible_domainprint(&"x".repeat(129)));
        assert!(!plausible_domainprint("has space in it, long enough"));
    }
}
