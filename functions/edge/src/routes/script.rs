//! `GET /h.js?organizationId=…` (every plan) and `GET /h-pro.js?organizationId=…` (the
//! behavioral bundle, pro plan and up): the collector script of an organization.

use impressio::collector::collector_script;
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::{Feature, OrganizationDirectory};

use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// Answers the script (`application/javascript`, cacheable by the browser for 5 minutes; it
/// carries a collector token of its own, so no shared cache may keep it).
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
    // A fresh token per load: the script is cacheable by the browser only.
    let token = app
        .config
        .collector_token_secret
        .as_ref()
        .map(|s| impressio::behavior::token::issue(s.expose().as_bytes(), &org, app.clock.now_ms()));
    Ok(super::for_method(
        req,
        EdgeResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/javascript; charset=utf-8".into()),
                ("Cache-Control".into(), "private, max-age=300".into()),
            ],
            body: collector_script(&org, behavioral, token.as_deref()).into_bytes(),
        },
    ))
}
