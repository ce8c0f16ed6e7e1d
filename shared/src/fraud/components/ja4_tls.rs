//! `ja4_tls`, JA4 TLS fingerprint (max 80): a missing JA4 and legacy TLS
//! patterns (`t10d`, `t11d`, SSL). A third signal once listed here, a Chrome without TLS 1.3, is
//! one of the browser profiles' contradictions, for every family (JA4 ↔ context,
//! [`crate::fraud::browsers`]), and is scored there only.

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::trigger::Trigger;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 80.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4TlsConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    pub missing_ja4: f64,
    pub legacy_tls: f64,
}

impl Default for Ja4TlsConfig {
    /// a missing JA4 50, a legacy TLS pattern 80 (the layer's
    /// maximum).
    fn default() -> Self {
        Ja4TlsConfig {
            weight: 0.10,
            triggers: Floors::from([(Trigger::LegacyTls, -10.0)]),
            missing_ja4: 50.0,
            legacy_tls: 80.0,
        }
    }
}

impl Ja4TlsConfig {
    /// Checks every score against [`MAX`].
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        in_range("components.ja4_tls.missing_ja4", self.missing_ja4, MAX)?;
        in_range("components.ja4_tls.legacy_tls", self.legacy_tls, MAX)
    }
}

impl ComponentSettings for Ja4TlsConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        Ja4TlsConfig::check(self)
    }
}

/// Scores the component.
pub fn score(input: &ScoringInput, c: &Ja4TlsConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    let Some(raw) = &input.ja4_raw else {
        r.add(
            "missing_ja4",
            c.missing_ja4,
            "no JA4 fingerprint: the client's TLS handshake was not seen",
        );
        return r.cap(MAX);
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
        r.triggers.push(Trigger::LegacyTls);
    }
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;

    #[test]
    fn each_signal_is_found() {
        finds(
            &[("cloudfront-viewer-ja4-fingerprint", "")],
            None,
            "ja4_tls",
            "missing_ja4",
        );
        finds(
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t10d0305h1_8daaf6152771_02713d6af862",
            )],
            None,
            "ja4_tls",
            "legacy_tls",
        );
    }
}
