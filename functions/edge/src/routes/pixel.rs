//! Any other `GET`: the tracking pixel. Always answers the 43-byte transparent GIF, so an
//! `<img>` never breaks; whether the event was stored is told by `X-Tracking-Status`
//! (`stored`, `rejected` with `X-Tracking-Error` — bad parameters, unknown organization,
//! foreign domain, quota used — or `failed` with status 503 when a dependency is down).
//! A pixel without `Origin` and `Referer` (an e-mail open) is accepted; one with them must
//! come from the organization's domains.

use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::event::{PixelParams, Route};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::identity::IdentityStore;
use impressio::org::OrganizationDirectory;

use super::track::event_request;
use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;
use crate::pipeline::{self, Caller};

/// The 1×1 transparent GIF89a: 43 bytes (header, logical screen, 2-colour table, graphic
/// control extension with the transparent flag, image descriptor, LZW data, trailer).
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Records the event from the query parameters (on `GET`) and answers the GIF.
pub async fn handle<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> EdgeResponse {
    let (status, tracking, error) = if req.method == http::Method::HEAD {
        (200, "not_recorded", None)
    } else {
        match record(app, req, ctx).await {
            Ok(()) => (200, "stored", None),
            Err(e) if e.status() >= 500 => {
                tracing::error!(request_id = %ctx.request_id, error = %e, "pixel event not stored");
                (503, "failed", None)
            }
            Err(e) => {
                tracing::warn!(request_id = %ctx.request_id, error = %e, "pixel event rejected");
                (200, "rejected", Some(e.to_string()))
            }
        }
    };
    super::respond::for_method(req, gif(status, tracking, error.as_deref()))
}

/// The pixel's answer: the GIF with `status`, `X-Tracking-Status: tracking` and, for a
/// rejected event, `X-Tracking-Error` (sanitized); `Retry-After: 5` with a 503. Also the
/// answer to a pixel request whose Lambda event was malformed (`400`, `rejected`): an `<img>`
/// always gets an image.
pub fn gif(status: u16, tracking: &str, error: Option<&str>) -> EdgeResponse {
    let mut headers = vec![
        ("Content-Type".to_string(), "image/gif".to_string()),
        (
            "Cache-Control".to_string(),
            "no-store, no-cache, must-revalidate, max-age=0".to_string(),
        ),
        ("Pragma".to_string(), "no-cache".to_string()),
        ("Expires".to_string(), "0".to_string()),
        ("X-Tracking-Status".to_string(), tracking.to_string()),
    ];
    if let Some(e) = error {
        headers.push(("X-Tracking-Error".to_string(), sanitize_header(e)));
    }
    if status == 503 {
        headers.push(("Retry-After".to_string(), "5".to_string()));
    }
    EdgeResponse {
        status,
        headers,
        body: PIXEL_GIF.to_vec(),
    }
}

async fn record<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
) -> Result<(), EdgeError> {
    let event = PixelParams(req.query_pairs()).validate()?;
    let needs = Needs {
        origin: OriginPolicy::IfPresent,
        feature: None,
        counts_event: true,
    };
    let access = authorize(app, req, ctx, &event.organization_id, needs).await?;
    let request = event_request(req, Route::Pixel, event, None, &access, false, Caller::Browser);
    pipeline::run(app, ctx, request).await?;
    Ok(())
}

/// Keeps a header value to visible ASCII and at most 200 bytes.
fn sanitize_header(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn gif_is_43_bytes_and_transparent() {
        let g = super::PIXEL_GIF;
        assert_eq!(g.len(), 43);
        assert_eq!(&g[..6], b"GIF89a");
        assert_eq!(g[42], 0x3b);
        // Graphic control extension: transparent-colour flag set, transparent index 0.
        assert_eq!(&g[19..23], &[0x21, 0xf9, 0x04, 0x01]);
    }
}
