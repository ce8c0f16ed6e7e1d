//! Cold-start benchmark: the time from starting a function's bootstrap to its first
//! `GET /2018-06-01/runtime/invocation/next`, under a fake Lambda Runtime API on 127.0.0.1
//! (so what is measured is the process's own init: loading, configuration, clients), for
//! several binaries in alternating runs; prints each one's median, quartiles and its ratio
//! to the first binary's median (the baseline), as a table and one JSON line each.
//!
//! `cold-start [--runs 30] [--set VAR=VALUE]... NAME=PATH[@FUNCTION]...`: `@FUNCTION` gives
//! the binary the variables `events/env.json` holds for that function of the template (e.g.
//! `edge=target/release/edge@EdgeFunction`), plus the region and test credentials a Lambda
//! environment has; `--set` adds or replaces a variable for every binary (e.g. a Supabase URL,
//! whose client a deployment builds at init). `scripts/bench-cold-start.sh` builds the release binaries and runs it.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Binary {
    name: String,
    path: String,
    env: Vec<(String, String)>,
    samples_ms: Vec<f64>,
}

/// Starts `binary` against a fresh fake Runtime API and returns the ms until its first
/// `/next` request arrives.
fn one_run(binary: &Binary) -> Result<f64, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let api = listener.local_addr()?.to_string();
    let start = Instant::now();
    let mut child = Command::new(&binary.path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(binary.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.path))?;
    let deadline = start + Duration::from_secs(10);
    let result = loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false)?;
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let read = stream.read(&mut chunk)?;
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&chunk[..read]);
                }
                let elapsed = start.elapsed().as_secs_f64() * 1000.0;
                let line = String::from_utf8_lossy(&request)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                break if line.starts_with("GET /2018-06-01/runtime/invocation/next") {
                    Ok(elapsed)
                } else {
                    Err(format!(
                        "{}: first request was {line:?}, not /next (an init error?)",
                        binary.name
                    )
                    .into())
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    break Err(format!("{}: no /next within 10 s", binary.name).into());
                }
                if let Some(status) = child.try_wait()? {
                    let mut err = String::new();
                    child.stderr.take().map(|mut s| s.read_to_string(&mut err));
                    break Err(format!("{} exited at init ({status}): {}", binary.name, err.trim()).into());
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            Err(e) => break Err(e.into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn main() -> Result<(), BoxError> {
    let mut runs = 30usize;
    let mut binaries = Vec::new();
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().ok_or("--runs needs a value")?.parse()?;
            continue;
        }
        if arg == "--set" {
            let pair = args.next().ok_or("--set needs VAR=VALUE")?;
            let (k, v) = pair.split_once('=').ok_or("--set needs VAR=VALUE")?;
            overrides.push((k.to_string(), v.to_string()));
            continue;
        }
        let (name, rest) = arg.split_once('=').ok_or("expected NAME=PATH[@FUNCTION]")?;
        let (path, function) = match rest.split_once('@') {
            Some((p, f)) => (p, Some(f)),
            None => (rest, None),
        };
        let env = tools::lambda_env(name, function, &overrides)?;
        binaries.push(Binary {
            name: name.to_string(),
            path: path.to_string(),
            env,
            samples_ms: Vec::new(),
        });
    }
    if binaries.is_empty() || runs == 0 {
        return Err("usage: cold-start [--runs N] [--set VAR=VALUE]... NAME=PATH[@FUNCTION]...".into());
    }
    // Alternating runs, the order rotated each round, after one warm-up run each (the page
    // cache holds every binary, as on a Lambda host that just downloaded the package).
    for b in &binaries {
        one_run(b)?;
    }
    for round in 0..runs {
        let n = binaries.len();
        for i in 0..n {
            let b = &mut binaries[(i + round) % n];
            let ms = one_run(b)?;
            b.samples_ms.push(ms);
        }
    }
    let mut baseline = None;
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>8}",
        "binary", "p25 ms", "median ms", "p75 ms", "ratio"
    );
    let mut lines = Vec::new();
    for b in &mut binaries {
        b.samples_ms.sort_by(f64::total_cmp);
        let median = quantile(&b.samples_ms, 0.5);
        let base = *baseline.get_or_insert(median);
        let ratio = median / base;
        println!(
            "{:<12} {:>10.2} {:>10.2} {:>10.2} {:>7.2}x",
            b.name,
            quantile(&b.samples_ms, 0.25),
            median,
            quantile(&b.samples_ms, 0.75),
            ratio
        );
        lines.push(json!({"binary": b.name, "runs": runs, "median_ms": median, "ratio_to_baseline": ratio}));
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
