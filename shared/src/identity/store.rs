//! Identity storage: the reverse indexes and the per-visitor records, behind a small trait,
//! with the DynamoDB adapter.
//!
//! Items (all keys start with the organization, so identities never cross organizations):
//!
//! | item | `pk` | `sk` | `item_type` |
//! |------|------|------|-------------|
//! | fingerprint → visitor | `ORG#<org>#FP#<fingerprint>` | `IDX` | `identity_index` |
//! | domainprint → visitor | `ORG#<org>#DP#<domainprint>` | `IDX` | `identity_index` |
//! | behavioral → visitor  | `ORG#<org>#BH#<signature>` | `IDX` | `identity_index` |
//! | visitor profile       | `ORG#<org>#V#<visitor>` | `PROFILE` | `visitor` |
//! | a visitor's device    | `ORG#<org>#V#<visitor>` | `DEV#<fingerprint>` | `visitor_device` |
//! | a visitor's domainprint | `ORG#<org>#V#<visitor>` | `DP#<domainprint>` | `visitor_domainprint` |
//!
//! Every item has `first_seen` / `last_seen` (ms) and an `expires_at` TTL
//! (`record_ttl_days` after it was last seen). A visitor's devices and domainprints are one
//! `Query` on its partition (the processor's device-diversity check).
//!
//! About four hundred lines: the trait and its DynamoDB adapter, kept together as each method's
//! items are written there.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use super::decide::IndexEntry;
use crate::event::{EventRecord, MessageRecord};
use crate::store::attr::{build_error, n, s};
use crate::store::dynamo::{dynamo_error, put_event_with, Transaction};
use crate::store::iam::{Action, GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::store::{StoreError, StoredMessage};

/// What this module calls in DynamoDB: index reads (`GetItem`), links (`PutItem`), and the
/// transactions of new visitors and touches, authorized per item: `Put` by `PutItem`, `Update`
/// by `UpdateItem` (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(GET_ITEM),
    Action::on_table(PUT_ITEM),
    Action::on_table(UPDATE_ITEM),
];

/// Which reverse index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Fingerprint,
    Domainprint,
    Behavioral,
}

impl IndexKind {
    fn tag(self) -> &'static str {
        match self {
            IndexKind::Fingerprint => "FP",
            IndexKind::Domainprint => "DP",
            IndexKind::Behavioral => "BH",
        }
    }
}

/// A reverse-index key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub organization_id: String,
    pub kind: IndexKind,
    pub value: String,
}

impl IndexKey {
    /// A key of `kind` for `value` in `organization_id`.
    pub fn new(organization_id: &str, kind: IndexKind, value: &str) -> Self {
        IndexKey {
            organization_id: organization_id.to_string(),
            kind,
            value: value.to_string(),
        }
    }

    /// The partition key: `ORG#<org>#<FP|DP|BH>#<value>`.
    pub fn pk(&self) -> String {
        format!("ORG#{}#{}#{}", self.organization_id, self.kind.tag(), self.value)
    }
}

/// Sort key of index items.
pub const INDEX_SK: &str = "IDX";

/// The partition key of a visitor's records.
pub fn visitor_pk(organization_id: &str, visitor_id: &str) -> String {
    format!("ORG#{organization_id}#V#{visitor_id}")
}

/// A "last seen" update of a visitor, its device and its domainprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub organization_id: String,
    pub visitor_id: String,
    pub fingerprint: Option<String>,
    pub domainprint: String,
    pub site: Option<String>,
    pub now_ms: i64,
    pub expires_at: i64,
}

/// Everything a new visitor starts with: the facts of its first sighting, and the behavioral
/// signature to index it under unless another visitor already has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisitor {
    pub sighting: Touch,
    pub behavioral: Option<String>,
}

/// What [`IdentityStore::create_visitor`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The visitor, its index entries and the event are stored.
    Stored,
    /// Another request created an index entry of this visitor first (the same fingerprint, in
    /// the same few milliseconds): nothing was written.
    VisitorExists,
    /// The event's message was stored before, by the event named here: nothing was written.
    Repeated(StoredMessage),
}

/// Where identities live.
pub trait IdentityStore: Send + Sync {
    /// Reads one reverse-index entry; `consistent` asks for a strongly consistent read.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn get(
        &self,
        key: &IndexKey,
        consistent: bool,
    ) -> impl Future<Output = Result<Option<IndexEntry>, StoreError>> + Send;

    /// Creates a visitor with its fingerprint and domainprint index entries, and stores the
    /// request's `event` (with its `message` marker) in the same transaction, so that an event
    /// never names a visitor that was not created. [`Created::VisitorExists`] when an index
    /// entry already exists (another request created it first), [`Created::Repeated`] when the
    /// message was stored before: in both cases nothing was written. The behavioral index
    /// entry is added only where none exists (never a reason to fail).
    ///
    /// # Errors
    /// [`StoreError`] as [`crate::store::EventStore::put_event`] for the event, and when
    /// DynamoDB fails.
    fn create_visitor(
        &self,
        v: &NewVisitor,
        event: &EventRecord,
        message: Option<&MessageRecord>,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    /// Adds an index entry for a visitor unless the key already has one; `Ok(false)` when it
    /// did (the existing entry is never moved).
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn link(
        &self,
        key: &IndexKey,
        visitor_id: &str,
        fingerprint: Option<&str>,
        now_ms: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Updates "last seen" of the visitor, its device, its domainprint and the domainprint
    /// index entry, in one call.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn touch(&self, t: &Touch) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The DynamoDB adapter of [`IdentityStore`].
#[derive(Debug, Clone)]
pub struct DynamoIdentityStore {
    client: Client,
    table: String,
}

impl DynamoIdentityStore {
    /// A store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoIdentityStore {
            client,
            table: table.into(),
        }
    }
}

fn index_item(
    key: &IndexKey,
    visitor_id: &str,
    fingerprint: Option<&str>,
    now: i64,
    exp: i64,
) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("pk".to_string(), s(key.pk())),
        ("sk".to_string(), s(INDEX_SK)),
        ("item_type".to_string(), s("identity_index")),
        ("organization_id".to_string(), s(&key.organization_id)),
        ("kind".to_string(), s(key.kind.tag())),
        ("visitor_id".to_string(), s(visitor_id)),
        ("first_seen".to_string(), n(now)),
        ("last_seen".to_string(), n(now)),
        ("expires_at".to_string(), n(exp)),
    ]);
    if let Some(fp) = fingerprint {
        item.insert("fingerprint".to_string(), s(fp));
    }
    item
}

fn put_new(table: &str, item: HashMap<String, AttributeValue>) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// An index entry for the visitor of `t` that is created where the key has none and left as
/// it is where it has one: an update without a condition, so it never cancels the transaction
/// it is part of.
fn link_unless_taken(table: &str, key: &IndexKey, t: &Touch) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(key.pk()))
        .key("sk", s(INDEX_SK))
        .update_expression(
            "SET item_type = :t, organization_id = :o, kind = :k, visitor_id = if_not_exists(visitor_id, :v), \
             first_seen = if_not_exists(first_seen, :now), last_seen = if_not_exists(last_seen, :now), \
             expires_at = if_not_exists(expires_at, :exp)",
        )
        .expression_attribute_values(":t", s("identity_index"))
        .expression_attribute_values(":o", s(&key.organization_id))
        .expression_attribute_values(":k", s(key.kind.tag()))
        .expression_attribute_values(":v", s(&t.visitor_id))
        .expression_attribute_values(":now", n(t.now_ms))
        .expression_attribute_values(":exp", n(t.expires_at))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// An update that creates or refreshes a visitor record: `first_seen` kept, `last_seen` and
/// the TTL moved.
fn upsert(
    table: &str,
    pk: &str,
    sk: &str,
    item_type: &str,
    extra: &[(&str, AttributeValue)],
    t: &Touch,
) -> Result<TransactWriteItem, StoreError> {
    let mut expr = "SET item_type = :t, organization_id = :o, visitor_id = :v, first_seen = if_not_exists(first_seen, :now), last_seen = :now, expires_at = :exp".to_string();
    let mut builder = Update::builder()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .expression_attribute_values(":t", s(item_type))
        .expression_attribute_values(":o", s(&t.organization_id))
        .expression_attribute_values(":v", s(&t.visitor_id))
        .expression_attribute_values(":now", n(t.now_ms))
        .expression_attribute_values(":exp", n(t.expires_at));
    for (i, (name, value)) in extra.iter().enumerate() {
        expr.push_str(&format!(", #x{i} = :x{i}"));
        builder = builder
            .expression_attribute_names(format!("#x{i}"), *name)
            .expression_attribute_values(format!(":x{i}"), value.clone());
    }
    let update = builder.update_expression(expr).build().map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl IdentityStore for DynamoIdentityStore {
    async fn get(&self, key: &IndexKey, consistent: bool) -> Result<Option<IndexEntry>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key.pk()))
            .key("sk", s(INDEX_SK))
            .consistent_read(consistent)
            .projection_expression("visitor_id, fingerprint, last_seen")
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        Ok(out.item().and_then(|item| {
            Some(IndexEntry {
                visitor_id: item.get("visitor_id")?.as_s().ok()?.clone(),
                fingerprint: item.get("fingerprint").and_then(|v| v.as_s().ok()).cloned(),
                last_seen_ms: item
                    .get("last_seen")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            })
        }))
    }

    async fn create_visitor(
        &self,
        v: &NewVisitor,
        event: &EventRecord,
        message: Option<&MessageRecord>,
    ) -> Result<Created, StoreError> {
        let t = &v.sighting;
        let org = &t.organization_id;
        let vpk = visitor_pk(org, &t.visitor_id);
        let mut profile = HashMap::from([
            ("pk".to_string(), s(&vpk)),
            ("sk".to_string(), s("PROFILE")),
            ("item_type".to_string(), s("visitor")),
            ("organization_id".to_string(), s(org)),
            ("visitor_id".to_string(), s(&t.visitor_id)),
            ("first_seen".to_string(), n(t.now_ms)),
            ("last_seen".to_string(), n(t.now_ms)),
            ("expires_at".to_string(), n(t.expires_at)),
        ]);
        if let Some(site) = &t.site {
            profile.insert("first_site".to_string(), s(site));
        }
        let dp_key = IndexKey::new(org, IndexKind::Domainprint, &t.domainprint);
        let mut items = vec![
            put_new(&self.table, profile)?,
            put_new(
                &self.table,
                index_item(&dp_key, &t.visitor_id, t.fingerprint.as_deref(), t.now_ms, t.expires_at),
            )?,
        ];
        items.extend(sighting_records(&self.table, t)?);
        if let Some(fp) = &t.fingerprint {
            let fp_key = IndexKey::new(org, IndexKind::Fingerprint, fp);
            items.push(put_new(
                &self.table,
                index_item(&fp_key, &t.visitor_id, None, t.now_ms, t.expires_at),
            )?);
        }
        if let Some(b) = &v.behavioral {
            items.push(link_unless_taken(
                &self.table,
                &IndexKey::new(org, IndexKind::Behavioral, b),
                t,
            )?);
        }
        Ok(
            match put_event_with(&self.client, &self.table, event, message, items).await? {
                Transaction::Stored => Created::Stored,
                Transaction::Repeated(stored) => Created::Repeated(stored),
                Transaction::OtherFailed => Created::VisitorExists,
            },
        )
    }

    async fn link(
        &self,
        key: &IndexKey,
        visitor_id: &str,
        fingerprint: Option<&str>,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(index_item(key, visitor_id, fingerprint, now_ms, expires_at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                Ok(false)
            }
            Err(e) => Err(dynamo_error("PutItem", e)),
        }
    }

    async fn touch(&self, t: &Touch) -> Result<(), StoreError> {
        let vpk = visitor_pk(&t.organization_id, &t.visitor_id);
        let mut items = vec![upsert(&self.table, &vpk, "PROFILE", "visitor", &[], t)?];
        items.extend(sighting_records(&self.table, t)?);
        // The domainprint index remembers the last fingerprint seen with it (the fast path
        // compares against it); it is only updated while it still names this visitor.
        let dp_key = IndexKey::new(&t.organization_id, IndexKind::Domainprint, &t.domainprint);
        let mut expr = "SET last_seen = :now, expires_at = :exp".to_string();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(dp_key.pk()))
            .key("sk", s(INDEX_SK))
            .condition_expression("visitor_id = :v")
            .expression_attribute_values(":v", s(&t.visitor_id))
            .expression_attribute_values(":now", n(t.now_ms))
            .expression_attribute_values(":exp", n(t.expires_at));
        if let Some(fp) = &t.fingerprint {
            expr.push_str(", fingerprint = :fp");
            update = update.expression_attribute_values(":fp", s(fp));
        }
        let update = update.update_expression(expr).build().map_err(build_error)?;
        items.push(TransactWriteItem::builder().update(update).build());
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| dynamo_error("TransactWriteItems", e))?;
        Ok(())
    }
}

/// The visitor's domainprint record and, with a fingerprint, its device record, each created
/// or refreshed (`first_seen` kept).
fn sighting_records(table: &str, t: &Touch) -> Result<Vec<TransactWriteItem>, StoreError> {
    let vpk = visitor_pk(&t.organization_id, &t.visitor_id);
    let mut items = vec![upsert(
        table,
        &vpk,
        &format!("DP#{}", t.domainprint),
        "visitor_domainprint",
        &site_attr(t),
        t,
    )?];
    if let Some(fp) = &t.fingerprint {
        items.push(upsert(
            table,
            &vpk,
            &format!("DEV#{fp}"),
            "visitor_device",
            &[("fingerprint", s(fp))],
            t,
        )?);
    }
    Ok(items)
}

fn site_attr(t: &Touch) -> Vec<(&'static str, AttributeValue)> {
    let mut v = vec![("domainprint", s(&t.domainprint))];
    if let Some(site) = &t.site {
        v.push(("site", s(site)));
    }
    v
}
