//! The DynamoDB adapter of [`IdentityStore`]: the items of [`super::store`]'s table, written
//! as each trait method says.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use super::corroborate::Facts;
use super::decide::IndexEntry;
use super::population::{PopSet, Population};
use super::store::{Created, IdentityStore, IndexKey, IndexKind, LinkEntry, NewVisitor, Observe, PossibleLink, Touch};
use crate::store::attr::{batch_get_all, build_error, key, n, s};
use crate::store::dynamo::{dynamo_error, put_event_with, Transaction};
use crate::store::iam::{Action, BATCH_GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::store::EventItems;
use crate::store::StoreError;

/// What this module calls in DynamoDB: index reads (`BatchGetItem`), links (`PutItem`),
/// population counts (`UpdateItem`), and the transactions of new visitors and touches,
/// authorized per item: `Put` by `PutItem`, `Update` by `UpdateItem` (the infrastructure
/// tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(BATCH_GET_ITEM),
    Action::on_table(PUT_ITEM),
    Action::on_table(UPDATE_ITEM),
];

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

    /// Items by key with `BatchGetItem` (100 keys a call, unprocessed keys retried), with only
    /// `projection` when given.
    async fn batch_get(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
        consistent: bool,
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        batch_get_all(&self.table, keys, consistent, projection, |request| {
            let call = self.client.batch_get_item().request_items(&self.table, request).send();
            async move { call.await.map_err(|e| dynamo_error("BatchGetItem", e)) }
        })
        .await
    }
}

fn index_item(l: &LinkEntry) -> HashMap<String, AttributeValue> {
    let key = &l.key;
    let mut item = HashMap::from([
        ("pk".to_string(), s(key.pk())),
        ("sk".to_string(), s(crate::schema::INDEX_SK)),
        ("item_type".to_string(), s("identity_index")),
        ("organization_id".to_string(), s(&key.organization_id)),
        ("kind".to_string(), s(key.kind.tag())),
        ("visitor_id".to_string(), s(&l.visitor_id)),
        ("first_seen".to_string(), n(l.now_ms)),
        ("last_seen".to_string(), n(l.now_ms)),
        ("expires_at".to_string(), n(l.expires_at)),
    ]);
    if let Some(fp) = &l.fingerprint {
        item.insert("fingerprint".to_string(), s(fp));
    }
    for (name, value) in fact_attributes(&l.facts) {
        item.insert(name.to_string(), value);
    }
    for set in PopSet::ALL {
        let hashes = l.population.set(set);
        if !hashes.is_empty() {
            item.insert(set.attribute().to_string(), number_set(hashes));
        }
    }
    item
}

fn number_set(hashes: &[u64]) -> AttributeValue {
    AttributeValue::Ns(hashes.iter().map(u64::to_string).collect())
}

/// The stored attributes of `facts`: `asn`, `lang`, `tz`, each when known.
fn fact_attributes(facts: &Facts) -> Vec<(&'static str, AttributeValue)> {
    let mut v = Vec::new();
    if let Some(asn) = facts.asn {
        v.push(("asn", n(i64::from(asn))));
    }
    if let Some(l) = &facts.language {
        v.push(("lang", s(l)));
    }
    if let Some(tz) = &facts.time_zone {
        v.push(("tz", s(tz)));
    }
    v
}

/// The parts of an [`Observe`] update: the update expression, the condition, names and
/// values. `claim`: in a new visitor's creation, the visitor the entry must still name
/// (`Some(None)`: no entry), instead of the size conditions (a transaction cannot afford a
/// condition that fails for a full set; the hashes added there were checked against the read).
struct ObserveExpr {
    update: String,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

fn observe_expr(o: &Observe, claim: Option<&Option<String>>) -> Option<ObserveExpr> {
    if o.visitor.is_none() && o.adds.is_empty() {
        return None;
    }
    let mut sets = Vec::new();
    let mut conditions = Vec::new();
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    match &o.visitor {
        Some((visitor, facts)) => {
            sets.push(
                "item_type = :t, organization_id = :o, kind = :k, visitor_id = :v, \
                 first_seen = if_not_exists(first_seen, :now), last_seen = :now, expires_at = :exp"
                    .to_string(),
            );
            values.insert(":t".to_string(), s("identity_index"));
            values.insert(":o".to_string(), s(&o.key.organization_id));
            values.insert(":k".to_string(), s(o.key.kind.tag()));
            values.insert(":v".to_string(), s(visitor));
            values.insert(":now".to_string(), n(o.now_ms));
            values.insert(":exp".to_string(), n(o.expires_at));
            for (name, value) in fact_attributes(facts) {
                sets.push(format!("#{name} = :{name}"));
                names.insert(format!("#{name}"), name.to_string());
                values.insert(format!(":{name}"), value);
            }
        }
        None => conditions.push("attribute_exists(pk)".to_string()),
    }
    let mut adds = Vec::new();
    for (i, (set, hash)) in o.adds.iter().enumerate() {
        let a = set.attribute();
        adds.push(format!("{a} :h{i}"));
        values.insert(format!(":h{i}"), number_set(&[*hash]));
        if claim.is_none() {
            conditions.push(format!("(attribute_not_exists({a}) OR size({a}) < :cap)"));
            values.insert(":cap".to_string(), n(i64::from(o.cap)));
        }
    }
    match claim {
        Some(None) => conditions.push("attribute_not_exists(visitor_id)".to_string()),
        Some(Some(prev)) => {
            conditions.push("visitor_id = :prev".to_string());
            values.insert(":prev".to_string(), s(prev));
        }
        None => {}
    }
    let mut update = String::new();
    if !sets.is_empty() {
        update.push_str("SET ");
        update.push_str(&sets.join(", "));
    }
    if !adds.is_empty() {
        update.push_str(if update.is_empty() { "ADD " } else { " ADD " });
        update.push_str(&adds.join(", "));
    }
    Some(ObserveExpr {
        update,
        condition: (!conditions.is_empty()).then(|| conditions.join(" AND ")),
        names,
        values,
    })
}

/// A possible-same-device record on `visitor`'s partition naming `other`.
fn link_record(
    table: &str,
    t: &Touch,
    visitor: &str,
    other: &str,
    l: &PossibleLink,
) -> Result<TransactWriteItem, StoreError> {
    let mut item = HashMap::from([
        (
            "pk".to_string(),
            s(crate::schema::visitor_pk(&t.organization_id, visitor)),
        ),
        ("sk".to_string(), s(crate::schema::link_sk(other))),
        ("item_type".to_string(), s("possible_same_device")),
        ("organization_id".to_string(), s(&t.organization_id)),
        ("visitor_id".to_string(), s(visitor)),
        ("other_visitor_id".to_string(), s(other)),
        ("first_seen".to_string(), n(t.now_ms)),
        ("expires_at".to_string(), n(t.expires_at)),
    ]);
    if let Some(score) = l.score.filter(|s| s.is_finite()) {
        item.insert("score".to_string(), AttributeValue::N(format!("{score:.2}")));
    }
    if !l.evidence.is_empty() {
        item.insert(
            "evidence".to_string(),
            AttributeValue::L(l.evidence.iter().map(s).collect()),
        );
    }
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
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
        .key("sk", s(crate::schema::INDEX_SK))
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
    async fn get_many(&self, keys: &[IndexKey], consistent: bool) -> Result<Vec<Option<IndexEntry>>, StoreError> {
        // Up to five keys a request: one call (BatchGetItem takes 100).
        let wanted = keys.iter().map(|k| key(&k.pk(), crate::schema::INDEX_SK)).collect();
        let mut found: HashMap<String, IndexEntry> = HashMap::new();
        for item in self.batch_get(wanted, consistent, None).await? {
            if let (Some(pk), Some(e)) = (item.get("pk").and_then(|v| v.as_s().ok()), entry_of(&item)) {
                found.insert(pk.clone(), e);
            }
        }
        Ok(keys.iter().map(|k| found.get(&k.pk()).cloned()).collect())
    }

    async fn create_visitor(&self, v: &NewVisitor, event: &EventItems) -> Result<Created, StoreError> {
        let t = &v.sighting;
        let org = &t.organization_id;
        let vpk = crate::schema::visitor_pk(org, &t.visitor_id);
        let mut profile = HashMap::from([
            ("pk".to_string(), s(&vpk)),
            ("sk".to_string(), s(crate::schema::PROFILE_SK)),
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
        let entry = |key: IndexKey, fingerprint: Option<String>, facts: Facts, population: Population| LinkEntry {
            key,
            visitor_id: t.visitor_id.clone(),
            fingerprint,
            facts,
            population,
            now_ms: t.now_ms,
            expires_at: t.expires_at,
        };
        let dp_key = IndexKey::new(org, IndexKind::Domainprint, &t.domainprint);
        let mut items = vec![
            put_new(&self.table, profile)?,
            put_new(
                &self.table,
                index_item(&entry(
                    dp_key,
                    t.fingerprint.clone(),
                    Facts::default(),
                    Population::default(),
                )),
            )?,
        ];
        items.extend(sighting_records(&self.table, t)?);
        if let (Some(fp), true) = (&t.fingerprint, v.index_fingerprint) {
            let fp_key = IndexKey::new(org, IndexKind::Fingerprint, fp);
            items.push(put_new(
                &self.table,
                index_item(&entry(fp_key, None, v.facts.clone(), v.population.clone())),
            )?);
        }
        if let Some((pair, expected)) = &v.pair {
            if let Some(e) = observe_expr(pair, Some(expected)) {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(pair.key.pk()))
                    .key("sk", s(crate::schema::INDEX_SK))
                    .update_expression(e.update)
                    .set_condition_expression(e.condition)
                    .set_expression_attribute_names((!e.names.is_empty()).then_some(e.names))
                    .set_expression_attribute_values(Some(e.values))
                    .build()
                    .map_err(build_error)?;
                items.push(TransactWriteItem::builder().update(update).build());
            }
        }
        if let Some(l) = &v.possible_same_device {
            items.push(link_record(&self.table, t, &t.visitor_id, &l.other_visitor_id, l)?);
            items.push(link_record(&self.table, t, &l.other_visitor_id, &t.visitor_id, l)?);
        }
        if let Some(b) = &v.behavioral {
            items.push(link_unless_taken(
                &self.table,
                &IndexKey::new(org, IndexKind::Behavioral, b),
                t,
            )?);
        }
        Ok(match put_event_with(&self.client, &self.table, event, items).await? {
            Transaction::Stored => Created::Stored,
            Transaction::Repeated(stored) => Created::Repeated(stored),
            Transaction::OtherFailed => Created::VisitorExists,
        })
    }

    async fn observe(&self, o: &Observe) -> Result<bool, StoreError> {
        let Some(e) = observe_expr(o, None) else {
            return Ok(true);
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(o.key.pk()))
            .key("sk", s(crate::schema::INDEX_SK))
            .update_expression(e.update)
            .set_condition_expression(e.condition)
            .set_expression_attribute_names((!e.names.is_empty()).then_some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(dynamo_error("UpdateItem", e)),
        }
    }

    async fn link(&self, link: &LinkEntry) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(index_item(link)))
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
        let vpk = crate::schema::visitor_pk(&t.organization_id, &t.visitor_id);
        let mut items = vec![upsert(&self.table, &vpk, crate::schema::PROFILE_SK, "visitor", &[], t)?];
        items.extend(sighting_records(&self.table, t)?);
        // The domainprint index remembers the last fingerprint seen with it (the fast path
        // compares against it); it is only updated while it still names this visitor.
        let dp_key = IndexKey::new(&t.organization_id, IndexKind::Domainprint, &t.domainprint);
        let mut expr = "SET last_seen = :now, expires_at = :exp".to_string();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(dp_key.pk()))
            .key("sk", s(crate::schema::INDEX_SK))
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

    async fn erased(&self, organization_id: &str, visitor_id: &str) -> Result<bool, StoreError> {
        let pk = crate::schema::tombstone_pk(organization_id, visitor_id);
        let found = self
            .batch_get(vec![key(&pk, crate::schema::DELETION_SK)], false, Some("pk"))
            .await?;
        Ok(!found.is_empty())
    }
}

/// The visitor's domainprint record and, with a fingerprint, its device record, each created
/// or refreshed (`first_seen` kept).
fn sighting_records(table: &str, t: &Touch) -> Result<Vec<TransactWriteItem>, StoreError> {
    let vpk = crate::schema::visitor_pk(&t.organization_id, &t.visitor_id);
    let mut items = vec![upsert(
        table,
        &vpk,
        &crate::schema::domainprint_sk(&t.domainprint),
        "visitor_domainprint",
        &site_attr(t),
        t,
    )?];
    if let Some(fp) = &t.fingerprint {
        items.push(upsert(
            table,
            &vpk,
            &crate::schema::device_sk(fp),
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

/// An index entry of a stored item; `None` without a visitor id.
fn entry_of(item: &HashMap<String, AttributeValue>) -> Option<IndexEntry> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    let mut population = Population::default();
    for set in PopSet::ALL {
        if let Some(Ok(values)) = item.get(set.attribute()).map(|v| v.as_ns()) {
            *population.set_mut(set) = values.iter().filter_map(|v| v.parse().ok()).collect();
        }
    }
    Some(IndexEntry {
        visitor_id: text("visitor_id")?,
        fingerprint: text("fingerprint"),
        last_seen_ms: number("last_seen").unwrap_or(0),
        facts: Facts {
            asn: number("asn").and_then(|a| u32::try_from(a).ok()),
            language: text("lang"),
            time_zone: text("tz"),
        },
        population,
    })
}
