//! Where events are written, behind a small trait: the DynamoDB adapter is
//! [`super::dynamo::DynamoEventStore`].

use std::future::Future;

use super::{EventRecord, MessageRecord};
use crate::store::{StoreError, StoredMessage, Written};

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
