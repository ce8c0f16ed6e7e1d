//! The registry: every component of the composite risk score and every block trigger, named by
//! enums the compiler checks.
//!
//! A component is one file in [`super::components`] — its configuration (weight, points,
//! thresholds, trigger floors) with its defaults and checks ([`ComponentSettings`]), its
//! maximum, its scoring and its tests — plus one line in `registry!` below: its name, which is
//! also its configuration key (`FRAUD_CONFIG.components.<name>`), its configuration type,
//! whether it judges the request's transport, and how it is scored. A weight or a value out
//! of range is refused at start by [`FraudConfig::check`], which walks this registry.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::components::bot_user_agent::BotUserAgentConfig;
use super::components::collector_token::TokenConfig;
use super::components::credential_stuffing::CredentialStuffingConfig;
use super::components::datacenter::DatacenterConfig;
use super::components::domainprint::DomainprintConfig;
use super::components::headless::HeadlessConfig;
use super::components::http2::Http2Config;
use super::components::ip_rate::IpRateConfig;
use super::components::ja4_context::Ja4ContextConfig;
use super::components::ja4_session_hopping::SessionHoppingConfig;
use super::components::ja4_structure::Ja4StructureConfig;
use super::components::ja4_tls::Ja4TlsConfig;
use super::components::repeat_offender::RepeatOffenderConfig;
use super::components::visitor_velocity::VelocityConfig;
use super::components::webrtc::WebRtcConfig;
use super::components::*;
use super::config::FraudConfig;
use super::input::Evidence;
use super::trigger::Trigger;
use super::ComponentResult;

/// A component's block-trigger floors: offsets from `risk.block_threshold`, within ±50.
pub type Floors = BTreeMap<Trigger, f64>;

/// What a component's configuration (`FRAUD_CONFIG.components.<name>`) tells the registry.
pub trait ComponentSettings {
    /// Its weight in the composite, 0–1.
    fn weight(&self) -> f64;

    /// Its block triggers' floors; `None` for a component without configurable triggers.
    fn floors(&self) -> Option<&Floors> {
        None
    }

    /// Checks its own values (scores within the component's maximum, windows above 0).
    ///
    /// # Errors
    /// A message naming the first value out of range by its key.
    fn check(&self) -> Result<(), String>;
}

macro_rules! registry {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $field:ident: $config:ty, transport: $transport:literal,
        score: |$e:ident, $s:ident| $score:expr;
    )*) => {
        /// A component of the composite risk score; serialized as its name (`ja4_tls`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Component {
            $($(#[$doc])* $variant,)*
        }

        /// Every component's configuration, keyed by the component's name
        /// (`FRAUD_CONFIG.components.<name>`), each defined, defaulted and checked in its
        /// component's file.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Components {
            $(pub $field: $config,)*
        }

        impl Default for Components {
            fn default() -> Self {
                Components {
                    $($field: <$config>::default(),)*
                }
            }
        }

        impl Component {
            /// Every component, in scoring order.
            pub const ALL: &'static [Component] = &[$(Component::$variant,)*];

            /// The name as stored in the breakdown and used as the configuration's key.
            pub fn name(self) -> &'static str {
                match self {
                    $(Component::$variant => stringify!($field),)*
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

            /// The component's configuration.
            pub fn settings(self, components: &Components) -> &dyn ComponentSettings {
                match self {
                    $(Component::$variant => &components.$field,)*
                }
            }

            /// The component's weight in the composite, 0–1.
            pub fn weight(self, config: &FraudConfig) -> f64 {
                self.settings(&config.components).weight()
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
    Ja4Tls = ja4_tls: Ja4TlsConfig, transport: true,
        score: |e, c| Some(ja4_tls::score(e.request, &c.components.ja4_tls));
    Ja4Context = ja4_context: Ja4ContextConfig, transport: true,
        score: |e, c| Some(ja4_context::score(e.request, &c.components.ja4_context, &c.browsers, &c.tool_ja4));
    Ja4Structure = ja4_structure: Ja4StructureConfig, transport: true,
        score: |e, c| Some(ja4_structure::score(e.request, &c.components.ja4_structure));
    Headless = headless: HeadlessConfig, transport: false,
        score: |e, c| Some(headless::score(e.request, &c.components.headless, &c.browsers, &c.components.visitor_velocity.submission_events));
    Datacenter = datacenter: DatacenterConfig, transport: true,
        score: |e, c| Some(datacenter::score(e.request, &c.components.datacenter));
    Http2 = http2: Http2Config, transport: true,
        score: |e, c| Some(http2::score(e.request, &c.components.http2));
    Webrtc = webrtc: WebRtcConfig, transport: true,
        score: |e, c| Some(webrtc::score(e.request, &c.components.webrtc));
    CredentialStuffing = credential_stuffing: CredentialStuffingConfig, transport: true,
        score: |e, c| Some(credential_stuffing::score(e.request, &c.components.credential_stuffing));
    BotUserAgent = bot_user_agent: BotUserAgentConfig, transport: false,
        score: |e, c| Some(bot_user_agent::score(e.request, &c.components.bot_user_agent));
    IpRate = ip_rate: IpRateConfig, transport: false,
        score: |e, c| e.behavior.as_ref().map(|b| ip_rate::score(b.observations, &c.components.ip_rate));
    Ja4SessionHopping = ja4_session_hopping: SessionHoppingConfig, transport: true,
        score: |e, c| e.behavior.as_ref().map(|b| ja4_session_hopping::score(b.observations, b.established, b.now_ms, &c.components.ja4_session_hopping, c.risk.block_threshold));
    VisitorVelocity = visitor_velocity: VelocityConfig, transport: false,
        score: |e, c| e.behavior.as_ref().map(|b| visitor_velocity::score(b.observations, &c.components.visitor_velocity));
    CollectorToken = collector_token: TokenConfig, transport: true,
        score: |e, c| e.behavior.as_ref().map(|b| collector_token::score(b.observations, b.token_missing, &c.components.collector_token));
    Domainprint = domainprint: DomainprintConfig, transport: false,
        score: |e, c| e.behavior.as_ref().map(|b| domainprint::score(b.domainprint, b.identity_conflict, &c.components.domainprint));
    /// Weight 0: it adds no points, only its trigger (judged after the others, whose scores
    /// it reads: [`repeat_offender::score`]).
    RepeatOffender = repeat_offender: RepeatOffenderConfig, transport: false,
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

    /// The configured offset from `risk.block_threshold` of the trigger's floor, from its
    /// component's `triggers`; `None` for a trigger whose floor is fixed
    /// ([`Trigger::TokenReplay`]: 100).
    pub fn offset(self, config: &FraudConfig) -> Option<f64> {
        self.component()
            .settings(&config.components)
            .floors()
            .and_then(|f| f.get(&self).copied())
    }

    /// The score floor the trigger sets, 0–100 (a token replay
    /// always scores 100; the others `block_threshold + offset`).
    pub fn floor(self, config: &FraudConfig) -> f64 {
        match self.offset(config) {
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
            let v = c.weight(self);
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("components.{c}.weight = {v} is outside 0..=1"));
            }
        }
        let sum: f64 = Component::ALL.iter().map(|c| c.weight(self)).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("the weights add up to {sum:.3}; at most 1"));
        }
        let r = &self.risk;
        if !(0.0 < r.medium && r.medium < r.high && r.high < r.block_threshold && r.block_threshold <= 100.0) {
            return Err("risk thresholds must satisfy 0 < medium < high < block_threshold <= 100".into());
        }
        if !(r.medium <= r.anomaly_cap && r.anomaly_cap < r.high) {
            return Err(format!(
                "risk.anomaly_cap = {} must be at least risk.medium and below risk.high: anomalies alone never challenge",
                r.anomaly_cap
            ));
        }
        for c in Component::ALL {
            for (t, v) in c.settings(&self.components).floors().into_iter().flatten() {
                if t.component() != *c {
                    return Err(format!(
                        "components.{c}.triggers.{t}: the trigger belongs to components.{}",
                        t.component()
                    ));
                }
                if !(-50.0..=50.0).contains(v) {
                    return Err(format!("components.{c}.triggers.{t} = {v} is outside -50..=50"));
                }
            }
        }
        for t in Trigger::ALL {
            if *t != Trigger::TokenReplay && t.offset(self).is_none() {
                return Err(format!("components.{}.triggers.{t} is missing", t.component()));
            }
        }
        self.browsers.check()?;
        for c in Component::ALL {
            c.settings(&self.components).check()?;
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
            c.settings(&config.components)
                .check()
                .unwrap_or_else(|e| panic!("{c}: {e}"));
            let w = c.weight(&config);
            assert!((0.0..=1.0).contains(&w), "{c}: {w}");
            if *c != Component::RepeatOffender {
                assert!(w > 0.0, "{c} is registered with weight 0 by default");
            }
        }
        let sum: f64 = Component::ALL.iter().map(|c| c.weight(&config)).sum();
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
