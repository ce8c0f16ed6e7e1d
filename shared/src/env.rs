//! Configuration helpers shared by every function's configuration: secrets that never print,
//! the error type, whole-number variables with ranges, and the deep merge of JSON overrides.
//! It imports nothing of this crate, so any module may use it without a cycle.

use std::num::ParseIntError;

/// Read by mimalloc, both functions' allocator, at process start (not by our code): `0`
/// commits its arena's memory as it is used instead of all at start, about 1 ms less of cold
/// start (docs/performance.md, "Cold start"); the template sets it for both functions.
pub const ALLOCATOR_EAGER_COMMIT_VAR: &str = "MIMALLOC_ARENA_EAGER_COMMIT";

/// The trimmed value of `var`, or `None` when it is unset or blank.
pub fn non_empty(lookup: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    lookup(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
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
    /// A variable another one needs is missing.
    #[error("{var} is required because {because}")]
    Missing { var: &'static str, because: &'static str },
    /// A JSON override is malformed or names an unknown key.
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
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
    let value: u64 = raw.trim().parse().map_err(|source| ConfigError::NotANumber {
        var,
        value: raw.clone(),
        source,
    })?;
    if !(min..=max).contains(&value) {
        return Err(ConfigError::OutOfRange { var, value, min, max });
    }
    Ok(value)
}

/// Deep-merges `patch` into `base`: objects merge key by key, anything else replaces. A key
/// of `patch` that `base` does not have is refused, so a typo in an override fails loudly.
///
/// # Errors
/// The dotted path of the first unknown key.
pub fn merge_json(base: &mut serde_json::Value, patch: &serde_json::Value) -> Result<(), String> {
    fn go(base: &mut serde_json::Value, patch: &serde_json::Value, path: &str) -> Result<(), String> {
        match (base, patch) {
            (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
                for (k, v) in p {
                    let here = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let slot = b.get_mut(k).ok_or_else(|| format!("unknown key `{here}`"))?;
                    go(slot, v, &here)?;
                }
                Ok(())
            }
            (b, p) => {
                *b = p.clone();
                Ok(())
            }
        }
    }
    go(base, patch, "")
}

/// A secret value (API key, token): never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Read from text (a file of organizations, a database row); there is deliberately no
/// `Serialize`, so a secret cannot end up in a cache, a log line or a response.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Runs `read` with a lookup that answers each variable from `values` and records every name
/// it is asked for; returns the names, sorted, and what `read` returned. For the tests that
/// hold a configuration's `ENV_VARS` to what its `from_lookup` reads.
#[cfg(test)]
pub(crate) fn recorded_lookups<T>(
    values: &[(&str, &str)],
    read: impl FnOnce(&dyn Fn(&str) -> Option<String>) -> Result<T, ConfigError>,
) -> (Vec<String>, Result<T, ConfigError>) {
    let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let lookup = |k: &str| {
        asked.borrow_mut().insert(k.to_string());
        values.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())
    };
    let result = read(&lookup);
    (asked.into_inner().into_iter().collect(), result)
}
