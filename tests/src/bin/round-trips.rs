//! Round-trip and latency benchmark of the edge's request paths: the edge app in-process,
//! DynamoDB on moto server behind a proxy holding every call a fixed delay
//! ([`integration_tests::round_trips`]). Prints, per path, the sequential DynamoDB round trips
//! before the answer, the calls before and after it, and the answer's p50 / p99 latency.
//!
//! `MOTO_ENDPOINT=http://127.0.0.1:8001 cargo run -p integration-tests --bin round-trips --
//! [--delay-ms 40] [--rounds 50]`; `scripts/bench-round-trips.sh` starts moto server and runs it.

use std::time::Duration;

use integration_tests::round_trips::{Measured, RequestPath, RoundTrips};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a whole number, not {v:?}"))
        })
        .unwrap_or(default)
}

/// The `q` quantile (0–1) of sorted `values`, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let delay_ms = arg("--delay-ms", 40);
    let rounds = arg("--rounds", 50) as usize;
    let bench = RoundTrips::start(Duration::from_millis(delay_ms)).await;
    let mut all: Vec<Measured> = Vec::new();
    for i in 0..rounds {
        all.extend(bench.round(i).await);
    }
    println!("DynamoDB behind a proxy adding {delay_ms} ms to each call; {rounds} requests per path\n");
    println!("The calls the first request of each path waited for, in the order they ended:");
    for path in RequestPath::ALL {
        if let Some(m) = all.iter().find(|m| m.path == path) {
            println!("- {}: {}", path.name(), m.operations.join(", "));
        }
    }
    println!();
    println!("| path | round trips before the answer | DynamoDB calls before / after the answer | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for path in RequestPath::ALL {
        let of: Vec<&Measured> = all.iter().filter(|m| m.path == path).collect();
        let mut latencies: Vec<Duration> = of.iter().map(|m| m.latency).collect();
        latencies.sort();
        let range = |f: fn(&Measured) -> usize| {
            let (lo, hi) = (
                of.iter().map(|m| f(m)).min().unwrap_or(0),
                of.iter().map(|m| f(m)).max().unwrap_or(0),
            );
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}–{hi}")
            }
        };
        println!(
            "| {} | {} | {} / {} | {:.1} ms | {:.1} ms |",
            path.name(),
            range(|m| m.round_trips),
            range(|m| m.operations.len()),
            range(|m| m.after_answer),
            quantile(&latencies, 0.50).as_secs_f64() * 1000.0,
            quantile(&latencies, 0.99).as_secs_f64() * 1000.0,
        );
    }
    item_sizes(&bench).await;
}

/// The items the runs left in the table, by `item_type`: how many, their mean and largest size
/// as DynamoDB counts it (`impressio::store::dynamo::item_size`), and the write units a write
/// of the mean item costs (1 per KB, rounded up).
async fn item_sizes(bench: &RoundTrips) {
    let h = &bench.harness;
    let mut sizes: std::collections::BTreeMap<String, Vec<usize>> = std::collections::BTreeMap::new();
    for item in h.all_items().await {
        let kind = item
            .get("item_type")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_else(|| "(none)".into());
        sizes
            .entry(kind)
            .or_default()
            .push(impressio::store::dynamo::item_size(&item));
    }
    println!("\nItems the runs left, by item_type (sizes as DynamoDB counts them):\n");
    println!("| item_type | items | mean bytes | largest bytes | write units per write of the mean |");
    println!("|---|---|---|---|---|");
    for (kind, s) in sizes {
        let mean = s.iter().sum::<usize>() / s.len().max(1);
        println!(
            "| {kind} | {} | {mean} | {} | {} |",
            s.len(),
            s.iter().max().unwrap_or(&0),
            mean.div_ceil(1024).max(1)
        );
    }
}
