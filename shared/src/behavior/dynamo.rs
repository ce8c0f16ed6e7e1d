//! The DynamoDB implementation of [`BehaviorStore`]: one `BatchGetItem` per read round,
//! `UpdateItem` with `ADD` for counters and string sets (atomic and idempotent), a conditional
//! `UpdateItem` per sketch bucket raised (each register a maximum, the write shared with the
//! processor's: [`super::sketch_writer`]), `PutItem` for blocks and forensic records.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use super::keys::{self, BlockScope, Identifiers, HOUR_BUCKET_SECS, SHORT_BUCKET_SECS};
use super::rules::{self, Aggregate, BlacklistEntry, Block, Bucket, FirstRead, VisitorRead};
use super::sketch::{by_bucket, SketchRaise};
use super::sketch_writer::{raise_together, sketch_of};
use super::store::BehaviorStore;
use crate::fraud::FraudConfig;
use crate::schema::BLACKLIST_SK as BLACKLIST_SORT_KEY;
use crate::store::attr::{batch_get_all, key, n, num, s, string_set, text, Item};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, BATCH_GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::store::StoreError;

/// What this module calls in DynamoDB, all on the table: the read rounds (`BatchGetItem`), the
/// counters, token uses and blacklist hits (`UpdateItem`), blocks and forensic records
/// (`PutItem`). The infrastructure tests hold this to the code. (A request's story, which the `story`
/// tool queries, is read by [`super::story`], which the functions do not use.)
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(BATCH_GET_ITEM),
    Action::on_table(PUT_ITEM),
    Action::on_table(UPDATE_ITEM),
];

/// The behavioral items in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoBehaviorStore {
    client: Client,
    table: String,
}

impl DynamoBehaviorStore {
    /// A store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoBehaviorStore {
            client,
            table: table.into(),
        }
    }

    /// The items of `keys` (`(pk, sk)`) that exist, asking again for unprocessed keys. More
    /// than 100 keys (`BatchGetItem`'s limit) are asked for in concurrent calls: still one
    /// round trip.
    async fn batch_get(&self, keys: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        let keys = keys.iter().map(|(pk, sk)| key(pk, sk)).collect();
        batch_get_all(&self.table, keys, false, None, |request| {
            let call = self.client.batch_get_item().request_items(&self.table, request).send();
            async move { call.await.map_err(|e| dynamo_error("BatchGetItem", e)) }
        })
        .await
    }

    /// Adds one to the bucket `pk` / `start` of `size` seconds (IP and visitor buckets), and
    /// for a visitor bucket (`submission`: whether this is one, and its IP) the submission
    /// count and IP set.
    async fn add_to_bucket(
        &self,
        pk: String,
        start: i64,
        size: i64,
        submission: Option<(bool, Option<String>)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut adds = vec!["n :one"];
        let mut u = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(crate::schema::bucket_sk(start)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":t", s("aggregate"))
            .expression_attribute_values(":exp", n(rules::aggregate_expiry(start, size)))
            .expression_attribute_values(":now", n(now_ms));
        if let Some((true, ip)) = submission {
            adds.push("subs :one");
            if let Some(ip) = ip {
                adds.push("ips :ip");
                u = u.expression_attribute_values(":ip", AttributeValue::Ss(vec![ip]));
            }
        }
        let expr = format!(
            "ADD {} SET item_type = :t, expires_at = :exp, first_seen = if_not_exists(first_seen, :now)",
            adds.join(", ")
        );
        u.update_expression(expr)
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", e))?;
        Ok(())
    }
}

impl BehaviorStore for DynamoBehaviorStore {
    async fn read_first(&self, ids: &Identifiers, now_ms: i64, config: &FraudConfig) -> Result<FirstRead, StoreError> {
        let items = self.batch_get(rules::first_read_keys(ids, now_ms, config)).await?;
        let mut read = FirstRead::default();
        let mut visitor_items = Vec::new();
        for item in items {
            let pk = text(&item, "pk").unwrap_or_default();
            let sk = text(&item, "sk").unwrap_or_default();
            if rules::is_visitor_partition(ids, pk) {
                visitor_items.push(item);
                continue;
            }
            if sk == BLACKLIST_SORT_KEY {
                read.blacklist.push(entry_of(&item));
                continue;
            }
            let bucket = bucket_of(&item);
            match rules::aggregate_of(ids, pk) {
                Some(Aggregate::Ja4Net) => read.ja4net.push(bucket),
                Some(Aggregate::Ja4) => read.ja4.push(bucket),
                Some(Aggregate::Ip) => read.ip.push(bucket),
                None => {}
            }
        }
        read.visitor = ids.visitor.as_ref().map(|_| visitor_read_of(visitor_items));
        Ok(read)
    }

    async fn read_visitor(&self, org: &str, visitor: &str, now_ms: i64) -> Result<VisitorRead, StoreError> {
        let items = self.batch_get(rules::visitor_read_keys(org, visitor, now_ms)).await?;
        Ok(visitor_read_of(items))
    }

    async fn count_token(&self, org: &str, hash: &str, expires_at: i64) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(crate::schema::token_pk(org, hash)))
            .key("sk", s(crate::schema::TOKEN_SK))
            .update_expression("ADD uses :one SET item_type = :t, expires_at = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":t", s("token_uses"))
            .expression_attribute_values(":exp", n(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", e))?;
        let uses = out.attributes().and_then(|a| num(a, "uses")).unwrap_or(1);
        Ok(u64::try_from(uses).unwrap_or(1))
    }

    async fn record(
        &self,
        ids: &Identifiers,
        visitor: Option<&str>,
        is_submission: bool,
        raises: &[SketchRaise],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let short = keys::bucket_start(now_ms, SHORT_BUCKET_SECS);
        let hour = keys::bucket_start(now_ms, HOUR_BUCKET_SECS);
        let sketches = async {
            let buckets = by_bucket(raises);
            let each = buckets
                .iter()
                .map(|((pk, start), sketch)| raise_together(&self.client, &self.table, pk, *start, sketch, now_ms));
            futures::future::try_join_all(each).await.map(|_| ())
        };
        let ip_count = async {
            match ids.ip_key() {
                Some(k) => self.add_to_bucket(k, short, SHORT_BUCKET_SECS, None, now_ms).await,
                None => Ok(()),
            }
        };
        let submission = Some((is_submission, ids.labels().map(|l| l.ip.clone())));
        let visitor_count = async {
            match visitor {
                Some(v) => {
                    let k = crate::schema::visitor_aggregate_pk(&ids.organization_id, v);
                    self.add_to_bucket(k, hour, HOUR_BUCKET_SECS, submission, now_ms).await
                }
                None => Ok(()),
            }
        };
        let (a, c, d) = tokio::join!(sketches, ip_count, visitor_count);
        a.and(c).and(d)
    }

    async fn block(
        &self,
        ids: &Identifiers,
        previous: &[BlacklistEntry],
        block: &Block,
        now_ms: i64,
        config: &FraudConfig,
    ) -> Result<i64, StoreError> {
        let terms =
            rules::block_terms(previous, now_ms, &config.components.repeat_offender).capped(ids.retention_cap(now_ms));
        let until = terms.until_ms;
        let offense_list = AttributeValue::L(terms.offenses.iter().map(|t| n(*t)).collect());
        let mut puts = Vec::new();
        let written = ids.block_keys(block.scope);
        for pk in &written {
            let mut item = key(pk, BLACKLIST_SORT_KEY);
            item.extend([
                ("item_type".to_string(), s("blacklist")),
                ("organization_id".to_string(), s(&ids.organization_id)),
                ("detection_type".to_string(), s(&block.detection_type)),
                ("reason".to_string(), s(&block.reason)),
                ("confidence".to_string(), s("high")),
                ("blocked_at".to_string(), n(now_ms)),
                ("block_expires".to_string(), n(until)),
                ("offenses".to_string(), offense_list.clone()),
                ("hits".to_string(), n(0)),
                ("request_id".to_string(), s(&block.request_id)),
                ("breakdown".to_string(), s(&block.breakdown_json)),
                ("expires_at".to_string(), n(terms.entry_expiry)),
            ]);
            for (k, v) in [
                // What the evidence was about: a network's entries do not name a fingerprint.
                (
                    "fingerprint",
                    ids.fingerprint.clone().filter(|_| block.scope == BlockScope::Client),
                ),
                ("ip", ids.labels().map(|l| l.ip.clone())),
                ("ja4", ids.ja4.clone()),
                ("visitor_id", block.visitor_id.clone()),
            ] {
                if let Some(v) = v {
                    item.insert(k.to_string(), s(v));
                }
            }
            puts.push(item);
        }
        if let Some(v) = block.visitor_id.as_ref().filter(|_| block.blocks_visitor) {
            let mut item = key(
                &crate::schema::visitor_block_pk(&ids.organization_id, v),
                BLACKLIST_SORT_KEY,
            );
            item.extend([
                ("item_type".to_string(), s("visitor_block")),
                ("detection_type".to_string(), s(&block.detection_type)),
                ("reason".to_string(), s(&block.reason)),
                ("blocked_at".to_string(), n(now_ms)),
                ("block_expires".to_string(), n(until)),
                ("offenses".to_string(), offense_list.clone()),
                ("expires_at".to_string(), n(terms.memory_expiry)),
            ]);
            puts.push(item);
        }
        let mut forensic = key(&crate::schema::request_pk(&block.request_id), crate::schema::BLOCK_SK);
        forensic.extend([
            ("item_type".to_string(), s("block")),
            ("organization_id".to_string(), s(&ids.organization_id)),
            ("detection_type".to_string(), s(&block.detection_type)),
            ("reason".to_string(), s(&block.reason)),
            ("score".to_string(), AttributeValue::N(block.score.to_string())),
            ("breakdown".to_string(), s(&block.breakdown_json)),
            ("blocked_at".to_string(), n(now_ms)),
            ("block_expires".to_string(), n(until)),
            (
                "offense_count".to_string(),
                n(i64::try_from(terms.offenses.len()).unwrap_or(i64::MAX)),
            ),
            (
                "identifiers".to_string(),
                AttributeValue::L(written.iter().map(s).collect()),
            ),
            ("expires_at".to_string(), n(terms.forensic_expiry)),
        ]);
        if let Some(v) = &block.visitor_id {
            forensic.insert("visitor_id".into(), s(v));
        }
        puts.push(forensic);
        let writes = puts.into_iter().map(|item| {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
        });
        for r in futures::future::join_all(writes).await {
            r.map_err(|e| dynamo_error("PutItem", e))?;
        }
        Ok(until)
    }

    async fn hit(&self, entry: &BlacklistEntry, request_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&entry.pk))
            .key("sk", s(BLACKLIST_SORT_KEY))
            .update_expression("ADD hits :one SET last_seen = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .send();
        let record = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(crate::schema::request_pk(request_id)))
            .item("sk", s(crate::schema::HIT_SK))
            .item("item_type", s("blacklist_hit"))
            .item("identifier", s(&entry.pk))
            .item("detection_type", s(&entry.detection_type))
            .item("reason", s(&entry.reason))
            .item("blocked_at", n(entry.blocked_at_ms))
            .item("block_expires", n(entry.block_expires_ms))
            .item("seen_at", n(now_ms))
            .item(
                "expires_at",
                n((now_ms / 1000).saturating_add(rules::FORENSIC_RETENTION_SECS)),
            )
            .send();
        let (u, r) = tokio::join!(update, record);
        u.map_err(|e| dynamo_error("UpdateItem", e))?;
        r.map_err(|e| dynamo_error("PutItem", e))?;
        Ok(())
    }
}

/// A visitor's history from the items of its [`rules::visitor_read_keys`].
fn visitor_read_of(items: Vec<Item>) -> VisitorRead {
    let mut read = VisitorRead::default();
    for item in items {
        if text(&item, "sk") == Some(BLACKLIST_SORT_KEY) {
            let detection = text(&item, "detection_type").unwrap_or_default().to_string();
            read.memory = num(&item, "blocked_at").map(|at| (detection, at));
            read.entry = Some(entry_of(&item));
        } else {
            read.buckets.push(bucket_of(&item));
        }
    }
    read
}

/// A blacklist entry or visitor block item as [`BlacklistEntry`].
fn entry_of(item: &Item) -> BlacklistEntry {
    BlacklistEntry {
        pk: text(item, "pk").unwrap_or_default().to_string(),
        detection_type: text(item, "detection_type").unwrap_or_default().to_string(),
        reason: text(item, "reason").unwrap_or_default().to_string(),
        blocked_at_ms: num(item, "blocked_at").unwrap_or(0),
        block_expires_ms: num(item, "block_expires").unwrap_or(0),
        offenses: item
            .get("offenses")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|x| x.as_n().ok()?.parse().ok()).collect())
            .unwrap_or_default(),
    }
}

/// An aggregate bucket item as [`Bucket`].
fn bucket_of(item: &Item) -> Bucket {
    let count = |k: &str| num(item, k).and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    let visitors = sketch_of(item);
    Bucket {
        start: crate::schema::bucket_start_of(text(item, "sk").unwrap_or_default()),
        n: count("n"),
        visitors,
        ips: string_set(item, "ips"),
        submissions: count("subs"),
        first_ms: num(item, "first_seen"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::sketch::Register;

    #[test]
    fn items_are_read_as_written() {
        let mut item = key("ORG#o#AGG#JA4#t13", &crate::schema::bucket_sk(1_800_000_000));
        item.insert("n".into(), n(3));
        item.insert("subs".into(), n(-1));
        let register = Register::of("v1");
        item.insert(register.attribute(), n(i64::from(register.rank)));
        item.insert("r9999".into(), n(4));
        let b = bucket_of(&item);
        assert_eq!(
            (b.start, b.n, b.submissions, b.visitors.estimate()),
            (1_800_000_000, 3, 0, 1)
        );
        assert!(!b.visitors.would_raise(register));
        let mut bl = key("ORG#o#BL#IP#192.0.2.1", BLACKLIST_SORT_KEY);
        bl.insert("offenses".into(), AttributeValue::L(vec![n(5), s("x"), n(7)]));
        bl.insert("block_expires".into(), n(9));
        let e = entry_of(&bl);
        assert_eq!((e.identifier_kind(), e.block_expires_ms), ("ip", 9));
        assert_eq!(e.offenses, [5, 7]);
    }
}
