//! The processor's stages by name, and how each one ends.
//!
//! The stages, in the pipeline's order (the processor section of the product's mission: a
//! stream batch is billed, sent to GA4 and the organization's webhook, judged for impossible
//! travel and account sharing, and alerted on):
//!
//! | [`Stage`] | file | what it does |
//! |---|---|---|
//! | `billing` | [`super::stages::billing`] | counts the organization's events once, whatever the retries |
//! | `ga4` | [`super::stages::ga4`] | GA4 Measurement Protocol |
//! | `webhook` | [`super::stages::webhook`] | the signed Standard Webhooks delivery |
//! | `travel` | [`super::stages::travel`] | impossible travel against the user's previous event |
//! | `sharing` | [`super::stages::sharing`] | account sharing over the user's recent sessions |
//! | `alert` | [`super::stages::alert`] | the push alert, once travel and sharing are judged |

use serde::{Deserialize, Serialize};

use crate::org::{Lookup, Organization};

/// One stage of the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Billing,
    Ga4,
    Webhook,
    Travel,
    Sharing,
    Alert,
}

impl Stage {
    /// Every stage, in the pipeline's order.
    pub const ALL: [Stage; 6] = [
        Stage::Billing,
        Stage::Ga4,
        Stage::Webhook,
        Stage::Travel,
        Stage::Sharing,
        Stage::Alert,
    ];

    /// The stage's name in the processing item, the logs and the `Stage` metric dimension
    /// (`billing`, `ga4`, `webhook`, `travel`, `sharing`, `alert`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Billing => "billing",
            Stage::Ga4 => "ga4",
            Stage::Webhook => "webhook",
            Stage::Travel => "travel",
            Stage::Sharing => "sharing",
            Stage::Alert => "alert",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Done (delivered, billed, computed).
    Done,
    /// Nothing to do (not configured, no data to judge).
    Skipped,
    /// Failed in a way a retry cannot fix (a 4xx, a bad configuration); not retried.
    Permanent,
    /// Failed in a way a retry may fix (timeout, 5xx, throttling): the record is reported as
    /// a batch item failure and the stage is redone.
    Retryable,
}

impl StageStatus {
    /// Name as stored (`done`, `skipped`, `permanent`, `retryable`).
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Done => "done",
            StageStatus::Skipped => "skipped",
            StageStatus::Permanent => "permanent",
            StageStatus::Retryable => "retryable",
        }
    }

    /// Whether the stage needs no more work.
    pub fn settled(self) -> bool {
        !matches!(self, StageStatus::Retryable)
    }
}

/// The outcome of one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageOutcome {
    pub status: StageStatus,
    /// The HTTP status answered, if a call was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Why, in a few words (no secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Calls made for this stage so far, across retries.
    #[serde(default)]
    pub attempts: u32,
    /// When the stage last ran, ms since the Unix epoch.
    pub at_ms: i64,
}

impl StageOutcome {
    /// An outcome at `at_ms`, counting `attempts` calls.
    pub fn new(
        status: StageStatus,
        http_status: Option<u16>,
        detail: Option<String>,
        attempts: u32,
        at_ms: i64,
    ) -> Self {
        StageOutcome {
            status,
            http_status,
            detail,
            attempts,
            at_ms,
        }
    }

    /// Whether the stage needs no more work.
    pub fn settled(&self) -> bool {
        self.status.settled()
    }
}

/// The organization a stage works for, or the outcome of a stage that cannot run for it: an
/// unknown organization is permanent, an unavailable directory retryable.
///
/// # Errors
/// The [`StageOutcome`] to record instead (at `now`, ms since the Unix epoch).
pub fn organization(lookup: &Lookup, now: i64) -> Result<&Organization, StageOutcome> {
    match lookup {
        Lookup::Found { org, .. } => Ok(org),
        Lookup::Unknown => Err(StageOutcome::new(
            StageStatus::Permanent,
            None,
            Some("unknown organization".into()),
            0,
            now,
        )),
        Lookup::Unavailable { reason } => Err(StageOutcome::new(
            StageStatus::Retryable,
            None,
            Some(format!("organization directory unavailable: {reason}")),
            0,
            now,
        )),
    }
}

/// The calls a stage has made once it makes one more: `previous`'s count plus one.
pub fn next_attempt(previous: Option<&StageOutcome>) -> u32 {
    previous.map_or(0, |o| o.attempts) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_have_distinct_names_in_pipeline_order_and_serialize_as_named() {
        let names = Stage::ALL.map(Stage::name);
        assert_eq!(names, ["billing", "ga4", "webhook", "travel", "sharing", "alert"]);
        for stage in Stage::ALL {
            assert_eq!(serde_json::to_value(stage).unwrap(), serde_json::json!(stage.name()));
            assert_eq!(stage.to_string(), stage.name());
        }
    }

    #[test]
    fn a_stage_runs_only_for_a_known_organization() {
        assert_eq!(
            organization(&Lookup::Unknown, 5).unwrap_err().status,
            StageStatus::Permanent
        );
        let unavailable = organization(
            &Lookup::Unavailable {
                reason: "timeout".into(),
            },
            5,
        )
        .unwrap_err();
        assert_eq!(unavailable.status, StageStatus::Retryable);
        assert_eq!(
            unavailable.detail.as_deref(),
            Some("organization directory unavailable: timeout")
        );
        assert_eq!(next_attempt(None), 1);
        assert_eq!(
            next_attempt(Some(&StageOutcome::new(StageStatus::Retryable, None, None, 2, 0))),
            3
        );
    }
}
