//! The local stand-in for Lambda's DynamoDB event source mapping: reads the table's real
//! stream from moto server, applies the template's filter criteria, invokes the processor
//! (under `cargo lambda watch`) with batches in Lambda's format, and honors the answer the way
//! the template configures the mapping:
//! - `batchItemFailures`: the batch is sent again from the first failed record on, at most
//!   `--max-retries` times, then those records go to the on-failure file (the SQS destination's
//!   stand-in);
//! - a function error: the batch is split in two and each half retried
//!   (`BisectBatchOnFunctionError`).
//!
//! Runs until the stream has been idle for `--idle-secs`, then prints a summary.
//!
//! `stream-pump --endpoint http://127.0.0.1:8000 --table fingerprint-events
//!  --invoke http://127.0.0.1:9000 [--batch-size 100] [--max-retries 5] [--idle-secs 5]
//!  [--on-failure target/local-stack/on-failure.jsonl]`

use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;
use tools::stream::{batch, matches_filter, sequence_numbers, template_filters, StreamReader};

struct Args {
    endpoint: String,
    table: String,
    invoke: String,
    batch_size: usize,
    max_retries: u32,
    idle: Duration,
    on_failure: String,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: "http://127.0.0.1:8000".into(),
        table: "fingerprint-events".into(),
        invoke: "http://127.0.0.1:9000".into(),
        batch_size: 100,
        max_retries: 5,
        idle: Duration::from_secs(5),
        on_failure: "target/local-stack/on-failure.jsonl".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: {v} is not a number"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = value,
            "--table" => a.table = value,
            "--invoke" => a.invoke = value,
            "--batch-size" => a.batch_size = number(&value)?.clamp(1, 10_000) as usize,
            "--max-retries" => a.max_retries = number(&value)? as u32,
            "--idle-secs" => a.idle = Duration::from_secs(number(&value)?),
            "--on-failure" => a.on_failure = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

#[derive(Default)]
struct Summary {
    read: usize,
    matched: usize,
    invocations: usize,
    retries: usize,
    bisections: usize,
    to_on_failure: usize,
    processed: usize,
}

enum Answer {
    Failures(Vec<String>),
    FunctionError(String),
}

async fn invoke(http: &reqwest::Client, url: &str, event: &Value) -> Answer {
    let resp = match http.post(url).json(event).send().await {
        Ok(r) => r,
        Err(e) => return Answer::FunctionError(e.to_string()),
    };
    let status = resp.status();
    let body: Value = match resp.json().await {
        Ok(b) => b,
        Err(e) => return Answer::FunctionError(format!("HTTP {status}: {e}")),
    };
    if !status.is_success() || body.get("errorType").is_some() {
        return Answer::FunctionError(format!("HTTP {status}: {body}"));
    }
    Answer::Failures(
        body["batchItemFailures"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let a = args()?;
    let filters = template_filters()?;
    let mut reader = StreamReader::open(&a.endpoint, &a.table).await?;
    let url = format!(
        "{}/2015-03-31/functions/processor/invocations",
        a.invoke.trim_end_matches('/')
    );
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    if let Some(dir) = std::path::Path::new(&a.on_failure).parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut on_failure = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.on_failure)?;
    let mut s = Summary::default();
    let mut last_record = Instant::now();
    loop {
        let arrived = reader.poll().await?;
        if arrived > 0 {
            last_record = Instant::now();
        }
        if reader.buffered() == 0 {
            if last_record.elapsed() >= a.idle {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let taken = reader.take(usize::MAX);
        s.read += taken.len();
        let matching: Vec<Value> = taken
            .into_iter()
            .filter(|r| filters.iter().any(|f| matches_filter(f, r)))
            .collect();
        s.matched += matching.len();
        // Batches of at most batch-size, each retried as the mapping would.
        let mut queue: VecDeque<(Vec<Value>, u32)> = matching.chunks(a.batch_size).map(|c| (c.to_vec(), 0)).collect();
        while let Some((records, attempt)) = queue.pop_front() {
            s.invocations += 1;
            let event = batch(records.clone());
            match invoke(&http, &url, &event).await {
                Answer::Failures(failed) if failed.is_empty() => s.processed += records.len(),
                Answer::Failures(failed) => {
                    let seqs = sequence_numbers(&event);
                    let first = seqs.iter().position(|q| failed.contains(q)).unwrap_or(0);
                    s.processed += first;
                    let rest = records[first..].to_vec();
                    if attempt >= a.max_retries {
                        for r in &rest {
                            writeln!(on_failure, "{r}")?;
                        }
                        s.to_on_failure += rest.len();
                        eprintln!(
                            "stream-pump: {} records to the on-failure file after {attempt} retries",
                            rest.len()
                        );
                    } else {
                        s.retries += 1;
                        tokio::time::sleep(Duration::from_millis(200 << attempt.min(4))).await;
                        queue.push_front((rest, attempt + 1));
                    }
                }
                Answer::FunctionError(e) => {
                    eprintln!("stream-pump: function error on a batch of {}: {e}", records.len());
                    if records.len() > 1 && attempt < a.max_retries {
                        s.bisections += 1;
                        let (left, right) = records.split_at(records.len() / 2);
                        queue.push_front((right.to_vec(), attempt + 1));
                        queue.push_front((left.to_vec(), attempt + 1));
                    } else if attempt < a.max_retries {
                        s.retries += 1;
                        queue.push_front((records, attempt + 1));
                    } else {
                        for r in &records {
                            writeln!(on_failure, "{r}")?;
                        }
                        s.to_on_failure += records.len();
                    }
                }
            }
        }
    }
    println!(
        "stream-pump: {} stream records read, {} filtered out (not event INSERTs), {} processed in {} invocations \
         ({} retries after batch item failures, {} bisections), {} sent to the on-failure file",
        s.read,
        s.read - s.matched,
        s.processed,
        s.invocations,
        s.retries,
        s.bisections,
        s.to_on_failure
    );
    report(&a.endpoint, &a.table).await
}

/// Reads the processing items back and prints what the stages did.
async fn report(endpoint: &str, table: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    use impressio::processor::state::{ProcessingState, PROCESSING_ITEM_TYPE};
    use std::collections::BTreeMap;

    let client = tools::dynamo_client(endpoint);
    let mut states: Vec<ProcessingState> = Vec::new();
    let mut start = None;
    loop {
        let resp = client
            .scan()
            .table_name(table)
            .filter_expression("item_type = :t")
            .expression_attribute_values(":t", AttributeValue::S(PROCESSING_ITEM_TYPE.into()))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        for item in resp.items.unwrap_or_default() {
            states.push(serde_dynamo::from_item(item)?);
        }
        start = resp.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let mut stages: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let status = |o: &impressio::processor::stage::StageOutcome| format!("{:?}", o.status).to_lowercase();
    for st in &states {
        let mut add = |stage: &'static str, v: Option<String>| {
            if let Some(v) = v {
                *stages.entry(stage).or_default().entry(v).or_default() += 1;
            }
        };
        add("billing", st.billing.as_ref().map(|b| status(&b.outcome)));
        add("ga4", st.ga4.as_ref().map(status));
        add("webhook", st.webhook.as_ref().map(status));
        add(
            "travel",
            st.travel.as_ref().map(|t| match &t.travel {
                Some(tr) if tr.impossible => "impossible".to_string(),
                Some(_) => "possible".to_string(),
                None => status(&t.outcome),
            }),
        );
        add(
            "sharing",
            st.sharing.as_ref().map(|sh| match &sh.sharing {
                Some(x) if x.score >= 60.0 => "score >= 60".to_string(),
                Some(x) if x.score > 0.0 => "score 1-59".to_string(),
                Some(_) => "score 0".to_string(),
                None => status(&sh.outcome),
            }),
        );
        add("alert", st.alert.as_ref().map(|a| status(&a.outcome)));
    }
    println!(
        "processor results read back from the table: {} processing items",
        states.len()
    );
    for (stage, counts) in stages {
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  {stage:<8} {}", parts.join(", "));
    }
    Ok(())
}
