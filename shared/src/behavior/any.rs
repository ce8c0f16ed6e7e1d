//! The behavioral store the edge holds, whichever implementation it is: DynamoDB in the
//! function, memory in tests of the rules (as the credential-stuffing counter's `AnyCounter`).

use std::sync::Arc;

use super::dynamo::DynamoBehaviorStore;
use super::keys::Identifiers;
use super::memory::MemoryBehaviorStore;
use super::rules::{BlacklistEntry, Block, FirstRead, VisitorRead};
use super::sketch::SketchRaise;
use super::store::BehaviorStore;
use crate::fraud::FraudConfig;
use crate::store::StoreError;

/// The store the edge holds: DynamoDB in the function, memory in tests of the rules.
#[derive(Debug, Clone)]
pub enum AnyBehaviorStore {
    Dynamo(DynamoBehaviorStore),
    Memory(Arc<MemoryBehaviorStore>),
}

impl From<DynamoBehaviorStore> for AnyBehaviorStore {
    fn from(store: DynamoBehaviorStore) -> Self {
        AnyBehaviorStore::Dynamo(store)
    }
}

impl From<Arc<MemoryBehaviorStore>> for AnyBehaviorStore {
    fn from(store: Arc<MemoryBehaviorStore>) -> Self {
        AnyBehaviorStore::Memory(store)
    }
}

/// Calls the same method on whichever store is held.
macro_rules! either {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyBehaviorStore::Dynamo($s) => $call.await,
            AnyBehaviorStore::Memory($s) => $call.await,
        }
    };
}

impl BehaviorStore for AnyBehaviorStore {
    async fn read_first(&self, ids: &Identifiers, now_ms: i64, config: &FraudConfig) -> Result<FirstRead, StoreError> {
        either!(self, s => s.read_first(ids, now_ms, config))
    }

    async fn read_visitor(&self, org: &str, visitor: &str, now_ms: i64) -> Result<VisitorRead, StoreError> {
        either!(self, s => s.read_visitor(org, visitor, now_ms))
    }

    async fn count_token(&self, org: &str, hash: &str, expires_at: i64) -> Result<u64, StoreError> {
        either!(self, s => s.count_token(org, hash, expires_at))
    }

    async fn record(
        &self,
        ids: &Identifiers,
        visitor: Option<&str>,
        is_submission: bool,
        raises: &[SketchRaise],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        either!(self, s => s.record(ids, visitor, is_submission, raises, now_ms))
    }

    async fn block(
        &self,
        ids: &Identifiers,
        previous: &[BlacklistEntry],
        block: &Block,
        now_ms: i64,
        config: &FraudConfig,
    ) -> Result<i64, StoreError> {
        either!(self, s => s.block(ids, previous, block, now_ms, config))
    }

    async fn hit(&self, entry: &BlacklistEntry, request_id: &str, now_ms: i64) -> Result<(), StoreError> {
        either!(self, s => s.hit(entry, request_id, now_ms))
    }
}
