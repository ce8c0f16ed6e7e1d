//! `ja4_context`, JA4 ↔ context (max 60: "Chrome UA with wrong TLS, no HTTP/2,
//! missing browser headers, User-Agent sent first"): the request's transport and headers
//! against the browser family its User-Agent claims, through the positive family profiles of
//! [`crate::fraud::browsers`]. Each contradiction is a reason; a decisive one (the TLS version,
//! ALPN or cipher set of another client) fires the `ja4_mismatch` trigger (critical), any
//! other the `browser_contradiction` trigger (high). A JA4 the configuration names as a known
//! tool's (`tool_ja4`) is added as evidence with the tool's name, worth no points of its own.

use crate::fraud::browsers::{claim, contradictions, BrowsersConfig};
use crate::fraud::component::{ComponentSettings, Floors};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::trigger::Trigger;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 60.0;

/// Points of the JA4 ↔ context component's contradictions between a request and the browser
/// family its User-Agent claims (the families' profiles are [`FraudConfig::browsers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4ContextConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    /// A decisive contradiction: another client's TLS version, ALPN or TLS stack.
    pub decisive_points: f64,
    /// Any other: HTTP/1.x, a missing browser header, User-Agent first, the extension count.
    pub contradiction_points: f64,
}

impl Default for Ja4ContextConfig {
    /// The component's maximum is 60: one decisive
    /// contradiction reaches it; two others do.
    fn default() -> Self {
        Ja4ContextConfig {
            weight: 0.11,
            triggers: Floors::from([(Trigger::Ja4Mismatch, 5.0), (Trigger::BrowserContradiction, -20.0)]),
            decisive_points: 60.0,
            contradiction_points: 30.0,
        }
    }
}

impl Ja4ContextConfig {
    /// Checks both point values against [`MAX`].
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        in_range("components.ja4_context.decisive_points", self.decisive_points, MAX)?;
        in_range(
            "components.ja4_context.contradiction_points",
            self.contradiction_points,
            MAX,
        )
    }
}

impl ComponentSettings for Ja4ContextConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        Ja4ContextConfig::check(self)
    }
}

/// Scores `ja4_context`: the request against the profile of the family its User-Agent claims
/// (`browsers`); a JA4 in `tool_ja4` (JA4 → tool) is named as evidence.
pub fn score(
    input: &ScoringInput,
    points: &Ja4ContextConfig,
    browsers: &BrowsersConfig,
    tool_ja4: &BTreeMap<String, String>,
) -> ComponentResult {
    let mut r = ComponentResult::default();
    let Some(ua) = input.ua.as_ref() else {
        return r;
    };
    if ua.bot.is_some() {
        return r;
    }
    let Some(claimed) = claim(ua) else { return r };
    let found = contradictions(input, &claimed, browsers);
    if let Some(tool) = input.ja4_raw.as_ref().and_then(|j| tool_ja4.get(j)) {
        r.add("known_tool_ja4", 0.0, format!("this JA4 has been seen from {tool}"));
    }
    let decisive = found.iter().any(|c| c.decisive);
    for c in &found {
        let p = if c.decisive {
            points.decisive_points
        } else {
            points.contradiction_points
        };
        r.add(c.code, p, c.message.clone());
    }
    if decisive {
        r.triggers.push(Trigger::Ja4Mismatch);
    } else if !found.is_empty() {
        r.triggers.push(Trigger::BrowserContradiction);
    }
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;
    use crate::fraud::*;

    #[test]
    fn each_signal_is_found() {
        finds(
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t12d1516h2_8daaf6152771_02713d6af862",
            )],
            None,
            "ja4_context",
            "tls_version_mismatch",
        );
        // Firefox's TLS stack under a Chrome User-Agent.
        finds(
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t13d1715h2_5b57614c22b0_7121afd63204",
            )],
            None,
            "ja4_context",
            "tls_stack_mismatch",
        );
        finds(
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t13d1516h1_8daaf6152771_02713d6af862",
            )],
            None,
            "ja4_context",
            "alpn_mismatch",
        );
        finds(
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t13d1525h2_8daaf6152771_02713d6af862",
            )],
            None,
            "ja4_context",
            "extension_count_mismatch",
        );
        finds(
            &[("accept-language", "")],
            None,
            "ja4_context",
            "missing_accept_language",
        );
        finds(
            &[
                ("sec-fetch-mode", ""),
                (
                    "cloudfront-viewer-header-order",
                    "host:sec-ch-ua:user-agent:accept:accept-language",
                ),
            ],
            None,
            "ja4_context",
            "missing_fetch_metadata",
        );
        finds(
            &[("cloudfront-viewer-header-order", "user-agent:host:accept")],
            None,
            "ja4_context",
            "user_agent_first",
        );
        finds(
            &[("cloudfront-viewer-http-version", "1.1")],
            None,
            "ja4_context",
            "http1_from_browser",
        );
    }

    #[test]
    fn a_tool_ja4_under_a_browser_user_agent_is_critical() {
        let a = assessed(
            &chrome_request(&[("cloudfront-viewer-ja4-fingerprint", PYTHON_JA4)]),
            None,
        );
        assert_eq!(a.level, Level::Critical);
        assert_eq!(a.trigger.map(Trigger::name), Some("ja4_mismatch"));
        assert!(a.score >= 75.0);
        let ctx = &a.breakdown["ja4_context"];
        assert!(ctx.reasons.iter().any(|r| r.code == "tls_stack_mismatch"), "{ctx:?}");
        // The listed tool is named as evidence, worth nothing: the profile decided.
        let named = ctx.reasons.iter().find(|r| r.code == "known_tool_ja4").expect("named");
        assert_eq!((named.points, named.message.contains("Python")), (0.0, true));
        assert!((ctx.contribution - ctx.score * ctx.weight).abs() < 0.06);
    }
}
