//! DynamoDB adapter of the Server API: a request partition's `Query`, a visitor's page of
//! `GSI_VISITOR` keys then one `BatchGetItem`, its identity partition's `Query`, and the
//! label's `PutItem`.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::Client;

use super::{Cursor, FeedbackRecord, HistoryEntry, HistoryPage, PageQuery, StoredRequest, VisitorLinks};
use super::{MAX_IDENTITY_ITEMS, MAX_USER_ID_EVENTS};
use crate::event::model::{MAX_EVENT_TS_MS, MIN_EVENT_TS_MS};
use crate::event::EventRecord;
use crate::processor::state::ProcessingState;
use crate::schema::GSI_VISITOR;
use crate::store::attr::{batch_get_all, key, n, num, s, text, Item};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, BATCH_GET_ITEM, PUT_ITEM, QUERY};
use crate::store::StoreError;

/// What this module calls in DynamoDB (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(QUERY),
    Action::on_index(QUERY, GSI_VISITOR),
    Action::on_table(BATCH_GET_ITEM),
    Action::on_table(PUT_ITEM),
];

/// The Server API's store on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoApiStore {
    client: Client,
    table: String,
}

/// A stored `what` of the request partition `pk` that does not read back: logged (which item,
/// and serde's category of failure, never the item's values) and answered as such.
fn unreadable(what: &'static str, pk: &str, e: &serde_dynamo::Error) -> StoreError {
    let id = crate::schema::request_id_of(pk).to_string();
    let kind = if e.to_string().starts_with("missing field") {
        "missing field"
    } else {
        "wrong type or form"
    };
    tracing::error!(item = what, request = %id, failure = kind, "stored item unreadable");
    StoreError::Unreadable { what, id }
}

impl DynamoApiStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoApiStore {
            client,
            table: table.into(),
        }
    }

    /// The DynamoDB client.
    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// The table's name.
    pub(super) fn table(&self) -> &str {
        &self.table
    }

    /// Every item of partition `pk` (at most `max`), in sort key order.
    pub(super) async fn partition(&self, pk: &str, max: usize) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| dynamo_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() || items.len() >= max {
                items.truncate(max);
                return Ok(items);
            }
        }
    }

    /// What is stored under `request_id`, when its event is `organization_id`'s; `None` when
    /// there is no event or it is another organization's.
    ///
    /// # Errors
    /// [`StoreError::Dynamo`] when DynamoDB fails; [`StoreError::Unreadable`] for an item that
    /// does not read back.
    pub async fn request(&self, organization_id: &str, request_id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let pk = crate::schema::request_pk(request_id);
        let items = self.partition(&pk, 64).await?;
        let mut event = None;
        let mut processing = None;
        let mut feedback = None;
        for item in items {
            match text(&item, "sk") {
                Some(crate::schema::EVENT_SK) => {
                    event = Some(
                        serde_dynamo::from_item::<_, EventRecord>(item).map_err(|e| unreadable("event", &pk, &e))?,
                    )
                }
                Some(crate::schema::PROCESSING_SK) => {
                    processing = Some(
                        serde_dynamo::from_item::<_, ProcessingState>(item)
                            .map_err(|e| unreadable("processing", &pk, &e))?,
                    )
                }
                Some(crate::schema::FEEDBACK_SK) => {
                    feedback = Some(
                        serde_dynamo::from_item::<_, FeedbackRecord>(item)
                            .map_err(|e| unreadable("feedback", &pk, &e))?,
                    )
                }
                _ => {}
            }
        }
        Ok(event
            .filter(|e| e.organization_id == organization_id)
            .map(|event| StoredRequest {
                event,
                processing,
                feedback,
            }))
    }

    /// Stores (or replaces) a label.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be serialized or DynamoDB fails.
    pub async fn put_feedback(&self, feedback: &FeedbackRecord) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(feedback).map_err(StoreError::Serialize)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| dynamo_error("PutItem", e))?;
        Ok(())
    }

    /// Items by key, in one `BatchGetItem` per 100 keys (retrying unprocessed keys).
    async fn get_many(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        batch_get_all(&self.table, keys, false, None, |request| {
            let call = self.client.batch_get_item().request_items(&self.table, request).send();
            async move { call.await.map_err(|e| dynamo_error("BatchGetItem", e)) }
        })
        .await
    }

    /// One page of a visitor's `GSI_VISITOR` entries (its events' keys, `ts` and `user_id`)
    /// with `from_ms <= ts <= to_ms`, newest or oldest first, at most `limit`, after `start`;
    /// and where the next page starts (`None` after the last).
    pub(super) async fn visitor_index_page(
        &self,
        gsi_pk: &str,
        (from_ms, to_ms): (i64, i64),
        newest_first: bool,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_VISITOR)
            .key_condition_expression("gsi_visitor_pk = :v AND ts BETWEEN :from AND :to")
            .expression_attribute_values(":v", s(gsi_pk))
            .expression_attribute_values(":from", n(from_ms))
            .expression_attribute_values(":to", n(to_ms))
            .scan_index_forward(!newest_first)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| dynamo_error("Query", e))?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }

    /// One page of a visitor's events, newest first: a `Query` of `GSI_VISITOR` for the keys,
    /// then the events and their labels in one `BatchGetItem` (two per 100 keys at `limit`
    /// 100). An event that expired between the two reads is left out.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails or an event cannot be read.
    pub async fn visitor_events(
        &self,
        organization_id: &str,
        visitor_id: &str,
        page: &PageQuery,
    ) -> Result<HistoryPage, StoreError> {
        let gsi_pk = crate::schema::visitor_index_pk(organization_id, visitor_id);
        let start = page.cursor.as_ref().map(|c| {
            let mut k = key(&crate::schema::request_pk(&c.request_id), crate::schema::EVENT_SK);
            k.insert("gsi_visitor_pk".into(), s(&gsi_pk));
            k.insert("ts".into(), n(c.ts));
            k
        });
        let (items, next) = self
            .visitor_index_page(&gsi_pk, (page.from_ms, page.to_ms), true, page.limit, start)
            .await?;
        let listed: Vec<(String, i64)> = items
            .iter()
            .filter_map(|i| Some((text(i, "pk")?.to_string(), num(i, "ts")?)))
            .collect();
        let more = next.is_some();
        let keys = listed
            .iter()
            .flat_map(|(pk, _)| [key(pk, crate::schema::EVENT_SK), key(pk, crate::schema::FEEDBACK_SK)])
            .collect();
        let mut events: HashMap<String, EventRecord> = HashMap::new();
        let mut labels: HashMap<String, FeedbackRecord> = HashMap::new();
        for item in self.get_many(keys).await? {
            let pk = text(&item, "pk").unwrap_or_default().to_string();
            match text(&item, "sk") {
                Some(crate::schema::EVENT_SK) => {
                    let event = serde_dynamo::from_item(item).map_err(|e| unreadable("event", &pk, &e))?;
                    events.insert(pk, event);
                }
                Some(crate::schema::FEEDBACK_SK) => {
                    let label = serde_dynamo::from_item(item).map_err(|e| unreadable("feedback", &pk, &e))?;
                    labels.insert(pk, label);
                }
                _ => {}
            }
        }
        let next = match listed.last() {
            Some((pk, ts)) if more => Some(Cursor {
                ts: *ts,
                request_id: crate::schema::request_id_of(pk).to_string(),
            }),
            _ => None,
        };
        let events = listed
            .iter()
            .filter_map(|(pk, _)| {
                let event = events.remove(pk).filter(|e| e.organization_id == organization_id)?;
                Some(HistoryEntry {
                    event,
                    feedback: labels.remove(pk),
                })
            })
            .collect();
        Ok(HistoryPage { events, next })
    }

    /// What is linked to a visitor (see [`VisitorLinks`]).
    ///
    /// # Errors
    /// [`StoreError::Dynamo`] when DynamoDB fails.
    pub async fn visitor_links(&self, organization_id: &str, visitor_id: &str) -> Result<VisitorLinks, StoreError> {
        let mut links = VisitorLinks::default();
        for item in self
            .partition(
                &crate::schema::visitor_pk(organization_id, visitor_id),
                MAX_IDENTITY_ITEMS,
            )
            .await?
        {
            let sk = text(&item, "sk").unwrap_or_default();
            if sk == crate::schema::PROFILE_SK {
                links.first_seen = num(&item, "first_seen");
                links.last_seen = num(&item, "last_seen");
            } else if let Some(fp) = sk.strip_prefix(crate::schema::DEVICE_SK_PREFIX) {
                links.fingerprints.push(fp.to_string());
            } else if let Some(dp) = sk.strip_prefix(crate::schema::DOMAINPRINT_SK_PREFIX) {
                links.domainprints.push(dp.to_string());
            } else if let Some(other) = sk.strip_prefix(crate::schema::LINK_SK_PREFIX) {
                links.possible_same_device.push(other.to_string());
            }
        }
        links.user_ids = self.user_ids(organization_id, visitor_id).await?.into_iter().collect();
        let memory = crate::schema::visitor_block_pk(organization_id, visitor_id);
        for item in self.get_many(vec![key(&memory, crate::schema::BLACKLIST_SK)]).await? {
            links.visitor_blocked_until = num(&item, "block_expires");
        }
        links.fingerprints.sort();
        links.domainprints.sort();
        links.possible_same_device.sort();
        links.blacklisted_fingerprints.sort();
        Ok(links)
    }

    /// The blacklist entries of the fingerprints `events` carried, each on the network it was
    /// seen on (a fingerprint is blacklisted per network: [`crate::behavior::keys`]), as
    /// `(fingerprint, until ms)`, sorted; one `BatchGetItem` of at most one key per event.
    ///
    /// # Errors
    /// [`StoreError::Dynamo`] when DynamoDB fails.
    pub async fn fingerprint_blocks(&self, events: &[&EventRecord]) -> Result<Vec<(String, i64)>, StoreError> {
        let keys: std::collections::BTreeSet<String> = events
            .iter()
            .filter_map(|e| {
                let ids = super::event_identifiers(e, None, false);
                let scope = ids.labels()?.scope.clone();
                Some(crate::schema::fingerprint_blacklist_pk(
                    &e.organization_id,
                    ids.fingerprint.as_ref()?,
                    &scope,
                ))
            })
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: Vec<(String, i64)> = self
            .get_many(keys.iter().map(|k| key(k, crate::schema::BLACKLIST_SK)).collect())
            .await?
            .iter()
            .filter_map(|item| Some((text(item, "fingerprint")?.to_string(), num(item, "block_expires")?)))
            .collect();
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The user ids of a visitor's newest [`MAX_USER_ID_EVENTS`] events (the index keeps
    /// `user_id` beside its keys).
    async fn user_ids(&self, organization_id: &str, visitor_id: &str) -> Result<BTreeSet<String>, StoreError> {
        let gsi_pk = crate::schema::visitor_index_pk(organization_id, visitor_id);
        let mut ids = BTreeSet::new();
        let mut seen = 0usize;
        let mut start: Option<Item> = None;
        loop {
            let range = (MIN_EVENT_TS_MS, MAX_EVENT_TS_MS);
            let (items, next) = self
                .visitor_index_page(&gsi_pk, range, true, MAX_USER_ID_EVENTS - seen, start)
                .await?;
            seen += items.len();
            ids.extend(items.iter().filter_map(|i| text(i, "user_id")).map(str::to_string));
            start = next;
            if start.is_none() || seen >= MAX_USER_ID_EVENTS {
                return Ok(ids);
            }
        }
    }
}
