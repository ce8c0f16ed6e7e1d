//! `POST /t`: a JSON event from the collector script, validated and stored.

use impressio::event::body::parse_json_body;
use impressio::event::payload::ValidEvent;
use impressio::event::{Attribution, EventRecord, Route, ServerContext, TrackPayload};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::store::EventStore;
use serde_json::json;

use crate::app::App;
use crate::error::EdgeError;

/// Validates the body, stores the event, answers `{"requestId", "eventId", "stored": true}`.
///
/// # Errors
/// [`EdgeError::Body`] or [`EdgeError::Field`] for bad input, [`EdgeError::Store`] when the
/// event cannot be written.
pub async fn handle<S: EventStore>(
    app: &App<S>,
    req: &EdgeRequest,
    request_id: &str,
) -> Result<EdgeResponse, EdgeError> {
    let payload: TrackPayload = read_body(app, req)?;
    let event = payload.validate()?;
    let record = store(app, req, request_id, Route::Track, event, None).await?;
    Ok(super::json(
        200,
        &json!({"requestId": request_id, "eventId": record.event_id, "stored": true}),
    ))
}

/// Reads a JSON body within the configured limit.
pub(crate) fn read_body<S, T: serde::de::DeserializeOwned>(
    app: &App<S>,
    req: &EdgeRequest,
) -> Result<T, EdgeError> {
    Ok(parse_json_body(
        &req.body,
        req.body_truncated,
        req.header("content-type").as_deref(),
        app.config.max_body_bytes,
    )?)
}

/// Builds the record of a validated event and writes it.
pub(crate) async fn store<S: EventStore>(
    app: &App<S>,
    req: &EdgeRequest,
    request_id: &str,
    route: Route,
    event: ValidEvent,
    attribution: Option<Attribution>,
) -> Result<EventRecord, EdgeError> {
    let record = EventRecord::new(
        request_id,
        route,
        event,
        attribution,
        ServerContext::from_request(req),
        app.clock.now_ms(),
        app.config.event_ttl_days,
    );
    app.store.put_event(&record).await?;
    Ok(record)
}
