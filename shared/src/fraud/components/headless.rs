//! `headless`, headless browser (max 100): `Headless` in the User-Agent, missing
//! client hints where the claimed family sends them (its profile in
//! [`crate::fraud::browsers`]), the generic language `*` (a missing `Accept-Language` is a
//! contradiction of the JA4 ↔ context component), and
//! the automation signals the collector reports: `navigator.webdriver`, no plugins on a
//! desktop browser, no languages, a platform that contradicts the User-Agent; and the
//! behavioral bundle's interaction evidence (`components.headless.interaction`): input events
//! the page dispatched itself, keystrokes at a machine's even rhythm, a ruler-straight
//! pointer path, a login or submission with no input at all before it.
//!
//! For a server-side event the User-Agent and language are the forwarded ones; client hints
//! are not forwarded, so their absence says nothing, and neither does a language the server
//! did not forward.

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::browsers::BrowsersConfig;
use crate::fraud::input::InteractionEvidence;
use crate::fraud::trigger::Trigger;
use crate::fraud::ua::Engine;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 100.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadlessConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    pub headless_user_agent: f64,
    /// No `Sec-CH-UA` where the claimed family sends it ([`BrowsersConfig`]).
    pub missing_client_hints: f64,
    /// `Accept-Language: *`: no browser asks for any language (a missing header is a
    /// contradiction of the JA4 ↔ context component).
    pub generic_language: f64,
    pub webdriver: f64,
    pub no_plugins: f64,
    pub no_languages: f64,
    pub platform_mismatch: f64,
    /// What the behavioral bundle's interaction evidence may add.
    pub interaction: InteractionConfig,
}

impl ComponentSettings for HeadlessConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        HeadlessConfig::check(self)
    }
}

/// Scores and thresholds for the human-interaction evidence of `/h-pro.js` (layer 4). Not
/// from the published bot-detection literature (mouse movement, typing patterns and form timing as
/// future work); the defaults stay below a block on their own and name what they saw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionConfig {
    /// Input events the page dispatched itself (`isTrusted` false).
    pub synthetic_input: f64,
    /// Keystrokes at a machine's even rhythm: at least `uniform_keys_min` keystrokes whose
    /// intervals vary by at most `uniform_keys_max_sd_ms` (people vary by tens of ms).
    pub uniform_keystrokes: f64,
    pub uniform_keys_min: u32,
    pub uniform_keys_max_sd_ms: f64,
    /// A pointer path of at least `linear_pointer_min_moves` moves with a straightness of at
    /// least `linear_pointer_min_straightness` (0–1).
    pub linear_pointer: f64,
    pub linear_pointer_min_moves: u32,
    pub linear_pointer_min_straightness: f64,
    /// A login or submission event (`components.visitor_velocity.submission_events`) sent by the
    /// behavioral bundle without any pointer, key, scroll or touch input before it.
    pub no_interaction_submission: f64,
}

impl Default for HeadlessConfig {
    /// a Headless User-Agent and
    /// `navigator.webdriver` 100 each, missing client hints 40, platform mismatch 30, no
    /// plugins and no languages 20 each, the generic language 15.
    fn default() -> Self {
        HeadlessConfig {
            weight: 0.11,
            triggers: Floors::from([(Trigger::HeadlessBrowser, 5.0), (Trigger::Automation, 5.0)]),
            headless_user_agent: 100.0,
            missing_client_hints: 40.0,
            generic_language: 15.0,
            webdriver: 100.0,
            no_plugins: 20.0,
            no_languages: 20.0,
            platform_mismatch: 30.0,
            interaction: InteractionConfig::default(),
        }
    }
}

impl Default for InteractionConfig {
    fn default() -> Self {
        InteractionConfig {
            synthetic_input: 60.0,
            uniform_keystrokes: 50.0,
            uniform_keys_min: 10,
            uniform_keys_max_sd_ms: 3.0,
            linear_pointer: 40.0,
            linear_pointer_min_moves: 20,
            linear_pointer_min_straightness: 0.99,
            no_interaction_submission: 30.0,
        }
    }
}

impl HeadlessConfig {
    /// Checks every score against [`MAX`] and the interaction thresholds (straightness
    /// 0–1, a deviation of at least 0 ms, at least 2 keystrokes and moves).
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        let i = &self.interaction;
        for (name, v) in [
            ("headless_user_agent", self.headless_user_agent),
            ("missing_client_hints", self.missing_client_hints),
            ("generic_language", self.generic_language),
            ("webdriver", self.webdriver),
            ("no_plugins", self.no_plugins),
            ("no_languages", self.no_languages),
            ("platform_mismatch", self.platform_mismatch),
            ("interaction.synthetic_input", i.synthetic_input),
            ("interaction.uniform_keystrokes", i.uniform_keystrokes),
            ("interaction.linear_pointer", i.linear_pointer),
            ("interaction.no_interaction_submission", i.no_interaction_submission),
        ] {
            in_range(&format!("components.headless.{name}"), v, MAX)?;
        }
        if !(0.0..=1.0).contains(&i.linear_pointer_min_straightness)
            || !(0.0..=f64::MAX).contains(&i.uniform_keys_max_sd_ms)
        {
            return Err(
                "components.headless.interaction: linear_pointer_min_straightness within 0..=1, uniform_keys_max_sd_ms at least 0"
                    .into(),
            );
        }
        if i.uniform_keys_min < 2 || i.linear_pointer_min_moves < 2 {
            return Err(
                "components.headless.interaction: uniform_keys_min and linear_pointer_min_moves at least 2".into(),
            );
        }
        Ok(())
    }
}

/// Scores `headless`; `browsers` says which families send client hints, `submission_events`
/// which events besides `login` are submissions.
pub fn score(
    input: &ScoringInput,
    c: &HeadlessConfig,
    browsers: &BrowsersConfig,
    submission_events: &[String],
) -> ComponentResult {
    let mut r = ComponentResult::default();
    let Some(ua) = &input.ua else { return r };
    if ua.headless {
        r.add(
            "headless_user_agent",
            c.headless_user_agent,
            "the User-Agent says Headless",
        );
        r.triggers.push(Trigger::HeadlessBrowser);
    }
    // The script ran, and the page says it is automated: evidence whatever the User-Agent
    // claims (a HeadlessChrome User-Agent does not claim a browser, yet runs our script).
    if input.signals.as_ref().and_then(|s| s.webdriver) == Some(true) {
        r.add(
            "webdriver",
            c.webdriver,
            "navigator.webdriver is true: the browser is automated",
        );
        r.triggers.push(Trigger::Automation);
    }
    if let Some(e) = input.signals.as_ref().and_then(|s| s.interaction.as_ref()) {
        interaction(e, input, &c.interaction, submission_events, &mut r);
    }
    if !input.claims_browser() {
        return r.cap(MAX);
    }
    let expects_hints = crate::fraud::browsers::claim(ua).is_some_and(|c| browsers.expects_client_hints(&c));
    if expects_hints && !input.has_client_hints && !input.server_side {
        r.add(
            "missing_client_hints",
            c.missing_client_hints,
            format!("no Sec-CH-UA client hints from Chrome {}", ua.major),
        );
    }
    if input.accept_language.as_deref().map(str::trim) == Some("*") {
        r.add("generic_language", c.generic_language, "the language preference is '*'");
    }
    if let Some(s) = &input.signals {
        if s.plugins == Some(0) && !ua.mobile && matches!(ua.engine, Engine::Blink | Engine::Gecko) {
            r.add(
                "no_plugins",
                c.no_plugins,
                "no plugins on a desktop browser (headless default)",
            );
        }
        if s.languages.as_ref().is_some_and(|l| l.is_empty()) {
            r.add("no_languages", c.no_languages, "navigator.languages is empty");
        }
        if let Some(p) = &s.platform {
            let ua_text = input.user_agent.as_deref().unwrap_or("");
            let claims_windows = ua_text.contains("Windows");
            let claims_mac = ua_text.contains("Macintosh");
            let p = p.to_ascii_lowercase();
            if (claims_windows && !p.starts_with("win")) || (claims_mac && !p.starts_with("mac")) {
                r.add(
                    "platform_mismatch",
                    c.platform_mismatch,
                    "navigator.platform contradicts the User-Agent",
                );
            }
        }
    }
    r.cap(MAX)
}

/// The behavioral bundle's evidence of a person at the keyboard and pointer.
fn interaction(
    e: &InteractionEvidence,
    input: &ScoringInput,
    c: &InteractionConfig,
    submission_events: &[String],
    r: &mut ComponentResult,
) {
    if e.untrusted_events > 0 {
        r.add(
            "synthetic_input",
            c.synthetic_input,
            format!("{} input events dispatched by the page itself", e.untrusted_events),
        );
    }
    if let Some(sd) = e
        .key_interval_sd_ms
        .filter(|sd| e.keystrokes >= c.uniform_keys_min && *sd <= c.uniform_keys_max_sd_ms)
    {
        r.add(
            "uniform_keystrokes",
            c.uniform_keystrokes,
            format!(
                "{} keystrokes {sd:.1} ms apart at most from an even rhythm",
                e.keystrokes
            ),
        );
    }
    if let Some(s) = e
        .pointer_straightness
        .filter(|s| e.pointer_moves >= c.linear_pointer_min_moves && *s >= c.linear_pointer_min_straightness)
    {
        r.add(
            "linear_pointer",
            c.linear_pointer,
            format!("{} pointer moves along a straight line ({s:.3})", e.pointer_moves),
        );
    }
    let submission = input
        .event_name
        .as_deref()
        .is_some_and(|n| n == "login" || submission_events.iter().any(|s| s == n));
    if submission && !e.any_interaction() {
        r.add(
            "no_interaction_submission",
            c.no_interaction_submission,
            format!(
                "{} sent {} ms after load with no pointer, key, scroll or touch input",
                input.event_name.as_deref().unwrap_or_default(),
                e.active_ms
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::fraud::testing::*;
    use crate::fraud::*;

    #[test]
    fn each_signal_is_found() {
        finds(
            &[
                ("sec-ch-ua", ""),
                (
                    "cloudfront-viewer-header-order",
                    "host:user-agent:accept:sec-fetch-mode:accept-language",
                ),
            ],
            None,
            "headless",
            "missing_client_hints",
        );
        finds(&[("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36")], None, "headless", "headless_user_agent");
        finds(
            &[],
            Some(ClientSignals {
                webdriver: Some(true),
                ..Default::default()
            }),
            "headless",
            "webdriver",
        );
        // Found by the real-browser tests: a HeadlessChrome User-Agent claims no browser, and
        // its automation signal still counts.
        finds(&[("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36")], Some(ClientSignals { webdriver: Some(true), ..Default::default() }), "headless", "webdriver");
        finds(
            &[],
            Some(ClientSignals {
                platform: Some("Linux x86_64".into()),
                ..Default::default()
            }),
            "headless",
            "platform_mismatch",
        );
    }

    #[test]
    fn interaction_evidence_names_machine_input_and_passes_a_person() {
        use crate::fraud::input::InteractionEvidence;
        let person = InteractionEvidence {
            pointer_moves: 140,
            pointer_distance_px: 2300,
            pointer_straightness: Some(0.62),
            keystrokes: 24,
            key_interval_mean_ms: Some(182.0),
            key_interval_sd_ms: Some(71.0),
            key_hold_mean_ms: Some(96.0),
            scrolls: 3,
            first_interaction_ms: Some(900),
            active_ms: 14_000,
            ..Default::default()
        };
        let headless = |e: InteractionEvidence, event: &str| {
            let signals = ClientSignals {
                interaction: Some(e),
                ..Default::default()
            };
            let input = ScoringInput::from_request(&chrome_request(&[]), Some(signals), Some(event));
            let a = assess(&input, &FraudConfig::default());
            a.breakdown["headless"]
                .reasons
                .iter()
                .map(|r| r.code.clone())
                .collect::<Vec<String>>()
        };
        assert!(headless(person, "login").is_empty(), "a person at the keyboard passes");
        let machine = InteractionEvidence {
            untrusted_events: 12,
            key_interval_sd_ms: Some(0.4),
            pointer_straightness: Some(0.999),
            ..person
        };
        assert_eq!(
            headless(machine, "page_view"),
            ["synthetic_input", "uniform_keystrokes", "linear_pointer"]
        );
        // Nine keystrokes are too few to call a rhythm even.
        assert!(headless(
            InteractionEvidence {
                keystrokes: 9,
                ..machine
            },
            "page_view"
        )
        .contains(&"synthetic_input".to_string()));
        assert!(!headless(
            InteractionEvidence {
                keystrokes: 9,
                ..machine
            },
            "page_view"
        )
        .contains(&"uniform_keystrokes".to_string()));
        let idle = InteractionEvidence {
            active_ms: 40,
            ..Default::default()
        };
        assert_eq!(headless(idle, "login"), ["no_interaction_submission"]);
        assert_eq!(headless(idle, "signup"), ["no_interaction_submission"]);
        assert!(headless(idle, "page_view").is_empty(), "a page view needs no input");
        // Out-of-range evidence is refused at the body.
        let bad = ClientSignals {
            interaction: Some(InteractionEvidence {
                pointer_straightness: Some(1.5),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().contains("pointerStraightness"));
    }
}
