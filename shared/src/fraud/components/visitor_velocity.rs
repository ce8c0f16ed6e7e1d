//! `visitor_velocity`, over the
//! submission events (`components.visitor_velocity.submission_events`; a page view is not one): 2a
//! submissions by the visitor in 24 h, 2b attempts in 1 h (block, or a warning score), 2c
//! distinct IPs of its submissions in 24 h (proxy rotation: the `ip_diversity` trigger).

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::input::Observations;
use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;

/// The window of the submission count (2a) and the IP diversity (2c), seconds: 24 h, as the
/// rule's thresholds are per day.
pub const DAY_WINDOW_SECS: u64 = 86_400;
/// The window of the submission attempts (2b), seconds: 1 h.
pub const HOUR_WINDOW_SECS: u64 = 3_600;

/// Visitor velocity's thresholds (`components.visitor_velocity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    /// Events that count as submissions (a page view is not one).
    pub submission_events: Vec<String>,
    /// 2a: submissions per visitor in 24 h at or above this → block.
    pub max_submissions_24h: u64,
    /// 2b: submission attempts per visitor in 1 h: at or above `attempts_block` → block,
    /// at `attempts_warn` → `attempts_warn_score`.
    pub attempts_block: u64,
    pub attempts_warn: u64,
    pub attempts_warn_score: f64,
    /// 2c: distinct IPs of a visitor's submissions in 24 h at or above this → block.
    pub max_ips_24h: u64,
}

impl Default for VelocityConfig {
    /// 2 submissions in 24 h, 3 attempts in 1 h block (2 warn, 60
    /// points), 2 IPs in 24 h.
    fn default() -> Self {
        VelocityConfig {
            weight: 0.08,
            triggers: Floors::from([(Trigger::VisitorVelocity, 0.0), (Trigger::IpDiversity, 10.0)]),
            submission_events: vec!["signup".into(), "form_submit".into()],
            max_submissions_24h: 2,
            attempts_block: 3,
            attempts_warn: 2,
            attempts_warn_score: 60.0,
            max_ips_24h: 2,
        }
    }
}

impl VelocityConfig {
    /// Checks the warning score (0–100) and that a warning comes before a block.
    ///
    /// # Errors
    /// A message naming the value out of range.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=100.0).contains(&self.attempts_warn_score) {
            return Err("components.visitor_velocity.attempts_warn_score must be within 0..=100".into());
        }
        if self.attempts_warn > self.attempts_block {
            return Err("components.visitor_velocity.attempts_warn must not exceed attempts_block".into());
        }
        Ok(())
    }
}

impl ComponentSettings for VelocityConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        VelocityConfig::check(self)
    }
}

/// Scores `visitor_velocity` (only a submission event is judged).
pub fn score(o: &Observations, c: &VelocityConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    if !o.is_submission {
        return r;
    }
    if o.visitor_submissions_24h >= c.max_submissions_24h {
        r.add(
            "submissions_24h",
            100.0,
            format!("{} submissions by this visitor in 24 h", o.visitor_submissions_24h),
        );
        r.triggers.push(Trigger::VisitorVelocity);
    } else if o.visitor_attempts_1h >= c.attempts_block {
        r.add(
            "attempts_1h",
            100.0,
            format!("{} attempts by this visitor in 1 h", o.visitor_attempts_1h),
        );
        r.triggers.push(Trigger::VisitorVelocity);
    } else if o.visitor_attempts_1h >= c.attempts_warn {
        r.add(
            "attempts_1h",
            c.attempts_warn_score,
            format!("{} attempts by this visitor in 1 h", o.visitor_attempts_1h),
        );
    }
    if o.visitor_ips_24h.len() as u64 >= c.max_ips_24h {
        r.add(
            "ip_diversity",
            100.0,
            format!(
                "this visitor submitted from {} IPs in 24 h: proxy rotation",
                o.visitor_ips_24h.len()
            ),
        );
        r.triggers.push(Trigger::IpDiversity);
    }
    r.cap(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_and_their_addresses_are_judged_page_views_are_not() {
        let c = VelocityConfig::default();
        let mut o = Observations {
            is_submission: true,
            visitor_submissions_24h: 1,
            visitor_attempts_1h: 1,
            visitor_ips_24h: ["192.0.2.1".to_string()].into(),
            ..Observations::default()
        };
        assert!(score(&o, &c).reasons.is_empty());
        o.visitor_ips_24h.insert("192.0.2.2".into());
        assert_eq!(score(&o, &c).triggers, [Trigger::IpDiversity]);
        o.visitor_submissions_24h = c.max_submissions_24h;
        assert!(score(&o, &c).triggers.contains(&Trigger::VisitorVelocity));
        o.is_submission = false;
        assert!(score(&o, &c).reasons.is_empty(), "a page view is not judged");
    }
}
