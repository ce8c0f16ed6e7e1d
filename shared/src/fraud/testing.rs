//! What the components' tests share: a clean Chrome request to change a header of, and the
//! assessment of a request under the default configuration.

use super::*;
use crate::http::{EdgeRequest, RequestSource};

pub const CHROME_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub const CHROME_JA4: &str = "t13d1516h2_8daaf6152771_02713d6af862";
pub const PYTHON_JA4: &str = "t13d181000_85036bcba153_d41ae481755e";

/// A current Chrome's request as CloudFront forwards it, `extra` replacing its headers (an
/// empty value removes one).
pub fn chrome_request(extra: &[(&str, &str)]) -> EdgeRequest {
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

/// The assessment of `req` with `signals` as a page view, under the default configuration.
pub fn assessed(req: &EdgeRequest, signals: Option<ClientSignals>) -> RiskAssessment {
    assess(
        &ScoringInput::from_request(req, signals, Some("page_view")),
        &FraudConfig::default(),
    )
}

/// Asserts that `layer` finds `code` (with points) when `headers` change the clean request
/// and the script sends `signals`.
pub fn finds(headers: &[(&str, &str)], signals: Option<ClientSignals>, layer: &str, code: &str) {
    let a = assessed(&chrome_request(headers), signals);
    let c = &a.breakdown[layer];
    assert!(
        c.reasons.iter().any(|r| r.code == code),
        "{layer}/{code}: {:?}",
        a.breakdown
    );
    assert!(c.score > 0.0, "{layer}/{code}");
}

/// What a server forwards of its end user: User-Agent, language, address.
pub struct Forwarded {
    pub ip: std::net::IpAddr,
    pub user_agent: String,
    pub accept_language: Option<String>,
}

/// The scoring input of an end user a server forwarded.
pub fn end_user(f: Forwarded, event_name: Option<&str>) -> ScoringInput {
    ScoringInput::end_user(
        Some(f.user_agent),
        f.accept_language,
        Some(f.ip),
        None,
        event_name.map(str::to_string),
    )
}

pub fn forwarded(ua: &str, lang: Option<&str>) -> Forwarded {
    Forwarded {
        ip: "203.0.113.7".parse().unwrap(),
        user_agent: ua.to_string(),
        accept_language: lang.map(str::to_string),
    }
}
