//! The composite risk score (seed `002_…`, "Risk Scoring System").
//!
//! Formula: each component's contribution is `score × weight` (scores 0–100, weights from
//! [`super::config::Weights`], together at most 1); the base score is the sum of the
//! contributions. When block triggers fire, the one with the highest floor applies:
//! `total = max(base, block_threshold + offset)` (offsets in
//! [`super::config::TriggerFloors`]). The total is rounded to one decimal and capped at 100.
//! Levels: below `risk.medium` low → allow; below `risk.high` medium → monitor; below
//! `risk.block_threshold` high → captcha; at or above it critical → block (seed `000_…`:
//! "low → allow, medium → monitor, high → captcha, critical → block"). In observation mode
//! the action is recorded but never enforced.

use serde::{Deserialize, Serialize};

use super::config::{FraudConfig, Mode};
use super::layers;
use super::{Breakdown, LayerResult, Reason, ScoringInput};

/// Risk level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

/// What to do with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Monitor,
    Captcha,
    Block,
}

impl Action {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Monitor => "monitor",
            Action::Captcha => "captcha",
            Action::Block => "block",
        }
    }
}

impl Level {
    /// The seed's action for the level.
    pub fn action(self) -> Action {
        match self {
            Level::Low => Action::Allow,
            Level::Medium => Action::Monitor,
            Level::High => Action::Captcha,
            Level::Critical => Action::Block,
        }
    }

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// One component of the breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub score: f64,
    pub weight: f64,
    pub contribution: f64,
    pub reasons: Vec<Reason>,
}

/// The assessment of one request, stored on the event and returned by `/t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// Composite score 0–100, one decimal.
    pub score: f64,
    pub level: Level,
    pub action: Action,
    /// True when the action is `block` and the mode enforces it.
    pub enforced: bool,
    /// `enforce` or `observe`.
    pub mode: Mode,
    /// The block trigger whose floor applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Sum of the contributions before any floor.
    pub base_score: f64,
    pub breakdown: Breakdown,
    /// Layers that could not run (a dependency unavailable): scored 0, failing open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<String>,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Reason code of a component that does not apply to the request.
pub const NOT_APPLICABLE: &str = "not_applicable";

/// The components that do not apply to a server-side event: they judge the request's
/// transport (JA4, TLS, HTTP, header order, the network's ASN; logins and session hopping are
/// counted per JA4), which is the organization's server's, or the collector script's WebRTC
/// candidates and token, which a server call does not carry.
pub const NOT_FOR_SERVER_SIDE: [&str; 9] = [
    "ja4_tls",
    "ja4_context",
    "ja4_structure",
    "datacenter",
    "http2",
    "webrtc",
    "credential_stuffing",
    "ja4_session_hopping",
    "collector_token",
];

/// A component that does not apply: score 0 and one reason, worth 0 points, saying why.
pub fn not_applicable(why: &str) -> LayerResult {
    let mut r = LayerResult::default();
    r.add(NOT_APPLICABLE, 0.0, format!("not applicable: {why}"));
    r
}

/// Replaces the [`NOT_FOR_SERVER_SIDE`] components among `results` with
/// [`not_applicable`] ones of weight 0. There is no normalisation of the weights: a component
/// of weight 0 contributes nothing and takes no part in the composite, and the block
/// triggers' floors apply as for any event; the breakdown still lists it, so the record says
/// what was not judged and why.
pub fn mark_server_side(results: &mut [(&'static str, f64, LayerResult)]) {
    for (name, weight, result) in results.iter_mut() {
        if NOT_FOR_SERVER_SIDE.contains(name) {
            *weight = 0.0;
            *result = not_applicable("server-side event");
        }
    }
}

/// The results of the eight layers and the bot User-Agent check: `(name, weight, result)`.
/// For a server-side input the transport layers are [`mark_server_side`]d.
pub fn base_layers(input: &ScoringInput, config: &FraudConfig) -> Vec<(&'static str, f64, LayerResult)> {
    let w = &config.weights;
    let mut results = vec![
        ("ja4_tls", w.ja4_tls, layers::ja4_tls::score(input, config)),
        ("ja4_context", w.ja4_context, layers::ja4_context::score(input, config)),
        (
            "ja4_structure",
            w.ja4_structure,
            layers::ja4_structure::score(input, config),
        ),
        ("headless", w.headless, layers::headless::score(input, config)),
        ("datacenter", w.datacenter, layers::datacenter::score(input, config)),
        ("http2", w.http2, layers::http2::score(input, config)),
        ("webrtc", w.webrtc, layers::webrtc::score(input, config)),
        (
            "credential_stuffing",
            w.credential_stuffing,
            layers::credential_stuffing::score(input, config),
        ),
        (
            "bot_user_agent",
            w.bot_user_agent,
            layers::bot_user_agent::score(input, config),
        ),
    ];
    if input.server_side {
        mark_server_side(&mut results);
    }
    results
}

/// Scores a request in the stateless layers and combines the results.
pub fn assess(input: &ScoringInput, config: &FraudConfig) -> RiskAssessment {
    combine(base_layers(input, config), config)
}

/// Combines layer results (`(name, weight, result)`) into an assessment; exposed so the
/// behavioral layers can add their components.
pub fn combine<I: IntoIterator<Item = (&'static str, f64, LayerResult)>>(
    results: I,
    config: &FraudConfig,
) -> RiskAssessment {
    let mut breakdown = Breakdown::new();
    let mut base = 0.0;
    let mut trigger: Option<(&'static str, f64)> = None;
    for (name, weight, r) in results {
        let contribution = round1(r.score * weight);
        base += r.score * weight;
        for t in &r.triggers {
            // Seed 002: a token replay always scores 100.
            let floor = if *t == "token_replay" {
                100.0
            } else {
                config.risk.block_threshold + trigger_offset(t, config)
            };
            if trigger.is_none_or(|(_, f)| floor > f) {
                trigger = Some((t, floor));
            }
        }
        breakdown.insert(
            name.to_string(),
            Component {
                score: round1(r.score),
                weight,
                contribution,
                reasons: r.reasons,
            },
        );
    }
    let total = match trigger {
        Some((_, floor)) => base.max(floor),
        None => base,
    };
    let score = round1(total).clamp(0.0, 100.0);
    let level = if score >= config.risk.block_threshold {
        Level::Critical
    } else if score >= config.risk.high {
        Level::High
    } else if score >= config.risk.medium {
        Level::Medium
    } else {
        Level::Low
    };
    let action = level.action();
    RiskAssessment {
        score,
        level,
        action,
        enforced: action == Action::Block && config.mode == Mode::Enforce,
        mode: config.mode,
        trigger: trigger.map(|(t, _)| t.to_string()),
        base_score: round1(base),
        breakdown,
        degraded: Vec::new(),
    }
}

fn trigger_offset(name: &str, config: &FraudConfig) -> f64 {
    let t = &config.triggers;
    match name {
        "bot_user_agent" => t.bot_user_agent,
        "missing_user_agent" => t.missing_user_agent,
        "ja4_mismatch" => t.ja4_mismatch,
        "headless_browser" => t.headless_browser,
        "automation" => t.automation,
        "credential_stuffing" => t.credential_stuffing,
        "legacy_tls" => t.legacy_tls,
        "not_a_browser" => t.not_a_browser,
        "ja4_session_hopping" => t.ja4_session_hopping,
        "visitor_velocity" => t.visitor_velocity,
        "ip_diversity" => t.ip_diversity,
        "repeat_offender" => t.repeat_offender,
        "forged_domainprint" => t.forged_domainprint,
        "browser_contradiction" => t.browser_contradiction,
        _ => 0.0,
    }
}

impl RiskAssessment {
    /// The reasons a client may see: codes and messages of the components that scored,
    /// without weights, thresholds or floors.
    pub fn public_reasons(&self) -> Vec<serde_json::Value> {
        self.breakdown
            .values()
            .flat_map(|c| c.reasons.iter())
            .filter(|r| r.points > 0.0)
            .map(|r| serde_json::json!({"code": r.code, "message": r.message}))
            .collect()
    }
}
