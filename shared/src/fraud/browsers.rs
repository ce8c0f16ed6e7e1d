#![doc = include_str!("../docs/browsers.md")]

use serde::{Deserialize, Serialize};

use super::ja4::Ja4;
use super::ua::{Engine, UserAgent};
use super::ScoringInput;

/// A browser family, by the TLS stack and header behavior its members share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Chromium,
    Firefox,
    Safari,
}

impl Family {
    /// Name as reasons show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Chromium => "Chromium",
            Family::Firefox => "Firefox",
            Family::Safari => "Safari",
        }
    }
}

/// How a browser is embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Desktop,
    Mobile,
    /// An in-app webview (Android `wv`, iOS WKWebView in an app, Facebook, Instagram, …).
    Webview,
}

/// What a User-Agent claims: a family, the version that decides what it sends, and its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub family: Family,
    /// Chromium's or Firefox's major version; Safari's `Version/` major (the iOS version in
    /// apps without one).
    pub major: u32,
    pub form: Form,
}

/// The family a parsed User-Agent claims, if it has a profile.
pub fn claim(ua: &UserAgent) -> Option<Claim> {
    let family = match ua.engine {
        Engine::Blink => Family::Chromium,
        Engine::Gecko => Family::Firefox,
        Engine::WebKit if ua.apple() => Family::Safari,
        _ => return None,
    };
    let form = if ua.webview {
        Form::Webview
    } else if ua.mobile {
        Form::Mobile
    } else {
        Form::Desktop
    };
    Some(Claim {
        family,
        major: ua.major,
        form,
    })
}

/// The transport model of one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyProfile {
    /// The first major version that negotiates TLS 1.3.
    pub tls13_since: u32,
    /// Smallest and largest cipher-suite count of the family's TLS stack (JA4 `a`, GREASE
    /// excluded).
    pub cipher_counts: [u8; 2],
    /// Smallest and largest extension count over TCP (JA4 `a`).
    pub extension_counts: [u8; 2],
    /// Hashes of the family's sorted cipher lists (JA4 `b`) measured from its releases.
    pub cipher_hashes: Vec<String>,
    /// The first major version that sends `Sec-CH-UA`; `None` for a family that never does.
    pub client_hints_since: Option<u32>,
    /// The first major version that sends `Sec-Fetch-*`.
    pub fetch_metadata_since: u32,
    /// The newest major version the profile was measured on: a claim of a newer one gets no
    /// decisive contradiction.
    pub measured_through: u32,
    /// Whether the family may send `User-Agent` as its first header.
    pub user_agent_first: bool,
}

/// The three families' profiles (`FRAUD_CONFIG` `browsers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowsersConfig {
    pub chromium: FamilyProfile,
    pub firefox: FamilyProfile,
    pub safari: FamilyProfile,
}

impl Default for BrowsersConfig {
    /// The profiles measured on 2026-11-29 (see the module documentation): Chromium 156 and
    /// Firefox ESR 153 through the local CloudFront, FoxIO's mapping for earlier Chromium and
    /// Firefox and for Safari.
    fn default() -> Self {
        BrowsersConfig {
            chromium: FamilyProfile {
                tls13_since: 70,
                // 15 since Chrome 93 removed 3DES; 16 before.
                cipher_counts: [15, 16],
                // 16 (FoxIO), 17 (Chromium 156), 18 (156, resumed); one either way.
                extension_counts: [14, 19],
                cipher_hashes: vec!["8daaf6152771".into(), "46e7e9700bed".into()],
                client_hints_since: Some(89),
                fetch_metadata_since: 76,
                measured_through: 156,
                user_agent_first: false,
            },
            firefox: FamilyProfile {
                tls13_since: 63,
                // 16 (ESR 153), 17 (FoxIO, earlier releases).
                cipher_counts: [16, 18],
                // 15 (FoxIO), 17 (ESR 153); a couple either way.
                extension_counts: [13, 19],
                cipher_hashes: vec!["86a278354501".into(), "5b57614c22b0".into()],
                client_hints_since: None,
                fetch_metadata_since: 90,
                measured_through: 153,
                user_agent_first: true,
            },
            safari: FamilyProfile {
                // Safari 12.1 (macOS 10.14.4, iOS 12.2) enabled TLS 1.3.
                tls13_since: 13,
                cipher_counts: [20, 21],
                // 14 (FoxIO, with SNI), 13 without.
                extension_counts: [12, 16],
                cipher_hashes: vec!["a09f3c656075".into()],
                client_hints_since: None,
                // Safari 16.4.
                fetch_metadata_since: 17,
                measured_through: 18,
                // Not measured here: not held against it.
                user_agent_first: true,
            },
        }
    }
}

impl BrowsersConfig {
    /// The profile of a family.
    pub fn profile(&self, family: Family) -> &FamilyProfile {
        match family {
            Family::Chromium => &self.chromium,
            Family::Firefox => &self.firefox,
            Family::Safari => &self.safari,
        }
    }

    /// The family whose TLS stack a JA4 shows, if any: TLS 1.3, and a cipher set of the
    /// family's (a known hash, or a count within its range with `h2` offered).
    pub fn family_of_ja4(&self, ja4: &Ja4) -> Option<Family> {
        if ja4.tls_version() < 13 {
            return None;
        }
        let all = [Family::Chromium, Family::Firefox, Family::Safari];
        all.into_iter()
            .find(|f| self.profile(*f).cipher_hashes.contains(&ja4.cipher_hash))
            .or_else(|| {
                all.into_iter().find(|f| {
                    let p = self.profile(*f);
                    ja4.offers_h2() && (p.cipher_counts[0]..=p.cipher_counts[1]).contains(&ja4.cipher_count)
                })
            })
    }

    /// Whether a browser of the claim sends `Sec-CH-UA` (Chromium 89 on, not in webviews,
    /// which added it later).
    pub fn expects_client_hints(&self, claim: &Claim) -> bool {
        claim.form != Form::Webview
            && self
                .profile(claim.family)
                .client_hints_since
                .is_some_and(|since| claim.major >= since)
    }

    /// Checks the ranges: counts ordered.
    ///
    /// # Errors
    /// A message naming the value.
    pub fn check(&self) -> Result<(), String> {
        for (name, p) in [
            ("chromium", &self.chromium),
            ("firefox", &self.firefox),
            ("safari", &self.safari),
        ] {
            if p.cipher_counts[0] > p.cipher_counts[1] || p.extension_counts[0] > p.extension_counts[1] {
                return Err(format!("browsers.{name}: counts must be [smallest, largest]"));
            }
        }
        Ok(())
    }
}

/// One way a request contradicts the family its User-Agent claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Contradiction {
    pub code: &'static str,
    pub message: String,
    /// The transport is another client's: the claim is false, not merely odd.
    pub decisive: bool,
}

/// Every contradiction between a request's transport and headers and the claimed family.
pub fn contradictions(input: &ScoringInput, claim: &Claim, config: &BrowsersConfig) -> Vec<Contradiction> {
    let p = config.profile(claim.family);
    let name = claim.family.as_str();
    let measured = claim.major <= p.measured_through;
    let mut out = Vec::new();
    let mut add = |code, decisive: bool, message: String| {
        out.push(Contradiction {
            code,
            message,
            decisive: decisive && measured,
        })
    };
    if let Some(ja4) = input.ja4() {
        if claim.major >= p.tls13_since && ja4.tls_version() < 13 {
            add(
                "tls_version_mismatch",
                true,
                format!(
                    "TLS {} from {name} {}, which negotiates TLS 1.3",
                    ja4.version, claim.major
                ),
            );
        }
        // The profile describes the family's TLS 1.3 stack: a release from before it negotiated
        // 1.3, on a TLS 1.2 handshake (KaiOS's Gecko 48, an old TV's Chromium), shows a stack the
        // profile does not know, so its ALPN, cipher and extension counts are not compared. A
        // 1.3 handshake is compared whatever the claimed release (an app's old hard-coded
        // User-Agent over a current web view shows the current stack).
        let described = claim.major >= p.tls13_since || ja4.tls_version() >= 13;
        if !described {
            // Not described by the profile.
        } else if ja4.protocol == 'q' {
            if ja4.alpn != "h3" {
                add(
                    "alpn_mismatch",
                    true,
                    format!("QUIC with ALPN {} from {name}", ja4.alpn),
                );
            }
        } else {
            if ja4.no_alpn() {
                add(
                    "alpn_mismatch",
                    true,
                    format!("no ALPN offered: {name} always offers h2"),
                );
            } else if !ja4.offers_h2() {
                add(
                    "alpn_mismatch",
                    true,
                    format!("ALPN {} first: {name} offers h2 first", ja4.alpn),
                );
            }
            let in_range = |v: u8, r: [u8; 2]| (r[0]..=r[1]).contains(&v);
            let known = p.cipher_hashes.contains(&ja4.cipher_hash);
            if !known && !in_range(ja4.cipher_count, p.cipher_counts) {
                add(
                    "tls_stack_mismatch",
                    true,
                    format!(
                        "{} cipher suites of another TLS library: {name}'s offers {}–{}",
                        ja4.cipher_count, p.cipher_counts[0], p.cipher_counts[1]
                    ),
                );
            }
            if !in_range(ja4.extension_count, p.extension_counts) {
                add(
                    "extension_count_mismatch",
                    false,
                    format!(
                        "{} TLS extensions: {name} sends {}–{}",
                        ja4.extension_count, p.extension_counts[0], p.extension_counts[1]
                    ),
                );
            }
        }
    }
    if input.http_version.as_deref().is_some_and(|v| v.starts_with('1')) {
        add(
            "http1_from_browser",
            false,
            format!(
                "HTTP/{} from {name}, which uses HTTP/2 or HTTP/3 here",
                input.http_version.as_deref().unwrap_or("1.1")
            ),
        );
    }
    if input.accept_language.as_deref().is_none_or(|l| l.trim().is_empty()) {
        add(
            "missing_accept_language",
            false,
            format!("no Accept-Language from {name}"),
        );
    }
    if claim.major >= p.fetch_metadata_since && !input.has_fetch_metadata {
        add(
            "missing_fetch_metadata",
            false,
            format!("no Sec-Fetch-* headers, which {name} {} always sends", claim.major),
        );
    }
    if !p.user_agent_first && input.header_order.first().map(String::as_str) == Some("user-agent") {
        add(
            "user_agent_first",
            false,
            format!("User-Agent is the first header: {name} never sends it first"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{EdgeRequest, RequestSource};

    const CHROME_156: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

    /// A request with these headers and viewer facts, in order.
    fn input(headers: &[(&str, &str)], ja4: &str, http: &str) -> ScoringInput {
        let mut h = http::HeaderMap::new();
        let mut order = Vec::new();
        for (k, v) in headers {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
            order.push(k.to_string());
        }
        h.insert("cloudfront-viewer-ja4-fingerprint", ja4.parse().unwrap());
        h.insert("cloudfront-viewer-http-version", http.parse().unwrap());
        h.insert("cloudfront-viewer-header-order", order.join(":").parse().unwrap());
        let req = EdgeRequest::new(
            RequestSource::CloudFront,
            http::Method::POST,
            "/t",
            "",
            h,
            vec![],
            false,
            None,
            None,
        );
        ScoringInput::from_request(&req, None, Some("page_view"))
    }

    /// What Chromium 156 sent through the local CloudFront (a `fetch` POST).
    fn chromium_156(ua: &str) -> ScoringInput {
        input(
            &[
                ("content-length", "101"),
                ("sec-ch-ua-platform", "\"Linux\""),
                ("user-agent", ua),
                ("sec-ch-ua", "\"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\""),
                ("content-type", "text/plain"),
                ("sec-ch-ua-mobile", "?0"),
                ("accept", "*/*"),
                ("origin", "http://127.0.0.1:8099"),
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "cors"),
                ("sec-fetch-dest", "empty"),
                ("referer", "http://127.0.0.1:8099/"),
                ("accept-encoding", "gzip, deflate, br, zstd"),
                ("accept-language", "en-US,en;q=0.9"),
                ("priority", "u=1, i"),
            ],
            "t13d1517h2_8daaf6152771_cb7bf5808d99",
            "2.0",
        )
    }

    fn check(i: &ScoringInput) -> Vec<(&'static str, bool)> {
        let ua = i.ua.as_ref().unwrap();
        let c = claim(ua).unwrap();
        contradictions(i, &c, &BrowsersConfig::default())
            .into_iter()
            .map(|c| (c.code, c.decisive))
            .collect()
    }

    #[test]
    fn a_real_chromium_contradicts_nothing() {
        assert_eq!(check(&chromium_156(CHROME_156)), []);
    }

    #[test]
    fn curl_and_python_under_a_chrome_user_agent_are_decisively_not_chromium() {
        // curl 7.88 over HTTP/2 and python-requests, as measured through the local CloudFront.
        let curl = input(
            &[
                ("user-agent", CHROME_156),
                ("accept", "*/*"),
                ("content-type", "application/json"),
            ],
            "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
            "2.0",
        );
        let found = check(&curl);
        assert!(found.contains(&("tls_stack_mismatch", true)), "{found:?}");
        let ua = curl.ua.as_ref().unwrap();
        assert!(
            BrowsersConfig::default().expects_client_hints(&claim(ua).unwrap()),
            "the missing client hints are the headless component's"
        );
        assert!(found.contains(&("user_agent_first", false)));
        let python = input(
            &[
                ("host", "localhost"),
                ("user-agent", CHROME_156),
                ("accept-encoding", "gzip"),
            ],
            "t13d1812h1_85036bcba153_b26ce05bbdd6",
            "1.1",
        );
        let found = check(&python);
        assert!(
            found.contains(&("alpn_mismatch", true)) && found.contains(&("tls_stack_mismatch", true)),
            "{found:?}"
        );
        assert!(found.contains(&("http1_from_browser", false)));
    }

    #[test]
    fn a_newer_version_than_measured_is_never_decisive() {
        let ua = CHROME_156.replace("Chrome/156", "Chrome/190");
        let curl = input(&[("user-agent", &ua)], "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6", "2.0");
        assert!(check(&curl).iter().all(|(_, decisive)| !decisive));
    }

    /// A release from before the family's TLS 1.3 on a TLS 1.2 handshake (KaiOS's Gecko 48)
    /// is not compared with the TLS 1.3 profile; a 1.3 handshake under the same claim is.
    #[test]
    fn a_pre_tls13_release_on_tls12_is_not_held_to_the_tls13_stack() {
        let kaios = "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5";
        let headers = [("user-agent", kaios), ("accept", "*/*"), ("accept-language", "en-US")];
        let tls12 = input(&headers, "t12d1411h2_2b729b4bf6f3_a8ec9b5a2a55", "2.0");
        assert!(
            check(&tls12).iter().all(|(_, decisive)| !decisive),
            "{:?}",
            check(&tls12)
        );
        let curl = input(&headers, "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6", "2.0");
        assert!(
            check(&curl).contains(&("tls_stack_mismatch", true)),
            "{:?}",
            check(&curl)
        );
    }

    #[test]
    fn families_and_forms_of_user_agents() {
        let c = |ua: &str| claim(&UserAgent::parse(ua)).map(|c| (c.family, c.form));
        assert_eq!(c(CHROME_156), Some((Family::Chromium, Form::Desktop)));
        assert_eq!(
            c("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.153 Mobile/15E148 Safari/604.1"),
            Some((Family::Safari, Form::Mobile)),
            "Chrome on iOS uses Apple's stack"
        );
        assert_eq!(
            c("Mozilla/5.0 (Linux; Android 9; Pixel Build/PQ3A.190801.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/77.0.3865.73 Mobile Safari/537.36"),
            Some((Family::Chromium, Form::Webview))
        );
        assert_eq!(
            c("Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0"),
            Some((Family::Firefox, Form::Desktop))
        );
        assert_eq!(
            c("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"),
            None,
            "WebKitGTK is not Apple's stack"
        );
    }

    #[test]
    fn browser_ja4s_are_recognized_by_their_cipher_set() {
        let b = BrowsersConfig::default();
        let f = |j: &str| b.family_of_ja4(&Ja4::parse(j).unwrap());
        assert_eq!(f("t13d1517h2_8daaf6152771_cb7bf5808d99"), Some(Family::Chromium));
        assert_eq!(f("t13d1617h2_86a278354501_3cbfd9057e0d"), Some(Family::Firefox));
        assert_eq!(f("t13d2014h2_a09f3c656075_14788d8d241b"), Some(Family::Safari));
        assert_eq!(f("t13d3112h2_e8f1e7e78f70_b26ce05bbdd6"), None);
        assert_eq!(f("t13d1812h1_85036bcba153_b26ce05bbdd6"), None);
    }
}
