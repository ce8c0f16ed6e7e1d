//! The Lambda entrypoint: one handler for both event shapes.
//!
//! - A CloudFront origin-request event (`Records[0].cf`) is parsed with our own serde types
//!   and answered with a CloudFront generated response.
//! - Anything else is read as a Lambda Function URL / API Gateway v2 request through
//!   `lambda_http`, and answered in that shape by `lambda_http`'s adapter.
//! - A payload that is neither gets a `400` in the Function URL response shape.

use std::net::IpAddr;

use base64::Engine;
use impressio::http::cloudfront::{CloudFrontEvent, CloudFrontResponse};
use impressio::http::{EdgeRequest, EdgeResponse, RequestSource};
use impressio::identity::IdentityStore;
use impressio::org::OrganizationDirectory;
use impressio::store::EventStore;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Body, Context, LambdaEvent, RequestExt, Service};
use serde_json::Value;

use crate::app::{malformed_event_response, App};

/// Answers one raw Lambda payload (JSON text) in the shape it came in.
///
/// # Errors
/// Only when the response cannot be serialized, which does not happen for the shapes built
/// here; bad input is always answered with a 4xx.
pub async fn handle_payload<S: EventStore, D: OrganizationDirectory, I: IdentityStore>(
    app: &App<S, D, I>,
    payload: &str,
    context: Context,
) -> Result<Value, lambda_http::Error> {
    let value: Value = match serde_json::from_str(payload) {
        Ok(v) => v,
        Err(e) => return http_shape(malformed_event_response(format!("the event is not JSON: {e}"))),
    };
    if CloudFrontEvent::is_cloudfront_payload(&value) {
        let resp = match serde_json::from_value::<CloudFrontEvent>(value)
            .map_err(|e| format!("not a CloudFront request event: {e}"))
            .and_then(|ev| ev.into_edge_request().map_err(|e| e.to_string()))
        {
            Ok(req) => app.handle(req).await,
            Err(msg) => malformed_event_response(msg),
        };
        return Ok(serde_json::to_value(CloudFrontResponse::from(resp))?);
    }
    let request: LambdaRequest = match serde_json::from_str(payload) {
        Ok(r) => r,
        Err(e) => {
            return http_shape(malformed_event_response(format!(
                "expected a Lambda Function URL (API Gateway v2) request or a CloudFront origin-request event: {e}"
            )))
        }
    };
    let mut adapter = lambda_http::Adapter::from(lambda_http::service_fn(|req: lambda_http::Request| async move {
        let resp = app.handle(from_http(req)).await;
        to_http(resp)
    }));
    std::future::poll_fn(|cx| adapter.poll_ready(cx)).await?;
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}

/// The internal request of a `lambda_http` request.
pub fn from_http(req: lambda_http::Request) -> EdgeRequest {
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok()),
        _ => None,
    };
    let path = req.raw_http_path().to_string();
    let path = if path.is_empty() {
        req.uri().path().to_string()
    } else {
        path
    };
    let (parts, body) = req.into_parts();
    let body = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    EdgeRequest::new(
        RequestSource::FunctionUrl,
        parts.method,
        &path,
        parts.uri.query().unwrap_or(""),
        parts.headers,
        body,
        false,
        source_ip,
        None,
    )
}

/// The `lambda_http` response of an [`EdgeResponse`] (binary bodies travel base64-encoded).
pub fn to_http(resp: EdgeResponse) -> Result<lambda_http::Response<Body>, lambda_http::http::Error> {
    let binary = resp.is_binary();
    let mut builder = lambda_http::Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = if resp.body.is_empty() {
        Body::Empty
    } else if binary {
        Body::Binary(resp.body)
    } else {
        Body::Text(String::from_utf8_lossy(&resp.body).into_owned())
    };
    builder.body(body)
}

/// A response in the Function URL (API Gateway v2) shape, for payloads that never became a
/// request.
fn http_shape(resp: EdgeResponse) -> Result<Value, lambda_http::Error> {
    let binary = resp.is_binary();
    let mut headers = serde_json::Map::new();
    for (k, v) in &resp.headers {
        headers.insert(k.to_ascii_lowercase(), Value::String(v.clone()));
    }
    let body = if binary {
        base64::engine::general_purpose::STANDARD.encode(&resp.body)
    } else {
        String::from_utf8_lossy(&resp.body).into_owned()
    };
    Ok(serde_json::json!({
        "statusCode": resp.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": binary,
    }))
}
