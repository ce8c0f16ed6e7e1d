//! The edge's read and write phases over the in-memory stores, for what decides requests
//! without DynamoDB: the judge's own tests and the population replay (`tools::population`).
//! The same reads and writes as `functions/edge/src/pipeline/{read,write}.rs`, minus the
//! event store: the resolution, the first behavioral round, the visitor's history when
//! [`history_to_read`] asks for it; then the identity creation and writes, the aggregates and,
//! for an enforced block, the blacklist entries.

use crate::behavior::memory::MemoryBehaviorStore;
use crate::behavior::store::BehaviorStore;
use crate::fraud::FraudConfig;
use crate::identity::resolver::Resolution;
use crate::identity::{MemoryIdentityStore, Resolver};
use crate::store::StoreError;

use super::{history_to_read, Fetched, Plan, Prepared, Snapshot};

/// The in-memory identity and behavioral stores of one edge.
pub struct MemoryEdge {
    pub identity: Resolver<MemoryIdentityStore>,
    pub behavior: MemoryBehaviorStore,
}

impl MemoryEdge {
    /// The read phase of `p` at `now_ms`; `login_count` is the login counter's answer (the
    /// caller keeps the counter).
    pub async fn read(&self, p: &Prepared, fraud: &FraudConfig, login_count: Fetched<u64>, now_ms: i64) -> Snapshot {
        let resolution = if p.identifies {
            self.identity
                .resolve(&p.organization_id, &p.inputs, p.site.as_deref(), now_ms)
                .await
        } else {
            Ok(Resolution::anonymous())
        };
        let mut snap = Snapshot {
            resolution,
            first: self.behavior.read_first(&p.ids, now_ms, fraud).await.ok(),
            visitor: Fetched::NotAsked,
            login_count,
            token_uses: Fetched::NotAsked,
            seen: None,
        };
        if let Some(v) = history_to_read(p, &snap, now_ms) {
            snap.visitor = match self.behavior.read_visitor(&p.organization_id, &v, now_ms).await {
                Ok(read) => Fetched::Got(read),
                Err(_) => Fetched::Failed,
            };
        }
        snap
    }

    /// The write phase of `plan` at `now_ms`: whether it wrote blacklist entries.
    ///
    /// # Errors
    /// The first [`StoreError`] of a write.
    pub async fn write(&self, plan: &Plan, fraud: &FraudConfig, now_ms: i64) -> Result<bool, StoreError> {
        if let Some(v) = &plan.create {
            let items = plan.record.items(plan.marker.as_ref())?;
            self.identity.create(v, &items).await?;
        }
        self.identity.apply(&plan.identity_writes).await?;
        let a = &plan.aggregates;
        self.behavior
            .record(&plan.ids, a.visitor.as_deref(), a.is_submission, &a.raises, now_ms)
            .await?;
        match &plan.block {
            Some(b) => {
                self.behavior
                    .block(&plan.ids, &plan.previous_entries, b, now_ms, fraud)
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
