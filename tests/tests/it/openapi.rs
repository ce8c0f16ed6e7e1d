//! `docs/openapi.yaml` against the implementation: every documented operation is routed to the
//! route that takes its method, every route (but the pixel's catch-all) is documented with each
//! of its methods, the Server API's operations need the API key and the public ones do not,
//! and the error codes the document lists are exactly the ones the edge answers. Whether the
//! running edge's answers match the document is schemathesis's part (`stack::schemathesis`).

use std::collections::BTreeSet;

use edge::routes::{classify_path, ApiRoute, RouteKind};
use serde_json::Value;

fn spec() -> Value {
    let text = std::fs::read_to_string(tools::workspace_root().join("docs/openapi.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// A documented path with example values in its parameters.
fn concrete(path: &str) -> String {
    path.replace("{requestId}", "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7b")
        .replace("{visitorId}", "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7c")
        .replace("{deletionId}", "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7d")
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Every route with the methods it takes (but OPTIONS and HEAD, which every route answers).
fn routes() -> Vec<RouteKind> {
    vec![
        RouteKind::Track,
        RouteKind::Campaign,
        RouteKind::CookieTest,
        RouteKind::Script,
        RouteKind::ProScript,
        RouteKind::ServiceWorker,
        RouteKind::Pixel,
        RouteKind::Api(ApiRoute::Event),
        RouteKind::Api(ApiRoute::Feedback),
        RouteKind::Api(ApiRoute::Visitor),
        RouteKind::Api(ApiRoute::Deletion),
    ]
}

fn methods_of(route: RouteKind) -> BTreeSet<String> {
    route
        .allow()
        .split(", ")
        .filter(|m| *m != "OPTIONS" && *m != "HEAD")
        .map(str::to_ascii_lowercase)
        .collect()
}

#[test]
fn every_documented_operation_is_a_route_that_takes_its_method_and_every_route_is_documented() {
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    let mut documented: Vec<(RouteKind, BTreeSet<String>)> = Vec::new();
    for (path, item) in paths {
        let route = classify_path(&concrete(path));
        let methods: BTreeSet<String> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_string())
            .collect();
        assert!(!methods.is_empty(), "{path} documents no operation");
        assert_ne!(route, RouteKind::Api(ApiRoute::Unknown), "{path} is no route");
        assert!(
            route != RouteKind::Pixel || path == "/p.gif",
            "{path} would be answered by the pixel"
        );
        assert_eq!(methods, methods_of(route), "{path}: documented methods vs the route's");
        for m in &methods {
            let op = &item[m.as_str()];
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                path.starts_with("/v1/"),
                "{m} {path}: the API key is for /v1/ only"
            );
            assert!(
                op["operationId"].is_string() && op["responses"].is_object(),
                "{m} {path}"
            );
        }
        documented.push((route, methods));
    }
    for route in routes() {
        assert!(
            documented.iter().any(|(r, _)| *r == route),
            "{} is not documented",
            route.name()
        );
    }
}

#[test]
fn the_documented_error_codes_are_the_ones_the_edge_answers() {
    let spec = spec();
    let documented: BTreeSet<String> = spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // The codes `EdgeError::code` returns: the string literals of its body.
    let source = std::fs::read_to_string(tools::workspace_root().join("functions/edge/src/error.rs")).unwrap();
    let start = source.find("pub fn code(&self)").unwrap();
    let end = start + source[start..].find("\n    }\n").unwrap();
    let answered: BTreeSet<String> = source[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.contains(' '))
        .map(str::to_string)
        .filter(|s| !["event", "visitor", "deletion"].contains(&s.as_str()))
        .collect();
    assert_eq!(
        documented, answered,
        "docs/openapi.yaml's Error.error vs EdgeError::code"
    );
}
