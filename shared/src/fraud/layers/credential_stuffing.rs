//! Layer 8, credential stuffing (seed `000_…`, max 70): more than 20 `login` events per hour
//! per JA4 through a shared counter. The count is looked up by the caller (Upstash `INCR` +
//! `EXPIRE`, else a DynamoDB atomic counter with TTL; see [`crate::fraud::counter`]) and
//! passed in; this layer only judges it.

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 8.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.credential_stuffing;
    let mut r = LayerResult::default();
    if let Some(n) = input.login_count {
        if n > c.max_logins {
            r.add(
                "credential_stuffing",
                c.score,
                format!("{n} logins in {} min from this TLS client", c.window_secs / 60),
            );
            r.triggers.push("credential_stuffing");
        }
    }
    r.cap(max::CREDENTIAL_STUFFING)
}
