//! Route table and the response helpers the routes share.
//!
//! | route          | methods       | plan feature | answer                                          |
//! |----------------|---------------|--------------|-------------------------------------------------|
//! | `/t`           | `POST`        | —            | JSON event validated and stored                 |
//! | `/t` + `Authorization: Bearer <server key>` | `POST` | ssr (enterprise) | server-side event: the end user in `forwarded`, stored as `server_side` |
//! | `/c`           | `POST`        | campaigns    | campaign attribution parsed and stored          |
//! | `/cookie-test` | `GET`, `HEAD` | —            | sets a first-party cookie, reports the last one |
//! | `/h.js`        | `GET`, `HEAD` | —            | the collector script                            |
//! | `/h-pro.js`    | `GET`, `HEAD` | behavioral   | the collector with the behavioral bundle        |
//! | `/sw.js`       | `GET`, `HEAD` | service worker | the service worker's code (imported)          |
//! | anything else  | `GET`, `HEAD` | —            | the 43-byte transparent GIF; `GET` stores       |
//! | any            | `OPTIONS`     | —            | CORS preflight (`204`), or `204` with `Allow`   |
//! | `/v1/…`        | see [`api`]   | — (API key)  | the Server API: JSON, never CORS                |
//!
//! Server-side events share `/t` (the route table is fixed): the `Authorization` header is what
//! makes a call server-side. It needs the organization's server key, the enterprise plan and a
//! `forwarded` end user; it is answered without CORS headers or cookie, and refused with `401`
//! and `WWW-Authenticate: Bearer` without a valid key (see [`track`]).

pub mod api;
pub mod campaign;
pub mod cookie_test;
pub mod kind;
pub mod pixel;
pub mod preflight;
pub mod respond;
pub mod script;
pub mod track;

pub use kind::{classify, classify_path, ApiRoute, RouteKind};
pub use respond::{for_method, json, query_organization};

use http::Method;
use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::identity::IdentityStore;
use impressio::org::OrganizationDirectory;

use crate::access::RequestCtx;
use crate::app::App;
use crate::error::EdgeError;
use script::Script;

/// The route a request is for.
/// Runs the route's handler for the request's method.
pub async fn dispatch<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    route: RouteKind,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<EdgeResponse, EdgeError> {
    let m = &req.method;
    if let RouteKind::Api(api_route) = route {
        return api::handle(app, api_route, req, ctx).await;
    }
    if m == Method::OPTIONS {
        return preflight::handle(app, route, req, ctx).await;
    }
    let get = m == Method::GET || m == Method::HEAD;
    match route {
        RouteKind::Track if m == Method::POST => track::handle(app, req, ctx).await,
        RouteKind::Campaign if m == Method::POST => campaign::handle(app, req, ctx).await,
        RouteKind::CookieTest if get => Ok(cookie_test::handle(app, req, ctx).await),
        RouteKind::Script if get => script::handle(app, req, ctx, Script::Collector).await,
        RouteKind::ProScript if get => script::handle(app, req, ctx, Script::Behavioral).await,
        RouteKind::ServiceWorker if get => script::handle(app, req, ctx, Script::ServiceWorker).await,
        RouteKind::Pixel if get => Ok(pixel::handle(app, req, ctx).await),
        _ => Err(EdgeError::MethodNotAllowed {
            method: m.to_string(),
            path: req.path.clone(),
            allow: route.allow(),
        }),
    }
}
