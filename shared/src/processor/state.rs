//! What the processor remembers of each event: one `processing` item beside the event, in the
//! event's request partition (`pk` = `REQ#<request id>`, `sk` = `PROCESSING`).
//!
//! It is read before a record is processed and written after, so a retried record redoes only
//! the stages that did not settle, and it holds the results (billing, GA4, webhook, travel,
//! sharing, alert) where the request's story can show them. Writing it cannot start another
//! processing round: it is not an INSERT of an `event` item, which is all the stream filter
//! and the processor let through.

use serde::{Deserialize, Serialize};

use super::stage::{Stage, StageOutcome, StageStatus};
use super::stages::sharing::SharingResult;
use super::stages::travel::TravelResult;
use crate::event::EventRecord;

/// `item_type` of the processing item.
pub const PROCESSING_ITEM_TYPE: &str = "processing";

/// Where an event's billing stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingState {
    /// The idempotency key of the call that counts this event (shared by the events of its
    /// organization in the batch where it was first billed).
    pub key: String,
    /// The amount that key counts: always sent again with the key, whatever subset of its
    /// events a retried batch holds, so the key means one amount.
    pub amount: u32,
    /// `Retryable` while the call has not succeeded (also right after the key was chosen).
    pub outcome: StageOutcome,
}

/// The alert stage, with the reasons sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertResult {
    pub outcome: StageOutcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The processing item of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessingState {
    /// `REQ#<request id>`, the event's partition.
    pub pk: String,
    /// `PROCESSING`.
    pub sk: String,
    /// `processing`.
    pub item_type: String,
    pub event_id: String,
    pub organization_id: String,
    /// Times the event was processed (1 on the first delivery of its stream record).
    pub rounds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<BillingState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ga4: Option<StageOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<StageOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub travel: Option<TravelResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<SharingResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertResult>,
    /// Last write, ms since the Unix epoch.
    pub updated_at: i64,
    /// TTL attribute (Unix seconds): the event's own.
    pub expires_at: i64,
}

impl ProcessingState {
    /// The empty state of an event that was never processed.
    pub fn new(event: &EventRecord) -> Self {
        ProcessingState {
            pk: event.pk.clone(),
            sk: crate::schema::PROCESSING_SK.to_string(),
            item_type: PROCESSING_ITEM_TYPE.to_string(),
            event_id: event.event_id.clone(),
            organization_id: event.organization_id.clone(),
            rounds: 0,
            billing: None,
            ga4: None,
            webhook: None,
            travel: None,
            sharing: None,
            alert: None,
            updated_at: 0,
            expires_at: event.expires_at,
        }
    }

    /// How `stage` ended the last time it ran; `None` when it has not run.
    pub fn status(&self, stage: Stage) -> Option<StageStatus> {
        let outcome = match stage {
            Stage::Billing => self.billing.as_ref().map(|b| &b.outcome),
            Stage::Ga4 => self.ga4.as_ref(),
            Stage::Webhook => self.webhook.as_ref(),
            Stage::Travel => self.travel.as_ref().map(|t| &t.outcome),
            Stage::Sharing => self.sharing.as_ref().map(|s| &s.outcome),
            Stage::Alert => self.alert.as_ref().map(|a| &a.outcome),
        };
        outcome.map(|o| o.status)
    }

    /// Whether `stage` needs no more work (it ran and did not end retryable).
    pub fn settled(&self, stage: Stage) -> bool {
        self.status(stage).is_some_and(StageStatus::settled)
    }

    /// Every stage, in the pipeline's order, with its status (`None` for a stage that has not
    /// run).
    pub fn statuses(&self) -> [(Stage, Option<StageStatus>); 6] {
        Stage::ALL.map(|stage| (stage, self.status(stage)))
    }

    /// Whether every stage settled: the stream record needs no retry.
    pub fn complete(&self) -> bool {
        Stage::ALL.into_iter().all(|stage| self.settled(stage))
    }

    /// The stages still to be retried (or never run), in the pipeline's order.
    pub fn unsettled(&self) -> Vec<Stage> {
        Stage::ALL.into_iter().filter(|&stage| !self.settled(stage)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Route, ServerContext, TrackPayload};

    fn outcome(status: StageStatus) -> StageOutcome {
        StageOutcome::new(status, None, None, 1, 0)
    }

    #[test]
    fn statuses_name_every_stage_and_unsettled_ones_are_retryable_or_not_run() {
        let event = TrackPayload {
            organization_id: Some("org".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let record = EventRecord::new("rid", Route::Track, event, None, ServerContext::default(), 0, 30);
        let mut s = ProcessingState::new(&record);
        assert_eq!(s.statuses().map(|(stage, _)| stage), Stage::ALL);
        assert!(s.statuses().iter().all(|(_, st)| st.is_none()));
        s.ga4 = Some(outcome(StageStatus::Done));
        s.webhook = Some(outcome(StageStatus::Retryable));
        s.alert = Some(AlertResult {
            outcome: outcome(StageStatus::Skipped),
            reasons: Vec::new(),
        });
        assert_eq!(s.statuses()[1], (Stage::Ga4, Some(StageStatus::Done)));
        assert_eq!(
            s.unsettled(),
            [Stage::Billing, Stage::Webhook, Stage::Travel, Stage::Sharing]
        );
        assert!(s.settled(Stage::Alert) && !s.complete());
        assert_eq!(
            [
                StageStatus::Done,
                StageStatus::Skipped,
                StageStatus::Permanent,
                StageStatus::Retryable
            ]
            .map(|st| (st.as_str(), serde_json::to_value(st).unwrap())),
            [
                ("done", serde_json::json!("done")),
                ("skipped", serde_json::json!("skipped")),
                ("permanent", serde_json::json!("permanent")),
                ("retryable", serde_json::json!("retryable"))
            ]
        );
    }
}
