//! Layer 2, JA4 ↔ context (seed `000_…`, max 60; severe mismatches also fire the
//! `ja4_mismatch` block trigger): a browser User-Agent whose JA4 belongs to a known tool or
//! another browser family, or offers no ALPN / no `h2` (every current browser offers `h2`);
//! missing browser headers (`Accept-Language`, `Sec-Fetch-*`); `User-Agent` as the very first
//! header (browsers start with the host / authority).

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::ua::Engine;
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 2.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.ja4_context;
    let mut r = LayerResult::default();
    let Some(ua) = input.ua.as_ref().filter(|_| input.claims_browser()) else {
        return r;
    };
    if let (Some(raw), Some(ja4)) = (&input.ja4_raw, input.ja4()) {
        if let Some(tool) = config.tool_ja4.get(raw) {
            r.add(
                "tool_ja4_under_browser_ua",
                c.family_mismatch,
                format!("the JA4 is the one of {tool}, not of the browser the User-Agent claims"),
            );
            r.triggers.push("ja4_mismatch");
        } else if let Some(engine) = config.browser_ja4.get(raw) {
            let claimed = match ua.engine {
                Engine::Blink => "blink",
                Engine::Gecko => "gecko",
                Engine::WebKit => "webkit",
                _ => "",
            };
            if !claimed.is_empty() && claimed != engine {
                r.add(
                    "ja4_of_another_browser",
                    c.family_mismatch,
                    format!("the JA4 belongs to a {engine} browser but the User-Agent claims {claimed}"),
                );
                r.triggers.push("ja4_mismatch");
            }
        }
        if ua.modern_browser() && ja4.protocol == 't' {
            if ja4.no_alpn() {
                r.add(
                    "no_alpn_for_browser",
                    c.no_alpn,
                    "no ALPN offered: every current browser offers h2",
                );
                r.triggers.push("ja4_mismatch");
            } else if !ja4.offers_h2() && ja4.alpn != "h3" {
                r.add(
                    "no_h2_for_browser",
                    c.no_h2,
                    format!("ALPN {} instead of h2 from a current browser", ja4.alpn),
                );
            }
        }
    }
    if input.accept_language.is_none() {
        r.add(
            "missing_accept_language",
            c.missing_accept_language,
            "no Accept-Language header",
        );
    }
    if ua.sends_fetch_metadata() && !input.has_fetch_metadata {
        r.add(
            "missing_fetch_metadata",
            c.missing_fetch_metadata,
            "no Sec-Fetch-* headers, which this browser version always sends",
        );
    }
    if input.header_order.first().map(String::as_str) == Some("user-agent") {
        r.add(
            "user_agent_first",
            c.user_agent_first,
            "User-Agent is the first header sent",
        );
    }
    r.cap(max::JA4_CONTEXT)
}
