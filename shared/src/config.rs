//! Typed configuration, parsed once at cold start from environment variables.

use std::num::ParseIntError;

/// Default DynamoDB table name (seed `001_…`: `DYNAMODB_TABLE`, default `fingerprint-events`).
pub const DEFAULT_TABLE_NAME: &str = "fingerprint-events";
/// Default limit on request bodies for `POST /t` and `POST /c`: 32 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024;
/// Default retention of event items before DynamoDB TTL removes them: 395 days (13 months,
/// so a full year can be compared with the year before).
pub const DEFAULT_EVENT_TTL_DAYS: u32 = 395;

/// Configuration of the edge function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// DynamoDB table for events (`DYNAMODB_TABLE`).
    pub table_name: String,
    /// Largest accepted request body in bytes (`MAX_BODY_BYTES`, 1 KiB … 1 MiB; 1 MiB is what
    /// CloudFront exposes to an origin-request trigger).
    pub max_body_bytes: usize,
    /// Days an event item lives before its TTL expires (`EVENT_TTL_DAYS`, 1 … 3650).
    pub event_ttl_days: u32,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            table_name: DEFAULT_TABLE_NAME.to_string(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            event_ttl_days: DEFAULT_EVENT_TTL_DAYS,
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is not a whole number.
    #[error("{var}={value:?} is not a whole number")]
    NotANumber {
        var: &'static str,
        value: String,
        #[source]
        source: ParseIntError,
    },
    /// The variable is outside its allowed range.
    #[error("{var}={value} is outside {min}..={max}")]
    OutOfRange {
        var: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    /// The variable is set but empty.
    #[error("{var} is set but empty")]
    Empty { var: &'static str },
}

impl EdgeConfig {
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
            Some(v) if v.trim().is_empty() => {
                return Err(ConfigError::Empty {
                    var: "DYNAMODB_TABLE",
                })
            }
            Some(v) => v.trim().to_string(),
        };
        Ok(EdgeConfig {
            table_name,
            max_body_bytes: number(
                &lookup,
                "MAX_BODY_BYTES",
                d.max_body_bytes as u64,
                1024,
                1 << 20,
            )? as usize,
            event_ttl_days: number(&lookup, "EVENT_TTL_DAYS", d.event_ttl_days as u64, 1, 3650)?
                as u32,
        })
    }
}

/// A whole-number variable with a default and an inclusive range.
pub fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = lookup(var) else {
        return Ok(default);
    };
    let value: u64 = raw
        .trim()
        .parse()
        .map_err(|source| ConfigError::NotANumber {
            var,
            value: raw.clone(),
            source,
        })?;
    if !(min..=max).contains(&value) {
        return Err(ConfigError::OutOfRange {
            var,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_unset() {
        assert_eq!(
            EdgeConfig::from_lookup(|_| None).unwrap(),
            EdgeConfig::default()
        );
    }

    #[test]
    fn reads_and_checks_values() {
        let c = EdgeConfig::from_lookup(|k| match k {
            "DYNAMODB_TABLE" => Some("t1".into()),
            "MAX_BODY_BYTES" => Some("2048".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.table_name, "t1");
        assert_eq!(c.max_body_bytes, 2048);
        let err =
            EdgeConfig::from_lookup(|k| (k == "MAX_BODY_BYTES").then(|| "10".into())).unwrap_err();
        assert!(err.to_string().contains("MAX_BODY_BYTES=10 is outside"));
        let err =
            EdgeConfig::from_lookup(|k| (k == "EVENT_TTL_DAYS").then(|| "ten".into())).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::NotANumber {
                var: "EVENT_TTL_DAYS",
                ..
            }
        ));
    }
}
