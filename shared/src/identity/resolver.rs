//! The resolver's paths: reads through an [`IdentityStore`] around the pure rules of
//! [`super::decide`]. Resolving writes nothing: a new visitor is created with the request's
//! event in one transaction ([`Resolver::create`]), and the other writes are
//! [`PendingWrites`] for the caller to run with its event write.
//!
//! DynamoDB calls before the decision: exactly one `BatchGetItem` on every path, holding the
//! entries the rules may need — the signed domainprint's (the **fast path**), the
//! fingerprint's, the fingerprint's on the request's network (`FPN`), the network's, and
//! without a signed domainprint the behavioral signature's (the **parallel path**). The
//! request is counted in the population sets of the fingerprint, pair and network entries
//! when it adds something ([`super::population`]): a returning visitor on a known network
//! writes nothing more.
//!
//! A new visitor's creation fails as a whole when another request created one of its index
//! entries first ([`Created::VisitorExists`]); [`Resolver::resolve_again`] then reads
//! consistently and finds that visitor.
//!
//! The answer's domainprint: the presented one when it is signed by the current key; else a
//! new one issued for the visitor (and linked to it): when none was presented, when the
//! presented one was refused (never linked, never echoed), and when the previous key signed it
//! (a rotation: the visitor keeps its identity under a value of the current key).
//!
//! "Last seen" is written at most once per request and, on the fast path, at most once per
//! `touch_interval_ms` per domainprint.//!

use super::corroborate::Facts;
use super::decide::{self, Decision, FastStep, IndexEntry, Link, MatchMethod, Reads, Visitor};
use super::domainprint::{DomainprintKeys, Presented};
use super::inputs::IdentityInputs;
use super::population::{hash48, Adds, PopSet, Population};
use super::store::{Created, IdentityStore, IndexKey, IndexKind, LinkEntry, NewVisitor, Observe, PossibleLink, Touch};
use super::{IdentityConfig, IdentityResult};
use crate::store::EventItems;
use crate::store::StoreError;

/// Resolves identities of one table.
#[derive(Debug, Clone)]
pub struct Resolver<S> {
    store: S,
    config: IdentityConfig,
    keys: DomainprintKeys,
}

/// Writes decided by a resolution, to run alongside the event write.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingWrites {
    links: Vec<LinkEntry>,
    /// Population counts and candidates (fingerprint, pair and network entries).
    observes: Vec<Observe>,
    touch: Option<Touch>,
}

impl PendingWrites {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty() && self.observes.is_empty() && self.touch.is_none()
    }
}

/// The outcome of a resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub identity: IdentityResult,
    pub writes: PendingWrites,
    /// For a new visitor: what to create, with the request's event ([`Resolver::create`]).
    pub create: Option<NewVisitor>,
}

impl Resolution {
    /// The resolution of a visitor who gave no fraud consent: a visitor id of the event's
    /// own (UUIDv7), linked to nothing, no domainprint, and nothing to write.
    pub fn anonymous() -> Self {
        Resolution {
            identity: IdentityResult {
                visitor_id: uuid::Uuid::now_v7().to_string(),
                confidence: 0.0,
                method: MatchMethod::Anonymous,
                is_new: true,
                conflict: false,
                domainprint: String::new(),
                conflicting_visitor_id: None,
                possible_same_device: None,
                corroboration_score: None,
                evidence: Vec::new(),
            },
            writes: PendingWrites {
                links: Vec::new(),
                observes: Vec::new(),
                touch: None,
            },
            create: None,
        }
    }
}

/// How an entry should count the request's values: the hashes of `values` it does not hold
/// yet, while it has room (an absent entry holds none).
fn adds_for(entry: Option<&IndexEntry>, values: &[(PopSet, &str)], cap: u16) -> Adds {
    values
        .iter()
        .filter_map(|&(set, v)| match entry {
            Some(e) => e.population.would_add(set, v, cap).map(|h| (set, h)),
            None => Some((set, hash48(set, v))),
        })
        .collect()
}

impl<S: IdentityStore> Resolver<S> {
    /// A resolver over `store`, issuing domainprints with `keys`.
    pub fn new(store: S, config: IdentityConfig, keys: DomainprintKeys) -> Self {
        Resolver { store, config, keys }
    }

    /// The configuration.
    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The domainprint keys (the edge verifies presented values with them).
    pub fn keys(&self) -> &DomainprintKeys {
        &self.keys
    }

    /// A new domainprint for `visitor_id` of `organization_id`, issued at `now_ms`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the visitor id is not a UUID (every visitor id this
    /// resolver creates is one).
    fn issue(&self, organization_id: &str, visitor_id: &str, now_ms: i64) -> Result<String, StoreError> {
        self.keys
            .issue(organization_id, visitor_id, now_ms)
            .ok_or_else(|| StoreError::Corrupt(format!("visitor id {visitor_id:?} is not a UUID")))
    }

    /// Resolves the visitor of a request of `organization_id` (`site`: the page's host) with
    /// eventually consistent reads, writing nothing: a new visitor is created with the
    /// request's event ([`Resolver::create`]), the other writes are [`PendingWrites`].
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn resolve(
        &self,
        organization_id: &str,
        inputs: &IdentityInputs,
        site: Option<&str>,
        now_ms: i64,
    ) -> Result<Resolution, StoreError> {
        self.resolve_with(organization_id, inputs, site, now_ms, false).await
    }

    /// [`Resolver::resolve`] with strongly consistent reads: after [`Resolver::create`]
    /// answered [`Created::VisitorExists`] (a concurrent request created the visitor first),
    /// this finds that visitor.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails.
    pub async fn resolve_again(
        &self,
        organization_id: &str,
        inputs: &IdentityInputs,
        site: Option<&str>,
        now_ms: i64,
    ) -> Result<Resolution, StoreError> {
        self.resolve_with(organization_id, inputs, site, now_ms, true).await
    }

    /// Creates the new visitor of a resolution and stores `event` (its items, with its
    /// message marker: [`crate::event::EventRecord::items`]) in the same transaction ([`IdentityStore::create_visitor`]).
    ///
    /// # Errors
    /// [`StoreError`] as [`IdentityStore::create_visitor`].
    pub async fn create(&self, visitor: &NewVisitor, event: &EventItems) -> Result<Created, StoreError> {
        self.store.create_visitor(visitor, event).await
    }

    /// `again`: after a lost creation race (consistent reads, and the race's own visitor on
    /// the request's network joined). Reads, decides ([`Resolver::decide`]), then plans the
    /// writes ([`Resolver::plan`]).
    async fn resolve_with(
        &self,
        organization_id: &str,
        inputs: &IdentityInputs,
        site: Option<&str>,
        now_ms: i64,
        again: bool,
    ) -> Result<Resolution, StoreError> {
        let mut reads = self.read(organization_id, inputs, again).await?;
        // A signed domainprint of an erased visitor is a domainprint of nobody: the visitor
        // never comes back under its id (read only when its index entry is gone).
        let without_domainprint;
        let inputs = match inputs.domainprint.verified() {
            Some((_, v)) if reads.domainprint.is_none() && self.store.erased(organization_id, v).await? => {
                without_domainprint = IdentityInputs {
                    domainprint: Presented::Absent,
                    ..inputs.clone()
                };
                reads = self.read(organization_id, &without_domainprint, again).await?;
                &without_domainprint
            }
            _ => inputs,
        };
        let decision = self.decide(inputs, &reads, now_ms, again);
        let at = Sighted {
            organization_id,
            inputs,
            site,
            now_ms,
            expires_at: self.expires_at(inputs, now_ms),
        };
        self.plan(&at, &reads, decision)
    }

    /// When identity records written at `now_ms` expire (TTL, Unix seconds): the record
    /// lifetime, capped by the organization's retention.
    fn expires_at(&self, inputs: &IdentityInputs, now_ms: i64) -> i64 {
        let ttl_days = inputs
            .retention_days
            .map_or(self.config.record_ttl_days, |r| r.min(self.config.record_ttl_days));
        (now_ms / 1000).saturating_add(i64::from(ttl_days) * 86_400)
    }

    /// The resolution a decision makes, without I/O: its visitor and domainprint, the
    /// population counts, the index links, "last seen" and, for a new visitor, its creation.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an existing visitor id that is not a UUID.
    fn plan(&self, at: &Sighted<'_>, reads: &Reads, mut decision: Decision) -> Result<Resolution, StoreError> {
        let (visitor_id, domainprint) = self.answer(at, &mut decision)?;
        let cap = self.config.corroboration.population_cap;
        // What the fingerprint's entry counts (nothing to hash without a fingerprint).
        let fingerprint_adds = match &at.inputs.fingerprint {
            Some(_) => {
                let mut counted = vec![(PopSet::Domainprints, domainprint.as_str())];
                if let Some(net) = at.inputs.sighting.network.as_deref() {
                    counted.push((PopSet::Networks, net));
                }
                counted.push((PopSet::Visitors, visitor_id.as_str()));
                adds_for(reads.fingerprint.as_ref(), &counted, cap)
            }
            None => Adds::new(),
        };
        let mut first_population = Population::default();
        for &(set, h) in &fingerprint_adds {
            first_population.add(set, h, cap);
        }
        let (mut observes, pair) = self.observes(at, reads, &visitor_id, fingerprint_adds);
        let facts = at.inputs.sighting.facts();
        let create = match decision.visitor {
            Visitor::New => Some(NewVisitor {
                sighting: at.touch(&visitor_id, &domainprint),
                behavioral: at.inputs.behavioral.clone(),
                index_fingerprint: reads.fingerprint.is_none(),
                facts: facts.clone(),
                population: first_population.clone(),
                pair: pair
                    .clone()
                    .map(|p| (p, reads.pair.as_ref().map(|e| e.visitor_id.clone()))),
                possible_same_device: decision.possible_same_device.clone().map(|other| PossibleLink {
                    other_visitor_id: other,
                    score: decision.score,
                    evidence: decision.evidence.iter().map(|e| e.code.to_string()).collect(),
                }),
            }),
            Visitor::Existing(_) => {
                observes.extend(pair);
                None
            }
        };
        let links = match create {
            Some(_) => Vec::new(),
            None => link_entries(
                at,
                &decision.links,
                &visitor_id,
                &domainprint,
                &facts,
                &first_population,
            ),
        };
        let touch =
            (create.is_none() && (decision.touch || !links.is_empty())).then(|| at.touch(&visitor_id, &domainprint));
        Ok(Resolution {
            identity: IdentityResult {
                visitor_id,
                confidence: decision.confidence,
                method: decision.method,
                is_new: decision.visitor == Visitor::New,
                conflict: decision.conflict_with.is_some(),
                domainprint,
                conflicting_visitor_id: decision.conflict_with,
                possible_same_device: decision.possible_same_device,
                corroboration_score: decision.score,
                evidence: decision.evidence.iter().map(|e| e.code.to_string()).collect(),
            },
            writes: PendingWrites { links, observes, touch },
            create,
        })
    }

    /// The answer's visitor and domainprint: the presented domainprint when the current key
    /// signed it and it is fresh; else a new one issued for the visitor, linked to it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a visitor id that is not a UUID.
    fn answer(&self, at: &Sighted<'_>, decision: &mut Decision) -> Result<(String, String), StoreError> {
        match &decision.visitor {
            Visitor::Existing(v) => {
                let domainprint = match &at.inputs.domainprint {
                    Presented::Valid { value, .. } => value.clone(),
                    _ => {
                        if !decision.links.contains(&Link::Domainprint) {
                            decision.links.push(Link::Domainprint);
                        }
                        self.issue(at.organization_id, v, at.now_ms)?
                    }
                };
                Ok((v.clone(), domainprint))
            }
            Visitor::New => {
                let visitor_id = uuid::Uuid::now_v7().to_string();
                let domainprint = self.issue(at.organization_id, &visitor_id, at.now_ms)?;
                Ok((visitor_id, domainprint))
            }
        }
    }

    /// The population counts a resolution writes (the fingerprint's entry where it has one,
    /// the network's) and the fingerprint's entry on this network, which names its last
    /// visitor: written when it names another, is older than the refresh interval, or its
    /// facts changed.
    fn observes(
        &self,
        at: &Sighted<'_>,
        reads: &Reads,
        visitor_id: &str,
        fingerprint_adds: Adds,
    ) -> (Vec<Observe>, Option<Observe>) {
        let cap = self.config.corroboration.population_cap;
        let facts = at.inputs.sighting.facts();
        let network = at.inputs.sighting.network.as_deref();
        let observe = |key: IndexKey, visitor: bool, adds: Adds| Observe {
            key,
            visitor: visitor.then(|| (visitor_id.to_string(), facts.clone())),
            adds,
            cap,
            now_ms: at.now_ms,
            expires_at: at.expires_at,
        };
        let mut observes = Vec::new();
        if let (Some(fp), Some(_)) = (&at.inputs.fingerprint, &reads.fingerprint) {
            if !fingerprint_adds.is_empty() {
                observes.push(observe(
                    IndexKey::new(at.organization_id, IndexKind::Fingerprint, fp),
                    false,
                    fingerprint_adds,
                ));
            }
        }
        let pair = match (&at.inputs.fingerprint, network) {
            (Some(fp), Some(net)) => {
                let e = reads.pair.as_ref();
                let adds = adds_for(e, &[(PopSet::Visitors, visitor_id)], cap);
                let refresh_ms = i64::from(self.config.corroboration.refresh_secs) * 1000;
                let due = e.is_none_or(|e| {
                    e.visitor_id != visitor_id
                        || at.now_ms.saturating_sub(e.last_seen_ms) >= refresh_ms
                        || (facts.asn.is_some() && e.facts.asn != facts.asn)
                        || (facts.language.is_some() && e.facts.language != facts.language)
                        || (facts.time_zone.is_some() && e.facts.time_zone != facts.time_zone)
                });
                (due || !adds.is_empty()).then(|| observe(IndexKey::pair(at.organization_id, fp, net), true, adds))
            }
            _ => None,
        };
        if let Some(net) = network {
            let adds = adds_for(reads.network.as_ref(), &[(PopSet::Visitors, visitor_id)], cap);
            if !adds.is_empty() {
                observes.push(observe(
                    IndexKey::new(at.organization_id, IndexKind::Network, net),
                    true,
                    adds,
                ));
            }
        }
        (observes, pair)
    }

    /// Reads, in one call, every entry the rules may need: the signed
    /// domainprint's, the fingerprint's, the fingerprint's on the request's network, the
    /// network's and (without a signed domainprint) the behavioral signature's.
    async fn read(&self, org: &str, inputs: &IdentityInputs, consistent: bool) -> Result<Reads, StoreError> {
        let signed = inputs.domainprint.verified();
        let network = inputs.sighting.network.as_deref();
        let fp = inputs.fingerprint.as_deref();
        let wanted = [
            signed.map(|(dp, _)| IndexKey::new(org, IndexKind::Domainprint, dp)),
            fp.map(|f| IndexKey::new(org, IndexKind::Fingerprint, f)),
            fp.zip(network).map(|(f, n)| IndexKey::pair(org, f, n)),
            network.map(|n| IndexKey::new(org, IndexKind::Network, n)),
            inputs
                .behavioral
                .as_deref()
                .filter(|_| signed.is_none())
                .map(|b| IndexKey::new(org, IndexKind::Behavioral, b)),
        ];
        let keys: Vec<IndexKey> = wanted.iter().flatten().cloned().collect();
        let mut found = if keys.is_empty() {
            Vec::new()
        } else {
            self.store.get_many(&keys, consistent).await?
        }
        .into_iter();
        let mut next = |k: &Option<IndexKey>| k.as_ref().and_then(|_| found.next().flatten());
        Ok(Reads {
            domainprint: next(&wanted[0]),
            fingerprint: next(&wanted[1]),
            pair: next(&wanted[2]),
            network: next(&wanted[3]),
            behavioral: next(&wanted[4]),
        })
    }

    /// Applies the rules to what was read.
    fn decide(&self, inputs: &IdentityInputs, r: &Reads, now_ms: i64, again: bool) -> Decision {
        let c = &self.config.confidence;
        if let Some((_, visitor)) = inputs.domainprint.verified() {
            if let Some(e) = r.domainprint.as_ref().filter(|e| e.visitor_id != visitor) {
                // Never written so (an entry is linked to the visitor its value names):
                // the signature is what is trusted.
                tracing::warn!(indexed = %e.visitor_id, signed = visitor, "domainprint index disagrees with its signature");
            }
            return match decide::after_domainprint(
                inputs,
                visitor,
                r.domainprint.as_ref(),
                c,
                now_ms,
                self.config.touch_interval_ms,
            ) {
                FastStep::Done(d) => d,
                FastStep::CheckFingerprint => {
                    let mut d = decide::after_fingerprint_check(visitor, r.fingerprint.as_ref(), c);
                    if r.domainprint.is_none() {
                        d.links.push(Link::Domainprint);
                    }
                    d
                }
            };
        }
        decide::after_reads(inputs, r, c, &self.config.corroboration, now_ms, again)
    }

    /// Runs the writes of a resolution: the index links and the population counts
    /// concurrently, then "last seen". A link whose key already names another visitor is
    /// left alone, and a count whose set filled meanwhile is dropped (both logged).
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails; the caller logs it (the event is not affected).
    pub async fn apply(&self, w: &PendingWrites) -> Result<(), StoreError> {
        let links = w.links.iter().map(|l| async move {
            if !self.store.link(l).await? {
                tracing::debug!(index = l.key.kind.tag_name(), "index entry exists; left alone");
            }
            Ok::<(), StoreError>(())
        });
        let observes = w.observes.iter().map(|o| async move {
            if !self.store.observe(o).await? {
                tracing::debug!(index = o.key.kind.tag_name(), "population set full; not counted");
            }
            Ok::<(), StoreError>(())
        });
        let (links, observes) = tokio::join!(futures::future::join_all(links), futures::future::join_all(observes));
        for r in links.into_iter().chain(observes) {
            r?;
        }
        if let Some(t) = &w.touch {
            self.store.touch(t).await?;
        }
        Ok(())
    }
}

/// Who is resolved, where and when: what a resolution's writes are stamped with.
struct Sighted<'a> {
    organization_id: &'a str,
    inputs: &'a IdentityInputs,
    site: Option<&'a str>,
    now_ms: i64,
    /// TTL of the records written, Unix seconds.
    expires_at: i64,
}

impl Sighted<'_> {
    /// "Last seen" of `visitor_id` under `domainprint`.
    fn touch(&self, visitor_id: &str, domainprint: &str) -> Touch {
        Touch {
            organization_id: self.organization_id.to_string(),
            visitor_id: visitor_id.to_string(),
            fingerprint: self.inputs.fingerprint.clone(),
            domainprint: domainprint.to_string(),
            site: self.site.map(str::to_string),
            now_ms: self.now_ms,
            expires_at: self.expires_at,
        }
    }
}

/// The index entries a decision links to its existing visitor (the domainprint, the
/// fingerprint with its first population, the behavioral signature).
fn link_entries(
    at: &Sighted<'_>,
    links: &[Link],
    visitor_id: &str,
    domainprint: &str,
    facts: &Facts,
    first_population: &Population,
) -> Vec<LinkEntry> {
    links
        .iter()
        .filter_map(|l| {
            let (kind, value, fp, facts, population) = match l {
                Link::Domainprint => (
                    IndexKind::Domainprint,
                    Some(domainprint.to_string()),
                    at.inputs.fingerprint.clone(),
                    Facts::default(),
                    Population::default(),
                ),
                Link::Fingerprint => (
                    IndexKind::Fingerprint,
                    at.inputs.fingerprint.clone(),
                    None,
                    facts.clone(),
                    first_population.clone(),
                ),
                Link::Behavioral => (
                    IndexKind::Behavioral,
                    at.inputs.behavioral.clone(),
                    None,
                    Facts::default(),
                    Population::default(),
                ),
            };
            value.map(|v| LinkEntry {
                key: IndexKey::new(at.organization_id, kind, &v),
                visitor_id: visitor_id.to_string(),
                fingerprint: fp,
                facts,
                population,
                now_ms: at.now_ms,
                expires_at: at.expires_at,
            })
        })
        .collect()
}

impl IndexKind {
    /// The index's name for logs.
    pub fn tag_name(self) -> &'static str {
        match self {
            IndexKind::Fingerprint => "fingerprint",
            IndexKind::Domainprint => "domainprint",
            IndexKind::Behavioral => "behavioral",
            IndexKind::FingerprintNetwork => "fingerprint_network",
            IndexKind::Network => "network",
        }
    }
}
