//! The processor's batch pipeline (seed `001_…`): a DynamoDB Streams batch in, the batch item
//! failures out.
//!
//! For each batch:
//! 1. **decode**: each stream record is decoded on its own into
//!    `aws_lambda_events::dynamodb::EventRecord`, and its new image with `serde_dynamo` into
//!    the [`EventRecord`]. Anything but an INSERT of an `event` item is ignored; an
//!    undecodable record is logged with its sequence number, counted and skipped (retrying
//!    cannot fix it, and it must not fail its neighbours);
//! 2. **memory**: the events' processing items are read in one `BatchGetItem`; a stage that
//!    settled in an earlier delivery is not run again;
//! 3. **billing**, once per organization: the batch's not-yet-billed events of an organization
//!    get one idempotency key and amount, written to their processing items in one
//!    transaction *before* the call, so whatever subset of them a retry brings back, the key
//!    is sent again with the same amount and the ledger counts them once;
//! 4. **per record**, user by user (records of one `GSI_USER` key in time order, users
//!    concurrently, at most `PROCESSOR_CONCURRENCY` at once): GA4 and the webhook (at the same
//!    time), impossible travel and account sharing from one `GSI_USER` read per user, then the
//!    push alert;
//! 5. **results**: the processing items are written back; a record with a stage that failed in
//!    a retryable way (timeout, 5xx, throttling) is reported in `batchItemFailures`. Permanent
//!    failures (a 4xx, a bad configuration) are recorded and not retried;
//! 6. **metrics**: the batch's stage outcomes, billing and webhook latencies and batch item
//!    failures are written as EMF lines ([`super::telemetry`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::config::ProcessorConfig;
use super::ga4::{self, Ga4Payload};
use super::outbound::Resolve;
use super::push::{self, Alert};
use super::record::{decode_batch, Incoming};
use super::sharing::{self, Session};
use super::state::{
    AlertResult, BillingState, ProcessingState, SharingResult, StageOutcome, StageStatus, TravelResult,
};
use super::store::{ProcessorStore, UserEvent};
use super::telemetry::BatchMetrics;
use super::travel::{self, Sighting};
use super::webhook_delivery::{deliver_explained, Delivery};
use crate::billing::{BillingCounter, BillingError};
use crate::clock::Clock;
use crate::event::EventRecord;
use crate::metrics::Metrics;
use crate::org::{IntegrationSetting, Lookup, OrganizationSource, TieredDirectory};

/// The longest great-circle distance on the seed's sphere (π × 6371 km), km: an earlier event
/// cannot make impossible travel if it is older than this distance takes at the speed limit.
const HALF_CIRCUMFERENCE_KM: f64 = std::f64::consts::PI * travel::EARTH_RADIUS_KM;

/// What happened to a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Stream records in the batch.
    pub received: usize,
    pub ignored: usize,
    pub undecodable: usize,
    /// Events worked on (not already complete).
    pub processed: usize,
    /// Events that arrived complete from an earlier delivery.
    pub already_complete: usize,
    /// Billing calls made (one per organization and idempotency key).
    pub billing_calls: usize,
    /// Push alerts sent.
    pub alerts: usize,
    /// Sequence numbers reported in `batchItemFailures`.
    pub failures: Vec<String>,
}

impl BatchReport {
    /// The answer to Lambda.
    pub fn response(&self) -> DynamoDbEventResponse {
        let mut r = DynamoDbEventResponse::default();
        for seq in &self.failures {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(seq.clone());
            r.batch_item_failures.push(f);
        }
        r
    }
}

/// The processor: its clients and configuration, built once per cold start.
pub struct Processor<St, S, B, R> {
    pub store: St,
    /// Organizations with their integrations.
    pub directory: TieredDirectory<S>,
    /// `None` without Supabase: billing is skipped (and recorded so).
    pub billing: Option<B>,
    /// Client for GA4 and push (our own endpoints; webhooks use the guarded outbound client).
    pub http: reqwest::Client,
    /// Resolves webhook hosts before the SSRF check.
    pub resolver: R,
    pub config: ProcessorConfig,
    pub clock: Arc<dyn Clock>,
    /// Where the batch metrics go (see [`super::telemetry`]); `Metrics::stdout` in the
    /// function.
    pub metrics: Metrics,
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

fn outcome_of(delivery: Delivery, detail: Option<String>, attempts: u32, now: i64) -> StageOutcome {
    match delivery {
        Delivery::Delivered(s) => StageOutcome::new(StageStatus::Done, Some(s), None, attempts, now),
        Delivery::Permanent(s) => StageOutcome::new(StageStatus::Permanent, s, detail, attempts, now),
        Delivery::Retryable(s) => StageOutcome::new(StageStatus::Retryable, s, detail, attempts, now),
    }
}

fn attempts_of(previous: &Option<StageOutcome>) -> u32 {
    previous.as_ref().map_or(0, |o| o.attempts) + 1
}

/// The webhook body: `{"type": "event.recorded", "timestamp": <RFC 3339>, "data": <event>}`
/// (the Standard Webhooks payload shape), without the table's own keys.
pub fn webhook_body(event: &EventRecord) -> Vec<u8> {
    let mut data = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Some(map) = data.as_object_mut() {
        for k in ["pk", "sk", "item_type", "gsi_user_pk", "expires_at"] {
            map.remove(k);
        }
    }
    serde_json::to_vec(&serde_json::json!({
        "type": "event.recorded",
        "timestamp": event.received_at,
        "data": data,
    }))
    .unwrap_or_default()
}

/// One record being worked on.
struct Work<'a> {
    incoming: &'a Incoming,
    state: ProcessingState,
    lookup: Lookup,
    /// Which stages had settled before this batch (in [`ProcessingState::statuses`] order):
    /// the others run now, and their outcomes are counted.
    settled_before: [bool; 6],
    /// How long this batch's webhook delivery took, if one reached the network.
    webhook_ms: Option<f64>,
}

/// Milliseconds since `start`.
fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

impl<St, S, B, R> Processor<St, S, B, R>
where
    St: ProcessorStore,
    S: OrganizationSource,
    B: BillingCounter,
    R: Resolve,
{
    /// Processes the stream batch of the Lambda invocation `aws_request_id` and answers with
    /// the batch item failures. Everything logged meanwhile is inside a `batch` span with
    /// `aws_request_id` and `records` (the stream records in the batch).
    pub async fn handle(&self, event: Value, aws_request_id: &str) -> DynamoDbEventResponse {
        let records = event.get("Records").and_then(Value::as_array).map_or(0, Vec::len);
        // At error level, so the span is kept whatever level RUST_LOG lets through.
        let span = tracing::error_span!("batch", aws_request_id = %aws_request_id, records);
        self.process(&event).instrument(span).await.response()
    }

    /// Processes a stream batch; the report says what happened. The batch's metrics
    /// ([`super::telemetry`]) are written when it is done.
    pub async fn process(&self, event: &Value) -> BatchReport {
        let mut measured = BatchMetrics::default();
        let report = self.process_measured(event, &mut measured).await;
        measured.batch_item_failures = report.failures.len();
        self.metrics.emit(self.clock.now_ms(), &measured.sets(), &[]);
        report
    }

    async fn process_measured(&self, event: &Value, measured: &mut BatchMetrics) -> BatchReport {
        let decoded = decode_batch(event);
        let mut report = BatchReport {
            received: event.get("Records").and_then(Value::as_array).map_or(0, Vec::len),
            ignored: decoded.ignored,
            undecodable: decoded.undecodable,
            ..BatchReport::default()
        };
        if decoded.records.is_empty() {
            return report;
        }
        let pks: Vec<&str> = decoded.records.iter().map(|r| r.event.pk.as_str()).collect();
        let mut memory = match self.store.load_states(&pks).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the processing memory; the whole batch is retried");
                report.failures = decoded.records.iter().map(|r| r.sequence_number.clone()).collect();
                return report;
            }
        };
        let mut pending: Vec<Work> = Vec::new();
        for incoming in &decoded.records {
            let state = memory
                .remove(&incoming.event.pk)
                .unwrap_or_else(|| ProcessingState::new(&incoming.event));
            if state.complete() {
                report.already_complete += 1;
                continue;
            }
            let settled_before = state.statuses().map(|(_, s)| s.is_some_and(StageStatus::settled));
            pending.push(Work {
                incoming,
                state,
                lookup: Lookup::Unknown,
                settled_before,
                webhook_ms: None,
            });
        }
        report.processed = pending.len();
        if pending.is_empty() {
            return report;
        }
        let mut org_ids: Vec<&str> = pending
            .iter()
            .map(|w| w.incoming.event.organization_id.as_str())
            .collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        let lookups: HashMap<&str, Lookup> = org_ids
            .iter()
            .copied()
            .zip(self.directory.get_many(&org_ids).await)
            .collect();
        for w in &mut pending {
            w.state.rounds += 1;
            w.lookup = lookups[w.incoming.event.organization_id.as_str()].clone();
        }

        report.billing_calls = self.bill(&mut pending, &mut measured.billing_ms).await;

        // Users: records of one GSI_USER key in time order; records without one alone.
        let mut groups: BTreeMap<String, Vec<Work>> = BTreeMap::new();
        for w in pending {
            let key = w
                .incoming
                .event
                .gsi_user_pk
                .clone()
                .unwrap_or_else(|| w.incoming.event.pk.clone());
            groups.entry(key).or_default().push(w);
        }
        let done: Vec<Work> = futures::stream::iter(groups.into_values())
            .map(|group| self.process_user(group))
            .buffer_unordered(self.config.concurrency)
            .flat_map(futures::stream::iter)
            .collect()
            .await;

        let now = self.clock.now_ms();
        let states: Vec<ProcessingState> = done
            .iter()
            .map(|w| {
                let mut s = w.state.clone();
                s.updated_at = now;
                s
            })
            .collect();
        let refs: Vec<&ProcessingState> = states.iter().collect();
        let unsaved: HashMap<String, String> = self.store.save_states(&refs).await.into_iter().collect();
        for w in &done {
            // The stages that ran in this batch, with how they ended (a billing state dropped
            // because its intent was not recorded is retried).
            for ((stage, status), settled) in w.state.statuses().into_iter().zip(w.settled_before) {
                if !settled {
                    measured.stage(stage, status.unwrap_or(StageStatus::Retryable));
                }
            }
            measured.webhook_ms.extend(w.webhook_ms);
            report.alerts += usize::from(
                w.state
                    .alert
                    .as_ref()
                    .is_some_and(|a| a.outcome.status == StageStatus::Done),
            );
            let pk = &w.incoming.event.pk;
            if let Some(err) = unsaved.get(pk) {
                // Without its memory the record would be processed as new: retry it (its
                // billing key is already stored, so billing stays exactly once).
                tracing::error!(request_id = %w.incoming.event.request_id, error = %err, "processing item not written; retrying the record");
                report.failures.push(w.incoming.sequence_number.clone());
            } else if !w.state.complete() {
                tracing::warn!(
                    request_id = %w.incoming.event.request_id,
                    sequence_number = %w.incoming.sequence_number,
                    stages = ?w.state.unsettled(),
                    "record reported for retry"
                );
                report.failures.push(w.incoming.sequence_number.clone());
            }
        }
        // Stream order (sequence numbers are decimal strings; a longer one is later).
        report.failures.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        tracing::info!(
            received = report.received,
            ignored = report.ignored,
            undecodable = report.undecodable,
            processed = report.processed,
            already_complete = report.already_complete,
            billing_calls = report.billing_calls,
            alerts = report.alerts,
            failures = report.failures.len(),
            "stream batch processed"
        );
        report
    }

    /// The billing stage of the batch; returns the number of calls made, and adds each call's
    /// duration (ms) to `latencies`.
    async fn bill(&self, pending: &mut [Work<'_>], latencies: &mut Vec<f64>) -> usize {
        let now = self.clock.now_ms();
        let Some(counter) = &self.billing else {
            for w in pending.iter_mut().filter(|w| !w.state.billing_settled()) {
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
            fresh
                .entry(w.incoming.event.organization_id.clone())
                .or_default()
                .push(i);
        }
        // One intent per key, the transactions of different keys at once.
        let mut intents: Vec<(String, Vec<usize>, BillingState)> = Vec::new();
        for (org, indices) in fresh {
            for chunk in indices.chunks(100) {
                let mut ids: Vec<&str> = chunk
                    .iter()
                    .map(|&i| pending[i].incoming.event.event_id.as_str())
                    .collect();
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
                self.store.save_together(&refs).await
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
                    calls.insert((w.incoming.event.organization_id.clone(), b.key.clone()), b.amount);
                }
            }
        }
        let timed = futures::future::join_all(calls.iter().map(|((org, key), amount)| async move {
            let start = Instant::now();
            let result = counter.increment(org, *amount, key, now).await;
            (key.clone(), result, ms_since(start))
        }))
        .await;
        let mut results: HashMap<String, Result<crate::billing::Billed, BillingError>> = HashMap::new();
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

    /// The per-record stages of one user's records, in time order.
    async fn process_user<'a>(&self, mut group: Vec<Work<'a>>) -> Vec<Work<'a>> {
        group.sort_by_key(|w| w.incoming.event.ts);
        let gsi = group[0].incoming.event.gsi_user_pk.clone();
        let needs_history = gsi.is_some()
            && group
                .iter()
                .any(|w| !w.state.travel_settled() || !w.state.sharing_settled());
        let history = match (&gsi, needs_history) {
            (Some(key), true) => {
                let c = &self.config.detection;
                let travel_window_ms = (HALF_CIRCUMFERENCE_KM / c.travel.max_speed_kmh * 3_600_000.0).ceil() as i64;
                let sharing_ms = i64::try_from(c.sharing.window_secs)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000);
                let window_ms = sharing_ms.max(travel_window_ms);
                let from = group[0].incoming.event.ts.saturating_sub(window_ms);
                let to = group[group.len() - 1].incoming.event.ts;
                Some(self.store.user_events(key, from, to).await.map_err(|e| e.to_string()))
            }
            _ => None,
        };
        for w in &mut group {
            self.process_record(w, history.as_ref()).await;
        }
        group
    }

    async fn process_record(&self, w: &mut Work<'_>, history: Option<&Result<Vec<UserEvent>, String>>) {
        let event = &w.incoming.event;
        let now = self.clock.now_ms();
        // Travel and sharing need no call (the user's history is read): judged first, so the
        // alert can go out beside GA4 and the webhook.
        if !w.state.travel_settled() {
            w.state.travel = Some(self.travel_stage(event, history, now));
        }
        if !w.state.sharing_settled() {
            w.state.sharing = Some(self.sharing_stage(event, history, now));
        }
        let state = &w.state;
        let lookup = &w.lookup;
        let (ga4, webhook, alert) = futures::join!(
            async {
                if state.ga4_settled() {
                    return None;
                }
                Some(self.ga4_stage(event, lookup, attempts_of(&state.ga4)).await)
            },
            async {
                if state.webhook_settled() {
                    return None;
                }
                Some(self.webhook_stage(event, lookup, attempts_of(&state.webhook)).await)
            },
            async {
                if state.alert_settled() {
                    return None;
                }
                if !(state.travel_settled() && state.sharing_settled()) {
                    // An alert waits for travel and sharing, so it is sent once, with every
                    // reason.
                    return Some(AlertResult {
                        outcome: StageOutcome::new(
                            StageStatus::Retryable,
                            None,
                            Some("waiting for travel and sharing".into()),
                            0,
                            now,
                        ),
                        reasons: Vec::new(),
                    });
                }
                let attempts = state.alert.as_ref().map_or(0, |a| a.outcome.attempts);
                Some(self.alert_stage(event, state, attempts).await)
            }
        );
        if let Some(o) = ga4 {
            w.state.ga4 = Some(o);
        }
        if let Some((o, ms)) = webhook {
            w.state.webhook = Some(o);
            w.webhook_ms = ms;
        }
        if let Some(a) = alert {
            w.state.alert = Some(a);
        }
    }

    fn org_problem(&self, lookup: &Lookup, now: i64) -> Option<StageOutcome> {
        match lookup {
            Lookup::Found { .. } => None,
            Lookup::Unknown => Some(StageOutcome::new(
                StageStatus::Permanent,
                None,
                Some("unknown organization".into()),
                0,
                now,
            )),
            Lookup::Unavailable { reason } => Some(StageOutcome::new(
                StageStatus::Retryable,
                None,
                Some(format!("organization directory unavailable: {reason}")),
                0,
                now,
            )),
        }
    }

    async fn ga4_stage(&self, event: &EventRecord, lookup: &Lookup, attempts: u32) -> StageOutcome {
        let now = self.clock.now_ms();
        if let Some(problem) = self.org_problem(lookup, now) {
            return problem;
        }
        let Lookup::Found { org, .. } = lookup else {
            unreachable!()
        };
        let setting = org.integrations.as_ref().map_or(IntegrationSetting::Off, |i| i.ga4());
        let (measurement_id, api_secret) = match setting {
            IntegrationSetting::Off => {
                return StageOutcome::new(StageStatus::Skipped, None, Some("GA4 is not configured".into()), 0, now)
            }
            IntegrationSetting::Incomplete(why) => {
                return StageOutcome::new(StageStatus::Permanent, None, Some(why.into()), 0, now)
            }
            IntegrationSetting::On(c) => c,
        };
        let payload = Ga4Payload::fingerprint_event(
            event.ga4_client_id.as_deref(),
            event.fingerprint.as_deref(),
            event.visitor_id.as_deref(),
            event.site.as_deref(),
            event.risk.as_ref().map(|r| r.score),
        );
        if let Err(e) = payload.validate() {
            return StageOutcome::new(
                StageStatus::Permanent,
                None,
                Some(format!("GA4 would drop the payload: {e}")),
                0,
                now,
            );
        }
        let d = ga4::send(
            &self.http,
            &self.config.ga4_endpoint,
            measurement_id,
            api_secret,
            &payload,
            self.config.ga4_timeout_ms,
        )
        .await;
        outcome_of(d, None, attempts, self.clock.now_ms())
    }

    /// The webhook stage's outcome, with the delivery's duration (ms) when it reached the
    /// network (an answer, a timeout or a connection failure).
    async fn webhook_stage(&self, event: &EventRecord, lookup: &Lookup, attempts: u32) -> (StageOutcome, Option<f64>) {
        let now = self.clock.now_ms();
        if let Some(problem) = self.org_problem(lookup, now) {
            return (problem, None);
        }
        let Lookup::Found { org, .. } = lookup else {
            unreachable!()
        };
        let setting = org
            .integrations
            .as_ref()
            .map_or(IntegrationSetting::Off, |i| i.webhook());
        let (url, secrets) = match setting {
            IntegrationSetting::Off => {
                return (
                    StageOutcome::new(
                        StageStatus::Skipped,
                        None,
                        Some("no webhook is configured".into()),
                        0,
                        now,
                    ),
                    None,
                )
            }
            IntegrationSetting::Incomplete(why) => {
                return (
                    StageOutcome::new(StageStatus::Permanent, None, Some(why.into()), 0, now),
                    None,
                )
            }
            IntegrationSetting::On(c) => c,
        };
        let body = webhook_body(event);
        let start = Instant::now();
        let (d, detail) = deliver_explained(
            url,
            &secrets,
            &event.event_id,
            &body,
            now.div_euclid(1000),
            &self.resolver,
            &self.config.outbound,
        )
        .await;
        // A URL refused before any call (bad, or resolving to a private address) took no
        // network time worth timing.
        let ms = (!matches!(d, Delivery::Permanent(None))).then(|| ms_since(start));
        (outcome_of(d, detail, attempts, self.clock.now_ms()), ms)
    }

    fn travel_stage(
        &self,
        event: &EventRecord,
        history: Option<&Result<Vec<UserEvent>, String>>,
        now: i64,
    ) -> TravelResult {
        let skipped = |why: &str| TravelResult {
            outcome: StageOutcome::new(StageStatus::Skipped, None, Some(why.into()), 0, now),
            previous_event_id: None,
            travel: None,
        };
        let viewer = &event.context.viewer;
        let (Some(lat), Some(lon)) = (viewer.latitude, viewer.longitude) else {
            return skipped("the event has no location");
        };
        let events = match history {
            None => return skipped("the event has no user or visitor id"),
            Some(Err(e)) => {
                return TravelResult {
                    outcome: StageOutcome::new(StageStatus::Retryable, None, Some(e.clone()), 0, now),
                    previous_event_id: None,
                    travel: None,
                }
            }
            Some(Ok(events)) => events,
        };
        // The latest earlier event (the same millisecond counts, the event itself does not).
        let Some(previous) = events
            .iter()
            .filter(|e| e.ts <= event.ts && e.event_id != event.event_id)
            .max_by_key(|e| e.ts)
        else {
            return skipped("no earlier event of this user");
        };
        let (Some(plat), Some(plon)) = (previous.latitude, previous.longitude) else {
            return TravelResult {
                previous_event_id: Some(previous.event_id.clone()),
                ..skipped("the previous event has no location")
            };
        };
        let t = travel::judge(
            &Sighting {
                latitude: plat,
                longitude: plon,
                ts: previous.ts,
            },
            &Sighting {
                latitude: lat,
                longitude: lon,
                ts: event.ts,
            },
            &self.config.detection.travel,
        );
        TravelResult {
            outcome: StageOutcome::new(
                StageStatus::Done,
                None,
                t.is_none()
                    .then(|| format!("under {} km", self.config.detection.travel.min_distance_km)),
                0,
                now,
            ),
            previous_event_id: Some(previous.event_id.clone()),
            travel: t,
        }
    }

    fn sharing_stage(
        &self,
        event: &EventRecord,
        history: Option<&Result<Vec<UserEvent>, String>>,
        now: i64,
    ) -> SharingResult {
        let skipped = |why: &str| SharingResult {
            outcome: StageOutcome::new(StageStatus::Skipped, None, Some(why.into()), 0, now),
            sharing: None,
        };
        if event.user_id.is_none() {
            return skipped("the event has no user id");
        }
        let events = match history {
            None => return skipped("the event has no user id"),
            Some(Err(e)) => {
                return SharingResult {
                    outcome: StageOutcome::new(StageStatus::Retryable, None, Some(e.clone()), 0, now),
                    sharing: None,
                }
            }
            Some(Ok(events)) => events,
        };
        let mut sessions: Vec<Session> = events
            .iter()
            .filter(|e| e.ts <= event.ts && e.event_id != event.event_id)
            .map(|e| Session {
                ts: e.ts,
                fingerprint: e.fingerprint.clone(),
                country: e.country.clone(),
            })
            .collect();
        sessions.push(Session {
            ts: event.ts,
            fingerprint: event.fingerprint.clone(),
            country: event.context.viewer.country.clone(),
        });
        SharingResult {
            outcome: StageOutcome::new(StageStatus::Done, None, None, 0, now),
            sharing: Some(sharing::judge(&sessions, event.ts, &self.config.detection.sharing)),
        }
    }

    async fn alert_stage(&self, event: &EventRecord, state: &ProcessingState, attempts: u32) -> AlertResult {
        let now = self.clock.now_ms();
        let travel = state.travel.as_ref().and_then(|t| t.travel.as_ref());
        let sharing = state.sharing.as_ref().and_then(|s| s.sharing.as_ref());
        let risk = event.risk.as_ref();
        let reasons = push::reasons(risk.map(|r| r.score), travel, sharing, &self.config.detection.alerts);
        if reasons.is_empty() {
            return AlertResult {
                outcome: StageOutcome::new(StageStatus::Skipped, None, None, 0, now),
                reasons,
            };
        }
        let Some(push_config) = &self.config.push else {
            return AlertResult {
                outcome: StageOutcome::new(
                    StageStatus::Skipped,
                    None,
                    Some("PUSH_API_URL is not configured".into()),
                    0,
                    now,
                ),
                reasons,
            };
        };
        let alert = Alert {
            kind: "fraud_alert",
            organization_id: &event.organization_id,
            event_id: &event.event_id,
            request_id: &event.request_id,
            event_name: &event.event_name,
            user_id: event.user_id.as_deref(),
            visitor_id: event.visitor_id.as_deref(),
            site: event.site.as_deref(),
            risk_score: risk.map(|r| r.score),
            risk_level: risk.and_then(|r| serde_json::to_value(r.level).ok()?.as_str().map(String::from)),
            impossible_travel: travel.filter(|t| t.impossible),
            account_sharing: sharing.filter(|s| s.score > 0.0),
            reasons: reasons.clone(),
            ts: event.ts,
        };
        let d = push::send(&self.http, push_config, &alert).await;
        AlertResult {
            outcome: outcome_of(d, None, attempts + 1, self.clock.now_ms()),
            reasons,
        }
    }
}
