//! `http2`, HTTP/2 anomalies (max 100): a JA4 that offered `h2` on a
//! connection that used HTTP/1.x (`CloudFront-Viewer-Http-Version`), and minimal header
//! sets. A browser over HTTP/1.x and the header order are judged per browser family by the
//! JA4 ↔ context component, from what each family was measured to send: an earlier rule here
//! (User-Agent before Sec-CH-UA is not Chrome) was disproved by Chromium 156 itself, which
//! sends exactly that order.
//!
//! Behind CloudFront the HTTP/2 frames themselves (SETTINGS, WINDOW_UPDATE, pseudo-header
//! order) are not visible to the origin: "missing pseudo-headers" cannot be
//! observed. What stands in: the HTTP version CloudFront reports, the header order and count
//! it forwards (`CloudFront-Viewer-Header-Order`, `-Header-Count`), and the ALPN in the JA4.

use crate::fraud::component::ComponentSettings;
use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http2Config {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    pub minimal_headers: f64,
    pub min_browser_headers: u32,
    pub alpn_version_mismatch: f64,
}

impl Default for Http2Config {
    /// minimal headers 40 (fewer than 5), an ALPN
    /// that contradicts the HTTP version 30.
    fn default() -> Self {
        Http2Config {
            weight: 0.07,
            minimal_headers: 40.0,
            min_browser_headers: 5,
            alpn_version_mismatch: 30.0,
        }
    }
}

impl Http2Config {
    /// Checks both scores against [`MAX`].
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        in_range("components.http2.minimal_headers", self.minimal_headers, MAX)?;
        in_range(
            "components.http2.alpn_version_mismatch",
            self.alpn_version_mismatch,
            MAX,
        )
    }
}

impl ComponentSettings for Http2Config {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self) -> Result<(), String> {
        Http2Config::check(self)
    }
}

/// Scores the component.
pub fn score(input: &ScoringInput, c: &Http2Config) -> ComponentResult {
    let mut r = ComponentResult::default();
    let http1 = input.http_version.as_deref().is_some_and(|v| v.starts_with('1'));
    let browser = input.claims_browser();
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
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;

    #[test]
    fn each_signal_is_found() {
        finds(
            &[("cloudfront-viewer-header-count", "3")],
            None,
            "http2",
            "minimal_headers",
        );
    }
}
