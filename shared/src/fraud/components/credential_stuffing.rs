//! `credential_stuffing`, credential stuffing (max 70): more than 20 `login` events per hour
//! per JA4 through a shared counter. The count is looked up by the caller (Upstash `INCR` +
//! `EXPIRE`, else a DynamoDB atomic counter with TTL; see [`crate::fraud::counter`]) and
//! passed in; this layer only judges it.

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::trigger::Trigger;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 70.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialStuffingConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    /// More than this many `login` events per window per key → the score (seed: 20).
    pub max_logins: u64,
    /// Window, seconds (seed: 1 hour).
    pub window_secs: u64,
    pub score: f64,
    /// Count per JA4 only, or per JA4 and IP (/64) so that every user of one
    /// popular browser does not share a counter (the default).
    pub per_ip: bool,
}

impl Default for CredentialStuffingConfig {
    /// more than 20 logins per hour → 70 (its
    /// maximum); counted per JA4 and IP by default (see `per_ip`).
    fn default() -> Self {
        CredentialStuffingConfig {
            weight: 0.06,
            triggers: Floors::from([(Trigger::CredentialStuffing, 0.0)]),
            max_logins: 20,
            window_secs: 3600,
            score: 70.0,
            per_ip: true,
        }
    }
}

impl CredentialStuffingConfig {
    /// Checks the score against [`MAX`] and the window (above 0).
    ///
    /// # Errors
    /// A message naming the value out of range.
    pub fn check(&self) -> Result<(), String> {
        in_range("components.credential_stuffing.score", self.score, MAX)?;
        if self.window_secs == 0 {
            return Err("components.credential_stuffing.window_secs must be above 0".into());
        }
        Ok(())
    }
}

impl ComponentSettings for CredentialStuffingConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        CredentialStuffingConfig::check(self)
    }
}

/// Scores the component.
pub fn score(input: &ScoringInput, c: &CredentialStuffingConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    if let Some(n) = input.login_count {
        if n > c.max_logins {
            r.add(
                "credential_stuffing",
                c.score,
                format!("{n} logins in {} min from this TLS client", c.window_secs / 60),
            );
            r.triggers.push(Trigger::CredentialStuffing);
        }
    }
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;
    use crate::fraud::*;

    #[test]
    fn credential_stuffing_counts_logins_above_the_limit() {
        let req = chrome_request(&[]);
        let mut input = ScoringInput::from_request(&req, None, Some("login"));
        input.login_count = Some(20);
        assert_eq!(
            assess(&input, &FraudConfig::default()).breakdown["credential_stuffing"].score,
            0.0
        );
        input.login_count = Some(21);
        let a = assess(&input, &FraudConfig::default());
        assert_eq!(a.breakdown["credential_stuffing"].score, 70.0);
        assert_eq!(a.trigger.map(Trigger::name), Some("credential_stuffing"));
        assert_eq!(a.level, Level::Critical);
    }
}
