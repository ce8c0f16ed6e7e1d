//! Helpers for the integration tests and the local stack's tools: the table definition from
//! `infra/dynamodb/table.json`, DynamoDB clients pointed at moto server, and paths.

pub mod browser;
pub mod clients;
pub mod cloudfront;
pub mod counting;
pub mod harness;
pub mod quality;
pub mod replay;
pub mod stream;
pub mod table;

use std::path::PathBuf;

/// The workspace root (the folder holding `infra/`, `events/`, `template.yaml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
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
