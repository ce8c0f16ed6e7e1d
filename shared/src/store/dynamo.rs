//! DynamoDB adapter of [`EventStore`], through `aws-sdk-dynamodb` and `serde_dynamo`.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::Client;

use super::iam::{Action, PUT_ITEM};
use super::{EventStore, StoreError};
use crate::event::EventRecord;

/// What this module calls in DynamoDB: the event write (its unit test holds this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(PUT_ITEM)];

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
/// Timeout of a DynamoDB call with its retries, ms (`DYNAMODB_OPERATION_TIMEOUT_MS`).
pub const OPERATION_TIMEOUT_VAR: &str = "DYNAMODB_OPERATION_TIMEOUT_MS";

/// The DynamoDB client's timeouts, ms. Defaults: 2 s per attempt (DynamoDB answers in
/// milliseconds; 2 s is far above its p99.9) and 6 s per call with its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoTimeouts {
    pub attempt_ms: u64,
    pub operation_ms: u64,
}

impl Default for DynamoTimeouts {
    fn default() -> Self {
        DynamoTimeouts {
            attempt_ms: 2_000,
            operation_ms: 6_000,
        }
    }
}

impl DynamoTimeouts {
    /// Reads [`ATTEMPT_TIMEOUT_VAR`] and [`OPERATION_TIMEOUT_VAR`] through `lookup`; a missing,
    /// unreadable or zero value keeps its default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let d = DynamoTimeouts::default();
        let ms = |var: &str, default: u64| {
            lookup(var)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        DynamoTimeouts {
            attempt_ms: ms(ATTEMPT_TIMEOUT_VAR, d.attempt_ms),
            operation_ms: ms(OPERATION_TIMEOUT_VAR, d.operation_ms),
        }
    }

    /// The SDK's timeout configuration.
    pub fn sdk_config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(std::time::Duration::from_millis(self.attempt_ms))
            .operation_timeout(std::time::Duration::from_millis(self.operation_ms))
            .build()
    }
}

/// Builds a DynamoDB client from the standard AWS settings (region, credentials, and
/// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` for a local endpoint such as moto), with
/// `timeouts`.
pub async fn client_with_timeouts(timeouts: DynamoTimeouts) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts.sdk_config())
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
        let t = super::DynamoTimeouts::from_lookup(|_| None).sdk_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(2_000)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(6_000)));
        let t = super::DynamoTimeouts::from_lookup(|k| match k {
            "DYNAMODB_ATTEMPT_TIMEOUT_MS" => Some("20000".into()),
            "DYNAMODB_OPERATION_TIMEOUT_MS" => Some("nonsense".into()),
            _ => None,
        })
        .sdk_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(20_000)));
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_millis(6_000)),
            "unreadable: the default"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_actions_are_the_calls_of_this_module() {
        crate::store::iam::assert_declared(include_str!("dynamo.rs"), DYNAMODB_ACTIONS);
    }
}
