//! DynamoDB adapter of [`EventStore`], through `aws-sdk-dynamodb` and `serde_dynamo`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use super::iam::{Action, GET_ITEM, PUT_ITEM};
use super::{EventStore, StoreError, StoredMessage, Written};
use crate::conf::ConfigError;
use crate::event::{EventRecord, MessageRecord, MESSAGE_SORT_KEY};

/// What this module calls in DynamoDB: the event write (alone, or in one transaction with its
/// message marker) and the marker's read (the infrastructure tests hold this to the code).
pub const DYNAMODB_ACTIONS: &[Action] = &[Action::on_table(GET_ITEM), Action::on_table(PUT_ITEM)];

type Item = HashMap<String, AttributeValue>;

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

/// Writes events to one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoEventStore {
    client: Client,
    table: String,
}

impl DynamoEventStore {
    /// A store writing to `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoEventStore {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Per-attempt timeout of a DynamoDB call, ms (`DYNAMODB_ATTEMPT_TIMEOUT_MS`): a call that
/// hangs (a connection lost without a reset) is abandoned and retried by the SDK instead of
/// holding the invocation until the Lambda timeout.
pub const ATTEMPT_TIMEOUT_VAR: &str = "DYNAMODB_ATTEMPT_TIMEOUT_MS";
/// Timeout of a DynamoDB call with its retries, ms (`DYNAMODB_OPERATION_TIMEOUT_MS`).
pub const OPERATION_TIMEOUT_VAR: &str = "DYNAMODB_OPERATION_TIMEOUT_MS";

/// The DynamoDB client's timeouts, ms. Defaults: 2 s per attempt (DynamoDB answers in
/// milliseconds; 2 s is far above its p99.9) and 6 s per call with its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoTimeouts {
    pub attempt_ms: u64,
    pub operation_ms: u64,
}

impl Default for DynamoTimeouts {
    fn default() -> Self {
        DynamoTimeouts {
            attempt_ms: 2_000,
            operation_ms: 6_000,
        }
    }
}

impl DynamoTimeouts {
    /// Reads [`ATTEMPT_TIMEOUT_VAR`] and [`OPERATION_TIMEOUT_VAR`] through `lookup`; a missing,
    /// unreadable or zero value keeps its default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let d = DynamoTimeouts::default();
        let ms = |var: &str, default: u64| {
            lookup(var)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        DynamoTimeouts {
            attempt_ms: ms(ATTEMPT_TIMEOUT_VAR, d.attempt_ms),
            operation_ms: ms(OPERATION_TIMEOUT_VAR, d.operation_ms),
        }
    }

    /// The SDK's timeout configuration.
    pub fn sdk_config(&self) -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
        aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(std::time::Duration::from_millis(self.attempt_ms))
            .operation_timeout(std::time::Duration::from_millis(self.operation_ms))
            .build()
    }
}

/// The functions' own DynamoDB endpoint override (`DYNAMODB_ENDPOINT`): empty in every
/// deployment (the template declares it empty, so that `sam local --env-vars` can set it: SAM
/// only overrides variables a template declares), a local DynamoDB API such as moto server in
/// a local stack. The AWS SDK's own `AWS_ENDPOINT_URL_DYNAMODB` cannot be declared empty: the
/// SDK takes an empty value for a malformed URL.
pub const ENDPOINT_VAR: &str = "DYNAMODB_ENDPOINT";

/// Reads [`ENDPOINT_VAR`] through `lookup`: unset or empty is `None` (the SDK's own settings
/// decide); otherwise an absolute `http://` or `https://` URL.
///
/// # Errors
/// [`ConfigError::Invalid`] for any other value.
pub fn endpoint_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = lookup(ENDPOINT_VAR)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    match url::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(Some(value)),
        _ => Err(ConfigError::Invalid {
            var: ENDPOINT_VAR,
            message: format!("{value:?} is not an http(s) URL"),
        }),
    }
}

/// Builds a DynamoDB client from the function's environment as Lambda sets it (AWS Lambda
/// Developer Guide, "Defined runtime environment variables"): the region from `AWS_REGION`
/// (else `AWS_DEFAULT_REGION`), the execution role's credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and a local endpoint such as moto from
/// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL` (the SDK's own names); with
/// `timeouts`, trusting the compiled-in root certificates ([`crate::tls`]); `endpoint` (from
/// [`endpoint_from_lookup`]), when given, overrides the endpoint.
///
/// The functions need nothing else, so they do not link the SDK's whole credential chain
/// (aws-config, which brings the STS client); the operators' tools do
/// ([`client_from_credential_chain`], feature `cli`). Missing credentials are logged here, and
/// every call then fails with the SDK's error.
pub async fn client_with_timeouts(timeouts: DynamoTimeouts, endpoint: Option<&str>) -> Client {
    client_from_lookup(timeouts, endpoint, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// [`client_with_timeouts`] reading its variables through `lookup`.
pub fn client_from_lookup(
    timeouts: DynamoTimeouts,
    endpoint: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .timeout_config(timeouts.sdk_config());
    if let Some(region) = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION")) {
        config = config.region(Region::new(region));
    }
    match (lookup("AWS_ACCESS_KEY_ID"), lookup("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            let credentials = Credentials::new(id, secret, lookup("AWS_SESSION_TOKEN"), None, "environment");
            config = config.credentials_provider(credentials);
        }
        _ => tracing::error!("no AWS credentials in the environment: DynamoDB calls will fail"),
    }
    // The compiled-in roots (crate::tls); the SDK's default client reads the system's. Its
    // PEM parses only fail on a broken build of the root list: then the SDK's default.
    match crate::tls::sdk_http_client() {
        Ok(http) => config = config.http_client(http),
        Err(e) => tracing::warn!(error = %e, "compiled-in TLS roots refused: the system's are used"),
    }
    let url = endpoint
        .map(str::to_string)
        .or_else(|| lookup("AWS_ENDPOINT_URL_DYNAMODB"))
        .or_else(|| lookup("AWS_ENDPOINT_URL"));
    if let Some(url) = url {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}

/// Builds a DynamoDB client from the SDK's whole credential chain (environment, shared
/// profiles, SSO, web identity, container and instance metadata) and region chain, as the AWS
/// CLI does: for operators running the command-line tools, with `timeouts` and the
/// compiled-in roots; `endpoint` overrides the endpoint.
#[cfg(feature = "cli")]
pub async fn client_from_credential_chain(timeouts: DynamoTimeouts, endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts.sdk_config());
    if let Ok(http) = crate::tls::sdk_http_client() {
        loader = loader.http_client(http);
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

impl EventStore for DynamoEventStore {
    async fn put_event(&self, event: &EventRecord, message: Option<&MessageRecord>) -> Result<Written, StoreError> {
        let Some(message) = message else {
            let item: Item = serde_dynamo::to_item(event).map_err(StoreError::Serialize)?;
            within_item_limit(&item)?;
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            return match result {
                Ok(_) => Ok(Written::Stored),
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    Err(StoreError::Duplicate {
                        pk: event.pk.clone(),
                        sk: event.sk.clone(),
                    })
                }
                Err(e) => Err(dynamo_error("PutItem", e)),
            };
        };
        match put_event_with(&self.client, &self.table, event, Some(message), Vec::new()).await? {
            Transaction::Stored => Ok(Written::Stored),
            Transaction::Repeated(stored) => Ok(Written::Repeated(stored)),
            // No other item was written with it.
            Transaction::OtherFailed => Err(StoreError::Dynamo {
                operation: "TransactWriteItems",
                message: "a condition of no item failed, yet the transaction was cancelled".into(),
                source: "cancelled transaction".into(),
            }),
        }
    }

    async fn find_message(
        &self,
        organization_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let pk = MessageRecord::partition_key(organization_id, message_id);
        read_message(&self.client, &self.table, &pk, now_ms, false).await
    }
}

/// What [`put_event_with`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transaction {
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
pub(crate) async fn put_event_with(
    client: &Client,
    table: &str,
    event: &EventRecord,
    message: Option<&MessageRecord>,
    others: Vec<TransactWriteItem>,
) -> Result<Transaction, StoreError> {
    let item: Item = serde_dynamo::to_item(event).map_err(StoreError::Serialize)?;
    within_item_limit(&item)?;
    let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Dynamo {
        operation: "TransactWriteItems",
        message: e.to_string(),
        source: Box::new(e),
    };
    let event_put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build)?;
    let mut items = vec![TransactWriteItem::builder().put(event_put).build()];
    if let Some(message) = message {
        let marker: Item = serde_dynamo::to_item(message).map_err(StoreError::Serialize)?;
        // A marker past its TTL that DynamoDB has not removed yet (it may take days) no
        // longer counts: the window is the configured one.
        let marker_put = Put::builder()
            .table_name(table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N((message.ts / 1000).to_string()))
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
                if let Some(stored) = reasons[1].item().and_then(|i| stored_message(i, message.ts)) {
                    return Ok(Transaction::Repeated(stored));
                }
                // Without the old item in the answer: read it.
                if let Some(stored) = read_message(client, table, &message.pk, message.ts, true).await? {
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
async fn read_message(
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
        .key("sk", AttributeValue::S(MESSAGE_SORT_KEY.to_string()))
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
mod timeout_tests {
    use std::time::Duration;

    #[test]
    fn timeouts_default_and_override() {
        let t = super::DynamoTimeouts::from_lookup(|_| None).sdk_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(2_000)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(6_000)));
        let t = super::DynamoTimeouts::from_lookup(|k| match k {
            "DYNAMODB_ATTEMPT_TIMEOUT_MS" => Some("20000".into()),
            "DYNAMODB_OPERATION_TIMEOUT_MS" => Some("nonsense".into()),
            _ => None,
        })
        .sdk_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(20_000)));
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_millis(6_000)),
            "unreadable: the default"
        );
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
