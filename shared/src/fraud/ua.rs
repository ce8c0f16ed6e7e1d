//! What a User-Agent claims: browser family and OS (through uap-core's rules, the ua-parser
//! project's maintained regular expressions, vendored by `scripts/update-uap-regexes.sh`), the
//! engine whose TLS and header behavior a request must then show, mobile / webview / headless
//! markers, and whether it is a known crawler (the vendored isbot list, or Android's HTTP
//! library; see [`super::crawlers`]), with the crawler named.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use ua_parser::{os, user_agent};

/// The browser engine a User-Agent implies; it decides TLS stack and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Chromium (Chrome, Edge, Opera, Samsung Internet, … outside iOS).
    Blink,
    /// Firefox outside iOS.
    Gecko,
    /// Safari, and every browser on iOS / iPadOS (they must use WebKit).
    WebKit,
    /// Internet Explorer.
    Trident,
    /// Opera before 15.
    Presto,
    /// Anything else, or no recognizable browser.
    Other,
}

/// The family or OS uap-core gives a string none of its rules match.
pub const UNRECOGNIZED: &str = "Other";

/// The families uap-core names after an engine's own product token (`Chrome/`, `Firefox/`,
/// `Safari/`): a product token beside them is one the parser does not know. Any other family
/// is a browser or app the parser recognized by its own token.
pub const ENGINE_FAMILIES: &[&str] = &[
    "Chrome",
    "Chrome Mobile",
    "Chrome Mobile WebView",
    "Chromium",
    "HeadlessChrome",
    "Firefox",
    "Firefox Mobile",
    "Safari",
    "Mobile Safari",
    "Mobile Safari UI/WKWebView",
    UNRECOGNIZED,
];

/// The parsed claims of a User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    /// Browser or client family as uap-core names it (`Samsung Internet`, `UC Browser`, `Opera
    /// Mini`, `Facebook`, …; [`UNRECOGNIZED`] when no rule matches), looked up only when a
    /// decision reads it: a User-Agent not on the bot list whose engine we do not profile, or
    /// that carries a product token outside the browsers' own
    /// ([`super::crawlers::BROWSER_TOKENS`]); `None` otherwise.
    pub family: Option<String>,
    /// Operating system as uap-core names it (`iOS`, `Android`, `Mac OS X`, `Windows`, …);
    /// [`UNRECOGNIZED`] when no rule matches.
    pub os: String,
    pub engine: Engine,
    /// Major version of the engine's browser (Chrome/Firefox major, Safari `Version/` major).
    pub major: u32,
    pub mobile: bool,
    /// An in-app webview (Android `wv`, iOS WKWebView, Facebook / Instagram / … in-app).
    pub webview: bool,
    /// `HeadlessChrome` and the like.
    pub headless: bool,
    /// The crawler's name when the User-Agent matches the bot pattern list.
    pub bot: Option<String>,
    /// The first product token no browser sends ([`super::crawlers::foreign_token`]), looked up
    /// once here for a User-Agent off the bot list.
    pub foreign_token: Option<String>,
}

/// uap-core's rules as the script vendors them.
const UAP_RULES: &str = include_str!("../../data/useragents/uap-regexes.json");

#[derive(Deserialize)]
struct OsRules {
    version: String,
    os_parsers: Vec<os::Parser<'static>>,
}

#[derive(Deserialize)]
struct FamilyRules {
    user_agent_parsers: Vec<user_agent::Parser<'static>>,
}

/// The OS rules (197 in 0.18.0), read on every request (iOS decides the engine): about 12 ms
/// of regular-expression compilation, at the edge function's init ([`warm`]).
static OS: LazyLock<(String, os::Extractor<'static>)> = LazyLock::new(|| {
    let rules: OsRules = serde_json::from_str(UAP_RULES).expect("the vendored uap-core rules parse (tested)");
    let os = os::Builder::new()
        .push_all(rules.os_parsers)
        .map_err(ua_parser::Error::from)
        .and_then(|b| b.build().map_err(ua_parser::Error::from))
        .expect("the vendored uap-core OS rules compile (tested)");
    (rules.version, os)
});

/// The family rules (350), read only for a User-Agent whose engine we do not profile or that
/// carries a product token outside the browsers' own: about 30 ms of compilation, paid by the
/// first such request of a process rather than by every cold start (mainstream browsers never
/// need it). Figures: 2026-12-07, `cargo test --release -p impressio --lib uap_rules_compile --
/// --nocapture`.
static FAMILY: LazyLock<user_agent::Extractor<'static>> = LazyLock::new(|| {
    let rules: FamilyRules = serde_json::from_str(UAP_RULES).expect("the vendored uap-core rules parse (tested)");
    user_agent::Builder::new()
        .push_all(rules.user_agent_parsers)
        .and_then(|b| b.build().map_err(ua_parser::Error::from))
        .expect("the vendored uap-core family rules compile (tested)")
});

/// Compiles the OS rules now (a function's init), not on the first request.
pub fn warm() {
    LazyLock::force(&OS);
}

/// The vendored uap-core release.
pub fn rules_version() -> &'static str {
    &OS.0
}

/// uap-core's family of `ua`, [`UNRECOGNIZED`] when no rule matches.
pub fn family_of(ua: &str) -> String {
    FAMILY
        .extract(ua)
        .map_or(UNRECOGNIZED.to_string(), |f| f.family.to_string())
}

static CHROME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:Chrome|Chromium|HeadlessChrome)/(\d+)").expect("regex"));
static FIREFOX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"Firefox/(\d+)").expect("regex"));
static SAFARI_VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"Version/(\d+)").expect("regex"));
static WEBVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"; wv\)|WebView|FBAN/|FBAV/|FB_IAB|Instagram|Line/|MicroMessenger|GSA/|Twitter for|Snapchat|Pinterest/|musical_ly|BytedanceWebview|\[LinkedInApp\]").expect("regex")
});
/// A crawler's name: the product token carrying bot / spider / crawler / fetcher / …
static BOT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)([a-z0-9._-]*(?:bot|spider|crawl|slurp|fetch|scan|check|monitor|preview|archiver|validator)[a-z0-9._-]*)",
    )
    .expect("regex")
});

fn first_number(re: &Regex, ua: &str) -> Option<u32> {
    re.captures(ua)?.get(1)?.as_str().parse().ok()
}

impl UserAgent {
    /// Parses a User-Agent string: family and OS by uap-core's rules, the engine by the
    /// product token the family's engine carries (uap-core names no engines): every browser on
    /// iOS is WebKit (Apple's App Store rule), `Chrome/` is Blink, `Gecko/…Firefox/` is Gecko,
    /// `AppleWebKit/` on macOS is WebKit.
    pub fn parse(ua: &str) -> UserAgent {
        let os_match = OS.1.extract(ua);
        let os = os_match.as_ref().map_or(UNRECOGNIZED.to_string(), |o| o.os.to_string());
        let ios = os == "iOS";
        let ios_major = || os_match.as_ref().and_then(|o| o.major.as_deref()?.parse().ok());
        let (engine, major) = if ios {
            (
                Engine::WebKit,
                first_number(&SAFARI_VERSION, ua).or_else(ios_major).unwrap_or(0),
            )
        } else if let Some(v) = first_number(&CHROME, ua) {
            (Engine::Blink, v)
        } else if let Some(v) = first_number(&FIREFOX, ua).filter(|_| ua.contains("Gecko/")) {
            (Engine::Gecko, v)
        } else if ua.contains("MSIE") || ua.contains("Trident/") {
            (Engine::Trident, 0)
        } else if ua.contains("Presto/") || ua.starts_with("Opera/") {
            (Engine::Presto, 0)
        } else if ua.contains("AppleWebKit/") && os == "Mac OS X" {
            // Safari, or without `Safari/` the default User-Agent of a macOS app's WKWebView
            // (Mail, and any app showing web content).
            (Engine::WebKit, first_number(&SAFARI_VERSION, ua).unwrap_or(0))
        } else {
            (Engine::Other, 0)
        };
        let bot = if super::crawlers::on_list(ua) {
            Some(bot_name(ua))
        } else {
            super::crawlers::library(ua).map(|name| format!("{name} (Android's HTTP library)"))
        };
        let foreign_token = bot
            .is_none()
            .then(|| super::crawlers::foreign_token(ua).map(str::to_string))
            .flatten();
        let family = (bot.is_none() && (engine == Engine::Other || foreign_token.is_some())).then(|| family_of(ua));
        let mobile = ua.contains("Mobile") || os == "Android" || ios;
        let webview = WEBVIEW.is_match(ua)
            || (ios && ua.contains("Mobile/") && !ua.contains("Safari/"))
            || (os == "Mac OS X" && ua.contains("AppleWebKit/") && !ua.contains("Safari/") && !ua.contains("Chrome/"));
        UserAgent {
            family,
            os,
            engine,
            major,
            mobile,
            webview,
            headless: ua.contains("Headless"),
            bot,
            foreign_token,
        }
    }

    /// Whether the OS is Apple's iOS / iPadOS, by uap-core's OS rules (a model name such as
    /// `HiPad` on Android is not).
    pub fn ios(&self) -> bool {
        self.os == "iOS"
    }

    /// Whether the OS is one of Apple's (iOS, iPadOS, macOS).
    pub fn apple(&self) -> bool {
        self.ios() || self.os == "Mac OS X"
    }

    /// Whether uap-core recognized a browser or app by its own product token, rather than only
    /// by an engine's token ([`ENGINE_FAMILIES`]) or not at all.
    pub fn named_family(&self) -> bool {
        self.family.as_deref().is_some_and(|f| !ENGINE_FAMILIES.contains(&f))
    }
}

fn bot_name(ua: &str) -> String {
    if let Some(m) = BOT_NAME.captures(ua).and_then(|c| c.get(1)) {
        let name = m.as_str().trim_matches(|c: char| c == '.' || c == '-' || c == '_');
        if !name.is_empty() {
            return name.to_string();
        }
    }
    ua.split(['/', ' ', ';', '('])
        .find(|t| !t.is_empty() && !t.eq_ignore_ascii_case("mozilla"))
        .unwrap_or("unknown")
        .chars()
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_versions_and_markers() {
        let chrome = UserAgent::parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
        assert_eq!(
            (chrome.engine, chrome.major, chrome.mobile, chrome.bot.clone()),
            (Engine::Blink, 131, false, None)
        );
        let ff = UserAgent::parse("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
        assert_eq!((ff.engine, ff.major), (Engine::Gecko, 128));
        let crios = UserAgent::parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1");
        assert_eq!(crios.engine, Engine::WebKit, "every iOS browser is WebKit");
        let wv = UserAgent::parse("Mozilla/5.0 (Linux; Android 9; Pixel Build/PQ3A.190801.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/77.0.3865.73 Mobile Safari/537.36");
        assert!(wv.webview && wv.mobile);
        let headless = UserAgent::parse("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36");
        assert!(headless.headless);
        assert_eq!(headless.engine, Engine::Blink);
    }

    /// iOS is Apple's platform comment, not a model name: Android tablets called `HiPad` or
    /// `iPhone5` run Chrome's stack, and are not held to Safari's.
    #[test]
    fn ios_is_apples_form_not_a_model_name() {
        for ua in [
            "Mozilla/5.0 (Linux; Android 11; HiPad Max) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 4.1.5; iPhone5 Build/IMM76D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/29.0.1547.72 Mobile Safari/537.36",
        ] {
            assert_eq!(UserAgent::parse(ua).engine, Engine::Blink, "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1",
            "4 Pics 1 Word/3.9 (iPhone; iOS 7.0.2; Scale/2.00)",
        ] {
            assert!(UserAgent::parse(ua).ios(), "{ua}");
        }
    }

    /// The vendored rules compile, and how long that takes (run in release for the figure the
    /// static's comment quotes).
    #[test]
    fn uap_rules_compile() {
        let start = std::time::Instant::now();
        warm();
        let os = start.elapsed();
        let family =
            family_of("Mozilla/5.0 (Linux; U; Android 4.0.3) AppleWebKit/534.30 Version/4.0 Mobile Safari/534.30");
        println!(
            "uap-core {}: OS rules compiled in {os:?}, family rules in {:?}",
            rules_version(),
            start.elapsed() - os
        );
        assert_eq!(family, "Android");
    }

    /// The long tail of browsers is named by the parser, by their own tokens; their engines
    /// follow the product token, and iOS is what the OS rules say.
    #[test]
    fn the_long_tail_is_named() {
        for (ua, family, os, engine) in [
            ("Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30", "Android", "Android", Engine::Other),
            ("Mozilla/5.0 (Linux; U; Android 10; en-US; RMX1911 Build/QKQ1.200209.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36", "UC Browser", "Android", Engine::Blink),
            ("Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet", "Android", Engine::Blink),
            ("Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54", "Opera Mini", "Symbian OS", Engine::Presto),
            ("Mozilla/5.0 (Linux; Android 11; HiPad Max) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", "Android", Engine::Blink),
        ] {
            let p = UserAgent::parse(ua);
            assert_eq!((family_of(ua).as_str(), p.os.as_str(), p.engine), (family, os, engine), "{ua}");
        }
        let unknown = UserAgent::parse("Mozilla/5.0 (Nonexistent 1.0) Frobnicator/2");
        assert_eq!(
            (unknown.family.as_deref(), unknown.named_family()),
            (Some(UNRECOGNIZED), false)
        );
        let samsung = UserAgent::parse("Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36");
        assert_eq!(samsung.family, None, "a browser's own tokens need no family lookup");
    }

    #[test]
    fn crawlers_are_named() {
        let g = UserAgent::parse("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
        assert_eq!(g.bot.as_deref(), Some("Googlebot"));
        let a = UserAgent::parse("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)");
        assert_eq!(a.bot.as_deref(), Some("AhrefsBot"));
        let curl = UserAgent::parse("curl/8.5.0");
        assert_eq!(curl.bot.as_deref(), Some("curl"));
    }
}
