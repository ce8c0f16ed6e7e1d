//! Decoding a DynamoDB Streams batch into the events the processor works on: record by
//! record, so one malformed record cannot fail the others (pure: no I/O, fuzzed).
//!
//! Each stream record is decoded into `aws_lambda_events::dynamodb::EventRecord`, and its new
//! image with `serde_dynamo` into the [`EventRecord`]. Anything but an INSERT of an `event`
//! item is ignored, as is a repeated delivery of one event within the batch; a record that
//! does not decode, or whose values the edge could not have written
//! ([`EventRecord::check_plausible`]: a time outside 2000–2100, coordinates off the globe),
//! is logged with its sequence number, counted and skipped: retrying cannot fix it.

use aws_lambda_events::event::dynamodb;
use serde_json::Value;

use crate::event::{EventRecord, EVENT_ITEM_TYPE};

/// An INSERT of an event item, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The stream record's sequence number: its `itemIdentifier` in `batchItemFailures`.
    pub sequence_number: String,
    pub event: EventRecord,
}

/// The decoded batch.
#[derive(Debug, Default)]
pub struct Decoded {
    pub records: Vec<Incoming>,
    /// Stream records that are not INSERTs of event items (other item types, MODIFY,
    /// REMOVE), and repeated deliveries of one event within the batch.
    pub ignored: usize,
    /// Stream records that could not be decoded (logged with their sequence number).
    pub undecodable: usize,
}

fn sequence_of(raw: &Value) -> String {
    raw.pointer("/dynamodb/SequenceNumber")
        .and_then(Value::as_str)
        .unwrap_or("(none)")
        .to_string()
}

/// Decodes a DynamoDB Streams event (`{"Records": [...]}`) record by record, so one malformed
/// record cannot fail the others.
pub fn decode_batch(event: &Value) -> Decoded {
    let mut out = Decoded::default();
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        tracing::error!("the event has no Records array: not a DynamoDB Streams batch");
        return out;
    };
    let mut seen = std::collections::HashSet::new();
    for raw in records {
        let record = match <dynamodb::EventRecord as serde::Deserialize>::deserialize(raw) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(sequence_number = %sequence_of(raw), error = %e, "undecodable stream record skipped");
                out.undecodable += 1;
                continue;
            }
        };
        let sequence_number = record
            .change
            .sequence_number
            .clone()
            .unwrap_or_else(|| sequence_of(raw));
        let item_type = match record.change.new_image.get("item_type") {
            Some(serde_dynamo::AttributeValue::S(t)) => Some(t.as_str()),
            _ => None,
        };
        if record.event_name != "INSERT" || item_type != Some(EVENT_ITEM_TYPE) {
            out.ignored += 1;
            continue;
        }
        match serde_dynamo::from_item::<_, EventRecord>(record.change.new_image)
            .map_err(|e| e.to_string())
            .and_then(|event| event.check_plausible().map(|()| event))
        {
            Ok(event) => {
                if seen.insert(event.pk.clone()) {
                    out.records.push(Incoming { sequence_number, event });
                } else {
                    out.ignored += 1;
                }
            }
            Err(e) => {
                tracing::error!(sequence_number = %sequence_number, error = %e, "undecodable event image skipped");
                out.undecodable += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first record of the committed sample batch, with its `ts` replaced.
    fn batch_with_ts(values: &[&str]) -> Value {
        let sample: Value = serde_json::from_str(include_str!("../../../events/processor/stream-batch.json")).unwrap();
        let first = sample["Records"][0].clone();
        let records: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, ts)| {
                let mut r = first.clone();
                r["dynamodb"]["NewImage"]["ts"]["N"] = Value::String(ts.to_string());
                r["dynamodb"]["NewImage"]["pk"]["S"] = Value::String(format!("REQ#record-{i}"));
                r["dynamodb"]["SequenceNumber"] = Value::String(format!("{}", 1000 + i));
                r
            })
            .collect();
        serde_json::json!({ "Records": records })
    }

    #[test]
    fn implausible_values_are_refused_at_decode_and_their_neighbours_kept() {
        // i64::MIN once panicked in the window arithmetic and failed the whole batch.
        let d = decode_batch(&batch_with_ts(&[
            "1795000000000",
            &i64::MIN.to_string(),
            &i64::MAX.to_string(),
            "5",
            "99999999999999999999",
        ]));
        assert_eq!((d.records.len(), d.undecodable), (1, 4));
        assert_eq!(d.records[0].sequence_number, "1000");
        assert_eq!(d.records[0].event.ts, 1_795_000_000_000);
    }
}
