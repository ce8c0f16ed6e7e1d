//! Layer 3, JA4 structure (seed `000_…`, max 100): a malformed JA4, outdated TLS, no SNI, too
//! few ciphers or extensions, no ALPN.

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 3.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.ja4_structure;
    let mut r = LayerResult::default();
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
    r.cap(max::JA4_STRUCTURE)
}
