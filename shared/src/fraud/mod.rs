//! Bot and fraud scoring: the request's components (TLS, its context, headless markers,
//! datacenters, HTTP/2, WebRTC, credential stuffing), the bot User-Agent check and the
//! behavioral components, combined into a composite risk score 0–100 with a level, an action and a
//! breakdown that explains every point (weighted components, block triggers with score
//! floors, rounding and cap).
//!
//! - [`component`]: the registry — every component, named by an enum, with its weight,
//!   check and scorer; [`trigger`]: the block triggers' enum;
//! - [`components`]: one file per component (configuration, defaults, checks, maximum,
//!   scoring);
//! - [`composite`]: the weighted sum, the trigger floors, the level and the action;
//! - [`config`]: what is global (mode, levels, weights, floors, the blacklist);
//! - [`evidence`]: the class of every reason code (positive, anomaly, absence) — only
//!   positive evidence may make high or critical;
//! - [`input`]: what the components judge; [`browsers`], [`crawlers`], [`ja4`], [`ua`]: the
//!   knowledge they share.

pub mod bounds;
pub mod browsers;
pub mod component;
pub mod components;
pub mod composite;
pub mod config;
pub mod crawlers;
pub mod evidence;
pub mod input;
pub mod ja4;
pub mod trigger;
pub mod ua;

#[cfg(test)]
mod testing;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use component::Component;
pub use composite::{assess, assess_evidence, Action, Level, RiskAssessment};
pub use config::FraudConfig;
pub use input::{BehaviorEvidence, ClientSignals, Evidence, Memory, Observations, ScoringInput};
pub use trigger::Trigger;

/// One reason a component added points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Machine-readable code, e.g. `tool_ja4_under_browser_ua`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Points this reason added (before the layer's cap).
    pub points: f64,
    /// What the reason is evidence of ([`evidence::REASONS`]); records written before
    /// classes existed read as anomalies.
    #[serde(default = "anomaly")]
    pub class: evidence::Class,
}

fn anomaly() -> evidence::Class {
    evidence::Class::Anomaly
}

/// What one component found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComponentResult {
    /// Score, capped at the layer's maximum.
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// Block triggers this component fires.
    pub triggers: Vec<Trigger>,
}

impl ComponentResult {
    /// Adds a reason and its points; its class comes from [`evidence::class_of`].
    pub fn add(&mut self, code: &str, points: f64, message: impl Into<String>) {
        self.score += points;
        self.reasons.push(Reason {
            code: code.to_string(),
            message: message.into(),
            points,
            class: evidence::class_of(code),
        });
    }

    /// Caps the score at `max`.
    pub fn cap(mut self, max: f64) -> Self {
        self.score = self.score.min(max);
        self
    }
}

/// The per-component breakdown: `{component: {score, weight, contribution, reasons}}`.
pub type Breakdown = BTreeMap<String, composite::ComponentScore>;
