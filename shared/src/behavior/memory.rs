//! An in-memory implementation of [`BehaviorStore`], for tests of the behavioral rules without
//! DynamoDB: the same keys ([`super::keys`]) and the same decisions ([`super::rules`]), held in
//! maps. Items do not expire (DynamoDB's TTL deletes late too; block ends are checked in code).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::keys::{self, Identifiers, HOUR_BUCKET_SECS, SHORT_BUCKET_SECS};
use super::rules::{self, Aggregate, BlacklistEntry, Block, Bucket, FirstRead, VisitorRead};
use super::sketch::{Register, SketchRaise};
use super::store::{BehaviorStore, SketchWriter};
use crate::fraud::FraudConfig;
use crate::schema::BLACKLIST_SK as BLACKLIST_SORT_KEY;
use crate::store::StoreError;

/// A forensic record: a block or a blacklist hit of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Forensic {
    /// `BLOCK` or `BLACKLIST_HIT`.
    pub kind: &'static str,
    pub detection_type: String,
    /// The block's end, ms.
    pub block_expires_ms: i64,
    /// Offenses counted for a block (0 for a hit).
    pub offense_count: usize,
}

#[derive(Debug, Default)]
struct Items {
    /// Blacklist entries and visitor blocks by partition key, with their hit counts.
    blacklist: HashMap<String, (BlacklistEntry, u64)>,
    /// Buckets by partition key and start.
    buckets: HashMap<(String, i64), Bucket>,
    /// Token uses by partition key.
    tokens: HashMap<String, u64>,
    /// Forensic records by request id.
    forensic: HashMap<String, Vec<Forensic>>,
}

/// The behavioral items in memory; a clone is another handle on the same items, as a clone of
/// the SDK client reaches the same table.
#[derive(Debug, Default, Clone)]
pub struct MemoryBehaviorStore {
    items: std::sync::Arc<Mutex<Items>>,
}

impl MemoryBehaviorStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn items(&self) -> MutexGuard<'_, Items> {
        // A panic while holding the lock leaves whole items behind: keep going.
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The forensic records of `request_id`, in the order written.
    pub fn forensic(&self, request_id: &str) -> Vec<Forensic> {
        self.items().forensic.get(request_id).cloned().unwrap_or_default()
    }

    /// The hits recorded on the blacklist entry `pk`.
    pub fn hits(&self, pk: &str) -> u64 {
        self.items().blacklist.get(pk).map_or(0, |(_, hits)| *hits)
    }

    /// Adds one to the bucket `pk` / `start` (IP and visitor buckets), with the submission
    /// and its IP for a visitor bucket.
    fn add(&self, pk: String, start: i64, submission: Option<(bool, Option<String>)>, now_ms: i64) {
        let mut items = self.items();
        let bucket = Self::bucket(&mut items, pk, start, now_ms);
        bucket.n = bucket.n.saturating_add(1);
        if let Some((true, ip)) = submission {
            bucket.submissions = bucket.submissions.saturating_add(1);
            bucket.ips.extend(ip);
        }
    }

    /// Raises a register of the sketch of the bucket `pk` / `start` (JA4 and JA4 + network
    /// buckets), as the conditional update of the DynamoDB store does.
    fn raise(&self, pk: String, start: i64, register: Register, now_ms: i64) {
        let mut items = self.items();
        Self::bucket(&mut items, pk, start, now_ms).visitors.raise(register);
    }

    fn bucket(items: &mut Items, pk: String, start: i64, now_ms: i64) -> &mut Bucket {
        items.buckets.entry((pk, start)).or_insert_with(|| Bucket {
            start,
            first_ms: Some(now_ms),
            ..Bucket::default()
        })
    }
}

impl BehaviorStore for MemoryBehaviorStore {
    async fn read_first(&self, ids: &Identifiers, now_ms: i64, config: &FraudConfig) -> Result<FirstRead, StoreError> {
        let items = self.items();
        let mut read = FirstRead {
            visitor: ids
                .visitor
                .as_ref()
                .map(|v| visitor_read_in(&items, &ids.organization_id, v, now_ms)),
            ..FirstRead::default()
        };
        for (pk, sk) in rules::first_read_keys(ids, now_ms, config) {
            if rules::is_visitor_partition(ids, &pk) {
                continue;
            }
            if sk == BLACKLIST_SORT_KEY {
                read.blacklist.extend(items.blacklist.get(&pk).map(|(e, _)| e.clone()));
                continue;
            }
            let Some(bucket) = items.buckets.get(&(pk.clone(), crate::schema::bucket_start_of(&sk))) else {
                continue;
            };
            match rules::aggregate_of(ids, &pk) {
                Some(Aggregate::Ja4Net) => read.ja4net.push(bucket.clone()),
                Some(Aggregate::Ja4) => read.ja4.push(bucket.clone()),
                Some(Aggregate::Ip) => read.ip.push(bucket.clone()),
                None => {}
            }
        }
        Ok(read)
    }

    async fn read_visitor(&self, org: &str, visitor: &str, now_ms: i64) -> Result<VisitorRead, StoreError> {
        Ok(visitor_read_in(&self.items(), org, visitor, now_ms))
    }

    async fn count_token(&self, org: &str, hash: &str, _expires_at: i64) -> Result<u64, StoreError> {
        let mut items = self.items();
        let uses = items.tokens.entry(crate::schema::token_pk(org, hash)).or_default();
        *uses = uses.saturating_add(1);
        Ok(*uses)
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
        for r in raises {
            self.raise(r.pk.clone(), r.start, r.register(), now_ms);
        }
        if let Some(k) = ids.ip_key() {
            self.add(k, short, None, now_ms);
        }
        if let Some(visitor) = visitor {
            let submission = Some((is_submission, ids.labels().map(|l| l.ip.clone())));
            let hour = keys::bucket_start(now_ms, HOUR_BUCKET_SECS);
            self.add(
                crate::schema::visitor_aggregate_pk(&ids.organization_id, visitor),
                hour,
                submission,
                now_ms,
            );
        }
        Ok(())
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
        let entry = |pk: String| BlacklistEntry {
            pk,
            detection_type: block.detection_type.clone(),
            reason: block.reason.clone(),
            blocked_at_ms: now_ms,
            block_expires_ms: terms.until_ms,
            offenses: terms.offenses.clone(),
        };
        let mut items = self.items();
        let visitor_key = block
            .visitor_id
            .as_ref()
            .filter(|_| block.blocks_visitor)
            .map(|v| crate::schema::visitor_block_pk(&ids.organization_id, v));
        for pk in ids.block_keys(block.scope).into_iter().chain(visitor_key) {
            items.blacklist.insert(pk.clone(), (entry(pk), 0));
        }
        items
            .forensic
            .entry(block.request_id.clone())
            .or_default()
            .push(Forensic {
                kind: crate::schema::BLOCK_SK,
                detection_type: block.detection_type.clone(),
                block_expires_ms: terms.until_ms,
                offense_count: terms.offenses.len(),
            });
        Ok(terms.until_ms)
    }

    async fn hit(&self, entry: &BlacklistEntry, request_id: &str, _now_ms: i64) -> Result<(), StoreError> {
        let mut items = self.items();
        // As the conditional update: only an entry that still exists counts the hit.
        if let Some((_, hits)) = items.blacklist.get_mut(&entry.pk) {
            *hits = hits.saturating_add(1);
        }
        items
            .forensic
            .entry(request_id.to_string())
            .or_default()
            .push(Forensic {
                kind: crate::schema::HIT_SK,
                detection_type: entry.detection_type.clone(),
                block_expires_ms: entry.block_expires_ms,
                offense_count: 0,
            });
        Ok(())
    }
}

impl SketchWriter for MemoryBehaviorStore {
    async fn raise_all(&self, raises: &[SketchRaise], now_ms: i64) -> Result<usize, StoreError> {
        let buckets = super::sketch::by_bucket(raises);
        for ((pk, start), sketch) in &buckets {
            for register in sketch.registers() {
                self.raise(pk.to_string(), *start, register, now_ms);
            }
        }
        Ok(buckets.len())
    }
}

/// A visitor's history from the items of its [`rules::visitor_read_keys`].
fn visitor_read_in(items: &Items, org: &str, visitor: &str, now_ms: i64) -> VisitorRead {
    let mut read = VisitorRead::default();
    for (pk, sk) in rules::visitor_read_keys(org, visitor, now_ms) {
        if sk == BLACKLIST_SORT_KEY {
            if let Some((entry, _)) = items.blacklist.get(&pk) {
                read.memory = Some((entry.detection_type.clone(), entry.blocked_at_ms));
                read.entry = Some(entry.clone());
            }
        } else if let Some(bucket) = items.buckets.get(&(pk, crate::schema::bucket_start_of(&sk))) {
            read.buckets.push(bucket.clone());
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const HOUR_MS: i64 = 3_600_000;

    fn ids(ip: &str) -> Identifiers {
        Identifiers {
            organization_id: "org_demo".into(),
            fingerprint: Some("fpAbc".into()),
            ip: Some(ip.parse().unwrap()),
            ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
            ja4_is_tool: false,
            visitor: None,
            address: None,
            retention_days: None,
        }
    }

    fn block(request_id: &str) -> Block {
        Block {
            request_id: request_id.into(),
            visitor_id: Some("v1".into()),
            blocks_visitor: true,
            scope: crate::behavior::keys::BlockScope::Client,
            detection_type: "ja4_mismatch".into(),
            reason: "test".into(),
            breakdown_json: "{}".into(),
            score: 90.0,
        }
    }

    #[tokio::test]
    async fn a_repeat_offender_climbs_the_ladder_and_its_visitor_stays_blocked_on_a_new_ip() {
        let store = MemoryBehaviorStore::new();
        let config = FraudConfig::default();
        let first = store.read_first(&ids("198.51.100.7"), NOW, &config).await.unwrap();
        assert!(first.blacklist.is_empty());
        let until = store
            .block(&ids("198.51.100.7"), &first.blacklist, &block("r1"), NOW, &config)
            .await
            .unwrap();
        assert_eq!(until, NOW + HOUR_MS);
        // Two hours on, the same fingerprint offends again from the same IP: 4 h.
        let later = NOW + 2 * HOUR_MS;
        let again = store.read_first(&ids("198.51.100.7"), later, &config).await.unwrap();
        assert_eq!(
            again.blacklist.len(),
            3,
            "fingerprint, IP and the browser JA4 on that IP"
        );
        let until = store
            .block(&ids("198.51.100.7"), &again.blacklist, &block("r2"), later, &config)
            .await
            .unwrap();
        assert_eq!(until, later + 4 * HOUR_MS);
        assert_eq!(store.forensic("r2")[0].offense_count, 2);
        // From another IP the visitor's block is still found.
        let visitor = store.read_visitor("org_demo", "v1", later).await.unwrap();
        assert_eq!(visitor.entry.unwrap().block_expires_ms, later + 4 * HOUR_MS);
        assert_eq!(visitor.memory, Some(("ja4_mismatch".into(), later)));
        // A hit counts on the entry and leaves a forensic record under the request.
        let entry = &again.blacklist[0];
        store.hit(entry, "r3", later).await.unwrap();
        assert_eq!(store.hits(&entry.pk), 1);
        assert_eq!(store.forensic("r3")[0].kind, "BLACKLIST_HIT");
    }

    #[tokio::test]
    async fn recorded_events_come_back_in_their_windows_as_observations() {
        let store = MemoryBehaviorStore::new();
        let config = FraudConfig::default();
        let record = |visitor: &'static str, at: i64| {
            let store = &store;
            let config = &config;
            async move {
                let first = store.read_first(&ids("198.51.100.7"), at, config).await.unwrap();
                // Whether the edge or the processor writes them, the raises land alike.
                let (now, deferred) = rules::sketch_raises(&ids("198.51.100.7"), visitor, false, &first, at, config);
                let raises: Vec<_> = now.into_iter().chain(deferred).collect();
                store
                    .record(&ids("198.51.100.7"), Some(visitor), true, &raises, at)
                    .await
                    .unwrap();
            }
        };
        for (i, visitor) in ["v1", "v2", "v3"].into_iter().enumerate() {
            record(visitor, NOW + i as i64 * 1000).await;
        }
        record("v1", NOW + 5000).await;
        let first = store
            .read_first(&ids("198.51.100.7"), NOW + 6000, &config)
            .await
            .unwrap();
        let visitor = store.read_visitor("org_demo", "v1", NOW + 6000).await.unwrap();
        let ip = ids("198.51.100.7").ip;
        let o = rules::observations(&first, &visitor, "v1", ip, true, NOW + 6000, &config);
        assert_eq!(o.cluster_visitors, 3);
        assert_eq!(o.cluster_first_ms, Some(NOW));
        assert_eq!(o.ip_events, 4 + 1);
        assert_eq!(o.visitor_submissions_24h, 2 + 1);
        assert_eq!(o.visitor_ips_24h.len(), 1);
        // A collector token's uses count up.
        assert_eq!(store.count_token("org_demo", "ab", 0).await.unwrap(), 1);
        assert_eq!(store.count_token("org_demo", "ab", 0).await.unwrap(), 2);
    }
}
