//! The shared login counter of the credential-stuffing layer: fixed windows keyed by
//! organization, JA4 (and the IP — its /64 for IPv6 — when `per_ip`), counted with Upstash
//! (`INCR` + `EXPIRE` in one pipeline) when configured, else with a DynamoDB atomic counter
//! (`UpdateItem ADD`) whose item expires by TTL.

use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::org::upstash::UpstashClient;
use crate::org::DirectoryError;
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, UPDATE_ITEM};
use crate::store::StoreError;

/// What this module calls in DynamoDB: [`DynamoCounter`]'s increments (the infrastructure
/// tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(UPDATE_ITEM)];

/// Why a count could not be taken (the layer then fails open).
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error(transparent)]
    Upstash(#[from] DirectoryError),
    #[error(transparent)]
    Dynamo(#[from] StoreError),
    #[error("unexpected counter answer: {0}")]
    Answer(String),
}

/// Counts events in fixed windows.
pub trait RateCounter: Send + Sync {
    /// Adds one to `key` in the window containing `now_ms` and returns the new count.
    ///
    /// # Errors
    /// [`CounterError`] when the store cannot answer.
    fn incr(&self, key: &str, window_secs: u64, now_ms: i64) -> impl Future<Output = Result<u64, CounterError>> + Send;
}

/// The login-counter key of a request ([`crate::schema::login_counter`]); `scope`: how its
/// address (or IPv6 /64) is written in keys ([`crate::privacy::address_scope`], or its keyed
/// hash under IP minimization), used when the layer counts `per_ip`.
pub fn login_key(organization_id: &str, ja4: &str, scope: Option<&str>, per_ip: bool) -> String {
    crate::schema::login_counter(organization_id, ja4, scope.filter(|_| per_ip))
}

/// The start (Unix seconds) of the `window_secs` window holding `now_ms`.
pub fn window_start(window_secs: u64, now_ms: i64) -> i64 {
    let w = i64::try_from(window_secs).unwrap_or(i64::MAX).max(1);
    (now_ms / 1000).div_euclid(w) * w
}

/// Upstash counter: `INCR key:<window>` and `EXPIRE key:<window> <window>` in one pipeline.
#[derive(Debug, Clone)]
pub struct UpstashCounter(pub UpstashClient);

impl RateCounter for UpstashCounter {
    async fn incr(&self, key: &str, window_secs: u64, now_ms: i64) -> Result<u64, CounterError> {
        let k = format!("impressio:{key}:{}", window_start(window_secs, now_ms));
        let results = self
            .0
            .pipeline(&[
                vec![json!("INCR"), json!(k)],
                vec![json!("EXPIRE"), json!(k), json!(window_secs)],
            ])
            .await?;
        let first = results
            .into_iter()
            .next()
            .ok_or_else(|| CounterError::Answer("empty pipeline".into()))??;
        first.as_u64().ok_or_else(|| CounterError::Answer(first.to_string()))
    }
}

/// DynamoDB counter: `pk = CNT#<key>#<window>`, `sk = COUNT`, `ADD n :1`, TTL at the window's
/// end.
#[derive(Debug, Clone)]
pub struct DynamoCounter {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

impl RateCounter for DynamoCounter {
    async fn incr(&self, key: &str, window_secs: u64, now_ms: i64) -> Result<u64, CounterError> {
        let start = window_start(window_secs, now_ms);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(crate::schema::counter_pk(key, start)))
            .key("sk", AttributeValue::S(crate::schema::COUNTER_SK.into()))
            .update_expression("ADD n :one SET item_type = :t, expires_at = :exp")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":t", AttributeValue::S("counter".into()))
            .expression_attribute_values(":exp", AttributeValue::N((start + window_secs as i64).to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", e))?;
        out.attributes()
            .and_then(|a| a.get("n"))
            .and_then(|n| n.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| CounterError::Answer("no count returned".into()))
    }
}

/// The counter the configuration chose.
#[derive(Debug, Clone)]
pub enum AnyCounter {
    Upstash(UpstashCounter),
    Dynamo(DynamoCounter),
}

impl RateCounter for AnyCounter {
    async fn incr(&self, key: &str, window_secs: u64, now_ms: i64) -> Result<u64, CounterError> {
        match self {
            AnyCounter::Upstash(u) => u.incr(key, window_secs, now_ms).await,
            AnyCounter::Dynamo(d) => d.incr(key, window_secs, now_ms).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_windows() {
        let v4: std::net::IpAddr = "198.51.100.23".parse().unwrap();
        let v6: std::net::IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let network_of = crate::privacy::address_scope;
        assert_eq!(network_of(v4), "198.51.100.23");
        assert_eq!(network_of(v6), "2001:db8:1:2::/64");
        let scope = network_of(v4);
        assert_eq!(login_key("o", "t13", Some(&scope), true), "logins:o:t13:198.51.100.23");
        assert_eq!(login_key("o", "t13", Some(&scope), false), "logins:o:t13");
        assert_eq!(window_start(3600, 7_200_500), 7200);
    }
}
