//! Contract tests of the organization directory's HTTP clients: the exact PostgREST and
//! Upstash requests (method, path, query, headers, body) and every error path, against
//! `wiremock` stand-ins of the two services.

use std::sync::Arc;
use std::time::Duration;

use impressio::clock::FixedClock;
use impressio::config::Secret;
use impressio::org::supabase::{SupabaseClient, SupabaseConfig, EDGE_COLUMNS};
use impressio::org::tiered::{cache_key, TierConfig};
use impressio::org::upstash::{UpstashClient, UpstashConfig};
use impressio::org::{DirectoryError, Lookup, LookupSource, OrganizationSource, Plan, TieredDirectory};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "service-role-key";
const TOKEN: &str = "upstash-token";

fn supabase(server: &MockServer, timeout_ms: u64) -> SupabaseClient {
    SupabaseClient::new(SupabaseConfig {
        url: server.uri(),
        service_key: Secret::new(KEY),
        timeout_ms,
    })
    .unwrap()
}

fn upstash(server: &MockServer) -> UpstashClient {
    UpstashClient::new(UpstashConfig {
        url: server.uri(),
        token: Secret::new(TOKEN),
        timeout_ms: 300,
    })
    .unwrap()
}

fn row(id: &str, plan: &str) -> serde_json::Value {
    json!({"id": id, "name": "Shop", "plan": plan, "domains": ["shop.example"], "events_this_month": 12,
        "billing_period_start": "2026-11-01"})
}

fn postgrest_get(id_filter: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/rest/v1/organizations"))
        .and(query_param("id", id_filter))
        .and(query_param("select", EDGE_COLUMNS))
        .and(header("apikey", KEY))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("accept", "application/json"))
}

#[tokio::test]
async fn postgrest_request_is_exact_and_rows_decode() {
    let server = MockServer::start().await;
    postgrest_get("eq.org_1")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("org_1", "starter")])))
        .expect(1)
        .mount(&server)
        .await;
    let org = supabase(&server, 1000).fetch("org_1").await.unwrap().unwrap();
    assert_eq!(org.plan, Plan::Starter);
    assert_eq!(org.domains, vec!["shop.example"]);
    assert_eq!(org.events_this_month, 12);
    assert_eq!(org.billing_period_start.as_deref(), Some("2026-11-01"));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].body.is_empty());
}

#[tokio::test]
async fn postgrest_batch_uses_in_and_empty_means_unknown() {
    let server = MockServer::start().await;
    postgrest_get("in.(a,b)")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("a", "pro"), row("b", "gold")])))
        .expect(1)
        .mount(&server)
        .await;
    postgrest_get("eq.nobody")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let client = supabase(&server, 1000);
    let orgs = OrganizationSource::fetch_many(&client, &["a", "b"]).await.unwrap();
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[1].plan, Plan::Free, "an unknown plan name is served as free");
    assert!(client.fetch("nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn postgrest_errors_are_classified_without_the_key() {
    let server = MockServer::start().await;
    for (id, status) in [("e401", 401), ("e404", 404), ("e503", 503)] {
        postgrest_get(&format!("eq.{id}"))
            .respond_with(ResponseTemplate::new(status).set_body_string(r#"{"message":"nope"}"#))
            .mount(&server)
            .await;
    }
    postgrest_get("eq.slow")
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(600))
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    postgrest_get("eq.garbled")
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&server)
        .await;
    let client = supabase(&server, 200);
    let e = client.fetch("e401").await.unwrap_err();
    assert!(matches!(e, DirectoryError::Unauthorized { status: 401, .. }), "{e}");
    let e = client.fetch("e404").await.unwrap_err();
    assert!(matches!(e, DirectoryError::Status { status: 404, .. }), "{e}");
    let e = client.fetch("e503").await.unwrap_err();
    assert!(matches!(e, DirectoryError::Status { status: 503, .. }), "{e}");
    let e = client.fetch("slow").await.unwrap_err();
    assert!(matches!(e, DirectoryError::Timeout { timeout_ms: 200, .. }), "{e}");
    let e = client.fetch("garbled").await.unwrap_err();
    assert!(matches!(e, DirectoryError::Decode { .. }), "{e}");
    for e in [
        client.fetch("e401").await.unwrap_err(),
        client.fetch("e503").await.unwrap_err(),
    ] {
        assert!(!format!("{e} {e:?}").contains(KEY));
    }
    let refused = SupabaseClient::new(SupabaseConfig {
        url: "http://127.0.0.1:9".into(),
        service_key: Secret::new(KEY),
        timeout_ms: 500,
    })
    .unwrap();
    assert!(matches!(
        refused.fetch("x").await.unwrap_err(),
        DirectoryError::Transport { .. }
    ));
}

#[tokio::test]
async fn upstash_commands_and_pipeline_use_the_documented_json_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!(["SET", "k", "v", "EX", 300])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": "OK"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pipeline"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!([["GET", "a"], ["INCR", "b"]])))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"result": null}, {"error": "ERR value is not an integer"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let u = upstash(&server);
    assert_eq!(
        u.command(&[json!("SET"), json!("k"), json!("v"), json!("EX"), json!(300)])
            .await
            .unwrap(),
        json!("OK")
    );
    let results = u
        .pipeline(&[vec![json!("GET"), json!("a")], vec![json!("INCR"), json!("b")]])
        .await
        .unwrap();
    assert_eq!(results[0].as_ref().unwrap(), &json!(null));
    assert!(results[1].as_ref().unwrap_err().to_string().contains("not an integer"));
}

#[tokio::test]
async fn upstash_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_json(json!(["GET", "unauthorized"])))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_json(json!(["BOGUS"])))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "ERR unknown command 'BOGUS'"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_json(json!(["GET", "slow"])))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(800))
                .set_body_json(json!({"result": null})),
        )
        .mount(&server)
        .await;
    let u = upstash(&server);
    assert!(matches!(
        u.command(&[json!("GET"), json!("unauthorized")]).await.unwrap_err(),
        DirectoryError::Unauthorized { status: 401, .. }
    ));
    let e = u.command(&[json!("BOGUS")]).await.unwrap_err();
    assert!(e.to_string().contains("unknown command"), "{e}");
    assert!(matches!(
        u.command(&[json!("GET"), json!("slow")]).await.unwrap_err(),
        DirectoryError::Timeout { .. }
    ));
}

struct Tiers {
    supabase: MockServer,
    upstash: MockServer,
    clock: Arc<FixedClock>,
    dir: TieredDirectory<SupabaseClient>,
}

async fn tiers(with_upstash: bool) -> Tiers {
    let supabase_server = MockServer::start().await;
    let upstash_server = MockServer::start().await;
    let clock = Arc::new(FixedClock::at(1_795_000_000_000));
    let dir = TieredDirectory::new(
        supabase(&supabase_server, 300),
        with_upstash.then(|| upstash(&upstash_server)),
        clock.clone(),
        TierConfig::default(),
    );
    Tiers {
        supabase: supabase_server,
        upstash: upstash_server,
        clock,
        dir,
    }
}

/// The `SET` commands an Upstash stand-in received, as JSON arrays.
async fn sets_sent(server: &MockServer) -> Vec<serde_json::Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .filter(|b: &serde_json::Value| b[0] == "SET")
        .collect()
}

async fn upstash_get(server: &MockServer, id: &str, result: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_json(json!(["GET", cache_key(id)])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": result})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn cold_lookup_fills_upstash_and_the_warm_tier_then_answers_from_memory() {
    let t = tiers(true).await;
    upstash_get(&t.upstash, "org_1", json!(null)).await;
    postgrest_get("eq.org_1")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("org_1", "pro")])))
        // Once cold, once after the in-process TTL (this Upstash stand-in never hits).
        .expect(2)
        .mount(&t.supabase)
        .await;
    let cold = t.dir.get("org_1").await;
    assert!(
        matches!(
            &cold,
            Lookup::Found {
                source: LookupSource::Supabase,
                ..
            }
        ),
        "{cold:?}"
    );
    // The SET written to Upstash: the organization as JSON, 5 minute TTL (the edge design).
    let sets = sets_sent(&t.upstash).await;
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0][1], cache_key("org_1"));
    assert_eq!(sets[0][3], "EX");
    assert_eq!(sets[0][4], 300);
    let cached: serde_json::Value = serde_json::from_str(sets[0][2].as_str().unwrap()).unwrap();
    assert_eq!(cached["org"]["plan"], "pro");
    let before = t.upstash.received_requests().await.unwrap().len();
    let warm = t.dir.get("org_1").await;
    assert!(
        matches!(
            &warm,
            Lookup::Found {
                source: LookupSource::Memory,
                ..
            }
        ),
        "{warm:?}"
    );
    assert_eq!(
        t.upstash.received_requests().await.unwrap().len(),
        before,
        "a warm hit makes no call"
    );
    // After the in-process TTL the next tier is asked again.
    t.clock.advance(61_000);
    let _ = t.dir.get("org_1").await;
    assert!(t.upstash.received_requests().await.unwrap().len() > before);
}

#[tokio::test]
async fn upstash_hit_skips_supabase() {
    let t = tiers(true).await;
    let cached = json!({"org": {"id": "org_2", "plan": "enterprise", "domains": ["a.example"]}}).to_string();
    upstash_get(&t.upstash, "org_2", json!(cached)).await;
    let got = t.dir.get("org_2").await;
    let Lookup::Found { org, source, .. } = got else {
        panic!("{got:?}")
    };
    assert_eq!(source, LookupSource::Upstash);
    assert_eq!(org.plan, Plan::Enterprise);
    assert!(t.supabase.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_ids_are_remembered_so_a_flood_cannot_hammer_supabase() {
    let t = tiers(true).await;
    upstash_get(&t.upstash, "ghost", json!(null)).await;
    postgrest_get("eq.ghost")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&t.supabase)
        .await;
    for _ in 0..50 {
        assert_eq!(t.dir.get("ghost").await, Lookup::Unknown);
    }
    let negative = sets_sent(&t.upstash).await;
    assert_eq!(negative.len(), 1);
    assert_eq!(negative[0][2], json!({"missing": true}).to_string());
    assert_eq!(negative[0][4], 30, "negative entries live ORG_NEGATIVE_TTL_SECS");
}

#[tokio::test]
async fn supabase_down_serves_stale_entries_and_refuses_the_unknown() {
    let t = tiers(false).await;
    postgrest_get("eq.org_3")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("org_3", "starter")])))
        .up_to_n_times(1)
        .mount(&t.supabase)
        .await;
    assert!(matches!(
        t.dir.get("org_3").await,
        Lookup::Found {
            source: LookupSource::Supabase,
            ..
        }
    ));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&t.supabase)
        .await;
    t.clock.advance(120_000);
    let stale = t.dir.get("org_3").await;
    let Lookup::Found { source, age_ms, .. } = stale else {
        panic!("{stale:?}")
    };
    assert_eq!(source, LookupSource::Stale);
    assert_eq!(age_ms, 120_000);
    let calls = t.supabase.received_requests().await.unwrap().len();
    // Within the retry pause the failed source is not asked again.
    assert!(matches!(
        t.dir.get("org_3").await,
        Lookup::Found {
            source: LookupSource::Stale,
            ..
        }
    ));
    assert!(matches!(t.dir.get("never_seen").await, Lookup::Unavailable { .. }));
    assert_eq!(t.supabase.received_requests().await.unwrap().len(), calls);
    // Past max_stale nothing is served.
    t.clock.advance(25 * 3_600_000);
    assert!(matches!(t.dir.get("org_3").await, Lookup::Unavailable { .. }));
}

#[tokio::test]
async fn upstash_down_falls_through_to_supabase() {
    let t = tiers(true).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&t.upstash)
        .await;
    postgrest_get("eq.org_4")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("org_4", "free")])))
        .expect(1)
        .mount(&t.supabase)
        .await;
    assert!(matches!(
        t.dir.get("org_4").await,
        Lookup::Found {
            source: LookupSource::Supabase,
            ..
        }
    ));
}

#[tokio::test]
async fn batch_lookup_makes_one_round_trip_per_tier() {
    let t = tiers(true).await;
    let cached = json!({"org": {"id": "b", "plan": "pro"}}).to_string();
    Mock::given(method("POST"))
        .and(path("/pipeline"))
        .and(body_json(json!([
            ["GET", cache_key("a")],
            ["GET", cache_key("b")],
            ["GET", cache_key("c")]
        ])))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"result": null}, {"result": cached}, {"result": null}])),
        )
        .expect(1)
        .mount(&t.upstash)
        .await;
    Mock::given(method("POST"))
        .and(path("/pipeline"))
        .and(wiremock::matchers::body_string_contains("SET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"result": "OK"}, {"result": "OK"}])))
        .expect(1)
        .mount(&t.upstash)
        .await;
    postgrest_get("in.(a,c)")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("a", "free")])))
        .expect(1)
        .mount(&t.supabase)
        .await;
    let answers = t.dir.get_many(&["a", "b", "c"]).await;
    assert!(matches!(
        &answers[0],
        Lookup::Found {
            source: LookupSource::Supabase,
            ..
        }
    ));
    assert!(matches!(
        &answers[1],
        Lookup::Found {
            source: LookupSource::Upstash,
            ..
        }
    ));
    assert_eq!(answers[2], Lookup::Unknown);
    let again = t.dir.get_many(&["a", "b", "c"]).await;
    assert!(again.iter().all(|a| matches!(
        a,
        Lookup::Found {
            source: LookupSource::Memory,
            ..
        } | Lookup::Unknown
    )));
}

#[tokio::test]
async fn the_server_key_digest_is_read_and_served_by_every_tier_but_never_the_key() {
    use impressio::org::ServerKeyDigest;
    let digest = ServerKeyDigest::of_key("org-3-server-key");
    let t = tiers(true).await;
    upstash_get(&t.upstash, "org_3", json!(null)).await;
    let mut with_key = row("org_3", "enterprise");
    with_key["server_key_sha256"] = json!(digest.to_hex());
    postgrest_get("eq.org_3")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([with_key])))
        .expect(1)
        .mount(&t.supabase)
        .await;
    let Lookup::Found { org, .. } = t.dir.get("org_3").await else {
        panic!("org_3 is served")
    };
    assert_eq!(org.server_key_sha256.as_ref(), Some(&digest));
    assert!(!format!("{org:?}").contains(&digest.to_hex()), "Debug hides the digest");
    // The shared cache gets the digest (so an Upstash hit can verify a key), never the key.
    let sets = sets_sent(&t.upstash).await;
    let cached: serde_json::Value = serde_json::from_str(sets[0][2].as_str().unwrap()).unwrap();
    assert_eq!(cached["org"]["server_key_sha256"], digest.to_hex());
    assert!(!sets[0][2].as_str().unwrap().contains("org-3-server-key"));

    // Another container: served from Upstash, with the digest.
    let other = tiers(true).await;
    upstash_get(&other.upstash, "org_3", json!(cached.to_string())).await;
    let Lookup::Found { org, source, .. } = other.dir.get("org_3").await else {
        panic!("org_3 is served from Upstash")
    };
    assert_eq!(source, LookupSource::Upstash);
    assert_eq!(org.server_key_sha256.as_ref(), Some(&digest));

    // A malformed digest in the database does not make the organization unreadable: it is
    // served without a key (its server-side calls are refused).
    let server = MockServer::start().await;
    let mut bad = row("org_4", "enterprise");
    bad["server_key_sha256"] = json!("not-a-digest");
    postgrest_get("eq.org_4")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([bad])))
        .mount(&server)
        .await;
    let org = supabase(&server, 1000).fetch("org_4").await.unwrap().unwrap();
    assert_eq!(org.plan, Plan::Enterprise);
    assert_eq!(org.server_key_sha256, None);
}
