//! The collector scripts: `/h.js` for every plan, and `/h-pro.js` (pro and up), the same
//! collector with the behavioral bundle. Sources: `shared/assets/collector.js` and
//! `shared/assets/behavior.js`.
//!
//! On load the collector measures the fingerprint components — canvas, WebGL vendor and
//! renderer, offline audio, installed fonts (by measurement), screen and color depth, time
//! zone, languages, platform, hardware concurrency, device memory, touch support, storage
//! availability — and the automation and WebRTC signals the fraud layers read
//! (`navigator.webdriver`, plugins, languages, platform, ICE candidates). The fingerprint is a
//! 128-bit hash (32 hex characters) of the **stable** components only: not the window size,
//! storage availability, WebRTC candidates or anything time-dependent, which change between
//! visits of the same browser.
//!
//! It sends a `page_view` and exposes `window.impressio.track(name, properties)` (a Promise
//! of whether the event was stored), `identify(userId)` and `ready` (a Promise of
//! `{fingerprint, sent}`). Events are posted to `/t?organizationId=…` as `text/plain` JSON (a
//! CORS-safelisted request: no preflight) with credentials and `keepalive`, `sendBeacon`
//! where `fetch` is missing. An event that cannot be delivered (network error, 408, 429, 5xx)
//! is kept in `localStorage` (`_imp_q`, at most 50 events of at most 16 KB) and sent again
//! on the next page or when the browser comes back online; after further failures, after a
//! growing pause (2^(attempts-1) s, at most an hour). The endpoint is derived from the script's own URL, so the same script
//! works behind CloudFront and under `cargo lambda watch`'s `/lambda-url/<fn>/` prefix.
//!
//! The behavioral bundle counts pointer movement (and its path length in px), keystrokes and
//! the intervals between them (never which keys), scrolls, touches and focus changes, and
//! sends the running summary as `properties.behavior` with every event.

/// The collector's source, with `__ORG__`, `__TOKEN__` and `/*__BEHAVIOR__*/` to fill in.
pub const COLLECTOR_SOURCE: &str = include_str!("../assets/collector.js");
/// The behavioral bundle's source.
pub const BEHAVIOR_SOURCE: &str = include_str!("../assets/behavior.js");

const NO_BEHAVIOR: &str = "function behavior() { return null; }";

/// What a plan turns on in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFeatures {
    /// The behavioral bundle (`/h-pro.js`, pro and up).
    pub behavioral: bool,
    /// Sending the page's `window.digitalData` (starter and up), when it is an object of at
    /// most 8 KiB of JSON.
    pub digital_data: bool,
}

/// The collector script for `organization_id` (already validated as a token, so it is safe
/// inside a JavaScript string literal) with the plan's `features`; `token` is the signed
/// collector token the script sends with its events. Minified (see [`minify`]).
pub fn collector_script(organization_id: &str, features: ScriptFeatures, token: Option<&str>) -> String {
    let org = serde_json::to_string(organization_id).unwrap_or_else(|_| "\"\"".to_string());
    let token = token
        .and_then(|t| serde_json::to_string(t).ok())
        .unwrap_or_else(|| "null".to_string());
    let behavior = if features.behavioral {
        BEHAVIOR_SOURCE
    } else {
        NO_BEHAVIOR
    };
    minify(
        &COLLECTOR_SOURCE
            .replace("__ORG__", &org)
            .replace("__TOKEN__", &token)
            .replace("__DIGITAL_DATA__", if features.digital_data { "true" } else { "false" })
            .replace("/*__BEHAVIOR__*/", behavior),
    )
}

/// A conservative minifier for our own scripts: drops indentation, blank lines and lines that
/// are only a `//` comment (the sources keep comments on lines of their own, so no string or
/// regular expression is touched), and keeps the `/*! … */` banner.
pub fn minify(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        out.push_str(t);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{collector_script, ScriptFeatures};

    const PLAIN: ScriptFeatures = ScriptFeatures {
        behavioral: false,
        digital_data: false,
    };
    const PRO: ScriptFeatures = ScriptFeatures {
        behavioral: true,
        digital_data: true,
    };

    #[test]
    fn embeds_the_organization_and_the_bundle_it_was_asked_for() {
        let s = collector_script("org_demo", PLAIN, Some("v1.org_demo.1.ab.sig"));
        assert!(s.contains(r#"var TOKEN = "v1.org_demo.1.ab.sig";"#));
        assert!(s.contains(r#"var ORG = "org_demo";"#));
        assert!(s.contains("function behavior() { return null; }"));
        assert!(!s.contains("__ORG__") && !s.contains("__BEHAVIOR__"));
        assert!(s.starts_with("/*! Impressio collector"));
        assert!(s.contains("var DIGITAL_DATA = false;"));
        let pro = collector_script("org_demo", PRO, None);
        assert!(pro.contains("var DIGITAL_DATA = true;"));
        assert!(pro.contains("var TOKEN = null;"));
        assert!(pro.contains("key_interval_mean_ms"));
        assert!(!pro.contains("function behavior() { return null; }"));
    }

    #[test]
    fn minifying_keeps_code_and_drops_comment_lines() {
        let s = collector_script("org_demo", PRO, None);
        assert!(!s
            .lines()
            .any(|l| l.starts_with(' ') || l.trim_start().starts_with("//")));
        // The regular expression of the _ga cookie survives untouched.
        assert!(s.contains(r"/(?:^|;\s*)_ga=GA\d+\.\d+\.(\d+\.\d+)/"));
        assert!(s.len() < super::COLLECTOR_SOURCE.len());
    }
}
