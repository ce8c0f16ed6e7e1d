//! Unit tests of the layers and the composite on hand-built requests.

use super::*;
use crate::http::{EdgeRequest, RequestSource};

const CHROME_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CHROME_JA4: &str = "t13d1516h2_8daaf6152771_02713d6af862";
const PYTHON_JA4: &str = "t13d181000_85036bcba153_d41ae481755e";

fn chrome_request(extra: &[(&str, &str)]) -> EdgeRequest {
    let mut pairs = vec![
        ("sec-ch-ua", "\"Chromium\";v=\"131\""),
        ("user-agent", CHROME_UA),
        ("accept-language", "en-US,en;q=0.9"),
        ("sec-fetch-mode", "cors"),
        ("cloudfront-viewer-ja4-fingerprint", CHROME_JA4),
        ("cloudfront-viewer-http-version", "2.0"),
        ("cloudfront-viewer-asn", "7922"),
        (
            "cloudfront-viewer-header-order",
            "host:sec-ch-ua:user-agent:accept:sec-fetch-mode:accept-language",
        ),
        ("cloudfront-viewer-header-count", "6"),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    let mut h = ::http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            ::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    EdgeRequest::new(
        RequestSource::CloudFront,
        ::http::Method::POST,
        "/t",
        "",
        h,
        vec![],
        false,
        Some("198.51.100.23".parse().unwrap()),
        None,
    )
}

fn score(req: &EdgeRequest, signals: Option<ClientSignals>) -> RiskAssessment {
    assess(
        &ScoringInput::from_request(req, signals, Some("page_view")),
        &FraudConfig::default(),
    )
}

#[test]
fn a_clean_chrome_request_is_low_and_explains_nothing() {
    let a = score(&chrome_request(&[]), None);
    assert_eq!((a.score, a.level, a.action), (0.0, Level::Low, Action::Allow));
    assert!(a.public_reasons().is_empty());
    assert_eq!(a.breakdown.len(), 9);
}

#[test]
fn a_tool_ja4_under_a_browser_user_agent_is_critical() {
    let a = score(
        &chrome_request(&[("cloudfront-viewer-ja4-fingerprint", PYTHON_JA4)]),
        None,
    );
    assert_eq!(a.level, Level::Critical);
    assert_eq!(a.trigger.map(Trigger::name), Some("ja4_mismatch"));
    assert!(a.score >= 75.0);
    let ctx = &a.breakdown["ja4_context"];
    assert!(ctx.reasons.iter().any(|r| r.code == "tls_stack_mismatch"), "{ctx:?}");
    // The listed tool is named as evidence, worth nothing: the profile decided.
    let named = ctx.reasons.iter().find(|r| r.code == "known_tool_ja4").expect("named");
    assert_eq!((named.points, named.message.contains("Python")), (0.0, true));
    assert!((ctx.contribution - ctx.score * ctx.weight).abs() < 0.06);
}

#[test]
fn known_crawlers_are_named_and_blocked() {
    let a = score(
        &chrome_request(&[(
            "user-agent",
            "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        )]),
        None,
    );
    assert_eq!(a.level, Level::Critical);
    assert_eq!(a.trigger.map(Trigger::name), Some("bot_user_agent"));
    assert_eq!(a.score, 80.0);
    assert!(a.breakdown["bot_user_agent"].reasons[0].message.contains("AhrefsBot"));
}

/// Headers to change, the script's signals, the layer and the reason code expected.
type LayerCase = (
    Vec<(&'static str, &'static str)>,
    Option<ClientSignals>,
    &'static str,
    &'static str,
);

#[test]
fn each_layer_finds_its_signal() {
    let cases: Vec<LayerCase> = vec![
        (vec![("cloudfront-viewer-ja4-fingerprint", "")], None, "ja4_tls", "missing_ja4"),
        (vec![("cloudfront-viewer-ja4-fingerprint", "t12d1516h2_8daaf6152771_02713d6af862")], None, "ja4_context", "tls_version_mismatch"),
        (vec![("cloudfront-viewer-ja4-fingerprint", "t10d0305h1_8daaf6152771_02713d6af862")], None, "ja4_tls", "legacy_tls"),
        (vec![("cloudfront-viewer-ja4-fingerprint", "t13i0304h2_8daaf6152771_02713d6af862")], None, "ja4_structure", "no_sni"),
        (vec![("cloudfront-viewer-ja4-fingerprint", "garbage")], None, "ja4_structure", "malformed_ja4"),
        // Firefox's TLS stack under a Chrome User-Agent.
        (vec![("cloudfront-viewer-ja4-fingerprint", "t13d1715h2_5b57614c22b0_7121afd63204")], None, "ja4_context", "tls_stack_mismatch"),
        (vec![("cloudfront-viewer-ja4-fingerprint", "t13d1516h1_8daaf6152771_02713d6af862")], None, "ja4_context", "alpn_mismatch"),
        (vec![("cloudfront-viewer-ja4-fingerprint", "t13d1525h2_8daaf6152771_02713d6af862")], None, "ja4_context", "extension_count_mismatch"),
        (vec![("accept-language", "")], None, "ja4_context", "missing_accept_language"),
        (vec![("sec-fetch-mode", ""), ("cloudfront-viewer-header-order", "host:sec-ch-ua:user-agent:accept:accept-language")], None, "ja4_context", "missing_fetch_metadata"),
        (vec![("cloudfront-viewer-header-order", "user-agent:host:accept")], None, "ja4_context", "user_agent_first"),
        (vec![("sec-ch-ua", ""), ("cloudfront-viewer-header-order", "host:user-agent:accept:sec-fetch-mode:accept-language")], None, "headless", "missing_client_hints"),
        (vec![("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36")], None, "headless", "headless_user_agent"),
        (vec![], Some(ClientSignals { webdriver: Some(true), ..Default::default() }), "headless", "webdriver"),
        // Found by the real-browser tests: a HeadlessChrome User-Agent claims no browser, and
        // its automation signal still counts.
        (vec![("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36")], Some(ClientSignals { webdriver: Some(true), ..Default::default() }), "headless", "webdriver"),
        (vec![], Some(ClientSignals { platform: Some("Linux x86_64".into()), ..Default::default() }), "headless", "platform_mismatch"),
        (vec![("cloudfront-viewer-asn", "16509")], None, "datacenter", "datacenter_asn"),
        (vec![("cloudfront-viewer-http-version", "1.1")], None, "ja4_context", "http1_from_browser"),
        (vec![("cloudfront-viewer-header-count", "3")], None, "http2", "minimal_headers"),
        (vec![], Some(ClientSignals { webrtc_candidates: Some(vec!["candidate:1 1 udp 2122260223 203.0.113.9 5000 typ host".into()]), ..Default::default() }), "webrtc", "no_nat"),
        (vec![], Some(ClientSignals { webrtc_candidates: Some(vec!["candidate:2 1 udp 1677729535 192.0.2.44 5000 typ srflx raddr 0.0.0.0 rport 0".into()]), ..Default::default() }), "webrtc", "public_ip_mismatch"),
        (vec![], Some(ClientSignals { webrtc_candidates: Some(vec!["candidate:3 1 udp 41885439 192.0.2.50 3478 typ relay".into()]), ..Default::default() }), "webrtc", "relay_only"),
        (vec![("user-agent", "")], None, "bot_user_agent", "missing_user_agent"),
    ];
    for (headers, signals, layer, code) in cases {
        let a = score(&chrome_request(&headers), signals);
        let c = &a.breakdown[layer];
        assert!(
            c.reasons.iter().any(|r| r.code == code),
            "{layer}/{code}: {:?}",
            a.breakdown
        );
        assert!(c.score > 0.0, "{layer}/{code}");
    }
}

#[test]
fn privacy_relays_are_reported_not_scored() {
    let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    let a = score(
        &chrome_request(&[
            ("user-agent", safari),
            ("cloudfront-viewer-asn", "36183"),
            ("sec-ch-ua", ""),
        ]),
        None,
    );
    let dc = &a.breakdown["datacenter"];
    assert_eq!(dc.score, 0.0);
    assert_eq!(dc.reasons[0].code, "privacy_relay");
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

#[test]
fn credential_stuffing_counts_logins_above_the_seed_limit() {
    let req = chrome_request(&[]);
    let mut input = ScoringInput::from_request(&req, None, Some("login"));
    input.login_count = Some(20);
    assert_eq!(
        assess(&input, &FraudConfig::default()).breakdown["credential_stuffing"].score,
        0.0
    );
    input.login_count = Some(21);
    let a = assess(&input, &FraudConfig::default());
    assert_eq!(a.breakdown["credential_stuffing"].score, 70.0);
    assert_eq!(a.trigger.map(Trigger::name), Some("credential_stuffing"));
    assert_eq!(a.level, Level::Critical);
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
    let a = composite::combine([(Component::Ja4Tls, 0.1, r(50.0, Some(Trigger::LegacyTls)))], &config);
    assert_eq!((a.score, a.level), (60.0, Level::High));
    let a = composite::combine(
        [
            (Component::BotUserAgent, 1.0, r(100.0, Some(Trigger::BotUserAgent))),
            (Component::Headless, 1.0, r(100.0, None)),
        ],
        &config,
    );
    assert_eq!(a.score, 100.0, "capped");
}

fn forwarded(ua: &str, lang: Option<&str>) -> crate::event::Forwarded {
    crate::event::Forwarded {
        ip: "203.0.113.7".parse().unwrap(),
        user_agent: ua.to_string(),
        accept_language: lang.map(str::to_string),
    }
}

#[test]
fn a_server_side_event_is_not_judged_on_the_servers_transport() {
    let input = ScoringInput::server_side(&forwarded(CHROME_UA, Some("en-US,en;q=0.9")), None, Some("signup"));
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
    let no_language = ScoringInput::server_side(&forwarded(CHROME_UA, None), None, None);
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
        &ScoringInput::server_side(&forwarded(headless, Some("en-US")), None, None),
        &FraudConfig::default(),
    );
    assert_eq!(a.level, Level::Critical);
    assert!(a.breakdown["headless"]
        .reasons
        .iter()
        .any(|r| r.code == "headless_user_agent"));
    let bot = assess(
        &ScoringInput::server_side(&forwarded("python-requests/2.32.3", None), None, None),
        &FraudConfig::default(),
    );
    assert_eq!(bot.trigger.map(Trigger::name), Some("bot_user_agent"));
    // The same request from a browser would be judged on its transport too.
    let browser = score(&chrome_request(&[("cloudfront-viewer-asn", "16509")]), None);
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
