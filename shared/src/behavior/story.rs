//! A request's story: every record it produced (its event, the block it caused, the
//! blacklist hit that stopped it), read by its request id for the `story` tool.
//!
//! It is the one `Query` of the table's own key, and neither function makes it: it lives apart
//! from [`super::store`], whose actions the edge's IAM policy grants, so that the edge is not
//! granted `dynamodb:Query` for an operator's tool.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::store::dynamo::dynamo_error;
use crate::store::iam::{Action, QUERY};
use crate::store::StoreError;

/// What this module calls in DynamoDB: a `Query` of one partition of the table (the infrastructure tests
/// hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(QUERY)];

/// Every record stored under `request_id` in `table` (event, block, blacklist hit).
///
/// # Errors
/// [`StoreError`] when DynamoDB fails.
pub async fn request_story(
    client: &Client,
    table: &str,
    request_id: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(crate::schema::request_pk(request_id)))
        .send()
        .await
        .map_err(|e| dynamo_error("Query", e))?;
    Ok(out.items().to_vec())
}
