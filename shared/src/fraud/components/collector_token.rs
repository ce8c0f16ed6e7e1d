//! `collector_token`: the signed token the collector script fetches from `/cookie-test` and
//! returns with its events ([`crate::behavior::token`] signs and verifies it). Forged or
//! replayed (more uses than `max_uses`) → 100 and the `token_replay` trigger (always 100);
//! missing or expired → `missing_score`, no trigger.

use serde::{Deserialize, Serialize};

use crate::fraud::input::{Observations, TokenCheck};
use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;

/// The collector token's lifetime and limits (`behavior.token`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Lifetime of a token, seconds.
    pub ttl_secs: u64,
    /// Uses of one token beyond which it is a replay.
    pub max_uses: u64,
    /// Score of an event without a token, or with an expired one (no trigger).
    pub missing_score: f64,
}

impl Default for TokenConfig {
    /// Not from the seeds: 4 h covers a long visit; 200 uses a busy one; a missing token
    /// alone stays low (30).
    fn default() -> Self {
        TokenConfig {
            ttl_secs: 4 * 3600,
            max_uses: 200,
            missing_score: 30.0,
        }
    }
}

impl TokenConfig {
    /// Checks the lifetime and uses (above 0) and the score (0–100).
    ///
    /// # Errors
    /// A message naming the value out of range.
    pub fn check(&self) -> Result<(), String> {
        if self.ttl_secs == 0 || self.max_uses == 0 {
            return Err("behavior.token: ttl_secs and max_uses above 0".into());
        }
        if !(0.0..=100.0).contains(&self.missing_score) {
            return Err("behavior.token.missing_score must be within 0..=100".into());
        }
        Ok(())
    }
}

/// Scores `collector_token`; `missing` is true when the route expects a token and none came.
pub fn score(o: &Observations, missing: bool, c: &TokenConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    if missing {
        r.add("missing_token", c.missing_score, "no collector token");
    }
    match &o.token {
        None => {}
        Some(TokenCheck::Forged { reason }) => {
            r.add(
                "forged_token",
                100.0,
                format!("the collector token is not ours ({reason})"),
            );
            r.triggers.push(Trigger::TokenReplay);
        }
        Some(TokenCheck::Expired { .. }) => r.add("expired_token", c.missing_score, "the collector token has expired"),
        Some(TokenCheck::Valid { .. }) => {
            if let Some(uses) = o.token_uses.filter(|u| *u > c.max_uses) {
                r.add(
                    "replayed_token",
                    100.0,
                    format!("the collector token was used {uses} times"),
                );
                r.triggers.push(Trigger::TokenReplay);
            }
        }
    }
    r
}
