//! Layer 6, HTTP/2 anomalies (seed `000_…`, max 100): a current browser over HTTP/1.x
//! (`CloudFront-Viewer-Http-Version`), a JA4 that offered `h2` on a connection that used
//! HTTP/1.x, minimal header sets, and header-order anomalies.
//!
//! Behind CloudFront the HTTP/2 frames themselves (SETTINGS, WINDOW_UPDATE, pseudo-header
//! order) are not visible to the origin: the seed's "missing pseudo-headers" cannot be
//! observed. What stands in: the HTTP version CloudFront reports, the header order and count
//! it forwards (`CloudFront-Viewer-Header-Order`, `-Header-Count`), and the ALPN in the JA4.

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::ua::Engine;
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 6.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.http2;
    let mut r = LayerResult::default();
    let http1 = input.http_version.as_deref().is_some_and(|v| v.starts_with('1'));
    let browser = input.claims_browser();
    let modern = browser && input.ua.as_ref().is_some_and(|u| u.modern_browser());
    if modern && http1 {
        r.add(
            "browser_over_http1",
            c.browser_over_http1,
            format!(
                "a current browser used HTTP/{}",
                input.http_version.as_deref().unwrap_or("1.1")
            ),
        );
    }
    if http1 && input.ja4().is_some_and(|j| j.offers_h2()) {
        r.add(
            "alpn_version_mismatch",
            c.alpn_version_mismatch,
            "the TLS handshake offered h2 but the request used HTTP/1.x",
        );
    }
    if browser && input.header_count > 0 && (input.header_count as u32) < c.min_browser_headers {
        r.add(
            "minimal_headers",
            c.minimal_headers,
            format!("only {} headers from a browser", input.header_count),
        );
    }
    if input
        .ua
        .as_ref()
        .is_some_and(|u| u.engine == Engine::Blink && u.sends_client_hints())
    {
        let pos = |name: &str| input.header_order.iter().position(|h| h == name);
        if let (Some(ua), Some(ch)) = (pos("user-agent"), pos("sec-ch-ua")) {
            if ua < ch {
                r.add(
                    "user_agent_before_client_hints",
                    c.user_agent_before_client_hints,
                    "User-Agent before Sec-CH-UA: Chrome sends the client hints first",
                );
            }
        }
    }
    r.cap(max::HTTP2)
}
