//! Storage of events behind a small trait, with the DynamoDB adapter.

#[cfg(feature = "io")]
pub mod attr;
#[cfg(feature = "io")]
pub mod client;
#[cfg(feature = "io")]
pub mod dynamo;
#[cfg(feature = "io")]
pub mod iam;
pub mod schema;

use std::future::Future;

#[cfg(feature = "io")]
pub use dynamo::DynamoEventStore;

use crate::event::{EventRecord, MessageRecord};

/// Why an event could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record could not be turned into a DynamoDB item.
    #[error("cannot serialize the event as a DynamoDB item: {0}")]
    Serialize(#[source] serde_dynamo::Error),
    /// An item with the same key already exists (a request id used twice).
    #[error("an event with key {pk}/{sk} already exists")]
    Duplicate { pk: String, sk: String },
    /// The item is larger than DynamoDB stores (`bytes` as DynamoDB counts an item's size:
    /// attribute names and values; [`dynamo::MAX_ITEM_BYTES`]). Nothing was written.
    #[error("the item is {bytes} bytes; DynamoDB stores at most {limit} bytes per item")]
    ItemTooLarge { bytes: usize, limit: usize },
    /// The table holds something this code never writes (a visitor id that is not a UUID).
    #[error("unexpected data in the table: {0}")]
    Corrupt(String),
    /// A stored item that cannot be read back into its type (written by another release, or
    /// altered): which item, never its content (it may hold personal data).
    #[error("the stored {what} of request {id} cannot be read")]
    Unreadable { what: &'static str, id: String },
    /// DynamoDB refused or could not be reached; the message keeps the service's error code.
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The event an earlier send of a message stored: what a retry of it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The request that stored it.
    pub request_id: String,
    /// The event it stored.
    pub event_id: String,
}

/// What [`EventStore::put_event`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The event (and its message marker, if any) is stored.
    Stored,
    /// The message was stored before, by the event named here: nothing was written.
    Repeated(StoredMessage),
}

/// Where events are written.
pub trait EventStore: Send + Sync {
    /// Stores one event; never overwrites an existing item. With `message` (the marker of the
    /// event's `messageId`), the event and the marker are written in one transaction that
    /// fails as a whole when the message id is already stored: then nothing is written and
    /// the event that stored it first is returned as [`Written::Repeated`].
    ///
    /// # Errors
    /// [`StoreError`] when an item cannot be serialized, the event's key already exists, or
    /// DynamoDB fails.
    fn put_event(
        &self,
        event: &EventRecord,
        message: Option<&MessageRecord>,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// The event an organization's message id stored, if its marker is there and has not
    /// expired by `now_ms` (ms since the Unix epoch). An eventually consistent read: a retry
    /// racing its first send is caught by [`EventStore::put_event`]'s transaction instead.
    ///
    /// # Errors
    /// [`StoreError::Dynamo`] when DynamoDB fails.
    fn find_message(
        &self,
        organization_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<StoredMessage>, StoreError>> + Send;
}
