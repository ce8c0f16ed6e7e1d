//! What every route answers with: JSON without caching, `HEAD` without a body, and the
//! validated `organizationId` query parameter.

use http::Method;
use impressio::http::{EdgeRequest, EdgeResponse};

use crate::error::EdgeError;

/// A JSON response with `Cache-Control: no-store`.
pub fn json(status: u16, body: &serde_json::Value) -> EdgeResponse {
    EdgeResponse {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Cache-Control".into(), "no-store".into()),
        ],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// Drops the body of a response to a `HEAD` request, keeping its headers.
pub fn for_method(req: &EdgeRequest, mut resp: EdgeResponse) -> EdgeResponse {
    if req.method == Method::HEAD {
        resp.body.clear();
    }
    resp
}

/// The `organizationId` query parameter, validated.
///
/// # Errors
/// [`EdgeError::Field`] when it is missing or malformed.
pub fn query_organization(req: &EdgeRequest) -> Result<String, EdgeError> {
    Ok(impressio::event::TrackPayload {
        organization_id: req.query_param("organizationId"),
        ..Default::default()
    }
    .validate()?
    .organization_id)
}
