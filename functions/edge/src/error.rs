//! Everything a request can fail with, and the one place that picks its HTTP status.

use impressio::event::{BodyError, FieldError};
use impressio::http::cloudfront::CloudFrontError;
use impressio::store::StoreError;
use serde_json::json;

/// A request that could not be answered with success.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// The body could not be read (size, truncation, content type, UTF-8, JSON).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A field failed validation.
    #[error("invalid field {0}")]
    Field(#[from] FieldError),
    /// The route exists but not for this method; `allow` lists the methods it takes.
    #[error("method {method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: &'static str,
    },
    /// The Lambda event is not a shape this function accepts, or is malformed.
    #[error("malformed event: {0}")]
    MalformedEvent(String),
    /// The CloudFront event could not be turned into a request.
    #[error(transparent)]
    CloudFront(#[from] CloudFrontError),
    /// The event could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EdgeError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            EdgeError::Body(BodyError::TooLarge { .. } | BodyError::Truncated) => 413,
            EdgeError::Body(
                BodyError::MissingContentType | BodyError::UnsupportedContentType(_),
            ) => 415,
            EdgeError::Body(_)
            | EdgeError::Field(_)
            | EdgeError::MalformedEvent(_)
            | EdgeError::CloudFront(_) => 400,
            EdgeError::MethodNotAllowed { .. } => 405,
            EdgeError::Store(StoreError::Dynamo { .. }) => 503,
            EdgeError::Store(_) => 500,
        }
    }

    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            EdgeError::Body(b) => match b {
                BodyError::TooLarge { .. } => "body_too_large",
                BodyError::Truncated => "body_truncated",
                BodyError::MissingContentType => "missing_content_type",
                BodyError::UnsupportedContentType(_) => "unsupported_content_type",
                BodyError::Empty => "empty_body",
                BodyError::InvalidUtf8 { .. } => "invalid_utf8",
                BodyError::MalformedJson { .. } => "malformed_json",
                BodyError::Shape { .. } => "invalid_document",
            },
            EdgeError::Field(_) => "invalid_field",
            EdgeError::MethodNotAllowed { .. } => "method_not_allowed",
            EdgeError::MalformedEvent(_) | EdgeError::CloudFront(_) => "malformed_event",
            EdgeError::Store(_) => "storage_unavailable",
        }
    }

    /// The JSON error body: `{"error": code, "message": …, "field"?: …, "requestId": …}`.
    /// Storage failures say only that storage is unavailable; the cause goes to the log.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        let message = match self {
            EdgeError::Store(_) => "the event could not be stored; retry later".to_string(),
            other => other.to_string(),
        };
        let mut body = json!({"error": self.code(), "message": message, "requestId": request_id});
        if let EdgeError::Field(f) = self {
            body["field"] = json!(f.field);
        }
        body
    }
}
