//! The identity inputs of a request, validated before use (gathered from the request and its
//! event by [`crate::judge::prepare`]).
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
use super::domainprint::Presented;

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
    use crate::identity::domainprint::DomainprintKeys;

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
