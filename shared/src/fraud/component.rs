//! The registry: every component of the composite risk score and every block trigger, named by
//! enums the compiler checks.
//!
//! A component is one file in [`super::components`] (its configuration with its defaults, its
//! validation, its maximum, its scoring) plus one line in `registry!` below: its name as
//! stored, whether it judges the request's transport, its weight, its configuration check and
//! how it is scored. A line without any of these does not compile; a weight or a configuration
//! out of range is refused at start by [`FraudConfig::check`], which walks this registry.
//!
//! The seeds number their detection layers twice over (the eight-layer model's "layer 2" is
//! JA4 ↔ context, the behavioral model's "layer 2" is visitor velocity); the code uses the
//! component names only. The seeds' numbering, for reading them side by side:
//!
//! | component | eight-layer model | behavioral model |
//! |-----------|-------------------|------------------|
//! | `ja4_tls` | layer 1 | |
//! | `ja4_context` | layer 2 | |
//! | `ja4_structure` | layer 3 | |
//! | `headless` | layer 4 | |
//! | `datacenter` | layer 5 (VPN / datacenter) | |
//! | `http2` | layer 6 | |
//! | `webrtc` | layer 7 | |
//! | `credential_stuffing` | layer 8 | |
//! | `bot_user_agent` | (the bot User-Agent check) | |
//! | `ip_rate` | | layer 0.5 |
//! | `visitor_velocity` | | layer 2 (2a–2c) |
//! | `repeat_offender` | | layer 3.5 |
//! | `ja4_session_hopping` | | layers 4a–4c |
//! | `collector_token` | | (the collector token) |
//! | `domainprint` | | (the signed domainprint) |

use std::fmt;

use serde::{Deserialize, Serialize};

use super::components::*;
use super::config::{FraudConfig, TriggerFloors, Weights};
use super::input::Evidence;
use super::trigger::Trigger;
use super::ComponentResult;

macro_rules! registry {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, transport: $transport:literal,
        weight: |$w:ident| $weight:expr,
        check: |$c:ident| $check:expr,
        score: |$e:ident, $s:ident| $score:expr;
    )*) => {
        /// A component of the composite risk score; serialized as its name (`ja4_tls`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Component {
            $($(#[$doc])* $variant,)*
        }

        impl Component {
            /// Every component, in scoring order.
            pub const ALL: &'static [Component] = &[$(Component::$variant,)*];

            /// The name as stored in the breakdown and used in the configuration's keys.
            pub fn name(self) -> &'static str {
                match self {
                    $(Component::$variant => $name,)*
                }
            }

            /// Whether the component judges the request's transport (TLS, HTTP, headers, the
            /// network) or what only the collector script sends: such a component does not
            /// apply to a server-side event, whose request is the organization's server's.
            pub fn judges_transport(self) -> bool {
                match self {
                    $(Component::$variant => $transport,)*
                }
            }

            /// The component's weight in the composite, 0–1.
            pub fn weight(self, weights: &Weights) -> f64 {
                match self {
                    $(Component::$variant => { let $w = weights; $weight })*
                }
            }

            /// Checks the component's own configuration.
            ///
            /// # Errors
            /// A message naming the first value out of range.
            pub fn check(self, config: &FraudConfig) -> Result<(), String> {
                match self {
                    $(Component::$variant => { let $c = config; $check })*
                }
            }

            /// Scores the component, or `None` when the evidence it needs is absent (the
            /// behavioral components outside the edge's full assessment).
            pub fn score(self, evidence: &Evidence, config: &FraudConfig) -> Option<ComponentResult> {
                match self {
                    $(Component::$variant => { let ($e, $s) = (evidence, config); $score })*
                }
            }
        }
    };
}

registry! {
    Ja4Tls = "ja4_tls", transport: true,
        weight: |w| w.ja4_tls, check: |c| c.layers.ja4_tls.check(),
        score: |e, c| Some(ja4_tls::score(e.request, &c.layers.ja4_tls));
    Ja4Context = "ja4_context", transport: true,
        weight: |w| w.ja4_context, check: |c| c.layers.ja4_context.check(),
        score: |e, c| Some(ja4_context::score(e.request, &c.layers.ja4_context, &c.browsers, &c.tool_ja4));
    Ja4Structure = "ja4_structure", transport: true,
        weight: |w| w.ja4_structure, check: |c| c.layers.ja4_structure.check(),
        score: |e, c| Some(ja4_structure::score(e.request, &c.layers.ja4_structure));
    Headless = "headless", transport: false,
        weight: |w| w.headless, check: |c| c.layers.headless.check(),
        score: |e, c| Some(headless::score(e.request, &c.layers.headless, &c.browsers, &c.behavior.velocity.submission_events));
    Datacenter = "datacenter", transport: true,
        weight: |w| w.datacenter, check: |c| c.layers.datacenter.check(),
        score: |e, c| Some(datacenter::score(e.request, &c.layers.datacenter));
    Http2 = "http2", transport: true,
        weight: |w| w.http2, check: |c| c.layers.http2.check(),
        score: |e, c| Some(http2::score(e.request, &c.layers.http2));
    Webrtc = "webrtc", transport: true,
        weight: |w| w.webrtc, check: |c| c.layers.webrtc.check(),
        score: |e, c| Some(webrtc::score(e.request, &c.layers.webrtc));
    CredentialStuffing = "credential_stuffing", transport: true,
        weight: |w| w.credential_stuffing, check: |c| c.layers.credential_stuffing.check(),
        score: |e, c| Some(credential_stuffing::score(e.request, &c.layers.credential_stuffing));
    BotUserAgent = "bot_user_agent", transport: false,
        weight: |w| w.bot_user_agent, check: |c| c.layers.bot_user_agent.check(),
        score: |e, c| Some(bot_user_agent::score(e.request, &c.layers.bot_user_agent));
    IpRate = "ip_rate", transport: false,
        weight: |w| w.ip_rate, check: |c| ip_rate::check(&c.behavior.ip_rate_scores, c.behavior.ip_rate_window_secs),
        score: |e, c| e.behavior.as_ref().map(|b| ip_rate::score(b.observations, &c.behavior.ip_rate_scores, c.behavior.ip_rate_window_secs));
    Ja4SessionHopping = "ja4_session_hopping", transport: true,
        weight: |w| w.ja4_session_hopping, check: |c| c.behavior.session_hopping.check(),
        score: |e, c| e.behavior.as_ref().map(|b| ja4_session_hopping::score(b.observations, b.now_ms, &c.behavior.session_hopping, c.risk.block_threshold));
    VisitorVelocity = "visitor_velocity", transport: false,
        weight: |w| w.visitor_velocity, check: |c| c.behavior.velocity.check(),
        score: |e, c| e.behavior.as_ref().map(|b| visitor_velocity::score(b.observations, &c.behavior.velocity));
    CollectorToken = "collector_token", transport: true,
        weight: |w| w.collector_token, check: |c| c.behavior.token.check(),
        score: |e, c| e.behavior.as_ref().map(|b| collector_token::score(b.observations, b.token_missing, &c.behavior.token));
    Domainprint = "domainprint", transport: false,
        weight: |w| w.domainprint, check: |c| c.behavior.domainprint.check(),
        score: |e, c| e.behavior.as_ref().map(|b| domainprint::score(b.domainprint, &c.behavior.domainprint));
    /// Weight 0: it adds no points, only its trigger (judged after the others, whose scores
    /// it reads: [`repeat_offender::score`]).
    RepeatOffender = "repeat_offender", transport: false,
        weight: |_w| 0.0, check: |c| c.behavior.blacklist.check(),
        score: |_e, _c| None;
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Trigger {
    /// The component whose evidence fires it (repeat-offender memory asks whether that
    /// component scores again).
    pub fn component(self) -> Component {
        match self {
            Trigger::Ja4Mismatch | Trigger::BrowserContradiction => Component::Ja4Context,
            Trigger::HeadlessBrowser | Trigger::Automation => Component::Headless,
            Trigger::LegacyTls => Component::Ja4Tls,
            Trigger::BotUserAgent | Trigger::MissingUserAgent | Trigger::NotABrowser => Component::BotUserAgent,
            Trigger::CredentialStuffing => Component::CredentialStuffing,
            Trigger::Ja4SessionHopping => Component::Ja4SessionHopping,
            Trigger::VisitorVelocity | Trigger::IpDiversity => Component::VisitorVelocity,
            Trigger::RepeatOffender => Component::RepeatOffender,
            Trigger::ForgedDomainprint => Component::Domainprint,
            Trigger::TokenReplay => Component::CollectorToken,
        }
    }

    /// The configured offset from `risk.block_threshold` of the trigger's floor, or `None`
    /// for a trigger whose floor is fixed ([`Trigger::TokenReplay`]: 100).
    pub fn offset(self, t: &TriggerFloors) -> Option<f64> {
        Some(match self {
            Trigger::BotUserAgent => t.bot_user_agent,
            Trigger::MissingUserAgent => t.missing_user_agent,
            Trigger::Ja4Mismatch => t.ja4_mismatch,
            Trigger::HeadlessBrowser => t.headless_browser,
            Trigger::Automation => t.automation,
            Trigger::CredentialStuffing => t.credential_stuffing,
            Trigger::LegacyTls => t.legacy_tls,
            Trigger::NotABrowser => t.not_a_browser,
            Trigger::Ja4SessionHopping => t.ja4_session_hopping,
            Trigger::VisitorVelocity => t.visitor_velocity,
            Trigger::IpDiversity => t.ip_diversity,
            Trigger::RepeatOffender => t.repeat_offender,
            Trigger::ForgedDomainprint => t.forged_domainprint,
            Trigger::BrowserContradiction => t.browser_contradiction,
            Trigger::TokenReplay => return None,
        })
    }

    /// The score floor the trigger sets, 0–100 (seed "Risk Scoring System": a token replay
    /// always scores 100; the others `block_threshold + offset`).
    pub fn floor(self, config: &FraudConfig) -> f64 {
        match self.offset(&config.triggers) {
            Some(offset) => config.risk.block_threshold + offset,
            None => 100.0,
        }
    }
}

/// The configuration's check lives beside the registry it walks.
impl FraudConfig {
    /// Checks ranges: weights in 0–1 summing to at most 1, increasing level thresholds in
    /// 0–100, floors within ±50, and every registered component's own configuration
    /// ([`Component::check`]: scores within the component's maximum, windows above 0).
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        for c in Component::ALL {
            let v = c.weight(&self.weights);
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("weights.{c} = {v} is outside 0..=1"));
            }
        }
        let sum: f64 = Component::ALL.iter().map(|c| c.weight(&self.weights)).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("the weights add up to {sum:.3}; at most 1"));
        }
        let r = &self.risk;
        if !(0.0 < r.medium && r.medium < r.high && r.high < r.block_threshold && r.block_threshold <= 100.0) {
            return Err("risk thresholds must satisfy 0 < medium < high < block_threshold <= 100".into());
        }
        for t in Trigger::ALL {
            if let Some(v) = t.offset(&self.triggers) {
                if !(-50.0..=50.0).contains(&v) {
                    return Err(format!("triggers.{t} = {v} is outside -50..=50"));
                }
            }
        }
        self.browsers.check()?;
        for c in Component::ALL {
            c.check(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_ones_and_unique() {
        for c in Component::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.name(), "{c:?}");
        }
        for t in Trigger::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.name(), "{t:?}");
            assert_eq!(t.name().parse::<Trigger>(), Ok(*t));
        }
        let mut names: Vec<_> = Component::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Component::ALL.len());
        assert!("risk_score".parse::<Trigger>().is_err());
    }

    #[test]
    fn every_component_has_a_weight_and_a_valid_default_configuration() {
        let config = FraudConfig::default();
        for c in Component::ALL {
            c.check(&config).unwrap_or_else(|e| panic!("{c}: {e}"));
            let w = c.weight(&config.weights);
            assert!((0.0..=1.0).contains(&w), "{c}: {w}");
            if *c != Component::RepeatOffender {
                assert!(w > 0.0, "{c} is registered with weight 0 by default");
            }
        }
        let sum: f64 = Component::ALL.iter().map(|c| c.weight(&config.weights)).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn every_trigger_has_a_floor_and_a_component_in_the_registry() {
        let config = FraudConfig::default();
        for t in Trigger::ALL {
            let floor = t.floor(&config);
            assert!((0.0..=100.0).contains(&floor), "{t}: {floor}");
            assert!(Component::ALL.contains(&t.component()));
        }
        assert_eq!(Trigger::TokenReplay.floor(&config), 100.0);
    }
}
