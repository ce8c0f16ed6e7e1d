//! `POST /t`: a JSON event from the collector script, validated, checked against the
//! organization's domains and quota, resolved to a visitor, and stored.

use impressio::event::body::parse_json_body;
use impressio::event::payload::ValidEvent;
use impressio::event::{FieldError, Route, TrackPayload};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::identity::inputs::DOMAINPRINT_COOKIE;
use impressio::identity::{IdentityResult, IdentityStore};
use impressio::org::{Feature, OrganizationDirectory};
use impressio::store::EventStore;
use serde_json::json;

pub(crate) use crate::pipeline::record_event;

use crate::access::{authorize, Access, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// Validates the body, checks the organization, resolves the visitor, stores the event;
/// answers `{"requestId", "eventId", "stored": true, "identity": {…}}` and sets the
/// domainprint cookie.
///
/// # Errors
/// [`EdgeError::Body`] or [`EdgeError::Field`] for bad input, the access errors of
/// [`authorize`], [`EdgeError::Store`] when the identity or the event cannot be written.
pub async fn handle<S: EventStore, D: OrganizationDirectory, I: IdentityStore>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    let payload: TrackPayload = read_body(app, req)?;
    let event = payload.validate()?;
    // A data layer is a plan feature: refused with the plan it needs, like `/c`.
    let feature = event.digital_data.is_some().then_some(Feature::DigitalData);
    let access = authorize_event(app, req, ctx, &event, feature).await?;
    let (record, identity) = record_event(app, req, ctx, Route::Track, event, None, &access, true).await?;
    let risk = record.risk.as_ref().expect("record_event scores every event");
    if risk.enforced {
        return Err(EdgeError::RiskBlocked {
            reasons: risk.public_reasons(),
        });
    }
    Ok(super::json(
        200,
        &json!({"requestId": ctx.request_id, "eventId": record.event_id, "stored": true,
            "identity": identity_json(&identity), "risk": risk}),
    ))
}

/// The identity as the `/t` and `/c` answers show it.
pub(crate) fn identity_json(i: &IdentityResult) -> serde_json::Value {
    json!({"visitorId": i.visitor_id, "confidence": i.confidence, "method": i.method, "isNew": i.is_new, "conflict": i.conflict})
}

/// Reads a JSON body within the configured limit.
pub(crate) fn read_body<S, D, I, T: serde::de::DeserializeOwned>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
) -> Result<T, EdgeError> {
    Ok(parse_json_body(
        &req.body,
        req.body_truncated,
        req.header("content-type").as_deref(),
        app.config.max_body_bytes,
    )?)
}

/// Checks the organization an event names (and that a `organizationId` query parameter, if
/// any, names the same one) for a route that stores events.
pub(crate) async fn authorize_event<S, D: OrganizationDirectory, I>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    event: &ValidEvent,
    feature: Option<Feature>,
) -> Result<Access, EdgeError> {
    if let Some(q) = req.query_param("organizationId") {
        if q != event.organization_id {
            return Err(FieldError::new(
                "organizationId",
                "the body and the query string name different organizations",
            )
            .into());
        }
    }
    let needs = Needs {
        origin: OriginPolicy::Required,
        feature,
        counts_event: true,
    };
    authorize(app, req, ctx, &event.organization_id, needs).await
}

/// The domainprint cookie: a year by default, `Secure` and `HttpOnly` (only our server reads
/// it), `SameSite=Lax` (sent on the organization's own pages, which are same-site with its
/// tracker host, never in third-party contexts), `Path=/`, host-only (no `Domain`: each
/// tracker host keeps its own, and aliasing links them).
pub fn domainprint_cookie(value: &str, max_age_days: u32) -> String {
    cookie::Cookie::build((DOMAINPRINT_COOKIE, value.to_string()))
        .max_age(cookie::time::Duration::days(i64::from(max_age_days)))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build()
        .to_string()
}
