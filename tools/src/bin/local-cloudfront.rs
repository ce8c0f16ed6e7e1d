//! The local CloudFront: real TLS in front of the edge under `cargo lambda watch`, forwarding
//! as `template.yaml`'s distribution does (see `tools::cloudfront`).
//!
//! ```text
//! local-cloudfront --origin http://127.0.0.1:9000/lambda-url/edge [--template template.yaml]
//!   [--listen 127.0.0.1:8443] [--viewers viewers.json] [--origin-secret <X-Origin-Verify>]
//!   [--cert-out target/local-cloudfront.pem] [--log-requests true]
//! ```
//!
//! Each `--listen` address is a network its clients appear to come from: the first the
//! residential default, the others (or all, with `--viewers`, a JSON list of `{"listen":
//! "127.0.0.1:8444", "address": "203.0.113.7", "asn": 3215, "country": "FR", "city": "Paris",
//! "time_zone": "Europe/Paris", "latitude": 48.85, "longitude": 2.35}`) as given. Prints one
//! JSON line when it listens: `{"listening": [...], "certificate": <path>, "spki_sha256":
//! <base64>}` (Chromium trusts the certificate with
//! `--ignore-certificate-errors-spki-list=<spki_sha256>`).

use std::net::SocketAddr;
use std::path::PathBuf;

use tools::cloudfront::{start, Config, ForwardPolicy, Identity, Viewer};

#[derive(serde::Deserialize)]
struct ViewerEntry {
    listen: SocketAddr,
    #[serde(flatten)]
    viewer: Viewer,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut origin = None;
    let mut template = PathBuf::from("template.yaml");
    let mut listen: Vec<SocketAddr> = Vec::new();
    let mut viewers: Vec<(SocketAddr, Viewer)> = Vec::new();
    let mut secret = None;
    let mut cert_out = PathBuf::from("target/local-cloudfront.pem");
    let mut log_requests = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--origin" => origin = Some(value),
            "--template" => template = value.into(),
            "--listen" => listen.push(value.parse()?),
            "--viewers" => {
                let list: Vec<ViewerEntry> = serde_json::from_str(&std::fs::read_to_string(&value)?)?;
                viewers.extend(list.into_iter().map(|e| (e.listen, e.viewer)));
            }
            "--origin-secret" => secret = Some(value),
            "--cert-out" => cert_out = value.into(),
            "--log-requests" => log_requests = value == "true",
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let origin = origin.ok_or("--origin is required (the edge's Function URL base)")?;
    let policy = ForwardPolicy::from_template(&template)?;
    let custom_headers = match (&secret, policy.origin_custom_headers.first()) {
        (Some(s), Some(name)) => vec![(name.clone(), s.clone())],
        _ => Vec::new(),
    };
    if listen.is_empty() && viewers.is_empty() {
        listen.push("127.0.0.1:8443".parse()?);
    }
    let mut listeners: Vec<(SocketAddr, Viewer)> = listen.into_iter().map(|a| (a, Viewer::residential())).collect();
    listeners.extend(viewers);
    let identity = Identity::generate()?;
    let running = start(Config {
        identity: identity.clone(),
        listeners,
        origin,
        policy,
        custom_headers,
        log_requests,
    })
    .await?;
    if let Some(dir) = cert_out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cert_out, &identity.certificate_pem)?;
    let listening: Vec<String> = running.addresses.iter().map(ToString::to_string).collect();
    println!(
        "{}",
        serde_json::json!({"listening": listening, "certificate": cert_out, "spki_sha256": identity.spki_sha256})
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
