//! Organization access for a request: the organization exists, the page is on one of its
//! domains, its plan has the feature, and its monthly quota is not used up — in that order.
//! Also decides whether the answer may carry CORS headers for the request's `Origin`.
//!
//! A server-side call ([`authorize_server`]) replaces the domain check with the server key:
//! the organization exists, the key is its own, its plan has server-side events (and any
//! other feature the event uses), and its quota is not used up. No `Origin` is needed and no
//! CORS headers are given.

use std::sync::Arc;

use impressio::event::OrgDecision;
use impressio::fraud::{Action, Level};
use impressio::http::EdgeRequest;
use impressio::org::server_key::{api_key_organization, bearer_token};
use impressio::org::{
    domains, month_start, seconds_until_next_month, Feature, Lookup, LookupSource, Organization, OrganizationDirectory,
    ServerKeyDigest,
};

use crate::app::App;
use crate::error::EdgeError;

/// How a route treats a request without `Origin` and `Referer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Browsers always send `Origin` on these (POST `/t`, `/c`): its absence is refused.
    Required,
    /// Beacons from mail clients or pages with `Referrer-Policy: no-referrer` send neither:
    /// checked when present, allowed when absent.
    IfPresent,
    /// Public resources, the same for every page (the scripts, which shared caches keep
    /// without `Origin` or `Referer` in their key): not checked, no CORS headers.
    Ignored,
}

/// What a route asks of the organization.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub origin: OriginPolicy,
    pub feature: Option<Feature>,
    /// Whether the request adds an event (and so is refused over quota).
    pub counts_event: bool,
}

/// A granted access.
#[derive(Debug, Clone)]
pub struct Access {
    pub org: Arc<Organization>,
    /// Recorded on the event.
    pub decision: OrgDecision,
}

/// Per-request state the routes fill and the app reads when it finishes the answer.
#[derive(Debug, Default)]
pub struct RequestCtx {
    /// The request id (`X-Request-Id`).
    pub request_id: String,
    /// The request's `Origin`, once it is known to be one of the organization's domains.
    pub cors_origin: Option<String>,
    /// Whether the answer depends on `Origin` (adds `Vary: Origin`).
    pub varies_by_origin: bool,
    /// `Set-Cookie` values for the answer (the domainprint): set on an accepted answer and
    /// kept when a later step of ours fails (5xx) so a retry does not create another visitor;
    /// never on a refusal (4xx).
    pub set_cookies: Vec<String>,
    /// The organization an event was for, once known (a metric property, never a dimension).
    pub organization_id: Option<String>,
    /// The risk level and action of the event the request stored (the `Events` metric).
    pub scored: Option<(Level, Action)>,
    /// Why the request was blocked: the trigger of an enforced block, or `blacklisted` for a
    /// blacklist hit (the `Blocks` metric).
    pub blocked_by: Option<String>,
    /// True when the request repeated a message already stored (the `DuplicateMessages`
    /// metric).
    pub duplicate: bool,
}

/// Checks the organization `org_id` for `req` and returns the access, recording the CORS
/// decision in `ctx`.
///
/// # Errors
/// [`EdgeError::UnknownOrganization`] (404), [`EdgeError::DirectoryUnavailable`] (503),
/// [`EdgeError::OriginRequired`] / [`EdgeError::DomainNotAllowed`] /
/// [`EdgeError::FeatureNotInPlan`] (403), [`EdgeError::QuotaExceeded`] (429).
pub async fn authorize<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    org_id: &str,
    needs: Needs,
) -> Result<Access, EdgeError> {
    ctx.varies_by_origin = needs.origin != OriginPolicy::Ignored;
    let found = lookup(app, org_id).await?;
    let limits = app.config.plans.limits(found.org.plan);
    let origin = req.header("origin").filter(|_| needs.origin != OriginPolicy::Ignored);
    let referer = req.header("referer").filter(|_| needs.origin != OriginPolicy::Ignored);
    match domains::request_host(origin.as_deref(), referer.as_deref()) {
        Some(host) => {
            if !domains::is_allowed(&host, &found.org.domains, limits.domains) {
                return Err(EdgeError::DomainNotAllowed { host });
            }
            // Only an Origin that names an honored domain is echoed back.
            if let Some(o) = origin.filter(|o| domains::request_host(Some(o), None).as_deref() == Some(host.as_str())) {
                ctx.cors_origin = Some(o);
            }
        }
        None if needs.origin == OriginPolicy::Required => return Err(EdgeError::OriginRequired),
        None => {}
    }
    grant(app, org_id, found, needs.feature.as_slice(), needs.counts_event)
}

/// Checks a server-side call for the organization `org_id`, authenticated by `server_key`
/// (the bearer token, not yet verified): the key is checked before the plan, so a caller
/// without the key learns nothing of the organization's plan. `feature` is a feature the
/// event uses besides server-side events themselves (the data layer). The event counts
/// against the quota.
///
/// # Errors
/// [`EdgeError::UnknownOrganization`] (404), [`EdgeError::DirectoryUnavailable`] (503),
/// [`EdgeError::ServerKeyRejected`] (401) for a wrong key or an organization without one,
/// [`EdgeError::FeatureNotInPlan`] (403) below enterprise, [`EdgeError::QuotaExceeded`] (429).
pub async fn authorize_server<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    org_id: &str,
    server_key: &str,
    feature: Option<Feature>,
) -> Result<Access, EdgeError> {
    let found = lookup(app, org_id).await?;
    if !ServerKeyDigest::verify(found.org.server_key_sha256.as_ref(), server_key) {
        return Err(EdgeError::ServerKeyRejected);
    }
    let features: Vec<Feature> = std::iter::once(Feature::Ssr).chain(feature).collect();
    grant(app, org_id, found, &features, true)
}

/// Authenticates a Server API call (`/v1/`): `Authorization: Bearer <organization id>.<secret>`
/// must be the current or previous API key of the organization it names (constant-time
/// comparison of digests). No plan feature or quota applies: every plan has the Server API,
/// and reads are not events.
///
/// # Errors
/// [`EdgeError::ApiKeyRequired`] (401) without a bearer credential; [`EdgeError::ApiKeyRejected`]
/// (401) for a key that is not one, an unknown organization or a wrong key (one answer for
/// all three); [`EdgeError::DirectoryUnavailable`] (503).
pub async fn authorize_api<S, D: OrganizationDirectory, I, B>(
    app: &App<S, D, I, B>,
    req: &EdgeRequest,
) -> Result<Arc<Organization>, EdgeError> {
    let header = req.header("authorization").ok_or(EdgeError::ApiKeyRequired {
        reason: "the Authorization header is missing",
    })?;
    let token = bearer_token(&header).map_err(|e| EdgeError::ApiKeyRequired { reason: e.message() })?;
    let org_id = api_key_organization(token).ok_or(EdgeError::ApiKeyRejected)?;
    let org = match app.directory.lookup(org_id).await {
        Lookup::Found { org, .. } => Some(org),
        Lookup::Unknown => None,
        Lookup::Unavailable { reason } => {
            return Err(EdgeError::DirectoryUnavailable {
                reason,
                retry_after_secs: (app.config.directory.tiers.source_retry_ms / 1000).max(1) as u64,
            })
        }
    };
    let (current, previous) = org
        .as_ref()
        .map(|o| (o.api_key_sha256.as_ref(), o.api_key_previous_sha256.as_ref()))
        .unwrap_or((None, None));
    // Hashed and compared for an unknown organization too, so the time taken says nothing.
    let verified = ServerKeyDigest::verify_rotating(current, previous, token);
    match org {
        Some(org) if verified => Ok(org),
        _ => Err(EdgeError::ApiKeyRejected),
    }
}

/// An organization the directory found.
struct Found {
    org: Arc<Organization>,
    source: LookupSource,
    age_ms: i64,
}

/// Looks `org_id` up in the directory.
async fn lookup<S, D: OrganizationDirectory, I, B>(app: &App<S, D, I, B>, org_id: &str) -> Result<Found, EdgeError> {
    match app.directory.lookup(org_id).await {
        Lookup::Found { org, source, age_ms } => Ok(Found { org, source, age_ms }),
        Lookup::Unknown => Err(EdgeError::UnknownOrganization(org_id.to_string())),
        Lookup::Unavailable { reason } => Err(EdgeError::DirectoryUnavailable {
            reason,
            retry_after_secs: (app.config.directory.tiers.source_retry_ms / 1000).max(1) as u64,
        }),
    }
}

/// The plan's features (the first one missing is the error) and the monthly quota, then the
/// access.
fn grant<S, D, I, B>(
    app: &App<S, D, I, B>,
    org_id: &str,
    found: Found,
    features: &[Feature],
    counts_event: bool,
) -> Result<Access, EdgeError> {
    let Found { org, source, age_ms } = found;
    let limits = app.config.plans.limits(org.plan);
    for &feature in features {
        if !app.config.plans.has(org.plan, feature) {
            return Err(EdgeError::FeatureNotInPlan {
                feature,
                plan: org.plan,
                required: feature.minimum_plan(),
            });
        }
    }
    let now = app.clock.now_ms();
    if counts_event {
        let used = org.events_used(now);
        if used >= limits.events_per_month {
            tracing::info!(organization = org_id, used, month = %month_start(now), "monthly quota used");
            return Err(EdgeError::QuotaExceeded {
                plan: org.plan,
                limit: limits.events_per_month,
                used,
                upgrade: app.config.plans.upgrade_for_quota(org.plan),
                retry_after_secs: seconds_until_next_month(now),
            });
        }
    }
    let decision = OrgDecision {
        plan: org.plan,
        source,
        stale: source == LookupSource::Stale,
        age_ms,
    };
    Ok(Access { org, decision })
}

/// The CORS headers of an answer to an allowed `origin`.
pub fn cors_headers(origin: &str) -> [(String, String); 2] {
    [
        ("Access-Control-Allow-Origin".into(), origin.to_string()),
        ("Access-Control-Allow-Credentials".into(), "true".into()),
    ]
}
