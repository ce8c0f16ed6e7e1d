//! Building the DynamoDB client: its timeouts, its endpoint and, for the functions, its
//! region and credentials from the environment Lambda sets.

use aws_sdk_dynamodb::Client;

use crate::env::ConfigError;

/// Per-attempt timeout of a DynamoDB call, ms (`DYNAMODB_ATTEMPT_TIMEOUT_MS`): a call that
/// hangs (a connection lost without a reset) is abandoned and retried by the SDK instead of
/// holding the invocation until the Lambda timeout.
pub const ATTEMPT_TIMEOUT_VAR: &str = "DYNAMODB_ATTEMPT_TIMEOUT_MS";
/// Timeout of a DynamoDB call with its retries, ms (`DYNAMODB_OPERATION_TIMEOUT_MS`).
pub const OPERATION_TIMEOUT_VAR: &str = "DYNAMODB_OPERATION_TIMEOUT_MS";

/// The DynamoDB client's timeouts, ms. Defaults: 2 s per attempt (DynamoDB answers in
/// milliseconds; 2 s is far above its p99.9) and 6 s per call with its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoTimeouts {
    pub attempt_ms: u64,
    pub operation_ms: u64,
}

impl Default for DynamoTimeouts {
    fn default() -> Self {
        DynamoTimeouts {
            attempt_ms: 2_000,
            operation_ms: 6_000,
        }
    }
}

impl DynamoTimeouts {
    /// Reads [`ATTEMPT_TIMEOUT_VAR`] and [`OPERATION_TIMEOUT_VAR`] through `lookup`; a missing,
    /// unreadable or zero value keeps its default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let d = DynamoTimeouts::default();
        let ms = |var: &str, default: u64| {
            lookup(var)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        DynamoTimeouts {
            attempt_ms: ms(ATTEMPT_TIMEOUT_VAR, d.attempt_ms),
            operation_ms: ms(OPERATION_TIMEOUT_VAR, d.operation_ms),
        }
    }

    /// The SDK's timeout configuration.
    pub fn sdk_config(&self) -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
        aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(std::time::Duration::from_millis(self.attempt_ms))
            .operation_timeout(std::time::Duration::from_millis(self.operation_ms))
            .build()
    }
}

/// The functions' own DynamoDB endpoint override (`DYNAMODB_ENDPOINT`): empty in every
/// deployment (the template declares it empty, so that `sam local --env-vars` can set it: SAM
/// only overrides variables a template declares), a local DynamoDB API such as moto server in
/// a local stack. The AWS SDK's own `AWS_ENDPOINT_URL_DYNAMODB` cannot be declared empty: the
/// SDK takes an empty value for a malformed URL.
pub const ENDPOINT_VAR: &str = "DYNAMODB_ENDPOINT";

/// Reads [`ENDPOINT_VAR`] through `lookup`: unset or empty is `None` (the SDK's own settings
/// decide); otherwise an absolute `http://` or `https://` URL.
///
/// # Errors
/// [`ConfigError::Invalid`] for any other value.
pub fn endpoint_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = lookup(ENDPOINT_VAR)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    match url::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(Some(value)),
        _ => Err(ConfigError::Invalid {
            var: ENDPOINT_VAR,
            message: format!("{value:?} is not an http(s) URL"),
        }),
    }
}

/// Builds a DynamoDB client from the function's environment as Lambda sets it (AWS Lambda
/// Developer Guide, "Defined runtime environment variables"): the region from `AWS_REGION`
/// (else `AWS_DEFAULT_REGION`), the execution role's credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and a local endpoint such as moto from
/// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL` (the SDK's own names); with
/// `timeouts`, trusting the compiled-in root certificates ([`crate::tls`]); `endpoint` (from
/// [`endpoint_from_lookup`]), when given, overrides the endpoint.
///
/// The functions need nothing else, so they do not link the SDK's whole credential chain
/// (aws-config, which brings the STS client); the operators' tools do
/// ([`client_from_credential_chain`], feature `cli`). Missing credentials are logged here, and
/// every call then fails with the SDK's error.
pub async fn client_with_timeouts(timeouts: DynamoTimeouts, endpoint: Option<&str>) -> Client {
    client_from_lookup(timeouts, endpoint, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// [`client_with_timeouts`] reading its variables through `lookup`.
pub fn client_from_lookup(
    timeouts: DynamoTimeouts,
    endpoint: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .timeout_config(timeouts.sdk_config());
    if let Some(region) = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION")) {
        config = config.region(Region::new(region));
    }
    match (lookup("AWS_ACCESS_KEY_ID"), lookup("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            let credentials = Credentials::new(id, secret, lookup("AWS_SESSION_TOKEN"), None, "environment");
            config = config.credentials_provider(credentials);
        }
        _ => tracing::error!("no AWS credentials in the environment: DynamoDB calls will fail"),
    }
    // The compiled-in roots (crate::tls); the SDK's default client reads the system's. Its
    // PEM parses only fail on a broken build of the root list: then the SDK's default.
    match crate::tls::sdk_http_client() {
        Ok(http) => config = config.http_client(http),
        Err(e) => tracing::warn!(error = %e, "compiled-in TLS roots refused: the system's are used"),
    }
    let url = endpoint
        .map(str::to_string)
        .or_else(|| lookup("AWS_ENDPOINT_URL_DYNAMODB"))
        .or_else(|| lookup("AWS_ENDPOINT_URL"));
    if let Some(url) = url {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}

/// Builds a DynamoDB client from the SDK's whole credential chain (environment, shared
/// profiles, SSO, web identity, container and instance metadata) and region chain, as the AWS
/// CLI does: for operators running the command-line tools, with `timeouts` and the
/// compiled-in roots; `endpoint` overrides the endpoint.
#[cfg(feature = "cli")]
pub async fn client_from_credential_chain(timeouts: DynamoTimeouts, endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts.sdk_config());
    if let Ok(http) = crate::tls::sdk_http_client() {
        loader = loader.http_client(http);
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

#[cfg(test)]
mod timeout_tests {
    use std::time::Duration;

    #[test]
    fn timeouts_default_and_override() {
        let t = super::DynamoTimeouts::from_lookup(|_| None).sdk_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(2_000)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(6_000)));
        let t = super::DynamoTimeouts::from_lookup(|k| match k {
            "DYNAMODB_ATTEMPT_TIMEOUT_MS" => Some("20000".into()),
            "DYNAMODB_OPERATION_TIMEOUT_MS" => Some("nonsense".into()),
            _ => None,
        })
        .sdk_config();
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(20_000)));
        assert_eq!(
            t.operation_timeout(),
            Some(Duration::from_millis(6_000)),
            "unreadable: the default"
        );
    }
}
