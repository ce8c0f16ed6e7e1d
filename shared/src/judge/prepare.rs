//! What an event request says before anything is read: its identity inputs, its scoring
//! input, the identifiers the behavioral layers key on, its collector token's check and its
//! server context — with the visitor's consent and the organization's IP minimization
//! applied once, here.
//!
//! A server-side event ([`Caller::Server`]) is about the end user its body forwards, not
//! about the request: the forwarded address is the one checked against the blacklist and
//! counted by the IP rate and visitor velocity, the forwarded User-Agent is the one the
//! User-Agent layers judge, the identity comes from the body alone (the request's cookies
//! are the server's), no collector token is expected, nothing is counted per JA4, and the
//! components that judge the transport are recorded as not applicable
//! ([`crate::fraud::Component::judges_transport`]).

use crate::behavior::counter::login_key;
use crate::behavior::keys::Identifiers;
use crate::behavior::token::{self, TokenCheck};
use crate::env::Secret;
use crate::event::payload::ValidEvent;
use crate::event::{Attribution, Consent, Forwarded, OrgDecision, Route, ServerContext};
use crate::fraud::{FraudConfig, ScoringInput};
use crate::http::EdgeRequest;
use crate::identity::corroborate::{primary_language, Sighting, MAX_TIME_ZONE};
use crate::identity::domainprint::DomainprintKeys;
use crate::identity::domainprint::Presented;
use crate::identity::inputs::{ga4_client_id, plausible_domainprint, DOMAINPRINT_COOKIE};
use crate::identity::IdentityInputs;
use crate::org::plans::PlanCatalog;
use crate::org::{domains, Organization};
use crate::privacy::AddressPolicy;

/// Who sent an event, and so whom the request's address, headers and transport describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A browser (the collector script, a pixel): the request is the visitor's own.
    Browser,
    /// The organization's server, authenticated by its server key: the request is the
    /// server's, and the visitor is the end user it forwards.
    Server(Forwarded),
}

/// A validated, authorized event request.
#[derive(Debug, Clone)]
pub struct EventRequest<'a> {
    pub req: &'a EdgeRequest,
    pub route: Route,
    pub event: ValidEvent,
    /// `/c`'s attribution.
    pub attribution: Option<Attribution>,
    /// The organization the access check found.
    pub org: &'a Organization,
    /// The access check's decision, recorded on the event.
    pub decision: OrgDecision,
    /// Whether a critical request is refused and blacklisted (`/t` only).
    pub enforce: bool,
    pub caller: Caller,
}

/// The configuration a decision reads (borrowed from the edge's).
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub fraud: &'a FraudConfig,
    /// The domainprint keys: a presented value is verified, the cookie lives as long as its
    /// value.
    pub keys: &'a DomainprintKeys,
    pub plans: &'a PlanCatalog,
    /// The default retention of events, days (`EVENT_TTL_DAYS`).
    pub event_ttl_days: u32,
    /// How long a message id is remembered, hours.
    pub message_dedupe_hours: u32,
    /// Signs the collector tokens; `None`: no token is expected.
    pub collector_token_secret: Option<&'a Secret>,
    /// The key of IP minimization's keyed hashes ([`crate::privacy`]).
    pub address_key: &'a [u8; 32],
}

/// What the request says, before anything is read.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request_id: String,
    pub route: Route,
    pub organization_id: String,
    pub enforce: bool,
    /// A server-side event: no cookie for the answer, the caller's address kept apart.
    pub server_side: bool,
    /// The visitor gave fraud consent (or none was asked): without it nothing identifies
    /// the visitor ([`Consent::allows_identification`]).
    pub identifies: bool,
    /// The event, without its identifying fields when `identifies` is false.
    pub event: ValidEvent,
    pub attribution: Option<Attribution>,
    pub inputs: IdentityInputs,
    /// The page's host.
    pub site: Option<String>,
    pub scoring: ScoringInput,
    pub ids: Identifiers,
    /// `Some(None)`: a token was expected and is missing; `None`: no token check here.
    pub token_check: Option<Option<TokenCheck>>,
    /// The login counter of a `login` with a JA4.
    pub login_key: Option<String>,
    /// The server context as it is stored: minimized, and without an address when
    /// `identifies` is false.
    pub context: ServerContext,
    /// A server-side event's caller's own address.
    pub server_ip: Option<String>,
    pub org_decision: OrgDecision,
    /// How long what the request writes lives, days.
    pub retention_days: u32,
    /// A submission event (`signup`, `form_submit`, …) for visitor velocity.
    pub is_submission: bool,
    /// The request proves an established visitor ([`crate::behavior::rules::established`]).
    pub established: bool,
}

/// The identity inputs of `event` (validated) and, for a browser's own request `req`, its
/// cookies: the domainprint cookie wins over the body's copy and is verified with `keys` at
/// `now_ms` (a value that cannot even be a domainprint is judged like any unsigned one); the
/// GA4 client id is the event's `clientId`, else the `_ga` cookie's.
pub fn identity_inputs(
    req: Option<&EdgeRequest>,
    event: &ValidEvent,
    keys: &DomainprintKeys,
    now_ms: i64,
) -> IdentityInputs {
    let presented = req
        .and_then(|r| r.cookie(DOMAINPRINT_COOKIE))
        .or_else(|| event.domainprint.clone());
    let domainprint = match presented {
        None => Presented::Absent,
        Some(v) if !plausible_domainprint(&v) => Presented::Unsigned,
        Some(v) => keys.verify(&event.organization_id, &v, now_ms),
    };
    if let Some(code) = domainprint.refusal() {
        tracing::warn!(refusal = code, "presented domainprint refused; a new one is issued");
    }
    IdentityInputs {
        fingerprint: event.fingerprint.clone(),
        domainprint,
        behavioral: event.behavioral_signature.clone(),
        user_id: event.user_id.clone(),
        ga4_client_id: event
            .ga4_client_id
            .clone()
            .or_else(|| req.and_then(|r| r.cookie("_ga")).and_then(|ga| ga4_client_id(&ga))),
        sighting: Sighting::default(),
        retention_days: None,
    }
}

/// The login counter a `login` counts in, if any: per JA4 (and address `scope`). A browser's
/// login that carries a domainprint we signed (any age: the page ran our collector first) is
/// its visitor's history's to judge (visitor velocity), not the network's count: an office's
/// or a school's first morning is many such logins through one address and one browser build.
/// Logins without one, and a known bot's, are counted (docs/fraud-scoring.md, "NAT is normal").
fn login_counter(
    event_name: &str,
    inputs: &IdentityInputs,
    scoring: &ScoringInput,
    scope: Option<&str>,
    organization_id: &str,
    fraud: &FraudConfig,
) -> Option<String> {
    let counted = inputs.domainprint.verified().is_none() || !scoring.claims_browser();
    if event_name != "login" || !counted {
        return None;
    }
    let ja4 = scoring.ja4_raw.as_deref()?;
    Some(login_key(
        organization_id,
        ja4,
        scope,
        fraud.components.credential_stuffing.per_ip,
    ))
}

/// Prepares the request `request_id` (`X-Request-Id`) at `now_ms`.
pub fn prepare(r: EventRequest<'_>, request_id: &str, s: &Settings<'_>, now_ms: i64) -> Prepared {
    let forwarded = match &r.caller {
        Caller::Server(f) => Some(f),
        Caller::Browser => None,
    };
    let identifies = Consent::allows_identification(r.event.consent.as_ref());
    let event = if identifies {
        r.event
    } else {
        r.event.without_identifiers()
    };
    // Without fraud consent, nothing read from a cookie (the domainprint, `_ga`) is kept.
    let mut inputs = match forwarded {
        _ if !identifies => IdentityInputs::default(),
        // A server's cookies are its own, not the visitor's.
        Some(_) => identity_inputs(None, &event, s.keys, now_ms),
        None => identity_inputs(Some(r.req), &event, s.keys, now_ms),
    };
    let site = event
        .url
        .as_ref()
        .and_then(|u| u.host_str())
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            forwarded
                .is_none()
                .then(|| domains::request_host(r.req.header("origin").as_deref(), r.req.header("referer").as_deref()))
                .flatten()
        });
    let scoring = match forwarded {
        Some(f) => ScoringInput::end_user(
            Some(f.user_agent.clone()),
            f.accept_language.clone(),
            Some(f.ip),
            event.signals.clone(),
            Some(event.event_name.clone()),
        ),
        None => ScoringInput::from_request(r.req, event.signals.clone(), Some(&event.event_name)),
    };
    // The visitor's address, compared in memory as it is and written as the organization's
    // IP minimization says.
    let client_ip = scoring.client_ip;
    let policy = AddressPolicy::new(r.org.ip_storage, *s.address_key);
    let address = client_ip.map(|ip| policy.labels(ip));
    let retention_days = r.org.retention_days(s.plans, s.event_ttl_days);
    inputs.retention_days = Some(retention_days);
    inputs.sighting = Sighting {
        network: address.as_ref().map(|a| a.network.clone()),
        asn: scoring.asn,
        // CloudFront's time zone describes a browser's own request only.
        time_zone: match forwarded {
            None => r.req.viewer.time_zone.clone().filter(|tz| tz.len() <= MAX_TIME_ZONE),
            Some(_) => None,
        },
        language: scoring.accept_language.as_deref().and_then(primary_language),
        mobile: scoring.ua.as_ref().is_some_and(|u| u.mobile),
    };
    let organization_id = event.organization_id.clone();
    let ids = Identifiers {
        organization_id: organization_id.clone(),
        fingerprint: inputs.fingerprint.clone(),
        ip: client_ip,
        // None for a server-side event: the JA4 is the server's.
        ja4: scoring.ja4_raw.clone(),
        // A known tool's JA4 may be blacklisted across the organization; any other only on
        // the network it was blocked on.
        ja4_is_tool: scoring
            .ja4_raw
            .as_ref()
            .is_some_and(|j| s.fraud.tool_ja4.contains_key(j)),
        // The visitor a signed domainprint names: its history joins the first read round.
        visitor: inputs
            .domainprint
            .verified()
            .filter(|_| identifies)
            .map(|(_, visitor)| visitor.to_string()),
        address: address.clone(),
        retention_days: Some(retention_days),
    };
    let token_check = match (s.collector_token_secret, r.route, &r.caller) {
        (Some(secret), Route::Track, Caller::Browser) => Some(event.token.as_ref().map(|t| {
            let ttl_ms = i64::try_from(s.fraud.components.collector_token.ttl_secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1000);
            token::check(secret.expose().as_bytes(), t, &organization_id, now_ms, ttl_ms)
        })),
        _ => None,
    };
    let established = crate::behavior::rules::established(
        &inputs.domainprint,
        now_ms,
        s.fraud.components.ja4_session_hopping.established_after_secs,
    );
    let login_key = login_counter(
        &event.event_name,
        &inputs,
        &scoring,
        address.as_ref().map(|a| a.scope.as_str()),
        &organization_id,
        s.fraud,
    );
    let mut context = match forwarded {
        Some(f) => ServerContext::server_side(r.req, f),
        None => ServerContext::from_request(r.req),
    };
    context.minimize(client_ip, &policy);
    if !identifies {
        // Without fraud consent the event keeps no address: it served the security checks in
        // memory and the short-lived security items only (docs/privacy.md).
        context.without_address();
    }
    let is_submission = s
        .fraud
        .components
        .visitor_velocity
        .submission_events
        .contains(&event.event_name);
    Prepared {
        request_id: request_id.to_string(),
        route: r.route,
        organization_id,
        enforce: r.enforce,
        server_side: forwarded.is_some(),
        identifies,
        event,
        attribution: r.attribution,
        inputs,
        site,
        scoring,
        ids,
        token_check,
        login_key,
        context,
        server_ip: forwarded.and(r.req.client_ip).map(|ip| ip.to_string()),
        org_decision: r.decision,
        retention_days,
        is_submission,
        established,
    }
}
