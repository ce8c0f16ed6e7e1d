//! Which route a request names.

use impressio::http::EdgeRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Track,
    Campaign,
    CookieTest,
    Script,
    ProScript,
    ServiceWorker,
    Pixel,
    /// A Server API path (`/v1/…`).
    Api(ApiRoute),
}

/// The Server API's routes (`/v1/…`, see [`super::api`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRoute {
    /// `/v1/events/{requestId}`.
    Event,
    /// `/v1/events/{requestId}/feedback`.
    Feedback,
    /// `/v1/visitors/{visitorId}`.
    Visitor,
    /// `/v1/deletions/{deletionId}`.
    Deletion,
    /// Any other path under `/v1/`.
    Unknown,
}

impl ApiRoute {
    /// The route of a path under `/v1/` (`segments`: the path's parts after `v1`).
    fn of(segments: &[&str]) -> Self {
        match segments {
            ["events", id] if !id.is_empty() => ApiRoute::Event,
            ["events", id, "feedback"] if !id.is_empty() => ApiRoute::Feedback,
            ["visitors", id] if !id.is_empty() => ApiRoute::Visitor,
            ["deletions", id] if !id.is_empty() => ApiRoute::Deletion,
            _ => ApiRoute::Unknown,
        }
    }
}

impl RouteKind {
    /// Name used in logs and summaries.
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Track => "/t",
            RouteKind::Campaign => "/c",
            RouteKind::CookieTest => "/cookie-test",
            RouteKind::Script => "/h.js",
            RouteKind::ProScript => "/h-pro.js",
            RouteKind::ServiceWorker => "/sw.js",
            RouteKind::Pixel => "pixel",
            RouteKind::Api(ApiRoute::Event) => "/v1/events/{requestId}",
            RouteKind::Api(ApiRoute::Feedback) => "/v1/events/{requestId}/feedback",
            RouteKind::Api(ApiRoute::Visitor) => "/v1/visitors/{visitorId}",
            RouteKind::Api(ApiRoute::Deletion) => "/v1/deletions/{deletionId}",
            RouteKind::Api(ApiRoute::Unknown) => "/v1/unknown",
        }
    }

    /// The methods the route takes (for `Allow`).
    pub fn allow(self) -> &'static str {
        match self {
            RouteKind::Track | RouteKind::Campaign | RouteKind::Api(ApiRoute::Feedback) => "POST, OPTIONS",
            RouteKind::Api(ApiRoute::Unknown) => "OPTIONS",
            RouteKind::Api(ApiRoute::Visitor) => "GET, HEAD, DELETE, OPTIONS",
            _ => "GET, HEAD, OPTIONS",
        }
    }
}

/// Which route a request's path names.
pub fn classify(req: &EdgeRequest) -> RouteKind {
    classify_path(&req.path)
}

/// Which route a path names (any path that names no other route, and is not under `/v1/`, is
/// the pixel's).
pub fn classify_path(path: &str) -> RouteKind {
    if let Some(rest) = path.strip_prefix("/v1/") {
        let segments: Vec<&str> = rest.split('/').collect();
        return RouteKind::Api(ApiRoute::of(&segments));
    }
    match path {
        "/t" => RouteKind::Track,
        "/c" => RouteKind::Campaign,
        "/cookie-test" => RouteKind::CookieTest,
        "/h.js" => RouteKind::Script,
        "/h-pro.js" => RouteKind::ProScript,
        "/sw.js" => RouteKind::ServiceWorker,
        _ => RouteKind::Pixel,
    }
}
