//! `POST /t`: a JSON event from the collector script, validated, checked against the
//! organization's domains and quota, and stored.

use impressio::event::body::parse_json_body;
use impressio::event::payload::ValidEvent;
use impressio::event::{Attribution, EventRecord, FieldError, OrgDecision, Route, ServerContext, TrackPayload};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::{Feature, OrganizationDirectory};
use impressio::store::EventStore;
use serde_json::json;

use crate::access::{authorize, Access, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// Validates the body, checks the organization, stores the event, answers
/// `{"requestId", "eventId", "stored": true}`.
///
/// # Errors
/// [`EdgeError::Body`] or [`EdgeError::Field`] for bad input, the access errors of
/// [`authorize`], [`EdgeError::Store`] when the event cannot be written.
pub async fn handle<S: EventStore, D: OrganizationDirectory>(
    app: &App<S, D>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    let payload: TrackPayload = read_body(app, req)?;
    let event = payload.validate()?;
    let access = authorize_event(app, req, ctx, &event, None).await?;
    let record = store(app, req, &ctx.request_id, Route::Track, event, None, access.decision).await?;
    Ok(super::json(
        200,
        &json!({"requestId": ctx.request_id, "eventId": record.event_id, "stored": true}),
    ))
}

/// Reads a JSON body within the configured limit.
pub(crate) fn read_body<S, D, T: serde::de::DeserializeOwned>(
    app: &App<S, D>,
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
pub(crate) async fn authorize_event<S, D: OrganizationDirectory>(
    app: &App<S, D>,
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

/// Builds the record of a validated event and writes it.
pub(crate) async fn store<S: EventStore, D>(
    app: &App<S, D>,
    req: &EdgeRequest,
    request_id: &str,
    route: Route,
    event: ValidEvent,
    attribution: Option<Attribution>,
    decision: OrgDecision,
) -> Result<EventRecord, EdgeError> {
    let mut record = EventRecord::new(
        request_id,
        route,
        event,
        attribution,
        ServerContext::from_request(req),
        app.clock.now_ms(),
        app.config.event_ttl_days,
    );
    record.organization = Some(decision);
    app.store.put_event(&record).await?;
    Ok(record)
}
