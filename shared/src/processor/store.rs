//! What the processor reads and writes in DynamoDB, behind a small trait: the processing items
//! (stage memory and results) and a user's recent events through `GSI_USER`.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};
use aws_sdk_dynamodb::Client;
use serde::Deserialize;

use super::history::UserEvent;
use super::state::ProcessingState;
use crate::event::EVENT_ITEM_TYPE;
use crate::store::attr::{batch_get_all, key, s, text, until_processed};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, BATCH_GET_ITEM, BATCH_WRITE_ITEM, PUT_ITEM, QUERY};
use crate::store::StoreError;

pub use crate::schema::GSI_USER;
/// What this module calls in DynamoDB: processing items read with `BatchGetItem` and written
/// with `BatchWriteItem`, billing intents in transactions of `Put`s (authorized by `PutItem`),
/// and a user's events queried through [`GSI_USER`] (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(BATCH_GET_ITEM),
    Action::on_table(BATCH_WRITE_ITEM),
    Action::on_table(PUT_ITEM),
    Action::on_index(QUERY, GSI_USER),
];
/// Most events of one user read for one judgement (newest first); a user with more events in
/// the window is judged on these.
pub const MAX_USER_EVENTS: usize = 2000;

/// The processor's storage.
pub trait ProcessorStore: Send + Sync {
    /// The processing items of the given event partitions (`REQ#<request id>`), by partition
    /// key; absent ones were never processed.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails (after retrying unprocessed keys).
    fn load_states(
        &self,
        pks: &[&str],
    ) -> impl Future<Output = Result<HashMap<String, ProcessingState>, StoreError>> + Send;

    /// Which of the given tombstone partition keys (`ORG#<org>#DEL#<deletion id>`, see
    /// [`crate::server_api::tombstone`]) exist: the erased visitors among a batch's, whose
    /// records are skipped so that nothing is written again under them.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails (after retrying unprocessed keys).
    fn erased(&self, tombstones: &[String]) -> impl Future<Output = Result<HashSet<String>, StoreError>> + Send;

    /// Writes processing items (whole items: one processor owns a stream shard's records).
    /// Returns the partition keys that could not be written, with the error.
    fn save_states(&self, states: &[&ProcessingState]) -> impl Future<Output = Vec<(String, String)>> + Send;

    /// Writes up to 100 processing items all together or not at all (one transaction): the
    /// billing intents of one idempotency key.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction fails; then none was written.
    fn save_together(&self, states: &[&ProcessingState]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The events of a `GSI_USER` partition with `from_ms <= ts <= to_ms`, oldest first (at
    /// most [`MAX_USER_EVENTS`], the newest kept).
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn user_events(
        &self,
        gsi_user_pk: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Future<Output = Result<Vec<UserEvent>, StoreError>> + Send;
}

/// [`ProcessorStore`] on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoProcessorStore {
    client: Client,
    table: String,
}

impl DynamoProcessorStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoProcessorStore {
            client,
            table: table.into(),
        }
    }

    /// The items `(pk, sk)` for the distinct `pks`, read consistently with `BatchGetItem` (100
    /// keys a call, unprocessed keys retried), with only `projection` when given.
    async fn get_consistent<'a>(
        &self,
        pks: impl Iterator<Item = &'a str>,
        sk: &str,
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let unique: HashSet<&str> = pks.collect();
        let keys = unique.into_iter().map(|pk| key(pk, sk)).collect();
        batch_get_all(&self.table, keys, true, projection, |request| {
            let call = self.client.batch_get_item().request_items(&self.table, request).send();
            async move { call.await.map_err(|e| dynamo_error("BatchGetItem", e)) }
        })
        .await
    }

    /// Writes up to 25 items with `BatchWriteItem`, retrying unprocessed ones; returns the
    /// partition keys not written, with the error.
    async fn save_chunk(&self, chunk: &[&ProcessingState]) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        let mut writes = Vec::with_capacity(chunk.len());
        for state in chunk {
            let put = serde_dynamo::to_item(*state)
                .map_err(|e| e.to_string())
                .and_then(|item| {
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| e.to_string())
                });
            match put {
                Ok(put) => writes.push(WriteRequest::builder().put_request(put).build()),
                Err(e) => failed.push((state.pk.clone(), e)),
            }
        }
        if writes.is_empty() {
            return failed;
        }
        // The items of the last round sent: on a failure, those are the ones not written.
        let mut last = Vec::new();
        let written = until_processed("BatchWriteItem", writes, |writes| {
            last = pks_of(&writes);
            let call = self.client.batch_write_item().request_items(&self.table, writes).send();
            async move {
                let resp = call.await.map_err(|e| dynamo_error("BatchWriteItem", e))?;
                let left = resp
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|w| !w.is_empty());
                Ok(((), left))
            }
        })
        .await;
        if let Err(e) = written {
            let e = e.to_string();
            failed.extend(last.into_iter().map(|pk| (pk, e.clone())));
        }
        failed
    }
}

/// The partition keys of put requests.
fn pks_of(writes: &[WriteRequest]) -> Vec<String> {
    writes
        .iter()
        .filter_map(|w| w.put_request.as_ref())
        .filter_map(|p| p.item.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

#[derive(Deserialize)]
struct ViewerPart {
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct ContextPart {
    viewer: ViewerPart,
}

#[derive(Deserialize)]
struct UserEventItem {
    event_id: String,
    ts: i64,
    #[serde(default)]
    fingerprint: Option<String>,
    context: ContextPart,
}

impl ProcessorStore for DynamoProcessorStore {
    async fn load_states(&self, pks: &[&str]) -> Result<HashMap<String, ProcessingState>, StoreError> {
        let mut out = HashMap::with_capacity(pks.len());
        for item in self
            .get_consistent(pks.iter().copied(), crate::schema::PROCESSING_SK, None)
            .await?
        {
            match serde_dynamo::from_item::<_, ProcessingState>(item) {
                Ok(state) => {
                    out.insert(state.pk.clone(), state);
                }
                // A state we cannot read is treated as absent: the stages run again
                // rather than being skipped on a guess.
                Err(e) => tracing::warn!(error = %e, "unreadable processing item ignored"),
            }
        }
        Ok(out)
    }

    async fn erased(&self, tombstones: &[String]) -> Result<HashSet<String>, StoreError> {
        let found = self
            .get_consistent(
                tombstones.iter().map(String::as_str),
                crate::schema::DELETION_SK,
                Some("pk"),
            )
            .await?;
        Ok(found.iter().filter_map(|i| text(i, "pk")).map(str::to_string).collect())
    }

    async fn save_states(&self, states: &[&ProcessingState]) -> Vec<(String, String)> {
        // BatchWriteItem takes 25 items; the chunks go at once.
        futures::future::join_all(states.chunks(25).map(|chunk| self.save_chunk(chunk)))
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn save_together(&self, states: &[&ProcessingState]) -> Result<(), StoreError> {
        let mut puts = Vec::with_capacity(states.len());
        for state in states {
            let item = serde_dynamo::to_item(*state).map_err(StoreError::Serialize)?;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::Dynamo {
                    operation: "TransactWriteItems",
                    message: e.to_string(),
                    source: Box::new(e),
                })?;
            puts.push(TransactWriteItem::builder().put(put).build());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(puts))
            .send()
            .await
            .map_err(|e| dynamo_error("TransactWriteItems", e))?;
        Ok(())
    }

    async fn user_events(&self, gsi_user_pk: &str, from_ms: i64, to_ms: i64) -> Result<Vec<UserEvent>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI_USER)
                .key_condition_expression("gsi_user_pk = :pk AND ts BETWEEN :from AND :to")
                .filter_expression("item_type = :event")
                .expression_attribute_values(":pk", s(gsi_user_pk))
                .expression_attribute_values(":from", AttributeValue::N(from_ms.to_string()))
                .expression_attribute_values(":to", AttributeValue::N(to_ms.to_string()))
                .expression_attribute_values(":event", s(EVENT_ITEM_TYPE))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| dynamo_error("Query", e))?;
            for item in resp.items.unwrap_or_default() {
                match serde_dynamo::from_item::<_, UserEventItem>(item) {
                    Ok(i) => out.push(UserEvent {
                        event_id: i.event_id,
                        ts: i.ts,
                        fingerprint: i.fingerprint,
                        country: i.context.viewer.country,
                        latitude: i.context.viewer.latitude,
                        longitude: i.context.viewer.longitude,
                    }),
                    Err(e) => tracing::warn!(error = %e, "unreadable event in GSI_USER ignored"),
                }
            }
            start = resp.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() || out.len() >= MAX_USER_EVENTS {
                break;
            }
        }
        out.truncate(MAX_USER_EVENTS);
        out.reverse();
        Ok(out)
    }
}
