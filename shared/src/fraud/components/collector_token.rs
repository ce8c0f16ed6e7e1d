//! `collector_token`: the signed token the collector script fetches from `/cookie-test` and
//! returns with its events ([`crate::behavior::token`] signs and verifies it). Forged or
//! replayed (more uses than `max_uses`) → 100 and the `token_replay` trigger (always 100);
//! missing or expired → `missing_score`, no trigger.

use crate::fraud::component::ComponentSettings;
use serde::{Deserialize, Serialize};

use crate::fraud::input::{Observations, TokenCheck};
use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;

/// The collector token's lifetime and limits (`components.collector_token`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Lifetime of a token, seconds.
    pub ttl_secs: u64,
    /// Uses of one token beyond which it is a replay.
    pub max_uses: u64,
    /// Score of an event without a token, or with an expired one (no trigger).
    pub missing_score: f64,
}

impl Default for TokenConfig {
    /// Our own default: 4 h covers a long visit; 200 uses a busy one; a missing token
    /// alone stays low (30).
    fn default() -> Self {
        TokenConfig {
            weight: 0.02,
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
            return Err("components.collector_token: ttl_secs and max_uses above 0".into());
        }
        if !(0.0..=100.0).contains(&self.missing_score) {
            return Err("components.collector_token.missing_score must be within 0..=100".into());
        }
        Ok(())
    }
}

impl ComponentSettings for TokenConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self) -> Result<(), String> {
        TokenConfig::check(self)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(r: &ComponentResult) -> Vec<&str> {
        r.reasons.iter().map(|x| x.code.as_str()).collect()
    }

    #[test]
    fn a_valid_token_passes_until_it_is_replayed_and_a_forged_one_is_refused() {
        let c = TokenConfig::default();
        let valid = TokenCheck::Valid {
            issued_ms: 0,
            hash: "h".into(),
        };
        let mut o = Observations {
            token: Some(valid),
            token_uses: Some(c.max_uses),
            ..Observations::default()
        };
        assert!(score(&o, false, &c).reasons.is_empty());
        o.token_uses = Some(c.max_uses + 1);
        let replayed = score(&o, false, &c);
        assert_eq!(
            (codes(&replayed), replayed.triggers.as_slice()),
            (vec!["replayed_token"], &[Trigger::TokenReplay][..])
        );
        o.token = Some(TokenCheck::Forged {
            reason: "bad signature",
        });
        assert_eq!(score(&o, false, &c).triggers, [Trigger::TokenReplay]);
        // Missing or expired: a small score, no trigger.
        let missing = score(&Observations::default(), true, &c);
        assert_eq!((codes(&missing), missing.triggers.len()), (vec!["missing_token"], 0));
        o.token = Some(TokenCheck::Expired {
            issued_ms: 0,
            hash: "h".into(),
        });
        assert!(score(&o, false, &c).triggers.is_empty());
    }
}
