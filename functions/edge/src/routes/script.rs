//! `GET /h.js?organizationId=…` (every plan) and `GET /h-pro.js?organizationId=…` (the
//! behavioral bundle, pro plan and up): the collector script of an organization.

use impressio::collector::collector_script;
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::{Feature, OrganizationDirectory};

use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// Answers the script (`application/javascript`, cacheable for 5 minutes).
///
/// # Errors
/// [`EdgeError::Field`] when `organizationId` is missing or malformed, the access errors of
/// [`authorize`] (a `Referer` from a foreign domain; for `/h-pro.js`, a plan below pro).
pub async fn handle<S, D: OrganizationDirectory, I>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    behavioral: bool,
) -> Result<EdgeResponse, EdgeError> {
    let org = super::query_organization(req)?;
    let needs = Needs {
        origin: OriginPolicy::IfPresent,
        feature: behavioral.then_some(Feature::Behavioral),
        counts_event: false,
    };
    authorize(app, req, ctx, &org, needs).await?;
    Ok(super::for_method(
        req,
        EdgeResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/javascript; charset=utf-8".into()),
                ("Cache-Control".into(), "public, max-age=300".into()),
            ],
            body: collector_script(&org, behavioral).into_bytes(),
        },
    ))
}
