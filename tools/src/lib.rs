//! The local stack's tools: what stands in, on one machine, for the services around the two
//! functions, and the clients that drive them. The binaries of `src/bin/` are what
//! `scripts/local-stack.sh` runs; the integration tests use the same modules.
//!
//! - [`cloudfront`]: the local CloudFront: real TLS in front of the edge's Function URL,
//!   forwarding as the template's distribution does, with the viewer headers CloudFront
//!   computes (JA4 and JA3 of the real ClientHello among them); [`in_process`] runs it inside
//!   a test or a tool;
//! - [`site`]: a small HTTPS web site under the same identity, for pages that embed the
//!   collector;
//! - [`tls_fingerprint`]: the ClientHello and its JA4 and JA3;
//! - [`table`]: the table definition of `infra/dynamodb/table.json`, created on moto server;
//! - [`stream`]: reading the table's DynamoDB stream from moto server as Lambda would get it;
//! - [`replay`]: real-format traffic from the real data of `tools/data/` and `shared/data/`;
//! - [`quality`]: the detection quality report on lists the rules were not built from;
//! - [`artifact`]: a bootstrap's size, zipped size and newest glibc;
//! - [`browser`], [`clients`]: headless Chromium and real HTTP clients through the local
//!   CloudFront.
//!
//! Binaries: `local-cloudfront`, `create-table`, `local-receivers` (GA4, webhook, push and
//! Supabase stand-ins), `replay`, `stream-pump`, `quality-corpus`, `quality-report`,
//! `browser-demo`, `real-clients`, `artifact-report`, `cold-start`.

pub mod artifact;
pub mod browser;
pub mod clients;
pub mod cloudfront;
pub mod identity_sim;
pub mod in_process;
pub mod latency_proxy;
pub mod population;
pub mod quality;
pub mod replay;
pub mod site;
pub mod stream;
pub mod table;
pub mod tls_fingerprint;

use std::path::PathBuf;

/// The workspace root (the folder holding `infra/`, `events/`, `template.yaml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ has a parent")
        .to_path_buf()
}

/// The environment a function of the template gets when run as a bare process under a fake
/// Lambda Runtime API (the cold-start and soak benchmarks): the region and test credentials a
/// Lambda environment has, the function's name and memory, the variables `events/env.json`
/// holds for `function` (e.g. `EdgeFunction`) when given, then `overrides` replacing or adding.
///
/// # Errors
/// When `events/env.json` cannot be read or has no such function.
pub fn lambda_env(
    name: &str,
    function: Option<&str>,
    overrides: &[(String, String)],
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error + Send + Sync>> {
    let mut env: Vec<(String, String)> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(f) = function {
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(workspace_root().join("events/env.json"))?)?;
        let vars = file[f]
            .as_object()
            .ok_or_else(|| format!("events/env.json has no {f}"))?;
        env.extend(
            vars.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
    }
    env.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
    env.extend(overrides.iter().cloned());
    Ok(env)
}

/// The moto server endpoint the tests use: `MOTO_ENDPOINT`, which `scripts/test.sh` sets
/// after starting moto server on 127.0.0.1.
///
/// # Panics
/// When `MOTO_ENDPOINT` is not set: run the tests through `scripts/test.sh`.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto server")
    })
}

/// The client configuration for `endpoint` with the fixed test region and credentials moto
/// accepts.
pub fn dynamo_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
}

/// A DynamoDB client for `endpoint` (see [`dynamo_config`]).
pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamo_config(endpoint).build())
}

/// A table name no other test uses.
pub fn unique_table_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}
