//! `POST /c`: campaign attribution (UTM parameters, click ids, referrer), parsed and stored.
//! Needs the campaigns feature (starter plan and up).

use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::event::{Attribution, CampaignPayload, Route};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::identity::IdentityStore;
use impressio::org::{Feature, OrganizationDirectory};
use serde_json::json;

use super::track::{authorize_event, event_request, identity_json, read_body, repeated_json, Recorded};
use crate::access::RequestCtx;
use crate::app::App;
use crate::error::EdgeError;
use crate::pipeline::{self, Caller};

/// Validates the campaign document, checks the organization and its plan, derives the
/// attribution and stores it as a `campaign` event; answers with the attribution (a repeat of
/// a stored `messageId` as `/t` answers one).
///
/// # Errors
/// As [`super::track::handle`], plus [`EdgeError::FeatureNotInPlan`] below starter.
pub async fn handle<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    let payload: CampaignPayload = read_body(app, req)?;
    let (event, params) = payload.validate()?;
    let access = authorize_event(app, req, ctx, &event, Some(Feature::Campaigns)).await?;
    let attribution = Attribution::derive(event.url.as_ref(), event.referrer.as_ref(), &params);
    let request = event_request(
        req,
        Route::Campaign,
        event,
        Some(attribution.clone()),
        &access,
        false,
        Caller::Browser,
    );
    let recorded = pipeline::run(app, ctx, request).await?;
    let (record, identity) = match recorded {
        Recorded::Stored(record, identity) => (record, identity),
        Recorded::Repeated(first) => return Ok(super::respond::json(200, &repeated_json(ctx, &first))),
    };
    Ok(super::respond::json(
        200,
        &json!({"requestId": ctx.request_id, "eventId": record.event_id, "stored": true, "attribution": attribution,
            "identity": identity_json(&identity)}),
    ))
}
