//! Lambda Function URL events (API Gateway HTTP API payload format 2.0) and their responses.
//!
//! The request is parsed with `aws_lambda_events`' `ApiGatewayV2httpRequest` and turned into
//! an [`EdgeRequest`] here, with an error for every input that cannot be a request — a body
//! marked `isBase64Encoded` that is not base64 among them (the conversion of `lambda_http`
//! panics on that one). The response follows the payload format 2.0 response shape of the
//! AWS Lambda Developer Guide ("Invoking Lambda function URLs": `statusCode`, `headers`,
//! `cookies`, `body`, `isBase64Encoded`): every `Set-Cookie` goes to `cookies`, other
//! repeated headers are joined with `, `.

use std::net::IpAddr;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use serde::Serialize;

use super::{EdgeRequest, EdgeResponse, RequestSource};

/// Why a Function URL event could not become an [`EdgeRequest`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FunctionUrlError {
    /// The payload does not have the Function URL (payload format 2.0) shape.
    #[error("expected a Lambda Function URL (API Gateway v2) request or a CloudFront origin-request event: {0}")]
    Shape(String),
    /// `isBase64Encoded` is true and the body is not base64.
    #[error("the body is marked isBase64Encoded but is not valid base64: {0}")]
    InvalidBodyEncoding(String),
    /// A cookie of the `cookies` list cannot be part of a `Cookie` header.
    #[error("a cookie of the event's cookies list is not a valid header value")]
    InvalidCookie,
}

/// Parses a Function URL payload and turns it into the internal request type.
///
/// # Errors
/// [`FunctionUrlError`] for a payload of another shape, a body that is not the base64 it
/// claims, or an unusable cookie.
pub fn parse(payload: &str) -> Result<EdgeRequest, FunctionUrlError> {
    let event: ApiGatewayV2httpRequest = serde_json::from_str(payload).map_err(|e| shape_error(payload, &e))?;
    into_edge_request(event)
}

/// What is wrong with a payload that did not parse, without quoting it: the header whose
/// name or value cannot be an HTTP header (by name), else the JSON error's kind and position
/// ([`super::input_free_error`]). A header's value is never repeated: it may be a key.
fn shape_error(payload: &str, e: &serde_json::Error) -> FunctionUrlError {
    let headers = serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v.get("headers").and_then(|h| h.as_object().cloned()));
    for (name, value) in headers.iter().flatten() {
        if ::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return FunctionUrlError::Shape("a header name is not a valid HTTP header name".into());
        }
        let valid = value.as_str().is_some_and(|v| ::http::HeaderValue::from_str(v).is_ok());
        if !valid {
            return FunctionUrlError::Shape(format!(
                "{}'s value is not a valid HTTP header value",
                super::printable_header_name(name)
            ));
        }
    }
    FunctionUrlError::Shape(super::input_free_error(e))
}

/// Turns a parsed Function URL request into the internal request type: the raw path (the
/// context's path when it is missing), the raw query string, the headers with the `cookies`
/// list as one `Cookie` header, the body decoded, and the source IP.
///
/// # Errors
/// As [`parse`].
pub fn into_edge_request(event: ApiGatewayV2httpRequest) -> Result<EdgeRequest, FunctionUrlError> {
    let http = &event.request_context.http;
    let path = event
        .raw_path
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| http.path.clone())
        .unwrap_or_else(|| "/".to_string());
    let body = match event.body {
        None => Vec::new(),
        Some(b) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|e| FunctionUrlError::InvalidBodyEncoding(e.to_string()))?,
        Some(b) => b.into_bytes(),
    };
    let mut headers = event.headers;
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        let joined = cookies.join("; ");
        let value = ::http::HeaderValue::from_str(&joined).map_err(|_| FunctionUrlError::InvalidCookie)?;
        headers.insert(::http::header::COOKIE, value);
    }
    let source_ip = http.source_ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
    Ok(EdgeRequest::new(
        RequestSource::FunctionUrl,
        http.method.clone(),
        &path,
        event.raw_query_string.as_deref().unwrap_or(""),
        headers,
        body,
        false,
        source_ip,
        None,
    ))
}

/// A Function URL response (payload format 2.0).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUrlResponse {
    pub status_code: u16,
    /// Lowercase header name → value (repeated headers joined with `, `).
    pub headers: std::collections::BTreeMap<String, String>,
    /// `Set-Cookie` values; always present, even empty (readers of the payload format 2.0
    /// response, `aws_lambda_events` among them, require the field).
    pub cookies: Vec<String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl From<EdgeResponse> for FunctionUrlResponse {
    fn from(resp: EdgeResponse) -> Self {
        let binary = resp.is_binary();
        let mut headers = std::collections::BTreeMap::<String, String>::new();
        let mut cookies = Vec::new();
        for (name, value) in resp.headers {
            let name = name.to_ascii_lowercase();
            if name == "set-cookie" {
                cookies.push(value);
                continue;
            }
            headers
                .entry(name)
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        let body = if binary {
            base64::engine::general_purpose::STANDARD.encode(&resp.body)
        } else {
            String::from_utf8_lossy(&resp.body).into_owned()
        };
        FunctionUrlResponse {
            status_code: resp.status,
            headers,
            cookies,
            body,
            is_base64_encoded: binary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(extra: serde_json::Value) -> String {
        let mut v = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/t", "rawQueryString": "a=1&b=2",
            "cookies": ["_impdp=abc", "_ga=GA1.1.1.2"],
            "headers": {"content-type": "application/json", "user-agent": "Mozilla/5.0 Caf\u{e9}"},
            "requestContext": {"http": {"method": "POST", "path": "/t", "sourceIp": "203.0.113.9"}},
            "body": "{\"a\":1}", "isBase64Encoded": false
        });
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v.to_string()
    }

    #[test]
    fn converts_path_query_cookies_body_and_address() {
        let req = parse(&event(serde_json::json!({}))).unwrap();
        assert_eq!(req.method, ::http::Method::POST);
        assert_eq!((req.path.as_str(), req.query.as_str()), ("/t", "a=1&b=2"));
        assert_eq!(req.cookie("_impdp").as_deref(), Some("abc"));
        assert_eq!(req.cookie("_ga").as_deref(), Some("GA1.1.1.2"));
        assert_eq!(req.body, br#"{"a":1}"#);
        assert_eq!(req.client_ip.unwrap().to_string(), "203.0.113.9");
        assert_eq!(req.header_lossy("user-agent").as_deref(), Some("Mozilla/5.0 Caf\u{e9}"));
        assert_eq!(req.source, RequestSource::FunctionUrl);
        let b64 = parse(&event(
            serde_json::json!({"body": "eyJhIjoxfQ==", "isBase64Encoded": true}),
        ))
        .unwrap();
        assert_eq!(b64.body, br#"{"a":1}"#);
    }

    #[test]
    fn bad_base64_and_other_shapes_are_errors_not_panics() {
        assert!(matches!(
            parse(&event(
                serde_json::json!({"body": "%%% not base64", "isBase64Encoded": true})
            )),
            Err(FunctionUrlError::InvalidBodyEncoding(_))
        ));
        assert!(matches!(parse(r#"{"hello": 1}"#), Err(FunctionUrlError::Shape(_))));
        assert!(matches!(parse("[1, 2]"), Err(FunctionUrlError::Shape(_))));
        let bad_method = event(serde_json::json!({"requestContext": {"http": {"method": "BAD METHOD"}}}));
        assert!(matches!(parse(&bad_method), Err(FunctionUrlError::Shape(_))));
        assert_eq!(
            parse(&event(serde_json::json!({"cookies": ["a=\u{1}"]}))).unwrap_err(),
            FunctionUrlError::InvalidCookie
        );
    }

    #[test]
    fn responses_put_cookies_apart_and_binary_bodies_in_base64() {
        let r = FunctionUrlResponse::from(EdgeResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "image/gif".into()),
                ("Set-Cookie".into(), "a=1".into()),
                ("Set-Cookie".into(), "b=2".into()),
                ("Vary".into(), "Origin".into()),
                ("Vary".into(), "Accept-Encoding".into()),
            ],
            body: vec![0x47, 0x49, 0x46],
        });
        assert_eq!(r.cookies, ["a=1", "b=2"]);
        assert_eq!(r.headers["vary"], "Origin, Accept-Encoding");
        assert!(!r.headers.contains_key("set-cookie"));
        assert!(r.is_base64_encoded);
        assert_eq!(r.body, "R0lG");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["statusCode"], 200);
        assert_eq!(v["isBase64Encoded"], true);
    }
}
