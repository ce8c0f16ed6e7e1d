//! Layer 1, JA4 TLS fingerprint (seed `000_…`, max 80): a missing JA4, legacy TLS patterns
//! (`t10d`, `t11d`, SSL), and a Chromium User-Agent without TLS 1.3 (Chrome has offered
//! TLS 1.3 since version 70).

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::ua::Engine;
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 1.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.ja4_tls;
    let mut r = LayerResult::default();
    let Some(raw) = &input.ja4_raw else {
        r.add(
            "missing_ja4",
            c.missing_ja4,
            "no JA4 fingerprint: the client's TLS handshake was not seen",
        );
        return r.cap(max::JA4_TLS);
    };
    let Some(ja4) = input.ja4() else {
        return r; // malformed: scored by the structure layer
    };
    if matches!(ja4.version.as_str(), "10" | "11" | "s3" | "s2") {
        r.add(
            "legacy_tls",
            c.legacy_tls,
            format!("legacy TLS pattern {}: TLS 1.1 or older", &raw[..4.min(raw.len())]),
        );
        r.triggers.push("legacy_tls");
    }
    if let Some(ua) = &input.ua {
        if ua.engine == Engine::Blink && ua.major >= 70 && ja4.tls_version() != 13 && ja4.tls_version() != 0 {
            r.add(
                "chromium_without_tls13",
                c.chromium_without_tls13,
                format!(
                    "a Chrome {} User-Agent negotiated TLS {} instead of 1.3",
                    ua.major, ja4.version
                ),
            );
        }
    }
    r.cap(max::JA4_TLS)
}
