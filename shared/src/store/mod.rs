//! The DynamoDB plumbing every store shares: the error type, attribute helpers, the client,
//! the IAM actions each module declares, item sizes and the event transaction (an event item
//! with its message marker and other items). What is stored is the business of the modules
//! that own the items ([`crate::event`], [`crate::identity`], [`crate::behavior`], …); where it
//! is keyed is [`crate::schema`]'s.

#[cfg(feature = "io")]
pub mod attr;
#[cfg(feature = "io")]
pub mod client;
#[cfg(feature = "io")]
pub mod dynamo;
#[cfg(feature = "io")]
pub mod iam;

#[cfg(feature = "io")]
pub use dynamo::{EventItems, MarkerItem};

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

/// What writing an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The event (and its message marker, if any) is stored.
    Stored,
    /// The message was stored before, by the event named here: nothing was written.
    Repeated(StoredMessage),
}
