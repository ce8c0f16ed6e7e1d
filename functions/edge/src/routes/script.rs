//! `GET /h.js?organizationId=…` (every plan) and `GET /h-pro.js?organizationId=…` (the
//! behavioral bundle, pro plan and up): the collector script of an organization.

use impressio::collector::{collector_script, ScriptFeatures};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::{Feature, OrganizationDirectory};

use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// Answers the script (`application/javascript`, cacheable by the browser for 5 minutes; it
/// carries a collector token of its own, so no shared cache may keep it).
///
/// # Errors
/// [`EdgeError::Field`] when `organizationId` is missing or malformed, the access errors of
/// [`authorize`] (a `Referer` from a foreign domain; for `/h-pro.js`, a plan below pro).
pub async fn handle<S, D: OrganizationDirectory, I>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    behavioral: bool,
) -> Result<EdgeResponse, EdgeError> {
    let org = super::query_organization(req)?;
    let needs = Needs {
        origin: OriginPolicy::IfPresent,
        feature: behavioral.then_some(Feature::Behavioral),
        counts_event: false,
    };
    let access = authorize(app, req, ctx, &org, needs).await?;
    let features = ScriptFeatures {
        behavioral,
        digital_data: app.config.plans.has(access.org.plan, Feature::DigitalData),
    };
    // A fresh token per load: the script is cacheable by the browser only.
    let token = app
        .config
        .collector_token_secret
        .as_ref()
        .map(|s| impressio::behavior::token::issue(s.expose().as_bytes(), &org, app.clock.now_ms()));
    let script = collector_script(&org, features, token.as_deref()).into_bytes();
    let mut headers = vec![
        ("Content-Type".into(), "application/javascript; charset=utf-8".into()),
        ("Cache-Control".into(), "private, max-age=300".into()),
        ("Vary".into(), "Accept-Encoding".into()),
    ];
    let body = match gzip_accepted(req).then(|| gzip(&script)).flatten() {
        Some(compressed) => {
            headers.push(("Content-Encoding".into(), "gzip".into()));
            compressed
        }
        None => script,
    };
    Ok(super::for_method(
        req,
        EdgeResponse {
            status: 200,
            headers,
            body,
        },
    ))
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not with `q=0`).
fn gzip_accepted(req: &EdgeRequest) -> bool {
    req.header_lossy("accept-encoding").is_some_and(|v| {
        v.split(',').any(|part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim();
            let refused = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

/// The gzip of a script (`None` if compression fails, which leaves it uncompressed).
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 2), flate2::Compression::best());
    enc.write_all(body).ok()?;
    enc.finish().ok()
}
