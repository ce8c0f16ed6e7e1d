//! Organizations' webhook secrets: Standard Webhooks secrets, exactly as the specification and
//! its reference libraries take them — `whsec_` followed by the base64 (standard alphabet, `=`
//! padding optional) of 24 to 64 random bytes. Anything else — a secret without the prefix
//! (the reference libraries base64-decode any string, so a raw or hex secret would sign with
//! another key than the one meant), bad base64, a key shorter or longer — is refused by
//! [`WebhookSecret::parse`], and an organization configured so gets no delivery and a
//! permanent, explained failure instead.

use base64::Engine;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
