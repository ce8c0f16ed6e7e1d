//! Reading a table's real DynamoDB Stream (from moto server) and turning its records into the
//! event Lambda's event source mapping delivers, so the processor is tested, and run in the
//! local stack, on real-format batches.

use std::collections::VecDeque;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{json, Value};

/// A DynamoDB Streams client for `endpoint` with the fixed test region and credentials.
pub fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reads every shard of a table's stream from its start (`TRIM_HORIZON`).
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// `(shard id, next iterator)`; `None` once a closed shard is read to its end.
    shards: Vec<(String, Option<String>)>,
    buffer: VecDeque<Value>,
}

impl StreamReader {
    /// Opens the stream of `table` on `endpoint`.
    ///
    /// # Errors
    /// When the table has no stream or moto cannot be reached.
    pub async fn open(endpoint: &str, table: &str) -> Result<Self, BoxError> {
        let dynamo = crate::dynamo_client(endpoint);
        let described = dynamo.describe_table().table_name(table).send().await?;
        let stream_arn = described
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| format!("table {table} has no stream"))?;
        let client = streams_client(endpoint);
        let mut reader = StreamReader {
            client,
            stream_arn,
            shards: Vec::new(),
            buffer: VecDeque::new(),
        };
        reader.discover_shards().await?;
        Ok(reader)
    }

    /// The stream's ARN.
    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    async fn discover_shards(&mut self) -> Result<(), BoxError> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await?;
        for shard in described.stream_description.and_then(|d| d.shards).unwrap_or_default() {
            let Some(id) = shard.shard_id else { continue };
            if self.shards.iter().any(|(known, _)| *known == id) {
                continue;
            }
            let it = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?
                .shard_iterator;
            self.shards.push((id, it));
        }
        Ok(())
    }

    /// Reads what the shards have now into the buffer; returns how many records arrived.
    ///
    /// # Errors
    /// When moto cannot be reached.
    pub async fn poll(&mut self) -> Result<usize, BoxError> {
        self.discover_shards().await?;
        let mut arrived = 0;
        for (_, iterator) in &mut self.shards {
            let Some(it) = iterator.clone() else { continue };
            let resp = self.client.get_records().shard_iterator(it).limit(1000).send().await?;
            for r in resp.records.unwrap_or_default() {
                self.buffer.push_back(lambda_record(&r, &self.stream_arn));
                arrived += 1;
            }
            *iterator = resp.next_shard_iterator;
        }
        Ok(arrived)
    }

    /// Records read and not yet taken.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Takes up to `max` buffered records, oldest first.
    pub fn take(&mut self, max: usize) -> Vec<Value> {
        let n = max.min(self.buffer.len());
        self.buffer.drain(..n).collect()
    }

    /// Puts records back at the front (a retried batch), keeping their order.
    pub fn put_back(&mut self, records: Vec<Value>) {
        for r in records.into_iter().rev() {
            self.buffer.push_front(r);
        }
    }

    /// Polls until nothing new arrives and returns everything buffered.
    ///
    /// # Errors
    /// As [`StreamReader::poll`].
    pub async fn drain(&mut self) -> Result<Vec<Value>, BoxError> {
        while self.poll().await? > 0 {}
        Ok(self.take(usize::MAX))
    }
}

fn item_json(
    item: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>,
) -> Value {
    match item {
        Some(map) => serde_json::to_value(serde_dynamo::Item::from(map.clone())).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// One stream record in the shape Lambda delivers it (`Records[]` of a DynamoDB event).
pub fn lambda_record(r: &Record, stream_arn: &str) -> Value {
    let d = r.dynamodb.as_ref();
    let mut change = json!({
        "ApproximateCreationDateTime": d.and_then(|d| d.approximate_creation_date_time).map_or(0.0, |t| t.as_secs_f64()),
        "Keys": item_json(d.and_then(|d| d.keys.as_ref())),
        "SequenceNumber": d.and_then(|d| d.sequence_number.clone()),
        "SizeBytes": d.and_then(|d| d.size_bytes).unwrap_or(0),
        "StreamViewType": d.and_then(|d| d.stream_view_type.as_ref()).map(|v| v.as_str().to_string()),
    });
    if let Some(new) = d.and_then(|d| d.new_image.as_ref()) {
        change["NewImage"] = item_json(Some(new));
    }
    if let Some(old) = d.and_then(|d| d.old_image.as_ref()) {
        change["OldImage"] = item_json(Some(old));
    }
    json!({
        "eventID": r.event_id,
        "eventName": r.event_name.as_ref().map(|n| n.as_str().to_string()),
        "eventVersion": r.event_version.clone().unwrap_or_else(|| "1.1".into()),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region.clone().unwrap_or_else(|| "us-east-1".into()),
        "eventSourceARN": stream_arn,
        "dynamodb": change,
    })
}

/// A batch event from records.
pub fn batch(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// The sequence numbers of a batch event's records.
pub fn sequence_numbers(batch: &Value) -> Vec<String> {
    batch["Records"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    r.pointer("/dynamodb/SequenceNumber")
                        .and_then(Value::as_str)
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a stream record matches a Lambda event filter pattern, for the subset of the
/// pattern language the template uses: an object matches when each of its keys matches the
/// record's value under that key; a list matches when the value equals one of its elements.
pub fn matches_filter(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(keys) => keys
            .iter()
            .all(|(k, p)| record.get(k).is_some_and(|v| matches_filter(p, v))),
        Value::Array(options) => options.iter().any(|o| o == record),
        other => other == record,
    }
}

/// The filter patterns of the processor's stream event in `template.yaml`.
///
/// # Errors
/// When the template cannot be read or has no such filter.
pub fn template_filters() -> Result<Vec<Value>, BoxError> {
    let text = std::fs::read_to_string(crate::workspace_root().join("template.yaml"))?;
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)?;
    let events = &template["Resources"]["ProcessorFunction"]["Properties"]["Events"];
    let mut out = Vec::new();
    for (_, e) in events.as_mapping().ok_or("ProcessorFunction has no Events")? {
        if e["Type"].as_str() != Some("DynamoDB") {
            continue;
        }
        for f in e["Properties"]["FilterCriteria"]["Filters"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let pattern = f["Pattern"].as_str().ok_or("a filter without a Pattern string")?;
            out.push(serde_json::from_str(pattern)?);
        }
    }
    if out.is_empty() {
        return Err("the processor's stream event has no filter".into());
    }
    Ok(out)
}
