//! Reading a JSON request body: size, truncation, content type, UTF-8 and JSON syntax, each
//! with its own error so the entrypoint can answer the precise 4xx.

use serde::de::DeserializeOwned;

/// Why a request body could not be read as the expected JSON document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// The body is longer than the configured limit (bytes).
    #[error("the body is {actual} bytes; the limit is {limit} bytes")]
    TooLarge { limit: usize, actual: usize },
    /// CloudFront truncated the body before handing it to the function.
    #[error("the body was truncated by CloudFront before it reached the function")]
    Truncated,
    /// No `Content-Type` header on a request that needs a body.
    #[error("a Content-Type header is required (application/json or text/plain)")]
    MissingContentType,
    /// A `Content-Type` other than JSON or plain text.
    #[error("unsupported Content-Type {0:?}; send application/json or text/plain")]
    UnsupportedContentType(String),
    /// The body is empty.
    #[error("the body is empty; a JSON object is required")]
    Empty,
    /// The body is not UTF-8; `valid_up_to` is the byte offset of the first bad byte.
    #[error("the body is not valid UTF-8 (first invalid byte at offset {valid_up_to})")]
    InvalidUtf8 { valid_up_to: usize },
    /// The body is not syntactically valid JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    MalformedJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid JSON that does not have the expected shape (unknown field, wrong type, …).
    #[error("{message}")]
    Shape { message: String },
    /// A number that is not zero yet reads below the smallest DynamoDB stores (1e-130), at
    /// `path`: `1e-400` would otherwise be stored as 0 ([`super::json::underflowing_number`]).
    #[error("{path} has a magnitude below 1e-130, the smallest number DynamoDB stores")]
    Underflow { path: String },
}

/// Checks a body's size, truncation, content type and encoding, then parses it as `T`.
///
/// `content_type` is the request's `Content-Type` header, if any; JSON and `text/plain` (what
/// `navigator.sendBeacon` sends for a string) are accepted.
///
/// # Errors
/// The first [`BodyError`] that applies, in the order above.
pub fn parse_json_body<T: DeserializeOwned>(
    body: &[u8],
    truncated: bool,
    content_type: Option<&str>,
    limit: usize,
) -> Result<T, BodyError> {
    if truncated {
        return Err(BodyError::Truncated);
    }
    if body.len() > limit {
        return Err(BodyError::TooLarge {
            limit,
            actual: body.len(),
        });
    }
    let ct = content_type.ok_or(BodyError::MissingContentType)?;
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !(mime == "application/json" || mime == "text/plain" || mime.ends_with("+json")) {
        return Err(BodyError::UnsupportedContentType(ct.to_string()));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Empty);
    }
    let text = std::str::from_utf8(body).map_err(|e| BodyError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    // serde reads a struct from a JSON array too (positionally); only objects are documents.
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<serde_json::Value>(text) {
            Err(e) => malformed(&e),
            Ok(_) => BodyError::Shape {
                message: "the body must be a JSON object".to_string(),
            },
        });
    }
    let parsed = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => BodyError::Shape { message: e.to_string() },
        _ => malformed(&e),
    })?;
    match super::json::underflowing_number(text) {
        Some(path) => Err(BodyError::Underflow { path }),
        None => Ok(parsed),
    }
}

fn malformed(e: &serde_json::Error) -> BodyError {
    BodyError::MalformedJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        a: u32,
    }

    fn parse(body: &[u8], ct: Option<&str>) -> Result<Doc, BodyError> {
        parse_json_body(body, false, ct, 64)
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let json = Some("application/json");
        assert!(parse(br#"{"a":1}"#, json).is_ok());
        assert!(parse(br#"{"a":1}"#, Some("text/plain;charset=UTF-8")).is_ok());
        assert_eq!(
            parse_json_body::<Doc>(b"{}", true, json, 64).unwrap_err(),
            BodyError::Truncated
        );
        assert_eq!(
            parse(&[b' '; 65], json).unwrap_err(),
            BodyError::TooLarge { limit: 64, actual: 65 }
        );
        assert_eq!(parse(br#"{"a":1}"#, None).unwrap_err(), BodyError::MissingContentType);
        assert!(matches!(
            parse(br#"{"a":1}"#, Some("application/x-www-form-urlencoded")),
            Err(BodyError::UnsupportedContentType(_))
        ));
        assert_eq!(parse(b"  ", json).unwrap_err(), BodyError::Empty);
        assert_eq!(
            parse(b"{\"a\":\xff}", json).unwrap_err(),
            BodyError::InvalidUtf8 { valid_up_to: 5 }
        );
        assert!(matches!(parse(b"{\"a\":", json), Err(BodyError::MalformedJson { .. })));
        assert!(matches!(parse(br#"{"a":1,"b":2}"#, json), Err(BodyError::Shape { .. })));
        assert!(matches!(parse(br#"[1]"#, json), Err(BodyError::Shape { .. })));
    }
}
