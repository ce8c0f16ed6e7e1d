//! Layer 1, JA4 TLS fingerprint (seed `000_…`, max 80): a missing JA4 and legacy TLS
//! patterns (`t10d`, `t11d`, SSL). The seed's third signal here, a Chrome without TLS 1.3, is
//! one of the browser profiles' contradictions, for every family (JA4 ↔ context,
//! [`crate::fraud::browsers`]), and is scored there only.

use crate::fraud::config::{max, FraudConfig};
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
    r.cap(max::JA4_TLS)
}
