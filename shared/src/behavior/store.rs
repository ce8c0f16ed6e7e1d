//! The behavioral layers' reads and writes behind a small trait, with a DynamoDB
//! implementation ([`super::dynamo`]) and an in-memory one ([`super::memory`]) that keep the
//! same items: the keys are [`super::keys`], what is read and written is decided by
//! [`super::rules`].

use std::future::Future;

use super::keys::Identifiers;
use super::rules::{BlacklistEntry, Block, FirstRead, VisitorRead};
use super::sketch::SketchRaise;
use crate::fraud::FraudConfig;
use crate::store::StoreError;

/// Where the behavioral items live: a handle that clones cheaply onto the same items (work
/// deferred after an answer takes its own).
pub trait BehaviorStore: Send + Sync + Clone + 'static {
    /// The first read round of a request: the blacklist entries of its identifiers and the
    /// JA4 / IP aggregate buckets of the windows in `config` ([`super::rules::first_read_keys`]).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn read_first(
        &self,
        ids: &Identifiers,
        now_ms: i64,
        config: &FraudConfig,
    ) -> impl Future<Output = Result<FirstRead, StoreError>> + Send;

    /// The visitor read round: the visitor's hourly buckets of the last day and its block
    /// ([`super::rules::visitor_read_keys`]).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn read_visitor(
        &self,
        org: &str,
        visitor: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<VisitorRead, StoreError>> + Send;

    /// Counts a use of a collector token (by its SHA-256, hex) kept until `expires_at` (Unix
    /// seconds); returns the uses so far, this one included.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn count_token(
        &self,
        org: &str,
        hash: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Adds this event to the aggregates: the sketch `raises` the edge writes now
    /// ([`super::rules::sketch_raises`]), one to the IP's 5-minute bucket, and with a
    /// `visitor` one to its hourly bucket (with the submission and its IP when
    /// `is_submission`). The edge passes only a visitor the request proved (its signed
    /// domainprint, or its creation): a visitor's history is what only its own browser
    /// wrote, so no client can fill another's with addresses or submissions.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn record(
        &self,
        ids: &Identifiers,
        visitor: Option<&str>,
        is_submission: bool,
        raises: &[SketchRaise],
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Blacklists the identifiers with the progressive timeout their offenses earn
    /// ([`super::rules::block_terms`] over the `previous` entries), remembers the block for
    /// the visitor, and writes the forensic record. Returns the block's end, ms.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn block(
        &self,
        ids: &Identifiers,
        previous: &[BlacklistEntry],
        block: &Block,
        now_ms: i64,
        config: &FraudConfig,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Records a blacklist hit: the entry's hit count and last-seen time, and a forensic
    /// record under the request id.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn hit(
        &self,
        entry: &BlacklistEntry,
        request_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where the stream processor writes the sketch raises events carry.
pub trait SketchWriter: Send + Sync {
    /// Writes `raises` in as few updates as there are buckets among them: each bucket's
    /// registers are raised together, each only where it is absent or lower. Returns the
    /// updates made.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    fn raise_all(&self, raises: &[SketchRaise], now_ms: i64) -> impl Future<Output = Result<usize, StoreError>> + Send;
}
