//! `POST /t`: a JSON event from the collector script, validated, checked against the
//! organization's domains and quota, resolved to a visitor, and stored.
//!
//! **Server-side events** (enterprise plan): a request with an `Authorization` header is a
//! call from the organization's own server, authenticated by its server key
//! (`Authorization: Bearer <server key>`, checked against the organization's
//! `server_key_sha256` in constant time). Its body is the same event plus a required
//! `forwarded` object naming the end user (`ip`, `userAgent`, optional `acceptLanguage`),
//! which the pipeline uses in place of the request's own address and headers
//! ([`Caller::Server`]). No `Origin` is needed, no CORS headers and no domainprint cookie are
//! given; the quota and the blacklist apply as to any event. A browser call may not carry
//! `forwarded`.

use impressio::behavior::store::BehaviorStore;
use impressio::event::body::parse_json_body;
use impressio::event::payload::ValidEvent;
use impressio::event::EventStore;
use impressio::event::{FieldError, Route, TrackPayload};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::identity::{IdentityResult, IdentityStore};
use impressio::org::{Feature, OrganizationDirectory};
use impressio::store::StoredMessage;
use serde_json::json;

pub(crate) use crate::pipeline::Recorded;

use crate::access::{authorize, authorize_server, Access, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;
use crate::pipeline::{self, Caller};
use impressio::org::server_key::bearer_token;

/// Validates the body, checks the organization, resolves the visitor, stores the event;
/// answers `{"requestId", "eventId", "stored": true, "identity": {…, "domainprint"}, "risk":
/// {…}}` and, to a browser, sets the domainprint cookie.
/// A repeat of a `messageId` already stored is answered `200` [`repeated_json`], with
/// nothing stored.
///
/// # Errors
/// [`EdgeError::Body`] or [`EdgeError::Field`] for bad input (a missing `forwarded` on a
/// server-side call, a `forwarded` from a browser), [`EdgeError::ServerKeyRequired`] (401) for
/// an `Authorization` header that is not a bearer credential or a `forwarded` without one and
/// without `Origin`, the access errors of [`authorize`] or, server-side,
/// [`authorize_server`], [`EdgeError::Blacklisted`], [`EdgeError::RiskBlocked`], and
/// [`EdgeError::Store`] when the identity or the event cannot be written.
pub async fn handle<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    // The header switches to server-side mode; a bad one is refused before the body is read.
    let server_key = server_key(req)?;
    let payload: TrackPayload = read_body(app, req)?;
    let mut event = payload.validate()?;
    // A data layer is a plan feature: refused with the plan it needs, like `/c`.
    let feature = event.digital_data.is_some().then_some(Feature::DigitalData);
    let (access, caller) = match server_key {
        Some(key) => {
            let forwarded = event.forwarded.take().ok_or_else(|| {
                FieldError::new(
                    "forwarded",
                    "is required on a server-side call: the end user's ip and userAgent",
                )
            })?;
            same_organization(req, &event)?;
            let access = authorize_server(app, &event.organization_id, key, feature).await?;
            (access, Caller::Server(forwarded))
        }
        None if event.forwarded.is_some() => {
            // A browser always sends `Origin` with a POST: one that claims to forward an end
            // user is refused; without `Origin` this is a server that forgot its key.
            return Err(match req.header("origin") {
                Some(_) => FieldError::new(
                    "forwarded",
                    "is accepted only on server-side calls (Authorization: Bearer <server key>)",
                )
                .into(),
                None => EdgeError::ServerKeyRequired {
                    reason: "the body forwards an end user but there is no Authorization header",
                },
            });
        }
        None => (authorize_event(app, req, ctx, &event, feature).await?, Caller::Browser),
    };
    let request = event_request(req, Route::Track, event, None, &access, true, caller);
    let (record, identity) = match pipeline::run(app, ctx, request).await? {
        Recorded::Stored(record, identity) => (record, identity),
        Recorded::Repeated(first) => return Ok(super::respond::json(200, &repeated_json(ctx, &first))),
    };
    let risk = record.risk.as_ref().expect("the pipeline scores every event");
    if risk.enforced {
        return Err(EdgeError::RiskBlocked {
            reasons: risk.public_reasons(),
        });
    }
    let mut identity_out = identity_json(&identity);
    // The signed domainprint: a server gets no cookie and sends it back with the visitor's
    // next events (which then take the fast path instead of minting a new one each time); the
    // collector keeps a copy in localStorage and sends it where the cookie does not come back
    // (cookies blocked or cut short). Either way it is only an identity because we signed it.
    identity_out["domainprint"] = json!(identity.domainprint);
    Ok(super::respond::json(
        200,
        &json!({"requestId": ctx.request_id, "eventId": record.event_id, "stored": true,
            "identity": identity_out, "risk": risk}),
    ))
}

/// The pipeline's view of a validated, authorized event of `route`.
pub(crate) fn event_request<'a>(
    req: &'a EdgeRequest,
    route: Route,
    event: ValidEvent,
    attribution: Option<impressio::event::Attribution>,
    access: &'a Access,
    enforce: bool,
    caller: Caller,
) -> impressio::judge::EventRequest<'a> {
    impressio::judge::EventRequest {
        req,
        route,
        event,
        attribution,
        org: &access.org,
        decision: access.decision,
        enforce,
        caller,
    }
}

/// The answer to a repeat of a stored message: `{"requestId": <this request>, "eventId": <the
/// stored event>, "stored": true, "duplicate": true, "duplicateOf": <the request that stored
/// it>}`. `stored` is true because the message is stored: a sender that retries until it
/// sees `stored` stops here.
pub(crate) fn repeated_json(ctx: &RequestCtx, first: &StoredMessage) -> serde_json::Value {
    json!({"requestId": ctx.request_id, "eventId": first.event_id, "stored": true, "duplicate": true,
        "duplicateOf": first.request_id})
}

/// The identity as the `/t` and `/c` answers show it. Not `conflict`: whether the fingerprint
/// contradicts the cookie's visitor is evidence for the scoring and the Server API, and would
/// tell a client which fingerprints other visitors show.
pub(crate) fn identity_json(i: &IdentityResult) -> serde_json::Value {
    json!({"visitorId": i.visitor_id, "confidence": i.confidence, "method": i.method, "isNew": i.is_new})
}

/// Reads a JSON body within the configured limit.
pub(crate) fn read_body<S, D, I, B, T: serde::de::DeserializeOwned>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
) -> Result<T, EdgeError> {
    Ok(parse_json_body(
        &req.body,
        req.body_truncated,
        req.header("content-type").as_deref(),
        app.config.max_body_bytes,
    )?)
}

/// The bearer token of a server-side call: `None` without an `Authorization` header (a
/// browser call), the token with one.
///
/// # Errors
/// [`EdgeError::ServerKeyRequired`] when the header is there but is not `Bearer <token>`
/// (empty, another scheme, characters a token cannot have, not ASCII).
fn server_key(req: &EdgeRequest) -> Result<Option<&str>, EdgeError> {
    let Some(value) = req.headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| EdgeError::ServerKeyRequired {
        reason: "the Authorization header is not ASCII",
    })?;
    bearer_token(text)
        .map(Some)
        .map_err(|e| EdgeError::ServerKeyRequired { reason: e.message() })
}

/// Refuses an `organizationId` query parameter that names another organization than the body.
fn same_organization(req: &EdgeRequest, event: &ValidEvent) -> Result<(), EdgeError> {
    match req.query_param("organizationId") {
        Some(q) if q != event.organization_id => Err(FieldError::new(
            "organizationId",
            "the body and the query string name different organizations",
        )
        .into()),
        _ => Ok(()),
    }
}

/// Checks the organization an event names (and that a `organizationId` query parameter, if
/// any, names the same one) for a route that stores events.
pub(crate) async fn authorize_event<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    event: &ValidEvent,
    feature: Option<Feature>,
) -> Result<Access, EdgeError> {
    same_organization(req, event)?;
    let needs = Needs {
        origin: OriginPolicy::Required,
        feature,
        counts_event: true,
    };
    authorize(app, req, ctx, &event.organization_id, needs).await
}
