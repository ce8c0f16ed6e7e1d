//! An in-memory implementation of [`IdentityStore`]: the same entries and the same
//! conditions as the DynamoDB adapter ([`super::store`]), held in maps, for running the real
//! resolver over large simulated populations (`tools/src/bin/identity-accuracy.rs`) and for
//! tests without DynamoDB. Entries do not expire.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::decide::IndexEntry;
use super::store::{Created, IdentityStore, IndexKey, IndexKind, LinkEntry, NewVisitor, Observe, Touch};
use crate::store::EventItems;
use crate::store::{StoreError, StoredMessage};

#[derive(Debug, Default)]
struct Items {
    /// Index entries by partition key.
    index: HashMap<String, IndexEntry>,
    /// Visitor profiles by partition key.
    visitors: BTreeSet<String>,
    /// Possible-same-device records: visitor partition key → the other visitors.
    links: HashMap<String, BTreeSet<String>>,
    /// Message markers by partition key.
    messages: HashMap<String, StoredMessage>,
    /// Stored events' request ids.
    events: BTreeSet<String>,
}

/// The identity entries in memory.
#[derive(Debug, Default)]
pub struct MemoryIdentityStore {
    items: Mutex<Items>,
    /// Erased visitors, `(organization, visitor)`.
    erased: Mutex<std::collections::HashSet<(String, String)>>,
}

impl MemoryIdentityStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `visitor_id` of `organization_id` was erased (what the tombstone of the
    /// DynamoDB store says).
    pub fn mark_erased(&self, organization_id: &str, visitor_id: &str) {
        self.erased
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((organization_id.to_string(), visitor_id.to_string()));
    }

    fn items(&self) -> MutexGuard<'_, Items> {
        // A panic while holding the lock leaves whole entries behind: keep going.
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry of `key`, as [`IdentityStore::get_many`] reads it.
    pub fn entry(&self, key: &IndexKey) -> Option<IndexEntry> {
        self.items().index.get(&key.pk()).cloned()
    }

    /// The visitors `visitor_id` of `organization_id` has possible-same-device records for.
    pub fn possible_same_devices(&self, organization_id: &str, visitor_id: &str) -> Vec<String> {
        self.items()
            .links
            .get(&crate::schema::visitor_pk(organization_id, visitor_id))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of visitors created.
    pub fn visitor_count(&self) -> usize {
        self.items().visitors.len()
    }

    /// Number of events stored.
    pub fn event_count(&self) -> usize {
        self.items().events.len()
    }
}

/// What an [`Observe`] would do to `entry`: `None` when its condition fails (a full set, or
/// no entry to count in). `claimed` skips the size checks, as in a creation.
fn observed(entry: Option<&IndexEntry>, o: &Observe, claimed: bool) -> Option<IndexEntry> {
    let mut e = match (entry, &o.visitor) {
        (None, None) => return None,
        (e, _) => e.cloned().unwrap_or_default(),
    };
    for &(set, hash) in &o.adds {
        let held = e.population.set_mut(set);
        if held.contains(&hash) {
            continue;
        }
        if !claimed && held.len() >= usize::from(o.cap) {
            return None;
        }
        held.push(hash);
    }
    if let Some((visitor, facts)) = &o.visitor {
        e.visitor_id = visitor.clone();
        e.last_seen_ms = o.now_ms;
        // As the update: each known fact is set, an unknown one left as it was.
        if facts.asn.is_some() {
            e.facts.asn = facts.asn;
        }
        if facts.language.is_some() {
            e.facts.language = facts.language.clone();
        }
        if facts.time_zone.is_some() {
            e.facts.time_zone = facts.time_zone.clone();
        }
    }
    Some(e)
}

impl IdentityStore for MemoryIdentityStore {
    async fn get_many(&self, keys: &[IndexKey], _consistent: bool) -> Result<Vec<Option<IndexEntry>>, StoreError> {
        let items = self.items();
        Ok(keys.iter().map(|k| items.index.get(&k.pk()).cloned()).collect())
    }

    async fn create_visitor(&self, v: &NewVisitor, event: &EventItems) -> Result<Created, StoreError> {
        let t = &v.sighting;
        let org = &t.organization_id;
        let mut items = self.items();
        if let Some(m) = &event.marker {
            if let Some(stored) = items.messages.get(&m.pk) {
                return Ok(Created::Repeated(stored.clone()));
            }
        }
        let vpk = crate::schema::visitor_pk(org, &t.visitor_id);
        let dp_key = IndexKey::new(org, IndexKind::Domainprint, &t.domainprint);
        let fp_key = t
            .fingerprint
            .as_ref()
            .filter(|_| v.index_fingerprint)
            .map(|fp| IndexKey::new(org, IndexKind::Fingerprint, fp));
        let pair = match &v.pair {
            Some((o, expected)) => {
                let current = items.index.get(&o.key.pk());
                if current.map(|e| &e.visitor_id) != expected.as_ref() {
                    return Ok(Created::VisitorExists);
                }
                observed(current, o, true).map(|e| (o.key.pk(), e))
            }
            None => None,
        };
        let taken = |k: &IndexKey| items.index.contains_key(&k.pk());
        if items.visitors.contains(&vpk)
            || taken(&dp_key)
            || fp_key.as_ref().is_some_and(taken)
            || items.events.contains(&event.request_id)
        {
            return Ok(Created::VisitorExists);
        }
        items.visitors.insert(vpk.clone());
        items.index.insert(
            dp_key.pk(),
            IndexEntry {
                visitor_id: t.visitor_id.clone(),
                fingerprint: t.fingerprint.clone(),
                last_seen_ms: t.now_ms,
                ..IndexEntry::default()
            },
        );
        if let Some(k) = fp_key {
            items.index.insert(
                k.pk(),
                IndexEntry {
                    visitor_id: t.visitor_id.clone(),
                    fingerprint: None,
                    last_seen_ms: t.now_ms,
                    facts: v.facts.clone(),
                    population: v.population.clone(),
                },
            );
        }
        if let Some((pk, e)) = pair {
            items.index.insert(pk, e);
        }
        if let Some(b) = &v.behavioral {
            let k = IndexKey::new(org, IndexKind::Behavioral, b);
            items.index.entry(k.pk()).or_insert_with(|| IndexEntry {
                visitor_id: t.visitor_id.clone(),
                last_seen_ms: t.now_ms,
                ..IndexEntry::default()
            });
        }
        if let Some(l) = &v.possible_same_device {
            let other = crate::schema::visitor_pk(org, &l.other_visitor_id);
            items
                .links
                .entry(vpk.clone())
                .or_default()
                .insert(l.other_visitor_id.clone());
            items.links.entry(other).or_default().insert(t.visitor_id.clone());
        }
        items.events.insert(event.request_id.clone());
        if let Some(m) = &event.marker {
            items.messages.insert(
                m.pk.clone(),
                StoredMessage {
                    request_id: event.request_id.clone(),
                    event_id: event.event_id.clone(),
                },
            );
        }
        Ok(Created::Stored)
    }

    async fn link(&self, l: &LinkEntry) -> Result<bool, StoreError> {
        let mut items = self.items();
        let pk = l.key.pk();
        if items.index.contains_key(&pk) {
            return Ok(false);
        }
        items.index.insert(
            pk,
            IndexEntry {
                visitor_id: l.visitor_id.clone(),
                fingerprint: l.fingerprint.clone(),
                last_seen_ms: l.now_ms,
                facts: l.facts.clone(),
                population: l.population.clone(),
            },
        );
        Ok(true)
    }

    async fn observe(&self, o: &Observe) -> Result<bool, StoreError> {
        let mut items = self.items();
        let pk = o.key.pk();
        match observed(items.index.get(&pk), o, false) {
            Some(e) => {
                items.index.insert(pk, e);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn touch(&self, t: &Touch) -> Result<(), StoreError> {
        let mut items = self.items();
        items
            .visitors
            .insert(crate::schema::visitor_pk(&t.organization_id, &t.visitor_id));
        let dp = IndexKey::new(&t.organization_id, IndexKind::Domainprint, &t.domainprint).pk();
        if let Some(e) = items.index.get_mut(&dp).filter(|e| e.visitor_id == t.visitor_id) {
            e.last_seen_ms = t.now_ms;
            if t.fingerprint.is_some() {
                e.fingerprint = t.fingerprint.clone();
            }
        }
        Ok(())
    }

    async fn erased(&self, organization_id: &str, visitor_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .erased
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&(organization_id.to_string(), visitor_id.to_string())))
    }
}
