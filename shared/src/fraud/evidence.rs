//! What each reason code is evidence of, and so what it may decide.
//!
//! - **Positive** bot evidence: a known bot or automation token, a headless or automation
//!   marker, a tool's transport under a browser claim, a contradiction between a recognized
//!   browser family and its own transport, a forged or replayed credential of ours, a single
//!   visitor's own excess. Only positive evidence can raise a request to high or critical or
//!   fire a block trigger.
//! - **Anomaly**: something unusual that people also do — a token, engine or device no list
//!   names, an old engine, a User-Agent a proxy or an app rewrote, a datacenter or relay
//!   network, a shared address, a VPN. It adds points, but alone never lifts a request above
//!   `risk.anomaly_cap` (the top of medium by default: monitor).
//! - **Absence**: a signal that did not come (no collector token, no client hints, stripped
//!   headers). Treated as an anomaly: monitor at most, alone.
//!
//! Unknown is not bad: a code missing from [`REASONS`] is an anomaly, never positive (a test
//! keeps the table complete).

use serde::{Deserialize, Serialize};

/// The class of a reason or a block trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Positive evidence of a bot: may make high or critical and fire a block trigger.
    Positive,
    /// Unusual, and also done by people: monitor at most, alone.
    Anomaly,
    /// A missing signal: monitor at most, alone.
    Absence,
}

impl Class {
    /// The name as stored and documented.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Positive => "positive",
            Class::Anomaly => "anomaly",
            Class::Absence => "absence",
        }
    }
}

use Class::{Absence, Anomaly, Positive};

/// Every reason code a component emits: its class and why it has that class.
pub const REASONS: &[(&str, Class, &str)] = &[
    // bot_user_agent
    (
        "known_bot",
        Positive,
        "the User-Agent matches the maintained crawler list (isbot)",
    ),
    (
        "automation_user_agent",
        Positive,
        "the User-Agent names a headless browser or a browser driver",
    ),
    (
        "missing_user_agent",
        Positive,
        "every browser sends a User-Agent on every request and no script can remove it; only a program sends none",
    ),
    (
        "not_a_browser",
        Anomaly,
        "an engine or device no profile names: a browser we do not know is still a browser",
    ),
    (
        "foreign_product_token",
        Anomaly,
        "a product token no list names beside a browser claim: apps and small browsers add their own",
    ),
    // headless
    ("headless_user_agent", Positive, "the User-Agent says Headless"),
    (
        "webdriver",
        Positive,
        "navigator.webdriver is true only under automation (WebDriver standard)",
    ),
    (
        "synthetic_input",
        Positive,
        "input events the page dispatched itself (isTrusted false): a script acting as a person",
    ),
    (
        "missing_client_hints",
        Absence,
        "client hints a Chromium browser sends, missing: a proxy or a privacy setting may strip them",
    ),
    (
        "generic_language",
        Anomaly,
        "a language preference of '*': unusual, set by some privacy tools",
    ),
    (
        "no_plugins",
        Absence,
        "no plugins on a desktop browser: also a privacy setting",
    ),
    (
        "no_languages",
        Absence,
        "navigator.languages empty: also a privacy setting",
    ),
    (
        "platform_mismatch",
        Anomaly,
        "navigator.platform against the User-Agent: also a User-Agent switcher or device emulation",
    ),
    (
        "uniform_keystrokes",
        Anomaly,
        "evenly spaced keystrokes: also a password manager or paste",
    ),
    (
        "linear_pointer",
        Anomaly,
        "a straight pointer path: also a touch screen or an accessibility tool",
    ),
    (
        "no_interaction_submission",
        Absence,
        "a form sent without input events: also autofill",
    ),
    // ja4_tls, ja4_structure
    (
        "missing_ja4",
        Absence,
        "the TLS handshake was not seen (a proxy or the origin's own path)",
    ),
    (
        "legacy_tls",
        Anomaly,
        "TLS 1.1 or older: also an old browser on an old system",
    ),
    ("malformed_ja4", Anomaly, "a JA4 we cannot read"),
    ("outdated_tls", Anomaly, "an old TLS version: also an old browser"),
    ("no_sni", Anomaly, "no SNI: unusual for a browser, also some proxies"),
    (
        "few_ciphers",
        Anomaly,
        "few cipher suites: a small TLS library, also embedded browsers",
    ),
    (
        "few_extensions",
        Anomaly,
        "few TLS extensions: a small TLS library, also embedded browsers",
    ),
    ("no_alpn", Anomaly, "no ALPN: also old browsers and proxies"),
    // ja4_context (contradictions of a recognized family; see `super::browsers`)
    (
        "known_tool_ja4",
        Positive,
        "the JA4 of a known tool, named (worth no points alone)",
    ),
    (
        "tls_stack_mismatch",
        Positive,
        "the cipher suites of another TLS library than the claimed family's",
    ),
    (
        "tls_version_mismatch",
        Positive,
        "an older TLS version than the claimed family negotiates",
    ),
    ("alpn_mismatch", Positive, "an ALPN the claimed family never offers"),
    (
        "extension_count_mismatch",
        Anomaly,
        "an extension count outside the family's measured range: versions differ",
    ),
    (
        "http1_from_browser",
        Anomaly,
        "HTTP/1.1 from a browser: also a proxy that downgrades",
    ),
    (
        "missing_accept_language",
        Absence,
        "no Accept-Language: also a proxy that strips it",
    ),
    (
        "missing_fetch_metadata",
        Absence,
        "no Sec-Fetch-* headers: also a proxy that strips them",
    ),
    (
        "user_agent_first",
        Anomaly,
        "User-Agent as the first header: also a proxy that rewrites headers",
    ),
    // datacenter, http2, webrtc
    (
        "datacenter_asn",
        Anomaly,
        "a hosting network: also VPNs, proxy browsers and cloud desktops",
    ),
    (
        "privacy_relay",
        Anomaly,
        "iCloud Private Relay: people (worth no points)",
    ),
    (
        "alpn_version_mismatch",
        Anomaly,
        "h2 offered, HTTP/1.x used: also a proxy",
    ),
    ("minimal_headers", Absence, "few headers: also a proxy that strips them"),
    (
        "no_nat",
        Anomaly,
        "a public host candidate: also a phone on IPv6 or an open network",
    ),
    (
        "several_public_ips",
        Anomaly,
        "several public addresses: also dual-homed devices",
    ),
    (
        "ipv6_leak",
        Anomaly,
        "a public IPv6 beside an IPv4 request: also ordinary dual stack",
    ),
    ("relay_only", Absence, "only relay candidates: also a privacy setting"),
    (
        "public_ip_mismatch",
        Anomaly,
        "another public address over WebRTC: a VPN or a proxy, which people use",
    ),
    // behavioral
    (
        "credential_stuffing",
        Positive,
        "many logins from one TLS client and address in minutes",
    ),
    (
        "ip_rate",
        Anomaly,
        "many events from one address: also a shared network",
    ),
    (
        "ja4_clustering",
        Positive,
        "submissions of new visitors with one TLS client on one address within the cluster window",
    ),
    ("ja4_velocity", Positive, "those visitors within minutes"),
    (
        "ja4_shared_network",
        Anomaly,
        "new visitors with one TLS client on one address, on page views: a shared network's normal",
    ),
    (
        "ja4_global_distribution",
        Anomaly,
        "many visitors with one TLS client across the site: a popular browser build",
    ),
    (
        "ja4_global_volume",
        Anomaly,
        "many visitors with one TLS client across the site: a popular browser build",
    ),
    (
        "submissions_24h",
        Positive,
        "one visitor's submissions in 24 h over the limit",
    ),
    (
        "attempts_1h",
        Positive,
        "one visitor's attempts in an hour over the limit",
    ),
    (
        "ip_diversity",
        Positive,
        "one visitor submitting from many addresses in 24 h: proxy rotation",
    ),
    (
        "missing_token",
        Absence,
        "no collector token: also a blocked or late script",
    ),
    (
        "expired_token",
        Absence,
        "an expired collector token: also a tab left open",
    ),
    ("forged_token", Positive, "a collector token we did not sign"),
    ("replayed_token", Positive, "one collector token used beyond its uses"),
    (
        "unsigned_domainprint",
        Anomaly,
        "a domainprint cookie we did not issue: also a stale cookie of another format",
    ),
    (
        "unknown_domainprint_key",
        Anomaly,
        "a domainprint signed by a retired key",
    ),
    ("expired_domainprint", Absence, "a domainprint past its lifetime"),
    (
        "identity_conflict",
        Anomaly,
        "a signed domainprint another visitor's fingerprint contradicts: also a device update",
    ),
    (
        "forged_domainprint",
        Positive,
        "a domainprint altered or issued for another organization",
    ),
    (
        "repeat_offender",
        Positive,
        "positive evidence again, after earlier blocks",
    ),
    (
        "not_applicable",
        Absence,
        "the component does not apply (worth no points)",
    ),
];

/// The class of a reason code; a code not in [`REASONS`] is an anomaly.
pub fn class_of(code: &str) -> Class {
    REASONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, class, _)| *class)
        .unwrap_or(Anomaly)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the fraud sources emit (`add("code"`, `add(\n "code"`) is in the table,
    /// once.
    #[test]
    fn every_emitted_code_has_a_class() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/fraud");
        let mut files = vec![];
        for entry in std::fs::read_dir(dir)
            .unwrap()
            .chain(std::fs::read_dir(format!("{dir}/components")).unwrap())
        {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        let emitted = regex::Regex::new(r#"add\(\s*"([a-z0-9_]+)""#).unwrap();
        let mut seen = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let body = text.split("#[cfg(test)]").next().unwrap_or("");
            for c in emitted.captures_iter(body) {
                let code = &c[1];
                seen += 1;
                assert!(
                    REASONS.iter().any(|(k, _, _)| *k == code),
                    "{}: reason code {code} has no class in fraud::evidence::REASONS",
                    path.display()
                );
            }
        }
        assert!(seen > 40, "the scan found {seen} codes");
        let mut codes: Vec<_> = REASONS.iter().map(|(c, _, _)| *c).collect();
        codes.sort();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code listed twice");
        assert_eq!(class_of("a_code_nobody_wrote"), Class::Anomaly);
    }
}
