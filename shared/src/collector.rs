#![doc = include_str!("docs/collector.md")]

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
