//! The local stack's traffic replay and summary.
//!
//! Sends several hundred requests built from the real data in `tools/data/` and `shared/data/` to the edge
//! function running under `cargo lambda watch` (three quarters through the Function URL
//! emulation, one quarter as CloudFront origin-request events through the invoke API), reads
//! the table back, and prints requests per route, status codes, events stored (checking that
//! every request the function said it stored is in the table under its request id) and the
//! risk fields as they stand.
//!
//! Usage: `replay [--endpoint URL] [--function NAME] [--count N] [--seed N] [--table NAME]
//! [--samples DIR]` — `--samples` names a folder of `cargo lambda invoke` outputs
//! (`<sample>.json`) to include in the summary.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use tools::replay::{build_traffic, cloudfront_event, Corpus, ReplayRequest, Shape, Traffic};

type DynError = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    endpoint: String,
    function: String,
    count: usize,
    seed: u64,
    table: String,
    samples: Option<PathBuf>,
}

fn args() -> Result<Args, DynError> {
    let mut a = Args {
        endpoint: "http://127.0.0.1:9000".into(),
        function: "edge".into(),
        count: 400,
        seed: 2026,
        table: std::env::var("DYNAMODB_TABLE").unwrap_or_else(|_| impressio::config::DEFAULT_TABLE_NAME.into()),
        samples: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = value()?,
            "--function" => a.function = value()?,
            "--count" => a.count = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--table" => a.table = value()?,
            "--samples" => a.samples = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

/// What the function answered to one replayed request.
struct Outcome {
    route: &'static str,
    traffic: Traffic,
    shape: Shape,
    status: u16,
    /// Error code or pixel tracking status.
    outcome: String,
    /// The domainprint cookie the answer set.
    domainprint: Option<String>,
    request_id: Option<String>,
    expect_stored: bool,
    /// `duplicateOf` of a `200` answer: the request that stored the message before.
    duplicate_of: Option<String>,
}

async fn send(http: &reqwest::Client, a: &Args, req: &ReplayRequest) -> Result<Outcome, DynError> {
    let (status, headers, body): (u16, HashMap<String, String>, String) = match req.shape {
        Shape::FunctionUrl => {
            let mut url = format!("{}/lambda-url/{}{}", a.endpoint, a.function, req.path);
            if !req.query.is_empty() {
                url = format!("{url}?{}", req.query);
            }
            let method = http::Method::from_bytes(req.method.as_bytes())?;
            let mut rb = http.request(method, url);
            for (k, v) in &req.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if let Some(b) = &req.body {
                rb = rb.body(b.clone());
            }
            let resp = rb.send().await?;
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
                .collect();
            let status = resp.status().as_u16();
            (status, headers, resp.text().await.unwrap_or_default())
        }
        Shape::CloudFront => {
            let url = format!("{}/2015-03-31/functions/{}/invocations", a.endpoint, a.function);
            let event = cloudfront_event(req, "d111111abcdef8.cloudfront.net");
            let resp: Value = http.post(url).json(&event).send().await?.json().await?;
            let status = resp["status"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("not a CloudFront response: {resp}"))?;
            let headers = resp["headers"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v[0]["value"].as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            (status, headers, resp["body"].as_str().unwrap_or("").to_string())
        }
    };
    // What the answer says: the JSON error code, or the pixel's tracking status.
    let outcome = match headers.get("x-tracking-status") {
        Some(t) => t.clone(),
        None if status >= 400 => serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_default(),
        None => String::new(),
    };
    let tracking = headers.get("x-tracking-status").cloned();
    let repeat = body.contains("\"duplicateOf\"");
    let expect_stored = match req.route {
        "/t" | "/c" => status == 200 && !repeat,
        "pixel" => tracking.as_deref() == Some("stored"),
        _ => false,
    };
    Ok(Outcome {
        route: req.route,
        traffic: req.traffic,
        shape: req.shape,
        status,
        outcome,
        domainprint: headers
            .get("set-cookie")
            .and_then(|c| c.split(';').next())
            .and_then(|c| c.strip_prefix("_impdp="))
            .map(str::to_string),
        request_id: headers.get("x-request-id").cloned(),
        expect_stored,
        duplicate_of: serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["duplicateOf"].as_str().map(str::to_string)),
    })
}

async fn scan_events(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, DynError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .filter_expression("item_type = :e")
            .expression_attribute_values(":e", AttributeValue::S("event".into()))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(items);
        }
    }
}

fn s<'a>(item: &'a HashMap<String, AttributeValue>, key: &str) -> &'a str {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("-")
}

fn viewer<'a>(item: &'a HashMap<String, AttributeValue>, key: &str) -> Option<&'a AttributeValue> {
    item.get("context")?.as_m().ok()?.get("viewer")?.as_m().ok()?.get(key)
}

fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    println!("\n{title}");
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        println!("  {}", parts.join("  "));
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for r in rows {
        line(r.clone());
    }
}

fn sample_outcomes(dir: &PathBuf) -> Result<Vec<(String, u16)>, DynError> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let text = std::fs::read_to_string(e.path())?;
        let v: Value = serde_json::from_str(text.trim()).map_err(|err| format!("{}: {err}", e.path().display()))?;
        let status = v["statusCode"]
            .as_u64()
            .or_else(|| v["status"].as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| format!("{}: no status in {v}", e.path().display()))?;
        out.push((
            e.file_name().to_string_lossy().trim_end_matches(".json").to_string(),
            status as u16,
        ));
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), DynError> {
    let a = args()?;
    let corpus = Corpus::load(&tools::workspace_root().join("tools/data"))?;
    let traffic = build_traffic(&corpus, a.count, a.seed);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let mut outcomes = Vec::with_capacity(traffic.len());
    // Each person's browser keeps the domainprint cookie per organization's tracker.
    let mut jar: HashMap<(usize, &str), String> = HashMap::new();
    // Every tenth stored /t event that carries a message id is sent again at the end, as a
    // browser does when the answer to its first send was lost.
    let mut lost_answers: Vec<(ReplayRequest, String)> = Vec::new();
    let mut stored_with_id = 0;
    for req in &traffic {
        let mut req = req.clone();
        if let Some(dp) = req.person.and_then(|p| jar.get(&(p, req.organization))) {
            req.headers.push(("Cookie".into(), format!("_impdp={dp}")));
        }
        let outcome = send(&http, &a, &req).await?;
        if let (Some(p), Some(dp)) = (req.person, &outcome.domainprint) {
            jar.insert((p, req.organization), dp.clone());
        }
        let has_message_id = req.body.as_deref().is_some_and(|b| b.contains("\"messageId\""));
        if req.route == "/t" && outcome.expect_stored && has_message_id {
            stored_with_id += 1;
            if stored_with_id % 10 == 1 {
                lost_answers.push((req.clone(), outcome.request_id.clone().unwrap_or_default()));
            }
        }
        outcomes.push(outcome);
    }
    let mut repeats_answered = 0;
    for (req, first) in &lost_answers {
        let again = send(&http, &a, req).await?;
        repeats_answered += usize::from(again.status == 200 && again.duplicate_of.as_deref() == Some(first.as_str()));
    }

    println!("== Local stack summary");
    if let Some(dir) = &a.samples {
        let samples = sample_outcomes(dir)?;
        let rows: Vec<Vec<String>> = samples.iter().map(|(n, st)| vec![n.clone(), st.to_string()]).collect();
        print_table(
            &format!("events/ samples through `cargo lambda invoke` ({})", samples.len()),
            &["sample", "status"],
            &rows,
        );
    }

    // [browsers, crawlers, answered as stored]
    let mut per_route: BTreeMap<(&str, u16, &str), [usize; 3]> = BTreeMap::new();
    for o in &outcomes {
        let row = per_route.entry((o.route, o.status, o.outcome.as_str())).or_default();
        row[(o.traffic == Traffic::Crawler) as usize] += 1;
        row[2] += usize::from(o.expect_stored);
    }
    let rows: Vec<Vec<String>> = per_route
        .iter()
        .map(|((r, st, outcome), [b, c, stored])| {
            let cells = [
                r.to_string(),
                st.to_string(),
                outcome.to_string(),
                b.to_string(),
                c.to_string(),
            ];
            let mut row = cells.to_vec();
            row.push((b + c).to_string());
            row.push(stored.to_string());
            row
        })
        .collect();
    let cf = outcomes.iter().filter(|o| o.shape == Shape::CloudFront).count();
    print_table(
        &format!(
            "Replay: {} requests ({} as Function URL requests, {} as CloudFront origin-request events)",
            outcomes.len(),
            outcomes.len() - cf,
            cf
        ),
        &["route", "status", "outcome", "browsers", "crawlers", "total", "stored"],
        &rows,
    );

    let client = impressio::store::dynamo::client_with_timeouts(
        impressio::store::dynamo::DynamoTimeouts::from_lookup(|k| std::env::var(k).ok()),
        None,
    )
    .await;
    let items = scan_events(&client, &a.table).await?;
    let stored_ids: BTreeSet<&str> = items.iter().map(|i| s(i, "request_id")).collect();
    let expected: Vec<&Outcome> = outcomes.iter().filter(|o| o.expect_stored).collect();
    let missing: Vec<&str> = expected
        .iter()
        .filter_map(|o| o.request_id.as_deref())
        .filter(|id| !stored_ids.contains(id))
        .collect();
    let without_id = outcomes.iter().filter(|o| o.request_id.is_none()).count();
    let mut by_route: BTreeMap<(String, String), usize> = BTreeMap::new();
    for i in &items {
        *by_route
            .entry((s(i, "route").to_string(), s(i, "organization_id").to_string()))
            .or_default() += 1;
    }
    let rows: Vec<Vec<String>> = by_route
        .iter()
        .map(|((r, o), n)| vec![r.clone(), o.clone(), n.to_string()])
        .collect();
    print_table(
        &format!("Table {}: {} event items", a.table, items.len()),
        &["route", "organization", "events"],
        &rows,
    );
    println!(
        "\n  replay requests answered as stored: {}; found in the table by request id: {}; missing: {}; responses without X-Request-Id: {}",
        expected.len(),
        expected.len() - missing.len(),
        missing.len(),
        without_id
    );

    let mut per_message: HashMap<&str, usize> = HashMap::new();
    for i in &items {
        if let Some(m) = i.get("message_id").and_then(|v| v.as_s().ok()) {
            *per_message.entry(m.as_str()).or_default() += 1;
        }
    }
    let stored_twice = per_message.values().filter(|n| **n > 1).count();
    println!(
        "  lost answers simulated: {} stored /t events sent again with their messageId; answered as repeats of the first request: {}; message ids stored more than once: {}",
        lost_answers.len(),
        repeats_answered,
        stored_twice
    );

    let count_with = |pred: &dyn Fn(&HashMap<String, AttributeValue>) -> bool| items.iter().filter(|i| pred(i)).count();
    let scored = count_with(&|i| i.contains_key("risk"));
    let mut ja4s: BTreeMap<String, usize> = BTreeMap::new();
    for i in &items {
        let j = viewer(i, "ja4")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_else(|| "(none)".into());
        *ja4s.entry(j).or_default() += 1;
    }
    let mut methods: BTreeMap<String, usize> = BTreeMap::new();
    let mut visitors: BTreeSet<&str> = BTreeSet::new();
    let mut conflicts = 0;
    for i in &items {
        if let Some(id) = i.get("identity").and_then(|v| v.as_m().ok()) {
            *methods
                .entry(
                    id.get("method")
                        .and_then(|m| m.as_s().ok())
                        .cloned()
                        .unwrap_or_default(),
                )
                .or_default() += 1;
            conflicts += usize::from(
                id.get("conflict")
                    .and_then(|c| c.as_bool().ok())
                    .copied()
                    .unwrap_or(false),
            );
        }
        if let Some(v) = i.get("visitor_id").and_then(|v| v.as_s().ok()) {
            visitors.insert(v);
        }
    }
    let people = traffic.iter().filter_map(|r| r.person).collect::<BTreeSet<_>>().len();
    let rows: Vec<Vec<String>> = methods.iter().map(|(m, n)| vec![m.clone(), n.to_string()]).collect();
    print_table(
        &format!(
            "Identity: {} visitors across the stored events ({people} simulated people with browsers, plus crawlers); {conflicts} conflicts",
            visitors.len()
        ),
        &["match method", "events"],
        &rows,
    );

    println!("\nRisk fields as they stand");
    println!("  events with a risk score: {scored} of {}", items.len());
    let mut levels: BTreeMap<String, usize> = BTreeMap::new();
    let mut triggers: BTreeMap<String, usize> = BTreeMap::new();
    for i in &items {
        if let Some(risk) = i.get("risk").and_then(|r| r.as_m().ok()) {
            let level = risk
                .get("level")
                .and_then(|l| l.as_s().ok())
                .cloned()
                .unwrap_or_default();
            *levels.entry(level).or_default() += 1;
            if let Some(t) = risk.get("trigger").and_then(|t| t.as_s().ok()) {
                *triggers.entry(t.clone()).or_default() += 1;
            }
        }
    }
    let fmt = |m: &BTreeMap<String, usize>| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
    println!("  stored events by risk level: {}", fmt(&levels));
    println!(
        "  block triggers: {}",
        if triggers.is_empty() {
            "none".into()
        } else {
            fmt(&triggers)
        }
    );
    println!(
        "  signals recorded for scoring: JA4 {}, TLS {}, HTTP version {}, ASN {}, geo (lat/lon) {}, header order {}, user agent {}",
        count_with(&|i| viewer(i, "ja4").is_some()),
        count_with(&|i| viewer(i, "tls").is_some()),
        count_with(&|i| viewer(i, "http_version").is_some()),
        count_with(&|i| viewer(i, "asn").is_some()),
        count_with(&|i| viewer(i, "latitude").is_some() && viewer(i, "longitude").is_some()),
        count_with(&|i| viewer(i, "header_order").and_then(|v| v.as_l().ok()).is_some_and(|l| !l.is_empty())),
        count_with(&|i| i.get("context").and_then(|c| c.as_m().ok()).is_some_and(|c| c.contains_key("user_agent"))),
    );
    let rows: Vec<Vec<String>> = ja4s.iter().map(|(j, n)| vec![j.clone(), n.to_string()]).collect();
    print_table("  events by JA4", &["ja4", "events"], &rows);

    if !missing.is_empty() || without_id > 0 {
        return Err(format!(
            "{} stored events are missing from the table; {without_id} responses lacked X-Request-Id",
            missing.len()
        )
        .into());
    }
    if repeats_answered != lost_answers.len() || stored_twice > 0 {
        return Err(format!(
            "of {} repeated messages {repeats_answered} were answered as repeats; {stored_twice} message ids were stored twice",
            lost_answers.len()
        )
        .into());
    }
    Ok(())
}
