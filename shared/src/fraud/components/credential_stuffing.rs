//! `credential_stuffing`, credential stuffing (layer 8 of the edge design's "8-Layer Fraud Detection", max 70): more than 20 `login` events per hour
//! per JA4 through a shared counter. The count is looked up by the caller (Upstash `INCR` +
//! `EXPIRE`, else a DynamoDB atomic counter with TTL; see [`crate::fraud::counter`]) and
//! passed in; this layer only judges it.

use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::trigger::Trigger;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score: the maximum of layer 8 in the edge design.
pub const MAX: f64 = 70.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialStuffingConfig {
    /// More than this many `login` events per window per key → the score (seed: 20).
    pub max_logins: u64,
    /// Window, seconds (seed: 1 hour).
    pub window_secs: u64,
    pub score: f64,
    /// Count per JA4 only (the seed), or per JA4 and IP (/64) so that every user of one
    /// popular browser does not share a counter (the default).
    pub per_ip: bool,
}

impl Default for CredentialStuffingConfig {
    /// Seed "8-Layer Fraud Detection", layer 8: more than 20 logins per hour → 70 (its
    /// maximum); counted per JA4 and IP by default (see `per_ip`).
    fn default() -> Self {
        CredentialStuffingConfig {
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
        in_range("layers.credential_stuffing.score", self.score, MAX)?;
        if self.window_secs == 0 {
            return Err("layers.credential_stuffing.window_secs must be above 0".into());
        }
        Ok(())
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
