//! Typed configuration, parsed once at cold start from environment variables.

pub use crate::env::{merge_json, non_empty, number, ConfigError, Secret};
use crate::fraud::FraudConfig;
use crate::identity::domainprint::DomainprintKeys;
use crate::identity::IdentityConfig;
pub use crate::org::directory::DirectoryConfig;
use crate::org::PlanCatalog;

pub use crate::schema::DEFAULT_TABLE_NAME;
/// Default limit on request bodies for `POST /t` and `POST /c`: 32 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024;
/// Default retention of event items before DynamoDB TTL removes them: 395 days (13 months,
/// so a full year can be compared with the year before).
pub const DEFAULT_EVENT_TTL_DAYS: u32 = 395;

/// Default window in which a repeated `messageId` is recognized: 168 hours (7 days; the
/// collector retries a queued event on every later page, so a week covers a visitor who comes
/// back days later).
pub const DEFAULT_MESSAGE_DEDUPE_HOURS: u32 = 168;

/// Configuration of the edge function.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// DynamoDB table for events (`DYNAMODB_TABLE`).
    pub table_name: String,
    /// Largest accepted request body in bytes (`MAX_BODY_BYTES`, 1 KiB … 1 MiB; 1 MiB is what
    /// CloudFront exposes to an origin-request trigger).
    pub max_body_bytes: usize,
    /// Days an event item lives before its TTL expires (`EVENT_TTL_DAYS`, 1 … 3650).
    pub event_ttl_days: u32,
    /// Hours a `messageId` is remembered, so that a retry of a message whose answer was lost
    /// is answered as a duplicate instead of stored twice (`MESSAGE_DEDUPE_HOURS`, 1 … 8760;
    /// default [`DEFAULT_MESSAGE_DEDUPE_HOURS`]).
    pub message_dedupe_hours: u32,
    /// Plan limits (`PLAN_LIMITS`, a partial JSON override of the default table).
    pub plans: PlanCatalog,
    /// Where organizations come from.
    pub directory: DirectoryConfig,
    /// Identity resolver settings (`IDENTITY_CONFIG`, a partial JSON override).
    pub identity: IdentityConfig,
    /// Fraud scoring settings (`FRAUD_CONFIG`, a partial JSON override).
    pub fraud: FraudConfig,
    /// Key of the collector tokens (`COLLECTOR_TOKEN_SECRET`); unset: no token is issued or
    /// checked.
    pub collector_token_secret: Option<Secret>,
    /// Keys that sign and verify domainprints (`DOMAINPRINT_SECRET`, required, at least 32
    /// bytes; `DOMAINPRINT_SECRET_PREVIOUS` during a rotation; see
    /// [`crate::identity::domainprint`]). The default is a random key of the process, for
    /// tests only.
    pub domainprint_keys: DomainprintKeys,
    /// CloudWatch namespace of the function's Embedded Metric Format metrics
    /// (`METRICS_NAMESPACE`, default `Impressio`; see [`crate::metrics`]).
    pub metrics_namespace: String,
    /// Timeouts of the DynamoDB client (`DYNAMODB_ATTEMPT_TIMEOUT_MS`,
    /// `DYNAMODB_OPERATION_TIMEOUT_MS`).
    pub dynamodb_timeouts: crate::store::dynamo::DynamoTimeouts,
    /// A DynamoDB endpoint of a local stack (`DYNAMODB_ENDPOINT`, empty when deployed; see
    /// [`crate::store::dynamo::ENDPOINT_VAR`]); `None`: the AWS SDK's own settings.
    pub dynamodb_endpoint: Option<String>,
    /// The values CloudFront's origin header `X-Origin-Verify` may carry
    /// (`ORIGIN_VERIFY_SECRET`, and `ORIGIN_VERIFY_SECRET_PREVIOUS` while a rotation is under
    /// way). Set, a request that reaches the Function URL without one of them is refused, so
    /// the public Function URL cannot be used to go around CloudFront (its viewer headers, its
    /// caching). Empty: no check (local runs).
    pub origin_verify_secrets: Vec<Secret>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            table_name: DEFAULT_TABLE_NAME.to_string(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            event_ttl_days: DEFAULT_EVENT_TTL_DAYS,
            message_dedupe_hours: DEFAULT_MESSAGE_DEDUPE_HOURS,
            plans: PlanCatalog::default(),
            directory: DirectoryConfig::default(),
            identity: IdentityConfig::default(),
            fraud: FraudConfig::default(),
            collector_token_secret: None,
            domainprint_keys: DomainprintKeys::ephemeral(),
            metrics_namespace: crate::metrics::DEFAULT_NAMESPACE.to_string(),
            dynamodb_timeouts: Default::default(),
            dynamodb_endpoint: None,
            origin_verify_secrets: Vec::new(),
        }
    }
}

impl EdgeConfig {
    /// Every variable [`EdgeConfig::from_lookup`] reads (a unit test records its lookups and
    /// holds this list to them; the template test checks `template.yaml` sets each for the
    /// edge).
    pub const ENV_VARS: &'static [&'static str] = &[
        "DYNAMODB_TABLE",
        "MAX_BODY_BYTES",
        "EVENT_TTL_DAYS",
        "MESSAGE_DEDUPE_HOURS",
        "PLAN_LIMITS",
        "IDENTITY_CONFIG",
        "FRAUD_CONFIG",
        "COLLECTOR_TOKEN_SECRET",
        "DOMAINPRINT_SECRET",
        "DOMAINPRINT_SECRET_PREVIOUS",
        "SUPABASE_URL",
        "SUPABASE_SERVICE_KEY",
        "SUPABASE_TIMEOUT_MS",
        "UPSTASH_REDIS_REST_URL",
        "UPSTASH_REDIS_REST_TOKEN",
        "UPSTASH_TIMEOUT_MS",
        "ORGANIZATIONS_FILE",
        "ORG_MEMORY_TTL_SECS",
        "ORG_NEGATIVE_TTL_SECS",
        "ORG_CACHE_TTL_SECS",
        "ORG_MAX_STALE_SECS",
        "ORG_SOURCE_RETRY_SECS",
        "ORG_MEMORY_CAPACITY",
        "METRICS_NAMESPACE",
        "ORIGIN_VERIFY_SECRET",
        "ORIGIN_VERIFY_SECRET_PREVIOUS",
        "DYNAMODB_ATTEMPT_TIMEOUT_MS",
        "DYNAMODB_OPERATION_TIMEOUT_MS",
        "DYNAMODB_ENDPOINT",
    ];

    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is malformed or out of range.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (variable name → value), for tests.
    ///
    /// # Errors
    /// As [`EdgeConfig::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = EdgeConfig::default();
        let table_name = match lookup("DYNAMODB_TABLE") {
            None => d.table_name,
            Some(v) if v.trim().is_empty() => return Err(ConfigError::Empty { var: "DYNAMODB_TABLE" }),
            Some(v) => v.trim().to_string(),
        };
        let plans = match non_empty(&lookup, "PLAN_LIMITS") {
            None => PlanCatalog::default(),
            Some(json) => PlanCatalog::with_override(&json).map_err(|message| ConfigError::Invalid {
                var: "PLAN_LIMITS",
                message,
            })?,
        };
        let config = EdgeConfig {
            table_name,
            max_body_bytes: number(&lookup, "MAX_BODY_BYTES", d.max_body_bytes as u64, 1024, 1 << 20)? as usize,
            event_ttl_days: number(&lookup, "EVENT_TTL_DAYS", d.event_ttl_days as u64, 1, 3650)? as u32,
            message_dedupe_hours: number(&lookup, "MESSAGE_DEDUPE_HOURS", d.message_dedupe_hours as u64, 1, 8760)?
                as u32,
            plans,
            directory: DirectoryConfig::from_lookup(&lookup)?,
            identity: match non_empty(&lookup, "IDENTITY_CONFIG") {
                None => IdentityConfig::default(),
                Some(json) => IdentityConfig::with_override(&json).map_err(|message| ConfigError::Invalid {
                    var: "IDENTITY_CONFIG",
                    message,
                })?,
            },
            collector_token_secret: non_empty(&lookup, "COLLECTOR_TOKEN_SECRET").map(Secret::new),
            domainprint_keys: {
                let current = non_empty(&lookup, "DOMAINPRINT_SECRET").ok_or(ConfigError::Missing {
                    var: "DOMAINPRINT_SECRET",
                    because: "domainprints are signed (32 random bytes or more, e.g. base64)",
                })?;
                let previous = non_empty(&lookup, "DOMAINPRINT_SECRET_PREVIOUS").map(Secret::new);
                DomainprintKeys::new(Secret::new(current), previous).map_err(|e| ConfigError::Invalid {
                    var: "DOMAINPRINT_SECRET",
                    message: e.to_string(),
                })?
            },
            fraud: match non_empty(&lookup, "FRAUD_CONFIG") {
                None => FraudConfig::default(),
                Some(json) => FraudConfig::with_override(&json).map_err(|message| ConfigError::Invalid {
                    var: "FRAUD_CONFIG",
                    message,
                })?,
            },
            metrics_namespace: crate::metrics::namespace_from_lookup(&lookup)?,
            dynamodb_timeouts: crate::store::dynamo::DynamoTimeouts::from_lookup(&lookup),
            dynamodb_endpoint: crate::store::dynamo::endpoint_from_lookup(&lookup)?,
            origin_verify_secrets: ["ORIGIN_VERIFY_SECRET", "ORIGIN_VERIFY_SECRET_PREVIOUS"]
                .into_iter()
                .filter_map(|var| non_empty(&lookup, var).map(Secret::new))
                .collect(),
        };
        Ok(config.with_domainprint_lifetime())
    }

    /// The configuration with its domainprint keys issuing and verifying for the identity
    /// configuration's cookie lifetime and reissue age.
    pub fn with_domainprint_lifetime(mut self) -> Self {
        self.domainprint_keys = self
            .domainprint_keys
            .clone()
            .with_lifetime(self.identity.domainprint_lifetime());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::recorded_lookups;
    use crate::org::tiered::TierConfig;

    /// `EdgeConfig::from_lookup` with the required `DOMAINPRINT_SECRET` added to `lookup`'s
    /// answers.
    fn edge_config(lookup: impl Fn(&str) -> Option<String>) -> Result<EdgeConfig, ConfigError> {
        EdgeConfig::from_lookup(move |k| {
            lookup(k).or_else(|| (k == "DOMAINPRINT_SECRET").then(|| "a-domainprint-secret-of-32-bytes-or-more".into()))
        })
    }

    #[test]
    fn the_domainprint_secret_is_required_and_checked() {
        let err = EdgeConfig::from_lookup(|_| None).unwrap_err();
        assert!(err.to_string().contains("DOMAINPRINT_SECRET is required"), "{err}");
        let err = EdgeConfig::from_lookup(|k| (k == "DOMAINPRINT_SECRET").then(|| "short".into())).unwrap_err();
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
        assert!(!err.to_string().contains("short"), "the secret is not quoted: {err}");
    }

    /// A valid value for every variable, the URLs included, so that `from_lookup` takes every
    /// branch (a URL makes its key and timeout read).
    const SAMPLES: &[(&str, &str)] = &[
        ("DYNAMODB_TABLE", "t1"),
        ("MAX_BODY_BYTES", "2048"),
        ("EVENT_TTL_DAYS", "30"),
        ("MESSAGE_DEDUPE_HOURS", "24"),
        ("PLAN_LIMITS", r#"{"pro": {"domains": 20}}"#),
        ("IDENTITY_CONFIG", "{}"),
        ("FRAUD_CONFIG", r#"{"mode": "observe"}"#),
        ("COLLECTOR_TOKEN_SECRET", "collector-secret"),
        ("DOMAINPRINT_SECRET", "domainprint-secret-of-at-least-32-bytes"),
        ("DOMAINPRINT_SECRET_PREVIOUS", "previous-domainprint-secret-32-bytes!"),
        ("SUPABASE_URL", "https://abc.supabase.co"),
        ("SUPABASE_SERVICE_KEY", "service-key"),
        ("SUPABASE_TIMEOUT_MS", "1500"),
        ("UPSTASH_REDIS_REST_URL", "https://u.upstash.io"),
        ("UPSTASH_REDIS_REST_TOKEN", "token"),
        ("UPSTASH_TIMEOUT_MS", "400"),
        ("ORGANIZATIONS_FILE", "/tmp/organizations.json"),
        ("ORG_MEMORY_TTL_SECS", "10"),
        ("ORG_NEGATIVE_TTL_SECS", "5"),
        ("ORG_CACHE_TTL_SECS", "120"),
        ("ORG_MAX_STALE_SECS", "600"),
        ("ORG_SOURCE_RETRY_SECS", "2"),
        ("ORG_MEMORY_CAPACITY", "50"),
        ("DYNAMODB_ENDPOINT", "http://172.17.0.1:8002"),
    ];

    #[test]
    fn the_dynamodb_endpoint_is_empty_or_an_http_url() {
        let endpoint = |v: &str| edge_config(|k| (k == "DYNAMODB_ENDPOINT").then(|| v.to_string()));
        assert_eq!(
            endpoint("").unwrap().dynamodb_endpoint,
            None,
            "declared empty when deployed"
        );
        assert_eq!(endpoint("  ").unwrap().dynamodb_endpoint, None);
        assert_eq!(
            endpoint("http://172.17.0.1:8002").unwrap().dynamodb_endpoint.as_deref(),
            Some("http://172.17.0.1:8002")
        );
        for bad in ["172.17.0.1:8002", "ftp://moto", "http://", "moto"] {
            let err = endpoint(bad).unwrap_err().to_string();
            assert!(err.starts_with("DYNAMODB_ENDPOINT:"), "{bad}: {err}");
        }
    }

    #[test]
    fn env_vars_are_exactly_what_from_lookup_reads() {
        let (asked, result) = recorded_lookups(SAMPLES, |lookup| EdgeConfig::from_lookup(lookup));
        let c = result.unwrap();
        // Every branch was taken, so every variable was asked for.
        assert!(c.directory.supabase.is_some() && c.directory.upstash.is_some());
        assert!(c.collector_token_secret.is_some());
        let mut listed: Vec<String> = EdgeConfig::ENV_VARS.iter().map(|v| v.to_string()).collect();
        listed.sort();
        assert_eq!(
            asked, listed,
            "EdgeConfig::ENV_VARS (right) is not what from_lookup reads (left)"
        );
        // And each sample was used: the values are the ones given, not defaults.
        assert_eq!(c.directory.tiers.upstash_ttl_secs, 120);
        assert_eq!(c.directory.upstash.unwrap().timeout_ms, 400);
    }

    #[test]
    fn the_in_process_directory_reads_no_upstash_variable() {
        let (asked, result) = recorded_lookups(SAMPLES, |lookup| DirectoryConfig::in_process_from_lookup(&lookup));
        let d = result.unwrap();
        assert!(d.upstash.is_none() && d.supabase.is_some());
        assert_eq!(d.tiers.upstash_ttl_secs, TierConfig::default().upstash_ttl_secs);
        assert_eq!(d.tiers.memory_ttl_ms, 10_000);
        for var in [
            "UPSTASH_REDIS_REST_URL",
            "UPSTASH_REDIS_REST_TOKEN",
            "UPSTASH_TIMEOUT_MS",
            "ORG_CACHE_TTL_SECS",
        ] {
            assert!(!asked.iter().any(|a| a == var), "{var} read: {asked:?}");
        }
        // An Upstash URL without its token stops the edge, not a directory that ignores it.
        let url_only = |k: &str| (k == "UPSTASH_REDIS_REST_URL").then(|| "https://u.upstash.io".to_string());
        assert!(DirectoryConfig::in_process_from_lookup(&url_only).is_ok());
        assert!(DirectoryConfig::from_lookup(&url_only).is_err());
    }

    #[test]
    fn defaults_when_unset() {
        let c = edge_config(|_| None).unwrap();
        assert_eq!(c.table_name, DEFAULT_TABLE_NAME);
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(c.event_ttl_days, DEFAULT_EVENT_TTL_DAYS);
        assert_eq!(c.message_dedupe_hours, 168);
        assert_eq!(c.plans, PlanCatalog::default());
        assert!(c.directory.supabase.is_none() && c.directory.upstash.is_none());
        assert_eq!(c.directory.tiers, TierConfig::default());
        assert_eq!(c.metrics_namespace, "Impressio");
    }

    #[test]
    fn reads_and_checks_values() {
        let c = edge_config(|k| match k {
            "DYNAMODB_TABLE" => Some("t1".into()),
            "MAX_BODY_BYTES" => Some("2048".into()),
            "METRICS_NAMESPACE" => Some("Impressio/Staging".into()),
            "MESSAGE_DEDUPE_HOURS" => Some("24".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.table_name, "t1");
        assert_eq!(c.message_dedupe_hours, 24);
        let err = edge_config(|k| (k == "MESSAGE_DEDUPE_HOURS").then(|| "0".into())).unwrap_err();
        assert!(err.to_string().contains("MESSAGE_DEDUPE_HOURS=0 is outside"), "{err}");
        assert_eq!(c.metrics_namespace, "Impressio/Staging");
        assert_eq!(c.max_body_bytes, 2048);
        let err = edge_config(|k| (k == "MAX_BODY_BYTES").then(|| "10".into())).unwrap_err();
        assert!(err.to_string().contains("MAX_BODY_BYTES=10 is outside"));
        let err = edge_config(|k| (k == "EVENT_TTL_DAYS").then(|| "ten".into())).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::NotANumber {
                var: "EVENT_TTL_DAYS",
                ..
            }
        ));
    }

    #[test]
    fn directory_settings_and_secrets() {
        let env = |k: &str| match k {
            "SUPABASE_URL" => Some("https://abc.supabase.co".to_string()),
            "SUPABASE_SERVICE_KEY" => Some("service-key-value".to_string()),
            "UPSTASH_REDIS_REST_URL" => Some("https://u.upstash.io".to_string()),
            "UPSTASH_REDIS_REST_TOKEN" => Some("token-value".to_string()),
            "ORG_MEMORY_TTL_SECS" => Some("10".to_string()),
            "PLAN_LIMITS" => Some(r#"{"pro": {"domains": 20}}"#.to_string()),
            _ => None,
        };
        let c = edge_config(env).unwrap();
        assert_eq!(c.directory.supabase.as_ref().unwrap().timeout_ms, 2000);
        assert_eq!(c.directory.upstash.as_ref().unwrap().timeout_ms, 500);
        assert_eq!(c.directory.tiers.memory_ttl_ms, 10_000);
        assert_eq!(c.plans.pro.domains, Some(20));
        let printed = format!("{c:?}");
        assert!(!printed.contains("service-key-value") && !printed.contains("token-value"));
        let err = edge_config(|k| (k == "SUPABASE_URL").then(|| "https://x".to_string())).unwrap_err();
        assert!(err.to_string().contains("SUPABASE_SERVICE_KEY is required"));
        let err = edge_config(|k| (k == "PLAN_LIMITS").then(|| r#"{"gold":{}}"#.to_string())).unwrap_err();
        assert!(err.to_string().contains("gold"));
    }

    #[test]
    fn merge_refuses_unknown_keys() {
        let mut base = serde_json::json!({"a": {"b": 1, "c": 2}});
        merge_json(&mut base, &serde_json::json!({"a": {"c": 3}})).unwrap();
        assert_eq!(base, serde_json::json!({"a": {"b": 1, "c": 3}}));
        assert_eq!(
            merge_json(&mut base, &serde_json::json!({"a": {"d": 1}})).unwrap_err(),
            "unknown key `a.d`"
        );
    }
}
