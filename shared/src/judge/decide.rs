//! The decision of an event request from what was read: a repeat of a stored message, a
//! blacklisted request, or the event to store with everything it writes. Nothing here calls
//! anything; a failed read leaves its component out of the score and says so in the
//! assessment's `degraded`.

use crate::behavior::keys::{BlockScope, Identifiers};
use crate::behavior::rules::{self, observations, BlacklistEntry, Block, FirstRead, VisitorRead};
use crate::behavior::sketch::SketchRaise;
use crate::event::{EventRecord, MessageRecord};
use crate::fraud::{
    assess_evidence, BehaviorEvidence, Component, Evidence, Memory, Observations, RiskAssessment, Trigger,
};
use crate::identity::resolver::{PendingWrites, Resolution};
use crate::identity::store::NewVisitor;
use crate::identity::{IdentityInputs, IdentityResult};
use crate::store::{StoreError, StoredMessage};

use super::{Fetched, Prepared, Settings, Snapshot};

/// The `detection_type` of an enforced block without a block trigger (the composite score
/// reached the threshold by itself).
pub const RISK_SCORE_TRIGGER: &str = "risk_score";

/// What to do with an event request.
#[derive(Debug)]
pub enum Decision {
    /// A repeat of a message stored before (same organization and `messageId`), by the event
    /// named here: nothing of this request is stored.
    Repeated(StoredMessage),
    /// An unexpired blacklist entry on one of the request's identifiers or its visitor:
    /// refused; the hit is recorded after the answer.
    Blacklisted(BlacklistEntry),
    /// The event to store.
    Store(Box<Plan>),
}

/// The writes of an event to store, made in one round.
#[derive(Debug)]
pub struct Plan {
    /// The event as stored, with its identity and risk assessment.
    pub record: EventRecord,
    pub identity: IdentityResult,
    /// The domainprint cookie to set (its value), for a browser that gave fraud consent.
    pub cookie: Option<String>,
    /// The new visitor, created in the event's transaction.
    pub create: Option<NewVisitor>,
    pub identity_writes: PendingWrites,
    /// The message marker stored with the event.
    pub marker: Option<MessageRecord>,
    /// An enforced block: what to blacklist.
    pub block: Option<Block>,
    /// The blacklist entries read, whose offenses set the block's timeout.
    pub previous_entries: Vec<BlacklistEntry>,
    pub ids: Identifiers,
    pub aggregates: Aggregates,
    /// Resolving again after a lost creation race needs the inputs and the page.
    pub inputs: IdentityInputs,
    pub site: Option<String>,
}

/// What the event adds to the behavioral aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    /// The visitor whose history counts the event: only one the request proved (its signed
    /// domainprint, or its creation).
    pub visitor: Option<String>,
    pub is_submission: bool,
    /// The sketch raises the edge writes now (the others go with the event to the processor).
    pub raises: Vec<SketchRaise>,
}

/// Whose history the read phase reads in a second round: the visitor the resolution found
/// without a signed domainprint naming it (by fingerprint), when the request will not stop
/// before scoring; `None` when it came with the first round, the visitor is new, or the
/// request stops (a repeat, a failed resolution, a blacklisted identifier).
pub fn history_to_read(p: &Prepared, snap: &Snapshot, now_ms: i64) -> Option<String> {
    if snap.seen.is_some() {
        return None;
    }
    let resolution = snap.resolution.as_ref().ok()?;
    if resolution.create.is_some() || blacklist_hit(snap.first.as_ref(), now_ms, p.established).is_some() {
        return None;
    }
    let visitor = &resolution.identity.visitor_id;
    let in_first = snap.first.as_ref().is_some_and(|f| f.visitor.is_some()) && p.ids.visitor.as_ref() == Some(visitor);
    (!in_first).then(|| visitor.clone())
}

/// The unexpired entry with the latest end, if any.
fn blacklist_hit(first: Option<&FirstRead>, now_ms: i64, established: bool) -> Option<&BlacklistEntry> {
    first?
        .blacklist
        .iter()
        .filter(|e| e.block_expires_ms > now_ms)
        .filter(|e| !(established && rules::blocks_a_network(e)))
        .max_by_key(|e| e.block_expires_ms)
}

/// Decides the request `p` from `snap` at `now_ms`.
///
/// # Errors
/// The resolution's [`StoreError`]: without its visitor the event cannot be stored.
pub fn decide(mut p: Prepared, mut snap: Snapshot, s: &Settings<'_>, now_ms: i64) -> Result<Decision, StoreError> {
    if let Some(stored) = snap.seen.take() {
        return Ok(Decision::Repeated(stored));
    }
    let resolution = snap.resolution?;
    let mut degraded = Vec::new();
    let mut first = snap.first.unwrap_or_else(|| {
        degraded.push("behavior".to_string());
        FirstRead::default()
    });
    if let Some(entry) = blacklist_hit(Some(&first), now_ms, p.established) {
        return Ok(Decision::Blacklisted(entry.clone()));
    }
    let visitor_id = resolution.identity.visitor_id.clone();
    let visitor = match first
        .visitor
        .take()
        .filter(|_| p.ids.visitor.as_ref() == Some(&visitor_id))
    {
        Some(v) => v,
        None => match snap.visitor {
            Fetched::Got(v) => v,
            Fetched::Failed => {
                degraded.push(Component::VisitorVelocity.name().to_string());
                VisitorRead::default()
            }
            Fetched::NotAsked => VisitorRead::default(),
        },
    };
    // The visitor id itself is blacklisted too (read with its history).
    if let Some(entry) = visitor.entry.as_ref().filter(|e| e.block_expires_ms > now_ms) {
        return Ok(Decision::Blacklisted(entry.clone()));
    }
    let mut obs = observations(
        &first,
        &visitor,
        &visitor_id,
        p.ids.ip,
        p.is_submission,
        now_ms,
        s.fraud,
    );
    obs.token = p.token_check.clone().flatten();
    obs.token_uses = match snap.token_uses {
        Fetched::Got(n) => Some(n),
        Fetched::Failed => {
            degraded.push(Component::CollectorToken.name().to_string());
            None
        }
        Fetched::NotAsked => None,
    };
    match snap.login_count {
        Fetched::Got(n) => p.scoring.login_count = Some(n),
        Fetched::Failed => degraded.push(Component::CredentialStuffing.name().to_string()),
        Fetched::NotAsked => {}
    }
    let mut risk = score(&p, &obs, &visitor, resolution.identity.conflict, now_ms, s);
    risk.degraded = degraded;
    risk.enforced &= p.enforce;
    Ok(Decision::Store(Box::new(plan(p, resolution, risk, &first, now_ms, s))))
}

/// The event to store and its writes.
fn plan(
    p: Prepared,
    resolution: Resolution,
    risk: RiskAssessment,
    first: &FirstRead,
    now_ms: i64,
    s: &Settings<'_>,
) -> Plan {
    let visitor_id = resolution.identity.visitor_id.clone();
    // The visitor this request proved: the one its signed domainprint named, or the one it
    // creates. A visitor found by its fingerprint is one any client can name, so nothing
    // this request does is written to its history or blocks it.
    let proven = resolution.create.is_some() || p.ids.visitor.as_ref() == Some(&visitor_id);
    let scope = rules::block_scope(risk.trigger);
    let block = risk.enforced.then(|| Block {
        request_id: p.request_id.clone(),
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
    let mut record = EventRecord::new(
        &p.request_id,
        p.route,
        p.event,
        p.attribution,
        p.context,
        now_ms,
        p.retention_days,
    );
    record.server_side = p.server_side;
    record.server_ip = p.server_ip;
    if record.ga4_client_id.is_none() {
        record.ga4_client_id = p.inputs.ga4_client_id.clone();
    }
    record.organization = Some(p.org_decision);
    record.set_identity(resolution.identity.clone());
    record.risk = Some(risk);
    // Sketch raises in a bucket's first seconds go with the event to the processor; an event
    // without fraud consent keeps no key holding the address, so the edge writes them all.
    let (mut raises, deferred) = rules::sketch_raises(&p.ids, &visitor_id, p.established, first, now_ms, s.fraud);
    if p.identifies {
        record.sketch_raises = deferred;
    } else {
        raises.extend(deferred);
    }
    let marker = MessageRecord::of(&record, s.message_dedupe_hours);
    Plan {
        cookie: (!p.server_side && p.identifies).then(|| resolution.identity.domainprint.clone()),
        identity: resolution.identity,
        create: resolution.create,
        identity_writes: resolution.writes,
        marker,
        block,
        previous_entries: first.blacklist.clone(),
        ids: p.ids,
        aggregates: Aggregates {
            visitor: proven.then_some(visitor_id),
            is_submission: p.is_submission,
            raises,
        },
        record,
        inputs: p.inputs,
        site: p.site,
    }
}

/// Every component: the request's, the behavioral ones from `obs`, and repeat-offender memory
/// from the visitor's last block (a stored detection type that is no trigger, such as
/// `risk_score`, has no component to score again and so no memory).
fn score(
    p: &Prepared,
    obs: &Observations,
    visitor: &VisitorRead,
    identity_conflict: bool,
    now_ms: i64,
    s: &Settings<'_>,
) -> RiskAssessment {
    let memory = visitor.memory.as_ref().and_then(|(kind, at)| {
        Some(Memory {
            blocked_for: kind.parse().ok()?,
            released_ms: visitor.entry.as_ref().map_or(*at, |e| e.block_expires_ms.max(*at)),
        })
    });
    let evidence = Evidence {
        request: &p.scoring,
        behavior: Some(BehaviorEvidence {
            observations: obs,
            now_ms,
            token_missing: matches!(p.token_check, Some(None)),
            domainprint: &p.inputs.domainprint,
            established: p.established,
            identity_conflict,
            memory,
        }),
    };
    assess_evidence(&evidence, s.fraud)
}

/// Each path of an event request decided without DynamoDB: the reads come from the in-memory
/// identity and behavioral stores, as the edge's read phase would get them.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::memory::MemoryBehaviorStore;
    use crate::event::{Forwarded, OrgDecision, Route, TrackPayload};
    use crate::fraud::{FraudConfig, Level};
    use crate::http::{EdgeRequest, RequestSource};
    use crate::identity::domainprint::DomainprintKeys;
    use crate::identity::{IdentityConfig, MemoryIdentityStore, Resolver};
    use crate::judge::memory::MemoryEdge;
    use crate::judge::{prepare, Caller, EventRequest, Fetched, Settings, Snapshot};
    use crate::org::plans::PlanCatalog;
    use crate::org::{LookupSource, Organization, Plan as OrgPlan};

    const NOW: i64 = 1_795_000_000_000;
    const CHROME_UA: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    /// The configuration and stores one test decides with.
    struct World {
        fraud: FraudConfig,
        keys: DomainprintKeys,
        plans: PlanCatalog,
        address_key: [u8; 32],
        edge: MemoryEdge,
        org: Organization,
    }

    impl World {
        fn new() -> Self {
            let keys = DomainprintKeys::ephemeral();
            World {
                fraud: FraudConfig::default(),
                edge: MemoryEdge {
                    identity: Resolver::new(MemoryIdentityStore::new(), IdentityConfig::default(), keys.clone()),
                    behavior: MemoryBehaviorStore::new(),
                },
                keys,
                plans: PlanCatalog::default(),
                address_key: [7; 32],
                org: serde_json::from_value(
                    serde_json::json!({"id": "org_t", "plan": "pro", "domains": ["shop.example"]}),
                )
                .unwrap(),
            }
        }

        fn settings(&self) -> Settings<'_> {
            Settings {
                fraud: &self.fraud,
                keys: &self.keys,
                plans: &self.plans,
                event_ttl_days: 395,
                message_dedupe_hours: 168,
                collector_token_secret: None,
                address_key: &self.address_key,
            }
        }

        /// Prepares `body` sent as `/t` (or `route`) from Chrome on `ip` with `headers`.
        fn prepare(&self, route: Route, body: serde_json::Value, headers: &[(&str, &str)], caller: Caller) -> Prepared {
            let mut map = http::HeaderMap::new();
            let defaults = [
                ("user-agent", CHROME_UA),
                ("accept-language", "en-US,en;q=0.9"),
                ("origin", "https://shop.example"),
                ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
                ("sec-ch-ua-mobile", "?0"),
                ("sec-ch-ua-platform", "\"Windows\""),
                (
                    "cloudfront-viewer-ja4-fingerprint",
                    "t13d1516h2_8daaf6152771_02713d6af862",
                ),
                ("cloudfront-viewer-http-version", "2.0"),
                ("cloudfront-viewer-address", "198.51.100.7:4000"),
                ("sec-fetch-mode", "cors"),
                ("sec-fetch-site", "same-site"),
                (
                    "cloudfront-viewer-header-order",
                    "host:sec-ch-ua:sec-ch-ua-mobile:sec-ch-ua-platform:user-agent:accept:origin:sec-fetch-site:sec-fetch-mode:accept-language",
                ),
            ];
            for (k, v) in defaults.iter().chain(headers) {
                map.insert(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    http::HeaderValue::from_str(v).unwrap(),
                );
            }
            let req = EdgeRequest::new(
                RequestSource::CloudFront,
                http::Method::POST,
                "/t",
                "",
                map,
                Vec::new(),
                false,
                None,
                None,
            );
            let event = serde_json::from_value::<TrackPayload>(body)
                .unwrap()
                .validate()
                .unwrap();
            let request = EventRequest {
                req: &req,
                route,
                event,
                attribution: None,
                org: &self.org,
                decision: OrgDecision {
                    plan: OrgPlan::Pro,
                    source: LookupSource::Local,
                    stale: false,
                    age_ms: 0,
                },
                enforce: route == Route::Track,
                caller,
            };
            prepare(request, "req-1", &self.settings(), NOW)
        }

        /// What the read phase returns for `p` from the stores.
        async fn read(&self, p: &Prepared) -> Snapshot {
            self.edge.read(p, &self.fraud, Fetched::NotAsked, NOW).await
        }

        fn decide(&self, p: Prepared, snap: Snapshot) -> Decision {
            decide(p, snap, &self.settings(), NOW).unwrap()
        }

        /// Writes a plan into the in-memory stores, as the write phase does.
        async fn write(&self, plan: &Plan) {
            self.edge.write(plan, &self.fraud, NOW).await.unwrap();
        }
    }

    fn stored(d: Decision) -> Plan {
        match d {
            Decision::Store(plan) => *plan,
            other => panic!("expected an event to store: {other:?}"),
        }
    }

    fn body(extra: serde_json::Value) -> serde_json::Value {
        let mut b = serde_json::json!({"organizationId": "org_t", "fingerprint": "fpJudge0001", "event": "page_view"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }

    #[tokio::test]
    async fn a_new_visitor_is_created_with_its_event_and_gets_a_cookie() {
        let w = World::new();
        let p = w.prepare(Route::Track, body(serde_json::json!({})), &[], Caller::Browser);
        let snap = w.read(&p).await;
        assert!(
            matches!(snap.visitor, Fetched::NotAsked),
            "a new visitor has no history to read"
        );
        let plan = stored(w.decide(p, snap));
        assert!(plan.create.is_some() && plan.identity.is_new);
        assert_eq!(plan.cookie.as_deref(), Some(plan.identity.domainprint.as_str()));
        assert_eq!(
            plan.aggregates.visitor.as_deref(),
            Some(plan.identity.visitor_id.as_str())
        );
        let risk = plan.record.risk.as_ref().unwrap();
        assert_eq!(risk.level, Level::Low, "{risk:?}");
        assert!(plan.block.is_none() && risk.degraded.is_empty());
        assert_eq!(plan.record.context.ip.as_deref(), Some("198.51.100.7"));
    }

    #[tokio::test]
    async fn a_returning_visitor_is_found_by_its_cookie_with_its_history_in_the_first_round() {
        let w = World::new();
        let p = w.prepare(Route::Track, body(serde_json::json!({})), &[], Caller::Browser);
        let snap = w.read(&p).await;
        let first = stored(w.decide(p, snap));
        w.write(&first).await;
        let cookie = format!("_impdp={}", first.identity.domainprint);
        let p = w.prepare(
            Route::Track,
            body(serde_json::json!({})),
            &[("cookie", &cookie)],
            Caller::Browser,
        );
        assert_eq!(p.ids.visitor.as_deref(), Some(first.identity.visitor_id.as_str()));
        let snap = w.read(&p).await;
        assert!(
            matches!(snap.visitor, Fetched::NotAsked),
            "the history came with the first round"
        );
        let plan = stored(w.decide(p, snap));
        assert!(plan.create.is_none() && !plan.identity.is_new);
        assert_eq!(plan.identity.visitor_id, first.identity.visitor_id);
        assert_eq!(
            plan.aggregates.visitor.as_deref(),
            Some(first.identity.visitor_id.as_str())
        );
    }

    #[tokio::test]
    async fn a_visitor_found_by_fingerprint_reads_its_history_apart_and_adds_nothing_to_it() {
        let w = World::new();
        let p = w.prepare(Route::Track, body(serde_json::json!({})), &[], Caller::Browser);
        let snap = w.read(&p).await;
        let first = stored(w.decide(p, snap));
        w.write(&first).await;
        // No cookie, the same fingerprint, the same network: matched by fingerprint.
        let p = w.prepare(Route::Track, body(serde_json::json!({})), &[], Caller::Browser);
        let snap = w.read(&p).await;
        assert!(
            matches!(snap.visitor, Fetched::Got(_)),
            "a second round reads its history"
        );
        let plan = stored(w.decide(p, snap));
        assert_eq!(plan.identity.visitor_id, first.identity.visitor_id);
        assert_eq!(plan.aggregates.visitor, None, "not proven by this request");
    }

    #[tokio::test]
    async fn a_pixel_is_scored_but_never_blocked() {
        let w = World::new();
        let p = w.prepare(
            Route::Pixel,
            body(serde_json::json!({})),
            &[("user-agent", "python-requests/2.32.3")],
            Caller::Browser,
        );
        let snap = w.read(&p).await;
        let plan = stored(w.decide(p, snap));
        let risk = plan.record.risk.as_ref().unwrap();
        assert!(risk.level >= Level::High, "{risk:?}");
        assert!(!risk.enforced && plan.block.is_none());
    }

    #[tokio::test]
    async fn a_blacklisted_identifier_stops_the_request_before_scoring() {
        let w = World::new();
        let p = w.prepare(Route::Track, body(serde_json::json!({})), &[], Caller::Browser);
        let mut snap = w.read(&p).await;
        let entry = BlacklistEntry {
            pk: p.ids.blacklist_keys()[0].clone(),
            detection_type: "ja4_mismatch".into(),
            reason: "test".into(),
            blocked_at_ms: NOW - 1000,
            block_expires_ms: NOW + 3_600_000,
            offenses: vec![NOW - 1000],
        };
        snap.first.as_mut().unwrap().blacklist.push(entry.clone());
        assert_eq!(
            history_to_read(&p, &snap, NOW),
            None,
            "a stopped request reads nothing more"
        );
        match w.decide(p, snap) {
            Decision::Blacklisted(hit) => assert_eq!(hit, entry),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_tool_under_a_browser_user_agent_is_blocked_on_its_own_network_only() {
        let w = World::new();
        let p = w.prepare(
            Route::Track,
            body(serde_json::json!({})),
            &[(
                "cloudfront-viewer-ja4-fingerprint",
                "t13d181000_85036bcba153_d41ae481755e",
            )],
            Caller::Browser,
        );
        let snap = w.read(&p).await;
        let plan = stored(w.decide(p, snap));
        let block = plan.block.expect("an enforced block");
        assert_eq!(block.scope, BlockScope::Client);
        assert!(block.blocks_visitor, "the visitor is the one this request created");
        assert!(plan.record.risk.as_ref().unwrap().enforced);
    }

    #[tokio::test]
    async fn a_server_side_event_is_about_the_end_user_it_forwards() {
        let w = World::new();
        let forwarded = Forwarded {
            ip: "203.0.113.50".parse().unwrap(),
            user_agent: CHROME_UA.into(),
            accept_language: Some("de-DE".into()),
        };
        let p = w.prepare(
            Route::Track,
            body(serde_json::json!({})),
            &[],
            Caller::Server(forwarded),
        );
        assert_eq!(p.ids.ja4, None, "the JA4 is the server's");
        assert_eq!(p.ids.ip, Some("203.0.113.50".parse().unwrap()));
        let snap = w.read(&p).await;
        let plan = stored(w.decide(p, snap));
        assert_eq!(plan.cookie, None, "no cookie for a server");
        assert!(plan.record.server_side);
        assert_eq!(plan.record.server_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(plan.record.context.ip.as_deref(), Some("203.0.113.50"));
    }

    #[tokio::test]
    async fn without_fraud_consent_nothing_identifies_and_no_address_is_kept() {
        let w = World::new();
        let consent = serde_json::json!({"consent": {"analytics": false, "fraud": false}});
        let p = w.prepare(
            Route::Track,
            body(consent),
            &[("cookie", "_ga=GA1.2.1234567890.1700000000")],
            Caller::Browser,
        );
        assert!(!p.identifies && p.inputs.fingerprint.is_none() && p.inputs.ga4_client_id.is_none());
        let snap = w.read(&p).await;
        let plan = stored(w.decide(p, snap));
        assert_eq!(plan.cookie, None);
        assert_eq!(plan.record.ga4_client_id, None);
        assert_eq!(plan.record.context.ip, None);
        assert!(plan.record.sketch_raises.is_empty());
        assert_eq!(plan.aggregates.visitor, None);
        assert_eq!(plan.identity.method, crate::identity::MatchMethod::Anonymous);
    }

    #[tokio::test]
    async fn a_repeated_message_is_answered_with_the_event_that_stored_it() {
        let w = World::new();
        let p = w.prepare(
            Route::Track,
            body(serde_json::json!({"messageId": "m-1"})),
            &[],
            Caller::Browser,
        );
        let mut snap = w.read(&p).await;
        let first = StoredMessage {
            request_id: "req-0".into(),
            event_id: "ev-0".into(),
        };
        snap.seen = Some(first.clone());
        assert_eq!(history_to_read(&p, &snap, NOW), None);
        match w.decide(p, snap) {
            Decision::Repeated(s) => assert_eq!(s, first),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_failed_read_leaves_its_component_out_and_says_so() {
        let w = World::new();
        let p = w.prepare(
            Route::Track,
            body(serde_json::json!({"event": "login"})),
            &[],
            Caller::Browser,
        );
        assert!(p.login_key.is_some());
        let mut snap = w.read(&p).await;
        snap.first = None;
        snap.login_count = Fetched::Failed;
        let plan = stored(w.decide(p, snap));
        let degraded = &plan.record.risk.as_ref().unwrap().degraded;
        assert_eq!(degraded, &["behavior".to_string(), "credential_stuffing".to_string()]);
    }
}
