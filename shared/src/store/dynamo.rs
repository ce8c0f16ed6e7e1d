//! DynamoDB adapter of [`EventStore`], through `aws-sdk-dynamodb` and `serde_dynamo`.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::Client;

use super::{EventStore, StoreError};
use crate::event::EventRecord;

/// Writes events to one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoEventStore {
    client: Client,
    table: String,
}

impl DynamoEventStore {
    /// A store writing to `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoEventStore {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Per-attempt timeout of a DynamoDB call, ms (`DYNAMODB_ATTEMPT_TIMEOUT_MS`): a call that
/// hangs (a connection lost without a reset) is abandoned and retried by the SDK instead of
/// holding the invocation until the Lambda timeout.
pub const ATTEMPT_TIMEOUT_VAR: &str = "DYNAMODB_ATTEMPT_TIMEOUT_MS";
/// Default of [`ATTEMPT_TIMEOUT_VAR`]: DynamoDB answers in milliseconds; 2 s is far above
/// its p99.9.
pub const DEFAULT_ATTEMPT_TIMEOUT_MS: u64 = 2_000;
/// Timeout of a DynamoDB call with its retries, ms (`DYNAMODB_OPERATION_TIMEOUT_MS`).
pub const OPERATION_TIMEOUT_VAR: &str = "DYNAMODB_OPERATION_TIMEOUT_MS";
/// Default of [`OPERATION_TIMEOUT_VAR`].
pub const DEFAULT_OPERATION_TIMEOUT_MS: u64 = 6_000;

/// The per-attempt and whole-call timeouts from `lookup` (the environment), with the
/// defaults above for a missing or unreadable value.
pub fn timeouts_from(lookup: impl Fn(&str) -> Option<String>) -> aws_config::timeout::TimeoutConfig {
    let ms = |var: &str, default: u64| {
        lookup(var)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(default)
    };
    aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_millis(ms(
            ATTEMPT_TIMEOUT_VAR,
            DEFAULT_ATTEMPT_TIMEOUT_MS,
        )))
        .operation_timeout(std::time::Duration::from_millis(ms(
            OPERATION_TIMEOUT_VAR,
            DEFAULT_OPERATION_TIMEOUT_MS,
        )))
        .build()
}

/// Builds a DynamoDB client from the standard AWS settings (region, credentials, and
/// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` for a local endpoint such as moto), with
/// the timeouts of [`timeouts_from`] read from the environment.
pub async fn client_from_env() -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts_from(|k| std::env::var(k).ok()))
        .load()
        .await;
    Client::new(&config)
}

impl EventStore for DynamoEventStore {
    async fn put_event(&self, event: &EventRecord) -> Result<(), StoreError> {
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(event).map_err(StoreError::Serialize)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                Err(StoreError::Duplicate {
                    pk: event.pk.clone(),
                    sk: event.sk.clone(),
                })
            }
            Err(e) => Err(dynamo_error("PutItem", e)),
        }
    }
}

/// Wraps an SDK error, keeping the service's error code in the message.
pub fn dynamo_error<E, R>(operation: &'static str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let message = match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => DisplayErrorContext(&e).to_string(),
    };
    StoreError::Dynamo {
        operation,
        message,
        source: Box::new(e),
    }
}

#[cfg(test)]
mod timeout_tests {
    use std::time::Duration;

    #[test]
    fn timeouts_default_and_override() {
        let t = super::timeouts_from(|_| None);
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(2_000)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(6_000)));
        let t = super::timeouts_from(|k| match k {
            "DYNAMODB_ATTEMPT_TIMEOUT_MS" => Some("20000".into()),
            "DYNAMODB_OPERATION_TIMEOUT_MS" => Some("nonsense".into()),
            _ => None,
        });
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(20_000)));
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_millis(6_000)),
            "unreadable: the default"
        );
    }
}
