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
//! **Caching.** A bundle is the same for every visitor of an organization and plan, so it is
//! served `public` with an `ETag` and CloudFront may keep it. What must not be shared — the
//! short-lived collector token, which is replay-checked — is not in the bundle: the script
//! fetches `/cookie-test?organizationId=…` (never cached) on load, which answers a fresh
//! token together with the first-party cookie test. Events wait for that answer (at most
//! 2 s); an event queued without a token gets the token of the page that sends it later.
//!
//! **Behavioral bundle** (`/h-pro.js`, the collector with `shared/assets/behavior.js`
//! inlined): pointer moves, path length and per-stroke straightness, keystroke intervals and
//! hold times (never which keys), scrolls, touches, focus changes, input events the page
//! dispatched itself (`isTrusted` false) and the time to the first interaction, sent as
//! `signals.interaction` (the headless layer reads it); and, once there is enough input
//! (10 keystrokes, 30 pointer moves or 5 touches), a coarse behavioral signature
//! `bh1.<habits>.<16 hex>`: typing cadence, key hold, pointer speed and input modality in a
//! few buckets each, hashed with the device's coarse class (screen, time zone, platform,
//! cores, first language) so that people with the same habits on different devices do not
//! share it. It is sent as `behavioralSignature`, the identity resolver's behavioral index.
//!
//! **Service worker** (pro and up, [`service_worker_script`]): a page whose script tag says
//! `data-sw="/impressio/sw.js"` registers that file — the organization's own, one line:
//! `importScripts("https://<tracker>/sw.js?organizationId=<org>")` — and hands it the events
//! it could not deliver; the worker keeps them in IndexedDB (at most 200) and delivers them
//! while it lives, on the next page, and through Background Sync after the pages are closed.

/// The collector's source, with `__ORG__`, `__DIGITAL_DATA__`, `__SERVICE_WORKER__` and
/// `/*__BEHAVIOR__*/` to fill in.
pub const COLLECTOR_SOURCE: &str = include_str!("../assets/collector.js");
/// The behavioral bundle's source.
pub const BEHAVIOR_SOURCE: &str = include_str!("../assets/behavior.js");
/// The service worker's source, with `__ORG__` to fill in.
pub const SERVICE_WORKER_SOURCE: &str = include_str!("../assets/sw.js");

const NO_BEHAVIOR: &str = "function behavior() { return null; }";

/// What a plan turns on in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFeatures {
    /// The behavioral bundle (`/h-pro.js`, pro and up).
    pub behavioral: bool,
    /// Sending the page's `window.digitalData` (starter and up), when it is an object of at
    /// most 8 KiB of JSON.
    pub digital_data: bool,
    /// Handing undelivered events to the page's first-party service worker (pro and up).
    pub service_worker: bool,
}

fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// The collector script for `organization_id` (already validated as a token, so it is safe
/// inside a JavaScript string literal) with the plan's `features`. The same for every
/// visitor (no token inside), so shared caches may keep it. Minified (see [`minify`]).
pub fn collector_script(organization_id: &str, features: ScriptFeatures) -> String {
    let org = js_string(organization_id);
    let flag = |on: bool| if on { "true" } else { "false" };
    let behavior = if features.behavioral {
        BEHAVIOR_SOURCE
    } else {
        NO_BEHAVIOR
    };
    minify(
        &COLLECTOR_SOURCE
            .replace("__ORG__", &org)
            .replace("__DIGITAL_DATA__", flag(features.digital_data))
            .replace("__SERVICE_WORKER__", flag(features.service_worker))
            .replace("/*__BEHAVIOR__*/", behavior),
    )
}

/// The service worker script of `organization_id` (`/sw.js`), minified: it accepts events
/// only for that organization's `/t` endpoint.
pub fn service_worker_script(organization_id: &str) -> String {
    minify(&SERVICE_WORKER_SOURCE.replace("__ORG__", &js_string(organization_id)))
}

/// A strong validator of a script's uncompressed bytes: the first 128 bits of their SHA-256,
/// hex, with `-gzip` appended for the gzip representation (a strong `ETag` names one
/// representation), quoted.
pub fn etag(script: &[u8], gzip: bool) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(script);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}{}\"", if gzip { "-gzip" } else { "" })
}

/// Whether an `If-None-Match` value names the script whose identity `ETag` is `etag`, in
/// either representation (weak comparison, as RFC 9110 asks of `If-None-Match`; `*` matches).
pub fn not_modified(if_none_match: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    if_none_match.split(',').any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
        tag == "*" || tag == bare || tag.strip_suffix("-gzip") == Some(bare)
    })
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
        service_worker: false,
    };
    const PRO: ScriptFeatures = ScriptFeatures {
        behavioral: true,
        digital_data: true,
        service_worker: true,
    };

    #[test]
    fn embeds_the_organization_and_the_bundle_it_was_asked_for() {
        let s = collector_script("org_demo", PLAIN);
        assert!(s.contains(r#"var ORG = "org_demo";"#));
        assert!(s.contains("function behavior() { return null; }"));
        assert!(!s.contains("__"), "every placeholder filled");
        assert!(s.starts_with("/*! Impressio collector"));
        assert!(s.contains("var DIGITAL_DATA = false;"));
        assert!(s.contains("var SERVICE_WORKER = false;"));
        let pro = collector_script("org_demo", PRO);
        assert!(pro.contains("var DIGITAL_DATA = true;"));
        assert!(pro.contains("var SERVICE_WORKER = true;"));
        assert!(pro.contains("keyIntervalMeanMs"));
        assert!(!pro.contains("function behavior() { return null; }"));
        let sw = super::service_worker_script("org_demo");
        assert!(sw.starts_with("/*! Impressio service worker"));
        assert!(sw.contains(r#"var ORG = "org_demo";"#) && !sw.contains("__"));
    }

    #[test]
    fn etags_name_one_representation_and_match_weakly() {
        use super::{etag, not_modified};
        let a = collector_script("org_demo", PLAIN);
        let b = collector_script("org_demo", PRO);
        let (ea, eg) = (etag(a.as_bytes(), false), etag(a.as_bytes(), true));
        assert_eq!(ea.len(), 34);
        assert_eq!(eg, format!("{}-gzip\"", &ea[..33]));
        assert_ne!(ea, etag(b.as_bytes(), false));
        assert!(not_modified(&ea, &ea));
        assert!(not_modified(&format!("W/{eg}"), &ea), "the gzip tag, weakly");
        assert!(not_modified(&format!("\"x\", {ea}"), &ea));
        assert!(not_modified("*", &ea));
        assert!(!not_modified(&etag(b.as_bytes(), false), &ea));
        assert!(!not_modified("", &ea));
    }

    #[test]
    fn minifying_keeps_code_and_drops_comment_lines() {
        let s = collector_script("org_demo", PRO);
        assert!(!s
            .lines()
            .any(|l| l.starts_with(' ') || l.trim_start().starts_with("//")));
        // The regular expression of the _ga cookie survives untouched.
        assert!(s.contains(r"/(?:^|;\s*)_ga=GA\d+\.\d+\.(\d+\.\d+)/"));
        assert!(s.len() < super::COLLECTOR_SOURCE.len() + super::BEHAVIOR_SOURCE.len());
    }
}
