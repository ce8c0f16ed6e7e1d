//! The Lambda entrypoint: one handler for both event shapes.
//!
//! The runtime hands over the payload as JSON text it has already checked is JSON (a payload
//! that is not JSON never reaches the function: the runtime reports it as an invocation
//! error). Then:
//! - a CloudFront origin-request event (`Records[0].cf`) is parsed with our own serde types
//!   ([`impressio::http::cloudfront`]) and answered with a CloudFront generated response;
//! - anything else is read as a Lambda Function URL request (payload format 2.0,
//!   [`impressio::http::function_url`]) and answered in that shape;
//! - an event of neither shape, or one that cannot be a request (an invalid method or header,
//!   a body that is not the base64 it claims), gets `400 malformed_event` in the shape it came
//!   in — or, when it is recognizably a `GET` or `HEAD` of the pixel, the pixel's GIF with
//!   `400` and `X-Tracking-Status: rejected`: an `<img>` always gets an image.

use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::http::cloudfront::{CloudFrontEvent, CloudFrontResponse};
use impressio::http::function_url::{self, FunctionUrlResponse};
use impressio::http::EdgeResponse;
use impressio::identity::IdentityStore;
use impressio::org::OrganizationDirectory;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::app::App;
use crate::handler::malformed_event_response;
use crate::routes::{classify_path, pixel, RouteKind};

/// Answers one Lambda payload in the shape it came in. Never fails: bad input is answered
/// with a 4xx.
pub async fn handle_payload<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    payload: &RawValue,
) -> Value {
    let text = payload.get();
    let probe: Probe = serde_json::from_str(text).unwrap_or_default();
    if probe.is_cloudfront() {
        let resp = match serde_json::from_str::<CloudFrontEvent>(text)
            .map_err(|e| {
                format!(
                    "not a CloudFront request event: {}",
                    impressio::http::input_free_error(&e)
                )
            })
            .and_then(|ev| ev.into_edge_request().map_err(|e| e.to_string()))
        {
            Ok(req) => app.handle(req).await,
            Err(msg) => refused(request_line(text, true), msg),
        };
        return to_value(&CloudFrontResponse::from(resp));
    }
    let resp = match function_url::parse(text) {
        Ok(req) => app.handle(req).await,
        Err(e) => refused(request_line(text, false), e.to_string()),
    };
    to_value(&FunctionUrlResponse::from(resp))
}

/// The answer to an event that never became a request: the pixel's GIF for a `GET` or
/// `HEAD` of the pixel's paths, else `400 malformed_event`.
fn refused(line: Option<(String, String)>, message: String) -> EdgeResponse {
    let mut resp = malformed_event_response(message);
    let pixel_get = line.is_some_and(|(method, path)| {
        matches!(method.to_ascii_uppercase().as_str(), "GET" | "HEAD") && classify_path(&path) == RouteKind::Pixel
    });
    if pixel_get {
        let mut gif = pixel::gif(400, "rejected", Some("malformed_event"));
        gif.headers
            .extend(resp.headers.drain(..).filter(|(k, _)| k == "X-Request-Id"));
        return gif;
    }
    resp
}

fn to_value<T: serde::Serialize>(resp: &T) -> Value {
    serde_json::to_value(resp).unwrap_or_else(|e| {
        // Both shapes are plain strings, numbers and maps: serialization cannot fail.
        tracing::error!(error = %e, "response not serializable");
        Value::Null
    })
}

/// Which shape a payload has, read without keeping anything: `Records[0].cf` present means
/// CloudFront. Every field is optional, so this parse succeeds on any JSON object.
#[derive(Debug, Default, Deserialize)]
struct Probe {
    #[serde(rename = "Records", default)]
    records: Option<Vec<RecordProbe>>,
}

#[derive(Debug, Default, Deserialize)]
struct RecordProbe {
    #[serde(default)]
    cf: Option<serde::de::IgnoredAny>,
}

impl Probe {
    fn is_cloudfront(&self) -> bool {
        self.records
            .as_ref()
            .and_then(|r| r.first())
            .is_some_and(|r| r.cf.is_some())
    }
}

/// `(method, path)` as a payload that failed to parse states them, if it does (CloudFront:
/// `Records[0].cf.request.method` and `.uri`; Function URL: `requestContext.http.method` and
/// `rawPath`).
fn request_line(text: &str, cloudfront: bool) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(text).ok()?;
    let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    if cloudfront {
        return Some((
            text("/Records/0/cf/request/method")?,
            text("/Records/0/cf/request/uri")?,
        ));
    }
    let path = text("/rawPath").or_else(|| text("/requestContext/http/path"))?;
    Some((text("/requestContext/http/method")?, path))
}
