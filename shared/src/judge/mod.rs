//! An edge event request decided apart from its I/O, in three phases: the edge reads what the
//! decision needs in one round ([`Snapshot`]); [`decide`] turns the request, that snapshot,
//! the configuration and the clock into a [`Decision`] without calling anything; the edge
//! writes what the decision lists in one round. docs/architecture.md, "An event request",
//! has the round trips of each path.
//!
//! - [`prepare`]: what the request says before anything is read ([`Prepared`]): its identity
//!   inputs, scoring input, behavioral identifiers, collector token, login counter key and
//!   server context, with consent and IP minimization applied;
//! - [`decide`]: the decision — a repeat of a stored message, a blacklisted request, or the
//!   event to store with its identity, risk, block and aggregate writes ([`Plan`]);
//! - [`memory`]: the read and write phases over the in-memory stores.

pub mod decide;
pub mod memory;
pub mod prepare;

pub use decide::{decide, history_to_read, Aggregates, Decision, Plan};
pub use prepare::{prepare, Caller, EventRequest, Prepared, Settings};

use crate::behavior::rules::{FirstRead, VisitorRead};
use crate::identity::resolver::Resolution;
use crate::store::{StoreError, StoredMessage};

/// The result of a read the request asked for.
#[derive(Debug, Clone)]
pub enum Fetched<T> {
    /// The request did not need it.
    NotAsked,
    /// Read.
    Got(T),
    /// Asked and failed (the read phase logged why): the component that needs it is left
    /// out of the score, and the assessment says so (`degraded`).
    Failed,
}

impl<T> Fetched<T> {
    /// The value when read.
    pub fn got(self) -> Option<T> {
        match self {
            Fetched::Got(v) => Some(v),
            _ => None,
        }
    }
}

/// Everything the reads of a request returned.
#[derive(Debug)]
pub struct Snapshot {
    /// The identity resolution ([`Resolution::anonymous`] without fraud consent); an error
    /// fails the request, since the event cannot be stored without its visitor.
    pub resolution: Result<Resolution, StoreError>,
    /// The blacklist entries, aggregate buckets and, with a signed domainprint, the visitor's
    /// history ([`crate::behavior::rules::first_read_keys`]); `None` when the read failed.
    pub first: Option<FirstRead>,
    /// The visitor's history when it was not in `first` ([`history_to_read`]).
    pub visitor: Fetched<VisitorRead>,
    /// The login counter after this request's increment (a `login` with a JA4).
    pub login_count: Fetched<u64>,
    /// The collector token's uses after this one (a valid token on `/t`).
    pub token_uses: Fetched<u64>,
    /// The event that stored this request's message before, if any (a failed read counts as
    /// none: the write's transaction still refuses a second copy).
    pub seen: Option<StoredMessage>,
}
