//! The processor's configuration, parsed once at cold start.

use serde::{Deserialize, Serialize};

use super::outbound::{OutboundPolicy, DEFAULT_PORTS};
use super::stages::sharing::SharingConfig;
use super::stages::travel::TravelConfig;
use crate::env::{merge_json, number, ConfigError, Secret};
use crate::org::directory::DirectoryConfig;
use crate::schema::DEFAULT_TABLE_NAME;

/// GA4's Measurement Protocol endpoint.
pub const DEFAULT_GA4_ENDPOINT: &str = "https://www.google-analytics.com/mp/collect";

/// When a push alert is sent .
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Risk score from which an event alerts (seed: 60).
    pub min_risk_score: f64,
    /// Account sharing score from which an event alerts (seed: 60).
    pub min_sharing_score: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            min_risk_score: 60.0,
            min_sharing_score: 60.0,
        }
    }
}

/// The detection thresholds (`PROCESSOR_CONFIG`, a partial JSON override deep-merged over
/// these defaults, e.g. `{"travel": {"max_speed_kmh": 1000}}`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    pub travel: TravelConfig,
    pub sharing: SharingConfig,
    pub alerts: AlertConfig,
}

impl DetectionConfig {
    /// The defaults with a partial JSON override merged in.
    ///
    /// # Errors
    /// The unknown key, or the value that does not fit.
    pub fn with_override(json: &str) -> Result<Self, String> {
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut base = serde_json::to_value(Self::default()).map_err(|e| e.to_string())?;
        merge_json(&mut base, &patch)?;
        let c: Self = serde_json::from_value(base).map_err(|e| e.to_string())?;
        if c.travel.max_speed_kmh <= 0.0 || c.travel.risk_step_kmh <= 0.0 {
            return Err("travel.max_speed_kmh and travel.risk_step_kmh must be positive".into());
        }
        Ok(c)
    }
}

/// The dashboard's push endpoint (`PUSH_API_URL`, `PUSH_API_KEY`, `PUSH_TIMEOUT_MS`).
#[derive(Debug, Clone)]
pub struct PushConfig {
    pub url: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub key: Secret,
    /// ms (default 5000).
    pub timeout_ms: u64,
}

/// Configuration of the processor function.
#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    /// The table (`DYNAMODB_TABLE`, default `fingerprint-events`).
    pub table_name: String,
    /// Organizations and their integrations: Supabase (`SUPABASE_URL`, …) or the local
    /// file, as at the edge, without the Upstash cache (integration secrets stay in process).
    /// Billing goes to the same Supabase; without it billing is skipped (and recorded so).
    pub directory: DirectoryConfig,
    /// GA4 Measurement Protocol endpoint (`GA4_ENDPOINT`).
    pub ga4_endpoint: String,
    /// ms (`GA4_TIMEOUT_MS`, default 5000).
    pub ga4_timeout_ms: u64,
    /// `None` without `PUSH_API_URL`: alerts are recorded, not pushed.
    pub push: Option<PushConfig>,
    /// What webhooks may reach: `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` lets them reach
    /// addresses that are not globally reachable (local development only);
    /// `WEBHOOK_ALLOWED_PORTS` lists the ports a webhook URL may name (default `443,80`;
    /// `any` for local development).
    pub outbound: OutboundPolicy,
    /// Users whose records are processed at once (`PROCESSOR_CONCURRENCY`, default 100: a
    /// whole batch of the template's batch size).
    pub concurrency: usize,
    /// Thresholds (`PROCESSOR_CONFIG`).
    pub detection: DetectionConfig,
    /// CloudWatch namespace of the function's Embedded Metric Format metrics
    /// (`METRICS_NAMESPACE`, default `Impressio`; see [`crate::metrics`]).
    pub metrics_namespace: String,
    /// Timeouts of the DynamoDB client (`DYNAMODB_ATTEMPT_TIMEOUT_MS`,
    /// `DYNAMODB_OPERATION_TIMEOUT_MS`).
    pub dynamodb_timeouts: crate::store::dynamo::DynamoTimeouts,
    /// A DynamoDB endpoint of a local stack (`DYNAMODB_ENDPOINT`, empty when deployed; see
    /// [`crate::store::dynamo::ENDPOINT_VAR`]); `None`: the AWS SDK's own settings.
    pub dynamodb_endpoint: Option<String>,
}

impl ProcessorConfig {
    /// Every variable [`ProcessorConfig::from_lookup`] reads (a unit test records its lookups
    /// and holds this list to them; the template test checks `template.yaml` sets each for the
    /// processor). No Upstash variable: the processor's directory has no shared cache.
    pub const ENV_VARS: &'static [&'static str] = &[
        "DYNAMODB_TABLE",
        "PUSH_API_URL",
        "PUSH_API_KEY",
        "PUSH_TIMEOUT_MS",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "WEBHOOK_ALLOWED_PORTS",
        "PROCESSOR_CONFIG",
        "GA4_ENDPOINT",
        "GA4_TIMEOUT_MS",
        "PROCESSOR_CONCURRENCY",
        "SUPABASE_URL",
        "SUPABASE_SERVICE_KEY",
        "SUPABASE_TIMEOUT_MS",
        "ORGANIZATIONS_FILE",
        "ORG_MEMORY_TTL_SECS",
        "ORG_NEGATIVE_TTL_SECS",
        "ORG_MAX_STALE_SECS",
        "ORG_SOURCE_RETRY_SECS",
        "ORG_MEMORY_CAPACITY",
        "METRICS_NAMESPACE",
        "DYNAMODB_ATTEMPT_TIMEOUT_MS",
        "DYNAMODB_OPERATION_TIMEOUT_MS",
        "DYNAMODB_ENDPOINT",
    ];

    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup`.
    ///
    /// # Errors
    /// As [`ProcessorConfig::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |k: &str| lookup(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let table_name = match lookup("DYNAMODB_TABLE") {
            None => DEFAULT_TABLE_NAME.to_string(),
            Some(v) if v.trim().is_empty() => return Err(ConfigError::Empty { var: "DYNAMODB_TABLE" }),
            Some(v) => v.trim().to_string(),
        };
        let push = match text("PUSH_API_URL") {
            None => None,
            Some(url) => Some(PushConfig {
                url,
                key: Secret::new(text("PUSH_API_KEY").ok_or(ConfigError::Missing {
                    var: "PUSH_API_KEY",
                    because: "PUSH_API_URL is set",
                })?),
                timeout_ms: number(&lookup, "PUSH_TIMEOUT_MS", 5000, 100, 30_000)?,
            }),
        };
        let allow_private = match text("WEBHOOK_ALLOW_PRIVATE_TARGETS").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "WEBHOOK_ALLOW_PRIVATE_TARGETS",
                    message: format!("{other:?} is not true or false"),
                })
            }
        };
        let ports = match text("WEBHOOK_ALLOWED_PORTS").as_deref() {
            None => Some(DEFAULT_PORTS.to_vec()),
            Some("any") => None,
            Some(list) => Some(
                list.split(',')
                    .map(|p| p.trim().parse::<u16>().ok().filter(|p| *p > 0))
                    .collect::<Option<Vec<u16>>>()
                    .ok_or_else(|| ConfigError::Invalid {
                        var: "WEBHOOK_ALLOWED_PORTS",
                        message: format!("{list:?} is not a comma-separated list of ports 1-65535, or `any`"),
                    })?,
            ),
        };
        let detection = match text("PROCESSOR_CONFIG") {
            None => DetectionConfig::default(),
            Some(json) => DetectionConfig::with_override(&json).map_err(|message| ConfigError::Invalid {
                var: "PROCESSOR_CONFIG",
                message,
            })?,
        };
        Ok(ProcessorConfig {
            table_name,
            directory: DirectoryConfig::in_process_from_lookup(&lookup)?,
            ga4_endpoint: text("GA4_ENDPOINT").unwrap_or_else(|| DEFAULT_GA4_ENDPOINT.to_string()),
            ga4_timeout_ms: number(&lookup, "GA4_TIMEOUT_MS", 5000, 100, 30_000)?,
            push,
            outbound: OutboundPolicy { allow_private, ports },
            concurrency: number(&lookup, "PROCESSOR_CONCURRENCY", 100, 1, 1000)? as usize,
            detection,
            metrics_namespace: crate::metrics::namespace_from_lookup(&lookup)?,
            dynamodb_timeouts: crate::store::dynamo::DynamoTimeouts::from_lookup(&lookup),
            dynamodb_endpoint: crate::store::dynamo::endpoint_from_lookup(&lookup)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::recorded_lookups;

    #[test]
    fn env_vars_are_exactly_what_from_lookup_reads() {
        // A valid value of every variable the processor may read, Upstash's included: they
        // must be left unread, not merely unused.
        let samples = [
            ("DYNAMODB_TABLE", "t1"),
            ("PUSH_API_URL", "https://push.example/alerts"),
            ("PUSH_API_KEY", "push-key"),
            ("PUSH_TIMEOUT_MS", "3000"),
            ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "false"),
            ("WEBHOOK_ALLOWED_PORTS", "443, 8443"),
            ("PROCESSOR_CONFIG", r#"{"alerts": {"min_risk_score": 70}}"#),
            ("GA4_ENDPOINT", "https://region1.google-analytics.com/mp/collect"),
            ("GA4_TIMEOUT_MS", "4000"),
            ("PROCESSOR_CONCURRENCY", "10"),
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_SERVICE_KEY", "service-key"),
            ("SUPABASE_TIMEOUT_MS", "1500"),
            ("ORGANIZATIONS_FILE", "/tmp/organizations.json"),
            ("ORG_MEMORY_TTL_SECS", "10"),
            ("ORG_NEGATIVE_TTL_SECS", "5"),
            ("ORG_MAX_STALE_SECS", "600"),
            ("ORG_SOURCE_RETRY_SECS", "2"),
            ("ORG_MEMORY_CAPACITY", "50"),
            ("UPSTASH_REDIS_REST_URL", "https://u.upstash.io"),
            ("UPSTASH_REDIS_REST_TOKEN", "token"),
            ("ORG_CACHE_TTL_SECS", "120"),
            ("DYNAMODB_ENDPOINT", "http://172.17.0.1:8002"),
        ];
        let (asked, result) = recorded_lookups(&samples, |lookup| ProcessorConfig::from_lookup(lookup));
        let c = result.unwrap();
        // Every branch was taken, so every variable was asked for.
        assert!(c.push.is_some() && c.directory.supabase.is_some());
        assert!(c.directory.upstash.is_none());
        let mut listed: Vec<String> = ProcessorConfig::ENV_VARS.iter().map(|v| v.to_string()).collect();
        listed.sort();
        assert_eq!(
            asked, listed,
            "ProcessorConfig::ENV_VARS (right) is not what from_lookup reads (left)"
        );
        assert_eq!(c.concurrency, 10);
        assert_eq!(c.detection.alerts.min_risk_score, 70.0);
        assert_eq!(c.outbound.ports, Some(vec![443, 8443]));
    }

    #[test]
    fn defaults_and_overrides() {
        let c = ProcessorConfig::from_lookup(|_| None).unwrap();
        assert_eq!(c.table_name, DEFAULT_TABLE_NAME);
        assert_eq!(c.ga4_endpoint, DEFAULT_GA4_ENDPOINT);
        assert!(c.push.is_none() && !c.outbound.allow_private);
        assert_eq!(c.outbound.ports, Some(vec![443, 80]), "HTTPS and HTTP only");
        assert_eq!(c.detection, DetectionConfig::default());
        assert_eq!(c.detection.alerts.min_risk_score, 60.0);
        assert_eq!(c.metrics_namespace, "Impressio");

        let c = ProcessorConfig::from_lookup(|k| match k {
            "PROCESSOR_CONFIG" => Some(r#"{"travel": {"max_speed_kmh": 1000}}"#.into()),
            "PUSH_API_URL" => Some("https://push.example/alerts".into()),
            "PUSH_API_KEY" => Some("push-key-value".into()),
            "WEBHOOK_ALLOW_PRIVATE_TARGETS" => Some("true".into()),
            "WEBHOOK_ALLOWED_PORTS" => Some("any".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.outbound, OutboundPolicy::local());
        assert_eq!(c.detection.travel.max_speed_kmh, 1000.0);
        assert_eq!(c.detection.travel.min_distance_km, 50.0);
        assert!(c.outbound.allow_private);
        let push = c.push.unwrap();
        assert!(!format!("{push:?}").contains("push-key-value"));

        for (var, value) in [
            ("PROCESSOR_CONFIG", r#"{"travel": {"max_sped": 1}}"#),
            ("PUSH_API_URL", "https://push.example"),
            ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "yes"),
            ("WEBHOOK_ALLOWED_PORTS", "443,0"),
            ("WEBHOOK_ALLOWED_PORTS", "443,https"),
            ("PROCESSOR_CONCURRENCY", "0"),
            ("METRICS_NAMESPACE", "AWS/Lambda"),
        ] {
            let err = ProcessorConfig::from_lookup(|k| (k == var).then(|| value.to_string())).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
