//! Where organizations come from and how they are cached: the directory's settings, read
//! once from the environment.

use std::path::PathBuf;

use crate::env::{non_empty, number, ConfigError, Secret};
use crate::org::supabase::SupabaseConfig;
use crate::org::tiered::TierConfig;
use crate::org::upstash::UpstashConfig;

/// Where organizations come from and how they are cached.
#[derive(Debug, Clone, Default)]
pub struct DirectoryConfig {
    /// Supabase (`SUPABASE_URL`, `SUPABASE_SERVICE_KEY`, `SUPABASE_TIMEOUT_MS`, default
    /// 2000); `None` serves the local organizations file instead.
    pub supabase: Option<SupabaseConfig>,
    /// Upstash (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`, `UPSTASH_TIMEOUT_MS`,
    /// default 500); `None` skips the shared cache.
    pub upstash: Option<UpstashConfig>,
    /// Local organizations file (`ORGANIZATIONS_FILE`); `None` is the compiled-in
    /// `infra/organizations/local.json`. Used only without Supabase.
    pub organizations_file: Option<PathBuf>,
    /// Tier timings: `ORG_MEMORY_TTL_SECS` (60), `ORG_NEGATIVE_TTL_SECS` (30),
    /// `ORG_CACHE_TTL_SECS` (Upstash, 300), `ORG_MAX_STALE_SECS` (86400),
    /// `ORG_SOURCE_RETRY_SECS` (5), `ORG_MEMORY_CAPACITY` (10000).
    pub tiers: TierConfig,
}

impl DirectoryConfig {
    /// Reads the directory settings through `lookup`, with the shared Upstash cache (the
    /// edge's directory).
    ///
    /// # Errors
    /// [`ConfigError`] for a malformed number, or a URL without its key / token.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup, true)
    }

    /// Reads the directory settings through `lookup` for a directory without the shared cache
    /// (the processor's, which never uses Upstash): the Upstash variables and
    /// `ORG_CACHE_TTL_SECS` are not read, and `upstash` is `None`.
    ///
    /// # Errors
    /// [`ConfigError`] for a malformed number, or a URL without its key.
    pub fn in_process_from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup, false)
    }

    fn read(lookup: &impl Fn(&str) -> Option<String>, shared_cache: bool) -> Result<Self, ConfigError> {
        let d = TierConfig::default();
        let secs = |var, default_ms: i64, min, max| -> Result<i64, ConfigError> {
            Ok(number(lookup, var, (default_ms / 1000) as u64, min, max)? as i64 * 1000)
        };
        let tiers = TierConfig {
            memory_ttl_ms: secs("ORG_MEMORY_TTL_SECS", d.memory_ttl_ms, 0, 3600)?,
            negative_ttl_ms: secs("ORG_NEGATIVE_TTL_SECS", d.negative_ttl_ms, 1, 3600)?,
            upstash_ttl_secs: if shared_cache {
                number(lookup, "ORG_CACHE_TTL_SECS", d.upstash_ttl_secs, 1, 86_400)?
            } else {
                d.upstash_ttl_secs
            },
            max_stale_ms: secs("ORG_MAX_STALE_SECS", d.max_stale_ms, 0, 7 * 86_400)?,
            source_retry_ms: secs("ORG_SOURCE_RETRY_SECS", d.source_retry_ms, 0, 3600)?,
            capacity: number(lookup, "ORG_MEMORY_CAPACITY", d.capacity as u64, 1, 10_000_000)? as usize,
        };
        let supabase = match non_empty(lookup, "SUPABASE_URL") {
            None => None,
            Some(url) => Some(SupabaseConfig {
                url,
                service_key: Secret::new(non_empty(lookup, "SUPABASE_SERVICE_KEY").ok_or(ConfigError::Missing {
                    var: "SUPABASE_SERVICE_KEY",
                    because: "SUPABASE_URL is set",
                })?),
                timeout_ms: number(lookup, "SUPABASE_TIMEOUT_MS", 2000, 50, 30_000)?,
            }),
        };
        let upstash = match shared_cache
            .then(|| non_empty(lookup, "UPSTASH_REDIS_REST_URL"))
            .flatten()
        {
            None => None,
            Some(url) => Some(UpstashConfig {
                url,
                token: Secret::new(
                    non_empty(lookup, "UPSTASH_REDIS_REST_TOKEN").ok_or(ConfigError::Missing {
                        var: "UPSTASH_REDIS_REST_TOKEN",
                        because: "UPSTASH_REDIS_REST_URL is set",
                    })?,
                ),
                timeout_ms: number(lookup, "UPSTASH_TIMEOUT_MS", 500, 20, 10_000)?,
            }),
        };
        Ok(DirectoryConfig {
            supabase,
            upstash,
            organizations_file: non_empty(lookup, "ORGANIZATIONS_FILE").map(PathBuf::from),
            tiers,
        })
    }
}
