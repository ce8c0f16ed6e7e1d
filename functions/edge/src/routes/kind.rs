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
    classify_path(&req.path)
}

/// Which route a path names (any path that names no other route is the pixel's).
pub fn classify_path(path: &str) -> RouteKind {
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
