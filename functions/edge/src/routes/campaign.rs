//! `POST /c`: campaign attribution (UTM parameters, click ids, referrer), parsed and stored.

use impressio::event::{Attribution, CampaignPayload, Route};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::store::EventStore;
use serde_json::json;

use super::track::{read_body, store};
use crate::app::App;
use crate::error::EdgeError;

/// Validates the campaign document, derives the attribution and stores it as a `campaign`
/// event; answers with the attribution.
///
/// # Errors
/// As [`super::track::handle`].
pub async fn handle<S: EventStore>(
    app: &App<S>,
    req: &EdgeRequest,
    request_id: &str,
) -> Result<EdgeResponse, EdgeError> {
    let payload: CampaignPayload = read_body(app, req)?;
    let (event, params) = payload.validate()?;
    let attribution = Attribution::derive(event.url.as_ref(), event.referrer.as_ref(), &params);
    let record = store(
        app,
        req,
        request_id,
        Route::Campaign,
        event,
        Some(attribution.clone()),
    )
    .await?;
    Ok(super::json(
        200,
        &json!({"requestId": request_id, "eventId": record.event_id, "stored": true, "attribution": attribution}),
    ))
}
