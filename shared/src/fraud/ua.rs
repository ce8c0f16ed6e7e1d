//! What a User-Agent claims: browser family and version (through the `woothee` parser),
//! the engine whose TLS and header behavior a request must then show, mobile / webview /
//! headless markers, and whether it is a known crawler (the vendored isbot list, or a browser
//! User-Agent with a product no browser sends; see [`super::crawlers`]), with the crawler
//! named.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

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

/// The parsed claims of a User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    /// Browser name as `woothee` reports it (`Chrome`, `Firefox`, `Safari`, …).
    pub name: String,
    /// `woothee` category: `pc`, `smartphone`, `mobilephone`, `appliance`, `crawler`, `misc`, `UNKNOWN`.
    pub category: String,
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
}

static UA_PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);
static CHROME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:Chrome|Chromium|HeadlessChrome)/(\d+)").expect("regex"));
static FIREFOX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"Firefox/(\d+)").expect("regex"));
static SAFARI_VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"Version/(\d+)").expect("regex"));
static IOS_VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"OS (\d+)[_.]\d").expect("regex"));
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
    /// Parses a User-Agent string.
    pub fn parse(ua: &str) -> UserAgent {
        let parsed = UA_PARSER.parse(ua);
        let (name, category) = parsed
            .as_ref()
            .map(|p| (p.name.to_string(), p.category.to_string()))
            .unwrap_or_else(|| ("UNKNOWN".into(), "UNKNOWN".into()));
        let ios = super::crawlers::ios(ua);
        let (engine, major) = if ios {
            (
                Engine::WebKit,
                first_number(&SAFARI_VERSION, ua)
                    .or_else(|| first_number(&IOS_VERSION, ua))
                    .unwrap_or(0),
            )
        } else if let Some(v) = first_number(&CHROME, ua) {
            (Engine::Blink, v)
        } else if let Some(v) = first_number(&FIREFOX, ua).filter(|_| ua.contains("Gecko/")) {
            (Engine::Gecko, v)
        } else if ua.contains("MSIE") || ua.contains("Trident/") {
            (Engine::Trident, 0)
        } else if ua.contains("Presto/") || ua.starts_with("Opera/") {
            (Engine::Presto, 0)
        } else if ua.contains("AppleWebKit/") && ua.contains("Macintosh") {
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
        UserAgent {
            name,
            category,
            engine,
            major,
            mobile: ua.contains("Mobile") || ua.contains("Android") || ios,
            webview: WEBVIEW.is_match(ua)
                || (ios && ua.contains("Mobile/") && !ua.contains("Safari/"))
                || (ua.contains("Macintosh")
                    && ua.contains("AppleWebKit/")
                    && !ua.contains("Safari/")
                    && !ua.contains("Chrome/")),
            headless: ua.contains("Headless"),
            bot,
        }
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
            assert!(crate::fraud::crawlers::ios(ua), "{ua}");
        }
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
