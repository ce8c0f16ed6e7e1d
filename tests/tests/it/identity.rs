//! The identity resolver against moto server, counting the DynamoDB calls of each path with
//! an SDK interceptor: fast path, parallel path, new visitor, alias on a second domain,
//! return by fingerprint after clearing cookies, conflict, two concurrent first requests,
//! isolation between organizations, identical devices on other networks (possible same
//! device, never merged), population counts; and through the edge function, the cookie
//! round trip.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use impressio::identity::corroborate::Sighting;
use impressio::identity::domainprint::{DomainprintKeys, Presented};
use impressio::identity::population::PopSet;
use impressio::identity::resolver::Resolution;
use impressio::identity::store::{Created, IndexKey, IndexKind};
use impressio::identity::IdentityStore;
use impressio::identity::{DynamoIdentityStore, IdentityConfig, IdentityInputs, MatchMethod, Resolver};
use integration_tests::counting::{counting_client, CallLog};
use integration_tests::harness::{cloudfront_track, minimal_event, Harness};
use serde_json::json;
use tools::table::TableDefinition;

const NOW: i64 = 1_795_000_000_000;

struct Setup {
    resolver: Resolver<DynamoIdentityStore>,
    log: Arc<CallLog>,
    client: aws_sdk_dynamodb::Client,
    table: String,
}

async fn setup() -> Setup {
    let (client, log) = counting_client(&tools::moto_endpoint());
    let table = tools::unique_table_name("identity");
    TableDefinition::load().unwrap().create(&client, &table).await.unwrap();
    log.reset();
    Setup {
        resolver: Resolver::new(
            DynamoIdentityStore::new(client.clone(), table.clone()),
            IdentityConfig::default(),
            keys().clone(),
        ),
        log,
        client,
        table,
    }
}

/// The keys of every resolver of these tests.
fn keys() -> &'static DomainprintKeys {
    static KEYS: std::sync::OnceLock<DomainprintKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(DomainprintKeys::ephemeral)
}

/// A request's identity inputs for `org`, its domainprint (if any) verified as the edge does,
/// from a desktop browser on a home network (198.51.100.0/24, Comcast, New York, English).
fn inputs(org: &str, fp: Option<&str>, dp: Option<&str>, bh: Option<&str>) -> IdentityInputs {
    IdentityInputs {
        fingerprint: fp.map(str::to_string),
        domainprint: dp.map_or(Presented::Absent, |d| keys().verify(org, d, NOW)),
        behavioral: bh.map(str::to_string),
        sighting: home(),
        ..Default::default()
    }
}

fn home() -> Sighting {
    Sighting {
        network: Some("198.51.100.0/24".into()),
        asn: Some(7922),
        time_zone: Some("America/New_York".into()),
        language: Some("en-us".into()),
        mobile: false,
    }
}

/// [`inputs`] from a phone on another network: a carrier's, in another city.
fn phone_elsewhere(org: &str, fp: &str, network: &str) -> IdentityInputs {
    IdentityInputs {
        sighting: Sighting {
            network: Some(network.into()),
            asn: Some(21928),
            time_zone: Some("America/Chicago".into()),
            language: Some("en-us".into()),
            mobile: true,
        },
        ..inputs(org, Some(fp), None, None)
    }
}

impl Setup {
    /// Resolves as the edge does before its other writes: the reads, and for a new visitor
    /// its creation with an event (resolving again when a concurrent request created it).
    async fn resolve_raw(
        &self,
        org: &str,
        i: &IdentityInputs,
        site: Option<&str>,
        now: i64,
    ) -> Result<Resolution, impressio::store::StoreError> {
        let r = self.resolver.resolve(org, i, site, now).await?;
        let Some(create) = &r.create else { return Ok(r) };
        let event = minimal_event(&uuid::Uuid::now_v7().to_string(), org, None, now);
        match self.resolver.create(create, &event.items(None)?).await? {
            Created::Stored => Ok(r),
            Created::VisitorExists => {
                let again = self.resolver.resolve_again(org, i, site, now).await?;
                assert!(again.create.is_none(), "the consistent read finds the visitor");
                Ok(again)
            }
            Created::Repeated(_) => unreachable!("no message id"),
        }
    }

    async fn resolve(&self, org: &str, i: &IdentityInputs, site: &str, now: i64) -> Resolution {
        let r = self.resolve_raw(org, i, Some(site), now).await.unwrap();
        self.resolver.apply(&r.writes).await.unwrap();
        r
    }

    /// Items of a type in the table.
    async fn items_of(&self, item_type: &str) -> usize {
        self.client
            .scan()
            .table_name(&self.table)
            .filter_expression("item_type = :t")
            .expression_attribute_values(":t", AttributeValue::S(item_type.into()))
            .send()
            .await
            .unwrap()
            .items()
            .len()
    }
}

#[tokio::test]
async fn new_visitor_then_fast_path_with_exactly_one_read() {
    let s = setup().await;
    let first = s
        .resolve_raw(
            "org_a",
            &inputs("org_a", Some("fpA"), None, None),
            Some("shop.example"),
            NOW,
        )
        .await
        .unwrap();
    let id = first.identity.clone();
    assert!(id.is_new);
    assert_eq!(id.method, MatchMethod::New);
    assert_eq!(id.confidence, 0.5);
    // Parallel path with only a fingerprint: one BatchGetItem, then the creating transaction.
    assert_eq!(s.log.ops(), vec!["BatchGetItem", "TransactWriteItems"]);
    s.resolver.apply(&first.writes).await.unwrap();
    assert_eq!(s.items_of("visitor").await, 1);
    assert_eq!(s.items_of("visitor_device").await, 1);
    assert_eq!(s.items_of("visitor_domainprint").await, 1);
    // Domainprint, fingerprint, fingerprint on the network, network.
    assert_eq!(s.items_of("identity_index").await, 4);

    s.log.reset();
    let again = s
        .resolve_raw(
            "org_a",
            &inputs("org_a", Some("fpA"), Some(&id.domainprint), None),
            Some("shop.example"),
            NOW + 1_000,
        )
        .await
        .unwrap();
    assert_eq!(s.log.ops(), vec!["BatchGetItem"], "the fast path is exactly one read");
    assert_eq!(again.identity.visitor_id, id.visitor_id);
    assert_eq!(again.identity.method, MatchMethod::CookieAndFingerprint);
    assert_eq!(again.identity.confidence, 0.98);
    assert!(!again.identity.is_new);
    // Within the touch interval nothing is written; after it, one call updates "last seen".
    assert!(again.writes.is_empty());
    s.log.reset();
    let later = s
        .resolve(
            "org_a",
            &inputs("org_a", Some("fpA"), Some(&id.domainprint), None),
            "shop.example",
            NOW + 120_000,
        )
        .await;
    assert_eq!(later.identity.visitor_id, id.visitor_id);
    assert_eq!(s.log.ops(), vec!["BatchGetItem", "TransactWriteItems"]);
}

#[tokio::test]
async fn parallel_path_reads_concurrently_and_prefers_the_fingerprint() {
    let s = setup().await;
    let a = s
        .resolve(
            "org_a",
            &inputs("org_a", Some("fpA"), None, Some("beh-sig-A1")),
            "shop.example",
            NOW,
        )
        .await;
    s.log.reset();
    // A new browser profile (no cookie) with the same fingerprint and behavior.
    let r = s
        .resolve_raw(
            "org_a",
            &inputs("org_a", Some("fpA"), None, Some("beh-sig-A1")),
            Some("shop.example"),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        s.log.ops(),
        vec!["BatchGetItem"],
        "every index read in one call, no write before the answer"
    );
    assert_eq!(r.identity.visitor_id, a.identity.visitor_id);
    assert_eq!(r.identity.method, MatchMethod::Fingerprint);
    // Same network, a fingerprint seen once, same language and time zone, same behavior.
    assert!(r.identity.confidence > 0.75, "{:?}", r.identity);
    assert!(r.identity.evidence.contains(&"same_network".to_string()));
    assert_ne!(
        r.identity.domainprint, a.identity.domainprint,
        "a new domainprint is issued"
    );
    // Behavior alone (a different fingerprint) merges nobody: a new visitor, linked.
    let b = s
        .resolve(
            "org_a",
            &inputs("org_a", Some("fpOther"), None, Some("beh-sig-A1")),
            "shop.example",
            NOW,
        )
        .await;
    assert!(b.identity.is_new);
    assert_ne!(b.identity.visitor_id, a.identity.visitor_id);
    assert_eq!(
        b.identity.possible_same_device.as_deref(),
        Some(a.identity.visitor_id.as_str())
    );
    assert_eq!(s.items_of("possible_same_device").await, 2, "recorded on both visitors");
}

#[tokio::test]
async fn identical_phones_on_other_networks_are_linked_never_merged() {
    let s = setup().await;
    let a = s
        .resolve(
            "org_a",
            &phone_elsewhere("org_a", "fpIphone", "192.0.2.0/24"),
            "shop.example",
            NOW,
        )
        .await
        .identity;
    // Another person, the same phone model and settings, another network: a new visitor.
    s.log.reset();
    let b = s
        .resolve_raw(
            "org_a",
            &phone_elsewhere("org_a", "fpIphone", "203.0.113.0/24"),
            Some("shop.example"),
            NOW + 60_000,
        )
        .await
        .unwrap();
    assert_eq!(s.log.ops(), vec!["BatchGetItem", "TransactWriteItems"]);
    let b_id = b.identity.clone();
    s.resolver.apply(&b.writes).await.unwrap();
    assert!(b_id.is_new, "{b_id:?}");
    assert_ne!(b_id.visitor_id, a.visitor_id);
    assert_eq!(b_id.possible_same_device.as_deref(), Some(a.visitor_id.as_str()));
    assert!(b_id.corroboration_score.is_some_and(|x| x < 3.0));
    // The person who cleared cookies on their own network is still joined.
    let back = s
        .resolve(
            "org_a",
            &phone_elsewhere("org_a", "fpIphone", "203.0.113.0/24"),
            "shop.example",
            NOW + 120_000,
        )
        .await
        .identity;
    assert_eq!(back.visitor_id, b_id.visitor_id);
    assert_eq!(back.method, MatchMethod::Fingerprint);
    // The fingerprint's population: two networks, two visitors, three domainprints.
    let fp = s
        .resolver
        .store()
        .get_many(&[IndexKey::new("org_a", IndexKind::Fingerprint, "fpIphone")], false)
        .await
        .unwrap()
        .remove(0)
        .expect("the fingerprint's entry");
    assert_eq!(
        (
            fp.population.count(PopSet::Networks),
            fp.population.count(PopSet::Visitors),
            fp.population.count(PopSet::Domainprints)
        ),
        (2, 2, 3)
    );
    assert_eq!(fp.visitor_id, a.visitor_id, "the first visitor stays named");
}

#[tokio::test]
async fn one_request_counts_once_and_a_full_set_stops_growing() {
    let s = setup().await;
    let cap = IdentityConfig::default().corroboration.population_cap;
    let key = IndexKey::new("org_a", IndexKind::Fingerprint, "fpFlood");
    let count = |set| {
        let s = &s;
        let key = key.clone();
        async move {
            s.resolver.store().get_many(&[key], false).await.unwrap()[0]
                .as_ref()
                .map_or(0, |e| e.population.count(set))
        }
    };
    // The same request again and again counts once.
    for i in 0..3 {
        s.resolve(
            "org_a",
            &phone_elsewhere("org_a", "fpFlood", "192.0.2.0/24"),
            "shop.example",
            NOW + i,
        )
        .await;
    }
    assert_eq!(count(PopSet::Networks).await, 1);
    // A client flooding the fingerprint from many networks fills the set to its cap, no more.
    for i in 0..(u64::from(cap) + 4) {
        let net = format!("203.0.{}.0/24", i + 1);
        s.resolve(
            "org_a",
            &phone_elsewhere("org_a", "fpFlood", &net),
            "shop.example",
            NOW + 10 + i as i64,
        )
        .await;
    }
    assert_eq!(count(PopSet::Networks).await, u64::from(cap));
    assert_eq!(count(PopSet::Visitors).await, u64::from(cap));
}

#[tokio::test]
async fn a_second_domain_and_cleared_cookies_are_aliased_to_the_same_visitor() {
    let s = setup().await;
    let shop = s
        .resolve("org_a", &inputs("org_a", Some("fpA"), None, None), "shop.example", NOW)
        .await
        .identity;
    // The blog's tracker host has no cookie yet: the fingerprint finds the visitor and the
    // blog's new domainprint is aliased to it.
    let blog = s
        .resolve("org_a", &inputs("org_a", Some("fpA"), None, None), "blog.example", NOW)
        .await
        .identity;
    assert_eq!(blog.visitor_id, shop.visitor_id);
    assert_eq!(blog.method, MatchMethod::Fingerprint);
    // From then on the blog's cookie takes the fast path.
    s.log.reset();
    let fast = s
        .resolve(
            "org_a",
            &inputs("org_a", Some("fpA"), Some(&blog.domainprint), None),
            "blog.example",
            NOW,
        )
        .await
        .identity;
    assert_eq!(s.log.count("BatchGetItem"), 1);
    assert_eq!(
        (fast.visitor_id, fast.method),
        (shop.visitor_id.clone(), MatchMethod::CookieAndFingerprint)
    );
    // Cookies cleared on the shop: back by fingerprint, a third domainprint aliased.
    let back = s
        .resolve("org_a", &inputs("org_a", Some("fpA"), None, None), "shop.example", NOW)
        .await
        .identity;
    assert_eq!(back.visitor_id, shop.visitor_id);
    assert_eq!(s.items_of("visitor").await, 1);
    assert_eq!(
        s.items_of("visitor_domainprint").await,
        3,
        "the visitor's domainprints are recorded"
    );
}

#[tokio::test]
async fn a_new_device_under_the_cookie_and_a_conflict() {
    let s = setup().await;
    let a = s
        .resolve("org_a", &inputs("org_a", Some("fpA"), None, None), "shop.example", NOW)
        .await
        .identity;
    let b = s
        .resolve("org_a", &inputs("org_a", Some("fpB"), None, None), "shop.example", NOW)
        .await
        .identity;
    assert_ne!(a.visitor_id, b.visitor_id);
    // A's cookie with a fingerprint never seen: a new device of A (still one read).
    s.log.reset();
    let dev = s
        .resolve(
            "org_a",
            &inputs("org_a", Some("fpA2"), Some(&a.domainprint), None),
            "shop.example",
            NOW,
        )
        .await
        .identity;
    assert_eq!(s.log.count("BatchGetItem"), 1);
    assert_eq!(
        (dev.visitor_id.clone(), dev.method, dev.confidence),
        (a.visitor_id.clone(), MatchMethod::Cookie, 0.85)
    );
    assert!(!dev.conflict);
    assert_eq!(s.items_of("visitor_device").await, 3);
    // A's cookie with B's fingerprint: A kept, conflict reported.
    let c = s
        .resolve(
            "org_a",
            &inputs("org_a", Some("fpB"), Some(&a.domainprint), None),
            "shop.example",
            NOW,
        )
        .await
        .identity;
    assert_eq!(c.visitor_id, a.visitor_id);
    assert!(c.conflict);
    assert_eq!(c.conflicting_visitor_id.as_deref(), Some(b.visitor_id.as_str()));
    assert_eq!(c.confidence, 0.45);
}

#[tokio::test]
async fn two_concurrent_first_requests_make_one_visitor() {
    let s = setup().await;
    let i = inputs("org_a", Some("fpRace"), None, None);
    let (x, y) = tokio::join!(
        s.resolve_raw("org_a", &i, Some("shop.example"), NOW),
        s.resolve_raw("org_a", &i, Some("shop.example"), NOW)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    s.resolver.apply(&x.writes).await.unwrap();
    s.resolver.apply(&y.writes).await.unwrap();
    assert_eq!(x.identity.visitor_id, y.identity.visitor_id);
    assert_eq!(
        u8::from(x.identity.is_new) + u8::from(y.identity.is_new),
        1,
        "exactly one created it"
    );
    assert_eq!(s.items_of("visitor").await, 1);
    // Both domainprints lead to the visitor.
    for dp in [&x.identity.domainprint, &y.identity.domainprint] {
        let r = s
            .resolve(
                "org_a",
                &inputs("org_a", Some("fpRace"), Some(dp), None),
                "shop.example",
                NOW,
            )
            .await
            .identity;
        assert_eq!(r.visitor_id, x.identity.visitor_id);
        assert_eq!(r.method, MatchMethod::CookieAndFingerprint);
    }
}

#[tokio::test]
async fn organizations_never_share_identities() {
    let s = setup().await;
    let one = s
        .resolve(
            "org_one",
            &inputs("org_one", Some("fpSame"), None, None),
            "shop.example",
            NOW,
        )
        .await
        .identity;
    let two = s
        .resolve(
            "org_two",
            &inputs("org_two", Some("fpSame"), None, None),
            "other.example",
            NOW,
        )
        .await
        .identity;
    assert!(
        two.is_new,
        "the same fingerprint in another organization is another visitor"
    );
    assert_ne!(one.visitor_id, two.visitor_id);
    // org_one's domainprint presented to org_two is forged there (its signature covers the
    // organization): never resolved to org_one's visitor, never registered in org_two.
    let cross = s
        .resolve(
            "org_two",
            &inputs("org_two", None, Some(&one.domainprint), None),
            "other.example",
            NOW,
        )
        .await
        .identity;
    assert_ne!(cross.visitor_id, one.visitor_id);
    assert!(cross.is_new);
    assert_ne!(cross.domainprint, one.domainprint, "a new domainprint of org_two's");
    let again = s
        .resolve(
            "org_two",
            &inputs("org_two", None, Some(&one.domainprint), None),
            "other.example",
            NOW,
        )
        .await
        .identity;
    assert_ne!(
        again.visitor_id, cross.visitor_id,
        "the foreign value names nobody in org_two"
    );
    let own = s
        .resolve(
            "org_two",
            &inputs("org_two", None, Some(&cross.domainprint), None),
            "other.example",
            NOW,
        )
        .await
        .identity;
    assert_eq!(own.visitor_id, cross.visitor_id);
    assert_eq!(own.method, MatchMethod::Cookie);
}

/// A CloudFront `/t` event of a Chrome visitor of `org_demo_free` with fingerprint `fp`.
fn track(cookie: Option<&str>, fp: &str) -> String {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    let body = json!({"organizationId": "org_demo_free", "fingerprint": fp, "userId": null});
    cloudfront_track("198.51.100.1", &headers, &body)
}

#[tokio::test]
async fn through_the_edge_concurrent_first_requests_store_both_events_for_one_visitor() {
    let h = Harness::new().await;
    // Both read before either writes: both decide on a new visitor, and the transaction that
    // creates it with the event lets only one through; the other joins its visitor.
    let request = track(None, "fpRaceEdge");
    let (a, b) = tokio::join!(h.invoke(&request), h.invoke(&request));
    assert_eq!((a.status, b.status), (200, 200));
    let (ia, ib) = (a.json()["identity"].clone(), b.json()["identity"].clone());
    assert_eq!(ia["visitorId"], ib["visitorId"]);
    assert_eq!(
        [&ia, &ib].iter().filter(|i| i["isNew"] == true).count(),
        1,
        "exactly one created it: {ia} {ib}"
    );
    assert_eq!(h.items_of_type("visitor").await.len(), 1);
    for answer in [&a, &b] {
        let records = h.records(&answer.request_id()).await;
        assert_eq!(records.len(), 1, "each event stored once");
        assert_eq!(records[0].visitor_id.as_deref(), ia["visitorId"].as_str());
        // The cookie of each answer leads back to the visitor.
        let cookie = answer.header("set-cookie").expect("domainprint cookie");
        let again = h
            .invoke(&track(Some(cookie.split(';').next().unwrap()), "fpRaceEdge"))
            .await;
        assert_eq!(again.json()["identity"]["visitorId"], ia["visitorId"]);
        assert_eq!(again.json()["identity"]["method"], "cookie_and_fingerprint");
    }
}

#[tokio::test]
async fn through_the_edge_the_cookie_round_trip_keeps_the_visitor() {
    let h = Harness::new().await;
    let first = h.invoke(&track(None, "fpEdge")).await;
    assert_eq!(first.status, 200);
    let identity = first.json()["identity"].clone();
    assert_eq!(identity["isNew"], true);
    assert_eq!(identity["method"], "new");
    let cookie = first.header("set-cookie").expect("domainprint cookie").to_string();
    for attr in [
        "_impdp=",
        "Max-Age=31536000",
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let pair = cookie.split(';').next().unwrap();
    let second = h.invoke(&track(Some(&format!("other=1; {pair}")), "fpEdge")).await;
    let again = second.json()["identity"].clone();
    assert_eq!(again["visitorId"], identity["visitorId"]);
    assert_eq!(again["method"], "cookie_and_fingerprint");
    let r = &h.records(&second.request_id()).await[0];
    assert_eq!(
        r.visitor_id.as_ref(),
        identity["visitorId"].as_str().map(str::to_string).as_ref()
    );
    assert_eq!(r.identity.as_ref().unwrap().method, MatchMethod::CookieAndFingerprint);
    let vid = identity["visitorId"].as_str().unwrap();
    assert_eq!(
        r.gsi_user_pk.as_deref(),
        Some(format!("ORG#org_demo_free#VISITOR#{vid}").as_str())
    );
    // A malformed cookie is ignored and replaced, never an error.
    let bad = h.invoke(&track(Some("_impdp=x"), "fpEdge")).await;
    assert_eq!(bad.status, 200);
    assert_eq!(bad.json()["identity"]["method"], "fingerprint");
}

/// The in-memory store (the accuracy benchmark's) decides as the DynamoDB adapter does: one
/// scripted sequence — a new visitor, a return on its network, a second domain, an identical
/// phone elsewhere, a flood of networks, a behavioral-only match — through both, the same
/// methods and the same grouping of requests into visitors.
#[tokio::test]
async fn the_in_memory_store_resolves_as_dynamodb_does() {
    use impressio::identity::MemoryIdentityStore;
    let s = setup().await;
    let memory = Resolver::new(MemoryIdentityStore::new(), IdentityConfig::default(), keys().clone());
    let script: Vec<IdentityInputs> = {
        let mut v = vec![
            inputs("org_p", Some("fpP"), None, Some("beh-sig-P1")),
            inputs("org_p", Some("fpP"), None, None),
            phone_elsewhere("org_p", "fpP", "203.0.113.0/24"),
            phone_elsewhere("org_p", "fpP", "203.0.113.0/24"),
            inputs("org_p", Some("fpOther"), None, Some("beh-sig-P1")),
        ];
        for i in 0..20 {
            v.push(phone_elsewhere("org_p", "fpP", &format!("192.0.{i}.0/24")));
        }
        v
    };
    let mut outcomes = Vec::new();
    for (n, i) in script.iter().enumerate() {
        let now = NOW + n as i64 * 1_000;
        let d = s.resolve("org_p", i, "shop.example", now).await.identity;
        let r = memory.resolve("org_p", i, Some("shop.example"), now).await.unwrap();
        if let Some(create) = &r.create {
            let event = minimal_event(&uuid::Uuid::now_v7().to_string(), "org_p", None, now);
            assert_eq!(
                memory.create(create, &event.items(None).unwrap()).await.unwrap(),
                Created::Stored
            );
        }
        memory.apply(&r.writes).await.unwrap();
        outcomes.push((d, r.identity));
    }
    // The same grouping: request k joins request j's visitor in both, or in neither.
    for (k, (dk, mk)) in outcomes.iter().enumerate() {
        assert_eq!(dk.method, mk.method, "request {k}");
        assert_eq!(dk.evidence, mk.evidence, "request {k}");
        for (dj, mj) in &outcomes[..k] {
            assert_eq!(
                dk.visitor_id == dj.visitor_id,
                mk.visitor_id == mj.visitor_id,
                "request {k}"
            );
        }
    }
    assert!(
        outcomes.iter().any(|(d, _)| d.possible_same_device.is_some()),
        "the script refuses a match"
    );
}

/// A fingerprint or behavioral signature that cannot be one is refused with the event (a
/// `400` naming the field) and counts in no population; an empty fingerprint is no
/// fingerprint (the request resolves without one).
#[tokio::test]
async fn through_the_edge_bad_identity_inputs_are_refused_or_ignored_and_count_nothing() {
    let h = Harness::new().await;
    let long = "f".repeat(129);
    for fp in [long.as_str(), "f/p", "fp with spaces"] {
        let a = h.invoke(&track(None, fp)).await;
        assert_eq!(a.status, 400, "{fp:?}");
        assert_eq!(a.json()["field"], "fingerprint");
    }
    for signature in ["short", "has spaces in it", &"b".repeat(129)] {
        let body =
            json!({"organizationId": "org_demo_free", "fingerprint": "fpGood", "behavioralSignature": signature});
        let a = h.invoke(&cloudfront_track("198.51.100.1", &[], &body)).await;
        assert_eq!(a.status, 400, "{signature:?}");
        assert_eq!(a.json()["field"], "behavioralSignature");
    }
    let empty = h.invoke(&track(None, "")).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json()["identity"]["method"], "new");
    // Nothing above wrote a fingerprint's entry.
    let fingerprints = h
        .items_of_type("identity_index")
        .await
        .into_iter()
        .filter(|i| i.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) == Some("FP"))
        .count();
    assert_eq!(fingerprints, 0);
}
