//! The bot User-Agent check (seed `000_…`'s `fraud.py` "Bot user-agent detection"), through
//! [`crate::fraud::crawlers`]: the name of a headless browser or browser driver (critical,
//! `automation`); a User-Agent on the vendored crawler list, named (critical, `bot_user_agent`);
//! no User-Agent at all; one that claims no browser engine we know, or a browser User-Agent
//! with a product token no browser sends (high, `not_a_browser`).

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::ua::Engine;
use crate::fraud::{LayerResult, ScoringInput};

/// Scores the bot User-Agent check.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.bot_user_agent;
    let mut r = LayerResult::default();
    match &input.ua {
        None => {
            r.add("missing_user_agent", c.missing_user_agent, "no User-Agent header");
            r.triggers.push("missing_user_agent");
        }
        Some(ua) => {
            let raw = input.user_agent.as_deref().unwrap_or_default();
            if let Some(marker) = crate::fraud::crawlers::automation_marker(raw) {
                r.add(
                    "automation_user_agent",
                    c.known_bot,
                    format!("the User-Agent names browser automation: {marker}"),
                );
                r.triggers.push("automation");
            } else if let Some(name) = &ua.bot {
                r.add(
                    "known_bot",
                    c.known_bot,
                    format!("known crawler or HTTP client: {name}"),
                );
                r.triggers.push("bot_user_agent");
            } else if ua.engine == Engine::Other {
                r.add(
                    "not_a_browser",
                    c.not_a_browser,
                    "the User-Agent names no known browser engine",
                );
                r.triggers.push("not_a_browser");
            } else if let Some(token) = (!ua.webview && !crate::fraud::crawlers::ios(raw))
                .then(|| crate::fraud::crawlers::foreign_token(raw))
                .flatten()
            {
                r.add(
                    "foreign_product_token",
                    c.not_a_browser,
                    format!("a browser User-Agent carrying a product no browser sends: {token}"),
                );
                r.triggers.push("not_a_browser");
            }
        }
    }
    r.cap(max::BOT_USER_AGENT)
}
