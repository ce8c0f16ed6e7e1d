//! `POST /t`: a JSON event from the collector script, validated, checked against the
//! organization's domains and quota, resolved to a visitor, and stored.

use impressio::event::body::parse_json_body;
use impressio::event::payload::ValidEvent;
use impressio::event::{Attribution, EventRecord, FieldError, Route, ServerContext, TrackPayload};
use impressio::fraud::counter::{login_key, RateCounter};
use impressio::fraud::{assess, ScoringInput};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::identity::inputs::DOMAINPRINT_COOKIE;
use impressio::identity::{IdentityInputs, IdentityResult, IdentityStore};
use impressio::org::{domains, Feature, OrganizationDirectory};
use impressio::store::EventStore;
use serde_json::json;

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
    let access = authorize_event(app, req, ctx, &event, None).await?;
    let (record, identity) = record_event(app, req, ctx, Route::Track, event, None, &access).await?;
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

/// Resolves the visitor of a validated, authorized event, then writes the event and the
/// identity updates concurrently (identity updates that fail are logged, never failing the
/// event).
pub(crate) async fn record_event<S: EventStore, D, I: IdentityStore>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    route: Route,
    event: ValidEvent,
    attribution: Option<Attribution>,
    access: &Access,
) -> Result<(EventRecord, IdentityResult), EdgeError> {
    let now = app.clock.now_ms();
    let inputs = IdentityInputs::from_request(req, &event)?;
    let site = event
        .url
        .as_ref()
        .and_then(|u| u.host_str())
        .map(str::to_ascii_lowercase)
        .or_else(|| domains::request_host(req.header("origin").as_deref(), req.header("referer").as_deref()));
    let fraud = &app.config.fraud;
    let mut scoring = ScoringInput::from_request(req, event.signals.clone(), Some(&event.event_name));
    // The login counter (credential stuffing) is read in the same round trip as the identity.
    let login_key = (event.event_name == "login")
        .then(|| {
            scoring.ja4_raw.as_deref().map(|ja4| {
                login_key(
                    &event.organization_id,
                    ja4,
                    req.client_ip,
                    fraud.layers.credential_stuffing.per_ip,
                )
            })
        })
        .flatten();
    let count = async {
        match &login_key {
            Some(key) => Some(
                app.counter
                    .incr(key, fraud.layers.credential_stuffing.window_secs, now)
                    .await,
            ),
            None => None,
        }
    };
    let (resolution, count) = tokio::join!(
        app.identity
            .resolve(&event.organization_id, &inputs, site.as_deref(), now),
        count
    );
    let resolution = resolution?;
    let mut degraded = Vec::new();
    match count {
        Some(Ok(n)) => scoring.login_count = Some(n),
        Some(Err(e)) => {
            // Fail open, and say so on the event.
            tracing::warn!(request_id = %ctx.request_id, error = %e, "login counter unavailable");
            degraded.push("credential_stuffing".to_string());
        }
        None => {}
    }
    let mut risk = assess(&scoring, fraud);
    risk.degraded = degraded;
    ctx.set_cookies.push(domainprint_cookie(
        &resolution.identity.domainprint,
        app.identity.config().cookie_max_age_days,
    ));
    let mut record = EventRecord::new(
        &ctx.request_id,
        route,
        event,
        attribution,
        ServerContext::from_request(req),
        now,
        app.config.event_ttl_days,
    );
    if record.ga4_client_id.is_none() {
        record.ga4_client_id = inputs.ga4_client_id.clone();
    }
    record.organization = Some(access.decision);
    record.set_identity(resolution.identity.clone());
    record.risk = Some(risk);
    let (stored, identity_writes) = tokio::join!(app.store.put_event(&record), app.identity.apply(&resolution.writes));
    if let Err(e) = identity_writes {
        tracing::warn!(request_id = %ctx.request_id, error = %e, "identity records not updated");
    }
    stored?;
    Ok((record, resolution.identity))
}
