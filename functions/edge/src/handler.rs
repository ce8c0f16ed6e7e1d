//! Answering one request: the origin check, the header limit, the route, the error answers
//! (the one place an [`EdgeError`] becomes a status and a body), CORS, cookies,
//! `X-Request-Id`, the log line and the request's metrics.

use impressio::behavior::store::BehaviorStore;
use std::time::Instant;

use impressio::event::EventStore;
use impressio::http::{EdgeRequest, EdgeResponse, MAX_REQUEST_HEADERS};
use impressio::identity::IdentityStore;
use impressio::org::OrganizationDirectory;
use tracing::Instrument;

use crate::access::{cors_headers, RequestCtx};
use crate::app::{App, ORIGIN_VERIFY_HEADER};
use crate::error::EdgeError;
use crate::routes;
use crate::telemetry;

impl<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore> App<S, D, I, B> {
    /// Answers one request. Never fails: every error becomes a response with its status and
    /// a JSON body (or the pixel). Every response carries `X-Request-Id`; answers for an
    /// allowed `Origin` carry CORS headers, and answers that depend on it `Vary: Origin`.
    ///
    /// Everything logged while answering is inside a `request` span whose `request_id` is
    /// the `X-Request-Id`, so every log line of the request carries it; the request's
    /// metrics ([`telemetry`]) are written when the answer is ready.
    pub async fn handle(&self, req: EdgeRequest) -> EdgeResponse {
        let started = Instant::now();
        let ctx = RequestCtx {
            request_id: uuid::Uuid::now_v7().to_string(),
            ..RequestCtx::default()
        };
        // At error level, so the span is kept whatever level RUST_LOG lets through.
        let span = tracing::error_span!("request", request_id = %ctx.request_id);
        self.answer(req, ctx, started).instrument(span).await
    }

    /// Checks CloudFront's secret origin header ([`ORIGIN_VERIFY_HEADER`]) on a request that
    /// came through the Function URL, when secrets are configured (constant-time comparison
    /// with each secret). The CloudFront origin-request event arrives through the Lambda
    /// invoke API, which IAM already guards, so it is not checked.
    ///
    /// # Errors
    /// [`EdgeError::OriginNotVerified`] when the header is missing or matches no secret.
    fn origin_verified(&self, req: &EdgeRequest) -> Result<(), EdgeError> {
        use subtle::ConstantTimeEq;
        let secrets = &self.config.origin_verify_secrets;
        if secrets.is_empty() || req.source != impressio::http::RequestSource::FunctionUrl {
            return Ok(());
        }
        let presented = req.header(ORIGIN_VERIFY_HEADER).unwrap_or_default();
        let mut ok = subtle::Choice::from(0u8);
        for s in secrets {
            ok |= s.expose().as_bytes().ct_eq(presented.as_bytes());
        }
        if bool::from(ok) {
            Ok(())
        } else {
            Err(EdgeError::OriginNotVerified)
        }
    }

    async fn answer(&self, req: EdgeRequest, mut ctx: RequestCtx, started: Instant) -> EdgeResponse {
        let route = routes::classify(&req);
        // The routes' state lives on the heap: tens of KB that would otherwise be copied
        // through every caller's stack frame (in debug builds, once per await).
        let answer = match self.origin_verified(&req).and_then(|()| within_header_limit(&req)) {
            Ok(()) => Box::pin(routes::dispatch(self, route, &req, &mut ctx)).await,
            // A pixel is answered with the GIF whatever went wrong: an `<img>` gets an image.
            Err(e)
                if route == routes::RouteKind::Pixel
                    && (req.method == http::Method::GET || req.method == http::Method::HEAD) =>
            {
                tracing::warn!(request_id = %ctx.request_id, error = %e, "pixel request refused");
                Ok(routes::for_method(
                    &req,
                    routes::pixel::gif(e.status(), "rejected", Some(e.code())),
                ))
            }
            Err(e) => Err(e),
        };
        let mut resp = match answer {
            Ok(resp) => resp,
            Err(err) => error_response(&err, &ctx.request_id),
        };
        if ctx.varies_by_origin {
            resp.headers.push(("Vary".into(), "Origin".into()));
        }
        if let Some(origin) = &ctx.cors_origin {
            resp.headers.extend(cors_headers(origin));
        }
        // A refused request (4xx) sets no cookie: a domainprint minted for a request that
        // was blocked, rate limited or invalid is not handed out. A failure of ours (5xx)
        // keeps it, so that the retry does not make another visitor.
        if !(400..500).contains(&resp.status) {
            for cookie in ctx.set_cookies.drain(..) {
                resp.headers.push(("Set-Cookie".into(), cookie));
            }
        }
        resp.headers.push(("X-Request-Id".into(), ctx.request_id.clone()));
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            request_id = %ctx.request_id,
            route = route.name(),
            method = %req.method,
            status = resp.status,
            source = req.source.as_str(),
            latency_ms,
            "request answered"
        );
        self.metrics.emit(
            self.clock.now_ms(),
            &telemetry::request_metrics(telemetry::route_dimension(route, &req.method), &ctx, latency_ms),
            &telemetry::request_properties(&ctx, resp.status),
        );
        resp
    }
}

/// Refuses a request with more than [`MAX_REQUEST_HEADERS`] headers.
///
/// # Errors
/// [`EdgeError::TooManyHeaders`] (431).
fn within_header_limit(req: &EdgeRequest) -> Result<(), EdgeError> {
    match req.headers.len() {
        n if n > MAX_REQUEST_HEADERS => Err(EdgeError::TooManyHeaders { count: n }),
        _ => Ok(()),
    }
}

/// The JSON error response of `err`; failures of a dependency are logged with their cause
/// here and answered with `Retry-After`.
pub fn error_response(err: &EdgeError, request_id: &str) -> EdgeResponse {
    let status = err.status();
    match err {
        EdgeError::DirectoryUnavailable { reason, .. } => {
            tracing::error!(request_id, error = %err, reason = %reason, "request failed")
        }
        _ if status >= 500 => tracing::error!(request_id, error = %err, "request failed"),
        _ => tracing::warn!(request_id, error = %err, code = err.code(), "request refused"),
    }
    let mut resp = routes::json(status, &err.body(request_id));
    if let EdgeError::MethodNotAllowed { allow, .. } = err {
        resp.headers.push(("Allow".into(), (*allow).into()));
    }
    if let Some(challenge) = err.www_authenticate() {
        resp.headers.push(("WWW-Authenticate".into(), challenge.into()));
    }
    if let Some(secs) = err.retry_after() {
        resp.headers.push(("Retry-After".into(), secs.to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_key_refusals_are_401_with_a_bearer_challenge_and_no_other_error_has_one() {
        let required = error_response(
            &EdgeError::ServerKeyRequired {
                reason: "the Bearer credential has no token",
            },
            "rid",
        );
        assert_eq!(required.status, 401);
        assert_eq!(required.header("www-authenticate"), Some(r#"Bearer realm="impressio""#));
        let body: serde_json::Value = serde_json::from_slice(&required.body).unwrap();
        assert_eq!(body["error"], "server_key_required");
        assert!(body["message"].as_str().unwrap().contains("no token"));

        let rejected = error_response(&EdgeError::ServerKeyRejected, "rid");
        assert_eq!(rejected.status, 401);
        assert_eq!(
            rejected.header("www-authenticate"),
            Some(r#"Bearer realm="impressio", error="invalid_token""#)
        );
        let body: serde_json::Value = serde_json::from_slice(&rejected.body).unwrap();
        assert_eq!(body["error"], "invalid_server_key");

        let forbidden = error_response(&EdgeError::OriginRequired, "rid");
        assert_eq!((forbidden.status, forbidden.header("www-authenticate")), (403, None));
    }
}
