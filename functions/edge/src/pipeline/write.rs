//! The write phase: a decision's writes in one round of concurrent calls — the event with its
//! message marker (for a new visitor, with the visitor's creation: one transaction), the
//! identity updates, the aggregate updates and, for an enforced block, the blacklist entries
//! and the forensic record. Only the event's own write can fail the request.
//!
//! Two sends of one message racing past the read meet here: the event and its marker are
//! written in one transaction that only the first completes. Two first requests of one device
//! racing past the read meet here too: the transaction creating the visitor lets one
//! through, and the other resolves again and stores its event under that visitor (two more
//! round trips, in that race only).

use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::event::MessageRecord;
use impressio::identity::store::{Created, NewVisitor};
use impressio::identity::IdentityStore;
use impressio::judge::Plan;
use impressio::store::{StoreError, Written};

use super::Recorded;
use crate::access::RequestCtx;
use crate::app::App;
use crate::error::EdgeError;
use impressio::event::EventRecord;
use impressio::identity::inputs::DOMAINPRINT_COOKIE;

/// What [`store_event`] did.
enum Stored {
    Done,
    Repeated(impressio::store::StoredMessage),
    /// The new visitor had been created by a concurrent request: nothing was written.
    VisitorExists,
}

/// Makes `plan`'s writes at `now` and fills the answer's cookie and metrics in `ctx`.
///
/// # Errors
/// [`EdgeError::Store`] when the event (or the new visitor) cannot be written.
pub async fn apply<S: EventStore, D, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    ctx: &mut RequestCtx,
    plan: Plan,
    now: i64,
) -> Result<Recorded, EdgeError> {
    let Plan {
        mut record,
        identity,
        cookie,
        create,
        identity_writes,
        marker,
        block,
        previous_entries,
        ids,
        aggregates,
        inputs,
        site,
    } = plan;
    if let Some(value) = &cookie {
        set_domainprint_cookie(ctx, value, app, now);
    }
    let fraud = &app.config.fraud;
    let blacklist = async {
        match &block {
            Some(b) => Some(app.behavior.block(&ids, &previous_entries, b, now, fraud).await),
            None => None,
        }
    };
    let (stored, identity_written, counted, blacklisted) = tokio::join!(
        store_event(app, &record, marker.as_ref(), create.as_ref()),
        app.identity.apply(&identity_writes),
        app.behavior.record(
            &ids,
            aggregates.visitor.as_deref(),
            aggregates.is_submission,
            &aggregates.raises,
            now
        ),
        blacklist
    );
    let request_id = ctx.request_id.clone();
    if let Err(e) = identity_written {
        tracing::warn!(request_id, error = %e, "identity records not updated");
    }
    if let Err(e) = counted {
        tracing::warn!(request_id, error = %e, "behavioral aggregates not updated");
    }
    match blacklisted {
        Some(Ok(until)) => tracing::info!(request_id, until, "identifiers blacklisted"),
        Some(Err(e)) => tracing::error!(request_id, error = %e, "block not recorded"),
        None => {}
    }
    let identity = match stored? {
        Stored::Done => identity,
        Stored::Repeated(first) => return Ok(super::repeated(ctx, first)),
        Stored::VisitorExists => {
            let again = rejoin(app, ctx, &mut record, marker.as_ref(), &inputs, site.as_deref(), now).await?;
            match again {
                Ok(identity) => identity,
                Err(first) => return Ok(super::repeated(ctx, first)),
            }
        }
    };
    if let Some(risk) = &record.risk {
        ctx.scored = Some((risk.level, risk.action));
    }
    ctx.blocked_by = block.map(|b| b.detection_type);
    Ok(Recorded::Stored(Box::new(record), identity))
}

/// After a concurrent first request of the same device created the visitor a moment earlier:
/// resolves again (consistent reads), stores the event under that visitor. `Err` inside: the
/// message had been stored meanwhile, by the event named.
async fn rejoin<S: EventStore, D, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    ctx: &mut RequestCtx,
    record: &mut EventRecord,
    marker: Option<&MessageRecord>,
    inputs: &impressio::identity::IdentityInputs,
    site: Option<&str>,
    now: i64,
) -> Result<Result<impressio::identity::IdentityResult, impressio::store::StoredMessage>, EdgeError> {
    tracing::info!(request_id = %ctx.request_id, "visitor created concurrently; resolving again");
    let again = app
        .identity
        .resolve_again(&record.organization_id, inputs, site, now)
        .await?;
    if again.create.is_some() {
        return Err(EdgeError::Store(StoreError::Dynamo {
            operation: "TransactWriteItems",
            message: "the visitor could not be created or found after a concurrent creation".into(),
            source: "identity race".into(),
        }));
    }
    record.set_identity(again.identity.clone());
    if !record.server_side {
        set_domainprint_cookie(ctx, &again.identity.domainprint, app, now);
    }
    let (stored, identity_written) =
        tokio::join!(app.store.put_event(record, marker), app.identity.apply(&again.writes));
    if let Err(e) = identity_written {
        tracing::warn!(request_id = %ctx.request_id, error = %e, "identity records not updated");
    }
    Ok(match stored? {
        Written::Repeated(first) => Err(first),
        Written::Stored => Ok(again.identity),
    })
}

/// Stores the event (with its message marker), and with `create` the new visitor in the
/// same transaction.
async fn store_event<S: EventStore, D, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    record: &EventRecord,
    marker: Option<&MessageRecord>,
    create: Option<&NewVisitor>,
) -> Result<Stored, StoreError> {
    Ok(match create {
        Some(v) => match app.identity.create(v, &record.items(marker)?).await? {
            Created::Stored => Stored::Done,
            Created::Repeated(first) => Stored::Repeated(first),
            Created::VisitorExists => Stored::VisitorExists,
        },
        None => match app.store.put_event(record, marker).await? {
            Written::Stored => Stored::Done,
            Written::Repeated(first) => Stored::Repeated(first),
        },
    })
}

/// Sets the domainprint cookie `value` on the answer, in place of one set before: for the
/// value's remaining lifetime, so the cookie never outlives the value.
fn set_domainprint_cookie<S, D, I: IdentityStore, B>(
    ctx: &mut RequestCtx,
    value: &str,
    app: &App<S, D, I, B>,
    now_ms: i64,
) {
    let prefix = format!("{DOMAINPRINT_COOKIE}=");
    ctx.set_cookies.retain(|c| !c.starts_with(&prefix));
    let max_age_secs = app.identity.keys().remaining_secs(value, now_ms);
    ctx.set_cookies.push(domainprint_cookie(value, max_age_secs));
}

/// The domainprint cookie, living `max_age_secs` (what its value is still good for: a year
/// when new), `Secure` and `HttpOnly` (only our server reads it), `SameSite=Lax` (sent on the
/// organization's own pages, which are same-site with its tracker host, never in third-party
/// contexts), `Path=/`, host-only (no `Domain`: each tracker host keeps its own, and aliasing
/// links them).
pub fn domainprint_cookie(value: &str, max_age_secs: i64) -> String {
    cookie::Cookie::build((DOMAINPRINT_COOKIE, value.to_string()))
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .build()
        .to_string()
}
