//! The block triggers, named by an enum the compiler checks: evidence that sets a score floor
//! on its own (block triggers with floors tied to the block
//! threshold). Their floors and components are in [`super::component`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A block trigger: evidence that sets a score floor on its own, tied to the block threshold.
/// Serialized as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    BotUserAgent,
    MissingUserAgent,
    Ja4Mismatch,
    HeadlessBrowser,
    Automation,
    CredentialStuffing,
    LegacyTls,
    NotABrowser,
    Ja4SessionHopping,
    VisitorVelocity,
    IpDiversity,
    RepeatOffender,
    ForgedDomainprint,
    BrowserContradiction,
    /// A forged or replayed collector token: always 100, whatever the threshold.
    TokenReplay,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: &'static [Trigger] = &[
        Trigger::BotUserAgent,
        Trigger::MissingUserAgent,
        Trigger::Ja4Mismatch,
        Trigger::HeadlessBrowser,
        Trigger::Automation,
        Trigger::CredentialStuffing,
        Trigger::LegacyTls,
        Trigger::NotABrowser,
        Trigger::Ja4SessionHopping,
        Trigger::VisitorVelocity,
        Trigger::IpDiversity,
        Trigger::RepeatOffender,
        Trigger::ForgedDomainprint,
        Trigger::BrowserContradiction,
        Trigger::TokenReplay,
    ];

    /// The name as stored (`risk.trigger`, a block's `detection_type`, the `Trigger` metric
    /// dimension) and used in the configuration's `triggers` keys.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::BotUserAgent => "bot_user_agent",
            Trigger::MissingUserAgent => "missing_user_agent",
            Trigger::Ja4Mismatch => "ja4_mismatch",
            Trigger::HeadlessBrowser => "headless_browser",
            Trigger::Automation => "automation",
            Trigger::CredentialStuffing => "credential_stuffing",
            Trigger::LegacyTls => "legacy_tls",
            Trigger::NotABrowser => "not_a_browser",
            Trigger::Ja4SessionHopping => "ja4_session_hopping",
            Trigger::VisitorVelocity => "visitor_velocity",
            Trigger::IpDiversity => "ip_diversity",
            Trigger::RepeatOffender => "repeat_offender",
            Trigger::ForgedDomainprint => "forged_domainprint",
            Trigger::BrowserContradiction => "browser_contradiction",
            Trigger::TokenReplay => "token_replay",
        }
    }
}

impl Trigger {
    /// What the trigger's evidence is ([`super::evidence`]): an anomaly's trigger (an engine
    /// no profile names, old TLS, a contradiction that is not decisive) applies only beside
    /// positive evidence.
    pub fn class(self) -> super::evidence::Class {
        use super::evidence::Class;
        match self {
            Trigger::NotABrowser | Trigger::LegacyTls | Trigger::BrowserContradiction => Class::Anomaly,
            _ => Class::Positive,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no trigger (e.g. `risk_score`, the detection type of a block without one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a block trigger")]
pub struct UnknownTrigger(pub String);

impl FromStr for Trigger {
    type Err = UnknownTrigger;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Trigger::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownTrigger(s.to_string()))
    }
}
