//! The behavioral items in DynamoDB, keyed by organization:
//!
//! | item | `pk` | `sk` |
//! |------|------|------|
//! | blacklist entry | `ORG#<org>#BL#FP#<fingerprint>`, `#BL#IP#<ip>`, `#BL#JA4#<ja4>[#<ip or /64>]` | `BL` |
//! | visitor block (blacklist by visitor id, repeat-offender memory) | `ORG#<org>#BLV#<visitor>` | `BL` |
//! | aggregate bucket | `ORG#<org>#AGG#JA4NET#<ja4>#<ip or /64>`, `#AGG#JA4#<ja4>`, `#AGG#IP#<ip>` (5-minute buckets), `#AGG#VIS#<visitor>` (hourly) | `B#<bucket start, s>` |
//! | token uses | `ORG#<org>#TOK#<sha-256>` | `USES` |
//! | forensic record | `REQ#<request id>` | `BLOCK` / `BLACKLIST_HIT` |
//!
//! Buckets hold an event count `n`, the set of visitor ids `vs` (DynamoDB `ADD` to a string
//! set: atomic and idempotent), the first time seen, and for visitors the submission count
//! and the set of submission IPs. A window is the union of the buckets it overlaps, so the
//! 5-minute window reads the current and the previous 5-minute bucket (5 to 10 minutes). The
//! blacklist key of a JA4 that belongs to a known browser is scoped to the IP (or /64), since
//! every user of that browser shares it; a tool's JA4 is blocked across the organization.
//! Every item has an `expires_at` TTL; DynamoDB deletes late, so block expiry is checked in
//! code.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;

use crate::fraud::counter::network_of;
use crate::fraud::FraudConfig;
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, BATCH_GET_ITEM, PUT_ITEM, UPDATE_ITEM};
use crate::store::StoreError;

use crate::fraud::input::Observations;

/// What this module calls in DynamoDB, all on the table: the read rounds (`BatchGetItem`), the
/// counters, token uses and blacklist hits (`UpdateItem`), blocks and forensic records
/// (`PutItem`). Its unit test holds this to the code. (A request's story, which the `story`
/// tool queries, is read by [`super::story`], which the functions do not use.)
pub const DYNAMODB_ACTIONS: &[Action] = &[
    Action::on_table(BATCH_GET_ITEM),
    Action::on_table(PUT_ITEM),
    Action::on_table(UPDATE_ITEM),
];

/// Size of the JA4 and IP buckets, seconds.
pub const SHORT_BUCKET_SECS: i64 = 300;
/// Size of the visitor buckets, seconds.
pub const HOUR_BUCKET_SECS: i64 = 3600;

/// The identifiers of a request the behavioral layers key on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifiers {
    pub organization_id: String,
    pub fingerprint: Option<String>,
    pub ip: Option<IpAddr>,
    pub ja4: Option<String>,
    /// True when the JA4 belongs to a known browser (its blacklist entry is IP-scoped).
    pub ja4_is_browser: bool,
}

impl Identifiers {
    fn prefix(&self) -> String {
        format!("ORG#{}", self.organization_id)
    }

    fn net(&self) -> Option<String> {
        self.ip.map(network_of)
    }

    /// Blacklist partition keys: fingerprint, IP, JA4 (scoped).
    pub fn blacklist_keys(&self) -> Vec<String> {
        let p = self.prefix();
        let mut keys = Vec::new();
        if let Some(fp) = &self.fingerprint {
            keys.push(format!("{p}#BL#FP#{fp}"));
        }
        if let Some(ip) = self.ip {
            keys.push(format!("{p}#BL#IP#{ip}"));
        }
        if let Some(ja4) = &self.ja4 {
            match (self.ja4_is_browser, self.net()) {
                (true, Some(net)) => keys.push(format!("{p}#BL#JA4#{ja4}#{net}")),
                (true, None) => {}
                (false, _) => keys.push(format!("{p}#BL#JA4#{ja4}")),
            }
        }
        keys
    }

    fn ja4net_key(&self) -> Option<String> {
        Some(format!(
            "{}#AGG#JA4NET#{}#{}",
            self.prefix(),
            self.ja4.as_ref()?,
            self.net()?
        ))
    }

    fn ja4_key(&self) -> Option<String> {
        Some(format!("{}#AGG#JA4#{}", self.prefix(), self.ja4.as_ref()?))
    }

    fn ip_key(&self) -> Option<String> {
        Some(format!("{}#AGG#IP#{}", self.prefix(), self.ip?))
    }
}

fn visitor_key(org: &str, visitor: &str) -> String {
    format!("ORG#{org}#AGG#VIS#{visitor}")
}

fn memory_key(org: &str, visitor: &str) -> String {
    format!("ORG#{org}#BLV#{visitor}")
}

/// A blacklist entry as read.
#[derive(Debug, Clone, PartialEq)]
pub struct BlacklistEntry {
    pub pk: String,
    pub detection_type: String,
    pub reason: String,
    pub blocked_at_ms: i64,
    /// When the block ends, ms; checked in code because TTL deletes late.
    pub block_expires_ms: i64,
    /// Offense times, ms.
    pub offenses: Vec<i64>,
}

impl BlacklistEntry {
    /// Which identifier the entry blocks, read from its key: `fingerprint`, `ip`, `ja4` (a
    /// tool's JA4, blocked across the organization), `ja4_network` (a browser's JA4 on one IP
    /// or /64), `visitor`, or `unknown`. This is what logs may say of an entry: the identifier
    /// itself (an IP address among them) is personal data.
    pub fn identifier_kind(&self) -> &'static str {
        let parts: Vec<&str> = self.pk.split('#').collect();
        // `ORG`, the organization, then `BL` + kind + value(s), or `BLV` + visitor.
        match parts.get(2..).unwrap_or_default() {
            ["BLV", ..] => "visitor",
            ["BL", "FP", ..] => "fingerprint",
            ["BL", "IP", ..] => "ip",
            ["BL", "JA4", _] => "ja4",
            ["BL", "JA4", _, _, ..] => "ja4_network",
            _ => "unknown",
        }
    }
}

/// One aggregate bucket as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    pub start: i64,
    pub n: u64,
    pub visitors: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub submissions: u64,
    pub first_ms: Option<i64>,
}

/// What the first read round returns.
#[derive(Debug, Clone, Default)]
pub struct FirstRead {
    pub blacklist: Vec<BlacklistEntry>,
    pub ja4net: Vec<Bucket>,
    pub ja4: Vec<Bucket>,
    pub ip: Vec<Bucket>,
}

/// What the visitor read round returns.
#[derive(Debug, Clone, Default)]
pub struct VisitorRead {
    pub buckets: Vec<Bucket>,
    /// The visitor's last block: detection type and time, ms.
    pub memory: Option<(String, i64)>,
    /// The visitor's blacklist entry (its last block), whose `block_expires_ms` may still
    /// be ahead: a blocked visitor stays blocked whatever its fingerprint or IP.
    pub entry: Option<BlacklistEntry>,
}

/// A block to record.
#[derive(Debug, Clone)]
pub struct Block {
    pub request_id: String,
    pub visitor_id: Option<String>,
    pub detection_type: String,
    pub reason: String,
    /// JSON of the risk breakdown.
    pub breakdown_json: String,
    pub score: f64,
}

/// The DynamoDB side of the behavioral layers.
#[derive(Debug, Clone)]
pub struct BehaviorStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn num(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k)?.as_n().ok()?.parse().ok()
}

fn string_set(item: &HashMap<String, AttributeValue>, k: &str) -> BTreeSet<String> {
    item.get(k)
        .and_then(|v| v.as_ss().ok())
        .map(|v| v.iter().cloned().collect())
        .unwrap_or_default()
}

fn bucket_starts(now_ms: i64, window_secs: u64, size: i64) -> Vec<i64> {
    let now = now_ms / 1000;
    let from = (now - window_secs as i64).div_euclid(size) * size;
    let to = now.div_euclid(size) * size;
    (0..).map(|i| from + i * size).take_while(|b| *b <= to).collect()
}

impl BehaviorStore {
    /// A store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        BehaviorStore {
            client,
            table: table.into(),
        }
    }

    async fn batch_get(&self, keys: Vec<(String, String)>) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|(pk, sk)| HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]))
                            .collect(),
                    ))
                    .build()
                    .map_err(|e| StoreError::Dynamo {
                        operation: "build",
                        message: e.to_string(),
                        source: Box::new(e),
                    })?,
            );
            // DynamoDB may leave keys unprocessed under load: ask again for those.
            for _ in 0..5 {
                let Some(req) = pending.take() else { break };
                let resp = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| dynamo_error("BatchGetItem", e))?;
                if let Some(items) = resp.responses().and_then(|r| r.get(&self.table)) {
                    out.extend(items.iter().cloned());
                }
                pending = resp
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
        }
        Ok(out)
    }

    /// The first read round (one `BatchGetItem`): blacklist entries of the identifiers and the
    /// JA4 / IP aggregate buckets of the windows in `config`.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn read_first(
        &self,
        ids: &Identifiers,
        now_ms: i64,
        config: &FraudConfig,
    ) -> Result<FirstRead, StoreError> {
        let b = &config.behavior;
        let long = b
            .session_hopping
            .cluster_window_secs
            .max(b.session_hopping.extended_window_secs);
        let mut keys: Vec<(String, String)> = ids
            .blacklist_keys()
            .into_iter()
            .map(|k| (k, "BL".to_string()))
            .collect();
        for (key, window) in [
            (ids.ja4net_key(), b.session_hopping.cluster_window_secs),
            (ids.ja4_key(), long),
            (ids.ip_key(), b.ip_rate_window_secs),
        ] {
            if let Some(key) = key {
                for start in bucket_starts(now_ms, window, SHORT_BUCKET_SECS) {
                    keys.push((key.clone(), format!("B#{start}")));
                }
            }
        }
        let items = self.batch_get(keys).await?;
        let mut read = FirstRead::default();
        for item in items {
            let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if sk == "BL" {
                read.blacklist.push(entry_of(&pk, &item));
                continue;
            }
            let bucket = bucket_of(&sk, &item);
            if Some(&pk) == ids.ja4net_key().as_ref() {
                read.ja4net.push(bucket);
            } else if Some(&pk) == ids.ja4_key().as_ref() {
                read.ja4.push(bucket);
            } else if Some(&pk) == ids.ip_key().as_ref() {
                read.ip.push(bucket);
            }
        }
        Ok(read)
    }

    /// The visitor read round (one `BatchGetItem`): the visitor's hourly buckets of the last
    /// 24 h and its repeat-offender memory.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn read_visitor(&self, org: &str, visitor: &str, now_ms: i64) -> Result<VisitorRead, StoreError> {
        let vk = visitor_key(org, visitor);
        let mut keys: Vec<(String, String)> = bucket_starts(now_ms, 86_400, HOUR_BUCKET_SECS)
            .into_iter()
            .map(|b| (vk.clone(), format!("B#{b}")))
            .collect();
        keys.push((memory_key(org, visitor), "BL".into()));
        let mut read = VisitorRead::default();
        for item in self.batch_get(keys).await? {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if sk == "BL" {
                let t = item
                    .get("detection_type")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                read.memory = num(&item, "blocked_at").map(|at| (t, at));
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                read.entry = Some(entry_of(&pk, &item));
            } else {
                read.buckets.push(bucket_of(&sk, &item));
            }
        }
        Ok(read)
    }

    /// Counts a use of a collector token (by its hash); returns the uses so far.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn count_token(&self, org: &str, hash: &str, expires_at: i64) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("ORG#{org}#TOK#{hash}")))
            .key("sk", s("USES"))
            .update_expression("ADD uses :one SET item_type = :t, expires_at = :exp")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":t", s("token_uses"))
            .expression_attribute_values(":exp", n(expires_at))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", e))?;
        Ok(out.attributes().and_then(|a| num(a, "uses")).unwrap_or(1) as u64)
    }

    async fn add_to_bucket(
        &self,
        pk: String,
        start: i64,
        size: i64,
        visitor: Option<&str>,
        extra: Option<(bool, Option<String>)>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut expr = "ADD n :one SET item_type = :t, expires_at = :exp, first_seen = if_not_exists(first_seen, :now)"
            .to_string();
        let mut u = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(format!("B#{start}")))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":t", s("aggregate"))
            .expression_attribute_values(":exp", n(start + size + 86_400))
            .expression_attribute_values(":now", n(now_ms));
        if let Some(v) = visitor {
            expr = expr.replacen("ADD n :one", "ADD n :one, vs :v", 1);
            u = u.expression_attribute_values(":v", AttributeValue::Ss(vec![v.to_string()]));
        }
        if let Some((true, ip)) = extra {
            expr = expr.replacen("ADD n :one", "ADD n :one, subs :one", 1);
            if let Some(ip) = ip {
                expr = expr.replacen("ADD n :one", "ADD n :one, ips :ip", 1);
                u = u.expression_attribute_values(":ip", AttributeValue::Ss(vec![ip]));
            }
        }
        u.update_expression(expr)
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", e))?;
        Ok(())
    }

    /// Adds this event to the aggregates (four concurrent `UpdateItem`s).
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn record(
        &self,
        ids: &Identifiers,
        visitor: &str,
        is_submission: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let short = (now_ms / 1000).div_euclid(SHORT_BUCKET_SECS) * SHORT_BUCKET_SECS;
        let hour = (now_ms / 1000).div_euclid(HOUR_BUCKET_SECS) * HOUR_BUCKET_SECS;
        let a = async {
            match ids.ja4net_key() {
                Some(k) => {
                    self.add_to_bucket(k, short, SHORT_BUCKET_SECS, Some(visitor), None, now_ms)
                        .await
                }
                None => Ok(()),
            }
        };
        let b = async {
            match ids.ja4_key() {
                Some(k) => {
                    self.add_to_bucket(k, short, SHORT_BUCKET_SECS, Some(visitor), None, now_ms)
                        .await
                }
                None => Ok(()),
            }
        };
        let c = async {
            match ids.ip_key() {
                Some(k) => {
                    self.add_to_bucket(k, short, SHORT_BUCKET_SECS, None, None, now_ms)
                        .await
                }
                None => Ok(()),
            }
        };
        let d = self.add_to_bucket(
            visitor_key(&ids.organization_id, visitor),
            hour,
            HOUR_BUCKET_SECS,
            None,
            Some((is_submission, ids.ip.map(|ip| ip.to_string()))),
            now_ms,
        );
        let (a, b, c, d) = tokio::join!(a, b, c, d);
        a.and(b).and(c).and(d)
    }

    /// Blacklists the identifiers with the progressive timeout their offense count earns,
    /// remembers the block for the visitor, and writes the forensic record. Returns the
    /// block's end, ms.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn block(
        &self,
        ids: &Identifiers,
        previous: &[BlacklistEntry],
        block: &Block,
        now_ms: i64,
        config: &FraudConfig,
    ) -> Result<i64, StoreError> {
        let bl = &config.behavior.blacklist;
        let window_start = now_ms - bl.offense_window_secs as i64 * 1000;
        let mut offenses: Vec<i64> = previous
            .iter()
            .flat_map(|e| e.offenses.iter().copied())
            .filter(|t| *t >= window_start)
            .collect();
        offenses.sort_unstable();
        offenses.dedup();
        offenses.push(now_ms);
        let timeout = bl.timeouts_secs[(offenses.len() - 1).min(bl.timeouts_secs.len() - 1)];
        let until = now_ms + timeout as i64 * 1000;
        let ttl = until / 1000 + bl.offense_window_secs as i64;
        let offense_list = AttributeValue::L(offenses.iter().map(|t| n(*t)).collect());
        let mut puts = Vec::new();
        for pk in ids.blacklist_keys() {
            let mut item = HashMap::from([
                ("pk".to_string(), s(pk)),
                ("sk".to_string(), s("BL")),
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
                ("expires_at".to_string(), n(ttl)),
            ]);
            for (k, v) in [
                ("fingerprint", ids.fingerprint.clone()),
                ("ip", ids.ip.map(|i| i.to_string())),
                ("ja4", ids.ja4.clone()),
                ("visitor_id", block.visitor_id.clone()),
            ] {
                if let Some(v) = v {
                    item.insert(k.to_string(), s(v));
                }
            }
            puts.push(item);
        }
        if let Some(v) = &block.visitor_id {
            puts.push(HashMap::from([
                ("pk".to_string(), s(memory_key(&ids.organization_id, v))),
                ("sk".to_string(), s("BL")),
                ("item_type".to_string(), s("visitor_block")),
                ("detection_type".to_string(), s(&block.detection_type)),
                ("reason".to_string(), s(&block.reason)),
                ("blocked_at".to_string(), n(now_ms)),
                ("block_expires".to_string(), n(until)),
                ("offenses".to_string(), offense_list.clone()),
                (
                    "expires_at".to_string(),
                    n(ttl.max(now_ms / 1000 + bl.memory_secs as i64)),
                ),
            ]));
        }
        let mut forensic = HashMap::from([
            ("pk".to_string(), s(format!("REQ#{}", block.request_id))),
            ("sk".to_string(), s("BLOCK")),
            ("item_type".to_string(), s("block")),
            ("organization_id".to_string(), s(&ids.organization_id)),
            ("detection_type".to_string(), s(&block.detection_type)),
            ("reason".to_string(), s(&block.reason)),
            ("score".to_string(), AttributeValue::N(block.score.to_string())),
            ("breakdown".to_string(), s(&block.breakdown_json)),
            ("blocked_at".to_string(), n(now_ms)),
            ("block_expires".to_string(), n(until)),
            ("offense_count".to_string(), n(offenses.len() as i64)),
            (
                "identifiers".to_string(),
                AttributeValue::L(ids.blacklist_keys().into_iter().map(s).collect()),
            ),
            ("expires_at".to_string(), n(ttl + 365 * 86_400)),
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

    /// Records a blacklist hit: the entry's hit count and last-seen time, and a forensic
    /// record under the request id.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn hit(&self, entry: &BlacklistEntry, request_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&entry.pk))
            .key("sk", s("BL"))
            .update_expression("ADD hits :one SET last_seen = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .send();
        let record = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("REQ#{request_id}")))
            .item("sk", s("BLACKLIST_HIT"))
            .item("item_type", s("blacklist_hit"))
            .item("identifier", s(&entry.pk))
            .item("detection_type", s(&entry.detection_type))
            .item("reason", s(&entry.reason))
            .item("blocked_at", n(entry.blocked_at_ms))
            .item("block_expires", n(entry.block_expires_ms))
            .item("seen_at", n(now_ms))
            .item("expires_at", n(now_ms / 1000 + 365 * 86_400))
            .send();
        let (u, r) = tokio::join!(update, record);
        u.map_err(|e| dynamo_error("UpdateItem", e))?;
        r.map_err(|e| dynamo_error("PutItem", e))?;
        Ok(())
    }
}

fn entry_of(pk: &str, item: &HashMap<String, AttributeValue>) -> BlacklistEntry {
    BlacklistEntry {
        pk: pk.to_string(),
        detection_type: item
            .get("detection_type")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        reason: item
            .get("reason")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        blocked_at_ms: num(item, "blocked_at").unwrap_or(0),
        block_expires_ms: num(item, "block_expires").unwrap_or(0),
        offenses: item
            .get("offenses")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|x| x.as_n().ok()?.parse().ok()).collect())
            .unwrap_or_default(),
    }
}

fn bucket_of(sk: &str, item: &HashMap<String, AttributeValue>) -> Bucket {
    Bucket {
        start: sk.trim_start_matches("B#").parse().unwrap_or(0),
        n: num(item, "n").unwrap_or(0) as u64,
        visitors: string_set(item, "vs"),
        ips: string_set(item, "ips"),
        submissions: num(item, "subs").unwrap_or(0) as u64,
        first_ms: num(item, "first_seen"),
    }
}

/// Turns what the store returned into [`Observations`], this request included.
#[allow(clippy::too_many_arguments)]
pub fn observations(
    first: &FirstRead,
    visitor: &VisitorRead,
    visitor_id: &str,
    ip: Option<IpAddr>,
    is_submission: bool,
    now_ms: i64,
    config: &FraudConfig,
) -> Observations {
    let b = &config.behavior;
    let now = now_ms / 1000;
    let within =
        |bk: &Bucket, window: u64, size: i64| bk.start.saturating_add(size) > now.saturating_sub(window as i64);
    let mut cluster: BTreeSet<String> = first
        .ja4net
        .iter()
        .filter(|bk| within(bk, b.session_hopping.cluster_window_secs, SHORT_BUCKET_SECS))
        .flat_map(|bk| bk.visitors.iter().cloned())
        .collect();
    let cluster_first_ms = first
        .ja4net
        .iter()
        .filter(|bk| within(bk, b.session_hopping.cluster_window_secs, SHORT_BUCKET_SECS))
        .filter_map(|bk| bk.first_ms)
        .min();
    cluster.insert(visitor_id.to_string());
    let global = |window: u64| {
        let mut set: BTreeSet<&str> = first
            .ja4
            .iter()
            .filter(|bk| within(bk, window, SHORT_BUCKET_SECS))
            .flat_map(|bk| bk.visitors.iter().map(String::as_str))
            .collect();
        set.insert(visitor_id);
        set.len()
    };
    let ip_events = first
        .ip
        .iter()
        .filter(|bk| within(bk, b.ip_rate_window_secs, SHORT_BUCKET_SECS))
        .map(|bk| bk.n)
        .sum::<u64>()
        + 1;
    let mine = u64::from(is_submission);
    let day = visitor.buckets.iter().filter(|bk| within(bk, 86_400, HOUR_BUCKET_SECS));
    let submissions_24h = day.clone().map(|bk| bk.submissions).sum::<u64>() + mine;
    let attempts_1h = visitor
        .buckets
        .iter()
        .filter(|bk| within(bk, 3600, HOUR_BUCKET_SECS))
        .map(|bk| bk.submissions)
        .sum::<u64>()
        + mine;
    let mut ips: BTreeSet<String> = day.flat_map(|bk| bk.ips.iter().cloned()).collect();
    if is_submission {
        if let Some(ip) = ip {
            ips.insert(ip.to_string());
        }
    }
    Observations {
        cluster_visitors: cluster,
        cluster_first_ms: cluster_first_ms.or(Some(now_ms)),
        rapid_global_visitors: global(b.session_hopping.rapid_window_secs),
        extended_global_visitors: global(b.session_hopping.extended_window_secs),
        ip_events,
        is_submission,
        visitor_submissions_24h: submissions_24h,
        visitor_attempts_1h: attempts_1h,
        visitor_ips_24h: ips,
        token: None,
        token_uses: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pk: &str) -> BlacklistEntry {
        BlacklistEntry {
            pk: pk.to_string(),
            detection_type: "ja4_mismatch".into(),
            reason: String::new(),
            blocked_at_ms: 0,
            block_expires_ms: 1,
            offenses: Vec::new(),
        }
    }

    #[test]
    fn an_entry_names_the_kind_of_identifier_it_blocks_never_its_value() {
        let ids = |ja4_is_browser: bool, ip: &str| Identifiers {
            organization_id: "org_demo".into(),
            fingerprint: Some("fpAbc".into()),
            ip: Some(ip.parse().unwrap()),
            ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
            ja4_is_browser,
        };
        let kinds = |ids: Identifiers| -> Vec<&'static str> {
            ids.blacklist_keys()
                .iter()
                .map(|k| entry(k).identifier_kind())
                .collect()
        };
        assert_eq!(kinds(ids(false, "198.51.100.7")), ["fingerprint", "ip", "ja4"]);
        assert_eq!(kinds(ids(true, "198.51.100.7")), ["fingerprint", "ip", "ja4_network"]);
        assert_eq!(kinds(ids(true, "2001:db8::7")), ["fingerprint", "ip", "ja4_network"]);
        assert_eq!(entry(&memory_key("org_demo", "v-1")).identifier_kind(), "visitor");
        assert_eq!(entry("REQ#x").identifier_kind(), "unknown");
    }

    #[test]
    fn dynamodb_actions_are_the_calls_of_this_module() {
        crate::store::iam::assert_declared(include_str!("store.rs"), DYNAMODB_ACTIONS);
    }
}
