//! Webhook signatures (stage 5 of the processor design, "Processor Lambda") and the secrets that make them.
//!
//! **Secrets** are Standard Webhooks secrets, exactly as the specification and its reference
//! libraries take them: `whsec_` followed by the base64 (standard alphabet, `=` padding
//! optional) of 24 to 64 random bytes. The key of both signatures is those decoded bytes.
//! Anything else — a secret without the prefix (the reference libraries base64-decode any
//! string, so a raw or hex secret would sign with another key than the one meant), bad
//! base64, a key shorter or longer — is refused by [`WebhookSecret::parse`], and an
//! organization configured so gets no delivery and a permanent, explained failure instead.
//!
//! Signatures of a delivery:
//! - `X-Impressio-Signature`: the HMAC-SHA256 of the exact body bytes under the key, as
//!   **lowercase hexadecimal** (64 characters), with `X-Impressio-Signature-Version: v1`;
//! - the Standard Webhooks headers: `webhook-id` (the event id), `webhook-timestamp` (Unix
//!   seconds) and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`;
//!   during a secret rotation each secret's signature is listed, separated by spaces.
//!
//! Receivers must compare in constant time; [`verify_impressio`] does.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of Standard Webhooks secrets.
pub const SECRET_PREFIX: &str = "whsec_";
/// Shortest key, bytes (the Standard Webhooks specification: 24 to 64 bytes).
pub const MIN_KEY_BYTES: usize = 24;
/// Longest key, bytes.
pub const MAX_KEY_BYTES: usize = 64;

/// Why a text is not a usable webhook secret. The messages never quote the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the webhook secret is empty")]
    Empty,
    #[error("the webhook secret must start with `whsec_` (a Standard Webhooks secret: whsec_ + base64 of 24-64 random bytes)")]
    MissingPrefix,
    #[error("the webhook secret after `whsec_` is not base64 (standard alphabet, optional `=` padding)")]
    BadBase64,
    #[error("the webhook secret's key is {len} bytes; Standard Webhooks keys are 24 to 64 bytes")]
    KeyLength { len: usize },
}

/// A parsed webhook secret: the key bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    /// Parses a Standard Webhooks secret (rules in the module documentation).
    ///
    /// # Errors
    /// [`SecretError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        if text.is_empty() {
            return Err(SecretError::Empty);
        }
        let b64 = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::MissingPrefix)?;
        let key = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        )
        .decode(b64)
        .map_err(|_| SecretError::BadBase64)?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(SecretError::KeyLength { len: key.len() });
        }
        Ok(WebhookSecret { key })
    }

    /// The key bytes both signatures use.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m
}

/// `X-Impressio-Signature` of `body`: lowercase hex HMAC-SHA256 under the secret's key.
pub fn impressio_signature(body: &[u8], secret: &WebhookSecret) -> String {
    hex::encode(mac(secret.key(), &[body]).finalize().into_bytes())
}

/// Checks an `X-Impressio-Signature` in constant time.
pub fn verify_impressio(body: &[u8], secret: &WebhookSecret, signature_hex: &str) -> bool {
    match hex::decode(signature_hex) {
        Ok(bytes) => mac(secret.key(), &[body]).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// One Standard Webhooks signature: `v1,<base64>`.
pub fn standard_signature(id: &str, timestamp: i64, body: &[u8], secret: &WebhookSecret) -> String {
    let ts = timestamp.to_string();
    let tag = mac(secret.key(), &[id.as_bytes(), b".", ts.as_bytes(), b".", body])
        .finalize()
        .into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag))
}

/// The `webhook-signature` header for every secret in use (rotation): space-separated.
pub fn standard_signature_header(id: &str, timestamp: i64, body: &[u8], secrets: &[WebhookSecret]) -> String {
    secrets
        .iter()
        .map(|s| standard_signature(id, timestamp, body, s))
        .collect::<Vec<_>>()
        .join(" ")
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
        let secrets: Vec<WebhookSecret> = v
            .vectors
            .iter()
            .map(|x| WebhookSecret::parse(&x.secret).unwrap())
            .collect();
        for (x, secret) in v.vectors.iter().zip(&secrets) {
            let sig = standard_signature(&x.webhook_id, x.webhook_timestamp, x.body.as_bytes(), secret);
            assert_eq!(sig, x.webhook_signature);
        }
        let both = standard_signature_header("msg_1", 1, b"{}", &secrets[..2]);
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.split(' ').all(|s| s.starts_with("v1,")));
    }

    #[test]
    fn only_standard_webhooks_secrets_are_accepted() {
        let key24 = base64::engine::general_purpose::STANDARD.encode([7u8; 24]);
        let padded = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        assert!(padded.ends_with('='));
        let unpadded = padded.trim_end_matches('=').to_string();
        assert_eq!(WebhookSecret::parse(&padded).unwrap().key(), &[7u8; 32]);
        assert_eq!(
            WebhookSecret::parse(&unpadded).unwrap().key(),
            &[7u8; 32],
            "padding is optional"
        );
        for (bad, err) in [
            ("", SecretError::Empty),
            ("local-demo-starter-webhook-secret", SecretError::MissingPrefix),
            (key24.as_str(), SecretError::MissingPrefix),
            ("0123456789abcdef0123456789abcdef", SecretError::MissingPrefix),
            ("whsec_***", SecretError::BadBase64),
            ("whsec_ab-_cd", SecretError::BadBase64),
            ("whsec_AAAA", SecretError::KeyLength { len: 3 }),
        ] {
            assert_eq!(WebhookSecret::parse(bad).unwrap_err(), err, "{bad:?}");
        }
        let long = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([1u8; 65]));
        assert_eq!(
            WebhookSecret::parse(&long).unwrap_err(),
            SecretError::KeyLength { len: 65 }
        );
        assert_eq!(
            format!("{:?}", WebhookSecret::parse(&padded).unwrap()),
            "WebhookSecret(***)"
        );
        assert!(!SecretError::BadBase64.to_string().contains("7"));
    }

    #[test]
    fn the_impressio_signature_is_hex_under_the_decoded_key_and_checked_in_constant_time() {
        // The key is the 24 bytes "impressio webhook key 24", base64 after whsec_.
        let secret = WebhookSecret::parse("whsec_aW1wcmVzc2lvIHdlYmhvb2sga2V5IDI0").unwrap();
        assert_eq!(secret.key(), b"impressio webhook key 24");
        let body = b"The quick brown fox jumps over the lazy dog";
        let sig = impressio_signature(body, &secret);
        // Python: hmac.new(b"impressio webhook key 24", body, hashlib.sha256).hexdigest()
        assert_eq!(sig, "d6fec0bb75e65d1f0d4aa19886062a508707d18e9e3516a41f9b187d0bbbc8db");
        assert!(verify_impressio(body, &secret, &sig));
        assert!(!verify_impressio(b"tampered", &secret, &sig));
        assert!(!verify_impressio(b"x", &secret, "zz"));
    }
}
