//! The resolver's paths: reads through an [`IdentityStore`] around the pure rules of
//! [`super::decide`]. Resolving writes nothing: a new visitor is created with the request's
//! event in one transaction ([`Resolver::create`]), and the other writes are
//! [`PendingWrites`] for the caller to run with its event write.
//!
//! DynamoDB round trips before the decision:
//! - **fast path** (a correctly signed domainprint whose last fingerprint matches, or no
//!   fingerprint): exactly one `GetItem`;
//! - signed domainprint with a changed fingerprint: two (`GetItem` of the fingerprint index);
//! - **parallel path** (no signed domainprint): the fingerprint and behavioral index reads
//!   issued concurrently — one round trip.
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
//! `touch_interval_ms` per domainprint.

use super::decide::{self, Decision, FastStep, Link, Visitor};
use super::domainprint::{DomainprintKeys, Presented};
use super::inputs::IdentityInputs;
use super::store::{Created, IdentityStore, IndexKey, IndexKind, NewVisitor, Touch};
use super::{IdentityConfig, IdentityResult};
use crate::event::{EventRecord, MessageRecord};
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
    links: Vec<(IndexKey, Option<String>)>,
    visitor_id: String,
    now_ms: i64,
    expires_at: i64,
    touch: Option<Touch>,
}

impl PendingWrites {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty() && self.touch.is_none()
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

impl<S: IdentityStore> Resolver<S> {
    /// A resolver over `store`, issuing domainprints with `keys`.
    pub fn new(store: S, config: IdentityConfig, keys: DomainprintKeys) -> Self {
        Resolver { store, config, keys }
    }

    /// The configuration.
    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The domainprint keys (the edge verifies presented values with them).
    pub fn keys(&self) -> &DomainprintKeys {
        &self.keys
    }

    /// A new domainprint for `visitor_id` of `organization_id`.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the visitor id is not a UUID (every visitor id this
    /// resolver creates is one).
    fn issue(&self, organization_id: &str, visitor_id: &str) -> Result<String, StoreError> {
        self.keys
            .issue(organization_id, visitor_id)
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

    /// Creates the new visitor of a resolution and stores `event` (with its `message`
    /// marker) in the same transaction ([`IdentityStore::create_visitor`]).
    ///
    /// # Errors
    /// [`StoreError`] as [`IdentityStore::create_visitor`].
    pub async fn create(
        &self,
        visitor: &NewVisitor,
        event: &EventRecord,
        message: Option<&MessageRecord>,
    ) -> Result<Created, StoreError> {
        self.store.create_visitor(visitor, event, message).await
    }

    async fn resolve_with(
        &self,
        organization_id: &str,
        inputs: &IdentityInputs,
        site: Option<&str>,
        now_ms: i64,
        consistent: bool,
    ) -> Result<Resolution, StoreError> {
        let expires_at = (now_ms / 1000).saturating_add(i64::from(self.config.record_ttl_days) * 86_400);
        let sighting = |visitor_id: &str, domainprint: &str| Touch {
            organization_id: organization_id.to_string(),
            visitor_id: visitor_id.to_string(),
            fingerprint: inputs.fingerprint.clone(),
            domainprint: domainprint.to_string(),
            site: site.map(str::to_string),
            now_ms,
            expires_at,
        };
        let mut decision = self.decide(organization_id, inputs, now_ms, consistent).await?;
        let (visitor_id, domainprint, create) = match &decision.visitor {
            Visitor::Existing(v) => {
                // The presented domainprint is kept only when the current key signed it.
                let domainprint = match &inputs.domainprint {
                    Presented::Valid { value, .. } => value.clone(),
                    _ => {
                        if !decision.links.contains(&Link::Domainprint) {
                            decision.links.push(Link::Domainprint);
                        }
                        self.issue(organization_id, v)?
                    }
                };
                (v.clone(), domainprint, None)
            }
            Visitor::New => {
                let visitor_id = uuid::Uuid::now_v7().to_string();
                let domainprint = self.issue(organization_id, &visitor_id)?;
                let create = NewVisitor {
                    sighting: sighting(&visitor_id, &domainprint),
                    behavioral: inputs.behavioral.clone(),
                };
                (visitor_id, domainprint, Some(create))
            }
        };
        let links = decision
            .links
            .iter()
            .filter_map(|l| {
                let (kind, value, fp) = match l {
                    Link::Domainprint => (
                        IndexKind::Domainprint,
                        Some(domainprint.clone()),
                        inputs.fingerprint.clone(),
                    ),
                    Link::Fingerprint => (IndexKind::Fingerprint, inputs.fingerprint.clone(), None),
                    Link::Behavioral => (IndexKind::Behavioral, inputs.behavioral.clone(), None),
                };
                value.map(|v| (IndexKey::new(organization_id, kind, &v), fp))
            })
            .collect::<Vec<_>>();
        let touch = (decision.touch || !links.is_empty()).then(|| sighting(&visitor_id, &domainprint));
        Ok(Resolution {
            identity: IdentityResult {
                visitor_id: visitor_id.clone(),
                confidence: decision.confidence,
                method: decision.method,
                is_new: decision.visitor == Visitor::New,
                conflict: decision.conflict_with.is_some(),
                domainprint,
                conflicting_visitor_id: decision.conflict_with,
            },
            writes: PendingWrites {
                links,
                visitor_id,
                now_ms,
                expires_at,
                touch,
            },
            create,
        })
    }

    /// Reads the indexes the rules need and applies them.
    async fn decide(
        &self,
        org: &str,
        inputs: &IdentityInputs,
        now_ms: i64,
        consistent: bool,
    ) -> Result<Decision, StoreError> {
        let c = &self.config.confidence;
        if let Some((dp, visitor)) = inputs.domainprint.verified() {
            let entry = self
                .store
                .get(&IndexKey::new(org, IndexKind::Domainprint, dp), consistent)
                .await?;
            if let Some(e) = entry.as_ref().filter(|e| e.visitor_id != visitor) {
                // Never written so (an entry is linked to the visitor its value names):
                // the signature is what is trusted.
                tracing::warn!(indexed = %e.visitor_id, signed = visitor, "domainprint index disagrees with its signature");
            }
            return Ok(
                match decide::after_domainprint(
                    inputs,
                    visitor,
                    entry.as_ref(),
                    c,
                    now_ms,
                    self.config.touch_interval_ms,
                ) {
                    FastStep::Done(d) => d,
                    FastStep::CheckFingerprint => {
                        let fp = inputs.fingerprint.as_deref().unwrap_or_default();
                        let fp_entry = self
                            .store
                            .get(&IndexKey::new(org, IndexKind::Fingerprint, fp), consistent)
                            .await?;
                        let mut d = decide::after_fingerprint_check(visitor, fp_entry.as_ref(), c);
                        if entry.is_none() {
                            d.links.push(Link::Domainprint);
                        }
                        d
                    }
                },
            );
        }
        let fp_read = async {
            match &inputs.fingerprint {
                Some(fp) => {
                    self.store
                        .get(&IndexKey::new(org, IndexKind::Fingerprint, fp), consistent)
                        .await
                }
                None => Ok(None),
            }
        };
        let bh_read = async {
            match &inputs.behavioral {
                Some(b) => {
                    self.store
                        .get(&IndexKey::new(org, IndexKind::Behavioral, b), consistent)
                        .await
                }
                None => Ok(None),
            }
        };
        let (fp, bh) = tokio::join!(fp_read, bh_read);
        Ok(decide::after_parallel(inputs, fp?.as_ref(), bh?.as_ref(), c))
    }

    /// Runs the writes of a resolution: the index links concurrently, then "last seen".
    /// A link whose key already names another visitor is left alone (logged).
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB fails; the caller logs it (the event is not affected).
    pub async fn apply(&self, w: &PendingWrites) -> Result<(), StoreError> {
        let links = w.links.iter().map(|(key, fp)| async move {
            let added = self
                .store
                .link(key, &w.visitor_id, fp.as_deref(), w.now_ms, w.expires_at)
                .await?;
            if !added {
                tracing::debug!(index = key.kind.tag_name(), "index entry exists; left alone");
            }
            Ok::<(), StoreError>(())
        });
        for r in futures::future::join_all(links).await {
            r?;
        }
        if let Some(t) = &w.touch {
            self.store.touch(t).await?;
        }
        Ok(())
    }
}

impl IndexKind {
    /// The index's name for logs.
    pub fn tag_name(self) -> &'static str {
        match self {
            IndexKind::Fingerprint => "fingerprint",
            IndexKind::Domainprint => "domainprint",
            IndexKind::Behavioral => "behavioral",
        }
    }
}
