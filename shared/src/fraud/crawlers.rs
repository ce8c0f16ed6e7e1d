//! Crawler User-Agents, in ways that do not age the same way:
//!
//! 1. **A maintained list**: the patterns of the npm package `isbot` (omrilotan/isbot, a list
//!    kept up to date by its maintainers and hundreds of contributors), vendored with its
//!    version and license in `shared/data/useragents/isbot-patterns.json` and refreshed by
//!    `scripts/update-bot-patterns.sh`. Case-insensitive, as isbot applies them; the few with
//!    lookaround (which the `regex` crate does not have) run through `fancy-regex`.
//! 2. **A browser User-Agent carrying a product token no browser sends**: a User-Agent that
//!    claims a browser engine (`Mozilla/5.0 … AppleWebKit … Chrome/…`) and adds a product of
//!    its own (`DatadogSynthetics`, `Playwright/1.40.0`, `Electron/39.8.5`, `CookieHubScan/3.0`)
//!    is unusual: an anomaly, monitored (apps and small browsers add their own; see
//!    [`super::evidence`]), never a block on its own. Browsers' own tokens — the
//!    engines', the browsers built on them (`Edg/`, `OPR/`, `SamsungBrowser/`, `YaBrowser/`, …)
//!    and those of TVs, consoles and phone makers' browsers — are [`BROWSER_TOKENS`]; in-app
//!    webviews (Facebook, Instagram, TikTok, Android `wv`, a macOS app's WKWebView, …), which
//!    append their app's own tokens, are exempt, and so is iOS ([`ios`]), where every browser
//!    is an app around Apple's WKWebView and many add their name (`BingSapphire/`, `GSA/`,
//!    `SA/`, …).
//!
//! **Automation** ([`automation_marker`]): the names of headless browsers and browser drivers
//! (`HeadlessChrome`, `PhantomJS`, `Playwright`, `Puppeteer`, `Selenium`, …) anywhere in the
//! User-Agent.

use std::sync::LazyLock;

/// The vendored list.
const PATTERNS: &str = include_str!("../../data/useragents/isbot-patterns.json");

#[derive(serde::Deserialize)]
struct PatternFile {
    version: String,
    patterns: Vec<String>,
}

struct Matcher {
    version: String,
    /// Every pattern without lookaround, in one case-insensitive alternation, with
    /// JavaScript's meaning of `\w`, `\d`, `\s` and `\b` (ASCII: isbot's patterns have the
    /// `i` flag, not `u`), on bytes. Unicode classes would multiply the automaton's states
    /// and make every non-matching browser User-Agent ten times slower.
    plain: regex::bytes::Regex,
    /// The patterns with lookaround, each behind a prefilter: the pattern without its
    /// lookarounds (which only narrow a match), run first by the fast engine. Backtracking
    /// through every User-Agent took 30 µs; the prefilters rule out almost all of them.
    lookaround: Vec<(regex::bytes::Regex, fancy_regex::Regex)>,
}

/// `pattern` without its lookaround groups (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`): a pattern
/// that matches wherever `pattern` does.
fn without_lookaround(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = |p: &str| p.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
        if ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|p| starts(p)) {
            // Skip to the matching parenthesis, minding escapes and classes.
            let (mut depth, mut in_class) = (0usize, false);
            while i < chars.len() {
                match chars[i] {
                    '\\' => i += 1,
                    '[' if !in_class => in_class = true,
                    ']' if in_class => in_class = false,
                    '(' if !in_class => depth += 1,
                    ')' if !in_class => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if chars[i] == '\\' {
            out.push(chars[i]);
            if let Some(n) = chars.get(i + 1) {
                out.push(*n);
            }
            i += 2;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A JavaScript pattern in the `regex` crate's syntax: inside a character class, JavaScript
/// reads a `-` next to a class escape (`[\w\d-.]`) as a literal, which `regex` refuses as a
/// range; it is escaped.
fn from_javascript(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let chars: Vec<char> = pattern.chars().collect();
    let (mut in_class, mut i) = (false, 0);
    let class_escape = |c: Option<&char>| matches!(c, Some('w' | 'W' | 'd' | 'D' | 's' | 'S'));
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.get(i + 1) {
                    out.push(*n);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '-' if in_class => {
                let after_escape = i >= 2 && chars[i - 2] == '\\' && class_escape(chars.get(i - 1));
                let before_escape = chars.get(i + 1) == Some(&'\\') && class_escape(chars.get(i + 2));
                if after_escape || before_escape {
                    out.push_str("\\-");
                    i += 1;
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let file: PatternFile = serde_json::from_str(PATTERNS).expect("the vendored isbot-patterns.json parses");
    let (around, plain): (Vec<&String>, Vec<&String>) = file
        .patterns
        .iter()
        .partition(|p| p.contains("(?<") || p.contains("(?!") || p.contains("(?="));
    let joined = plain
        .iter()
        .map(|p| format!("(?:{})", from_javascript(p)))
        .collect::<Vec<_>>()
        .join("|");
    Matcher {
        version: file.version,
        plain: regex::bytes::RegexBuilder::new(&joined)
            .case_insensitive(true)
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .expect("the vendored patterns compile"),
        lookaround: around
            .iter()
            .map(|p| {
                let js = from_javascript(p);
                let prefilter = regex::bytes::RegexBuilder::new(&without_lookaround(&js))
                    .case_insensitive(true)
                    .unicode(false)
                    .build()
                    .expect("the vendored lookaround patterns' prefilters compile");
                let full =
                    fancy_regex::Regex::new(&format!("(?i){js}")).expect("the vendored lookaround patterns compile");
                (prefilter, full)
            })
            .collect(),
    }
});

/// The vendored list's version (`isbot` on npm).
pub fn list_version() -> &'static str {
    &MATCHER.version
}

/// Whether the vendored list names `ua` a crawler.
pub fn on_list(ua: &str) -> bool {
    let m = &*MATCHER;
    m.plain.is_match(ua.as_bytes())
        || m.lookaround
            .iter()
            .any(|(prefilter, full)| prefilter.is_match(ua.as_bytes()) && full.is_match(ua).unwrap_or(false))
}

/// Product names browsers themselves put in their User-Agents, compared without case: the
/// engines' and the platform's tokens, the Chromium-, Gecko- and WebKit-based browsers'
/// (desktop, mobile, TV, console), and the phone makers' browsers. From the browsers' own
/// documentation of their User-Agent strings; anything else after a browser claim is a
/// program's own product.
pub const BROWSER_TOKENS: &[&str] = &[
    // Engines, platforms, the common form.
    "mozilla",
    "applewebkit",
    "gecko",
    "khtml",
    "like",
    "safari",
    "version",
    "mobile",
    "chrome",
    "chromium",
    "firefox",
    "webkit",
    "trident",
    "presto",
    "goanna",
    // Chromium-based.
    "edg",
    "edga",
    "edgios",
    "edge",
    "opr",
    "opx",
    "opt",
    "opios",
    "opera",
    "vivaldi",
    "yabrowser",
    "yasearchbrowser",
    "yaapp_android",
    "yaapp_ios",
    "samsungbrowser",
    "ucbrowser",
    "ucweb",
    "ubrowser",
    "whale",
    "miuibrowser",
    "xiaomi",
    "huaweibrowser",
    "heytapbrowser",
    "oppobrowser",
    "vivobrowser",
    "quark",
    "qqbrowser",
    "mqqbrowser",
    "baiduboxapp",
    "bdbrowser",
    "baidubrowser",
    "sogoumobilebrowser",
    "2345browser",
    "mb2345browser",
    "liebaofast",
    "maxthon",
    "mxbrowser",
    "coc_coc_browser",
    "avast",
    "avg",
    "ccleaner",
    "norton",
    "nortonbrowser",
    "herond",
    "brave",
    "duckduckgo",
    "ddg",
    "ecosia",
    "arc",
    "aloha",
    "kiwi",
    "silk",
    "puffin",
    "atom",
    "iron",
    "slimjet",
    "comodo_dragon",
    "dragon",
    "sleipnir",
    "qihoobrowser",
    "qhbrowser",
    "360se",
    "360ee",
    "lbbrowser",
    "metasr",
    "tencenttraveler",
    "theworld",
    "cent",
    "naver",
    "daumapps",
    "kakaotalk",
    "line",
    "gsa",
    "crios",
    "fxios",
    "focus",
    "klar",
    "waterfox",
    "palemoon",
    "seamonkey",
    "librewolf",
    "iceweasel",
    "icecat",
    "floorp",
    "mypal",
    "k-meleon",
    "basilisk",
    "epiphany",
    "midori",
    "falkon",
    "qtwebengine",
    "konqueror",
    "otter",
    "ya",
    "yowser",
    "sa",
    "sputnik",
    "nintendobrowser",
    // AOL Desktop Gold (Chromium); the Linux distributions' own builds ("Ubuntu Chromium/…").
    "adg",
    "aolbuild",
    "ubuntu",
    "fedora",
    "debian",
    // Devices, TVs, consoles, cars.
    "smart-tv",
    "smarttv",
    "tizen",
    "web0s",
    "webos",
    "webappmanager",
    "netcast",
    "hbbtv",
    "crkey",
    "aftb",
    "dmost",
    "playstation",
    "nintendo",
    "xbox",
    "xboxone",
    "tesla",
    "qtcarbrowser",
    "kaios",
    "vr",
    "oculusbrowser",
    "pico",
    "wolvic",
    "samsung",
    "lg",
    "sonydtv",
    "philipstv",
    "operatv",
    "vidaa",
    "dtv",
];

/// Names of headless browsers and browser drivers, compared without case.
pub const AUTOMATION_MARKERS: &[&str] = &[
    "headless",
    "phantomjs",
    "playwright",
    "puppeteer",
    "selenium",
    "webdriver",
    "cypress",
    "slimerjs",
    "nightmare",
    "zombie",
    "jsdom",
    "htmlunit",
    "testcafe",
    "splash",
    "browserless",
    "chrome-lighthouse",
];

/// HTTP libraries whose default User-Agent the vendored list does not name, compared without
/// case at the start of the User-Agent: Android's `HttpURLConnection` sends
/// `Dalvik/<VM version> (Linux; U; Android …)` (Android's `http.agent` system property), which
/// no browser or webview sends.
pub const LIBRARY_PREFIXES: &[&str] = &["dalvik/"];

/// The HTTP library `ua` is the default User-Agent of, if [`LIBRARY_PREFIXES`] names it.
pub fn library(ua: &str) -> Option<&'static str> {
    let lower = ua.trim_start().to_ascii_lowercase();
    LIBRARY_PREFIXES
        .iter()
        .copied()
        .find(|p| lower.starts_with(p))
        .map(|p| p.trim_end_matches('/'))
}

/// The automation marker `ua` names, if any.
pub fn automation_marker(ua: &str) -> Option<&'static str> {
    let lower = ua.to_ascii_lowercase();
    AUTOMATION_MARKERS.iter().copied().find(|m| lower.contains(m))
}

/// The product tokens of a User-Agent outside parentheses and brackets: the names before `/`
/// of `Name/version` and the bare words.
pub fn product_tokens(ua: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start: Option<usize> = None;
    for (i, c) in ua.char_indices().chain(std::iter::once((ua.len(), ' '))) {
        match c {
            '(' | '[' => {
                if depth == 0 {
                    if let Some(s) = start.take() {
                        out.push(&ua[s..i]);
                    }
                }
                depth += 1;
            }
            ')' | ']' => depth = (depth - 1).max(0),
            c if c.is_whitespace() || c == ',' || c == ';' => {
                if depth == 0 {
                    if let Some(s) = start.take() {
                        out.push(&ua[s..i]);
                    }
                }
            }
            _ => {
                if depth == 0 && start.is_none() {
                    start = Some(i);
                }
            }
        }
    }
    out.into_iter()
        .map(|t| t.split('/').next().unwrap_or(t))
        .filter(|t| !t.is_empty() && !t.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '_'))
        .collect()
}

/// The first product token of a browser User-Agent that no browser sends, if any.
pub fn foreign_token(ua: &str) -> Option<&str> {
    product_tokens(ua).into_iter().find(|t| {
        let lower = t.to_ascii_lowercase();
        !BROWSER_TOKENS.contains(&lower.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_the_vendored_isbot_list() {
        assert_eq!(list_version(), "5.2.3");
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.5.0",
            "python-requests/2.32.3",
            // A lookaround pattern: `(?<!cam)scan`.
            "Mozilla/5.0 (compatible; Nimbostratus-Bot/v1.3.2; http://cloudsystemnetworks.com) scanner",
        ] {
            assert!(on_list(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            // `(?<!cam)scan`: a camscanner is not a scanner bot.
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 camscanner",
        ] {
            assert!(!on_list(ua), "{ua}");
        }
    }

    #[test]
    fn lookarounds_are_removed_for_the_prefilter() {
        assert_eq!(without_lookaround(r"(?<!cam)scan"), "scan");
        assert_eq!(
            without_lookaround(r"(?<! channel/|google/)google(?!(?:wv|app|/google| pixel))"),
            "google"
        );
        assert_eq!(without_lookaround(r"(?:^|[^g])news(?!sapphire)"), "(?:^|[^g])news");
        assert_eq!(without_lookaround(r"java(?!;)"), "java");
        assert_eq!(without_lookaround(r"a(?=[)(])b\(c"), r"ab\(c");
    }

    #[test]
    fn javascript_classes_are_translated() {
        assert_eq!(from_javascript(r"[\w\d-.]+"), r"[\w\d\-.]+");
        assert_eq!(from_javascript(r"[a-z][\w-]+"), r"[a-z][\w\-]+");
        assert_eq!(from_javascript(r"[\w \.\-\(?:\):%]"), r"[\w \.\-\(?:\):%]");
        assert_eq!(from_javascript(r"a-b[0-9]"), r"a-b[0-9]");
    }

    #[test]
    fn product_tokens_outside_parentheses() {
        assert_eq!(
            product_tokens("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0 Safari/537.36 DatadogSynthetics"),
            ["Mozilla", "AppleWebKit", "Chrome", "Safari", "DatadogSynthetics"]
        );
        assert_eq!(
            product_tokens("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 [FBAN/EMA;FBLC/en_US;FBAV/1.0;]"),
            ["Mozilla", "AppleWebKit", "Chrome", "Mobile", "Safari"]
        );
    }

    #[test]
    fn foreign_tokens_are_found_and_browsers_own_are_not() {
        for (ua, token) in [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36 DatadogSynthetics", "DatadogSynthetics"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.28 Safari/537.36 Playwright/1.40.0", "Playwright"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) SomeApp/2.1 Chrome/142.0.7444.52 Electron/39.8.5 Safari/537.36", "SomeApp"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 CookieHubScan/3.0", "CookieHubScan"),
        ] {
            assert_eq!(foreign_token(ua), Some(token), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0",
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 YaBrowser/24.12.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.153 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ] {
            assert_eq!(foreign_token(ua), None, "{ua}");
        }
    }

    #[test]
    fn automation_is_named() {
        assert_eq!(
            automation_marker("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"),
            Some("headless")
        );
        assert_eq!(
            automation_marker("Mozilla/5.0 ... Playwright/1.40.0"),
            Some("playwright")
        );
        assert_eq!(
            automation_marker("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
            None
        );
    }
}
