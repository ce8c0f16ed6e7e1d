//! Everything a request can fail with, and the one place that picks its HTTP status.

use impressio::event::{BodyError, FieldError};
use impressio::http::cloudfront::CloudFrontError;
use impressio::org::{Feature, Plan};
use impressio::server_api::ParamError;
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
    /// The request carries more headers than [`impressio::http::MAX_REQUEST_HEADERS`].
    #[error(
        "the request has {count} headers; at most {} are accepted",
        impressio::http::MAX_REQUEST_HEADERS
    )]
    TooManyHeaders { count: usize },
    /// The Lambda event is not a shape this function accepts, or is malformed.
    #[error("malformed event: {0}")]
    MalformedEvent(String),
    /// The CloudFront event could not be turned into a request.
    #[error(transparent)]
    CloudFront(#[from] CloudFrontError),
    /// The event could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No organization has this id.
    #[error("unknown organization {0:?}")]
    UnknownOrganization(String),
    /// The organization cannot be looked up now and nothing is known about it.
    #[error("the organization directory is unavailable")]
    DirectoryUnavailable { reason: String, retry_after_secs: u64 },
    /// A route that needs the page's origin got neither `Origin` nor `Referer`.
    #[error("an Origin or Referer header naming one of the organization's domains is required")]
    OriginRequired,
    /// The page's host is not among the organization's honored domains.
    #[error("{host} is not one of the organization's domains allowed by its plan")]
    DomainNotAllowed { host: String },
    /// A server-side call without a usable `Authorization: Bearer <server key>`: the header is
    /// missing (the body forwards an end user, and no `Origin` says a browser sent it) or is
    /// not a bearer credential. `reason` says which, never quoting the header.
    #[error("server-side events need an `Authorization: Bearer <server key>` header: {reason}")]
    ServerKeyRequired { reason: &'static str },
    /// The server key is not the organization's, or the organization has none: one error for
    /// both, so an answer never tells which.
    #[error("the server key is not valid for this organization")]
    ServerKeyRejected,
    /// A request reached the Function URL without CloudFront's `X-Origin-Verify` header (or
    /// with a value that is not one of the configured secrets): it went around CloudFront.
    #[error("requests reach this function through its CloudFront distribution only")]
    OriginNotVerified,
    /// The route needs a feature the organization's plan lacks.
    #[error("the {} feature is not in the {} plan; it needs the {} plan or higher", feature.as_str(), plan.as_str(), required.as_str())]
    FeatureNotInPlan {
        feature: Feature,
        plan: Plan,
        required: Plan,
    },
    /// The request scored critical and the mode enforces blocking; `reasons` are the ones a
    /// client may see (codes and messages, no thresholds).
    #[error("the request was refused as automated or fraudulent")]
    RiskBlocked { reasons: Vec<serde_json::Value> },
    /// One of the request's identifiers is blacklisted (the pre-check before scoring).
    #[error("too many suspicious requests; retry later")]
    Blacklisted { retry_after_secs: i64 },
    /// A Server API call (`/v1/`) without a usable `Authorization: Bearer <API key>`: the
    /// header is missing or not a bearer credential (`reason` says which, never quoting it).
    #[error("the Server API needs an `Authorization: Bearer <API key>` header: {reason}")]
    ApiKeyRequired { reason: &'static str },
    /// The API key is no organization's current or previous key (or names an organization
    /// that does not exist): one error for all, so an answer never tells which.
    #[error("the API key is not valid")]
    ApiKeyRejected,
    /// A Server API parameter (path, query or body field) is missing or malformed.
    #[error("invalid parameter {0}")]
    Parameter(#[from] ParamError),
    /// A `GET` or `DELETE` of the Server API carried a body.
    #[error("a {method} request takes no body")]
    BodyNotAllowed { method: String },
    /// Nothing of the caller's organization has this id (`resource`: `event`, `visitor`,
    /// `deletion`), or the path names no Server API route (`route`).
    #[error("no {resource} of this organization has id {id:?}")]
    NotFound { resource: &'static str, id: String },
    /// The organization used its monthly quota.
    #[error("the {} plan's quota of {limit} events this month is used", plan.as_str())]
    QuotaExceeded {
        plan: Plan,
        limit: u64,
        used: u64,
        upgrade: Option<Plan>,
        retry_after_secs: i64,
    },
}

impl EdgeError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            EdgeError::Body(BodyError::TooLarge { .. } | BodyError::Truncated)
            | EdgeError::Store(StoreError::ItemTooLarge { .. }) => 413,
            EdgeError::Body(BodyError::MissingContentType | BodyError::UnsupportedContentType(_)) => 415,
            EdgeError::Body(_) | EdgeError::Field(_) | EdgeError::MalformedEvent(_) | EdgeError::CloudFront(_) => 400,
            EdgeError::MethodNotAllowed { .. } => 405,
            EdgeError::TooManyHeaders { .. } => 431,
            EdgeError::Store(StoreError::Dynamo { .. }) => 503,
            EdgeError::Store(_) => 500,
            EdgeError::UnknownOrganization(_) => 404,
            EdgeError::ServerKeyRequired { .. } | EdgeError::ServerKeyRejected => 401,
            EdgeError::DirectoryUnavailable { .. } => 503,
            EdgeError::OriginRequired
            | EdgeError::DomainNotAllowed { .. }
            | EdgeError::FeatureNotInPlan { .. }
            | EdgeError::OriginNotVerified => 403,
            EdgeError::QuotaExceeded { .. } => 429,
            EdgeError::RiskBlocked { .. } => 403,
            EdgeError::Blacklisted { .. } => 429,
            EdgeError::ApiKeyRequired { .. } | EdgeError::ApiKeyRejected => 401,
            EdgeError::Parameter(_) | EdgeError::BodyNotAllowed { .. } => 400,
            EdgeError::NotFound { .. } => 404,
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
                BodyError::Underflow { .. } => "invalid_field",
            },
            EdgeError::Field(_) => "invalid_field",
            EdgeError::MethodNotAllowed { .. } => "method_not_allowed",
            EdgeError::TooManyHeaders { .. } => "too_many_headers",
            EdgeError::MalformedEvent(_) | EdgeError::CloudFront(_) => "malformed_event",
            EdgeError::Store(StoreError::ItemTooLarge { .. }) => "item_too_large",
            EdgeError::Store(StoreError::Dynamo { .. }) => "storage_unavailable",
            EdgeError::Store(StoreError::Unreadable { .. }) => "unreadable_item",
            EdgeError::Store(_) => "storage_error",
            EdgeError::UnknownOrganization(_) => "unknown_organization",
            EdgeError::DirectoryUnavailable { .. } => "organization_directory_unavailable",
            EdgeError::ServerKeyRequired { .. } => "server_key_required",
            EdgeError::ServerKeyRejected => "invalid_server_key",
            EdgeError::OriginRequired => "origin_required",
            EdgeError::OriginNotVerified => "origin_not_verified",
            EdgeError::DomainNotAllowed { .. } => "domain_not_allowed",
            EdgeError::FeatureNotInPlan { .. } => "feature_not_in_plan",
            EdgeError::QuotaExceeded { .. } => "quota_exceeded",
            EdgeError::RiskBlocked { .. } => "risk_blocked",
            EdgeError::Blacklisted { .. } => "blacklisted",
            EdgeError::ApiKeyRequired { .. } => "api_key_required",
            EdgeError::ApiKeyRejected => "invalid_api_key",
            EdgeError::Parameter(_) => "invalid_parameter",
            EdgeError::BodyNotAllowed { .. } => "body_not_allowed",
            EdgeError::NotFound { resource, .. } => match *resource {
                "event" => "event_not_found",
                "visitor" => "visitor_not_found",
                "deletion" => "deletion_not_found",
                _ => "route_not_found",
            },
        }
    }

    /// The JSON error body: `{"error": code, "message": …, "requestId": …}` plus, where they
    /// apply, `field`, `feature` / `plan` / `requiredPlan`, or `plan` / `limit` / `used` /
    /// `upgradePlan`. Storage and directory failures say only that a dependency is
    /// unavailable; the cause goes to the log.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        let message = match self {
            EdgeError::Store(StoreError::ItemTooLarge { bytes, limit }) => format!(
                "the event would be a {bytes}-byte item; at most {limit} bytes can be stored: send fewer or smaller properties, components or digitalData"
            ),
            EdgeError::Store(StoreError::Dynamo { .. }) => "the event could not be stored; retry later".to_string(),
            EdgeError::Store(e @ StoreError::Unreadable { .. }) => e.to_string(),
            EdgeError::Store(_) => "the event could not be stored".to_string(),
            EdgeError::DirectoryUnavailable { .. } => {
                "the organization cannot be verified now; retry later".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({"error": self.code(), "message": message, "requestId": request_id});
        match self {
            EdgeError::Field(f) => body["field"] = json!(f.field),
            EdgeError::Body(BodyError::Underflow { path }) => body["field"] = json!(path),
            EdgeError::FeatureNotInPlan {
                feature,
                plan,
                required,
            } => {
                body["feature"] = json!(feature.as_str());
                body["plan"] = json!(plan.as_str());
                body["requiredPlan"] = json!(required.as_str());
            }
            EdgeError::QuotaExceeded {
                plan,
                limit,
                used,
                upgrade,
                ..
            } => {
                body["plan"] = json!(plan.as_str());
                body["limit"] = json!(limit);
                body["used"] = json!(used);
                body["upgradePlan"] = json!(upgrade.map(Plan::as_str));
            }
            EdgeError::RiskBlocked { reasons } => body["reasons"] = json!(reasons),
            EdgeError::Parameter(p) => body["parameter"] = json!(p.parameter),
            _ => {}
        }
        body
    }

    /// The `WWW-Authenticate` challenge of a 401 (RFC 6750 section 3): `Bearer`, with
    /// `error="invalid_token"` when a key was presented and refused.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            EdgeError::ServerKeyRequired { .. } | EdgeError::ApiKeyRequired { .. } => {
                Some(r#"Bearer realm="impressio""#)
            }
            EdgeError::ServerKeyRejected | EdgeError::ApiKeyRejected => {
                Some(r#"Bearer realm="impressio", error="invalid_token""#)
            }
            _ => None,
        }
    }

    /// The `Retry-After` value in seconds, where the error has one.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            EdgeError::Store(StoreError::Dynamo { .. }) => Some(1),
            EdgeError::DirectoryUnavailable { retry_after_secs, .. } => Some(*retry_after_secs as i64),
            EdgeError::QuotaExceeded { retry_after_secs, .. } => Some(*retry_after_secs),
            EdgeError::Blacklisted { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}
