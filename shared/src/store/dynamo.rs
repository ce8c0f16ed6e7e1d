//! Item sizes, DynamoDB errors, and the transaction that writes an event with its message
//! marker (and, for a new visitor, the visitor's items): [`put_event_with`].

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use super::iam::{Action, GET_ITEM, PUT_ITEM};
use super::{StoreError, StoredMessage};

/// What this module calls in DynamoDB: the event transaction (its items are puts) and the
/// message marker's read (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(GET_ITEM), Action::on_table(PUT_ITEM)];

type Item = HashMap<String, AttributeValue>;

pub use super::client::*;

/// DynamoDB's largest item: 400 KB, names and values included (DynamoDB Developer Guide,
/// "Service, account, and table quotas": "Item size").
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The size of an item as DynamoDB counts it, bytes (DynamoDB Developer Guide, "Item sizes
/// and formats"): each attribute name's UTF-8 length plus its value's size — strings and
/// binaries their length, numbers about one byte per two significant digits plus one, a
/// boolean or null one byte, a list or map three bytes plus one per element plus the
/// elements (and a map's key names). An upper bound within a few bytes.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            let digits = n.bytes().filter(u8::is_ascii_digit).count();
            digits.div_ceil(2) + 1
        }
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum::<usize>(),
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(ns) => ns.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(bs) => bs.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// Refuses an item over [`MAX_ITEM_BYTES`] before it is sent.
///
/// # Errors
/// [`StoreError::ItemTooLarge`].
pub fn within_item_limit(item: &Item) -> Result<(), StoreError> {
    let bytes = item_size(item);
    if bytes > MAX_ITEM_BYTES {
        return Err(StoreError::ItemTooLarge {
            bytes,
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(())
}

/// An event as its transaction writes it: the event's item and, with a message id, its
/// marker's.
#[derive(Debug, Clone, PartialEq)]
pub struct EventItems {
    /// The event's key.
    pub pk: String,
    pub sk: String,
    pub request_id: String,
    pub event_id: String,
    pub item: Item,
    pub marker: Option<MarkerItem>,
}

/// A message marker as a transaction writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerItem {
    pub pk: String,
    pub item: Item,
    /// When the event was stored, ms: a marker expired before is absent.
    pub ts_ms: i64,
}

/// What [`put_event_with`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transaction {
    /// Everything was written.
    Stored,
    /// The message was stored before, by the event named here: nothing was written.
    Repeated(StoredMessage),
    /// The condition of one of the other items failed: nothing was written.
    OtherFailed,
}

/// Writes `event`, its message marker (when given) and `others` in one `TransactWriteItems`
/// (at most 100 items in all): the event only if its key is new, the marker only if the
/// message's marker is absent or expired, the others with their own conditions. When the
/// transaction is cancelled, says whose condition failed — the marker's first (a repeated
/// message), then the others' — and nothing was written.
///
/// # Errors
/// [`StoreError::Duplicate`] when the event's key exists (and nothing else failed),
/// [`StoreError::Serialize`] / [`StoreError::ItemTooLarge`] for an event DynamoDB cannot
/// hold, [`StoreError::Dynamo`] when DynamoDB fails otherwise (a `TransactionConflict` with
/// a concurrent send of the same message included: the sender retries and finds the marker).
pub async fn put_event_with(
    client: &Client,
    table: &str,
    event: &EventItems,
    others: Vec<TransactWriteItem>,
) -> Result<Transaction, StoreError> {
    within_item_limit(&event.item)?;
    let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Dynamo {
        operation: "TransactWriteItems",
        message: e.to_string(),
        source: Box::new(e),
    };
    let event_put = Put::builder()
        .table_name(table)
        .set_item(Some(event.item.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build)?;
    let mut items = vec![TransactWriteItem::builder().put(event_put).build()];
    let message = event.marker.as_ref();
    if let Some(message) = message {
        // A marker past its TTL that DynamoDB has not removed yet (it may take days) no
        // longer counts: the window is the configured one.
        let marker_put = Put::builder()
            .table_name(table)
            .set_item(Some(message.item.clone()))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N((message.ts_ms / 1000).to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build)?;
        items.push(TransactWriteItem::builder().put(marker_put).build());
    }
    let first_other = items.len();
    items.extend(others);
    let e = match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => return Ok(Transaction::Stored),
        Err(e) => e,
    };
    // Cancelled: reason 0 is the event's condition, reason 1 the marker's (with the marker
    // as stored, asked for by ALL_OLD), the rest the others'.
    if let SdkError::ServiceError(se) = &e {
        if let TransactWriteItemsError::TransactionCanceledException(c) = se.err() {
            let reasons = c.cancellation_reasons();
            let failed = |i: usize| reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
            if let Some(message) = message.filter(|_| failed(1)) {
                if let Some(stored) = reasons[1].item().and_then(|i| stored_message(i, message.ts_ms)) {
                    return Ok(Transaction::Repeated(stored));
                }
                // Without the old item in the answer: read it.
                if let Some(stored) = read_message(client, table, &message.pk, message.ts_ms, true).await? {
                    return Ok(Transaction::Repeated(stored));
                }
            }
            if (first_other..reasons.len()).any(failed) {
                return Ok(Transaction::OtherFailed);
            }
            if failed(0) {
                return Err(StoreError::Duplicate {
                    pk: event.pk.clone(),
                    sk: event.sk.clone(),
                });
            }
        }
    }
    Err(dynamo_error("TransactWriteItems", e))
}

/// The marker under `pk`, unless it expired before `now_ms`.
///
/// # Errors
/// [`StoreError::Dynamo`] when DynamoDB fails.
pub async fn read_message(
    client: &Client,
    table: &str,
    pk: &str,
    now_ms: i64,
    consistent: bool,
) -> Result<Option<StoredMessage>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_string()))
        .key("sk", AttributeValue::S(crate::schema::MESSAGE_SK.to_string()))
        .consistent_read(consistent)
        .projection_expression("request_id, event_id, expires_at")
        .send()
        .await
        .map_err(|e| dynamo_error("GetItem", e))?;
    Ok(out.item().and_then(|i| stored_message(i, now_ms)))
}

/// The request and event ids of a message marker's item, unless it expired before `now_ms`.
fn stored_message(item: &Item, now_ms: i64) -> Option<StoredMessage> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let expires_at: i64 = item.get("expires_at")?.as_n().ok()?.parse().ok()?;
    if expires_at < now_ms / 1000 {
        return None;
    }
    Some(StoredMessage {
        request_id: text("request_id")?,
        event_id: text("event_id")?,
    })
}

/// Wraps an SDK error, keeping the service's error code in the message. DynamoDB's refusal
/// of an item over its size limit (a `ValidationException` saying so) is
/// [`StoreError::ItemTooLarge`]: the request's fault, never an outage.
pub fn dynamo_error<E, R>(operation: &'static str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.code() == Some("ValidationException")
        && e.message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("item size"))
    {
        return StoreError::ItemTooLarge {
            bytes: MAX_ITEM_BYTES + 1,
            limit: MAX_ITEM_BYTES,
        };
    }
    let message = match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => DisplayErrorContext(&e).to_string(),
    };
    StoreError::Dynamo {
        operation,
        message,
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_count_names_and_values() {
        let item: Item = [
            ("pk".to_string(), AttributeValue::S("REQ#1".into())),
            ("n".to_string(), AttributeValue::N("12345".into())),
            ("ok".to_string(), AttributeValue::Bool(true)),
            (
                "m".to_string(),
                AttributeValue::M([("k".to_string(), AttributeValue::S("vv".into()))].into()),
            ),
            ("l".to_string(), AttributeValue::L(vec![AttributeValue::Null(true)])),
        ]
        .into();
        // pk 2+5, n 1+(3+1), ok 2+1, m 1+(3+1+1+2), l 1+(3+1+1)
        assert_eq!(item_size(&item), 7 + 5 + 3 + 8 + 6);
        assert!(within_item_limit(&item).is_ok());
        let big: Item = [("p".to_string(), AttributeValue::S("x".repeat(MAX_ITEM_BYTES)))].into();
        assert!(matches!(
            within_item_limit(&big),
            Err(StoreError::ItemTooLarge { bytes, .. }) if bytes == MAX_ITEM_BYTES + 1
        ));
    }
}
