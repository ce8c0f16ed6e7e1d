//! The processor's metrics, in CloudWatch Embedded Metric Format (see [`crate::metrics`]):
//! written once per batch, when its report is ready.
//!
//! | metric | unit | dimensions | recorded |
//! |--------|------|------------|----------|
//! | `StageOutcomes` | Count | `Stage`, `Outcome` | per batch: the records whose stage ran in this batch and ended so |
//! | `BillingLatency` | Milliseconds | — | one value per billing call (one per organization and idempotency key) |
//! | `WebhookLatency` | Milliseconds | — | one value per webhook delivery that reached the network (an answer, a timeout or a connection failure; not a URL refused before any call) |
//! | `BatchItemFailures` | Count | — | per batch: the records reported for retry (0 included) |
//!
//! `Stage` is a [`Stage`]'s name: `billing`, `ga4`, `webhook`, `travel`, `sharing` or `alert`; `Outcome` is `done`,
//! `skipped`, `permanent` or `retryable` (as in the processing item). A stage that settled in
//! an earlier delivery is not run again, so it is not counted again.

use std::collections::BTreeMap;

use super::stage::{Stage, StageStatus};
use crate::metrics::{MetricSet, Unit};

/// What one batch measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchMetrics {
    /// (stage, outcome) → records.
    pub stage_outcomes: BTreeMap<(&'static str, &'static str), u64>,
    /// Each billing call's duration, ms.
    pub billing_ms: Vec<f64>,
    /// Each webhook delivery's duration, ms.
    pub webhook_ms: Vec<f64>,
    /// Records reported in `batchItemFailures`.
    pub batch_item_failures: usize,
}

impl BatchMetrics {
    /// Counts one record whose `stage` ran and ended with `status`.
    pub fn stage(&mut self, stage: Stage, status: StageStatus) {
        *self.stage_outcomes.entry((stage.name(), status.as_str())).or_default() += 1;
    }

    /// The metric sets of the batch.
    pub fn sets(&self) -> Vec<MetricSet> {
        let mut sets = vec![MetricSet::new()
            .count("BatchItemFailures", self.batch_item_failures as u64)
            .values("BillingLatency", Unit::Milliseconds, self.billing_ms.iter().copied())
            .values("WebhookLatency", Unit::Milliseconds, self.webhook_ms.iter().copied())];
        for ((stage, outcome), n) in &self.stage_outcomes {
            sets.push(
                MetricSet::new()
                    .dimension("Stage", *stage)
                    .dimension("Outcome", *outcome)
                    .count("StageOutcomes", *n),
            );
        }
        sets
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metrics::{documents, extract};

    #[test]
    fn a_batch_is_a_few_documents_of_outcomes_latencies_and_failures() {
        let mut m = BatchMetrics {
            billing_ms: vec![12.0, 30.5],
            webhook_ms: vec![80.25],
            batch_item_failures: 1,
            ..BatchMetrics::default()
        };
        m.stage(Stage::Webhook, StageStatus::Done);
        m.stage(Stage::Webhook, StageStatus::Done);
        m.stage(Stage::Webhook, StageStatus::Retryable);
        m.stage(Stage::Ga4, StageStatus::Skipped);
        let docs = documents("Impressio", 7, &m.sets(), &[]).unwrap();
        assert_eq!(docs.len(), 3, "one per (stage, outcome), the batch totals in the first");
        let points: Vec<_> = docs.iter().flat_map(extract).collect();
        let find = |name: &str, dims: &[(&str, &str)]| {
            let dims: BTreeMap<String, String> = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            points
                .iter()
                .find(|p| p.name == name && p.dimensions == dims)
                .map(|p| (p.unit.clone().unwrap(), p.values.clone()))
        };
        assert_eq!(find("BatchItemFailures", &[]), Some(("Count".into(), vec![1.0])));
        assert_eq!(
            find("BillingLatency", &[]),
            Some(("Milliseconds".into(), vec![12.0, 30.5]))
        );
        assert_eq!(find("WebhookLatency", &[]), Some(("Milliseconds".into(), vec![80.25])));
        let outcome = |stage, outcome| find("StageOutcomes", &[("Stage", stage), ("Outcome", outcome)]);
        assert_eq!(outcome("webhook", "done"), Some(("Count".into(), vec![2.0])));
        assert_eq!(outcome("webhook", "retryable"), Some(("Count".into(), vec![1.0])));
        assert_eq!(outcome("ga4", "skipped"), Some(("Count".into(), vec![1.0])));
        assert_eq!(points.len(), 6);
    }

    #[test]
    fn an_idle_batch_still_reports_zero_failures() {
        let docs = documents("Impressio", 7, &BatchMetrics::default().sets(), &[]).unwrap();
        let points: Vec<_> = docs.iter().flat_map(extract).collect();
        assert_eq!(points.len(), 1);
        assert_eq!(
            (points[0].name.as_str(), points[0].values.as_slice()),
            ("BatchItemFailures", &[0.0][..])
        );
    }
}
