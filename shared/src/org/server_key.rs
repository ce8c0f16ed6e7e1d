//! Organization server keys: how an organization's own servers authenticate the server-side
//! events they send (`POST /t` with `Authorization: Bearer <server key>`, enterprise plan).
//!
//! The key itself is never stored: the `organizations.server_key_sha256` column holds the
//! lowercase hex SHA-256 of it (64 characters), and [`ServerKeyDigest::verify`] hashes the
//! presented key and compares the two digests in constant time (`subtle`). Keys should be at
//! least 32 random bytes (e.g. `openssl rand -hex 32`): then the digest, which the shared
//! organization cache holds, reveals nothing usable.
//!
//! The Server API key (`/v1/`, every plan) is kept the same way, in `api_key_sha256`, with
//! `api_key_previous_sha256` for rotation ([`ServerKeyDigest::verify_rotating`]). It names its
//! organization: `<organization id>.<secret>` ([`api_key_organization`]), so a call needs no
//! other parameter to find whose data it may read, and the digest covers the whole key.
//!
//! The `Authorization` header is read by [`bearer_token`]: the `Bearer` scheme
//! (case-insensitive) and an RFC 6750 `b64token` of at most [`MAX_TOKEN_BYTES`] bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Longest accepted bearer token, bytes (a 32-byte key in hex is 64).
pub const MAX_TOKEN_BYTES: usize = 256;

/// The SHA-256 of an organization's server key. `Debug` never shows it; it serializes as
/// lowercase hex (the organization cache keeps it) and deserializes from 64 hex digits of
/// either case.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerKeyDigest([u8; 32]);

/// Why an `Authorization` header is not a usable bearer credential. The messages never quote
/// the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// The header names another scheme (`Basic …`) or no scheme at all.
    NotBearer,
    /// `Bearer` without a token.
    Empty,
    /// Characters a bearer token cannot have, or longer than [`MAX_TOKEN_BYTES`].
    Malformed,
}

impl BearerError {
    /// What is wrong, for an error body.
    pub fn message(self) -> &'static str {
        match self {
            BearerError::NotBearer => "the Authorization header is not a Bearer credential",
            BearerError::Empty => "the Bearer credential has no token",
            BearerError::Malformed => "the Bearer token is not 1-256 characters of letters, digits and - . _ ~ + / =",
        }
    }
}

impl std::fmt::Display for BearerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for BearerError {}

/// Why a stored digest cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a server key digest is 64 hexadecimal digits (a SHA-256)")]
pub struct DigestFormatError;

impl ServerKeyDigest {
    /// The digest of `key`.
    pub fn of_key(key: &str) -> Self {
        ServerKeyDigest(Sha256::digest(key.as_bytes()).into())
    }

    /// Reads 64 hex digits (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`DigestFormatError`] for anything else.
    pub fn from_hex(text: &str) -> Result<Self, DigestFormatError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| DigestFormatError)?;
        Ok(ServerKeyDigest(bytes))
    }

    /// Lowercase hex, as the `server_key_sha256` column holds it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether `presented` is the key of `stored`, in constant time: the presented key is
    /// hashed and compared with the stored digest, or with a dummy digest when the
    /// organization has none, so the time taken says nothing about either.
    pub fn verify(stored: Option<&ServerKeyDigest>, presented: &str) -> bool {
        let presented = Self::of_key(presented);
        let (expected, configured) = match stored {
            Some(d) => (d.0, 1u8),
            None => ([0u8; 32], 0u8),
        };
        (presented.0.ct_eq(&expected) & subtle::Choice::from(configured)).into()
    }

    /// Whether `presented` is the key of `current` or of `previous` (the key being rotated
    /// out), in constant time: both comparisons always run, against a dummy where a digest
    /// is absent.
    pub fn verify_rotating(
        current: Option<&ServerKeyDigest>,
        previous: Option<&ServerKeyDigest>,
        presented: &str,
    ) -> bool {
        let presented = Self::of_key(presented);
        let mut ok = subtle::Choice::from(0u8);
        for stored in [current, previous] {
            let (expected, configured) = match stored {
                Some(d) => (d.0, 1u8),
                None => ([0u8; 32], 0u8),
            };
            ok |= presented.0.ct_eq(&expected) & subtle::Choice::from(configured);
        }
        ok.into()
    }
}

/// The organization a Server API key names: the part before its first `.`, when that is
/// 1-64 letters, digits, `_` or `-` (an organization id) and a secret of at least 16
/// characters follows; `None` for anything else.
pub fn api_key_organization(key: &str) -> Option<&str> {
    let (org, secret) = key.split_once('.')?;
    let org_ok =
        (1..=64).contains(&org.len()) && org.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (org_ok && secret.len() >= 16).then_some(org)
}

impl std::fmt::Debug for ServerKeyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeyDigest(***)")
    }
}

impl Serialize for ServerKeyDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ServerKeyDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
///
/// # Errors
/// [`BearerError`] naming what is wrong (never quoting the value).
pub fn bearer_token(header: &str) -> Result<&str, BearerError> {
    // RFC 9110 section 5.5: a field value has no leading or trailing whitespace (OWS).
    let header = header.trim_matches([' ', '\t']);
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::NotBearer);
    }
    // RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token — spaces only (one or more),
    // then the token and nothing else.
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(BearerError::Empty);
    }
    // RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let ok = token.len() <= MAX_TOKEN_BYTES
        && !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
    if !ok {
        return Err(BearerError::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn the_digest_is_sha256_hex() {
        assert_eq!(ServerKeyDigest::of_key("abc").to_hex(), ABC);
        let upper = ServerKeyDigest::from_hex(&ABC.to_ascii_uppercase()).unwrap();
        assert_eq!(upper, ServerKeyDigest::of_key("abc"));
        for bad in ["", "abc", &ABC[..63], &format!("{ABC}00"), &ABC.replace('b', "g")] {
            assert_eq!(ServerKeyDigest::from_hex(bad), Err(DigestFormatError), "{bad:?}");
        }
    }

    #[test]
    fn verification_needs_the_right_key_and_a_configured_one() {
        let stored = ServerKeyDigest::of_key("the-right-key");
        assert!(ServerKeyDigest::verify(Some(&stored), "the-right-key"));
        assert!(!ServerKeyDigest::verify(Some(&stored), "the-wrong-key"));
        assert!(!ServerKeyDigest::verify(Some(&stored), "the-right-key "));
        assert!(!ServerKeyDigest::verify(None, "the-right-key"));
        // A key whose digest happens to be the dummy is still refused without a stored one.
        let zero = ServerKeyDigest([0; 32]);
        assert!(!ServerKeyDigest::verify(None, "x") && !ServerKeyDigest::verify(Some(&zero), "x"));
    }

    #[test]
    fn the_digest_never_shows_in_debug_and_round_trips_as_hex() {
        let d = ServerKeyDigest::of_key("abc");
        assert_eq!(format!("{d:?}"), "ServerKeyDigest(***)");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{ABC}\""));
        assert_eq!(serde_json::from_str::<ServerKeyDigest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<ServerKeyDigest>("\"nothex\"").is_err());
    }

    #[test]
    fn a_rotating_key_accepts_the_current_and_the_previous_key_only() {
        let current = ServerKeyDigest::of_key("org_a.current-secret-0123456789");
        let previous = ServerKeyDigest::of_key("org_a.previous-secret-0123456789");
        let both = |k: &str| ServerKeyDigest::verify_rotating(Some(&current), Some(&previous), k);
        assert!(both("org_a.current-secret-0123456789"));
        assert!(both("org_a.previous-secret-0123456789"));
        assert!(!both("org_a.other-secret-0123456789"));
        assert!(ServerKeyDigest::verify_rotating(
            Some(&current),
            None,
            "org_a.current-secret-0123456789"
        ));
        assert!(!ServerKeyDigest::verify_rotating(
            None,
            Some(&previous),
            "org_a.current-secret-0123456789"
        ));
        assert!(!ServerKeyDigest::verify_rotating(
            None,
            None,
            "org_a.current-secret-0123456789"
        ));
    }

    #[test]
    fn an_api_key_names_its_organization() {
        assert_eq!(api_key_organization("org_demo-1.0123456789abcdef"), Some("org_demo-1"));
        assert_eq!(api_key_organization("org.a.0123456789abcdef"), Some("org"));
        for bad in [
            "",
            "org_demo",
            ".0123456789abcdef",
            "org.short",
            "or g.0123456789abcdef",
            &format!("{}.0123456789abcdef", "o".repeat(65)),
        ] {
            assert_eq!(api_key_organization(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bearer_credentials_are_parsed_strictly() {
        assert_eq!(bearer_token("Bearer abc.DEF-_~+/=="), Ok("abc.DEF-_~+/=="));
        // RFC 6750's `1*SP`: one space or more; the field value's own whitespace trimmed.
        assert_eq!(bearer_token("bearer   k1 "), Ok("k1"));
        assert_eq!(bearer_token("Bearer  k1"), Ok("k1"));
        // Anything but spaces between scheme and token, or after it, is not the grammar.
        assert_eq!(bearer_token("Bearer\tk1"), Err(BearerError::NotBearer));
        assert_eq!(bearer_token("Bearer \tk1"), Err(BearerError::Malformed));
        assert_eq!(bearer_token("Bearer k1\t x"), Err(BearerError::Malformed));
        assert_eq!(bearer_token("Bearer k1 ,"), Err(BearerError::Malformed));
        assert_eq!(bearer_token("Bearer =k1"), Err(BearerError::Malformed));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), Err(BearerError::NotBearer));
        assert_eq!(bearer_token("k1"), Err(BearerError::NotBearer));
        assert_eq!(bearer_token("Bearer"), Err(BearerError::Empty));
        assert_eq!(bearer_token("Bearer   "), Err(BearerError::Empty));
        assert_eq!(bearer_token("Bearer a b"), Err(BearerError::Malformed));
        assert_eq!(bearer_token("Bearer ==="), Err(BearerError::Malformed));
        assert_eq!(bearer_token("Bearer k\u{e9}y"), Err(BearerError::Malformed));
        let long = format!("Bearer {}", "k".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(bearer_token(&long), Err(BearerError::Malformed));
        // The messages never quote the credential.
        for e in [BearerError::NotBearer, BearerError::Empty, BearerError::Malformed] {
            assert!(!e.to_string().contains("dXNlcjpwYXNz"));
        }
    }
}
