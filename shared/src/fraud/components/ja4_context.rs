//! `ja4_context`, JA4 ↔ context (layer 2 of the edge design's "8-Layer Fraud Detection", max 60: "Chrome UA with wrong TLS, no HTTP/2,
//! missing browser headers, User-Agent sent first"): the request's transport and headers
//! against the browser family its User-Agent claims, through the positive family profiles of
//! [`crate::fraud::browsers`]. Each contradiction is a reason; a decisive one (the TLS version,
//! ALPN or cipher set of another client) fires the `ja4_mismatch` trigger (critical), any
//! other the `browser_contradiction` trigger (high). A JA4 the configuration names as a known
//! tool's (`tool_ja4`) is added as evidence with the tool's name, worth no points of its own.

use crate::fraud::browsers::{claim, contradictions, BrowsersConfig};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::trigger::Trigger;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score: the maximum of layer 2 in the edge design ("60+").
pub const MAX: f64 = 60.0;

/// Points of the JA4 ↔ context component's contradictions between a request and the browser
/// family its User-Agent claims (the families' profiles are [`FraudConfig::browsers`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4ContextConfig {
    /// A decisive contradiction: another client's TLS version, ALPN or TLS stack.
    pub decisive_points: f64,
    /// Any other: HTTP/1.x, a missing browser header, User-Agent first, the extension count.
    pub contradiction_points: f64,
}

impl Default for Ja4ContextConfig {
    /// The component's maximum is 60 (seed "8-Layer Fraud Detection"): one decisive
    /// contradiction reaches it; two others do.
    fn default() -> Self {
        Ja4ContextConfig {
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
        in_range("layers.ja4_context.decisive_points", self.decisive_points, MAX)?;
        in_range(
            "layers.ja4_context.contradiction_points",
            self.contradiction_points,
            MAX,
        )
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
    let (Some(ua), Some(raw)) = (input.ua.as_ref(), input.user_agent.as_deref()) else {
        return r;
    };
    if ua.bot.is_some() {
        return r;
    }
    let Some(claimed) = claim(ua, raw) else { return r };
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
