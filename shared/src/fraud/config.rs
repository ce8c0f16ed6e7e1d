//! The fraud configuration: what is global to the composite score — the mode, the level
//! thresholds, the browser families' profiles and the known tools' JA4s — and every
//! component's own configuration under its name (`components.<name>`: weight, points,
//! thresholds, trigger floors), each defined, defaulted and checked in its component's file
//! ([`super::components`]). One typed value with documented defaults, overridden by
//! `FRAUD_CONFIG` (JSON, deep merge of partial overrides; unknown keys, keys of the layout
//! before components had their own, and out-of-range values are refused at start).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::browsers::BrowsersConfig;
pub use super::component::{Components, Floors};
pub use super::components::bot_user_agent::BotUserAgentConfig;
pub use super::components::collector_token::TokenConfig;
pub use super::components::credential_stuffing::CredentialStuffingConfig;
pub use super::components::datacenter::DatacenterConfig;
pub use super::components::domainprint::DomainprintConfig;
pub use super::components::headless::{HeadlessConfig, InteractionConfig};
pub use super::components::http2::Http2Config;
pub use super::components::ip_rate::IpRateConfig;
pub use super::components::ja4_context::Ja4ContextConfig;
pub use super::components::ja4_session_hopping::SessionHoppingConfig;
pub use super::components::ja4_structure::Ja4StructureConfig;
pub use super::components::ja4_tls::Ja4TlsConfig;
pub use super::components::repeat_offender::{RepeatOffenderConfig, ScoreMode};
pub use super::components::visitor_velocity::VelocityConfig;
pub use super::components::webrtc::WebRtcConfig;
use super::trigger::Trigger;

/// Enforcing or observing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Critical requests are refused.
    Enforce,
    /// Everything is scored and recorded; nothing is refused.
    Observe,
}

/// Score thresholds of the levels (block threshold 70 by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// At or above: medium (monitor).
    pub medium: f64,
    /// At or above: high (captcha).
    pub high: f64,
    /// At or above: critical (block); the block triggers' floors are relative to it.
    pub block_threshold: f64,
    /// The highest score a request reaches without positive bot evidence
    /// ([`super::evidence`]): anomalies and absences alone monitor, never challenge or
    /// block. Default 49.9, the top of medium.
    pub anomaly_cap: f64,
}

/// The whole fraud configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudConfig {
    pub mode: Mode,
    pub risk: RiskConfig,
    /// Every component's configuration, by its name.
    pub components: Components,
    /// What each browser family shows on the wire (see [`super::browsers`]): read by the
    /// JA4 ↔ context component (transport and headers) and the headless one (client hints).
    pub browsers: BrowsersConfig,
    /// JA4 → client of known non-browser tools (default: the non-browser rows of the
    /// vendored FoxIO sample): named as evidence in the JA4 ↔ context breakdown, worth no
    /// points; a known tool's JA4 may be blacklisted across the organization.
    pub tool_ja4: BTreeMap<String, String>,
}

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
                anomaly_cap: 49.9,
            },
            components: Components::default(),
            browsers: BrowsersConfig::default(),
            tool_ja4,
        }
    }
}

impl FraudConfig {
    /// The defaults with a partial JSON override (`FRAUD_CONFIG`) applied and checked.
    ///
    /// # Errors
    /// A message naming an unknown key, a key of the layout before components had their own
    /// (with the key that replaced it), a value of the wrong type or out of range.
    pub fn with_override(json: &str) -> Result<Self, String> {
        let mut base = serde_json::to_value(FraudConfig::default()).map_err(|e| e.to_string())?;
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(moved) = moved_key(&patch) {
            return Err(moved);
        }
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
        crate::env::merge_json(&mut base, &strict)?;
        let c: FraudConfig = serde_json::from_value(base).map_err(|e| e.to_string())?;
        // Defined beside the registry it walks (`super::component`).
        c.check()?;
        Ok(c)
    }
}

/// The first key of `patch` in the layout before each component had its own key, as an error
/// naming the key that replaced it (e.g. `weights.datacenter` → `components.datacenter.weight`).
fn moved_key(patch: &serde_json::Value) -> Option<String> {
    let top = patch.as_object()?;
    let first = |v: &serde_json::Value| -> Option<String> { v.as_object()?.keys().next().cloned() };
    let (old, new) = if let Some(w) = top.get("weights") {
        let c = first(w).unwrap_or_else(|| "<component>".into());
        (format!("weights.{c}"), format!("components.{c}.weight"))
    } else if let Some(l) = top.get("layers") {
        let c = first(l).unwrap_or_else(|| "<component>".into());
        (format!("layers.{c}"), format!("components.{c}"))
    } else if let Some(t) = top.get("triggers") {
        let name = first(t).unwrap_or_else(|| "<trigger>".into());
        let owner = name
            .parse::<Trigger>()
            .map_or("<component>".to_string(), |t| t.component().to_string());
        (
            format!("triggers.{name}"),
            format!("components.{owner}.triggers.{name}"),
        )
    } else if let Some(b) = top.get("behavior") {
        let key = first(b).unwrap_or_default();
        let new = match key.as_str() {
            "session_hopping" => "components.ja4_session_hopping",
            "velocity" => "components.visitor_velocity",
            "token" => "components.collector_token",
            "domainprint" => "components.domainprint",
            "blacklist" => "components.repeat_offender",
            "score_mode" => "components.repeat_offender.score_mode",
            "ip_rate_scores" => "components.ip_rate.scores",
            "ip_rate_window_secs" => "components.ip_rate.window_secs",
            _ => "components.<component>",
        };
        (format!("behavior.{key}"), new.to_string())
    } else {
        return None;
    };
    Some(format!(
        "{old} is no longer read: each component is configured under its own name, use {new} (docs/configuration.md)"
    ))
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
    fn the_keys_before_components_had_their_own_are_refused_naming_the_new_key() {
        for (old, new) in [
            (r#"{"weights": {"datacenter": 0.1}}"#, "components.datacenter.weight"),
            (r#"{"layers": {"datacenter": {"score": 30}}}"#, "components.datacenter"),
            (
                r#"{"triggers": {"ja4_mismatch": 5}}"#,
                "components.ja4_context.triggers.ja4_mismatch",
            ),
            (
                r#"{"behavior": {"velocity": {"max_ips_24h": 3}}}"#,
                "components.visitor_velocity",
            ),
            (
                r#"{"behavior": {"session_hopping": {"cluster_min_visitors": 3}}}"#,
                "components.ja4_session_hopping",
            ),
            (
                r#"{"behavior": {"token": {"max_uses": 10}}}"#,
                "components.collector_token",
            ),
            (
                r#"{"behavior": {"blacklist": {"memory_secs": 60}}}"#,
                "components.repeat_offender",
            ),
            (
                r#"{"behavior": {"score_mode": "additive"}}"#,
                "components.repeat_offender.score_mode",
            ),
            (
                r#"{"behavior": {"ip_rate_window_secs": 60}}"#,
                "components.ip_rate.window_secs",
            ),
        ] {
            let e = FraudConfig::with_override(old).unwrap_err();
            assert!(e.contains(new) && e.contains("no longer read"), "{old}: {e}");
        }
        // The new keys.
        let c = FraudConfig::with_override(
            r#"{"components": {"datacenter": {"weight": 0.05, "score": 30},
                "ja4_context": {"triggers": {"ja4_mismatch": 10}},
                "repeat_offender": {"score_mode": "additive"}}}"#,
        )
        .unwrap();
        assert_eq!(c.components.datacenter.weight, 0.05);
        assert_eq!(c.components.datacenter.score, 30.0);
        assert_eq!(Trigger::Ja4Mismatch.floor(&c), 80.0);
        assert_eq!(c.components.repeat_offender.score_mode, ScoreMode::Additive);
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
            (
                r#"{"components": {"ja4_tls": {"weight": 1.5}}}"#,
                "components.ja4_tls.weight",
            ),
            (r#"{"components": {"bot_user_agent": {"weight": 0.9}}}"#, "add up"),
            (r#"{"risk": {"medium": 60}}"#, "medium < high"),
            (
                r#"{"components": {"datacenter": {"score": 50}}}"#,
                "components.datacenter.score",
            ),
            (
                r#"{"components": {"headless": {"triggers": {"legacy_tls": 0}}}}"#,
                "unknown key `components.headless.triggers.legacy_tls`",
            ),
            (
                r#"{"components": {"ja4_tls": {"triggers": {"legacy_tls": 60}}}}"#,
                "outside -50..=50",
            ),
            (r#"{"mode": "panic"}"#, "variant"),
        ] {
            let e = FraudConfig::with_override(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
