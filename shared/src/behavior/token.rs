//! The collector token: a short-lived token the generated script carries and `/t` checks.
//!
//! Format: `v1.<organization>.<issued ms>.<nonce>.<signature>`, the signature being the
//! base64url (unpadded) HMAC-SHA256 of `v1.<organization>.<issued ms>.<nonce>` under the
//! collector-token secret (`COLLECTOR_TOKEN_SECRET`). The check is constant-time
//! (`hmac`'s `verify_slice`). Uses are counted by the token's SHA-256 (hex), so the raw token
//! is never stored.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub use crate::fraud::input::TokenCheck;

fn mac(secret: &[u8], payload: &str) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(payload.as_bytes());
    m
}

/// A new token for `organization_id` issued at `now_ms` (the nonce: 64 random bits).
pub fn issue(secret: &[u8], organization_id: &str, now_ms: i64) -> String {
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let payload = format!("v1.{organization_id}.{now_ms}.{nonce}");
    let sig = mac(secret, &payload).finalize().into_bytes();
    format!(
        "{payload}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
    )
}

/// The hex SHA-256 of a token, the key its uses are counted under.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a token presented for `organization_id` at `now_ms`; `ttl_ms` is its lifetime.
pub fn check(secret: &[u8], token: &str, organization_id: &str, now_ms: i64, ttl_ms: i64) -> TokenCheck {
    let Some((payload, sig)) = token.rsplit_once('.') else {
        return TokenCheck::Forged { reason: "malformed" };
    };
    let parts: Vec<&str> = payload.split('.').collect();
    let [version, org, issued, nonce] = parts[..] else {
        return TokenCheck::Forged { reason: "malformed" };
    };
    let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
        return TokenCheck::Forged {
            reason: "malformed signature",
        };
    };
    if mac(secret, payload).verify_slice(&sig).is_err() {
        return TokenCheck::Forged {
            reason: "bad signature",
        };
    }
    if version != "v1" || nonce.is_empty() {
        return TokenCheck::Forged {
            reason: "unknown version",
        };
    }
    if org != organization_id {
        return TokenCheck::Forged {
            reason: "issued for another organization",
        };
    }
    let Ok(issued_ms) = issued.parse::<i64>() else {
        return TokenCheck::Forged { reason: "malformed" };
    };
    let hash = token_hash(token);
    if issued_ms > now_ms.saturating_add(60_000) {
        return TokenCheck::Forged {
            reason: "issued in the future",
        };
    }
    if now_ms.saturating_sub(issued_ms) > ttl_ms {
        return TokenCheck::Expired { issued_ms, hash };
    }
    TokenCheck::Valid { issued_ms, hash }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &[u8] = b"test-secret";

    #[test]
    fn valid_expired_and_forged() {
        let t = issue(K, "org_a", 1_000_000);
        assert!(matches!(
            check(K, &t, "org_a", 1_000_500, 3_600_000),
            TokenCheck::Valid {
                issued_ms: 1_000_000,
                ..
            }
        ));
        assert!(matches!(
            check(K, &t, "org_a", 9_000_000, 3_600_000),
            TokenCheck::Expired { .. }
        ));
        assert_eq!(
            check(K, &t, "org_b", 1_000_500, 3_600_000),
            TokenCheck::Forged {
                reason: "issued for another organization"
            }
        );
        assert_eq!(
            check(b"other", &t, "org_a", 1_000_500, 3_600_000),
            TokenCheck::Forged {
                reason: "bad signature"
            }
        );
        let tampered = t.replacen("1000000", "1000001", 1);
        assert_eq!(
            check(K, &tampered, "org_a", 1_000_500, 3_600_000),
            TokenCheck::Forged {
                reason: "bad signature"
            }
        );
        assert!(matches!(check(K, "garbage", "org_a", 0, 1), TokenCheck::Forged { .. }));
        assert_eq!(token_hash("x").len(), 64);
        assert_ne!(issue(K, "org_a", 1), issue(K, "org_a", 1), "nonces differ");
    }
}
