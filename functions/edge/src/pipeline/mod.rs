//! The event pipeline of `/t`, `/c` and the pixel, after validation and the organization
//! check, in three phases: [`read`] (one round of reads into a
//! [`impressio::judge::Snapshot`]), [`impressio::judge::decide`] (no I/O) and [`write`] (the
//! decided writes in one round). docs/architecture.md, "An event request", counts the round
//! trips of every path.

pub mod read;
pub mod write;

use impressio::behavior::rules::BlacklistEntry;
use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::identity::IdentityResult;
use impressio::judge::{self, Decision, EventRequest, Settings};
use impressio::store::StoredMessage;
use impressio::{event::EventRecord, identity::IdentityStore};

use crate::access::RequestCtx;
use crate::app::App;
use crate::error::EdgeError;

pub use impressio::judge::Caller;

/// The `Trigger` of the `Blocks` metric for a request stopped by the blacklist.
pub const BLACKLISTED_TRIGGER: &str = "blacklisted";

/// What [`run`] did with an event.
#[derive(Debug)]
pub enum Recorded {
    /// Scored and stored: the record as written and the visitor it was resolved to.
    Stored(Box<EventRecord>, IdentityResult),
    /// A repeat of a message stored before (same organization and `messageId`), by the event
    /// named here: nothing of this request is stored.
    Repeated(StoredMessage),
}

/// Resolves, checks, scores and stores a validated, authorized event.
///
/// # Errors
/// [`EdgeError::Blacklisted`] on a blacklist hit, [`EdgeError::Store`] when the identity or
/// the event cannot be written.
pub async fn run<S: EventStore, D, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    ctx: &mut RequestCtx,
    request: EventRequest<'_>,
) -> Result<Recorded, EdgeError> {
    let now = app.clock.now_ms();
    let settings = app.judge_settings();
    let prepared = judge::prepare(request, &ctx.request_id, &settings, now);
    ctx.organization_id = Some(prepared.organization_id.clone());
    let snapshot = read::snapshot(app, &prepared, now).await;
    match judge::decide(prepared, snapshot, &settings, now)? {
        Decision::Repeated(stored) => Ok(repeated(ctx, stored)),
        Decision::Blacklisted(entry) => Err(blacklisted(app, ctx, &entry, now)),
        Decision::Store(plan) => write::apply(app, ctx, *plan, now).await,
    }
}

impl<S, D, I, B> App<S, D, I, B> {
    /// The configuration a decision reads.
    pub fn judge_settings(&self) -> Settings<'_> {
        Settings {
            fraud: &self.config.fraud,
            keys: &self.config.domainprint_keys,
            plans: &self.config.plans,
            event_ttl_days: self.config.event_ttl_days,
            message_dedupe_hours: self.config.message_dedupe_hours,
            collector_token_secret: self.config.collector_token_secret.as_ref(),
            address_key: &self.address_key,
        }
    }
}

/// A repeat of the message `stored` stored: logged with both request ids and counted.
fn repeated(ctx: &mut RequestCtx, stored: StoredMessage) -> Recorded {
    tracing::info!(request_id = %ctx.request_id, stored_by = %stored.request_id, "repeated message not stored again");
    ctx.duplicate = true;
    Recorded::Repeated(stored)
}

/// A request stopped by an unexpired blacklist `entry`: records the hit (the forensic record
/// names the identifier) after the answer ([`crate::after`]), logs which kind of identifier
/// matched (never its value: it may be an IP address), counts the block for the metrics, and
/// returns the error to answer.
fn blacklisted<S, D, I, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    ctx: &mut RequestCtx,
    entry: &BlacklistEntry,
    now: i64,
) -> EdgeError {
    let (store, hit, request_id) = (app.behavior.clone(), entry.clone(), ctx.request_id.clone());
    app.after_response.defer(async move {
        if let Err(e) = store.hit(&hit, &request_id, now).await {
            tracing::warn!(request_id = %request_id, error = %e, "blacklist hit not recorded");
        }
    });
    tracing::info!(
        request_id = %ctx.request_id,
        identifier = entry.identifier_kind(),
        detection_type = %entry.detection_type,
        "blacklisted"
    );
    ctx.blocked_by = Some(BLACKLISTED_TRIGGER.to_string());
    EdgeError::Blacklisted {
        retry_after_secs: (entry.block_expires_ms.saturating_sub(now) / 1000).max(1),
    }
}
