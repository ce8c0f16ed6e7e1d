//! `ip_rate` (behavioral model, layer 0.5): events from the request's IP (IPv6 /64) in
//! `behavior.ip_rate_window_secs` mapped through the seed's non-linear curve
//! (`behavior.ip_rate_scores`, seed "Risk Scoring System": 1 → 0, 2 → 25, 3 → 50, 4 → 75,
//! 5+ → 100). Never a trigger: offices and universities share IPs.

use crate::fraud::input::Observations;
use crate::fraud::ComponentResult;

/// Checks `behavior.ip_rate_scores` (`scores`) and `behavior.ip_rate_window_secs`.
///
/// # Errors
/// No score, a score outside 0–100, or a zero window.
pub fn check(scores: &[f64], window_secs: u64) -> Result<(), String> {
    if scores.is_empty() || scores.iter().any(|v| !(0.0..=100.0).contains(v)) {
        return Err("behavior.ip_rate_scores: one or more scores within 0..=100".into());
    }
    if window_secs == 0 {
        return Err("behavior.ip_rate_window_secs must be above 0".into());
    }
    Ok(())
}

/// Scores `ip_rate` from the events counted for the IP in the window (`window_secs`):
/// `scores[n - 1]` for `n` events, the last score beyond.
pub fn score(o: &Observations, scores: &[f64], window_secs: u64) -> ComponentResult {
    let mut r = ComponentResult::default();
    if o.ip_events == 0 {
        return r;
    }
    let i = usize::try_from(o.ip_events - 1)
        .unwrap_or(usize::MAX)
        .min(scores.len() - 1);
    if scores[i] > 0.0 {
        r.add(
            "ip_rate",
            scores[i],
            format!("{} events from this IP in {} min", o.ip_events, window_secs / 60),
        );
    }
    r
}
