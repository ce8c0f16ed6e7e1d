//! `GET /cookie-test`: sets a first-party test cookie and reports whether the one set by a
//! previous call came back, so the collector can tell whether first-party cookies persist.
//!
//! The cookie is `_imp_ct=<ms when set>; Max-Age=86400; Path=/; Secure; HttpOnly;
//! SameSite=Lax`, host-only (no `Domain`), on the tracker's own host. With an
//! `organizationId` query parameter, an `Origin` on that organization's domains gets CORS
//! headers, so the collector can read the answer, and the answer carries a fresh collector
//! token for that organization: the scripts are cached and shared, so the token that
//! `/t` replay-checks reaches each page here, in an answer no cache keeps (`no-store`).

use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::OrganizationDirectory;
use serde_json::json;

use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;

/// Name of the test cookie.
pub const COOKIE_NAME: &str = "_imp_ct";
/// Lifetime of the test cookie, seconds.
pub const COOKIE_MAX_AGE_SECS: i64 = 86_400;

/// Answers `{"cookieSet": true, "previousCookieReturned": bool, "previousSetAt"?: ms,
/// "token"?: string}` — the token when the organization exists, the request's `Origin` or
/// `Referer` (if any) is on its domains and a collector-token secret is configured.
pub async fn handle<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> EdgeResponse {
    let now = app.clock.now_ms();
    let mut token = None;
    if let Ok(org) = super::respond::query_organization(req) {
        let needs = Needs {
            origin: OriginPolicy::IfPresent,
            feature: None,
            counts_event: false,
        };
        // The test itself needs no organization; a failed check only means no CORS headers
        // and no token.
        match authorize(app, req, ctx, &org, needs).await {
            Ok(_) => {
                token = app
                    .config
                    .collector_token_secret
                    .as_ref()
                    .map(|s| impressio::behavior::token::issue(s.expose().as_bytes(), &org, now));
            }
            Err(e) => tracing::debug!(request_id = %ctx.request_id, error = %e, "cookie test without CORS"),
        }
    }
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
    if let Some(t) = token {
        body["token"] = json!(t);
    }
    let mut resp = super::respond::json(200, &body);
    resp.headers.push(("Set-Cookie".into(), cookie.to_string()));
    super::respond::for_method(req, resp)
}
