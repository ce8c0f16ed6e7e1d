//! The Server API (`/v1/`): what an organization's backend asks of its own data, with its API
//! key (`Authorization: Bearer <organization id>.<secret>`, every plan). JSON answers, never
//! CORS headers: a browser is not a caller of this API.
//!
//! | route | method | answer |
//! |-------|--------|--------|
//! | `/v1/events/{requestId}` | `GET`, `HEAD` | the stored event, what the processor settled since, the label |
//! | `/v1/events/{requestId}/feedback` | `POST` | labels the event `fraud` / `legitimate` |
//! | `/v1/visitors/{visitorId}` | `GET`, `HEAD` | the visitor's events (newest first, a page at a time), what is linked to it, its blacklist state |
//! | `/v1/visitors/{visitorId}` | `DELETE` | erases the visitor (GDPR Art. 17): `202` with the deletion's progress |
//! | `/v1/deletions/{deletionId}` | `GET`, `HEAD` | a deletion's progress and the count removed |
//!
//! Checked in this order: the route (`404 route_not_found`), the method (`405`), the key
//! (`401`), a body on a read (`400 body_not_allowed`), the parameters (`400
//! invalid_parameter`, naming it), then the read (`404` for what is not the organization's).
//! `docs/server-api.md` and `docs/openapi.yaml` describe every answer.

use http::Method;
use impressio::event::body::parse_json_body;
use impressio::event::EventRecord;
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::{Organization, OrganizationDirectory};
use impressio::server_api::erase::{EraseTerms, PASS_BUDGET_MS};
use impressio::server_api::params::{uuid_id, MAX_FEEDBACK_BYTES};
use impressio::server_api::{FeedbackBody, FeedbackRecord, PageQuery};
use serde_json::json;

use super::kind::{ApiRoute, RouteKind};
use super::respond::{for_method, json};
use crate::access::{authorize_api, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// Answers a Server API request.
///
/// # Errors
/// As the module documentation lists; [`EdgeError::Store`] when DynamoDB fails (503).
pub async fn handle<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    route: ApiRoute,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    let m = &req.method;
    let kind = RouteKind::Api(route);
    if route == ApiRoute::Unknown {
        return Err(not_found("route", &req.path));
    }
    if m == Method::OPTIONS {
        return Ok(EdgeResponse {
            status: 204,
            headers: vec![("Allow".into(), kind.allow().into())],
            body: Vec::new(),
        });
    }
    let read = m == Method::GET || m == Method::HEAD;
    let allowed = match route {
        ApiRoute::Event | ApiRoute::Deletion => read,
        ApiRoute::Visitor => read || m == Method::DELETE,
        ApiRoute::Feedback => m == Method::POST,
        ApiRoute::Unknown => false,
    };
    if !allowed {
        return Err(EdgeError::MethodNotAllowed {
            method: m.to_string(),
            path: req.path.clone(),
            allow: kind.allow(),
        });
    }
    let org = authorize_api(app, req).await?;
    ctx.organization_id = Some(org.id.clone());
    if (read || m == Method::DELETE) && !req.body.is_empty() {
        return Err(EdgeError::BodyNotAllowed { method: m.to_string() });
    }
    let segments: Vec<&str> = req.path.split('/').skip(3).collect();
    let id = segments.first().copied().unwrap_or_default();
    let resp = match route {
        ApiRoute::Event => event(app, &org, id).await?,
        ApiRoute::Feedback => feedback(app, &org, id, req).await?,
        ApiRoute::Visitor if m == Method::DELETE => erase(app, &org, id).await?,
        ApiRoute::Visitor => visitor(app, &org, id, req).await?,
        ApiRoute::Deletion => deletion(app, &org, id).await?,
        // Answered before the key was asked for.
        ApiRoute::Unknown => return Err(not_found("route", &req.path)),
    };
    Ok(for_method(req, resp))
}

/// The `404` of a `resource` of the caller's organization that does not exist.
fn not_found(resource: &'static str, id: &str) -> EdgeError {
    EdgeError::NotFound {
        resource,
        id: id.to_string(),
    }
}

/// `GET /v1/events/{requestId}`.
async fn event<S, D, I, B>(app: &App<S, D, I, B>, org: &Organization, id: &str) -> Result<EdgeResponse, EdgeError> {
    let request_id = uuid_id("requestId", id)?;
    let stored = app
        .api
        .request(&org.id, &request_id)
        .await?
        .ok_or_else(|| not_found("event", &request_id))?;
    Ok(json(200, &stored.public_json()))
}

/// `POST /v1/events/{requestId}/feedback`: `{"label": "fraud" | "legitimate", "reason"}`;
/// answers `{"requestId", "feedback"}`.
async fn feedback<S, D, I, B>(
    app: &App<S, D, I, B>,
    org: &Organization,
    id: &str,
    req: &EdgeRequest,
) -> Result<EdgeResponse, EdgeError> {
    let request_id = uuid_id("requestId", id)?;
    let body: FeedbackBody = parse_json_body(
        &req.body,
        req.body_truncated,
        req.header("content-type").as_deref(),
        MAX_FEEDBACK_BYTES,
    )?;
    let body = body.validate()?;
    let stored = app
        .api
        .request(&org.id, &request_id)
        .await?
        .ok_or_else(|| not_found("event", &request_id))?;
    let record = FeedbackRecord::new(&stored.event, body, app.clock.now_ms());
    app.api.put_feedback(&record).await?;
    Ok(json(
        200,
        &json!({"requestId": request_id, "feedback": record.public_json()}),
    ))
}

/// `GET /v1/visitors/{visitorId}?limit&cursor&from&to`: `{"visitorId", "events", "nextCursor",
/// "firstSeen", "lastSeen", "linked", "blacklist"}`.
async fn visitor<S, D, I, B>(
    app: &App<S, D, I, B>,
    org: &Organization,
    id: &str,
    req: &EdgeRequest,
) -> Result<EdgeResponse, EdgeError> {
    let visitor_id = uuid_id("visitorId", id)?;
    let page = PageQuery::parse(|k| req.query_param(k))?;
    let (history, mut links) = tokio::try_join!(
        app.api.visitor_events(&org.id, &visitor_id, &page),
        app.api.visitor_links(&org.id, &visitor_id),
    )?;
    if history.events.is_empty() && page.cursor.is_none() && !links.known() {
        return Err(not_found("visitor", &visitor_id));
    }
    // A fingerprint is blacklisted per network: the entries of the page's events.
    let events: Vec<&EventRecord> = history.events.iter().map(|e| &e.event).collect();
    links.blacklisted_fingerprints = app.api.fingerprint_blocks(&events).await?;
    let mut body = links.public_json(app.clock.now_ms());
    body["visitorId"] = json!(visitor_id);
    body["events"] = json!(history.events.iter().map(|e| e.public_json()).collect::<Vec<_>>());
    body["nextCursor"] = json!(history.next.map(|c| c.encode()));
    Ok(json(200, &body))
}

/// `DELETE /v1/visitors/{visitorId}`: one erasure pass; `202` with the tombstone's
/// `{"deletionId", "status", "removed", …}` (`running`: ask again to go on).
async fn erase<S, D, I, B>(app: &App<S, D, I, B>, org: &Organization, id: &str) -> Result<EdgeResponse, EdgeError> {
    let visitor_id = uuid_id("visitorId", id)?;
    // The tombstone outlives every item the visitor can have.
    let keep_days = i64::from(app.config.event_ttl_days.max(app.config.identity.record_ttl_days));
    let record = app
        .api
        .erase_visitor(
            &org.id,
            &visitor_id,
            app.clock.now_ms(),
            EraseTerms {
                keep_days,
                budget: std::time::Duration::from_millis(PASS_BUDGET_MS),
                login_window_secs: app.config.fraud.components.credential_stuffing.window_secs,
            },
        )
        .await?
        .ok_or_else(|| not_found("visitor", &visitor_id))?;
    Ok(json(202, &record.public_json()))
}

/// `GET /v1/deletions/{deletionId}`.
async fn deletion<S, D, I, B>(app: &App<S, D, I, B>, org: &Organization, id: &str) -> Result<EdgeResponse, EdgeError> {
    let deletion_id = uuid_id("deletionId", id)?;
    let record = app
        .api
        .deletion(&org.id, &deletion_id)
        .await?
        .ok_or_else(|| not_found("deletion", &deletion_id))?;
    Ok(json(200, &record.public_json()))
}
