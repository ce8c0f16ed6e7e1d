//! The edge's metrics, in CloudWatch Embedded Metric Format (see [`impressio::metrics`]):
//! written once per request, when its answer is ready, as one JSON line on stdout.
//!
//! | metric | unit | dimensions | recorded |
//! |--------|------|------------|----------|
//! | `RequestLatency` | Milliseconds | `Route` | every request: from the handler's start to its answer |
//! | `Events` | Count | `Route`, `RiskLevel`, `Action` | every event scored and stored (`/t`, `/c`, pixel), refused or not |
//! | `Blocks` | Count | `Trigger` | every enforced block (its block trigger, or `risk_score`) and every blacklist hit (`blacklisted`) |
//! | `DuplicateMessages` | Count | `Route` | every repeat of a stored `messageId`, answered and not stored again |
//!
//! `Route` is `/t`, `/c`, `/cookie-test`, `/h.js`, `/h-pro.js`, `/sw.js` or `pixel` (any other
//! path), and `preflight` for any `OPTIONS` request (so CORS preflights do not skew the
//! routes' latency); `RiskLevel` is `low`, `medium`, `high` or `critical`; `Action` is the assessment's
//! `allow`, `monitor`, `captcha` or `block`, enforced or not (observation mode and the pixel
//! record `block` without refusing); `Trigger` is a block trigger name (`ja4_mismatch`,
//! `credential_stuffing`, …), `risk_score` or `blacklisted`. A blacklist hit is answered
//! `429` on `/t` and `/c`; the pixel still answers its GIF (`X-Tracking-Status: rejected`).
//! Blacklisted requests are not scored, so they count in `Blocks` only.
//!
//! Every dimension takes its values from those small fixed sets. The properties (searchable
//! in CloudWatch Logs Insights, never dimensions) are `RequestId`, `Status` (the HTTP
//! status) and, for events, `OrganizationId`.

use http::Method;
use impressio::metrics::{MetricSet, Unit};
use serde_json::{json, Value};

use crate::access::RequestCtx;
use crate::routes::RouteKind;

/// The `Route` dimension of a request for `route` with `method`.
pub fn route_dimension(route: RouteKind, method: &Method) -> &'static str {
    if method == Method::OPTIONS {
        "preflight"
    } else {
        route.name()
    }
}

/// The metric sets of one answered request on `route` (a [`route_dimension`]), `latency_ms`
/// after it arrived.
pub fn request_metrics(route: &'static str, ctx: &RequestCtx, latency_ms: f64) -> Vec<MetricSet> {
    let mut sets =
        vec![MetricSet::new()
            .dimension("Route", route)
            .values("RequestLatency", Unit::Milliseconds, [latency_ms])];
    if let Some((level, action)) = ctx.scored {
        sets.push(
            MetricSet::new()
                .dimension("Route", route)
                .dimension("RiskLevel", level.as_str())
                .dimension("Action", action.as_str())
                .count("Events", 1),
        );
    }
    if ctx.duplicate {
        sets.push(MetricSet::new().dimension("Route", route).count("DuplicateMessages", 1));
    }
    if let Some(trigger) = &ctx.blocked_by {
        sets.push(
            MetricSet::new()
                .dimension("Trigger", trigger.as_str())
                .count("Blocks", 1),
        );
    }
    sets
}

/// The properties of one answered request's metric document.
pub fn request_properties(ctx: &RequestCtx, status: u16) -> Vec<(&'static str, Value)> {
    let mut properties = vec![("RequestId", json!(ctx.request_id)), ("Status", json!(status))];
    if let Some(org) = &ctx.organization_id {
        properties.push(("OrganizationId", json!(org)));
    }
    properties
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use impressio::fraud::{Action, Level};
    use impressio::metrics::{documents, extract, Datapoints};

    use super::*;

    fn points(route: RouteKind, ctx: &RequestCtx, status: u16) -> (Vec<Value>, Vec<Datapoints>) {
        let docs = documents(
            "Impressio",
            1,
            &request_metrics(route.name(), ctx, 4.5),
            &request_properties(ctx, status),
        )
        .unwrap();
        let points = docs.iter().flat_map(extract).collect();
        (docs, points)
    }

    fn dims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_request_without_an_event_records_its_latency_only() {
        let ctx = RequestCtx {
            request_id: "rid".into(),
            ..RequestCtx::default()
        };
        let (docs, points) = points(RouteKind::Script, &ctx, 200);
        assert_eq!(docs.len(), 1);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].name, "RequestLatency");
        assert_eq!(points[0].unit.as_deref(), Some("Milliseconds"));
        assert_eq!(points[0].dimensions, dims(&[("Route", "/h.js")]));
        assert_eq!(points[0].values, [4.5]);
        assert_eq!(
            (&docs[0]["RequestId"], &docs[0]["Status"]),
            (&json!("rid"), &json!(200))
        );
        assert!(docs[0].get("OrganizationId").is_none());
    }

    #[test]
    fn a_blocked_event_is_one_document_with_its_level_action_and_trigger() {
        let ctx = RequestCtx {
            request_id: "rid".into(),
            organization_id: Some("org_demo_pro".into()),
            scored: Some((Level::Critical, Action::Block)),
            blocked_by: Some("ja4_mismatch".into()),
            ..RequestCtx::default()
        };
        let (docs, points) = points(RouteKind::Track, &ctx, 403);
        assert_eq!(docs.len(), 1, "one line per request");
        assert_eq!(docs[0]["OrganizationId"], "org_demo_pro");
        let by_name = |n: &str| points.iter().find(|p| p.name == n).unwrap();
        assert_eq!(
            by_name("Events").dimensions,
            dims(&[("Route", "/t"), ("RiskLevel", "critical"), ("Action", "block")])
        );
        assert_eq!(by_name("Events").values, [1.0]);
        assert_eq!(by_name("Events").unit.as_deref(), Some("Count"));
        assert_eq!(by_name("Blocks").dimensions, dims(&[("Trigger", "ja4_mismatch")]));
        assert_eq!(by_name("RequestLatency").dimensions, dims(&[("Route", "/t")]));
        // The organization is a property, never a dimension.
        assert!(points.iter().all(|p| !p.dimensions.contains_key("OrganizationId")));
    }

    #[test]
    fn a_blacklisted_pixel_counts_a_block_and_no_event() {
        let ctx = RequestCtx {
            request_id: "rid".into(),
            blocked_by: Some("blacklisted".into()),
            ..RequestCtx::default()
        };
        let (_, points) = points(RouteKind::Pixel, &ctx, 200);
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["RequestLatency", "Blocks"]);
        assert_eq!(points[0].dimensions, dims(&[("Route", "pixel")]));
        assert_eq!(points[1].dimensions, dims(&[("Trigger", "blacklisted")]));
    }

    #[test]
    fn a_repeated_message_counts_a_duplicate_and_no_event() {
        let ctx = RequestCtx {
            request_id: "rid".into(),
            organization_id: Some("org".into()),
            duplicate: true,
            ..RequestCtx::default()
        };
        let (_, points) = points(RouteKind::Track, &ctx, 200);
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["RequestLatency", "DuplicateMessages"]);
        assert_eq!(points[1].dimensions, dims(&[("Route", "/t")]));
        assert_eq!(points[1].values, [1.0]);
    }

    #[test]
    fn preflights_have_a_route_of_their_own() {
        assert_eq!(route_dimension(RouteKind::Track, &Method::OPTIONS), "preflight");
        assert_eq!(route_dimension(RouteKind::Track, &Method::POST), "/t");
        assert_eq!(route_dimension(RouteKind::Pixel, &Method::HEAD), "pixel");
    }
}
