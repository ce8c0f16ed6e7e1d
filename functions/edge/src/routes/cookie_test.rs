//! `GET /cookie-test`: sets a first-party test cookie and reports whether the one set by a
//! previous call came back, so the collector can tell whether first-party cookies persist.
//!
//! The cookie is `_imp_ct=<ms when set>; Max-Age=86400; Path=/; Secure; HttpOnly;
//! SameSite=Lax`, host-only (no `Domain`), on the tracker's own host. With an
//! `organizationId` query parameter, an `Origin` on that organization's domains gets CORS
//! headers, so the collector can read the answer.

use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::OrganizationDirectory;
use serde_json::json;

use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;

/// Name of the test cookie.
pub const COOKIE_NAME: &str = "_imp_ct";
/// Lifetime of the test cookie, seconds.
pub const COOKIE_MAX_AGE_SECS: i64 = 86_400;

/// Answers `{"cookieSet": true, "previousCookieReturned": bool, "previousSetAt"?: ms}`.
pub async fn handle<S, D: OrganizationDirectory, I>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> EdgeResponse {
    if let Ok(org) = super::query_organization(req) {
        let needs = Needs {
            origin: OriginPolicy::IfPresent,
            feature: None,
            counts_event: false,
        };
        // The test itself needs no organization; a failed check only means no CORS headers.
        if let Err(e) = authorize(app, req, ctx, &org, needs).await {
            tracing::debug!(request_id = %ctx.request_id, error = %e, "cookie test without CORS");
        }
    }
    let now = app.clock.now_ms();
    let previous = req.cookie(COOKIE_NAME);
    let previous_set_at = previous.as_deref().and_then(|v| v.parse::<i64>().ok());
    let cookie = cookie::Cookie::build((COOKIE_NAME, now.to_string()))
        .max_age(cookie::time::Duration::seconds(COOKIE_MAX_AGE_SECS))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build();
    let mut body = json!({"cookieSet": true, "previousCookieReturned": previous.is_some()});
    if let Some(at) = previous_set_at {
        body["previousSetAt"] = json!(at);
    }
    let mut resp = super::json(200, &body);
    resp.headers.push(("Set-Cookie".into(), cookie.to_string()));
    super::for_method(req, resp)
}
