//! Bot and fraud scoring: the eight layers of seed `000_…` plus the bot User-Agent check,
//! combined into a composite risk score 0–100 with a level, an action and a breakdown that
//! explains every point (seed `002_…`: weighted components, block triggers with score
//! floors, rounding and cap).
//!
//! | layer | module | max |
//! |-------|--------|-----|
//! | JA4 TLS fingerprint | [`layers::ja4_tls`] | 80 |
//! | JA4 ↔ context | [`layers::ja4_context`] | 60 (severe mismatches also fire the `ja4_mismatch` trigger) |
//! | JA4 structure | [`layers::ja4_structure`] | 100 |
//! | headless browser | [`layers::headless`] | 100 |
//! | VPN / datacenter | [`layers::datacenter`] | 40 |
//! | HTTP/2 anomalies | [`layers::http2`] | 100 |
//! | WebRTC | [`layers::webrtc`] | 100 |
//! | credential stuffing | [`layers::credential_stuffing`] | 70 |
//! | bot User-Agent | [`layers::bot_user_agent`] | 100 |

pub mod browsers;
pub mod composite;
pub mod config;
#[cfg(feature = "io")]
pub mod counter;
pub mod crawlers;
pub mod input;
pub mod ja4;
pub mod layers;
pub mod ua;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use composite::{assess, Action, Level, RiskAssessment};
pub use config::FraudConfig;
pub use input::{ClientSignals, ScoringInput};

/// One reason a layer added points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Machine-readable code, e.g. `tool_ja4_under_browser_ua`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Points this reason added (before the layer's cap).
    pub points: f64,
}

/// What one layer found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerResult {
    /// Score, capped at the layer's maximum.
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// Block triggers this layer fires (names of [`config::TriggerFloors`] fields).
    pub triggers: Vec<&'static str>,
}

impl LayerResult {
    /// Adds a reason and its points.
    pub fn add(&mut self, code: &str, points: f64, message: impl Into<String>) {
        self.score += points;
        self.reasons.push(Reason {
            code: code.to_string(),
            message: message.into(),
            points,
        });
    }

    /// Caps the score at `max`.
    pub fn cap(mut self, max: f64) -> Self {
        self.score = self.score.min(max);
        self
    }
}

/// The per-component breakdown: `{component: {score, weight, contribution, reasons}}`.
pub type Breakdown = BTreeMap<String, composite::Component>;
