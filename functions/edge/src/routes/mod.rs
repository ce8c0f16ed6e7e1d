//! Route table and the response helpers the routes share.
//!
//! | route          | methods            | answer                                           |
//! |----------------|--------------------|--------------------------------------------------|
//! | `/t`           | `POST`             | JSON event validated and stored                  |
//! | `/c`           | `POST`             | campaign attribution parsed and stored           |
//! | `/cookie-test` | `GET`, `HEAD`      | sets a first-party cookie, reports the last one  |
//! | `/h.js`        | `GET`, `HEAD`      | the collector script                             |
//! | anything else  | `GET`, `HEAD`      | the 43-byte transparent GIF; `GET` stores        |
//! | any            | `OPTIONS`          | `204` with `Allow`                               |

pub mod campaign;
pub mod cookie_test;
pub mod pixel;
pub mod script;
pub mod track;

use http::Method;
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::store::EventStore;

use crate::app::App;
use crate::error::EdgeError;

/// The route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Track,
    Campaign,
    CookieTest,
    Script,
    Pixel,
}

impl RouteKind {
    /// Name used in logs and summaries.
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Track => "/t",
            RouteKind::Campaign => "/c",
            RouteKind::CookieTest => "/cookie-test",
            RouteKind::Script => "/h.js",
            RouteKind::Pixel => "pixel",
        }
    }

    /// The methods the route takes (for `Allow`).
    pub fn allow(self) -> &'static str {
        match self {
            RouteKind::Track | RouteKind::Campaign => "POST, OPTIONS",
            _ => "GET, HEAD, OPTIONS",
        }
    }
}

/// Which route a request's path names.
pub fn classify(req: &EdgeRequest) -> RouteKind {
    match req.path.as_str() {
        "/t" => RouteKind::Track,
        "/c" => RouteKind::Campaign,
        "/cookie-test" => RouteKind::CookieTest,
        "/h.js" => RouteKind::Script,
        _ => RouteKind::Pixel,
    }
}

/// Runs the route's handler for the request's method.
pub async fn dispatch<S: EventStore>(
    app: &App<S>,
    route: RouteKind,
    req: &EdgeRequest,
    request_id: &str,
) -> Result<EdgeResponse, EdgeError> {
    let m = &req.method;
    if m == Method::OPTIONS {
        return Ok(EdgeResponse {
            status: 204,
            headers: vec![("Allow".into(), route.allow().into())],
            body: Vec::new(),
        });
    }
    let get = m == Method::GET || m == Method::HEAD;
    match route {
        RouteKind::Track if m == Method::POST => track::handle(app, req, request_id).await,
        RouteKind::Campaign if m == Method::POST => campaign::handle(app, req, request_id).await,
        RouteKind::CookieTest if get => Ok(cookie_test::handle(app, req)),
        RouteKind::Script if get => script::handle(req),
        RouteKind::Pixel if get => Ok(pixel::handle(app, req, request_id).await),
        _ => Err(EdgeError::MethodNotAllowed {
            method: m.to_string(),
            path: req.path.clone(),
            allow: route.allow(),
        }),
    }
}

/// A JSON response with `Cache-Control: no-store`.
pub fn json(status: u16, body: &serde_json::Value) -> EdgeResponse {
    EdgeResponse {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Cache-Control".into(), "no-store".into()),
        ],
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// Drops the body of a response to a `HEAD` request, keeping its headers.
pub fn for_method(req: &EdgeRequest, mut resp: EdgeResponse) -> EdgeResponse {
    if req.method == Method::HEAD {
        resp.body.clear();
    }
    resp
}
