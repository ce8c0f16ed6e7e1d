//! The DynamoDB adapter of [`EventStore`], through `aws-sdk-dynamodb` and `serde_dynamo`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::store::EventStore;
use super::{EventRecord, MessageRecord};
use crate::store::dynamo::{
    dynamo_error, put_event_with, read_message, within_item_limit, EventItems, MarkerItem, Transaction,
};
use crate::store::iam::{Action, PUT_ITEM};
use crate::store::{StoreError, StoredMessage, Written};

/// What this module calls in DynamoDB itself: the event write without a message id (with one,
/// [`crate::store::dynamo::put_event_with`]'s transaction; the infrastructure tests hold this
/// to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(PUT_ITEM)];

type Item = HashMap<String, AttributeValue>;

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

impl EventRecord {
    /// The event as a transaction writes it, with `message`'s marker.
    ///
    /// # Errors
    /// [`StoreError::Serialize`] when the record or the marker cannot be an item.
    pub fn items(&self, message: Option<&MessageRecord>) -> Result<EventItems, StoreError> {
        let marker = match message {
            Some(m) => Some(MarkerItem {
                pk: m.pk.clone(),
                item: serde_dynamo::to_item(m).map_err(StoreError::Serialize)?,
                ts_ms: m.ts,
            }),
            None => None,
        };
        Ok(EventItems {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
            request_id: self.request_id.clone(),
            event_id: self.event_id.clone(),
            item: serde_dynamo::to_item(self).map_err(StoreError::Serialize)?,
            marker,
        })
    }
}

impl EventStore for DynamoEventStore {
    async fn put_event(&self, event: &EventRecord, message: Option<&MessageRecord>) -> Result<Written, StoreError> {
        let Some(message) = message else {
            let item: Item = serde_dynamo::to_item(event).map_err(StoreError::Serialize)?;
            within_item_limit(&item)?;
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return match result {
                Ok(_) => Ok(Written::Stored),
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    Err(StoreError::Duplicate {
                        pk: event.pk.clone(),
                        sk: event.sk.clone(),
                    })
                }
                Err(e) => Err(dynamo_error("PutItem", e)),
            };
        };
        match put_event_with(&self.client, &self.table, &event.items(Some(message))?, Vec::new()).await? {
            Transaction::Stored => Ok(Written::Stored),
            Transaction::Repeated(stored) => Ok(Written::Repeated(stored)),
            // No other item was written with it.
            Transaction::OtherFailed => Err(StoreError::Dynamo {
                operation: "TransactWriteItems",
                message: "a condition of no item failed, yet the transaction was cancelled".into(),
                source: "cancelled transaction".into(),
            }),
        }
    }

    async fn find_message(
        &self,
        organization_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let pk = crate::schema::message_pk(organization_id, message_id);
        read_message(&self.client, &self.table, &pk, now_ms, false).await
    }
}
