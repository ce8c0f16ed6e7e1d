//! Erasing a visitor from the table (`DELETE /v1/visitors/{visitorId}`): every item that
//! belongs to it, found by keys and indexes, never a scan.
//!
//! One pass, bounded by [`PASS_BUDGET_MS`]:
//! 1. the tombstone first ([`super::erasure`]): from then on the processor and the identity
//!    resolver write nothing more under the visitor;
//! 2. its identity partition is read (`ORG#<org>#V#<visitor>`: profile, devices, domainprints,
//!    possible-same-device links) for the keys it names;
//! 3. its events, a page of `GSI_VISITOR` at a time: for each, the items keyed by what the
//!    event carried that name the visitor — the behavioral signature's, fingerprint-on-network
//!    and network index entries, blacklist entries (fingerprint, IP, JA4), the message id's
//!    marker — then the whole request partition (event, processing item with its travel,
//!    sharing and delivery results, label, forensic records); and the 5-minute aggregates
//!    keyed by the address it came from (IP rate, JA4 on the network) — counters of that
//!    address, which is the visitor's;
//! 4. the fingerprint and domainprint index entries that name it, the other side of each
//!    possible-same-device link, then its identity partition;
//! 5. its hourly aggregates (`ORG#<org>#AGG#VIS#<visitor>`) and its block (`BLV`).
//!
//! Entries shared with other visitors are deleted only while they name this one (a
//! conditional delete); otherwise the visitor's hashes (its id, its domainprints) are removed
//! from their population sets. A pass interrupted (the budget, a failure) leaves the rest for
//! the next: everything not yet deleted is still reachable from what remains — derived
//! entries go before the items that lead to them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnValue, WriteRequest};

use super::dynamo::DynamoApiStore;
use super::tombstone::DeletionRecord;
use crate::behavior::counter::{login_key, window_start};
use crate::event::model::{MAX_EVENT_TS_MS, MIN_EVENT_TS_MS};
use crate::event::EventRecord;
use crate::identity::population::{hash48, PopSet};
use crate::identity::store::{IndexKey, IndexKind};
use crate::store::attr::{build_error, key, s, text, until_processed, Item};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, BATCH_WRITE_ITEM, DELETE_ITEM, GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::store::StoreError;

/// What this module calls in DynamoDB (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(GET_ITEM),
    Action::on_table(PUT_ITEM),
    Action::on_table(BATCH_WRITE_ITEM),
    Action::on_table(DELETE_ITEM),
    Action::on_table(UPDATE_ITEM),
];

/// The DynamoDB login counter a login `event` counted in (per JA4 and address, in the window
/// holding its time), if it was one; `None` for other events.
fn login_counter_key(event: &EventRecord, window_secs: u64) -> Option<String> {
    if event.event_name != "login" {
        return None;
    }
    let scope = super::event_identifiers(event, None, false).labels()?.scope.clone();
    let key = login_key(
        &event.organization_id,
        event.context.viewer.ja4.as_deref()?,
        Some(&scope),
        true,
    );
    Some(crate::schema::counter_pk(&key, window_start(window_secs, event.ts)))
}

/// How long one erasure pass may run, ms: within the edge function's 10 s timeout with room
/// for the answer. What is left is removed by the next `DELETE`.
pub const PASS_BUDGET_MS: u64 = 5_000;
/// Events read per page of `GSI_VISITOR` in a pass.
const EVENTS_PER_PAGE: usize = 25;
/// Every time an event can have, ms.
const EVERY_EVENT: (i64, i64) = (MIN_EVENT_TS_MS, MAX_EVENT_TS_MS);

/// What a pass found and did.
#[derive(Debug, Default)]
struct Pass {
    removed: u64,
    /// The credential-stuffing layer's login window, seconds: where the login counters of
    /// the visitor's logins are ([`crate::behavior::counter::login_key`]).
    login_window_secs: u64,
}

/// How an erasure pass runs.
#[derive(Debug, Clone, Copy)]
pub struct EraseTerms {
    /// The longest any item of the visitor can live, days (the tombstone outlives it).
    pub keep_days: i64,
    /// How long the pass may run (at least one page of events is done).
    pub budget: Duration,
    /// The login counter's window, seconds (`FRAUD_CONFIG`'s credential-stuffing window).
    pub login_window_secs: u64,
}

impl DynamoApiStore {
    /// The tombstone of a deletion, if there is one.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails or the item is not a tombstone.
    pub async fn deletion(&self, organization_id: &str, id: &str) -> Result<Option<DeletionRecord>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(
                &crate::schema::deletion_pk(organization_id, id),
                crate::schema::DELETION_SK,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        out.item
            .map(|i| serde_dynamo::from_item(i).map_err(|e| StoreError::Corrupt(format!("deletion: {e}"))))
            .transpose()
    }

    /// Erases `visitor_id` of `organization_id` (one pass on `terms`; see the module
    /// documentation) and returns its tombstone; `None` when nothing is known of the visitor
    /// and it was never erased. The edge gives each pass [`PASS_BUDGET_MS`].
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails; what was removed stays removed, and the tombstone
    /// (written first) makes the next call resume.
    pub async fn erase_visitor(
        &self,
        organization_id: &str,
        visitor_id: &str,
        now_ms: i64,
        terms: EraseTerms,
    ) -> Result<Option<DeletionRecord>, StoreError> {
        let EraseTerms { keep_days, budget, .. } = terms;
        let deadline = Instant::now() + budget;
        let id = crate::schema::deletion_id(organization_id, visitor_id);
        let mut record = match self.deletion(organization_id, &id).await? {
            Some(r) => r,
            None => {
                let known = self.visitor_links(organization_id, visitor_id).await?.known()
                    || self.has_events(organization_id, visitor_id).await?;
                if !known {
                    return Ok(None);
                }
                let r = DeletionRecord::start(organization_id, visitor_id, now_ms, keep_days);
                self.put_tombstone(&r, true).await?;
                r
            }
        };
        let (pass, done) = self
            .erase_pass(organization_id, visitor_id, deadline, terms.login_window_secs)
            .await?;
        record.progress(pass.removed, done, now_ms, keep_days);
        self.put_tombstone(&record, false).await?;
        Ok(Some(record))
    }

    async fn has_events(&self, organization_id: &str, visitor_id: &str) -> Result<bool, StoreError> {
        let gsi_pk = crate::schema::visitor_index_pk(organization_id, visitor_id);
        let (items, _) = self.visitor_index_page(&gsi_pk, EVERY_EVENT, true, 1, None).await?;
        Ok(!items.is_empty())
    }

    /// Writes the tombstone; `new`: only if there is none (a concurrent `DELETE` wrote it
    /// first: fine, it is the same deletion).
    async fn put_tombstone(&self, r: &DeletionRecord, new: bool) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(r).map_err(StoreError::Serialize)?;
        let mut put = self.client().put_item().table_name(self.table()).set_item(Some(item));
        if new {
            put = put.condition_expression("attribute_not_exists(pk)");
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                Ok(())
            }
            Err(e) => Err(dynamo_error("PutItem", e)),
        }
    }

    /// One pass; `true` when nothing of the visitor remains.
    async fn erase_pass(
        &self,
        org: &str,
        visitor: &str,
        deadline: Instant,
        login_window_secs: u64,
    ) -> Result<(Pass, bool), StoreError> {
        let mut pass = Pass {
            removed: 0,
            login_window_secs,
        };
        let identity = self
            .partition(&crate::schema::visitor_pk(org, visitor), usize::MAX)
            .await?;
        let sks: Vec<&str> = identity.iter().filter_map(|i| text(i, "sk")).collect();
        let fingerprints: Vec<&str> = sks
            .iter()
            .filter_map(|sk| sk.strip_prefix(crate::schema::DEVICE_SK_PREFIX))
            .collect();
        let domainprints: Vec<&str> = sks
            .iter()
            .filter_map(|sk| sk.strip_prefix(crate::schema::DOMAINPRINT_SK_PREFIX))
            .collect();
        let links: Vec<&str> = sks
            .iter()
            .filter_map(|sk| sk.strip_prefix(crate::schema::LINK_SK_PREFIX))
            .collect();
        let scrub = Scrub {
            visitor: hash48(PopSet::Visitors, visitor),
            domainprints: domainprints.iter().map(|d| hash48(PopSet::Domainprints, d)).collect(),
        };

        // Events, a page at a time; each page's derived entries before its partitions.
        let gsi_pk = crate::schema::visitor_index_pk(org, visitor);
        let mut start: Option<Item> = None;
        loop {
            let (page, next) = self
                .visitor_index_page(&gsi_pk, EVERY_EVENT, false, EVENTS_PER_PAGE, start)
                .await?;
            for pk in page.iter().filter_map(|i| text(i, "pk")) {
                let items = self.partition(pk, usize::MAX).await?;
                if let Some(event) = items.iter().find(|i| text(i, "sk") == Some(crate::schema::EVENT_SK)) {
                    let event: EventRecord = serde_dynamo::from_item(event.clone())
                        .map_err(|e| StoreError::Corrupt(format!("{pk}: {e}")))?;
                    self.erase_derived(&event, visitor, &scrub, &mut pass).await?;
                }
                self.delete_keys(items.iter().map(item_key), &mut pass).await?;
            }
            start = next;
            // Out of time: the rest is for the next pass (at least a page was done).
            if Instant::now() >= deadline {
                return Ok((pass, false));
            }
            if start.is_none() {
                break;
            }
        }

        // The index entries and links the identity partition names, then the partition.
        for fp in &fingerprints {
            let entry = IndexKey::new(org, IndexKind::Fingerprint, fp).pk();
            self.release(&entry, crate::schema::INDEX_SK, visitor, Some(&scrub), &mut pass)
                .await?;
            let bl = crate::schema::legacy_fingerprint_blacklist_pk(org, fp);
            self.release(&bl, crate::schema::BLACKLIST_SK, visitor, None, &mut pass)
                .await?;
        }
        for dp in &domainprints {
            let entry = IndexKey::new(org, IndexKind::Domainprint, dp).pk();
            self.release(&entry, crate::schema::INDEX_SK, visitor, None, &mut pass)
                .await?;
        }
        for other in &links {
            self.delete_one(
                &crate::schema::visitor_pk(org, other),
                &crate::schema::link_sk(visitor),
                &mut pass,
            )
            .await?;
        }
        // The profile last: it is what says the visitor is known.
        let (profile, rest): (Vec<&Item>, Vec<&Item>) = identity
            .iter()
            .partition(|i| text(i, "sk") == Some(crate::schema::PROFILE_SK));
        self.delete_keys(rest.into_iter().map(item_key), &mut pass).await?;
        self.delete_keys(profile.into_iter().map(item_key), &mut pass).await?;

        // Its aggregates and its block.
        let aggregates = self
            .partition(&crate::schema::visitor_aggregate_pk(org, visitor), usize::MAX)
            .await?;
        self.delete_keys(aggregates.iter().map(item_key), &mut pass).await?;
        self.delete_one(
            &crate::schema::visitor_block_pk(org, visitor),
            crate::schema::BLACKLIST_SK,
            &mut pass,
        )
        .await?;
        Ok((pass, true))
    }

    /// The entries keyed by what `event` carried that name `visitor`.
    async fn erase_derived(
        &self,
        event: &EventRecord,
        visitor: &str,
        scrub: &Scrub,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let org = event.organization_id.as_str();
        let address = super::event_identifiers(event, None, false).address;
        let mut entries: BTreeSet<String> = BTreeSet::new();
        if let Some(sig) = &event.behavioral_signature {
            entries.insert(IndexKey::new(org, IndexKind::Behavioral, sig).pk());
        }
        if let Some(net) = address.as_ref().map(|a| a.network.as_str()) {
            entries.insert(IndexKey::new(org, IndexKind::Network, net).pk());
            if let Some(fp) = &event.fingerprint {
                entries.insert(IndexKey::new(org, IndexKind::FingerprintNetwork, &format!("{fp}#{net}")).pk());
            }
        }
        for pk in &entries {
            self.release(pk, crate::schema::INDEX_SK, visitor, Some(scrub), pass)
                .await?;
        }
        let mut blacklist: BTreeSet<String> = BTreeSet::new();
        for ja4_is_tool in [false, true] {
            blacklist.extend(super::event_identifiers(event, Some(visitor), ja4_is_tool).blacklist_keys());
        }
        for pk in &blacklist {
            self.release(pk, crate::schema::BLACKLIST_SK, visitor, None, pass)
                .await?;
        }
        // The 5-minute aggregates of the address (and the JA4 on it), every bucket.
        let ids = super::event_identifiers(event, None, false);
        for pk in [ids.ip_key(), ids.ja4net_key()].into_iter().flatten() {
            let buckets = self.partition(&pk, usize::MAX).await?;
            self.delete_keys(buckets.iter().map(item_key), pass).await?;
        }
        if let Some(m) = &event.message_id {
            self.delete_one(&crate::schema::message_pk(org, m), crate::schema::MESSAGE_SK, pass)
                .await?;
        }
        // The login counter of its address and JA4 (shared with the other logins from there
        // in that window, which lose their count: the counter lives one window anyway).
        if let Some(pk) = login_counter_key(event, pass.login_window_secs) {
            self.delete_one(&pk, crate::schema::COUNTER_SK, pass).await?;
        }
        Ok(())
    }

    /// Deletes the entry `pk`/`sk` if it names `visitor`; else, with `scrub`, removes the
    /// visitor's hashes from its population sets.
    async fn release(
        &self,
        pk: &str,
        sk: &str,
        visitor: &str,
        scrub: Option<&Scrub>,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let deleted = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("visitor_id = :v")
            .expression_attribute_values(":v", s(visitor))
            .send()
            .await;
        match deleted {
            Ok(_) => {
                pass.removed += 1;
                return Ok(());
            }
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(_)) => {}
            Err(e) => return Err(dynamo_error("DeleteItem", e)),
        }
        let Some(scrub) = scrub else { return Ok(()) };
        let mut update = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .update_expression(if scrub.domainprints.is_empty() {
                "DELETE pop_v :v"
            } else {
                "DELETE pop_v :v, pop_dp :dp"
            })
            .expression_attribute_values(":v", AttributeValue::Ns(vec![scrub.visitor.to_string()]));
        if !scrub.domainprints.is_empty() {
            update = update.expression_attribute_values(
                ":dp",
                AttributeValue::Ns(scrub.domainprints.iter().map(u64::to_string).collect()),
            );
        }
        match update.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(e) => Err(dynamo_error("UpdateItem", e)),
        }
    }

    /// Deletes one item known only by its key, counting it if it was there.
    async fn delete_one(&self, pk: &str, sk: &str, pass: &mut Pass) -> Result<(), StoreError> {
        let out = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| dynamo_error("DeleteItem", e))?;
        if out.attributes.is_some_and(|a| !a.is_empty()) {
            pass.removed += 1;
        }
        Ok(())
    }

    /// Deletes items read whole (they exist), 25 to a `BatchWriteItem` (retrying unprocessed
    /// ones).
    async fn delete_keys(&self, keys: impl Iterator<Item = Item>, pass: &mut Pass) -> Result<(), StoreError> {
        let keys: Vec<Item> = keys.collect();
        for chunk in keys.chunks(25) {
            let writes = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(build_error)
                })
                .collect::<Result<Vec<_>, _>>()?;
            until_processed("BatchWriteItem", writes, |writes| {
                let call = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), writes)
                    .send();
                async move {
                    let resp = call.await.map_err(|e| dynamo_error("BatchWriteItem", e))?;
                    let left = resp
                        .unprocessed_items
                        .and_then(|mut u| u.remove(self.table()))
                        .filter(|w| !w.is_empty());
                    Ok(((), left))
                }
            })
            .await?;
            pass.removed += chunk.len() as u64;
        }
        Ok(())
    }
}

/// The visitor's hashes in population sets: its id, its domainprints.
struct Scrub {
    visitor: u64,
    domainprints: Vec<u64>,
}

/// The key of an item read whole.
fn item_key(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
