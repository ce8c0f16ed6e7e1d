//! Layer 2, JA4 ↔ context (seed `000_…`, max 60: "Chrome UA with wrong TLS, no HTTP/2,
//! missing browser headers, User-Agent sent first"): the request's transport and headers
//! against the browser family its User-Agent claims, through the positive family profiles of
//! [`crate::fraud::browsers`]. Each contradiction is a reason; a decisive one (the TLS version,
//! ALPN or cipher set of another client) fires the `ja4_mismatch` trigger (critical), any
//! other the `browser_contradiction` trigger (high). A JA4 the configuration names as a known
//! tool's (`tool_ja4`) is added as evidence with the tool's name, worth no points of its own.

use crate::fraud::browsers::{claim, contradictions};
use crate::fraud::config::{max, FraudConfig};
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 2.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let points = &config.layers.ja4_context;
    let mut r = LayerResult::default();
    let (Some(ua), Some(raw)) = (input.ua.as_ref(), input.user_agent.as_deref()) else {
        return r;
    };
    if ua.bot.is_some() {
        return r;
    }
    let Some(claimed) = claim(ua, raw) else { return r };
    let found = contradictions(input, &claimed, &config.browsers);
    if let Some(tool) = input.ja4_raw.as_ref().and_then(|j| config.tool_ja4.get(j)) {
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
        r.triggers.push("ja4_mismatch");
    } else if !found.is_empty() {
        r.triggers.push("browser_contradiction");
    }
    r.cap(max::JA4_CONTEXT)
}
