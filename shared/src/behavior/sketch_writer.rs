//! The stream processor's writer of the JA4 sketch raises events carry
//! ([`super::rules::sketch_raises`]): one conditional `UpdateItem` per aggregate bucket for a
//! whole batch, in DynamoDB ([`DynamoSketchWriter`]) or in memory for tests
//! ([`super::memory::MemoryBehaviorStore`]).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use aws_sdk_dynamodb::Client;

use super::keys::SHORT_BUCKET_SECS;
use super::rules;
use super::sketch::{by_bucket, Register, Sketch, SketchRaise};
use super::store::SketchWriter;
use crate::store::attr::{n, s, Item};
use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, UPDATE_ITEM};
use crate::store::StoreError;

/// What this module calls in DynamoDB: `UpdateItem` (the infrastructure tests hold this to the
/// code and to the processor's grants).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(UPDATE_ITEM)];

/// Attempts of one bucket's update before the registers still lower are reported (each
/// attempt after the first follows another writer's raise of one of them).
pub const RAISE_ATTEMPTS: usize = 4;

/// Writes sketch raises to one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoSketchWriter {
    client: Client,
    table: String,
}

impl DynamoSketchWriter {
    /// A writer on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSketchWriter {
            client,
            table: table.into(),
        }
    }
}

/// Raises the registers of `sketch` in the bucket `pk` / `start` of `table` in one
/// `UpdateItem`, each only where it is absent or lower: the one write of a sketch, the edge's
/// (a register or two) and the processor's (a batch's) alike. A condition that fails (another
/// writer raised some register as high meanwhile) returns the item as stored; the update is
/// sent again with the registers still to raise, at most [`RAISE_ATTEMPTS`] times in all.
///
/// # Errors
/// [`StoreError::Dynamo`] when DynamoDB fails, or registers are still lower after the last
/// attempt.
pub(crate) async fn raise_together(
    client: &Client,
    table: &str,
    pk: &str,
    start: i64,
    sketch: &Sketch,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut pending: Vec<Register> = sketch.registers().collect();
    for _ in 0..RAISE_ATTEMPTS {
        if pending.is_empty() {
            return Ok(());
        }
        let mut sets = vec![
            "item_type = :t".to_string(),
            "expires_at = :exp".to_string(),
            "first_seen = if_not_exists(first_seen, :now)".to_string(),
        ];
        let mut conditions = Vec::new();
        let mut update = client
            .update_item()
            .table_name(table)
            .key("pk", s(pk))
            .key("sk", s(crate::schema::bucket_sk(start)))
            .expression_attribute_values(":t", s("aggregate"))
            .expression_attribute_values(":exp", n(rules::aggregate_expiry(start, SHORT_BUCKET_SECS)))
            .expression_attribute_values(":now", n(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (i, r) in pending.iter().enumerate() {
            sets.push(format!("#r{i} = :r{i}"));
            conditions.push(format!("(attribute_not_exists(#r{i}) OR #r{i} < :r{i})"));
            update = update
                .expression_attribute_names(format!("#r{i}"), r.attribute())
                .expression_attribute_values(format!(":r{i}"), n(i64::from(r.rank)));
        }
        let result = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => {
                    let stored = failed.item().map(sketch_of).unwrap_or_default();
                    pending.retain(|r| stored.would_raise(*r));
                }
                _ => return Err(dynamo_error("UpdateItem", SdkError::ServiceError(e))),
            },
            Err(e) => return Err(dynamo_error("UpdateItem", e)),
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(StoreError::Dynamo {
        operation: "UpdateItem",
        message: format!(
            "{} registers still lower after {RAISE_ATTEMPTS} attempts",
            pending.len()
        ),
        source: "concurrent raises".into(),
    })
}

/// The registers of a stored sketch item (attributes `r<index>`).
pub(crate) fn sketch_of(item: &Item) -> Sketch {
    let mut sketch = Sketch::new();
    for (name, value) in item {
        if let Some(rank) = name
            .starts_with('r')
            .then(|| value.as_n().ok()?.parse::<i64>().ok())
            .flatten()
        {
            sketch.load(name, rank);
        }
    }
    sketch
}

impl SketchWriter for DynamoSketchWriter {
    async fn raise_all(&self, raises: &[SketchRaise], now_ms: i64) -> Result<usize, StoreError> {
        let buckets = by_bucket(raises);
        let updates = buckets
            .iter()
            .map(|((pk, start), sketch)| raise_together(&self.client, &self.table, pk, *start, sketch, now_ms));
        futures::future::try_join_all(updates).await?;
        Ok(buckets.len())
    }
}
