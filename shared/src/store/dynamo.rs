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

/// Builds a DynamoDB client from the standard AWS settings (region, credentials, and
/// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` for a local endpoint such as moto).
pub async fn client_from_env() -> Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
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
mod tests {
    use super::*;

    #[test]
    fn dynamodb_actions_are_the_calls_of_this_module() {
        crate::store::iam::assert_declared(include_str!("dynamo.rs"), DYNAMODB_ACTIONS);
    }
}
