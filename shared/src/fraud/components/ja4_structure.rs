//! `ja4_structure`, JA4 structure (max 100): a malformed JA4, outdated TLS, no SNI, too
//! few ciphers or extensions, no ALPN.

use crate::fraud::component::ComponentSettings;
use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4StructureConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    pub malformed: f64,
    pub outdated_tls: f64,
    pub no_sni: f64,
    pub few_ciphers: f64,
    pub min_ciphers: u8,
    pub few_extensions: f64,
    pub min_extensions: u8,
    pub no_alpn: f64,
}

impl Default for Ja4StructureConfig {
    /// malformed 60, outdated TLS 50, no SNI 40,
    /// fewer than 6 ciphers 30, fewer than 8 extensions 30, no ALPN 20.
    fn default() -> Self {
        Ja4StructureConfig {
            weight: 0.06,
            malformed: 60.0,
            outdated_tls: 50.0,
            no_sni: 40.0,
            few_ciphers: 30.0,
            min_ciphers: 6,
            few_extensions: 30.0,
            min_extensions: 8,
            no_alpn: 20.0,
        }
    }
}

impl Ja4StructureConfig {
    /// Checks every score against [`MAX`].
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("malformed", self.malformed),
            ("outdated_tls", self.outdated_tls),
            ("no_sni", self.no_sni),
            ("few_ciphers", self.few_ciphers),
            ("few_extensions", self.few_extensions),
            ("no_alpn", self.no_alpn),
        ] {
            in_range(&format!("components.ja4_structure.{name}"), v, MAX)?;
        }
        Ok(())
    }
}

impl ComponentSettings for Ja4StructureConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self) -> Result<(), String> {
        Ja4StructureConfig::check(self)
    }
}

/// Scores the component.
pub fn score(input: &ScoringInput, c: &Ja4StructureConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    match &input.ja4 {
        None => {}
        Some(Err(e)) => r.add("malformed_ja4", c.malformed, e.to_string()),
        Some(Ok(ja4)) => {
            if ja4.tls_version() < 12 {
                r.add(
                    "outdated_tls",
                    c.outdated_tls,
                    format!("TLS version {} is outdated", ja4.version),
                );
            }
            if !ja4.sni {
                r.add(
                    "no_sni",
                    c.no_sni,
                    "no SNI: the client connected without naming the host",
                );
            }
            if ja4.cipher_count < c.min_ciphers {
                r.add(
                    "few_ciphers",
                    c.few_ciphers,
                    format!("only {} cipher suites offered", ja4.cipher_count),
                );
            }
            if ja4.extension_count < c.min_extensions {
                r.add(
                    "few_extensions",
                    c.few_extensions,
                    format!("only {} TLS extensions", ja4.extension_count),
                );
            }
            if ja4.no_alpn() {
                r.add("no_alpn", c.no_alpn, "no ALPN offered");
            }
        }
    }
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;

    #[test]
    fn each_signal_is_found() {
        finds(
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t13i0304h2_8daaf6152771_02713d6af862",
            )],
            None,
            "ja4_structure",
            "no_sni",
        );
        finds(
            &[("cloudfront-viewer-ja4-fingerprint", "garbage")],
            None,
            "ja4_structure",
            "malformed_ja4",
        );
    }
}
