//! Contract tests of the billing client against a `wiremock` stand-in of PostgREST: the exact
//! RPC request, 200 and 204 as success, the optimistic fallback when the function is missing,
//! and each error path.

use std::time::Duration;

use impressio::billing::{increment, Billed, BillingError};
use impressio::config::Secret;
use impressio::org::supabase::{SupabaseClient, SupabaseConfig};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "service-role-key";
const NOW: i64 = 1_795_000_000_000; // 2026-11-18

fn client(server: &MockServer) -> SupabaseClient {
    SupabaseClient::new(SupabaseConfig {
        url: server.uri(),
        service_key: Secret::new(KEY),
        timeout_ms: 2000,
    })
    .unwrap()
}

fn rpc() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/rest/v1/rpc/increment_events_this_month"))
        .and(header("apikey", KEY))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"org_uuid": "org_1", "amount": 7, "idempotency_key": "batch-9:org_1"}),
        ))
}

#[tokio::test]
async fn the_rpc_call_is_exact_and_200_or_204_is_success() {
    for status in [200, 204] {
        let server = MockServer::start().await;
        rpc()
            .respond_with(ResponseTemplate::new(status).set_body_string(if status == 200 { "7" } else { "" }))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW)
                .await
                .unwrap(),
            Billed::Rpc
        );
    }
}

#[tokio::test]
async fn a_missing_function_falls_back_to_get_and_an_optimistic_patch() {
    let server = MockServer::start().await;
    rpc()
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"code": "PGRST202"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/v1/organizations"))
        .and(query_param("id", "eq.org_1"))
        .and(query_param("select", "events_this_month,billing_period_start"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"events_this_month": 40, "billing_period_start": "2026-11-01"}])),
        )
        .mount(&server)
        .await;
    // The first PATCH loses a race (no row matched), the second wins.
    Mock::given(method("PATCH"))
        .and(path("/rest/v1/organizations"))
        .and(query_param("id", "eq.org_1"))
        .and(query_param("events_this_month", "eq.40"))
        .and(header("prefer", "return=representation"))
        .and(body_json(
            json!({"events_this_month": 47, "billing_period_start": "2026-11-01"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/rest/v1/organizations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"events_this_month": 47}])))
        .mount(&server)
        .await;
    assert_eq!(
        increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW)
            .await
            .unwrap(),
        Billed::Fallback { attempts: 2 }
    );
}

#[tokio::test]
async fn the_fallback_rolls_the_month_over() {
    let server = MockServer::start().await;
    rpc().respond_with(ResponseTemplate::new(404)).mount(&server).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"events_this_month": 9000, "billing_period_start": "2026-10-01"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(query_param("events_this_month", "eq.9000"))
        .and(body_json(
            json!({"events_this_month": 7, "billing_period_start": "2026-11-01"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"events_this_month": 7}])))
        .expect(1)
        .mount(&server)
        .await;
    assert!(matches!(
        increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW).await,
        Ok(Billed::Fallback { .. })
    ));
}

#[tokio::test]
async fn errors_say_whether_a_retry_can_help() {
    let server = MockServer::start().await;
    rpc().respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let e = increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, BillingError::Unavailable(_)) && e.retryable(), "{e}");

    let server = MockServer::start().await;
    rpc()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"code": "P0002"})))
        .mount(&server)
        .await;
    let e = increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, BillingError::Refused(_)) && !e.retryable(), "{e}");

    let server = MockServer::start().await;
    rpc()
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(2500)))
        .mount(&server)
        .await;
    let e = increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW)
        .await
        .unwrap_err();
    assert!(
        e.retryable(),
        "a timeout may be retried: the key keeps it idempotent ({e})"
    );
    assert!(!format!("{e:?}").contains(KEY));

    let server = MockServer::start().await;
    rpc().respond_with(ResponseTemplate::new(404)).mount(&server).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"events_this_month": 1, "billing_period_start": "2026-11-01"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(3)
        .mount(&server)
        .await;
    let e = increment(&client(&server), "org_1", 7, "batch-9:org_1", NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, BillingError::Contended(_)));
}
