//! Layer 4, headless browser (seed `000_…`, max 100): `Headless` in the User-Agent, missing
//! client hints where the claimed family sends them (its profile in
//! [`crate::fraud::browsers`]), the generic language `*` (a missing `Accept-Language` is a
//! contradiction of the JA4 ↔ context component), and
//! the automation signals the collector reports: `navigator.webdriver`, no plugins on a
//! desktop browser, no languages, a platform that contradicts the User-Agent; and the
//! behavioral bundle's interaction evidence (`layers.headless.interaction`): input events
//! the page dispatched itself, keystrokes at a machine's even rhythm, a ruler-straight
//! pointer path, a login or submission with no input at all before it.
//!
//! For a server-side event the User-Agent and language are the forwarded ones; client hints
//! are not forwarded, so their absence says nothing, and neither does a language the server
//! did not forward.

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::input::InteractionEvidence;
use crate::fraud::ua::Engine;
use crate::fraud::{LayerResult, ScoringInput};

/// Scores layer 4.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.headless;
    let mut r = LayerResult::default();
    let Some(ua) = &input.ua else { return r };
    if ua.headless {
        r.add(
            "headless_user_agent",
            c.headless_user_agent,
            "the User-Agent says Headless",
        );
        r.triggers.push("headless_browser");
    }
    // The script ran, and the page says it is automated: evidence whatever the User-Agent
    // claims (a HeadlessChrome User-Agent does not claim a browser, yet runs our script).
    if input.signals.as_ref().and_then(|s| s.webdriver) == Some(true) {
        r.add(
            "webdriver",
            c.webdriver,
            "navigator.webdriver is true: the browser is automated",
        );
        r.triggers.push("automation");
    }
    if let Some(e) = input.signals.as_ref().and_then(|s| s.interaction.as_ref()) {
        interaction(e, input, config, &mut r);
    }
    if !input.claims_browser() {
        return r.cap(max::HEADLESS);
    }
    let raw = input.user_agent.as_deref().unwrap_or_default();
    let expects_hints =
        crate::fraud::browsers::claim(ua, raw).is_some_and(|c| config.browsers.expects_client_hints(&c));
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
    r.cap(max::HEADLESS)
}

/// The behavioral bundle's evidence of a person at the keyboard and pointer.
fn interaction(e: &InteractionEvidence, input: &ScoringInput, config: &FraudConfig, r: &mut LayerResult) {
    let c = &config.layers.headless.interaction;
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
        .is_some_and(|n| n == "login" || config.behavior.velocity.submission_events.iter().any(|s| s == n));
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
