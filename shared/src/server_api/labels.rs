//! An organization's labeled events, read for backtesting (the `score` CLI's `export-labels`):
//! its labels through their `GSI_VISITOR` partition (`ORG#<org>#LABELS`, by the time they were
//! given), then each labeled event with `BatchGetItem`.
//!
//! Neither function calls it: it lives apart from [`super::dynamo`], whose actions the edge's
//! IAM policy grants.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;

use super::FeedbackRecord;
use crate::event::EventRecord;
use crate::schema::GSI_VISITOR;
use crate::store::attr::{batch_get_all, key, n, s, text, Item};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, BATCH_GET_ITEM, QUERY};
use crate::store::StoreError;

/// What this module calls in DynamoDB (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_index(QUERY, GSI_VISITOR), Action::on_table(BATCH_GET_ITEM)];

/// A labeled event: the label and the event as it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledEvent {
    pub feedback: FeedbackRecord,
    pub event: EventRecord,
}

impl LabeledEvent {
    /// One line of a backtesting corpus: `{"requestId", "label", "reason", "labeledAt",
    /// "event"}`, `event` the whole stored record (its server context is what is scored again).
    pub fn corpus_line(&self) -> serde_json::Value {
        let mut v = self.feedback.public_json();
        v["requestId"] = serde_json::json!(self.event.request_id);
        v["event"] = serde_json::to_value(&self.event).unwrap_or_default();
        v
    }
}

/// The events `organization_id` labeled between `from_ms` and `to_ms` (inclusive, ms since
/// the Unix epoch, by label time), oldest label first. A label whose event expired is left
/// out.
///
/// # Errors
/// [`StoreError`] when DynamoDB fails or an item cannot be read.
pub async fn labeled_events(
    client: &Client,
    table: &str,
    organization_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<LabeledEvent>, StoreError> {
    let mut pks = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name(GSI_VISITOR)
            .key_condition_expression("gsi_visitor_pk = :l AND ts BETWEEN :from AND :to")
            .expression_attribute_values(":l", s(crate::schema::labels_index_pk(organization_id)))
            .expression_attribute_values(":from", n(from_ms))
            .expression_attribute_values(":to", n(to_ms))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| dynamo_error("Query", e))?;
        pks.extend(out.items().iter().filter_map(|i| text(i, "pk")).map(str::to_string));
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
    let mut labeled = Vec::with_capacity(pks.len());
    for chunk in pks.chunks(50) {
        let keys = chunk
            .iter()
            .flat_map(|pk| [key(pk, crate::schema::EVENT_SK), key(pk, crate::schema::FEEDBACK_SK)])
            .collect();
        let found = batch_get_all(table, keys, false, None, |request| {
            let call = client.batch_get_item().request_items(table, request).send();
            async move { call.await.map_err(|e| dynamo_error("BatchGetItem", e)) }
        })
        .await?;
        let mut events: HashMap<String, EventRecord> = HashMap::new();
        let mut labels: HashMap<String, FeedbackRecord> = HashMap::new();
        for item in found {
            let pk = text(&item, "pk").unwrap_or_default().to_string();
            let bad = |e: serde_dynamo::Error| StoreError::Corrupt(format!("{pk}: {e}"));
            match text(&item, "sk") {
                Some(crate::schema::EVENT_SK) => {
                    events.insert(pk.clone(), serde_dynamo::from_item(item).map_err(bad)?);
                }
                Some(crate::schema::FEEDBACK_SK) => {
                    labels.insert(pk.clone(), serde_dynamo::from_item(item).map_err(bad)?);
                }
                _ => {}
            }
        }
        for pk in chunk {
            if let (Some(event), Some(feedback)) = (events.remove(pk), labels.remove(pk)) {
                if event.organization_id == organization_id {
                    labeled.push(LabeledEvent { feedback, event });
                }
            }
        }
    }
    Ok(labeled)
}
