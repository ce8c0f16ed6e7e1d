//! `score`: the backtesting CLI. Reads requests as JSON lines — each a CloudFront
//! origin-request event, the shape the edge accepts — scores them with the stateless layers
//! under a fraud configuration, and prints one assessment per line (score, level, action,
//! trigger, breakdown). Users run it to try a configuration on recorded traffic before
//! deploying it.
//!
//! ```text
//! score [--config FILE] [--state FILE] [--summary] [--quiet] [FILE …]
//! ```
//!
//! - input: the files given, else standard input; blank lines are skipped; a line that is
//!   not a CloudFront request event gets `{"line": n, "error": …}` and the run goes on;
//! - `--config FILE`: a `FRAUD_CONFIG`-style JSON override (else the `FRAUD_CONFIG`
//!   environment variable, else the defaults); an invalid one stops the run with exit 2;
//! - `--state FILE`: feeds the stateful credential-stuffing layer, `{"logins": {"<ja4>":
//!   <count>}}`; without it that layer is off;
//! - `--summary`: after the assessments, a summary on standard error (counts by level and
//!   action, mean score, most frequent reasons); `--quiet` drops the per-line output.
//!
//! Backtesting against an organization's labels (`POST /v1/events/{requestId}/feedback`):
//!
//! ```text
//! score export-labels --organization ORG [--table NAME] [--from MS] [--to MS] > corpus.jsonl
//! score backtest [--config FILE] [FILE …]
//! ```
//!
//! - `export-labels` writes the organization's labeled events as JSON lines (`{"requestId",
//!   "label", "reason", "labeledAt", "event"}`), labels given between `--from` and `--to` (ms
//!   since the Unix epoch; default: all); the table defaults to `DYNAMODB_TABLE`, DynamoDB is
//!   reached through the standard AWS settings (`AWS_ENDPOINT_URL_DYNAMODB` locally);
//! - `backtest` scores each labeled event again from its stored context under the
//!   configuration (`--config`, else `FRAUD_CONFIG`, else the defaults) and prints one JSON
//!   report: counts, and for the configuration and for the decisions stored with the events,
//!   the confusion matrix, precision and recall with `fraud` as the positive class, at `block`
//!   and at `captcha` or `block`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use impressio::fraud::{assess, ClientSignals, FraudConfig, ScoringInput};
use impressio::http::cloudfront::CloudFrontEvent;
use serde_json::{json, Value};

struct Args {
    config: Option<String>,
    state: Option<String>,
    summary: bool,
    quiet: bool,
    files: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        config: None,
        state: None,
        summary: false,
        quiet: false,
        files: vec![],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" => a.config = Some(it.next().ok_or("--config needs a file")?),
            "--state" => a.state = Some(it.next().ok_or("--state needs a file")?),
            "--summary" => a.summary = true,
            "--quiet" => a.quiet = true,
            "-h" | "--help" => {
                return Err("usage: score [--config FILE] [--state FILE] [--summary] [--quiet] [FILE …]".into())
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            file => a.files.push(file.to_string()),
        }
    }
    Ok(a)
}

/// The scoring input of one CloudFront event line.
fn input_of(line: &str, logins: &BTreeMap<String, u64>) -> Result<ScoringInput, String> {
    let event: CloudFrontEvent = serde_json::from_str(line).map_err(|e| format!("not a CloudFront event: {e}"))?;
    let req = event.into_edge_request().map_err(|e| e.to_string())?;
    let body: Option<Value> = serde_json::from_slice(&req.body).ok();
    let signals = body
        .as_ref()
        .and_then(|b| b.get("signals"))
        .and_then(|s| serde_json::from_value::<ClientSignals>(s.clone()).ok());
    let event_name = body
        .as_ref()
        .and_then(|b| b.get("event"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut input = ScoringInput::from_request(&req, signals, event_name.as_deref());
    if event_name.as_deref() == Some("login") {
        input.login_count = input.ja4_raw.as_ref().and_then(|j| logins.get(j)).copied();
    }
    Ok(input)
}

/// The configuration of `--config FILE`, else `FRAUD_CONFIG`, else the defaults.
fn fraud_config(path: Option<&str>) -> Result<FraudConfig, String> {
    match (path, std::env::var("FRAUD_CONFIG").ok()) {
        (Some(path), _) => {
            FraudConfig::with_override(&std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?)
        }
        (None, Some(env)) if !env.trim().is_empty() => FraudConfig::with_override(&env),
        _ => Ok(FraudConfig::default()),
    }
    .map_err(|e| format!("invalid fraud configuration: {e}"))
}

/// `score export-labels …`: the organization's labeled events as JSON lines on stdout.
async fn export_labels(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut table = std::env::var("DYNAMODB_TABLE").unwrap_or_else(|_| impressio::config::DEFAULT_TABLE_NAME.into());
    let (mut org, mut from, mut to) = (
        None,
        impressio::event::model::MIN_EVENT_TS_MS,
        impressio::event::model::MAX_EVENT_TS_MS,
    );
    let ms = |v: Option<String>, name: &str| -> Result<i64, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or(format!("{name} needs ms since the Unix epoch"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--organization" => org = Some(args.next().ok_or("--organization needs an id")?),
            "--table" => table = args.next().ok_or("--table needs a name")?,
            "--from" => from = ms(args.next(), "--from")?,
            "--to" => to = ms(args.next(), "--to")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let org = org.ok_or("usage: score export-labels --organization ORG [--table NAME] [--from MS] [--to MS]")?;
    let client = impressio::store::dynamo::client_from_credential_chain(
        impressio::store::dynamo::DynamoTimeouts::from_lookup(|k| std::env::var(k).ok()),
        None,
    )
    .await;
    let labeled = impressio::server_api::labels::labeled_events(&client, &table, &org, from, to)
        .await
        .map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for l in &labeled {
        writeln!(out, "{}", l.corpus_line()).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    eprintln!("exported {} labeled events of {org}", labeled.len());
    Ok(())
}

/// `score backtest …`: the report of a configuration against a labeled corpus, on stdout.
fn backtest(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let (mut config, mut files) = (None, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => config = Some(args.next().ok_or("--config needs a file")?),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            file => files.push(file.to_string()),
        }
    }
    let config = fraud_config(config.as_deref())?;
    let mut text = String::new();
    if files.is_empty() {
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| e.to_string())?;
    }
    for f in &files {
        text.push_str(&std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?);
        text.push('\n');
    }
    let report = impressio::backtest::backtest(text.lines(), &config);
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    Ok(())
}

fn run() -> Result<(), String> {
    let mut raw = std::env::args().skip(1).peekable();
    match raw.peek().map(String::as_str) {
        Some("export-labels") => {
            raw.next();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            return rt.block_on(export_labels(raw));
        }
        Some("backtest") => {
            raw.next();
            return backtest(raw);
        }
        _ => {}
    }
    let a = args()?;
    let config = fraud_config(a.config.as_deref())?;
    let logins: BTreeMap<String, u64> = match &a.state {
        None => BTreeMap::new(),
        Some(path) => {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?)
                .map_err(|e| format!("{path}: {e}"))?;
            serde_json::from_value(v.get("logins").cloned().unwrap_or(json!({}))).map_err(|e| format!("{path}: {e}"))?
        }
    };
    let readers: Vec<Box<dyn BufRead>> = if a.files.is_empty() {
        vec![Box::new(std::io::stdin().lock())]
    } else {
        a.files
            .iter()
            .map(|f| {
                std::fs::File::open(f)
                    .map(|f| Box::new(std::io::BufReader::new(f)) as Box<dyn BufRead>)
                    .map_err(|e| format!("{f}: {e}"))
            })
            .collect::<Result<_, _>>()?
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut n, mut errors, mut total) = (0usize, 0usize, 0.0f64);
    let mut levels: BTreeMap<String, usize> = BTreeMap::new();
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut line_no = 0usize;
    for reader in readers {
        for line in reader.lines() {
            let line = line.map_err(|e| e.to_string())?;
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            let answer = match input_of(&line, &logins) {
                Err(e) => {
                    errors += 1;
                    json!({"line": line_no, "error": e})
                }
                Ok(input) => {
                    let r = assess(&input, &config);
                    n += 1;
                    total += r.score;
                    *levels.entry(r.level.as_str().to_string()).or_default() += 1;
                    *actions.entry(format!("{:?}", r.action).to_lowercase()).or_default() += 1;
                    for c in r.breakdown.values() {
                        for reason in c.reasons.iter().filter(|x| x.points > 0.0) {
                            *reasons.entry(reason.code.clone()).or_default() += 1;
                        }
                    }
                    json!({"line": line_no, "score": r.score, "level": r.level, "action": r.action,
                        "trigger": r.trigger, "breakdown": r.breakdown})
                }
            };
            if !a.quiet {
                writeln!(out, "{answer}").map_err(|e| e.to_string())?;
            }
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    if a.summary {
        let mut top: Vec<(String, usize)> = reasons.into_iter().collect();
        top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        eprintln!(
            "scored {n} requests ({errors} unreadable); mean score {:.1}",
            if n > 0 { total / n as f64 } else { 0.0 }
        );
        eprintln!(
            "by level:  {}",
            levels
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!(
            "by action: {}",
            actions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!("most frequent reasons:");
        for (code, count) in top.iter().take(12) {
            eprintln!("  {count:>6}  {code}");
        }
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("score: {e}");
        std::process::exit(2);
    }
}
