//! The fraud configuration: what is global to the composite score (mode, level thresholds,
//! weights, trigger floors, the blacklist) and the composition of every component's own
//! configuration, each defined, defaulted and checked in its component's file
//! ([`super::components`]). One typed value with the seeds' defaults, overridden by
//! `FRAUD_CONFIG` (JSON, deep merge of partial overrides; unknown keys and out-of-range values
//! are refused at start).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::browsers::BrowsersConfig;
pub use super::components::bot_user_agent::BotUserAgentConfig;
pub use super::components::collector_token::TokenConfig;
pub use super::components::credential_stuffing::CredentialStuffingConfig;
pub use super::components::datacenter::DatacenterConfig;
pub use super::components::domainprint::DomainprintConfig;
pub use super::components::headless::{HeadlessConfig, InteractionConfig};
pub use super::components::http2::Http2Config;
pub use super::components::ja4_context::Ja4ContextConfig;
pub use super::components::ja4_session_hopping::SessionHoppingConfig;
pub use super::components::ja4_structure::Ja4StructureConfig;
pub use super::components::ja4_tls::Ja4TlsConfig;
pub use super::components::visitor_velocity::VelocityConfig;
pub use super::components::webrtc::WebRtcConfig;

/// Enforcing or observing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Critical requests are refused.
    Enforce,
    /// Everything is scored and recorded; nothing is refused (the fraud design, "Fraud Detection System").
    Observe,
}

/// Score thresholds of the levels (the fraud design, "Risk Scoring System": block threshold 70).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// At or above: medium (monitor).
    pub medium: f64,
    /// At or above: high (captcha).
    pub high: f64,
    /// At or above: critical (block); the block triggers' floors are relative to it.
    pub block_threshold: f64,
}

/// Component weights; each in 0–1, together at most 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub ja4_tls: f64,
    pub ja4_context: f64,
    pub ja4_structure: f64,
    pub headless: f64,
    pub datacenter: f64,
    pub http2: f64,
    pub webrtc: f64,
    pub credential_stuffing: f64,
    pub bot_user_agent: f64,
    pub ip_rate: f64,
    pub ja4_session_hopping: f64,
    pub visitor_velocity: f64,
    pub collector_token: f64,
    pub domainprint: f64,
}

/// Score floors of the block triggers, as offsets from `risk.block_threshold` (the fraud design, "Fraud Detection System":
/// "recompute the score with a floor tied to the configured block threshold").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerFloors {
    pub bot_user_agent: f64,
    pub missing_user_agent: f64,
    pub ja4_mismatch: f64,
    pub headless_browser: f64,
    pub automation: f64,
    pub credential_stuffing: f64,
    pub legacy_tls: f64,
    /// A User-Agent naming no browser engine: this is a browser tracker, so a client that is
    /// no browser is treated as an automated one (high, not critical: some are native apps).
    pub not_a_browser: f64,
    pub ja4_session_hopping: f64,
    pub visitor_velocity: f64,
    pub ip_diversity: f64,
    pub repeat_offender: f64,
    /// A domainprint altered or forged under one of our keys.
    pub forged_domainprint: f64,
    /// A request contradicting the browser family its User-Agent claims, without a decisive
    /// contradiction (see [`super::browsers`]).
    pub browser_contradiction: f64,
}

/// The request components' settings (`layers.<component>`), each from its component's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    pub ja4_tls: Ja4TlsConfig,
    pub ja4_context: Ja4ContextConfig,
    pub ja4_structure: Ja4StructureConfig,
    pub headless: HeadlessConfig,
    pub datacenter: DatacenterConfig,
    pub http2: Http2Config,
    pub webrtc: WebRtcConfig,
    pub credential_stuffing: CredentialStuffingConfig,
    pub bot_user_agent: BotUserAgentConfig,
}

/// How repeat-offender memory treats a recent block (behavioral model, layer 3.5: [`super::components::repeat_offender`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMode {
    /// A recent block of the same detection type raises the score above the threshold.
    Holistic,
    /// Scores only add up; no memory.
    Additive,
}

/// Blacklist and progressive timeouts (seed "Risk Scoring System").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistConfig {
    /// Timeouts by offense count in the last 24 h, seconds (seed: 1 h, 4 h, 8 h, 12 h, 24 h).
    pub timeouts_secs: Vec<u64>,
    /// Window offenses are counted in, seconds.
    pub offense_window_secs: u64,
    /// Repeat-offender memory, seconds (seed: 30 min).
    pub memory_secs: u64,
}

impl Default for BlacklistConfig {
    /// Seed "Risk Scoring System": timeouts of 1 h, 4 h, 8 h, 12 h and 24 h by offenses in
    /// 24 h; repeat-offender memory 30 min.
    fn default() -> Self {
        BlacklistConfig {
            timeouts_secs: vec![3600, 4 * 3600, 8 * 3600, 12 * 3600, DAY_SECS],
            offense_window_secs: DAY_SECS,
            memory_secs: 1800,
        }
    }
}

impl BlacklistConfig {
    /// Checks the ladder (one or more timeouts, not decreasing) and the window (above 0).
    ///
    /// # Errors
    /// A message naming the value out of range.
    pub fn check(&self) -> Result<(), String> {
        if self.timeouts_secs.is_empty() || self.timeouts_secs.windows(2).any(|w| w[0] > w[1]) {
            return Err("behavior.blacklist.timeouts_secs: one or more, not decreasing".into());
        }
        if self.offense_window_secs == 0 {
            return Err("behavior.blacklist.offense_window_secs must be above 0".into());
        }
        Ok(())
    }
}

/// The behavioral layers' settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorConfig {
    pub score_mode: ScoreMode,
    /// IP rate ([`super::components::ip_rate`]): scores by events per IP in `ip_rate_window_secs`, indexed by the
    /// count including this one (seed: 1 → 0, 2 → 25, 3 → 50, 4 → 75, 5+ → 100).
    pub ip_rate_scores: Vec<f64>,
    pub ip_rate_window_secs: u64,
    pub session_hopping: SessionHoppingConfig,
    pub velocity: VelocityConfig,
    pub token: TokenConfig,
    pub domainprint: DomainprintConfig,
    pub blacklist: BlacklistConfig,
}

/// The whole fraud configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudConfig {
    pub mode: Mode,
    pub risk: RiskConfig,
    pub weights: Weights,
    pub triggers: TriggerFloors,
    pub layers: LayerConfig,
    /// What each browser family shows on the wire (see [`super::browsers`]): read by the
    /// JA4 ↔ context component (transport and headers) and the headless one (client hints).
    pub browsers: BrowsersConfig,
    pub behavior: BehaviorConfig,
    /// JA4 → client of known non-browser tools (default: the non-browser rows of the
    /// vendored FoxIO sample): named as evidence in the JA4 ↔ context breakdown, worth no
    /// points; the family profiles decide.
    pub tool_ja4: BTreeMap<String, String>,
}

/// Seconds in a day.
const DAY_SECS: u64 = 86_400;

/// The vendored FoxIO sample (`shared/data/ja4/sample-ja4.csv`).
const SAMPLE_JA4: &str = include_str!("../../data/ja4/sample-ja4.csv");

impl Default for FraudConfig {
    fn default() -> Self {
        let mut tool_ja4 = BTreeMap::new();
        for line in SAMPLE_JA4.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            if let [client, kind, ja4] = cols[..] {
                if kind != "browser" {
                    tool_ja4
                        .entry(ja4.trim().to_string())
                        .and_modify(|c: &mut String| {
                            c.push_str(" / ");
                            c.push_str(client)
                        })
                        .or_insert_with(|| client.to_string());
                }
            }
        }
        FraudConfig {
            mode: Mode::Enforce,
            risk: RiskConfig {
                medium: 30.0,
                high: 50.0,
                block_threshold: 70.0,
            },
            // The eight layers and the bot UA take 0.75; the behavioral layers 0.25, in the
            // proportions of the fraud design's "Risk Scoring System" (IP rate 7 %, JA4 hopping 6 %, device velocity, token).
            weights: Weights {
                ja4_tls: 0.10,
                ja4_context: 0.11,
                ja4_structure: 0.06,
                headless: 0.11,
                datacenter: 0.06,
                http2: 0.07,
                webrtc: 0.06,
                credential_stuffing: 0.06,
                bot_user_agent: 0.12,
                ip_rate: 0.07,
                ja4_session_hopping: 0.06,
                visitor_velocity: 0.08,
                // The collector token's 0.04 is shared with the domainprint: both judge a
                // value we signed and the client returns.
                collector_token: 0.02,
                domainprint: 0.02,
            },
            triggers: TriggerFloors {
                bot_user_agent: 10.0,
                missing_user_agent: 5.0,
                // The TLS stack of another client under a browser User-Agent: critical.
                ja4_mismatch: 5.0,
                headless_browser: 5.0,
                automation: 5.0,
                credential_stuffing: 0.0,
                legacy_tls: -10.0,
                not_a_browser: -20.0,
                // Seed 002: ja4_session_hopping +5, ephemeral-id fraud / validation frequency 0,
                // ip_diversity +10; a token replay always forces 100.
                ja4_session_hopping: 5.0,
                visitor_velocity: 0.0,
                ip_diversity: 10.0,
                repeat_offender: 0.0,
                // High (captcha), not critical: the forged value is ignored.
                forged_domainprint: -20.0,
                // High: no browser of the family sends this, but nothing proves another client.
                browser_contradiction: -20.0,
            },
            layers: LayerConfig {
                ja4_tls: Ja4TlsConfig::default(),
                ja4_context: Ja4ContextConfig::default(),
                ja4_structure: Ja4StructureConfig::default(),
                headless: HeadlessConfig::default(),
                datacenter: DatacenterConfig::default(),
                http2: Http2Config::default(),
                webrtc: WebRtcConfig::default(),
                credential_stuffing: CredentialStuffingConfig::default(),
                bot_user_agent: BotUserAgentConfig::default(),
            },
            browsers: BrowsersConfig::default(),
            behavior: BehaviorConfig {
                score_mode: ScoreMode::Holistic,
                ip_rate_scores: vec![0.0, 25.0, 50.0, 75.0, 100.0],
                ip_rate_window_secs: 3600,
                session_hopping: SessionHoppingConfig::default(),
                velocity: VelocityConfig::default(),
                token: TokenConfig::default(),
                domainprint: DomainprintConfig::default(),
                blacklist: BlacklistConfig::default(),
            },
            tool_ja4,
        }
    }
}

impl FraudConfig {
    /// The defaults with a partial JSON override (`FRAUD_CONFIG`) applied and checked.
    ///
    /// # Errors
    /// A message naming an unknown key, a value of the wrong type or out of range.
    pub fn with_override(json: &str) -> Result<Self, String> {
        let mut base = serde_json::to_value(FraudConfig::default()).map_err(|e| e.to_string())?;
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        // The tool map may gain new entries; everything else must exist.
        let mut strict = patch.clone();
        for key in ["tool_ja4"] {
            if let Some(extra) = strict.as_object_mut().and_then(|o| o.remove(key)) {
                let map = extra.as_object().ok_or(format!("{key} must be an object"))?;
                for (k, v) in map {
                    base[key][k] = v.clone();
                }
            }
        }
        crate::conf::merge_json(&mut base, &strict)?;
        let c: FraudConfig = serde_json::from_value(base).map_err(|e| e.to_string())?;
        // Defined beside the registry it walks (`super::component`).
        c.check()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_come_from_the_vendored_sample() {
        let c = FraudConfig::default();
        c.check().unwrap();
        assert_eq!(c.tool_ja4["t13d181000_85036bcba153_d41ae481755e"], "Python");
        assert_eq!(
            c.tool_ja4["t13d190900_9dc949149365_97f8aa674fd9"],
            "GoLang / Sliver Agent"
        );
        // The weights add up to 1: the registry's test in `crate::fraud::component`.
    }

    #[test]
    fn overrides_merge_and_bad_values_are_refused() {
        let c = FraudConfig::with_override(r#"{"mode": "observe", "risk": {"block_threshold": 80}}"#).unwrap();
        assert_eq!(c.mode, Mode::Observe);
        assert_eq!(c.risk.block_threshold, 80.0);
        assert_eq!(c.risk.medium, 30.0);
        let c =
            FraudConfig::with_override(r#"{"tool_ja4": {"t13d0000h2_000000000000_000000000000": "MyBot"}}"#).unwrap();
        assert_eq!(c.tool_ja4.len(), 3);
        for (bad, needle) in [
            (r#"{"risk": {"blockThreshold": 80}}"#, "blockThreshold"),
            (r#"{"weights": {"ja4_tls": 1.5}}"#, "weights.ja4_tls"),
            (r#"{"weights": {"bot_user_agent": 0.9}}"#, "add up"),
            (r#"{"risk": {"medium": 60}}"#, "medium < high"),
            (r#"{"layers": {"datacenter": {"score": 50}}}"#, "datacenter.score"),
            (r#"{"mode": "panic"}"#, "variant"),
        ] {
            let e = FraudConfig::with_override(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
