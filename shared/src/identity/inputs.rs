//! The identity inputs of a request, validated before use.
//!
//! - `fingerprint`: from `/h.js`, 1–128 of `A–Z a–z 0–9 _ -` (checked with the event);
//! - `domainprint`: our first-party cookie [`DOMAINPRINT_COOKIE`] (or the body's
//!   `domainprint` when cookies are blocked), 16–64 of `A–Z a–z 0–9 _ . -`; a malformed
//!   cookie is ignored (a new one is issued), a malformed body field is refused;
//! - `behavioral`: the `/h-pro.js` signature, 8–128 of `A–Z a–z 0–9 _ . -`;
//! - `user_id`: the customer's user id (checked with the event);
//! - `ga4_client_id`: the event's `clientId`, else read from the `_ga` cookie
//!   (`GA1.<n>.<client id>`).

use crate::event::payload::ValidEvent;
use crate::event::FieldError;
use crate::http::EdgeRequest;

/// Name of the domainprint cookie.
pub const DOMAINPRINT_COOKIE: &str = "_impdp";

/// What a request tells about who sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityInputs {
    pub fingerprint: Option<String>,
    pub domainprint: Option<String>,
    pub behavioral: Option<String>,
    pub user_id: Option<String>,
    pub ga4_client_id: Option<String>,
}

/// Whether `v` is a well-formed domainprint.
pub fn valid_domainprint(v: &str) -> bool {
    (16..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A new random domainprint (128 random bits, hex).
pub fn new_domainprint() -> String {
    format!("dp{}", uuid::Uuid::new_v4().simple())
}

impl IdentityInputs {
    /// Collects the inputs of a request: the event's validated fields plus the cookies.
    ///
    /// # Errors
    /// [`FieldError`] for a malformed `domainprint` or `behavioralSignature` in the body.
    pub fn from_request(req: &EdgeRequest, event: &ValidEvent) -> Result<Self, FieldError> {
        Self::gather(Some(req), event)
    }

    /// The inputs of a server-side event: the event's fields only (its `domainprint`,
    /// `clientId`, …). The request's cookies are the calling server's, not the visitor's.
    ///
    /// # Errors
    /// As [`IdentityInputs::from_request`].
    pub fn from_event(event: &ValidEvent) -> Result<Self, FieldError> {
        Self::gather(None, event)
    }

    fn gather(req: Option<&EdgeRequest>, event: &ValidEvent) -> Result<Self, FieldError> {
        let body_domainprint = event.domainprint.clone();
        let behavioral = event.behavioral_signature.clone();
        if let Some(d) = &body_domainprint {
            if !valid_domainprint(d) {
                return Err(FieldError::new(
                    "domainprint",
                    "must be 16-64 characters of letters, digits, '_', '.' or '-'",
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
        let cookie = req.and_then(|r| r.cookie(DOMAINPRINT_COOKIE)).filter(|c| {
            let ok = valid_domainprint(c);
            if !ok {
                tracing::warn!("malformed domainprint cookie ignored");
            }
            ok
        });
        Ok(IdentityInputs {
            fingerprint: event.fingerprint.clone(),
            domainprint: cookie.or(body_domainprint),
            behavioral,
            user_id: event.user_id.clone(),
            ga4_client_id: event
                .ga4_client_id
                .clone()
                .or_else(|| req.and_then(|r| r.cookie("_ga")).and_then(|ga| ga4_client_id(&ga))),
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
        let dp = new_domainprint();
        assert!(valid_domainprint(&dp), "{dp}");
        assert_ne!(dp, new_domainprint());
        assert!(!valid_domainprint("short"));
        assert!(!valid_domainprint("has space in it, long enough"));
    }
}
