//! The fuzz targets' bodies: each takes arbitrary bytes and runs one parser of what clients,
//! CloudFront, Lambda or the table hand us, as the functions run it. None may panic, whatever
//! the bytes; each only returns.
//!
//! The `cargo fuzz` targets in `fuzz/` call these (built without the `io` feature, so no AWS
//! SDK is compiled with instrumentation), and a unit test runs every committed seed and
//! every regression input (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`) through them,
//! so a crash once found stays fixed. [`TARGETS`] lists them by name.

use std::net::IpAddr;

use crate::behavior::token;
use crate::event::body::parse_json_body;
use crate::event::{CampaignPayload, PixelParams, TrackPayload};
use crate::fraud::{ja4, ScoringInput};
use crate::http::cloudfront::{CloudFrontEvent, CloudFrontResponse};
use crate::http::function_url::{self, FunctionUrlResponse};
use crate::http::{EdgeRequest, RequestSource, ViewerMetadata};
use crate::identity::domainprint::DomainprintKeys;
use crate::processor::record::decode_batch;
use crate::processor::webhook_signature::WebhookSecret;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target: its name (the file name under `fuzz/fuzz_targets/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("cloudfront_event", cloudfront_event),
    ("function_url_event", function_url_event),
    ("track_payload", track_payload),
    ("pixel_query", pixel_query),
    ("ja4", ja4_fingerprint),
    ("viewer_headers", viewer_headers),
    ("stream_record", stream_record),
    ("collector_token", collector_token),
    ("webhook_secret", webhook_secret),
    ("domainprint", domainprint),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A CloudFront origin-request event → request (and an answer back to CloudFront's shape).
pub fn cloudfront_event(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(ev) = serde_json::from_str::<CloudFrontEvent>(t) {
        if let Ok(req) = ev.into_edge_request() {
            let _ = ScoringInput::from_request(&req, None, Some("page_view"));
            let resp = crate::http::EdgeResponse {
                status: 200,
                headers: vec![("X-Path".into(), req.path.clone())],
                body: req.body.clone(),
            };
            let _ = CloudFrontResponse::from(resp);
        }
    }
}

/// A Function URL (payload format 2.0) event → request (and an answer in its shape).
pub fn function_url_event(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(req) = function_url::parse(t) {
        let _ = req.query_pairs();
        let _ = req.cookie("_impdp");
        let _ = FunctionUrlResponse::from(crate::http::EdgeResponse {
            status: 400,
            headers: vec![("Set-Cookie".into(), "a=b".into())],
            body: req.body,
        });
    }
}

/// A `/t` body and a `/c` body: the body checks, then every field rule.
pub fn track_payload(data: &[u8]) {
    if let Ok(p) = parse_json_body::<TrackPayload>(data, false, Some("application/json"), 32 * 1024) {
        let _ = p.validate();
    }
    if let Ok(p) = parse_json_body::<CampaignPayload>(data, false, Some("text/plain"), 32 * 1024) {
        let _ = p.validate();
    }
}

/// The pixel's query string.
pub fn pixel_query(data: &[u8]) {
    let Some(q) = text(data) else { return };
    let req = EdgeRequest::new(
        RequestSource::FunctionUrl,
        ::http::Method::GET,
        "/p.gif",
        q,
        ::http::HeaderMap::new(),
        Vec::new(),
        false,
        None,
        None,
    );
    let _ = PixelParams(req.query_pairs()).validate();
}

/// A JA4 string.
pub fn ja4_fingerprint(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = ja4::Ja4::parse(t);
    }
}

/// Headers as CloudFront would add them (`name: value` lines) → viewer metadata and the
/// scoring input built from them.
pub fn viewer_headers(data: &[u8]) {
    let mut headers = ::http::HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(n), Ok(v)) = (
            ::http::HeaderName::from_bytes(name),
            ::http::HeaderValue::from_bytes(value.trim_ascii()),
        ) {
            headers.append(n, v);
        }
    }
    let _ = ViewerMetadata::from_headers(&headers);
    let req = EdgeRequest::new(
        RequestSource::CloudFront,
        ::http::Method::POST,
        "/t",
        "",
        headers,
        Vec::new(),
        false,
        Some(IpAddr::from([192, 0, 2, 1])),
        None,
    );
    let _ = ScoringInput::from_request(&req, None, Some("login"));
}

/// A DynamoDB Streams batch → the events the processor works on.
pub fn stream_record(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = decode_batch(&v);
    }
}

/// A collector token as `/t` receives it.
pub fn collector_token(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = token::check(
            b"fuzz-collector-secret",
            t,
            "org_fuzz",
            1_795_000_000_000,
            4 * 3_600_000,
        );
    }
}

/// A webhook secret as an organization's configuration holds it.
pub fn webhook_secret(data: &[u8]) {
    if let Some(t) = text(data) {
        let _ = WebhookSecret::parse(t);
    }
}

/// A presented domainprint.
pub fn domainprint(data: &[u8]) {
    static KEYS: std::sync::OnceLock<DomainprintKeys> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(DomainprintKeys::ephemeral);
    if let Some(t) = text(data) {
        let _ = keys.verify("org_fuzz", t, 1_795_000_000_000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seed and regression input of every target, through its body: none panics.
    #[test]
    fn the_committed_corpora_pass_through_every_target() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut ran = 0;
        for (name, body) in TARGETS {
            assert!(
                root.join("fuzz_targets").join(format!("{name}.rs")).is_file(),
                "no fuzz target file for {name}"
            );
            let mut seeds = 0;
            for dir in ["seeds", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                    continue;
                };
                for e in entries {
                    let path = e.unwrap().path();
                    body(&std::fs::read(&path).unwrap());
                    seeds += usize::from(dir == "seeds");
                    ran += 1;
                }
            }
            assert!(seeds > 0, "{name} has no seed in fuzz/seeds/{name}/");
        }
        assert!(ran >= TARGETS.len());
    }
}
