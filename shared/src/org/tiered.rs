//! The tiered organization directory and its failure policy.
//!
//! Tiers, fastest first:
//! 1. **warm in-process cache** (bounded, `quick_cache`): an entry younger than
//!    `memory_ttl` answers without any network call; unknown ids are remembered for
//!    `negative_ttl`, so a flood of random ids cannot hammer Supabase;
//! 2. **Upstash** (when configured): `GET impressio:org:v1:<id>`; filled with
//!    `SET … EX 300` (a 5 minute TTL) after a fetch, and with a short negative
//!    entry for unknown ids;
//! 3. **the source of truth** (Supabase, or the local file).
//!
//! Failure policy (no legitimate event lost, no unknown organization served):
//! - Upstash down or slow → skipped (logged); the lookup goes on to the source.
//! - Source down, slow or refusing our key, with an entry for the id in memory no older than
//!   `max_stale` → that entry is served, marked stale (the event records it).
//! - Source down with nothing known → [`Lookup::Unavailable`] (the edge answers 503 with
//!   `Retry-After`).
//! - After a source failure the source is not asked again for `source_retry` (served stale or
//!   unavailable at once), so an outage does not make every request wait for a timeout.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::upstash::UpstashClient;
use super::{DirectoryError, Lookup, LookupSource, Organization, OrganizationDirectory, OrganizationSource};
use crate::clock::Clock;

/// Timings and sizes of the tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierConfig {
    /// Age below which an in-process entry answers without a network call, ms.
    pub memory_ttl_ms: i64,
    /// How long an unknown id is remembered (in process and in Upstash), ms.
    pub negative_ttl_ms: i64,
    /// TTL of entries written to Upstash, seconds (seed: 300).
    pub upstash_ttl_secs: u64,
    /// Oldest in-process entry served while the source is down, ms.
    pub max_stale_ms: i64,
    /// Pause before asking a failed source again, ms.
    pub source_retry_ms: i64,
    /// Most organizations held in process.
    pub capacity: usize,
}

impl Default for TierConfig {
    fn default() -> Self {
        TierConfig {
            memory_ttl_ms: 60_000,
            negative_ttl_ms: 30_000,
            upstash_ttl_secs: 300,
            max_stale_ms: 24 * 3_600_000,
            source_retry_ms: 5_000,
            capacity: 10_000,
        }
    }
}

#[derive(Debug)]
struct Entry {
    org: Option<Arc<Organization>>,
    fetched_at_ms: i64,
}

impl Entry {
    /// The lookup answer this entry gives, attributed to `source`.
    fn answer(&self, source: LookupSource, now: i64) -> Lookup {
        match &self.org {
            Some(org) => Lookup::Found {
                org: org.clone(),
                source,
                age_ms: now - self.fetched_at_ms,
            },
            None => Lookup::Unknown,
        }
    }
}

/// What is cached in Upstash for an id.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Cached {
    Found { org: Box<Organization> },
    Missing { missing: bool },
}

/// The warm in-process tier in front of Upstash and the source.
pub struct TieredDirectory<S> {
    memory: quick_cache::sync::Cache<String, Arc<Entry>>,
    upstash: Option<UpstashClient>,
    source: S,
    clock: Arc<dyn Clock>,
    config: TierConfig,
    source_down_until_ms: AtomicI64,
}

/// The Upstash key of an organization.
pub fn cache_key(id: &str) -> String {
    format!("impressio:org:v1:{id}")
}

impl<S: OrganizationSource> TieredDirectory<S> {
    /// A directory over `source`, with Upstash when given.
    pub fn new(source: S, upstash: Option<UpstashClient>, clock: Arc<dyn Clock>, config: TierConfig) -> Self {
        TieredDirectory {
            memory: quick_cache::sync::Cache::new(config.capacity.max(1)),
            upstash,
            source,
            clock,
            config,
            source_down_until_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// The source of truth.
    pub fn source(&self) -> &S {
        &self.source
    }

    fn remember(&self, id: &str, org: Option<Arc<Organization>>, now: i64) {
        self.memory.insert(
            id.to_string(),
            Arc::new(Entry {
                org,
                fetched_at_ms: now,
            }),
        );
    }

    fn fresh(&self, entry: &Entry, now: i64) -> bool {
        let ttl = if entry.org.is_some() {
            self.config.memory_ttl_ms
        } else {
            self.config.negative_ttl_ms
        };
        now - entry.fetched_at_ms < ttl
    }

    fn source_lookup_source(&self) -> LookupSource {
        if self.source.name() == "local" {
            LookupSource::Local
        } else {
            LookupSource::Supabase
        }
    }

    fn parse_cached(value: &Value) -> Option<Option<Organization>> {
        let text = value.as_str()?;
        match serde_json::from_str::<Cached>(text).ok()? {
            Cached::Found { org } => Some(Some(*org)),
            Cached::Missing { .. } => Some(None),
        }
    }

    fn set_command(&self, id: &str, org: Option<&Organization>) -> Vec<Value> {
        let (value, ttl) = match org {
            Some(o) => (json!({"org": o}), self.config.upstash_ttl_secs),
            None => (
                json!({"missing": true}),
                (self.config.negative_ttl_ms / 1000).max(1) as u64,
            ),
        };
        vec![
            json!("SET"),
            json!(cache_key(id)),
            json!(value.to_string()),
            json!("EX"),
            json!(ttl),
        ]
    }

    /// Writes fetched results to Upstash in one round trip; failures are logged only.
    async fn fill_upstash(&self, results: &[(&str, Option<&Organization>)]) {
        let Some(upstash) = &self.upstash else { return };
        let commands: Vec<Vec<Value>> = results.iter().map(|(id, org)| self.set_command(id, *org)).collect();
        let outcome = if commands.len() == 1 {
            upstash.command(&commands[0]).await.map(|_| ())
        } else {
            upstash.pipeline(&commands).await.map(|_| ())
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "could not fill the Upstash organization cache");
        }
    }

    /// The in-process answer for a failed source: a stale entry, or unavailable.
    fn on_source_failure(&self, id: &str, now: i64, reason: String) -> Lookup {
        match self.memory.get(id) {
            Some(entry) if now - entry.fetched_at_ms <= self.config.max_stale_ms => {
                entry.answer(LookupSource::Stale, now)
            }
            _ => Lookup::Unavailable { reason },
        }
    }

    fn mark_source_down(&self, now: i64, err: &DirectoryError) {
        tracing::error!(source = self.source.name(), error = %err, "organization source unavailable");
        self.source_down_until_ms
            .store(now + self.config.source_retry_ms, Ordering::Relaxed);
    }

    /// The warm in-process answer, if the entry for `id` is fresh: no network call, no
    /// allocation beyond the `Arc` clone.
    pub fn get_warm(&self, id: &str) -> Option<Lookup> {
        let now = self.clock.now_ms();
        let entry = self.memory.get(id)?;
        if !self.fresh(&entry, now) {
            return None;
        }
        Some(entry.answer(LookupSource::Memory, now))
    }

    /// Looks up one organization through the tiers (see the module documentation).
    pub async fn get(&self, id: &str) -> Lookup {
        if let Some(warm) = self.get_warm(id) {
            return warm;
        }
        let now = self.clock.now_ms();
        if let Some(upstash) = &self.upstash {
            match upstash.command(&[json!("GET"), json!(cache_key(id))]).await {
                Ok(v) => {
                    if let Some(cached) = Self::parse_cached(&v) {
                        let org = cached.map(Arc::new);
                        self.remember(id, org.clone(), now);
                        return match org {
                            Some(org) => Lookup::Found {
                                org,
                                source: LookupSource::Upstash,
                                age_ms: 0,
                            },
                            None => Lookup::Unknown,
                        };
                    }
                }
                Err(e) => tracing::warn!(error = %e, "Upstash unavailable; asking the source"),
            }
        }
        if now < self.source_down_until_ms.load(Ordering::Relaxed) {
            return self.on_source_failure(id, now, format!("{} is unavailable", self.source.name()));
        }
        match self.source.fetch(id).await {
            Ok(org) => {
                self.fill_upstash(&[(id, org.as_ref())]).await;
                let org = org.map(Arc::new);
                self.remember(id, org.clone(), now);
                match org {
                    Some(org) => Lookup::Found {
                        org,
                        source: self.source_lookup_source(),
                        age_ms: 0,
                    },
                    None => Lookup::Unknown,
                }
            }
            Err(e) => {
                self.mark_source_down(now, &e);
                self.on_source_failure(id, now, e.to_string())
            }
        }
    }

    /// Looks up several organizations with at most one round trip per tier: in-process hits,
    /// then one Upstash pipeline of `GET`s, then one source request for the rest, then one
    /// pipeline of `SET`s. Answers are in the order of `ids`.
    pub async fn get_many(&self, ids: &[&str]) -> Vec<Lookup> {
        let now = self.clock.now_ms();
        let mut answers: Vec<Option<Lookup>> = vec![None; ids.len()];
        let mut pending: Vec<usize> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match self.memory.get(*id) {
                Some(entry) if self.fresh(&entry, now) => answers[i] = Some(entry.answer(LookupSource::Memory, now)),
                _ => pending.push(i),
            }
        }
        if let (Some(upstash), false) = (&self.upstash, pending.is_empty()) {
            let commands: Vec<Vec<Value>> = pending
                .iter()
                .map(|i| vec![json!("GET"), json!(cache_key(ids[*i]))])
                .collect();
            match upstash.pipeline(&commands).await {
                Ok(results) => {
                    let mut still = Vec::new();
                    for (i, r) in pending.iter().zip(results) {
                        match r.ok().as_ref().and_then(Self::parse_cached) {
                            Some(cached) => {
                                let org = cached.map(Arc::new);
                                self.remember(ids[*i], org.clone(), now);
                                answers[*i] = Some(match org {
                                    Some(org) => Lookup::Found {
                                        org,
                                        source: LookupSource::Upstash,
                                        age_ms: 0,
                                    },
                                    None => Lookup::Unknown,
                                });
                            }
                            None => still.push(*i),
                        }
                    }
                    pending = still;
                }
                Err(e) => tracing::warn!(error = %e, "Upstash unavailable; asking the source"),
            }
        }
        if !pending.is_empty() {
            let mut wanted: Vec<&str> = pending.iter().map(|i| ids[*i]).collect();
            wanted.sort_unstable();
            wanted.dedup();
            let fetched = if now < self.source_down_until_ms.load(Ordering::Relaxed) {
                Err(None)
            } else {
                self.source.fetch_many(&wanted).await.map_err(Some)
            };
            match fetched {
                Ok(orgs) => {
                    let found: Vec<(&str, Option<&Organization>)> = wanted
                        .iter()
                        .map(|id| (*id, orgs.iter().find(|o| o.id == *id)))
                        .collect();
                    self.fill_upstash(&found).await;
                    for (id, org) in &found {
                        self.remember(id, org.map(|o| Arc::new(o.clone())), now);
                    }
                    for i in &pending {
                        let org = found.iter().find(|(id, _)| *id == ids[*i]).and_then(|(_, o)| *o);
                        answers[*i] = Some(match org {
                            Some(o) => Lookup::Found {
                                org: Arc::new(o.clone()),
                                source: self.source_lookup_source(),
                                age_ms: 0,
                            },
                            None => Lookup::Unknown,
                        });
                    }
                }
                Err(e) => {
                    let reason = match e {
                        Some(e) => {
                            self.mark_source_down(now, &e);
                            e.to_string()
                        }
                        None => format!("{} is unavailable", self.source.name()),
                    };
                    for i in &pending {
                        answers[*i] = Some(self.on_source_failure(ids[*i], now, reason.clone()));
                    }
                }
            }
        }
        answers
            .into_iter()
            .map(|a| {
                a.unwrap_or(Lookup::Unavailable {
                    reason: "not looked up".into(),
                })
            })
            .collect()
    }
}

impl<S: OrganizationSource> OrganizationDirectory for TieredDirectory<S> {
    async fn lookup(&self, id: &str) -> Lookup {
        self.get(id).await
    }
}
