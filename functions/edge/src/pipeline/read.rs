//! The read phase: everything a decision needs, in one round of concurrent reads — the
//! identity reads (one `BatchGetItem`), the blacklist pre-check with the JA4 and IP aggregate
//! buckets and, when a signed domainprint names the visitor, its history (one
//! `BatchGetItem`), the login counter, the collector-token use counter and the message
//! marker — and, for a visitor found by its fingerprint, its history in a second round. A
//! read that fails is logged here and left out of the score ([`Fetched::Failed`]).

use impressio::behavior::counter::RateCounter;
use impressio::behavior::store::BehaviorStore;
use impressio::event::EventStore;
use impressio::identity::resolver::Resolution;
use impressio::identity::IdentityStore;
use impressio::judge::{history_to_read, Fetched, Prepared, Snapshot};

use impressio::behavior::token::TokenCheck;

use crate::app::App;

/// Reads what `p` needs at `now`.
pub async fn snapshot<S: EventStore, D, I: IdentityStore, B: BehaviorStore>(
    app: &App<S, D, I, B>,
    p: &Prepared,
    now: i64,
) -> Snapshot {
    let fraud = &app.config.fraud;
    let org = p.organization_id.as_str();
    let request_id = p.request_id.as_str();
    let login_count = async {
        match &p.login_key {
            Some(key) => match app
                .counter
                .incr(key, fraud.components.credential_stuffing.window_secs, now)
                .await
            {
                Ok(n) => Fetched::Got(n),
                Err(e) => {
                    tracing::warn!(request_id, error = %e, "login counter unavailable");
                    Fetched::Failed
                }
            },
            None => Fetched::NotAsked,
        }
    };
    let token_uses = async {
        match &p.token_check {
            Some(Some(TokenCheck::Valid { hash, issued_ms })) => {
                let ttl = i64::try_from(fraud.components.collector_token.ttl_secs).unwrap_or(i64::MAX);
                match app
                    .behavior
                    .count_token(org, hash, (issued_ms / 1000).saturating_add(ttl))
                    .await
                {
                    Ok(n) => Fetched::Got(n),
                    Err(e) => {
                        tracing::warn!(request_id, error = %e, "token counter unavailable");
                        Fetched::Failed
                    }
                }
            }
            _ => Fetched::NotAsked,
        }
    };
    let seen = async {
        match &p.event.message_id {
            // A failed read counts as unseen: the write's transaction still refuses a second copy.
            Some(id) => app.store.find_message(org, id, now).await.unwrap_or_else(|e| {
                tracing::warn!(request_id, error = %e, "message marker unreadable");
                None
            }),
            None => None,
        }
    };
    let resolve = async {
        if p.identifies {
            app.identity.resolve(org, &p.inputs, p.site.as_deref(), now).await
        } else {
            Ok(Resolution::anonymous())
        }
    };
    let first = async {
        app.behavior.read_first(&p.ids, now, fraud).await.map_err(|e| {
            tracing::warn!(request_id, error = %e, "behavioral reads unavailable");
        })
    };
    let (resolution, first, login_count, token_uses, seen) =
        tokio::join!(resolve, first, login_count, token_uses, seen);
    let mut snapshot = Snapshot {
        resolution,
        first: first.ok(),
        visitor: Fetched::NotAsked,
        login_count,
        token_uses,
        seen,
    };
    if let Some(visitor) = history_to_read(p, &snapshot, now) {
        snapshot.visitor = match app.behavior.read_visitor(org, &visitor, now).await {
            Ok(v) => Fetched::Got(v),
            Err(e) => {
                tracing::warn!(request_id, error = %e, "visitor history unavailable");
                Fetched::Failed
            }
        };
    }
    snapshot
}
