//! Webhook signatures, under the organization's Standard Webhooks secrets
//! ([`WebhookSecret`]: the key of both signatures is the secret's decoded bytes).
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

pub use crate::org::webhook_secret::{SecretError, WebhookSecret};

type HmacSha256 = Hmac<Sha256>;

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
