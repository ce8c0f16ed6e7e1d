//! The bot User-Agent check (seed `000_…`'s `fraud.py` "Bot user-agent detection"): a
//! User-Agent on the `isbot` crate's pattern list, named; no User-Agent at all; or one that
//! claims no browser engine we know.

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
            if let Some(name) = &ua.bot {
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
            }
        }
    }
    r.cap(max::BOT_USER_AGENT)
}
