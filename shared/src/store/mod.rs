//! Storage of events behind a small trait, with the DynamoDB adapter.

pub mod dynamo;
pub mod iam;

use std::future::Future;

pub use dynamo::DynamoEventStore;

use crate::event::EventRecord;

/// Why an event could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record could not be turned into a DynamoDB item.
    #[error("cannot serialize the event as a DynamoDB item: {0}")]
    Serialize(#[source] serde_dynamo::Error),
    /// An item with the same key already exists (a request id used twice).
    #[error("an event with key {pk}/{sk} already exists")]
    Duplicate { pk: String, sk: String },
    /// DynamoDB refused or could not be reached; the message keeps the service's error code.
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where events are written.
pub trait EventStore: Send + Sync {
    /// Stores one event; never overwrites an existing item.
    ///
    /// # Errors
    /// [`StoreError`] when the item cannot be serialized, already exists, or DynamoDB fails.
    fn put_event(&self, event: &EventRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}
