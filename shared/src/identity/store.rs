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
//! | fingerprint on a network → its last visitor | `ORG#<org>#FPN#<fingerprint>#<network>` | `IDX` | `identity_index` |
//! | network → its last visitor | `ORG#<org>#NET#<network>` | `IDX` | `identity_index` |
//! | visitor profile       | `ORG#<org>#V#<visitor>` | `PROFILE` | `visitor` |
//! | a visitor's device    | `ORG#<org>#V#<visitor>` | `DEV#<fingerprint>` | `visitor_device` |
//! | a visitor's domainprint | `ORG#<org>#V#<visitor>` | `DP#<domainprint>` | `visitor_domainprint` |
//! | a possible same device | `ORG#<org>#V#<visitor>` | `LINK#<other visitor>` | `possible_same_device` |
//!
//! Fingerprint, pair (`FPN`) and network entries carry population sets (`pop_dp`, `pop_net`,
//! `pop_v`: number sets of 48-bit hashes, capped; [`super::population`]) and the named
//! visitor's facts (`asn`, `lang`, `tz`; [`super::corroborate`]).
//!
//! Every item has `first_seen` / `last_seen` (ms) and an `expires_at` TTL
//! (`record_ttl_days` after it was last seen). A visitor's devices and domainprints are one
//! `Query` on its partition (the processor's device-diversity check).
//!
//! The DynamoDB adapter is [`super::dynamo`], the in-memory one [`super::memory`].

use std::future::Future;

use super::corroborate::Facts;
use super::decide::IndexEntry;
use super::population::{Adds, Population};
use crate::store::EventItems;
use crate::store::{StoreError, StoredMessage};

/// Which reverse index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Fingerprint,
    Domainprint,
    Behavioral,
    /// A fingerprint on a network (value `<fingerprint>#<network>`).
    FingerprintNetwork,
    /// A network (IPv4 /24, IPv6 /48).
    Network,
}

impl IndexKind {
    /// The tag in the partition key.
    pub fn tag(self) -> &'static str {
        match self {
            IndexKind::Fingerprint => "FP",
            IndexKind::Domainprint => "DP",
            IndexKind::Behavioral => "BH",
            IndexKind::FingerprintNetwork => "FPN",
            IndexKind::Network => "NET",
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

    /// The key of `fingerprint` on `network`.
    pub fn pair(organization_id: &str, fingerprint: &str, network: &str) -> Self {
        Self::new(
            organization_id,
            IndexKind::FingerprintNetwork,
            &crate::schema::fingerprint_on_network(fingerprint, network),
        )
    }

    /// The partition key: `ORG#<org>#<FP|DP|BH|FPN|NET>#<value>`.
    pub fn pk(&self) -> String {
        crate::schema::index_pk(&self.organization_id, self.kind.tag(), &self.value)
    }
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

/// A write to a fingerprint, pair or network entry: counts hashes in its population sets
/// (each only while the set holds fewer than `cap`) and, with `visitor`, names that visitor
/// with its facts (creating the entry); without, it only counts, and only in an entry that
/// exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observe {
    /// A fingerprint, pair (`FPN`) or network (`NET`) entry.
    pub key: IndexKey,
    /// The visitor to name, with the facts of its sighting.
    pub visitor: Option<(String, Facts)>,
    /// Hashes to count, one per set at most.
    pub adds: Adds,
    /// Most hashes a set holds (`population_cap`).
    pub cap: u16,
    /// Now, ms ("last seen").
    pub now_ms: i64,
    /// TTL, Unix seconds.
    pub expires_at: i64,
}

/// A possible-same-device link recorded for a new visitor.
#[derive(Debug, Clone, PartialEq)]
pub struct PossibleLink {
    /// The visitor the refused match pointed at.
    pub other_visitor_id: String,
    /// The corroboration score (none for a behavioral-only match).
    pub score: Option<f64>,
    /// The evidence codes the score used.
    pub evidence: Vec<String>,
}

/// Everything a new visitor starts with: the facts of its first sighting, and the behavioral
/// signature to index it under unless another visitor already has it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisitor {
    pub sighting: Touch,
    pub behavioral: Option<String>,
    /// The fingerprint had no entry when read: the creation adds it (with `facts` and the
    /// first `population`) and fails if another request added it first.
    pub index_fingerprint: bool,
    pub facts: Facts,
    pub population: Population,
    /// The fingerprint's entry on the request's network, written in the creation, which fails
    /// if the entry no longer names `.1` (the visitor read, `None`: no entry): a concurrent
    /// first request of the same device on the same network created a visitor first.
    pub pair: Option<(Observe, Option<String>)>,
    pub possible_same_device: Option<PossibleLink>,
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
    /// Reads reverse-index entries in one call (`BatchGetItem`), in the order of `keys`
    /// (`None` where there is none); `consistent` asks for strongly consistent reads.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails, or keys stay unprocessed after the retries.
    fn get_many(
        &self,
        keys: &[IndexKey],
        consistent: bool,
    ) -> impl Future<Output = Result<Vec<Option<IndexEntry>>, StoreError>> + Send;

    /// Creates a visitor with its fingerprint and domainprint index entries, and stores the
    /// request's `event` (its items, with its message marker) in the same transaction, so that an event
    /// never names a visitor that was not created. [`Created::VisitorExists`] when an index
    /// entry already exists (another request created it first), [`Created::Repeated`] when the
    /// message was stored before: in both cases nothing was written. The behavioral index
    /// entry is added only where none exists (never a reason to fail).
    ///
    /// # Errors
    /// [`StoreError`] as [`crate::event::EventStore::put_event`] for the event, and when
    /// DynamoDB fails.
    fn create_visitor(
        &self,
        v: &NewVisitor,
        event: &EventItems,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    /// Adds an index entry for a visitor unless the key already has one; `Ok(false)` when it
    /// did (the existing entry is never moved).
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn link(&self, link: &LinkEntry) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts population hashes and names candidates ([`Observe`]); `Ok(false)` when a set
    /// was full (or the entry gone) and nothing was written.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn observe(&self, o: &Observe) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Updates "last seen" of the visitor, its device, its domainprint and the domainprint
    /// index entry, in one call.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn touch(&self, t: &Touch) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether `visitor_id` of `organization_id` was erased (its tombstone exists, see
    /// [`crate::server_api::tombstone`]): read only when a signed domainprint names a visitor
    /// whose index entry is gone, so that an erased visitor never comes back under its id.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    fn erased(&self, organization_id: &str, visitor_id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// An index entry to add for a visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub key: IndexKey,
    pub visitor_id: String,
    /// For a domainprint entry: the fingerprint seen with it.
    pub fingerprint: Option<String>,
    /// For a fingerprint entry: the visitor's facts and the first population.
    pub facts: Facts,
    pub population: Population,
    pub now_ms: i64,
    pub expires_at: i64,
}
