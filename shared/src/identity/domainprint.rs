//! Signed domainprints: the first-party identity cookie is issued by us and verifiable, so a
//! value a client makes up is never an identity.
//!
//! Format (ASCII, 65 characters, cookie- and URL-safe):
//! `d1.<key id>.<visitor>.<nonce>.<tag>`, each part base64url without padding:
//! - `key id` (4 characters): the first 3 bytes of SHA-256 of `impressio/domainprint/key-id`
//!   and the signing secret, so a value signed by a retired key is told from a forged one;
//! - `visitor` (22 characters): the 16 bytes of the visitor id (a UUID) the value was issued
//!   to. The visitor of a correctly signed domainprint is known without a read;
//! - `nonce` (11 characters): 8 random bytes, so that each of a visitor's sites and devices
//!   gets its own value (no value is shared across the organization's domains);
//! - `tag` (22 characters): the first 16 bytes of HMAC-SHA256 under the secret of
//!   `impressio/domainprint/v1`, NUL, the organization id, NUL, and the key id, visitor and
//!   nonce bytes. The organization is inside the MAC, so a value issued for one organization
//!   is forged for every other one.
//!
//! Keys: `DOMAINPRINT_SECRET` signs; `DOMAINPRINT_SECRET_PREVIOUS` (during a rotation) is still
//! accepted, and a value it signed is replaced by one under the current key for the same
//! visitor. Verification is constant-time (`hmac`'s `verify_truncated_left`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::conf::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The version prefix of signed domainprints.
pub const PREFIX: &str = "d1";
/// Length of a signed domainprint, characters.
pub const SIGNED_LEN: usize = 2 + 1 + 4 + 1 + 22 + 1 + 11 + 1 + 22;
/// Shortest secret accepted, bytes: 256 bits, as for HMAC-SHA256 keys.
pub const MIN_SECRET_BYTES: usize = 32;
const TAG_BYTES: usize = 16;
const CONTEXT: &[u8] = b"impressio/domainprint/v1";

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

    fn mac(&self, organization_id: &str, visitor: &[u8; 16], nonce: &[u8; 8]) -> HmacSha256 {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        m.update(CONTEXT);
        m.update(b"\0");
        m.update(organization_id.as_bytes());
        m.update(b"\0");
        m.update(self.id.as_bytes());
        m.update(visitor);
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
    /// Signed by the previous key: valid, to be replaced by a value under the current key.
    Rotated { value: String, visitor_id: String },
    /// Not in the signed format (a value of an older release, or made up).
    Unsigned,
    /// In the signed format, under a key id we do not hold (a retired key, or made up).
    UnknownKey,
    /// In the signed format under one of our keys, with a tag that does not verify: altered,
    /// forged, or issued for another organization.
    Forged,
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
        })
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

    /// A new domainprint for `visitor_id` (a UUID) of `organization_id`, under the current key;
    /// `None` when the visitor id is not a UUID.
    pub fn issue(&self, organization_id: &str, visitor_id: &str) -> Option<String> {
        let visitor = *uuid::Uuid::parse_str(visitor_id).ok()?.as_bytes();
        let nonce: [u8; 8] = uuid::Uuid::new_v4().as_bytes()[..8].try_into().ok()?;
        let key = &self.current;
        let tag = key.mac(organization_id, &visitor, &nonce).finalize().into_bytes();
        Some(format!(
            "{PREFIX}.{}.{}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(visitor),
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        ))
    }

    /// Verifies a presented value for `organization_id`.
    pub fn verify(&self, organization_id: &str, value: &str) -> Presented {
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
            .mac(organization_id, &parts.visitor, &parts.nonce)
            .verify_truncated_left(&parts.tag)
            .is_ok();
        if !ok {
            return Presented::Forged;
        }
        let visitor_id = uuid::Uuid::from_bytes(parts.visitor).to_string();
        let value = value.to_string();
        if std::ptr::eq(key, &self.current) {
            Presented::Valid { value, visitor_id }
        } else {
            Presented::Rotated { value, visitor_id }
        }
    }
}

struct Parts<'a> {
    key_id: &'a str,
    visitor: [u8; 16],
    nonce: [u8; 8],
    tag: [u8; TAG_BYTES],
}

/// The parts of a value in the signed format, or `None`.
fn split(value: &str) -> Option<Parts<'_>> {
    if value.len() != SIGNED_LEN {
        return None;
    }
    let mut it = value.split('.');
    let (prefix, key_id, visitor, nonce, tag) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || prefix != PREFIX || key_id.len() != 4 {
        return None;
    }
    fn bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
        URL_SAFE_NO_PAD.decode(s).ok()?.try_into().ok()
    }
    Some(Parts {
        key_id,
        visitor: bytes(visitor)?,
        nonce: bytes(nonce)?,
        tag: bytes(tag)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VISITOR: &str = "0192f0c4-7f4b-7c3e-9a51-3c1f0b6e2d17";

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
        let v = k.issue("org1", VISITOR).unwrap();
        assert_eq!(v.len(), SIGNED_LEN, "{v}");
        assert!(v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')));
        assert_eq!(
            k.verify("org1", &v),
            Presented::Valid {
                value: v.clone(),
                visitor_id: VISITOR.into()
            }
        );
        assert_eq!(k.verify("org2", &v), Presented::Forged, "another organization's value");
        assert_ne!(k.issue("org1", VISITOR).unwrap(), v, "a nonce per value");
        assert_eq!(k.issue("org1", "not-a-uuid"), None);
    }

    #[test]
    fn altered_made_up_and_foreign_values_are_refused() {
        let k = keys("a", None);
        let v = k.issue("org1", VISITOR).unwrap();
        // Another visitor spliced in: the tag no longer verifies.
        let other = URL_SAFE_NO_PAD.encode(uuid::Uuid::now_v7().as_bytes());
        let mut parts: Vec<&str> = v.split('.').collect();
        parts[2] = &other;
        assert_eq!(k.verify("org1", &parts.join(".")), Presented::Forged);
        // A flipped tag character.
        let mut flipped = v.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.verify("org1", std::str::from_utf8(&flipped).unwrap()),
            Presented::Forged
        );
        for made_up in [
            "dp0123456789abcdef0123456789abcdef",
            "attacker-chosen-value-1234",
            "",
            "d1....",
            "d1.x.y.z.w",
        ] {
            assert_eq!(k.verify("org1", made_up), Presented::Unsigned, "{made_up:?}");
        }
        // Signed by a key we never had.
        assert_eq!(keys("z", None).verify("org1", &v), Presented::UnknownKey);
    }

    #[test]
    fn the_previous_key_verifies_during_a_rotation() {
        let old = keys("a", None);
        let v = old.issue("org1", VISITOR).unwrap();
        let rotated = keys("b", Some("a"));
        assert_eq!(
            rotated.verify("org1", &v),
            Presented::Rotated {
                value: v.clone(),
                visitor_id: VISITOR.into()
            }
        );
        let fresh = rotated.issue("org1", VISITOR).unwrap();
        assert!(matches!(rotated.verify("org1", &fresh), Presented::Valid { .. }));
        // Once the previous key is dropped, its values name a key we no longer hold.
        assert_eq!(keys("b", None).verify("org1", &v), Presented::UnknownKey);
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
