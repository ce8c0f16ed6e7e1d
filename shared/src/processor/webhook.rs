//! Webhook signatures (seed `001_…`, stage 5).
//!
//! - `X-Impressio-Signature`: the HMAC-SHA256 of the exact body bytes under the
//!   organization's webhook secret, as **lowercase hexadecimal** (64 characters), with
//!   `X-Impressio-Signature-Version: v1`;
//! - the Standard Webhooks headers: `webhook-id` (the event id), `webhook-timestamp` (Unix
//!   seconds) and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
//!   A `whsec_` secret's key is the base64-decoded rest, as the specification says; during a
//!   secret rotation each secret's signature is listed, separated by spaces.
//!
//! Receivers must compare in constant time; [`verify_impressio`] does.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the whsec_ secret is not valid base64")]
    BadBase64,
    #[error("the secret is empty")]
    Empty,
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m
}

/// The key bytes of a secret: the base64-decoded rest of a `whsec_` secret, else its bytes.
///
/// # Errors
/// [`SecretError`] for an empty secret or a `whsec_` secret that is not base64.
pub fn key_of(secret: &str) -> Result<Vec<u8>, SecretError> {
    if secret.is_empty() {
        return Err(SecretError::Empty);
    }
    match secret.strip_prefix("whsec_") {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| SecretError::BadBase64),
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// `X-Impressio-Signature` of `body`: lowercase hex HMAC-SHA256.
///
/// # Errors
/// As [`key_of`].
pub fn impressio_signature(body: &[u8], secret: &str) -> Result<String, SecretError> {
    let tag = mac(&key_of(secret)?, &[body]).finalize().into_bytes();
    Ok(tag.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks an `X-Impressio-Signature` in constant time.
pub fn verify_impressio(body: &[u8], secret: &str, signature_hex: &str) -> bool {
    let Ok(key) = key_of(secret) else { return false };
    let Some(bytes) = (0..signature_hex.len())
        .step_by(2)
        .map(|i| signature_hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    mac(&key, &[body]).verify_slice(&bytes).is_ok()
}

/// One Standard Webhooks signature: `v1,<base64>`.
///
/// # Errors
/// As [`key_of`].
pub fn standard_signature(id: &str, timestamp: i64, body: &[u8], secret: &str) -> Result<String, SecretError> {
    let ts = timestamp.to_string();
    let tag = mac(&key_of(secret)?, &[id.as_bytes(), b".", ts.as_bytes(), b".", body])
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag)))
}

/// The `webhook-signature` header for every secret in use (rotation): space-separated.
///
/// # Errors
/// As [`key_of`], for the first bad secret.
pub fn standard_signature_header(
    id: &str,
    timestamp: i64,
    body: &[u8],
    secrets: &[&str],
) -> Result<String, SecretError> {
    let sigs = secrets
        .iter()
        .map(|s| standard_signature(id, timestamp, body, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sigs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        secret: String,
        webhook_id: String,
        webhook_timestamp: i64,
        body: String,
        webhook_signature: String,
    }

    #[test]
    fn the_standard_webhooks_vectors() {
        let v: Vectors =
            serde_json::from_str(include_str!("../../data/webhooks/standard-webhooks-vectors.json")).unwrap();
        assert!(v.vectors.len() >= 2);
        for x in &v.vectors {
            let sig = standard_signature(&x.webhook_id, x.webhook_timestamp, x.body.as_bytes(), &x.secret).unwrap();
            assert_eq!(sig, x.webhook_signature);
        }
        let both = standard_signature_header("msg_1", 1, b"{}", &[&v.vectors[0].secret, &v.vectors[1].secret]).unwrap();
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.split(' ').all(|s| s.starts_with("v1,")));
        assert_eq!(key_of("whsec_***"), Err(SecretError::BadBase64));
        assert_eq!(key_of(""), Err(SecretError::Empty));
    }

    #[test]
    fn the_impressio_signature_is_hex_and_checked_in_constant_time() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style check value.
        let sig = impressio_signature(b"The quick brown fox jumps over the lazy dog", "key").unwrap();
        assert_eq!(sig, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
        assert!(verify_impressio(
            b"The quick brown fox jumps over the lazy dog",
            "key",
            &sig
        ));
        assert!(!verify_impressio(b"tampered", "key", &sig));
        assert!(!verify_impressio(b"x", "key", "zz"));
    }
}
