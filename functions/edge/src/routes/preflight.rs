//! `OPTIONS`: CORS preflights, answered for the organization's own domains only.
//!
//! A preflight (an `OPTIONS` with `Access-Control-Request-Method`) names its organization in
//! the `organizationId` query parameter, as the collector's request URLs do; it gets `204`
//! with `Access-Control-Allow-Origin` (the request's origin), `-Allow-Credentials: true`,
//! `-Allow-Methods`, `-Allow-Headers: Content-Type`, `-Max-Age: 600` and `Vary: Origin` when
//! that origin is one of the organization's honored domains, and `403 domain_not_allowed`
//! without CORS headers otherwise. Any other `OPTIONS` gets `204` with `Allow`.

use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::OrganizationDirectory;

use super::kind::RouteKind;
use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// How long a browser may cache a preflight answer, seconds.
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 600;

/// Answers an `OPTIONS` request.
///
/// # Errors
/// The access errors of [`authorize`] for a preflight; `403 origin_required` for a preflight
/// without `Origin`.
pub async fn handle<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    route: RouteKind,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    let allow = vec![("Allow".to_string(), route.allow().to_string())];
    if req.header("access-control-request-method").is_none() {
        return Ok(EdgeResponse {
            status: 204,
            headers: allow,
            body: Vec::new(),
        });
    }
    if req.header("origin").is_none() {
        return Err(EdgeError::OriginRequired);
    }
    let org = super::respond::query_organization(req)?;
    let needs = Needs {
        origin: OriginPolicy::Required,
        feature: None,
        counts_event: false,
    };
    authorize(app, req, ctx, &org, needs).await?;
    let mut headers = allow;
    headers.push(("Access-Control-Allow-Methods".into(), route.allow().into()));
    headers.push(("Access-Control-Allow-Headers".into(), "Content-Type".into()));
    headers.push(("Access-Control-Max-Age".into(), PREFLIGHT_MAX_AGE_SECS.to_string()));
    Ok(EdgeResponse {
        status: 204,
        headers,
        body: Vec::new(),
    })
}
