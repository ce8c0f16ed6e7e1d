//! `GET /h.js?organizationId=…`: the collector script for an organization.

use impressio::collector::collector_script;
use impressio::event::TrackPayload;
use impressio::http::{EdgeRequest, EdgeResponse};

use crate::error::EdgeError;

/// Answers the script (`application/javascript`, cacheable for 5 minutes).
///
/// # Errors
/// [`EdgeError::Field`] when `organizationId` is missing or malformed.
pub fn handle(req: &EdgeRequest) -> Result<EdgeResponse, EdgeError> {
    let org = TrackPayload {
        organization_id: req.query_param("organizationId"),
        ..TrackPayload::default()
    }
    .validate()?
    .organization_id;
    Ok(super::for_method(
        req,
        EdgeResponse {
            status: 200,
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/javascript; charset=utf-8".into(),
                ),
                ("Cache-Control".into(), "public, max-age=300".into()),
            ],
            body: collector_script(&org).into_bytes(),
        },
    ))
}
