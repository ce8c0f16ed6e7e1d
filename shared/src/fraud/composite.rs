//! The composite risk score (seed "Risk Scoring System").
//!
//! Formula: each component's contribution is `score × weight` (scores 0–100, weights from
//! [`super::config::Weights`], together at most 1); the base score is the sum of the
//! contributions. When block triggers fire, the one with the highest floor applies:
//! `total = max(base, block_threshold + offset)` (offsets in
//! [`super::config::TriggerFloors`]). The total is rounded to one decimal and capped at 100.
//! Levels: below `risk.medium` low → allow; below `risk.high` medium → monitor; below
//! `risk.block_threshold` high → captcha; at or above it critical → block (seed "8-Layer Fraud Detection":
//! "low → allow, medium → monitor, high → captcha, critical → block"). In observation mode
//! the action is recorded but never enforced.

use serde::{Deserialize, Serialize};

use super::component::Component;
use super::components::repeat_offender;
use super::config::{FraudConfig, Mode};
use super::input::Evidence;
use super::trigger::Trigger;
use super::{Breakdown, ComponentResult, Reason, ScoringInput};

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
pub struct ComponentScore {
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
    pub trigger: Option<Trigger>,
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

/// A component that does not apply: score 0 and one reason, worth 0 points, saying why.
pub fn not_applicable(why: &str) -> ComponentResult {
    let mut r = ComponentResult::default();
    r.add(NOT_APPLICABLE, 0.0, format!("not applicable: {why}"));
    r
}

/// Replaces the components that judge the transport ([`Component::judges_transport`]: the
/// request's TLS, HTTP, headers and network, which are the organization's server's, or what
/// only the collector script sends) with [`not_applicable`] ones of weight 0. There is no
/// normalisation of the weights: a component of weight 0 contributes nothing and takes no
/// part in the composite, and the block triggers' floors apply as for any event; the
/// breakdown still lists it, so the record says what was not judged and why.
pub fn mark_server_side(results: &mut [(Component, f64, ComponentResult)]) {
    for (component, weight, result) in results.iter_mut() {
        if component.judges_transport() {
            *weight = 0.0;
            *result = not_applicable("server-side event");
        }
    }
}

/// Scores a request in the components it alone decides (the stateless ones) and combines
/// the results.
pub fn assess(input: &ScoringInput, config: &FraudConfig) -> RiskAssessment {
    assess_evidence(&Evidence::request(input), config)
}

/// Scores every registered component the evidence allows ([`Component::score`]; with
/// behavioral evidence also repeat-offender memory) and combines them. For a server-side
/// request the transport components are [`mark_server_side`]d.
pub fn assess_evidence(evidence: &Evidence, config: &FraudConfig) -> RiskAssessment {
    let mut scored: Vec<(Component, f64, ComponentResult)> = Component::ALL
        .iter()
        .filter_map(|c| Some((*c, c.weight(&config.weights), c.score(evidence, config)?)))
        .collect();
    if evidence.request.server_side {
        mark_server_side(&mut scored);
    }
    if let Some(b) = &evidence.behavior {
        if let Some(r) = repeat_offender::score(b.memory.as_ref(), &scored, b.now_ms, config) {
            scored.push((Component::RepeatOffender, 0.0, r));
        }
    }
    combine(scored, config)
}

/// Combines component results (`(component, weight, result)`) into an assessment.
pub fn combine<I: IntoIterator<Item = (Component, f64, ComponentResult)>>(
    results: I,
    config: &FraudConfig,
) -> RiskAssessment {
    let mut breakdown = Breakdown::new();
    let mut base = 0.0;
    let mut trigger: Option<(Trigger, f64)> = None;
    for (component, weight, r) in results {
        let contribution = round1(r.score * weight);
        base += r.score * weight;
        for t in &r.triggers {
            let floor = t.floor(config);
            if trigger.is_none_or(|(_, f)| floor > f) {
                trigger = Some((*t, floor));
            }
        }
        breakdown.insert(
            component.name().to_string(),
            ComponentScore {
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
        trigger: trigger.map(|(t, _)| t),
        base_score: round1(base),
        breakdown,
        degraded: Vec::new(),
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
