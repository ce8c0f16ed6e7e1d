//! The internal request type that both Lambda event shapes become before any logic runs.

pub mod cloudfront;
pub mod function_url;
pub mod viewer;

use std::net::IpAddr;

pub use viewer::{DeviceFlags, TlsInfo, ViewerMetadata};

/// Most headers a request may carry (the edge answers more with `431`). A browser sends about
/// 20 and CloudFront adds about 30 viewer headers; a request far beyond that is not a
/// browser's, and each header costs parsing and memory.
pub const MAX_REQUEST_HEADERS: usize = 200;

/// A JSON error of an event's shape described without any of the event's text (a header's
/// value may be a credential): `missing field `…`` as serde says it (the field is one of our
/// types'), anything else by its kind and position.
pub fn input_free_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    if message.starts_with("missing field `") {
        return message;
    }
    let kind = match e.classify() {
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Eof => "truncated JSON",
        serde_json::error::Category::Io => "unreadable input",
        serde_json::error::Category::Data => "a value of the wrong type or form",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

/// A header name fit to appear in an error: a valid name of at most 64 characters, else
/// `a header` (a name is chosen by the client, but it is a name, never a value).
pub fn printable_header_name(name: &str) -> String {
    match ::http::HeaderName::from_bytes(name.as_bytes()) {
        Ok(n) if name.len() <= 64 => format!("the {} header", n.as_str()),
        _ => "a header".to_string(),
    }
}

/// Which Lambda event shape a request arrived in; the response goes back in the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RequestSource {
    /// A Lambda Function URL (API Gateway v2 payload format 2.0) request.
    #[serde(rename = "function_url")]
    FunctionUrl,
    /// A CloudFront origin-request event (`Records[0].cf.request`).
    #[serde(rename = "cloudfront")]
    CloudFront,
}

impl RequestSource {
    /// Stable name stored on events (`function_url` or `cloudfront`).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestSource::FunctionUrl => "function_url",
            RequestSource::CloudFront => "cloudfront",
        }
    }
}

/// One HTTP request as the edge function sees it, whatever event shape carried it.
#[derive(Debug, Clone)]
pub struct EdgeRequest {
    /// HTTP method (`GET`, `POST`, …).
    pub method: ::http::Method,
    /// Path without the query string, always starting with `/`.
    pub path: String,
    /// Raw query string without the leading `?` (still percent-encoded).
    pub query: String,
    /// Request headers (names are case-insensitive).
    pub headers: ::http::HeaderMap,
    /// Request body bytes, already base64-decoded when the event carried base64.
    pub body: Vec<u8>,
    /// True when CloudFront truncated the body (`inputTruncated`) before handing it over.
    pub body_truncated: bool,
    /// The viewer's IP address: `CloudFront-Viewer-Address` when present, else the address
    /// the event reports (CloudFront `clientIp`, Function URL `requestContext.http.sourceIp`).
    pub client_ip: Option<IpAddr>,
    /// CloudFront viewer metadata read from the `CloudFront-Viewer-*` headers.
    pub viewer: ViewerMetadata,
    /// The event shape the request arrived in.
    pub source: RequestSource,
    /// CloudFront's own request id (`x-amz-cf-id` header or the event's `config.requestId`).
    pub cloudfront_request_id: Option<String>,
}

impl EdgeRequest {
    /// Builds a request from its parts, deriving the viewer metadata from the headers and
    /// preferring the `CloudFront-Viewer-Address` IP over `event_ip`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: RequestSource,
        method: ::http::Method,
        path: &str,
        query: &str,
        headers: ::http::HeaderMap,
        body: Vec<u8>,
        body_truncated: bool,
        event_ip: Option<IpAddr>,
        cloudfront_request_id: Option<String>,
    ) -> Self {
        let viewer = ViewerMetadata::from_headers(&headers);
        let client_ip = viewer.address.map(|a| a.ip).or(event_ip);
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let cloudfront_request_id = cloudfront_request_id.or_else(|| header_str(&headers, "x-amz-cf-id"));
        EdgeRequest {
            method,
            path,
            query: query.trim_start_matches('?').to_string(),
            headers,
            body,
            body_truncated,
            client_ip,
            viewer,
            source,
            cloudfront_request_id,
        }
    }

    /// The value of a header as text, if present and valid visible ASCII.
    pub fn header(&self, name: &str) -> Option<String> {
        header_str(&self.headers, name)
    }

    /// The value of a header as text, with bytes that are not UTF-8 replaced; for headers
    /// such as `User-Agent` whose odd bytes are themselves worth keeping.
    pub fn header_lossy(&self, name: &str) -> Option<String> {
        header_text(&self.headers, name)
    }

    /// Decoded query parameters in order (percent-decoding; invalid UTF-8 replaced).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The value of a request cookie by name (from every `Cookie` header).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }
}

/// A header's value as text, trimmed; `None` when absent, empty or not visible ASCII.
pub fn header_str(headers: &::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A header's value as text, trimmed, non-UTF-8 bytes replaced; `None` when absent or empty.
pub fn header_text(headers: &::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Everything the handler answers, before it is put into the event shape of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers in order; a name may repeat (e.g. `Set-Cookie`).
    pub headers: Vec<(String, String)>,
    /// Response body bytes.
    pub body: Vec<u8>,
}

impl EdgeResponse {
    /// The first value of a response header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when the body is not text and must travel base64-encoded.
    pub fn is_binary(&self) -> bool {
        // A compressed body is bytes whatever its type.
        if self.header("content-encoding").is_some() {
            return !self.body.is_empty();
        }
        let ct = self.header("content-type").unwrap_or("");
        let text =
            ct.starts_with("text/") || ct.starts_with("application/json") || ct.starts_with("application/javascript");
        !text && !self.body.is_empty()
    }
}
