//! The event pipeline shared by `/t`, `/c` and the pixel, after validation and the
//! organization check: identity, blacklist pre-check, scoring, write.
//!
//! DynamoDB round trips (one read before every decision, reads in parallel; seed "Risk
//! Scoring System"):
//! 1. **read**, concurrently: the identity reads, the blacklist pre-check (fingerprint, IP,
//!    JA4) with the JA4 and IP aggregate buckets and — when a signed domainprint names the
//!    visitor — the visitor's block, hourly buckets and repeat-offender memory (one
//!    `BatchGetItem`), the login counter, the collector-token use counter and the message
//!    marker. A repeated message stops here (answered with its first event); a blacklisted
//!    request or visitor stops here (429), its hit recorded after the answer
//!    ([`crate::after`]). A visitor found by fingerprint or behavior (no signed domainprint)
//!    has its history read now, in one more `BatchGetItem`; a new visitor has none;
//! 2. **write**, concurrently: the event (with its message marker; for a new visitor, with
//!    the visitor's creation: one transaction), the identity updates, the aggregate updates
//!    and, for an enforced block, the blacklist entries and the forensic record.
//!
//! A behavioral read that fails leaves its components out (fail open) and says so in the
//! assessment's `degraded`.
//!
//! An event with a `messageId` reads the message's marker in round 1 as well: a retry of a
//! message already stored (its first answer was lost) stops there, answered with the event
//! that stored it ([`Recorded::Repeated`]); two sends of one message racing past that read
//! meet in round 2, where the event and its marker are written in one transaction that only
//! the first completes. Two first requests of one device racing past round 1 meet there too:
//! the transaction creating the visitor lets one through, and the other resolves again and
//! stores its event under that visitor.
//!
//! A server-side event ([`Caller::Server`]) is about the end user its body forwards, not about
//! the request: the forwarded IP is the one checked against the blacklist and counted by the
//! IP rate and visitor velocity, the forwarded User-Agent is the one the UA layers judge, the
//! identity comes from the body alone (the request's cookies are the server's), no
//! domainprint cookie is set, no collector token is expected, nothing is counted per JA4, and
//! the components that judge the transport are recorded as not applicable
//! ([`impressio::fraud::Component::judges_transport`]).
//!
//! About four hundred and fifty lines, by design: the request's round trips (identity,
//! blacklist, scoring, write) are ordered here and read as one sequence.

use impressio::behavior::keys::{BlockScope, Identifiers};
use impressio::behavior::rules::{self, observations, BlacklistEntry, Block, FirstRead, VisitorRead};
use impressio::behavior::store::BehaviorStore;
use impressio::behavior::token::{self, TokenCheck};
use impressio::event::payload::ValidEvent;
use impressio::event::{Attribution, Consent, EventRecord, Forwarded, MessageRecord, Route, ServerContext};
use impressio::fraud::counter::{login_key, RateCounter};
use impressio::fraud::{
    assess_evidence, BehaviorEvidence, Component, Evidence, Memory, Observations, RiskAssessment, ScoringInput, Trigger,
};
use impressio::http::EdgeRequest;
use impressio::identity::corroborate::{primary_language, Sighting, MAX_TIME_ZONE};
use impressio::identity::domainprint::Presented;
use impressio::identity::inputs::DOMAINPRINT_COOKIE;
use impressio::identity::resolver::Resolution;
use impressio::identity::store::{Created, NewVisitor};
use impressio::identity::{IdentityInputs, IdentityResult, IdentityStore};
use impressio::org::domains;
use impressio::privacy::AddressPolicy;
use impressio::store::{EventStore, StoreError, StoredMessage, Written};

use crate::access::{Access, RequestCtx};
use crate::app::App;
use crate::error::EdgeError;

/// The `Trigger` of the `Blocks` metric for a request stopped by the blacklist.
pub const BLACKLISTED_TRIGGER: &str = "blacklisted";

/// The `Trigger` of an enforced block without a block trigger (the composite score reached
/// the threshold by itself); also the block's `detection_type`.
pub const RISK_SCORE_TRIGGER: &str = "risk_score";

/// What [`record_event`] did with an event.
#[derive(Debug)]
pub enum Recorded {
    /// Scored and stored: the record as written and the visitor it was resolved to.
    Stored(Box<EventRecord>, IdentityResult),
    /// A repeat of a message stored before (same organization and `messageId`), by the event
    /// named here: nothing of this request is stored.
    Repeated(StoredMessage),
}

/// Who sent an event, and so whom the request's address, headers and transport describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A browser (the collector script, a pixel): the request is the visitor's own.
    Browser,
    /// The organization's server, authenticated by its server key: the request is the
    /// server's, and the visitor is the end user it forwards.
    Server(Forwarded),
}

/// Resolves, checks, scores and stores a validated, authorized event. `enforce` is true for
/// `/t`, the route whose critical requests are refused and blacklisted; `caller` says whether
/// the request is the visitor's own or a server-side call (see the module documentation).
/// A repeat of a stored message is [`Recorded::Repeated`].
///
/// # Errors
/// [`EdgeError::Blacklisted`] on a pre-check hit, [`EdgeError::Field`] for malformed identity
/// inputs, [`EdgeError::Store`] when the identity or the event cannot be written.
#[allow(clippy::too_many_arguments)]
pub async fn record_event<S: EventStore, D, I: IdentityStore>(
    app: &App<S, D, I>,
    req: &EdgeRequest,
    ctx: &mut RequestCtx,
    route: Route,
    event: ValidEvent,
    attribution: Option<Attribution>,
    access: &Access,
    enforce: bool,
    caller: &Caller,
) -> Result<Recorded, EdgeError> {
    let now = app.clock.now_ms();
    let fraud = &app.config.fraud;
    let org = event.organization_id.clone();
    ctx.organization_id = Some(org.clone());
    let forwarded = match caller {
        Caller::Server(f) => Some(f),
        Caller::Browser => None,
    };
    // Without fraud consent nothing identifies the visitor (see `Consent`).
    let identifies = Consent::allows_identification(event.consent.as_ref());
    let event = if identifies { event } else { event.without_identifiers() };
    let keys = app.identity.keys();
    // Without it, nothing read from a cookie (the domainprint, `_ga`) reaches the record.
    let mut inputs = match forwarded {
        _ if !identifies => IdentityInputs::default(),
        Some(_) => IdentityInputs::from_event(&event, keys, now)?,
        None => IdentityInputs::from_request(req, &event, keys, now)?,
    };
    let page_host = || domains::request_host(req.header("origin").as_deref(), req.header("referer").as_deref());
    let site = event
        .url
        .as_ref()
        .and_then(|u| u.host_str())
        .map(str::to_ascii_lowercase)
        .or_else(|| forwarded.is_none().then(page_host).flatten());
    let mut scoring = match forwarded {
        Some(f) => ScoringInput::server_side(f, event.signals.clone(), Some(&event.event_name)),
        None => ScoringInput::from_request(req, event.signals.clone(), Some(&event.event_name)),
    };
    // The visitor's address: the request's, or the one a server forwarded. Compared in
    // memory as it is; written (keys, the event) as the organization's IP minimization says.
    let client_ip = scoring.client_ip;
    let policy = AddressPolicy::new(access.org.ip_storage, app.address_key);
    let address = client_ip.map(|ip| policy.labels(ip));
    // How long the organization keeps what this request writes.
    let retention = access.org.retention_days(&app.config.plans, app.config.event_ttl_days);
    inputs.retention_days = Some(retention);
    // What corroborates a fingerprint match: the network, ASN, language and device class of
    // the visitor's request (a server's forwarded values), and CloudFront's time zone for a
    // browser's own request.
    inputs.sighting = Sighting {
        network: address.as_ref().map(|a| a.network.clone()),
        asn: scoring.asn,
        time_zone: match forwarded {
            None => req.viewer.time_zone.clone().filter(|tz| tz.len() <= MAX_TIME_ZONE),
            Some(_) => None,
        },
        language: scoring.accept_language.as_deref().and_then(primary_language),
        mobile: scoring.ua.as_ref().is_some_and(|u| u.mobile),
    };
    let ids = Identifiers {
        organization_id: org.clone(),
        fingerprint: inputs.fingerprint.clone(),
        ip: client_ip,
        // None for a server-side event: the JA4 is the server's.
        ja4: scoring.ja4_raw.clone(),
        // A known tool's JA4 may be blacklisted across the organization; any other only on
        // the network it was blocked on.
        ja4_is_tool: scoring.ja4_raw.as_ref().is_some_and(|j| fraud.tool_ja4.contains_key(j)),
        // Its history joins the first read round.
        visitor: inputs
            .domainprint
            .verified()
            .filter(|_| identifies)
            .map(|(_, visitor)| visitor.to_string()),
        address: address.clone(),
        retention_days: Some(retention),
    };
    // `Some(None)`: a token was expected and is missing; `None`: no token check here (nor
    // on a server-side event, which no collector script sent).
    let token_check = match (&app.config.collector_token_secret, route, caller) {
        (Some(secret), Route::Track, Caller::Browser) => Some(event.token.as_ref().map(|t| {
            token::check(
                secret.expose().as_bytes(),
                t,
                &org,
                now,
                fraud.behavior.token.ttl_secs as i64 * 1000,
            )
        })),
        _ => None,
    };

    // Round 1: identity, blacklist and aggregates, login and token counters, concurrently.
    let login = (event.event_name == "login")
        .then(|| {
            scoring.ja4_raw.as_deref().map(|ja4| {
                let scope = address.as_ref().map(|a| a.scope.as_str());
                login_key(&org, ja4, scope, fraud.layers.credential_stuffing.per_ip)
            })
        })
        .flatten();
    let login_count = async {
        match &login {
            Some(key) => Some(
                app.counter
                    .incr(key, fraud.layers.credential_stuffing.window_secs, now)
                    .await,
            ),
            None => None,
        }
    };
    let token_uses = async {
        match &token_check {
            Some(Some(TokenCheck::Valid { hash, issued_ms })) => {
                let expires = issued_ms / 1000 + fraud.behavior.token.ttl_secs as i64;
                Some(app.behavior.count_token(&org, hash, expires).await)
            }
            _ => None,
        }
    };
    let seen = async {
        match &event.message_id {
            Some(id) => app.store.find_message(&org, id, now).await,
            None => Ok(None),
        }
    };
    let resolve = async {
        if identifies {
            app.identity.resolve(&org, &inputs, site.as_deref(), now).await
        } else {
            Ok(Resolution::anonymous())
        }
    };
    let (resolution, first, login_count, token_uses, seen) = tokio::join!(
        resolve,
        app.behavior.read_first(&ids, now, fraud),
        login_count,
        token_uses,
        seen
    );
    match seen {
        Ok(Some(stored)) => return Ok(repeated(ctx, stored)),
        Ok(None) => {}
        // The transaction in round 2 still refuses a second copy.
        Err(e) => tracing::warn!(request_id = %ctx.request_id, error = %e, "message marker unreadable"),
    }
    let resolution = resolution?;
    // A server-side answer goes to the organization's server: no cookie for it; nor for a
    // visitor who gave no fraud consent.
    if forwarded.is_none() && identifies {
        set_domainprint_cookie(ctx, &resolution.identity, app, now);
    }
    let mut degraded = Vec::new();
    let mut first = first.unwrap_or_else(|e| {
        tracing::warn!(request_id = %ctx.request_id, error = %e, "behavioral reads unavailable");
        degraded.push("behavior".to_string());
        FirstRead::default()
    });

    // The blacklist pre-check (the fraud design's layer 0): an unexpired block on any
    // identifier answers at once.
    if let Some(entry) = first
        .blacklist
        .iter()
        .filter(|e| e.block_expires_ms > now)
        .max_by_key(|e| e.block_expires_ms)
    {
        return Err(blacklisted(app, ctx, entry, now));
    }
    match login_count {
        Some(Ok(n)) => scoring.login_count = Some(n),
        Some(Err(e)) => {
            tracing::warn!(request_id = %ctx.request_id, error = %e, "login counter unavailable");
            degraded.push(Component::CredentialStuffing.name().to_string());
        }
        None => {}
    }

    // The visitor's own history: read in round 1 when a signed domainprint named the visitor,
    // none for a visitor this request creates, else one more read.
    let visitor_id = resolution.identity.visitor_id.clone();
    let read_with_first = first
        .visitor
        .take()
        .filter(|_| ids.visitor.as_ref() == Some(&visitor_id));
    let visitor = match read_with_first {
        Some(v) => v,
        None if resolution.create.is_some() => VisitorRead::default(),
        None => match app.behavior.read_visitor(&org, &visitor_id, now).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(request_id = %ctx.request_id, error = %e, "visitor history unavailable");
                degraded.push(Component::VisitorVelocity.name().to_string());
                VisitorRead::default()
            }
        },
    };
    // The visitor id itself is blacklisted too (read with its history).
    if let Some(entry) = visitor.entry.as_ref().filter(|e| e.block_expires_ms > now) {
        return Err(blacklisted(app, ctx, entry, now));
    }
    let is_submission = fraud.behavior.velocity.submission_events.contains(&event.event_name);
    let mut obs: Observations = observations(&first, &visitor, &visitor_id, client_ip, is_submission, now, fraud);
    obs.token = token_check.clone().flatten();
    obs.token_uses = match token_uses {
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => {
            tracing::warn!(request_id = %ctx.request_id, error = %e, "token counter unavailable");
            degraded.push(Component::CollectorToken.name().to_string());
            None
        }
        None => None,
    };
    let mut risk = score(&scoring, &obs, &token_check, &inputs.domainprint, &visitor, now, app);
    risk.degraded = degraded;
    risk.enforced &= enforce;

    let mut context = match forwarded {
        Some(f) => ServerContext::server_side(req, f),
        None => ServerContext::from_request(req),
    };
    context.minimize(client_ip, &policy);
    if !identifies {
        // Without fraud consent the event keeps no address: it served the security checks
        // in memory and the short-lived security items only (docs/privacy.md).
        context.without_address();
    }
    let mut record = EventRecord::new(&ctx.request_id, route, event, attribution, context, now, retention);
    if forwarded.is_some() {
        record.server_side = true;
        record.server_ip = req.client_ip.map(|ip| ip.to_string());
    }
    if record.ga4_client_id.is_none() {
        record.ga4_client_id = inputs.ga4_client_id.clone();
    }
    record.organization = Some(access.decision);
    record.set_identity(resolution.identity.clone());
    // The visitor this request proved: the one its signed domainprint named, or the one it
    // creates. A visitor found by its fingerprint is one any client can name, so nothing this
    // request does is written to its history or blocks it.
    let proven = resolution.create.is_some() || ids.visitor.as_ref() == Some(&visitor_id);
    let scope = rules::block_scope(risk.trigger);
    let block = risk.enforced.then(|| Block {
        request_id: ctx.request_id.clone(),
        visitor_id: Some(visitor_id.clone()),
        blocks_visitor: proven && scope == BlockScope::Client,
        scope,
        detection_type: risk.trigger.map_or(RISK_SCORE_TRIGGER, Trigger::name).into(),
        reason: risk
            .public_reasons()
            .first()
            .and_then(|r| r["message"].as_str().map(str::to_string))
            .unwrap_or_default(),
        breakdown_json: serde_json::to_string(&risk.breakdown).unwrap_or_default(),
        score: risk.score,
    });
    record.risk = Some(risk);

    // Round 2: the writes, concurrently; only the event's own write can fail the request. A
    // new visitor is created in the event's transaction.
    let blacklist = async {
        match &block {
            Some(b) => Some(app.behavior.block(&ids, &first.blacklist, b, now, fraud).await),
            None => None,
        }
    };
    // Sketch raises in a bucket's first seconds go with the event to the processor.
    let (mut raise_now, deferred) = rules::sketch_raises(&ids, &visitor_id, &first, now, fraud);
    if identifies {
        record.sketch_raises = deferred;
    } else {
        // Their keys hold the address, which an event without fraud consent does not keep.
        raise_now.extend(deferred);
    }
    let marker = MessageRecord::of(&record, app.config.message_dedupe_hours);
    let (stored, identity_writes, aggregates, blacklisted) = tokio::join!(
        store_event(app, &record, marker.as_ref(), resolution.create.as_ref()),
        app.identity.apply(&resolution.writes),
        app.behavior.record(
            &ids,
            proven.then_some(visitor_id.as_str()),
            is_submission,
            &raise_now,
            now
        ),
        blacklist
    );
    if let Err(e) = identity_writes {
        tracing::warn!(request_id = %ctx.request_id, error = %e, "identity records not updated");
    }
    if let Err(e) = aggregates {
        tracing::warn!(request_id = %ctx.request_id, error = %e, "behavioral aggregates not updated");
    }
    match blacklisted {
        Some(Ok(until)) => tracing::info!(request_id = %ctx.request_id, until, "identifiers blacklisted"),
        Some(Err(e)) => tracing::error!(request_id = %ctx.request_id, error = %e, "block not recorded"),
        None => {}
    }
    let mut identity = resolution.identity;
    match stored? {
        Stored::Done => {}
        Stored::Repeated(first_send) => return Ok(repeated(ctx, first_send)),
        Stored::VisitorExists => {
            // A concurrent first request of the same device created the visitor a moment
            // earlier: this event joins it (two more round trips, in this race only).
            tracing::info!(request_id = %ctx.request_id, "visitor created concurrently; resolving again");
            let again = app.identity.resolve_again(&org, &inputs, site.as_deref(), now).await?;
            if again.create.is_some() {
                return Err(EdgeError::Store(StoreError::Dynamo {
                    operation: "TransactWriteItems",
                    message: "the visitor could not be created or found after a concurrent creation".into(),
                    source: "identity race".into(),
                }));
            }
            record.set_identity(again.identity.clone());
            if forwarded.is_none() {
                set_domainprint_cookie(ctx, &again.identity, app, now);
            }
            let (stored, identity_writes) = tokio::join!(
                app.store.put_event(&record, marker.as_ref()),
                app.identity.apply(&again.writes)
            );
            if let Err(e) = identity_writes {
                tracing::warn!(request_id = %ctx.request_id, error = %e, "identity records not updated");
            }
            if let Written::Repeated(first_send) = stored? {
                return Ok(repeated(ctx, first_send));
            }
            identity = again.identity;
        }
    }
    if let Some(risk) = &record.risk {
        ctx.scored = Some((risk.level, risk.action));
    }
    ctx.blocked_by = block.map(|b| b.detection_type);
    Ok(Recorded::Stored(Box::new(record), identity))
}

/// What [`store_event`] did.
enum Stored {
    Done,
    Repeated(StoredMessage),
    /// The new visitor had been created by a concurrent request: nothing was written.
    VisitorExists,
}

/// Stores the event (with its message marker), and with `create` the new visitor in the
/// same transaction.
async fn store_event<S: EventStore, D, I: IdentityStore>(
    app: &App<S, D, I>,
    record: &EventRecord,
    marker: Option<&MessageRecord>,
    create: Option<&NewVisitor>,
) -> Result<Stored, StoreError> {
    Ok(match create {
        Some(v) => match app.identity.create(v, record, marker).await? {
            Created::Stored => Stored::Done,
            Created::Repeated(first) => Stored::Repeated(first),
            Created::VisitorExists => Stored::VisitorExists,
        },
        None => match app.store.put_event(record, marker).await? {
            Written::Stored => Stored::Done,
            Written::Repeated(first) => Stored::Repeated(first),
        },
    })
}

/// Sets the domainprint cookie of `identity` on the answer, in place of one set before: for
/// the value's remaining lifetime, so the cookie never outlives the value.
fn set_domainprint_cookie<S, D, I: IdentityStore>(
    ctx: &mut RequestCtx,
    identity: &IdentityResult,
    app: &App<S, D, I>,
    now_ms: i64,
) {
    let prefix = format!("{DOMAINPRINT_COOKIE}=");
    ctx.set_cookies.retain(|c| !c.starts_with(&prefix));
    let max_age_secs = app.identity.keys().remaining_secs(&identity.domainprint, now_ms);
    ctx.set_cookies
        .push(domainprint_cookie(&identity.domainprint, max_age_secs));
}

/// A repeat of the message `stored` stored: logged with both request ids and counted.
fn repeated(ctx: &mut RequestCtx, stored: StoredMessage) -> Recorded {
    tracing::info!(request_id = %ctx.request_id, stored_by = %stored.request_id, "repeated message not stored again");
    ctx.duplicate = true;
    Recorded::Repeated(stored)
}

/// A request stopped by an unexpired blacklist `entry`: records the hit (the forensic record
/// names the identifier) after the answer ([`crate::after`]), logs which kind of identifier
/// matched (never its value: it may be an IP address), counts the block for the metrics, and
/// returns the error to answer.
fn blacklisted<S, D, I>(app: &App<S, D, I>, ctx: &mut RequestCtx, entry: &BlacklistEntry, now: i64) -> EdgeError {
    let (store, hit, request_id) = (app.behavior.clone(), entry.clone(), ctx.request_id.clone());
    app.after_response.defer(async move {
        if let Err(e) = store.hit(&hit, &request_id, now).await {
            tracing::warn!(request_id = %request_id, error = %e, "blacklist hit not recorded");
        }
    });
    tracing::info!(
        request_id = %ctx.request_id,
        identifier = entry.identifier_kind(),
        detection_type = %entry.detection_type,
        "blacklisted"
    );
    ctx.blocked_by = Some(BLACKLISTED_TRIGGER.to_string());
    EdgeError::Blacklisted {
        retry_after_secs: (entry.block_expires_ms.saturating_sub(now) / 1000).max(1),
    }
}

/// Every component: the request's, the behavioral ones from `obs`, and repeat-offender
/// memory from the visitor's last block (a stored detection type that is no trigger, such as
/// `risk_score`, has no component to score again and so no memory).
fn score<S, D, I>(
    scoring: &ScoringInput,
    obs: &Observations,
    token_check: &Option<Option<TokenCheck>>,
    domainprint: &Presented,
    visitor: &VisitorRead,
    now: i64,
    app: &App<S, D, I>,
) -> RiskAssessment {
    let memory = visitor.memory.as_ref().and_then(|(kind, at)| {
        Some(Memory {
            blocked_for: kind.parse().ok()?,
            released_ms: visitor.entry.as_ref().map_or(*at, |e| e.block_expires_ms.max(*at)),
        })
    });
    let evidence = Evidence {
        request: scoring,
        behavior: Some(BehaviorEvidence {
            observations: obs,
            now_ms: now,
            token_missing: matches!(token_check, Some(None)),
            domainprint,
            memory,
        }),
    };
    assess_evidence(&evidence, &app.config.fraud)
}

/// The domainprint cookie, living `max_age_secs` (what its value is still good for: a year
/// when new), `Secure` and `HttpOnly` (only our server reads it), `SameSite=Lax` (sent on the
/// organization's own pages, which are same-site with its tracker host, never in third-party
/// contexts), `Path=/`, host-only (no `Domain`: each tracker host keeps its own, and aliasing
/// links them).
pub fn domainprint_cookie(value: &str, max_age_secs: i64) -> String {
    cookie::Cookie::build((DOMAINPRINT_COOKIE, value.to_string()))
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build()
        .to_string()
}
