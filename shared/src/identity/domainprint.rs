#![doc = include_str!("../docs/domainprint.md")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::env::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The version prefix of signed domainprints.
pub const PREFIX: &str = "d2";
/// The version prefix of signed domainprints without an issue time (releases before
/// 2026-12-07): verified, and replaced at once.
pub const LEGACY_PREFIX: &str = "d1";
/// Length of a signed domainprint, characters.
pub const SIGNED_LEN: usize = 2 + 1 + 4 + 1 + 22 + 1 + 6 + 1 + 11 + 1 + 22;
/// Length of a legacy (`d1`) signed domainprint, characters.
pub const LEGACY_LEN: usize = 2 + 1 + 4 + 1 + 22 + 1 + 11 + 1 + 22;
/// Shortest secret accepted, bytes: 256 bits, as for HMAC-SHA256 keys.
pub const MIN_SECRET_BYTES: usize = 32;
const TAG_BYTES: usize = 16;
const CONTEXT: &[u8] = b"impressio/domainprint/v2";
const LEGACY_CONTEXT: &[u8] = b"impressio/domainprint/v1";

/// How long a domainprint is good for, and when it is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainprintLifetime {
    /// From its issue time, seconds: the cookie's lifetime (`IDENTITY_CONFIG.cookie_max_age_days`,
    /// 365 days by default).
    pub max_age_secs: i64,
    /// A value at least this old is replaced on its next request, seconds
    /// (`IDENTITY_CONFIG.domainprint_reissue_days`, 7 days by default): a browser that comes
    /// back within a year of its last visit keeps its visitor.
    pub reissue_after_secs: i64,
}

impl Default for DomainprintLifetime {
    fn default() -> Self {
        DomainprintLifetime {
            max_age_secs: 365 * 86_400,
            reissue_after_secs: 7 * 86_400,
        }
    }
}

/// One signing key: the secret and its key id.
#[derive(Clone)]
struct Key {
    id: String,
    secret: Secret,
}

impl Key {
    fn new(secret: Secret) -> Self {
        let mut h = Sha256::new();
        h.update(b"impressio/domainprint/key-id\0");
        h.update(secret.expose().as_bytes());
        let id = URL_SAFE_NO_PAD.encode(&h.finalize()[..3]);
        Key { id, secret }
    }

    /// The MAC of a value's parts; `issued: None` for a legacy value (no issue time, its own
    /// context).
    fn mac(&self, organization_id: &str, visitor: &[u8; 16], issued: Option<[u8; 4]>, nonce: &[u8; 8]) -> HmacSha256 {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        m.update(if issued.is_some() { CONTEXT } else { LEGACY_CONTEXT });
        m.update(b"\0");
        m.update(organization_id.as_bytes());
        m.update(b"\0");
        m.update(self.id.as_bytes());
        m.update(visitor);
        if let Some(issued) = issued {
            m.update(&issued);
        }
        m.update(nonce);
        m
    }
}

/// The keys that issue and verify domainprints: the current one and, during a rotation, the
/// previous one. `Debug` shows key ids only.
#[derive(Clone)]
pub struct DomainprintKeys {
    current: Key,
    previous: Option<Key>,
    lifetime: DomainprintLifetime,
}

impl std::fmt::Debug for DomainprintKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainprintKeys")
            .field("current", &self.current.id)
            .field("previous", &self.previous.as_ref().map(|k| &k.id))
            .finish()
    }
}

/// Why a domainprint secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Shorter than [`MIN_SECRET_BYTES`].
    #[error("{var} must be at least {MIN_SECRET_BYTES} bytes (e.g. 32 random bytes, base64), got {len}")]
    TooShort { var: &'static str, len: usize },
    /// The previous secret equals the current one.
    #[error("DOMAINPRINT_SECRET_PREVIOUS equals DOMAINPRINT_SECRET")]
    SameAsCurrent,
}

/// What a presented domainprint turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// Nothing presented.
    Absent,
    /// Signed by the current key for this organization: the visitor it was issued to.
    Valid { value: String, visitor_id: String },
    /// Valid, to be replaced by a new value for the same visitor: signed by the previous key,
    /// older than [`DomainprintLifetime::reissue_after_secs`], or of the legacy format.
    Rotated { value: String, visitor_id: String },
    /// Not in the signed format (a value of an older release, or made up).
    Unsigned,
    /// In the signed format, under a key id we do not hold (a retired key, or made up).
    UnknownKey,
    /// In the signed format under one of our keys, with a tag that does not verify: altered,
    /// forged, or issued for another organization.
    Forged,
    /// Correctly signed, but issued longer ago than its lifetime: a browser never keeps it
    /// that long (its cookie expired with it), so it was kept or copied elsewhere.
    Expired,
}

impl Presented {
    /// The value and visitor of a correctly signed domainprint.
    pub fn verified(&self) -> Option<(&str, &str)> {
        match self {
            Presented::Valid { value, visitor_id } | Presented::Rotated { value, visitor_id } => {
                Some((value.as_str(), visitor_id.as_str()))
            }
            _ => None,
        }
    }

    /// The fraud reason code of a value that was presented and refused, if any.
    pub fn refusal(&self) -> Option<&'static str> {
        match self {
            Presented::Unsigned => Some("unsigned_domainprint"),
            Presented::UnknownKey => Some("unknown_domainprint_key"),
            Presented::Forged => Some("forged_domainprint"),
            Presented::Expired => Some("expired_domainprint"),
            _ => None,
        }
    }
}

impl DomainprintKeys {
    /// Keys from the current secret and, during a rotation, the previous one.
    ///
    /// # Errors
    /// [`KeyError`] for a secret shorter than [`MIN_SECRET_BYTES`] or a previous secret equal
    /// to the current one.
    pub fn new(current: Secret, previous: Option<Secret>) -> Result<Self, KeyError> {
        let check = |var, s: &Secret| {
            let len = s.expose().len();
            if len < MIN_SECRET_BYTES {
                Err(KeyError::TooShort { var, len })
            } else {
                Ok(())
            }
        };
        check("DOMAINPRINT_SECRET", &current)?;
        if let Some(p) = &previous {
            check("DOMAINPRINT_SECRET_PREVIOUS", p)?;
            if p.expose() == current.expose() {
                return Err(KeyError::SameAsCurrent);
            }
        }
        Ok(DomainprintKeys {
            current: Key::new(current),
            previous: previous.map(Key::new),
            lifetime: DomainprintLifetime::default(),
        })
    }

    /// The same keys issuing and verifying values for `lifetime`.
    pub fn with_lifetime(mut self, lifetime: DomainprintLifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How long values are good for.
    pub fn lifetime(&self) -> DomainprintLifetime {
        self.lifetime
    }

    /// When a value in the signed format was issued, ms since the Unix epoch (read without
    /// verifying: for measuring, after [`DomainprintKeys::verify`] accepted it); `None` for a
    /// legacy value or anything else.
    pub fn issued_ms(value: &str) -> Option<i64> {
        split(value)?.issued.map(|b| i64::from(u32::from_be_bytes(b)) * 1000)
    }

    /// The seconds `value` (as issued by [`DomainprintKeys::issue`]) is still good for at
    /// `now_ms`: the cookie's `Max-Age`, so the cookie never outlives its value (0 when past;
    /// the whole lifetime for a value without an issue time).
    pub fn remaining_secs(&self, value: &str, now_ms: i64) -> i64 {
        match Self::issued_ms(value) {
            Some(issued) => (issued / 1000)
                .saturating_add(self.lifetime.max_age_secs)
                .saturating_sub(now_ms / 1000)
                .clamp(0, self.lifetime.max_age_secs),
            None => self.lifetime.max_age_secs,
        }
    }

    /// A key for another purpose derived from the current secret: HMAC-SHA-256(secret,
    /// `impressio-derive` ‖ 0 ‖ `purpose`). Rotating the domainprint secret rotates it too.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(self.current.secret.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        m.update(b"impressio-derive\0");
        m.update(purpose.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// Keys from a random secret of this process: for tests and tools only, since a value
    /// they issue does not verify in any other process.
    pub fn ephemeral() -> Self {
        let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        Self::new(Secret::new(secret), None).expect("64 characters")
    }

    /// A new domainprint for `visitor_id` (a UUID) of `organization_id`, issued at `now_ms`,
    /// under the current key; `None` when the visitor id is not a UUID.
    pub fn issue(&self, organization_id: &str, visitor_id: &str, now_ms: i64) -> Option<String> {
        let visitor = *uuid::Uuid::parse_str(visitor_id).ok()?.as_bytes();
        let nonce: [u8; 8] = uuid::Uuid::new_v4().as_bytes()[..8].try_into().ok()?;
        let issued = u32::try_from((now_ms / 1000).max(0)).unwrap_or(u32::MAX).to_be_bytes();
        let key = &self.current;
        let tag = key
            .mac(organization_id, &visitor, Some(issued), &nonce)
            .finalize()
            .into_bytes();
        Some(format!(
            "{PREFIX}.{}.{}.{}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(visitor),
            URL_SAFE_NO_PAD.encode(issued),
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        ))
    }

    /// Verifies a presented value for `organization_id` at `now_ms`.
    pub fn verify(&self, organization_id: &str, value: &str, now_ms: i64) -> Presented {
        let Some(parts) = split(value) else {
            return Presented::Unsigned;
        };
        let key = if parts.key_id == self.current.id {
            &self.current
        } else {
            match &self.previous {
                Some(p) if parts.key_id == p.id => p,
                _ => return Presented::UnknownKey,
            }
        };
        let ok = key
            .mac(organization_id, &parts.visitor, parts.issued, &parts.nonce)
            .verify_truncated_left(&parts.tag)
            .is_ok();
        if !ok {
            return Presented::Forged;
        }
        let age_secs = parts
            .issued
            .map(|b| (now_ms / 1000).saturating_sub(i64::from(u32::from_be_bytes(b))));
        if age_secs.is_some_and(|a| a > self.lifetime.max_age_secs) {
            return Presented::Expired;
        }
        let visitor_id = uuid::Uuid::from_bytes(parts.visitor).to_string();
        let value = value.to_string();
        let current = std::ptr::eq(key, &self.current);
        let fresh = age_secs.is_some_and(|a| a < self.lifetime.reissue_after_secs);
        if current && fresh {
            Presented::Valid { value, visitor_id }
        } else {
            Presented::Rotated { value, visitor_id }
        }
    }
}

struct Parts<'a> {
    key_id: &'a str,
    visitor: [u8; 16],
    /// `None` for a legacy value.
    issued: Option<[u8; 4]>,
    nonce: [u8; 8],
    tag: [u8; TAG_BYTES],
}

/// The parts of a value in the signed format (or the legacy one), or `None`.
fn split(value: &str) -> Option<Parts<'_>> {
    fn bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
        URL_SAFE_NO_PAD.decode(s).ok()?.try_into().ok()
    }
    let parts: Vec<&str> = match value.len() {
        SIGNED_LEN | LEGACY_LEN => value.split('.').collect(),
        _ => return None,
    };
    let (key_id, visitor, issued, nonce, tag) = match parts.as_slice() {
        [PREFIX, k, v, i, n, t] if value.len() == SIGNED_LEN => (*k, *v, Some(bytes::<4>(i)?), *n, *t),
        [LEGACY_PREFIX, k, v, n, t] if value.len() == LEGACY_LEN => (*k, *v, None, *n, *t),
        _ => return None,
    };
    if key_id.len() != 4 {
        return None;
    }
    Some(Parts {
        key_id,
        visitor: bytes(visitor)?,
        issued,
        nonce: bytes(nonce)?,
        tag: bytes(tag)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VISITOR: &str = "0192f0c4-7f4b-7c3e-9a51-3c1f0b6e2d17";
    /// 2026-11-18T11:06:40Z, ms.
    const NOW: i64 = 1_795_000_000_000;
    const DAY_MS: i64 = 86_400_000;

    fn keys(current: &str, previous: Option<&str>) -> DomainprintKeys {
        DomainprintKeys::new(
            Secret::new(current.repeat(32)),
            previous.map(|p| Secret::new(p.repeat(32))),
        )
        .unwrap()
    }

    #[test]
    fn an_issued_value_verifies_for_its_organization_only() {
        let k = keys("a", None);
        let v = k.issue("org1", VISITOR, NOW).unwrap();
        assert_eq!(v.len(), SIGNED_LEN, "{v}");
        assert!(v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')));
        assert_eq!(
            k.verify("org1", &v, NOW),
            Presented::Valid {
                value: v.clone(),
                visitor_id: VISITOR.into()
            }
        );
        assert_eq!(
            k.verify("org2", &v, NOW),
            Presented::Forged,
            "another organization's value"
        );
        assert_ne!(k.issue("org1", VISITOR, NOW).unwrap(), v, "a nonce per value");
        assert_eq!(k.issue("org1", "not-a-uuid", NOW), None);
    }

    #[test]
    fn altered_made_up_and_foreign_values_are_refused() {
        let k = keys("a", None);
        let v = k.issue("org1", VISITOR, NOW).unwrap();
        // Another visitor spliced in: the tag no longer verifies.
        let other = URL_SAFE_NO_PAD.encode(uuid::Uuid::now_v7().as_bytes());
        let mut parts: Vec<&str> = v.split('.').collect();
        parts[2] = &other;
        assert_eq!(k.verify("org1", &parts.join("."), NOW), Presented::Forged);
        // A flipped tag character.
        let mut flipped = v.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.verify("org1", std::str::from_utf8(&flipped).unwrap(), NOW),
            Presented::Forged
        );
        for made_up in [
            "dp0123456789abcdef0123456789abcdef",
            "attacker-chosen-value-1234",
            "",
            "d1....",
            "d1.x.y.z.w",
            "d2.x.y.z.w.v",
        ] {
            assert_eq!(k.verify("org1", made_up, NOW), Presented::Unsigned, "{made_up:?}");
        }
        // Signed by a key we never had.
        assert_eq!(keys("z", None).verify("org1", &v, NOW), Presented::UnknownKey);
    }

    #[test]
    fn the_previous_key_verifies_during_a_rotation() {
        let old = keys("a", None);
        let v = old.issue("org1", VISITOR, NOW).unwrap();
        let rotated = keys("b", Some("a"));
        assert_eq!(
            rotated.verify("org1", &v, NOW),
            Presented::Rotated {
                value: v.clone(),
                visitor_id: VISITOR.into()
            }
        );
        let fresh = rotated.issue("org1", VISITOR, NOW).unwrap();
        assert!(matches!(rotated.verify("org1", &fresh, NOW), Presented::Valid { .. }));
        // Once the previous key is dropped, its values name a key we no longer hold.
        assert_eq!(keys("b", None).verify("org1", &v, NOW), Presented::UnknownKey);
    }

    #[test]
    fn a_value_is_good_for_its_lifetime_and_replaced_once_a_week() {
        let k = keys("a", None);
        let v = k.issue("org1", VISITOR, NOW).unwrap();
        assert_eq!(DomainprintKeys::issued_ms(&v), Some(NOW));
        assert_eq!(k.remaining_secs(&v, NOW), 365 * 86_400);
        assert_eq!(k.remaining_secs(&v, NOW + 300 * DAY_MS), 65 * 86_400);
        let valid = |at: i64| matches!(k.verify("org1", &v, at), Presented::Valid { .. });
        let rotated = |at: i64| matches!(k.verify("org1", &v, at), Presented::Rotated { .. });
        assert!(valid(NOW) && valid(NOW + 7 * DAY_MS - 1000));
        assert!(rotated(NOW + 7 * DAY_MS) && rotated(NOW + 365 * DAY_MS));
        assert_eq!(k.verify("org1", &v, NOW + 366 * DAY_MS), Presented::Expired);
        assert_eq!(k.remaining_secs(&v, NOW + 366 * DAY_MS), 0);
        assert_eq!(Presented::Expired.refusal(), Some("expired_domainprint"));
        // The issue time is inside the MAC: a value made younger is forged.
        let mut parts: Vec<String> = v.split('.').map(str::to_string).collect();
        parts[3] = URL_SAFE_NO_PAD.encode(u32::try_from((NOW + 300 * DAY_MS) / 1000).unwrap().to_be_bytes());
        assert_eq!(
            k.verify("org1", &parts.join("."), NOW + 366 * DAY_MS),
            Presented::Forged
        );
        // A shorter configured lifetime.
        let short = keys("a", None).with_lifetime(DomainprintLifetime {
            max_age_secs: 86_400,
            reissue_after_secs: 3600,
        });
        assert_eq!(short.verify("org1", &v, NOW + 2 * DAY_MS), Presented::Expired);
    }

    #[test]
    fn a_legacy_value_without_an_issue_time_verifies_and_is_replaced() {
        let k = keys("a", None);
        let visitor = *uuid::Uuid::parse_str(VISITOR).unwrap().as_bytes();
        let nonce = [7u8; 8];
        let tag = k.current.mac("org1", &visitor, None, &nonce).finalize().into_bytes();
        let legacy = format!(
            "{LEGACY_PREFIX}.{}.{}.{}.{}",
            k.current.id,
            URL_SAFE_NO_PAD.encode(visitor),
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        );
        assert_eq!(legacy.len(), LEGACY_LEN);
        assert_eq!(
            k.verify("org1", &legacy, NOW),
            Presented::Rotated {
                value: legacy.clone(),
                visitor_id: VISITOR.into()
            }
        );
        assert_eq!(k.verify("org2", &legacy, NOW), Presented::Forged);
        assert_eq!(k.remaining_secs(&legacy, NOW), 365 * 86_400);
    }

    #[test]
    fn weak_or_repeated_secrets_are_refused() {
        assert_eq!(
            DomainprintKeys::new(Secret::new("short"), None).unwrap_err(),
            KeyError::TooShort {
                var: "DOMAINPRINT_SECRET",
                len: 5
            }
        );
        let s = "s".repeat(32);
        assert_eq!(
            DomainprintKeys::new(Secret::new(s.clone()), Some(Secret::new(s))).unwrap_err(),
            KeyError::SameAsCurrent
        );
        let dbg = format!("{:?}", keys("a", Some("b")));
        assert!(!dbg.contains("aaaa") && !dbg.contains("bbbb"), "{dbg}");
    }
}
