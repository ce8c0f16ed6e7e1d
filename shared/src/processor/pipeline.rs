//! The processor's batch pipeline: a DynamoDB
//! Streams batch in, the batch item failures out. Each stage's rule is a file of
//! [`super::stages`]; this file orders them.
//!
//! For each batch:
//! 1. **decode**: each stream record is decoded on its own into
//!    `aws_lambda_events::dynamodb::EventRecord`, and its new image with `serde_dynamo` into
//!    the [`EventRecord`]. Anything but an INSERT of an `event` item is ignored; an
//!    undecodable record is logged with its sequence number, counted and skipped (retrying
//!    cannot fix it, and it must not fail its neighbours);
//! 2. **memory**: the events' processing items are read in one `BatchGetItem`; a stage that
//!    settled in an earlier delivery is not run again. At the same time, the tombstones of the
//!    events' visitors are read (another `BatchGetItem`): an event of an erased visitor
//!    (`DELETE /v1/visitors/{id}`) is skipped, so nothing is written again under it; and the
//!    JA4 sketch raises the events carry are written, one update per aggregate bucket
//!    ([`stages::sketches`]);
//! 3. **billing**, once per organization ([`stages::billing`]);
//! 4. **per record** ([`Processor::process_record`]), user by user (records of one
//!    `GSI_USER` key in time order, users concurrently, at most `PROCESSOR_CONCURRENCY` at
//!    once): impossible travel and account sharing from one `GSI_USER` read per user, then
//!    GA4, the webhook and the push alert at the same time;
//! 5. **results**: the processing items are written back; a record with a stage that failed in
//!    a retryable way (timeout, 5xx, throttling) is reported in `batchItemFailures`. Permanent
//!    failures (a 4xx, a bad configuration) are recorded and not retried;
//! 6. **metrics**: the batch's stage outcomes, billing and webhook latencies and batch item
//!    failures are written as EMF lines ([`super::telemetry`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use super::config::ProcessorConfig;
use super::history::History;
use super::outbound::Resolve;
use super::record::{decode_batch, Incoming};
use super::stage::{next_attempt, Stage, StageStatus};
use super::stages::billing::{self, Billable};
use super::stages::ga4::{self, Ga4Target};
use super::stages::{alert, sharing, sketches, travel, webhook};
use super::state::ProcessingState;
use super::store::ProcessorStore;
use super::telemetry::BatchMetrics;
use crate::behavior::sketch_writer::DynamoSketchWriter;
use crate::behavior::store::SketchWriter;
use crate::billing::BillingCounter;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::org::{Lookup, OrganizationSource, TieredDirectory};

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
    /// Sketch updates written for the raises the batch's events carried ([`sketches`]).
    pub sketch_updates: usize,
    /// Events skipped because their visitor was erased.
    pub erased: usize,
    /// Sequence numbers reported in `batchItemFailures`.
    pub failures: Vec<String>,
}

/// The tombstone partition key of an event's visitor, if it has one.
fn tombstone_of(event: &crate::event::EventRecord) -> Option<String> {
    Some(crate::schema::tombstone_pk(
        &event.organization_id,
        event.visitor_id.as_deref()?,
    ))
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
pub struct Processor<St, S, B, R, W = DynamoSketchWriter> {
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
    /// Where the JA4 sketch raises the events carry are written ([`sketches`]).
    pub sketches: W,
}

/// What a batch remembers of its events from earlier deliveries.
struct Memory {
    /// Processing items by event partition key.
    states: HashMap<String, ProcessingState>,
    /// The tombstones found among the events' visitors'.
    erased: std::collections::HashSet<String>,
}

/// The records to work on: not of an erased visitor and not complete from an earlier
/// delivery, each with its memory and the stages still to run.
fn pending_work<'a>(records: &'a [Incoming], mut memory: Memory, report: &mut BatchReport) -> Vec<Work<'a>> {
    let mut pending = Vec::new();
    for incoming in records {
        if tombstone_of(&incoming.event).is_some_and(|t| memory.erased.contains(&t)) {
            tracing::info!(request_id = %incoming.event.request_id, "event of an erased visitor skipped");
            report.erased += 1;
            continue;
        }
        let state = memory
            .states
            .remove(&incoming.event.pk)
            .unwrap_or_else(|| ProcessingState::new(&incoming.event));
        if state.complete() {
            report.already_complete += 1;
            continue;
        }
        pending.push(Work {
            incoming,
            to_run: state.unsettled(),
            state,
            lookup: Lookup::Unknown,
            webhook_ms: None,
        });
    }
    report.processed = pending.len();
    pending
}

/// The report and metrics of the records worked on: a record whose item was not written
/// (`unsaved`) or that still has an unsettled stage is reported for retry, in stream order.
fn settle(done: &[Work<'_>], unsaved: &HashMap<String, String>, measured: &mut BatchMetrics, report: &mut BatchReport) {
    for w in done {
        // The stages that ran in this batch, with how they ended (a billing state dropped
        // because its intent was not recorded is retried).
        for &stage in &w.to_run {
            measured.stage(stage, w.state.status(stage).unwrap_or(StageStatus::Retryable));
        }
        measured.webhook_ms.extend(w.webhook_ms);
        report.alerts += usize::from(
            w.state
                .alert
                .as_ref()
                .is_some_and(|a| a.outcome.status == StageStatus::Done),
        );
        if let Some(err) = unsaved.get(&w.incoming.event.pk) {
            // Without its memory the record would be processed as new: retry it (its
            // billing key is already stored, so billing stays exactly once).
            tracing::error!(request_id = %w.incoming.event.request_id, error = %err, "processing item not written; retrying the record");
            report.failures.push(w.incoming.sequence_number.clone());
        } else if !w.state.complete() {
            tracing::warn!(
                request_id = %w.incoming.event.request_id,
                sequence_number = %w.incoming.sequence_number,
                stages = ?w.state.unsettled().iter().map(|s| s.name()).collect::<Vec<_>>(),
                "record reported for retry"
            );
            report.failures.push(w.incoming.sequence_number.clone());
        }
    }
    // Stream order (sequence numbers are decimal strings; a longer one is later).
    report.failures.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
}

/// One record being worked on.
struct Work<'a> {
    incoming: &'a Incoming,
    state: ProcessingState,
    lookup: Lookup,
    /// The stages that had not settled before this batch: they run now, and their outcomes
    /// are counted.
    to_run: Vec<Stage>,
    /// How long this batch's webhook delivery took, if one reached the network.
    webhook_ms: Option<f64>,
}

impl<St, S, B, R, W> Processor<St, S, B, R, W>
where
    W: SketchWriter,
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
        // Boxed: the batch's future nests every stage's, deeper than the compiler's default
        // limit for laying out the function's `main` future.
        let report = Box::pin(self.process_measured(event, &mut measured)).await;
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
        let Some(memory) = self.read_memory(&decoded.records, &mut report).await else {
            return report;
        };
        let mut pending = pending_work(&decoded.records, memory, &mut report);
        if pending.is_empty() {
            return report;
        }
        self.look_up_organizations(&mut pending).await;
        let mut billables: Vec<Billable> = pending
            .iter_mut()
            .map(|w| Billable {
                event: &w.incoming.event,
                lookup: &w.lookup,
                state: &mut w.state,
            })
            .collect();
        let now = self.clock.now_ms();
        report.billing_calls = billing::run(
            self.billing.as_ref(),
            &self.store,
            &mut billables,
            now,
            &mut measured.billing_ms,
        )
        .await;
        let done = self.run_users(pending).await;
        let unsaved = self.save(&done).await;
        settle(&done, &unsaved, measured, &mut report);
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

    /// The batch's memory, in one round: the events' processing items and the tombstones of
    /// their visitors, while the sketch raises they carry are written. `None` when the
    /// memory cannot be read: then every record is reported for retry.
    async fn read_memory(&self, records: &[Incoming], report: &mut BatchReport) -> Option<Memory> {
        let pks: Vec<&str> = records.iter().map(|r| r.event.pk.as_str()).collect();
        let tombstones: Vec<String> = records.iter().filter_map(|r| tombstone_of(&r.event)).collect();
        let events = records.iter().map(|r| &r.event);
        let (states, erased, sketch_updates) = tokio::join!(
            self.store.load_states(&pks),
            self.store.erased(&tombstones),
            sketches::run(&self.sketches, events, self.clock.now_ms())
        );
        report.sketch_updates = sketch_updates;
        match (states, erased) {
            (Ok(states), Ok(erased)) => Some(Memory { states, erased }),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot read the processing memory; the whole batch is retried");
                report.failures = records.iter().map(|r| r.sequence_number.clone()).collect();
                None
            }
        }
    }

    /// Each pending record's organization, one lookup per organization.
    async fn look_up_organizations(&self, pending: &mut [Work<'_>]) {
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
        for w in pending.iter_mut() {
            w.state.rounds += 1;
            w.lookup = lookups[w.incoming.event.organization_id.as_str()].clone();
        }
    }

    /// The per-record stages, user by user: records of one `GSI_USER` key in time order
    /// (records without one alone), users concurrently.
    async fn run_users<'a>(&self, pending: Vec<Work<'a>>) -> Vec<Work<'a>> {
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
        futures::stream::iter(groups.into_values())
            .map(|group| self.process_user(group))
            .buffer_unordered(self.config.concurrency)
            .flat_map(futures::stream::iter)
            .collect()
            .await
    }

    /// Writes the processing items back; the records whose item was not written, with why.
    async fn save(&self, done: &[Work<'_>]) -> HashMap<String, String> {
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
        self.store.save_states(&refs).await.into_iter().collect()
    }

    /// The per-record stages of one user's records, in time order.
    async fn process_user<'a>(&self, mut group: Vec<Work<'a>>) -> Vec<Work<'a>> {
        group.sort_by_key(|w| w.incoming.event.ts);
        let gsi = group[0].incoming.event.gsi_user_pk.clone();
        let needs_history = gsi.is_some()
            && group
                .iter()
                .any(|w| !w.state.settled(Stage::Travel) || !w.state.settled(Stage::Sharing));
        let history = match (&gsi, needs_history) {
            (Some(key), true) => {
                let c = &self.config.detection;
                let window_ms = sharing::lookback_ms(&c.sharing).max(travel::lookback_ms(&c.travel));
                let from = group[0].incoming.event.ts.saturating_sub(window_ms);
                let to = group[group.len() - 1].incoming.event.ts;
                Some(self.store.user_events(key, from, to).await.map_err(|e| e.to_string()))
            }
            _ => None,
        };
        for w in &mut group {
            let history = match &history {
                None => History::NoUser,
                Some(Err(e)) => History::Unreadable(e),
                Some(Ok(events)) => History::Events(events),
            };
            self.process_record(w, history).await;
        }
        group
    }

    /// The per-record stages of one record, given its user's `history`: those that have not
    /// settled run. Travel and sharing need no call (the history is read): judged first, so
    /// the alert can go out beside GA4 and the webhook.
    async fn process_record(&self, w: &mut Work<'_>, history: History<'_>) {
        let event = &w.incoming.event;
        let detection = &self.config.detection;
        if !w.state.settled(Stage::Travel) {
            w.state.travel = Some(travel::run(event, history, &detection.travel, self.clock.now_ms()));
        }
        if !w.state.settled(Stage::Sharing) {
            w.state.sharing = Some(sharing::run(event, history, &detection.sharing, self.clock.now_ms()));
        }
        let state = &w.state;
        let lookup = &w.lookup;
        let clock = self.clock.as_ref();
        let target = Ga4Target {
            endpoint: &self.config.ga4_endpoint,
            timeout_ms: self.config.ga4_timeout_ms,
        };
        let (ga4, webhook, alert) = futures::join!(
            async {
                if state.settled(Stage::Ga4) {
                    return None;
                }
                let attempt = next_attempt(state.ga4.as_ref());
                Some(ga4::run(&self.http, target, event, lookup, attempt, clock).await)
            },
            async {
                if state.settled(Stage::Webhook) {
                    return None;
                }
                let attempt = next_attempt(state.webhook.as_ref());
                let policy = &self.config.outbound;
                Some(webhook::run(event, lookup, attempt, &self.resolver, policy, clock).await)
            },
            async {
                if state.settled(Stage::Alert) {
                    return None;
                }
                let push = self.config.push.as_ref();
                Some(alert::run(&self.http, push, &detection.alerts, event, state, clock).await)
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
}
