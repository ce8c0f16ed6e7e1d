//! `ja4_session_hopping`: clustering (+80: several visitors with this JA4 from this IP or
//! /64), velocity (+60: the cluster spans under 10 minutes), global distribution / volume (+50
//! both, +40 one: several visitors with this JA4 across the organization in 5 min / 1 h); the
//! raw points 0–230 are scaled to 0–100, and at or above the block threshold the
//! `ja4_session_hopping` trigger fires. Different JA4s from one IP (a household) never cluster;
//! global signals alone describe a popular browser and count only beside clustering.
//!
//! **NAT is normal** (one address and one browser build are every household, office, school
//! and carrier NAT): the cluster counts only visitors that are not established (no signed
//! domainprint at least `established_after_secs` old), an established visitor is not judged
//! by it at all, and the evidence is positive — challenge, block, the trigger — only on a
//! submission (`signup`, `login`, …: the rule was written for signup forms, where a farm
//! of fresh identities is the attack). On page views the same cluster is
//! `ja4_shared_network`, an anomaly: an office's first morning looks exactly like it.

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::input::Observations;
use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;

/// Seconds in a day: the longest window the aggregate buckets cover.
const DAY_SECS: u64 = 86_400;

/// JA4 session hopping's thresholds and points (`components.ja4_session_hopping`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionHoppingConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    /// 4a: distinct visitors with the same JA4 from the same IP (IPv6 /64) in `cluster_window_secs`.
    pub cluster_min_visitors: u64,
    pub cluster_window_secs: u64,
    /// 4b: distinct visitors with the same JA4 across the organization in `rapid_window_secs`.
    pub rapid_global_min_visitors: u64,
    pub rapid_window_secs: u64,
    /// 4c: distinct visitors with the same JA4 across the organization in `extended_window_secs`.
    pub extended_global_min_visitors: u64,
    pub extended_window_secs: u64,
    /// Velocity: a cluster spanning less than this many minutes.
    pub velocity_threshold_minutes: u64,
    pub clustering_points: f64,
    pub velocity_points: f64,
    /// Both global signals.
    pub global_both_points: f64,
    /// One global signal.
    pub global_one_points: f64,
    /// The raw points are scaled to 0–100 by this maximum (seed: 0–230).
    pub raw_max: f64,
    /// A visitor whose signed domainprint was issued at least this long ago is established:
    /// not counted into, scored by or stopped by its network's cluster, login counter or
    /// network blacklist entries (`behavior::rules::established`). Our own assumption: the
    /// cluster window, so a burst of new identities cannot include itself.
    pub established_after_secs: u64,
    /// Seconds into each 5-minute bucket before the edge writes the JA4 sketches' register
    /// raises itself (0 … 300; our own default: the hot-key guard of docs/performance.md).
    /// Earlier, when nearly every new visitor raises a register of the bucket's empty sketch,
    /// the event carries its raises and the stream processor writes a batch's raises of one
    /// bucket in one update.
    pub edge_raise_after_secs: u64,
}

impl Default for SessionHoppingConfig {
    /// 2 visitors per JA4 and IP in 1 h, 3 across the organization in
    /// 5 min, 5 in 1 h, a cluster under 10 min; points 80 / 60 / 50 / 40 of 230.
    fn default() -> Self {
        SessionHoppingConfig {
            weight: 0.06,
            triggers: Floors::from([(Trigger::Ja4SessionHopping, 5.0)]),
            cluster_min_visitors: 2,
            cluster_window_secs: 3600,
            rapid_global_min_visitors: 3,
            rapid_window_secs: 300,
            extended_global_min_visitors: 5,
            extended_window_secs: 3600,
            velocity_threshold_minutes: 10,
            clustering_points: 80.0,
            velocity_points: 60.0,
            global_both_points: 50.0,
            global_one_points: 40.0,
            raw_max: 230.0,
            edge_raise_after_secs: 10,
            established_after_secs: 3600,
        }
    }
}

impl SessionHoppingConfig {
    /// Checks the windows (above 0, at most a day) and `raw_max` (above 0).
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("cluster_window_secs", self.cluster_window_secs),
            ("rapid_window_secs", self.rapid_window_secs),
            ("extended_window_secs", self.extended_window_secs),
            ("cluster_min_visitors", self.cluster_min_visitors),
        ] {
            if v == 0 {
                return Err(format!("components.ja4_session_hopping.{name} must be above 0"));
            }
        }
        if self.extended_window_secs > DAY_SECS || self.cluster_window_secs > DAY_SECS || self.raw_max <= 0.0 {
            return Err("components.ja4_session_hopping: windows at most 86400 s, raw_max above 0".into());
        }
        if self.edge_raise_after_secs > 300 {
            return Err("components.ja4_session_hopping.edge_raise_after_secs must be at most 300 (a bucket)".into());
        }
        Ok(())
    }
}

impl ComponentSettings for SessionHoppingConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        SessionHoppingConfig::check(self)
    }
}

/// Scores `ja4_session_hopping`; `now_ms` is the request's time, ms since the epoch; at or
/// above `block_threshold` (0–100) the trigger fires, on a submission only; an `established`
/// visitor gets nothing (see the module's "NAT is normal").
pub fn score(
    o: &Observations,
    established: bool,
    now_ms: i64,
    c: &SessionHoppingConfig,
    block_threshold: f64,
) -> ComponentResult {
    let mut raw = ComponentResult::default();
    let clustered = o.cluster_visitors >= c.cluster_min_visitors;
    if established {
        return raw;
    }
    if clustered && !o.is_submission {
        // Page views: a shared network, or a hopper not yet acting; monitored, never more.
        raw.add(
            "ja4_shared_network",
            c.clustering_points,
            format!(
                "{} new visitors with the same TLS client from this IP",
                o.cluster_visitors
            ),
        );
        return ComponentResult {
            score: (raw.score / c.raw_max * 100.0).min(100.0),
            reasons: raw.reasons,
            triggers: vec![],
        };
    }
    if clustered {
        raw.add(
            "ja4_clustering",
            c.clustering_points,
            format!("{} visitors with the same TLS client from this IP", o.cluster_visitors),
        );
        if let Some(first) = o.cluster_first_ms {
            let span_min = now_ms.saturating_sub(first) as f64 / 60_000.0;
            if span_min < c.velocity_threshold_minutes as f64 {
                raw.add(
                    "ja4_velocity",
                    c.velocity_points,
                    format!("within {span_min:.1} minutes"),
                );
            }
        }
    }
    let rapid = o.rapid_global_visitors >= c.rapid_global_min_visitors;
    let extended = o.extended_global_visitors >= c.extended_global_min_visitors;
    match (rapid, extended) {
        (true, true) => raw.add(
            "ja4_global_distribution",
            c.global_both_points,
            format!(
                "{} visitors with this TLS client in {} min across the site",
                o.rapid_global_visitors,
                c.rapid_window_secs / 60
            ),
        ),
        (true, false) | (false, true) => raw.add(
            "ja4_global_volume",
            c.global_one_points,
            format!(
                "{} visitors with this TLS client in {} min across the site",
                o.extended_global_visitors,
                c.extended_window_secs / 60
            ),
        ),
        _ => {}
    }
    // Global signals alone describe a popular browser, not an attack: they count
    // only beside local clustering.
    if !clustered {
        return ComponentResult::default();
    }
    let mut r = ComponentResult {
        score: (raw.score / c.raw_max * 100.0).min(100.0),
        reasons: raw.reasons,
        triggers: vec![],
    };
    if r.score >= block_threshold {
        r.triggers.push(Trigger::Ja4SessionHopping);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000;

    #[test]
    fn a_fast_cluster_with_global_volume_fires_and_one_visitor_alone_does_not() {
        let c = SessionHoppingConfig::default();
        let o = Observations {
            cluster_visitors: 3,
            cluster_first_ms: Some(NOW - 60_000),
            rapid_global_visitors: 3,
            extended_global_visitors: 5,
            is_submission: true,
            ..Observations::default()
        };
        let r = score(&o, false, NOW, &c, 70.0);
        // 80 + 60 + 50 of 230.
        assert!((r.score - 190.0 / 230.0 * 100.0).abs() < 0.1, "{}", r.score);
        assert_eq!(r.triggers, [Trigger::Ja4SessionHopping]);
        let alone = Observations {
            cluster_visitors: 1,
            rapid_global_visitors: 30,
            extended_global_visitors: 300,
            ..Observations::default()
        };
        let r = score(&alone, false, NOW, &c, 70.0);
        assert!(r.triggers.is_empty(), "a popular browser alone is no attack: {r:?}");
    }

    /// NAT is normal: the same cluster on page views is a shared network (an anomaly, no
    /// trigger), and an established visitor is not judged by its network's crowd at all.
    #[test]
    fn page_views_and_established_visitors_are_not_hopping() {
        let c = SessionHoppingConfig::default();
        let mut o = Observations {
            cluster_visitors: 200,
            cluster_first_ms: Some(NOW - 60_000),
            rapid_global_visitors: 200,
            extended_global_visitors: 200,
            ..Observations::default()
        };
        let r = score(&o, false, NOW, &c, 70.0);
        assert!(r.triggers.is_empty(), "{r:?}");
        assert_eq!(
            r.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
            ["ja4_shared_network"]
        );
        assert_eq!(
            crate::fraud::evidence::class_of("ja4_shared_network"),
            crate::fraud::evidence::Class::Anomaly
        );
        o.is_submission = true;
        assert_eq!(score(&o, false, NOW, &c, 70.0).triggers, [Trigger::Ja4SessionHopping]);
        let r = score(&o, true, NOW, &c, 70.0);
        assert!(r.reasons.is_empty() && r.triggers.is_empty(), "{r:?}");
    }
}
