//! The behavioral components, judged from the observations the store returned.
//!
//! - `ip_rate` (layer 0.5): events from the IP in the window → the seed's non-linear curve;
//!   never a trigger (shared IPs: offices, universities);
//! - `ja4_session_hopping` (layers 4a–4c): clustering (+80: several visitors with this JA4 from
//!   this IP or /64), velocity (+60: the cluster spans under 10 minutes), global distribution /
//!   volume (+50 both, +40 one: several visitors with this JA4 across the organization in 5 min
//!   / 1 h), raw 0–230 scaled to 0–100; at or above the block threshold it fires
//!   `ja4_session_hopping`. Different JA4s from one IP (a household) never cluster;
//! - `visitor_velocity` (layer 2, over submission events): 2a submissions in 24 h, 2b attempts
//!   in 1 h, 2c distinct IPs in 24 h (proxy rotation, the `ip_diversity` trigger);
//! - `collector_token`: forged or replayed → 100 and the `token_replay` trigger; missing or
//!   expired → a small score;
//! - `domainprint`: a domainprint presented and refused (see
//!   [`crate::identity::domainprint`]): made up or from an older release (`unsigned`), signed
//!   by a key we do not hold (`unknown key`: retired, or made up), or altered / forged under
//!   one of our keys (`forged`, with the `forged_domainprint` trigger: high, not critical —
//!   the value is ignored, so it gains its sender nothing).

use std::collections::BTreeSet;

use super::token::TokenCheck;
use crate::fraud::config::FraudConfig;
use crate::fraud::LayerResult;
use crate::identity::domainprint::Presented;

/// What the behavioral store knows about a request's identifiers, this request included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// Visitors seen with this JA4 from this IP (/64) in the cluster window, this one included.
    pub cluster_visitors: BTreeSet<String>,
    /// First time the cluster was seen in its window, ms.
    pub cluster_first_ms: Option<i64>,
    /// Visitors with this JA4 across the organization in the rapid window, this one included.
    pub rapid_global_visitors: usize,
    /// The same in the extended window.
    pub extended_global_visitors: usize,
    /// Events from this IP in the IP-rate window, this one included.
    pub ip_events: u64,
    /// Whether this event is a submission.
    pub is_submission: bool,
    /// The visitor's submissions in 24 h, this one included.
    pub visitor_submissions_24h: u64,
    /// The visitor's submission attempts in 1 h, this one included.
    pub visitor_attempts_1h: u64,
    /// Distinct IPs of the visitor's submissions in 24 h, this one included.
    pub visitor_ips_24h: BTreeSet<String>,
    /// The collector token's check, if the route expects one.
    pub token: Option<TokenCheck>,
    /// Uses of the token so far, this one included.
    pub token_uses: Option<u64>,
}

/// Layer 0.5.
pub fn ip_rate(o: &Observations, config: &FraudConfig) -> LayerResult {
    let scores = &config.behavior.ip_rate_scores;
    let mut r = LayerResult::default();
    if o.ip_events == 0 {
        return r;
    }
    let i = (o.ip_events as usize - 1).min(scores.len() - 1);
    if scores[i] > 0.0 {
        r.add(
            "ip_rate",
            scores[i],
            format!(
                "{} events from this IP in {} min",
                o.ip_events,
                config.behavior.ip_rate_window_secs / 60
            ),
        );
    }
    r
}

/// Layers 4a–4c.
pub fn session_hopping(o: &Observations, now_ms: i64, config: &FraudConfig) -> LayerResult {
    let c = &config.behavior.session_hopping;
    let mut raw = LayerResult::default();
    let clustered = o.cluster_visitors.len() as u64 >= c.cluster_min_visitors;
    if clustered {
        raw.add(
            "ja4_clustering",
            c.clustering_points,
            format!(
                "{} visitors with the same TLS client from this IP",
                o.cluster_visitors.len()
            ),
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
    let rapid = o.rapid_global_visitors as u64 >= c.rapid_global_min_visitors;
    let extended = o.extended_global_visitors as u64 >= c.extended_global_min_visitors;
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
    // Global signals alone describe a popular browser, not an attack (seed 002): they count
    // only beside local clustering.
    if !clustered {
        return LayerResult::default();
    }
    let mut r = LayerResult {
        score: (raw.score / c.raw_max * 100.0).min(100.0),
        reasons: raw.reasons,
        triggers: vec![],
    };
    if r.score >= config.risk.block_threshold {
        r.triggers.push("ja4_session_hopping");
    }
    r
}

/// Layer 2.
pub fn visitor_velocity(o: &Observations, config: &FraudConfig) -> LayerResult {
    let c = &config.behavior.velocity;
    let mut r = LayerResult::default();
    if !o.is_submission {
        return r;
    }
    if o.visitor_submissions_24h >= c.max_submissions_24h {
        r.add(
            "submissions_24h",
            100.0,
            format!("{} submissions by this visitor in 24 h", o.visitor_submissions_24h),
        );
        r.triggers.push("visitor_velocity");
    } else if o.visitor_attempts_1h >= c.attempts_block {
        r.add(
            "attempts_1h",
            100.0,
            format!("{} attempts by this visitor in 1 h", o.visitor_attempts_1h),
        );
        r.triggers.push("visitor_velocity");
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
        r.triggers.push("ip_diversity");
    }
    r.cap(100.0)
}

/// The collector token.
pub fn collector_token(o: &Observations, config: &FraudConfig) -> LayerResult {
    let c = &config.behavior.token;
    let mut r = LayerResult::default();
    match &o.token {
        None => {}
        Some(TokenCheck::Forged { reason }) => {
            r.add(
                "forged_token",
                100.0,
                format!("the collector token is not ours ({reason})"),
            );
            r.triggers.push("token_replay");
        }
        Some(TokenCheck::Expired { .. }) => r.add("expired_token", c.missing_score, "the collector token has expired"),
        Some(TokenCheck::Valid { .. }) => {
            if let Some(uses) = o.token_uses.filter(|u| *u > c.max_uses) {
                r.add(
                    "replayed_token",
                    100.0,
                    format!("the collector token was used {uses} times"),
                );
                r.triggers.push("token_replay");
            }
        }
    }
    r
}
/// The domainprint the request presented, judged.
pub fn domainprint(presented: &Presented, config: &FraudConfig) -> LayerResult {
    let c = &config.behavior.domainprint;
    let mut r = LayerResult::default();
    match presented {
        Presented::Unsigned => r.add(
            "unsigned_domainprint",
            c.unsigned,
            "the domainprint presented was not issued by us; a new one was issued",
        ),
        Presented::UnknownKey => r.add(
            "unknown_domainprint_key",
            c.unknown_key,
            "the domainprint presented is signed by a key not in use; a new one was issued",
        ),
        Presented::Forged => {
            r.add(
                "forged_domainprint",
                c.forged,
                "the domainprint presented was altered or issued for another organization",
            );
            r.triggers.push("forged_domainprint");
        }
        Presented::Absent | Presented::Valid { .. } | Presented::Rotated { .. } => {}
    }
    r
}
