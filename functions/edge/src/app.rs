//! The application: configuration and adapters built once, then one `handle` per request.

use std::sync::Arc;

use impressio::config::EdgeConfig;
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::store::EventStore;

pub use impressio::clock::{Clock, SystemClock};

use crate::error::EdgeError;
use crate::routes;

/// The edge function's state, shared by every invocation of a warm container.
pub struct App<S> {
    /// Parsed configuration.
    pub config: EdgeConfig,
    /// Where events are written.
    pub store: S,
    /// Time source.
    pub clock: Arc<dyn Clock>,
}

impl<S: EventStore> App<S> {
    /// An app with the system clock.
    pub fn new(config: EdgeConfig, store: S) -> Self {
        App {
            config,
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// Answers one request. Never fails: every error becomes a response with its status and
    /// a JSON body (or the pixel). Every response carries `X-Request-Id`.
    pub async fn handle(&self, req: EdgeRequest) -> EdgeResponse {
        let request_id = uuid::Uuid::now_v7().to_string();
        let route = routes::classify(&req);
        let mut resp = match routes::dispatch(self, route, &req, &request_id).await {
            Ok(resp) => resp,
            Err(err) => error_response(&err, &request_id),
        };
        resp.headers
            .push(("X-Request-Id".into(), request_id.clone()));
        tracing::info!(
            request_id = %request_id,
            route = route.name(),
            method = %req.method,
            status = resp.status,
            source = req.source.as_str(),
            "request answered"
        );
        resp
    }
}

/// The JSON error response of `err`; storage failures are logged with their cause here and
/// answered with `Retry-After`.
pub fn error_response(err: &EdgeError, request_id: &str) -> EdgeResponse {
    let status = err.status();
    if status >= 500 {
        tracing::error!(request_id, error = %err, "request failed");
    } else {
        tracing::warn!(request_id, error = %err, code = err.code(), "request refused");
    }
    let mut resp = routes::json(status, &err.body(request_id));
    match err {
        EdgeError::MethodNotAllowed { allow, .. } => {
            resp.headers.push(("Allow".into(), (*allow).into()))
        }
        EdgeError::Store(_) => resp.headers.push(("Retry-After".into(), "1".into())),
        _ => {}
    }
    resp
}

/// Builds an [`EdgeResponse`] for a malformed event that never became a request.
pub fn malformed_event_response(message: impl Into<String>) -> EdgeResponse {
    let request_id = uuid::Uuid::now_v7().to_string();
    let mut resp = error_response(&EdgeError::MalformedEvent(message.into()), &request_id);
    resp.headers.push(("X-Request-Id".into(), request_id));
    resp
}
