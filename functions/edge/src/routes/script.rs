//! `GET /h.js?organizationId=…` (every plan), `GET /h-pro.js?organizationId=…` (the
//! behavioral bundle, pro plan and up) and `GET /sw.js?organizationId=…` (the service
//! worker, pro plan and up): an organization's scripts.
//!
//! A script is the same for every visitor of the organization (the collector token comes from
//! `/cookie-test`), so it is answered `Cache-Control: public, max-age=300` with a strong
//! `ETag` per representation, `304 Not Modified` for a matching `If-None-Match`, and is not
//! checked against `Origin` / `Referer`: CloudFront keeps one copy per organization and
//! encoding, and a plan change reaches visitors within five minutes.

use impressio::collector::{collector_script, etag, not_modified, service_worker_script, ScriptFeatures};
use impressio::http::{EdgeRequest, EdgeResponse};
use impressio::org::{Feature, OrganizationDirectory};

use crate::access::{authorize, Needs, OriginPolicy, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// How long browsers and CloudFront keep a script, seconds.
pub const SCRIPT_MAX_AGE_SECS: u32 = 300;

/// Which script a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// `/h.js`.
    Collector,
    /// `/h-pro.js`: the collector with the behavioral bundle.
    Behavioral,
    /// `/sw.js`: the service worker's code, imported by the organization's own worker file.
    ServiceWorker,
}

/// Answers the script (`application/javascript`, gzip when accepted).
///
/// # Errors
/// [`EdgeError::Field`] when `organizationId` is missing or malformed,
/// [`EdgeError::UnknownOrganization`] (404), [`EdgeError::DirectoryUnavailable`] (503),
/// [`EdgeError::FeatureNotInPlan`] (403: `/h-pro.js` and `/sw.js` below pro).
pub async fn handle<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    script: Script,
) -> Result<EdgeResponse, EdgeError> {
    let org = super::respond::query_organization(req)?;
    let needs = Needs {
        origin: OriginPolicy::Ignored,
        feature: match script {
            Script::Collector => None,
            Script::Behavioral => Some(Feature::Behavioral),
            Script::ServiceWorker => Some(Feature::ServiceWorker),
        },
        counts_event: false,
    };
    let access = authorize(app, req, ctx, &org, needs).await?;
    let has = |f| app.config.plans.has(access.org.plan, f);
    let source = match script {
        Script::ServiceWorker => service_worker_script(&org),
        _ => collector_script(
            &org,
            ScriptFeatures {
                behavioral: script == Script::Behavioral,
                digital_data: has(Feature::DigitalData),
                service_worker: has(Feature::ServiceWorker),
            },
        ),
    }
    .into_bytes();
    let compressed = gzip_accepted(req).then(|| gzip(&source)).flatten();
    let tag = etag(&source, compressed.is_some());
    let mut headers = vec![
        ("Content-Type".into(), "application/javascript; charset=utf-8".into()),
        ("Cache-Control".into(), format!("public, max-age={SCRIPT_MAX_AGE_SECS}")),
        ("Vary".into(), "Accept-Encoding".into()),
        ("ETag".into(), tag),
    ];
    if req
        .header_lossy("if-none-match")
        .is_some_and(|v| not_modified(&v, &etag(&source, false)))
    {
        return Ok(EdgeResponse {
            status: 304,
            headers,
            body: Vec::new(),
        });
    }
    let body = match compressed {
        Some(compressed) => {
            headers.push(("Content-Encoding".into(), "gzip".into()));
            compressed
        }
        None => source,
    };
    Ok(super::respond::for_method(
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
