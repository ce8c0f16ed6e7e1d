//! `ip_rate`: events from the request's IP (IPv6 /64) in `window_secs` mapped through a
//! non-linear curve (`scores`: 1 → 0, 2 → 25, 3 → 50, 4 → 75, 5+ → 100). Never a trigger: offices and universities share addresses.

use serde::{Deserialize, Serialize};

use crate::fraud::component::ComponentSettings;
use crate::fraud::input::Observations;
use crate::fraud::ComponentResult;

/// `FRAUD_CONFIG.components.ip_rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpRateConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Scores by the events of the IP in the window, indexed by the count including this one.
    pub scores: Vec<f64>,
    /// The window, seconds.
    pub window_secs: u64,
}

impl Default for IpRateConfig {
    /// The curve over one hour: 1 → 0, 2 → 25, 3 → 50, 4 → 75, 5+ → 100.
    fn default() -> Self {
        IpRateConfig {
            weight: 0.07,
            scores: vec![0.0, 25.0, 50.0, 75.0, 100.0],
            window_secs: 3600,
        }
    }
}

impl ComponentSettings for IpRateConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    /// One or more scores within 0–100 and a window above 0.
    fn check(&self) -> Result<(), String> {
        if self.scores.is_empty() || self.scores.iter().any(|v| !(0.0..=100.0).contains(v)) {
            return Err("components.ip_rate.scores: one or more scores within 0..=100".into());
        }
        if self.window_secs == 0 {
            return Err("components.ip_rate.window_secs must be above 0".into());
        }
        Ok(())
    }
}

/// Scores `ip_rate` from the events counted for the IP in the window: `scores[n - 1]` for
/// `n` events, the last score beyond.
pub fn score(o: &Observations, c: &IpRateConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    if o.ip_events == 0 || c.scores.is_empty() {
        return r;
    }
    let i = usize::try_from(o.ip_events - 1)
        .unwrap_or(usize::MAX)
        .min(c.scores.len() - 1);
    if c.scores[i] > 0.0 {
        r.add(
            "ip_rate",
            c.scores[i],
            format!("{} events from this IP in {} min", o.ip_events, c.window_secs / 60),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_rises_with_the_address_s_events_and_never_triggers() {
        let c = IpRateConfig::default();
        let at = |n: u64| {
            score(
                &Observations {
                    ip_events: n,
                    ..Observations::default()
                },
                &c,
            )
        };
        assert_eq!(at(1).score, 0.0);
        assert_eq!(at(2).score, 25.0);
        assert_eq!(at(5).score, 100.0);
        assert_eq!(at(500).score, 100.0, "the last score beyond");
        assert!(at(500).triggers.is_empty());
        assert!(c.check().is_ok());
        let bad = IpRateConfig {
            scores: vec![120.0],
            ..c
        };
        assert!(bad.check().unwrap_err().contains("components.ip_rate.scores"));
    }
}
