//! The billing stage : each event is
//! counted once in the organization's monthly usage, whatever the retries.
//!
//! The batch's not-yet-billed events of an organization get one idempotency key and amount,
//! written to their processing items in one transaction *before* the call, so whatever subset
//! of them a retry brings back, the key is sent again with the same amount and the ledger
//! counts them once.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::billing::{Billed, BillingCounter, BillingError};
use crate::event::EventRecord;
use crate::org::Lookup;
use crate::processor::stage::{Stage, StageOutcome, StageStatus};
use crate::processor::state::{BillingState, ProcessingState};
use crate::processor::store::ProcessorStore;

/// One record of the batch as billing sees it.
pub struct Billable<'a> {
    pub event: &'a EventRecord,
    /// Its organization's lookup.
    pub lookup: &'a Lookup,
    /// Its processing item, whose `billing` this stage sets.
    pub state: &'a mut ProcessingState,
}

/// The idempotency key of a set of events of one organization: a hash of the organization and
/// the sorted event ids, so the same set always gives the same key.
pub fn billing_key(organization_id: &str, event_ids: &mut [&str]) -> String {
    event_ids.sort_unstable();
    let mut h = Sha256::new();
    h.update(organization_id.as_bytes());
    for id in event_ids.iter() {
        h.update(b"\n");
        h.update(id.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("events:{hex}")
}

/// Runs the stage over the batch's records still to be billed, at `now` (ms since the Unix
/// epoch): without a `counter` (no Supabase) each is recorded skipped; a record of an unknown
/// organization is permanent; the others of one organization get one key and amount (chunks
/// of 100, a transaction's limit), written to their processing items with `store` in one
/// transaction *before* the call; then every unsettled key is called once, concurrently.
/// Returns the number of calls made, and adds each call's duration (ms) to `latencies`.
pub async fn run<C: BillingCounter, St: ProcessorStore>(
    counter: Option<&C>,
    store: &St,
    pending: &mut [Billable<'_>],
    now: i64,
    latencies: &mut Vec<f64>,
) -> usize {
    let Some(counter) = counter else {
        for w in pending.iter_mut().filter(|w| !w.state.settled(Stage::Billing)) {
            w.state.billing = Some(BillingState {
                key: String::new(),
                amount: 0,
                outcome: StageOutcome::new(
                    StageStatus::Skipped,
                    None,
                    Some("billing is not configured (no SUPABASE_URL)".into()),
                    0,
                    now,
                ),
            });
        }
        return 0;
    };
    // New events: one key per organization (chunks of 100, a transaction's limit).
    let mut fresh: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, w) in pending.iter_mut().enumerate() {
        if w.state.billing.is_some() {
            continue;
        }
        if matches!(w.lookup, Lookup::Unknown) {
            w.state.billing = Some(BillingState {
                key: String::new(),
                amount: 0,
                outcome: StageOutcome::new(
                    StageStatus::Permanent,
                    None,
                    Some("unknown organization".into()),
                    0,
                    now,
                ),
            });
            continue;
        }
        fresh.entry(w.event.organization_id.clone()).or_default().push(i);
    }
    // One intent per key, the transactions of different keys at once.
    let mut intents: Vec<(String, Vec<usize>, BillingState)> = Vec::new();
    for (org, indices) in fresh {
        for chunk in indices.chunks(100) {
            let mut ids: Vec<&str> = chunk.iter().map(|&i| pending[i].event.event_id.as_str()).collect();
            let key = billing_key(&org, &mut ids);
            let intent = BillingState {
                key,
                amount: chunk.len() as u32,
                outcome: StageOutcome::new(StageStatus::Retryable, None, Some("pending".into()), 0, now),
            };
            intents.push((org.clone(), chunk.to_vec(), intent));
        }
    }
    let written = futures::future::join_all(intents.iter().map(|(_, chunk, intent)| {
        let states: Vec<ProcessingState> = chunk
            .iter()
            .map(|&i| {
                let mut s = pending[i].state.clone();
                s.billing = Some(intent.clone());
                s.updated_at = now;
                s
            })
            .collect();
        async move {
            let refs: Vec<&ProcessingState> = states.iter().collect();
            store.save_together(&refs).await
        }
    }))
    .await;
    for ((org, chunk, intent), result) in intents.into_iter().zip(written) {
        match result {
            Ok(()) => {
                for &i in &chunk {
                    pending[i].state.billing = Some(intent.clone());
                }
            }
            // Not recorded, so not called: these events stay unbilled and are retried.
            Err(e) => {
                tracing::error!(organization = %org, error = %e, "billing intent not recorded; retrying");
                for &i in &chunk {
                    pending[i].state.billing = Some(BillingState {
                        key: String::new(),
                        amount: 0,
                        outcome: StageOutcome::new(
                            StageStatus::Retryable,
                            None,
                            Some("billing intent not recorded".into()),
                            0,
                            now,
                        ),
                    });
                }
            }
        }
    }
    // Every unsettled key once, concurrently.
    let mut calls: BTreeMap<(String, String), u32> = BTreeMap::new();
    for w in pending.iter() {
        if let Some(b) = &w.state.billing {
            if !b.outcome.settled() && !b.key.is_empty() {
                calls.insert((w.event.organization_id.clone(), b.key.clone()), b.amount);
            }
        }
    }
    let timed = futures::future::join_all(calls.iter().map(|((org, key), amount)| async move {
        let start = Instant::now();
        let result = counter.increment(org, *amount, key, now).await;
        (key.clone(), result, start.elapsed().as_secs_f64() * 1000.0)
    }))
    .await;
    let mut results: HashMap<String, Result<Billed, BillingError>> = HashMap::new();
    for (key, result, ms) in timed {
        latencies.push(ms);
        results.insert(key, result);
    }
    for w in pending.iter_mut() {
        let Some(b) = &mut w.state.billing else { continue };
        // A failed intent write leaves an empty key: the record is retried as new.
        if b.key.is_empty() && !b.outcome.settled() {
            w.state.billing = None;
            continue;
        }
        let Some(result) = results.get(&b.key) else { continue };
        let attempts = b.outcome.attempts + 1;
        b.outcome = match result {
            Ok(billed) => StageOutcome::new(StageStatus::Done, None, Some(format!("{billed:?}")), attempts, now),
            Err(e) if e.retryable() => {
                StageOutcome::new(StageStatus::Retryable, None, Some(e.to_string()), attempts, now)
            }
            Err(e) => StageOutcome::new(StageStatus::Permanent, None, Some(e.to_string()), attempts, now),
        };
    }
    calls.len()
}
