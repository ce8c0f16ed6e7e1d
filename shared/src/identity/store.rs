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
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use super::decide::IndexEntry;
use crate::store::attr::{build_error, n, s};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::store::StoreError;

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

/// Everything a new visitor starts with: the same facts as a sighting.
pub type NewVisitor = Touch;

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

    /// Creates a visitor with its fingerprint and domainprint index entries in one
    /// transaction; `Ok(false)` when an entry already exists (another request created it
    /// first), in which case nothing was written.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails otherwise.
    fn create_visitor(&self, v: &NewVisitor) -> impl Future<Output = Result<bool, StoreError>> + Send;

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

fn conditional_failure(e: &SdkError<TransactWriteItemsError, impl std::fmt::Debug>) -> bool {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(c) => c
                .cancellation_reasons()
                .iter()
                .any(|r| r.code() == Some("ConditionalCheckFailed")),
            _ => false,
        },
        _ => false,
    }
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

    async fn create_visitor(&self, v: &NewVisitor) -> Result<bool, StoreError> {
        let org = &v.organization_id;
        let vpk = visitor_pk(org, &v.visitor_id);
        let mut profile = HashMap::from([
            ("pk".to_string(), s(&vpk)),
            ("sk".to_string(), s("PROFILE")),
            ("item_type".to_string(), s("visitor")),
            ("organization_id".to_string(), s(org)),
            ("visitor_id".to_string(), s(&v.visitor_id)),
            ("first_seen".to_string(), n(v.now_ms)),
            ("last_seen".to_string(), n(v.now_ms)),
            ("expires_at".to_string(), n(v.expires_at)),
        ]);
        if let Some(site) = &v.site {
            profile.insert("first_site".to_string(), s(site));
        }
        let dp_key = IndexKey::new(org, IndexKind::Domainprint, &v.domainprint);
        let mut items = vec![
            put_new(&self.table, profile)?,
            put_new(
                &self.table,
                index_item(&dp_key, &v.visitor_id, v.fingerprint.as_deref(), v.now_ms, v.expires_at),
            )?,
        ];
        items.extend(sighting_records(&self.table, v)?);
        if let Some(fp) = &v.fingerprint {
            let fp_key = IndexKey::new(org, IndexKind::Fingerprint, fp);
            items.push(put_new(
                &self.table,
                index_item(&fp_key, &v.visitor_id, None, v.now_ms, v.expires_at),
            )?);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if conditional_failure(&e) => Ok(false),
            Err(e) => Err(dynamo_error("TransactWriteItems", e)),
        }
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
