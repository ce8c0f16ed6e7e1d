//! Memory of a function over many invocations: runs a bootstrap under a fake Lambda Runtime
//! API on 127.0.0.1 that hands it `--invocations` events one after another, then reads the
//! process's peak resident memory (`VmHWM` of `/proc/<pid>/status`) and its resident memory
//! at the end (`VmRSS`), and prints them with the invocations' median and p99 time (from
//! handing out an event to receiving its answer).
//!
//! `soak [--invocations 2000] [--set VAR=VALUE]... NAME=PATH[@FUNCTION] EVENT.json`: the
//! environment is as in `cold-start` ([`tools::lambda_env`]). The event is a CloudFront
//! origin-request event of the edge: each invocation gets its own client address and, in a
//! base64 JSON body, its own `fingerprint` (and no `messageId`), so that every one is a new
//! visitor, the path that writes the most. `scripts/bench-soak.sh` starts moto server, builds
//! the release edge and runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One HTTP/1.1 request: its request line and body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Option<(String, Vec<u8>)>, BoxError> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse()?;
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(Some((line.trim_end().to_string(), body)))
}

/// The `i`th invocation's event: `template` with its own client address and fingerprint.
fn event(template: &Value, i: usize) -> Result<String, BoxError> {
    let mut e = template.clone();
    let ip = format!("198.18.{}.{}", (i / 250) % 250, i % 250 + 1);
    let request = &mut e["Records"][0]["cf"]["request"];
    request["clientIp"] = json!(ip);
    if let Some(address) = request["headers"].get_mut("cloudfront-viewer-address") {
        *address = json!([{"key": "CloudFront-Viewer-Address", "value": format!("{ip}:50000")}]);
    }
    if request["body"]["encoding"] == "base64" {
        let engine = base64::engine::general_purpose::STANDARD;
        let data = request["body"]["data"].as_str().unwrap_or_default();
        let mut body: Value = serde_json::from_slice(&engine.decode(data)?)?;
        body["fingerprint"] = json!(format!("fpSoak{i:08}abcdef"));
        if let Some(o) = body.as_object_mut() {
            o.remove("messageId");
        }
        request["body"]["data"] = json!(engine.encode(body.to_string()));
    }
    Ok(e.to_string())
}

/// Answers the runtime's requests on one connection: `/next` with the next event (its
/// request id and the time it was handed out sent to `handed`), a response post with 202
/// (its request id sent to `answered`).
fn serve(
    stream: TcpStream,
    events: &mpsc::Receiver<(String, String)>,
    handed: &mpsc::Sender<(String, Instant)>,
    answered: &mpsc::Sender<(String, Instant)>,
) -> Result<(), BoxError> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some((line, _body)) = read_request(&mut reader)? {
        if line.starts_with("GET /2018-06-01/runtime/invocation/next") {
            let Ok((id, body)) = events.recv() else { return Ok(()) };
            handed.send((id.clone(), Instant::now()))?;
            write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: 4102444800000\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:soak\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )?;
        } else if let Some(rest) = line.strip_prefix("POST /2018-06-01/runtime/invocation/") {
            let id = rest.split('/').next().unwrap_or_default().to_string();
            write!(writer, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")?;
            if rest.contains("/error") {
                return Err(format!("invocation {id} failed").into());
            }
            answered.send((id, Instant::now()))?;
        } else {
            write!(writer, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")?;
        }
        writer.flush()?;
    }
    Ok(())
}

/// A `kB` figure of `/proc/<pid>/status`, MB.
fn status_mb(pid: u32, field: &str) -> Result<f64, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    let kb: f64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

fn main() -> Result<(), BoxError> {
    let mut invocations = 2000usize;
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--invocations" => invocations = args.next().ok_or("--invocations needs a value")?.parse()?,
            "--set" => {
                let pair = args.next().ok_or("--set needs VAR=VALUE")?;
                let (k, v) = pair.split_once('=').ok_or("--set needs VAR=VALUE")?;
                overrides.push((k.to_string(), v.to_string()));
            }
            _ => positional.push(arg),
        }
    }
    let [binary, event_file] = positional.as_slice() else {
        return Err("usage: soak [--invocations N] [--set VAR=VALUE]... NAME=PATH[@FUNCTION] EVENT.json".into());
    };
    let (name, rest) = binary.split_once('=').ok_or("expected NAME=PATH[@FUNCTION]")?;
    let (path, function) = match rest.split_once('@') {
        Some((p, f)) => (p, Some(f)),
        None => (rest, None),
    };
    let env = tools::lambda_env(name, function, &overrides)?;
    let template: Value = serde_json::from_str(&std::fs::read_to_string(event_file)?)?;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let api = listener.local_addr()?.to_string();
    let (event_tx, event_rx) = mpsc::channel();
    for i in 0..invocations {
        event_tx.send((format!("soak-{i:06}"), event(&template, i)?))?;
    }
    drop(event_tx);
    let (handed_tx, handed_rx) = mpsc::channel();
    let (answered_tx, answered_rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The runtime keeps one connection; a new one is served after the last ends.
        for stream in listener.incoming().flatten() {
            if let Err(e) = serve(stream, &event_rx, &handed_tx, &answered_tx) {
                eprintln!("soak: {e}");
                return;
            }
        }
    });
    let mut child = Command::new(path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{path}: {e}"))?;
    let pid = child.id();
    let mut durations = Vec::with_capacity(invocations);
    let started = Instant::now();
    for _ in 0..invocations {
        let (id, at) = handed_rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "no invocation asked for within 30 s (did the function start?)")?;
        let (done, end) = answered_rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| format!("no answer to {id} within 30 s"))?;
        if done != id {
            return Err(format!("answer to {done} while {id} was running").into());
        }
        durations.push(end - at);
    }
    let total = started.elapsed();
    let (peak, resident) = (status_mb(pid, "VmHWM")?, status_mb(pid, "VmRSS")?);
    let _ = child.kill();
    let _ = child.wait();
    durations.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(durations[((durations.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{name}: {invocations} invocations in {:.1} s; per invocation median {:.2} ms, p99 {:.2} ms; peak RSS {peak:.1} MB, RSS at the end {resident:.1} MB",
        total.as_secs_f64(),
        p(0.5),
        p(0.99)
    );
    println!(
        "{}",
        json!({"binary": name, "invocations": invocations, "peak_rss_mb": peak, "rss_mb": resident,
            "median_ms": p(0.5), "p99_ms": p(0.99)})
    );
    Ok(())
}
