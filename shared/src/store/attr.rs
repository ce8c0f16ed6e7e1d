//! The DynamoDB helpers every adapter shares: building and reading attribute values, and the
//! retry of what a batch call leaves unprocessed. The calls themselves stay in each adapter,
//! so its `DYNAMODB_ACTIONS` is what its own code calls.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::StoreError;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Rounds of asking again for what a batch call left unprocessed before giving up.
pub const BATCH_RETRIES: u32 = 5;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The key `{pk, sk}` of an item.
pub fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// The string attribute `k` of `item` (`None` when absent or not a string).
pub fn text<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k)?.as_s().ok().map(String::as_str)
}

/// The integer attribute `k` of `item` (`None` when absent, not a number or not an integer
/// in `i64`).
pub fn num(item: &Item, k: &str) -> Option<i64> {
    item.get(k)?.as_n().ok()?.parse().ok()
}

/// The string-set attribute `k` of `item` (empty when absent).
pub fn string_set(item: &Item, k: &str) -> BTreeSet<String> {
    item.get(k)
        .and_then(|v| v.as_ss().ok())
        .map(|v| v.iter().cloned().collect())
        .unwrap_or_default()
}

/// A request the SDK's builder refused, as a [`StoreError`].
pub fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Dynamo {
        operation: "build",
        message: e.to_string(),
        source: Box::new(e),
    }
}

/// What one `BatchGetItem` round answered for `table`: the items found, and the keys left
/// unprocessed (`None` when none were), as [`until_processed`] takes them.
pub fn batch_get_round(out: BatchGetItemOutput, table: &str) -> (Vec<Item>, Option<KeysAndAttributes>) {
    let items = out.responses.and_then(|mut r| r.remove(table)).unwrap_or_default();
    let unprocessed = out
        .unprocessed_keys
        .and_then(|mut u| u.remove(table))
        .filter(|k| !k.keys().is_empty());
    (items, unprocessed)
}

/// Reads `keys` of `table` with `BatchGetItem`: 100 keys a call, the calls at once (one round
/// trip), each call's unprocessed keys asked again ([`until_processed`]); eventually consistent
/// unless `consistent`, only `projection` when given. `send` makes one call with the adapter's
/// own client (so that the adapter's `DYNAMODB_ACTIONS` is what its code calls).
///
/// # Errors
/// The first call's [`StoreError`], or keys that stayed unprocessed.
pub async fn batch_get_all<F, Fut>(
    table: &str,
    keys: Vec<Item>,
    consistent: bool,
    projection: Option<&str>,
    send: F,
) -> Result<Vec<Item>, StoreError>
where
    F: Fn(KeysAndAttributes) -> Fut,
    Fut: Future<Output = Result<BatchGetItemOutput, StoreError>>,
{
    let send = &send;
    let calls = keys.chunks(100).map(|chunk| async move {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(chunk.to_vec()))
            .consistent_read(consistent)
            .set_projection_expression(projection.map(str::to_string))
            .build()
            .map_err(build_error)?;
        let rounds = until_processed("BatchGetItem", request, |request| {
            let call = send(request);
            async move { Ok(batch_get_round(call.await?, table)) }
        })
        .await?;
        Ok::<_, StoreError>(rounds.into_iter().flatten().collect::<Vec<_>>())
    });
    Ok(futures::future::try_join_all(calls)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// The wait before retry round `round` (1-based): 50 ms doubling, at most 1.6 s.
async fn backoff(round: u32) {
    tokio::time::sleep(Duration::from_millis(25 << round.min(6))).await;
}

/// Runs a batch call until nothing is left unprocessed: `call` sends `request` and answers
/// what that round returned and what DynamoDB left unprocessed (`None` when nothing was); the
/// unprocessed part is sent again after a backoff, at most [`BATCH_RETRIES`] times. Returns
/// what each round returned.
///
/// # Errors
/// The call's [`StoreError`]; or, when requests stay unprocessed after the retries,
/// `StoreError::Dynamo` for `operation` ("keys stayed unprocessed").
pub async fn until_processed<T, U, F, Fut>(
    operation: &'static str,
    request: T,
    mut call: F,
) -> Result<Vec<U>, StoreError>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(U, Option<T>), StoreError>>,
{
    let mut out = Vec::new();
    let mut pending = Some(request);
    let mut round = 0;
    while let Some(request) = pending.take() {
        if round > 0 {
            if round > BATCH_RETRIES {
                return Err(StoreError::Dynamo {
                    operation,
                    message: "keys stayed unprocessed".into(),
                    source: "throttled".into(),
                });
            }
            backoff(round).await;
        }
        let (got, left) = call(request).await?;
        out.push(got);
        pending = left;
        round += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_read_back_as_written() {
        let mut item = key("ORG#o#BL#IP#192.0.2.1", "BL");
        item.insert("n".into(), n(-42));
        item.insert("vs".into(), AttributeValue::Ss(vec!["b".into(), "a".into()]));
        assert_eq!(text(&item, "sk"), Some("BL"));
        assert_eq!(num(&item, "n"), Some(-42));
        assert_eq!(num(&item, "sk"), None);
        assert_eq!(
            string_set(&item, "vs"),
            BTreeSet::from(["a".to_string(), "b".to_string()])
        );
        assert!(string_set(&item, "missing").is_empty());
    }

    #[tokio::test]
    async fn unprocessed_requests_are_sent_again_until_done_or_out_of_retries() {
        // Two rounds leave something unprocessed, the third finishes.
        let rounds = until_processed("BatchGetItem", 3u32, |left| async move {
            Ok((left * 10, (left > 1).then_some(left - 1)))
        })
        .await
        .unwrap();
        assert_eq!(rounds, [30, 20, 10]);
        // Never done: the first call and five retries (1.55 s of backoff), then an error.
        let mut calls = 0;
        let err = until_processed("BatchWriteItem", (), |()| {
            calls += 1;
            async { Ok(((), Some(()))) }
        })
        .await
        .unwrap_err();
        assert_eq!(calls, 1 + BATCH_RETRIES);
        assert!(err.to_string().contains("BatchWriteItem"), "{err}");
    }
}
