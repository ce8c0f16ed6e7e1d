//! The composite risk score.
//!
//! Formula: each component's contribution is `score × weight` (scores 0–100, each weight from
//! its component's configuration, together at most 1); the base score is the sum of the
//! contributions. When block triggers fire, the one with the highest floor applies:
//! `total = max(base, block_threshold + offset)` (offsets in the triggering component's
//! `triggers`). The total is rounded to one decimal and capped at 100. Only positive bot
//! evidence ([`super::evidence`]) may lift it above `risk.anomaly_cap` (the top of medium): an
//! anomaly's trigger applies only beside positive evidence, and without any the total stops
//! at the cap.
//! Levels: below `risk.medium` low → allow; below `risk.high` medium → monitor; below
//! `risk.block_threshold` high → captcha; at or above it critical → block. In observation mode
//! the action is recorded but never enforced.

use serde::{Deserialize, Serialize};

use super::component::Component;
use super::components::repeat_offender;
use super::config::{FraudConfig, Mode};
use super::evidence::Class;
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
    /// The action for the level.
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
    /// True when the score was held at `risk.anomaly_cap`: anomalies and absences only, no
    /// positive bot evidence ([`super::evidence`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anomalies_only: bool,
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
        .filter_map(|c| Some((*c, c.weight(config), c.score(evidence, config)?)))
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
    let mut fired: Vec<Trigger> = Vec::new();
    let mut positive = false;
    for (component, weight, r) in results {
        let contribution = round1(r.score * weight);
        base += r.score * weight;
        fired.extend(r.triggers.iter().copied());
        positive |= weight > 0.0 && r.reasons.iter().any(|x| x.class == Class::Positive && x.points > 0.0);
        positive |= r.triggers.iter().any(|t| t.class() == Class::Positive);
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
    // An anomaly's trigger applies only beside positive evidence; without any, the score
    // stops at `risk.anomaly_cap` (monitor at most).
    let trigger = fired
        .into_iter()
        .filter(|t| positive || t.class() == Class::Positive)
        .map(|t| (t, t.floor(config)))
        .fold(None, |best: Option<(Trigger, f64)>, (t, floor)| match best {
            Some((_, f)) if f >= floor => best,
            _ => Some((t, floor)),
        });
    let mut total = match trigger {
        Some((_, floor)) => base.max(floor),
        None => base,
    };
    let anomalies_only = !positive && total > config.risk.anomaly_cap;
    if anomalies_only {
        total = config.risk.anomaly_cap;
    }
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
        anomalies_only,
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

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;
    use crate::fraud::*;

    #[test]
    fn a_clean_chrome_request_is_low_and_explains_nothing() {
        let a = assessed(&chrome_request(&[]), None);
        assert_eq!((a.score, a.level, a.action), (0.0, Level::Low, Action::Allow));
        assert!(a.public_reasons().is_empty());
        assert_eq!(a.breakdown.len(), 9);
    }

    #[test]
    fn observation_mode_scores_but_never_enforces() {
        let config = FraudConfig::with_override(r#"{"mode": "observe"}"#).unwrap();
        let req = chrome_request(&[("user-agent", "curl/8.5.0")]);
        let a = assess(&ScoringInput::from_request(&req, None, None), &config);
        assert_eq!((a.level, a.action, a.enforced), (Level::Critical, Action::Block, false));
        let enforced = assess(&ScoringInput::from_request(&req, None, None), &FraudConfig::default());
        assert!(enforced.enforced);
    }

    #[test]
    fn floors_round_and_cap() {
        let config = FraudConfig::default();
        let r = |score: f64, trigger: Option<Trigger>| ComponentResult {
            score,
            reasons: vec![],
            triggers: trigger.into_iter().collect(),
        };
        let a = composite::combine([(Component::Headless, 0.333, r(50.0, None))], &config);
        assert_eq!(a.score, 16.7);
        assert_eq!(a.level, Level::Low);
        let a = composite::combine(
            [(Component::Ja4Tls, 0.1, r(50.0, Some(Trigger::CredentialStuffing)))],
            &config,
        );
        assert_eq!((a.score, a.level), (70.0, Level::Critical));
        let a = composite::combine(
            [
                (Component::BotUserAgent, 1.0, r(100.0, Some(Trigger::BotUserAgent))),
                (Component::Headless, 1.0, r(100.0, None)),
            ],
            &config,
        );
        assert_eq!(a.score, 100.0, "capped");
    }

    /// A result with one reason of `code` (its class from the table) worth `points`.
    fn found(code: &str, points: f64, trigger: Option<Trigger>) -> ComponentResult {
        let mut r = ComponentResult::default();
        r.add(code, points, code);
        r.triggers.extend(trigger);
        r
    }

    #[test]
    fn anomalies_alone_monitor_and_their_triggers_wait_for_positive_evidence() {
        let config = FraudConfig::default();
        // An engine no profile names, old TLS and a hosting network: all weighty, all people do.
        let anomalies = || {
            [
                (
                    Component::BotUserAgent,
                    1.0,
                    found("not_a_browser", 60.0, Some(Trigger::NotABrowser)),
                ),
                (
                    Component::Ja4Tls,
                    0.5,
                    found("legacy_tls", 50.0, Some(Trigger::LegacyTls)),
                ),
                (Component::Datacenter, 0.5, found("datacenter_asn", 40.0, None)),
            ]
        };
        let a = composite::combine(anomalies(), &config);
        assert_eq!((a.score, a.level, a.trigger), (49.9, Level::Medium, None), "{a:?}");
        assert!(a.anomalies_only);
        assert_eq!(a.base_score, 105.0, "the points stay on record");
        // Beside positive evidence the anomaly's trigger applies (the highest floor wins).
        let mut with_bot: Vec<_> = anomalies().into_iter().collect();
        with_bot.push((
            Component::Headless,
            0.1,
            found("webdriver", 50.0, Some(Trigger::Automation)),
        ));
        let a = composite::combine(with_bot, &config);
        assert_eq!((a.level, a.trigger), (Level::Critical, Some(Trigger::Automation)));
        assert!(!a.anomalies_only);
        // A positive reason of a component weighted 0 by configuration is no evidence.
        let a = composite::combine(
            [
                (
                    Component::BotUserAgent,
                    1.0,
                    found("not_a_browser", 60.0, Some(Trigger::NotABrowser)),
                ),
                (Component::Headless, 0.0, found("headless_user_agent", 50.0, None)),
            ],
            &config,
        );
        assert_eq!((a.score, a.level), (49.9, Level::Medium));
        // Under the cap nothing changes, and the flag stays off.
        let a = composite::combine(
            [(Component::Datacenter, 0.06, found("datacenter_asn", 40.0, None))],
            &config,
        );
        assert_eq!((a.score, a.anomalies_only), (2.4, false));
        let stored = serde_json::to_value(&a).unwrap();
        assert!(stored.get("anomalies_only").is_none());
        assert_eq!(stored["breakdown"]["datacenter"]["reasons"][0]["class"], "anomaly");
    }

    #[test]
    fn the_anomaly_cap_stays_below_high() {
        let e = FraudConfig::with_override(r#"{"risk": {"anomaly_cap": 50}}"#).unwrap_err();
        assert!(e.contains("risk.anomaly_cap"), "{e}");
        assert!(FraudConfig::with_override(r#"{"risk": {"anomaly_cap": 29}}"#).is_err());
        assert!(FraudConfig::with_override(r#"{"risk": {"anomaly_cap": 40}}"#).is_ok());
    }

    #[test]
    fn a_server_side_event_is_not_judged_on_the_servers_transport() {
        let input = end_user(forwarded(CHROME_UA, Some("en-US,en;q=0.9")), Some("signup"));
        let a = assess(&input, &FraudConfig::default());
        assert_eq!((a.score, a.level), (0.0, Level::Low), "{:?}", a.breakdown);
        for name in [
            "ja4_tls",
            "ja4_context",
            "ja4_structure",
            "datacenter",
            "http2",
            "webrtc",
            "credential_stuffing",
        ] {
            let c = &a.breakdown[name];
            assert_eq!((c.score, c.weight, c.contribution), (0.0, 0.0, 0.0), "{name}");
            assert_eq!(c.reasons.len(), 1, "{name}");
            assert_eq!(c.reasons[0].code, composite::NOT_APPLICABLE);
            assert_eq!(c.reasons[0].message, "not applicable: server-side event");
        }
        // Judged on the forwarded User-Agent: no client hints are expected from a server, and a
        // language the server did not forward is not a missing one.
        for name in ["headless", "bot_user_agent"] {
            assert!(a.breakdown[name].weight > 0.0, "{name}");
        }
        let no_language = end_user(forwarded(CHROME_UA, None), None);
        assert_eq!(assess(&no_language, &FraudConfig::default()).score, 0.0);
        assert!(
            a.public_reasons().is_empty(),
            "not-applicable reasons are worth nothing"
        );
    }

    #[test]
    fn a_server_side_event_is_still_judged_on_the_forwarded_user_agent() {
        let headless =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
        let a = assess(
            &end_user(forwarded(headless, Some("en-US")), None),
            &FraudConfig::default(),
        );
        assert_eq!(a.level, Level::Critical);
        assert!(a.breakdown["headless"]
            .reasons
            .iter()
            .any(|r| r.code == "headless_user_agent"));
        let bot = assess(
            &end_user(forwarded("python-requests/2.32.3", None), None),
            &FraudConfig::default(),
        );
        assert_eq!(bot.trigger.map(Trigger::name), Some("bot_user_agent"));
        // The same request from a browser would be judged on its transport too.
        let browser = assessed(&chrome_request(&[("cloudfront-viewer-asn", "16509")]), None);
        assert!(browser.breakdown["datacenter"].score > 0.0);
    }

    #[test]
    fn level_and_action_names_are_the_stored_ones() {
        for level in [Level::Low, Level::Medium, Level::High, Level::Critical] {
            assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
            let action = level.action();
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
        assert_eq!(
            [Level::Low, Level::Medium, Level::High, Level::Critical].map(|l| l.action().as_str()),
            ["allow", "monitor", "captcha", "block"]
        );
    }
}
