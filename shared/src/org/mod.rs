//! Organizations: who our customers are, which plan they have, which domains they own and
//! how much of their monthly quota they used — looked up through a tiered directory.
//!
//! - [`plans`]: plans, features and limits;
//! - [`domains`]: the rule matching a request's `Origin` / `Referer` to an organization;
//! - [`supabase`]: the PostgREST client (the source of truth);
//! - [`upstash`]: the Upstash Redis REST client (the shared cache, 5 min TTL);
//! - [`local`]: organizations from a JSON file, for the local stack (no Supabase);
//! - [`server_key`]: the server key that authenticates server-side events;
//! - [`tiered`]: the warm in-process tier in front of both, with the failure policy.

#[cfg(feature = "io")]
pub mod directory;
pub mod domains;
pub mod local;
pub mod plans;
pub mod server_key;
#[cfg(feature = "io")]
pub mod supabase;
#[cfg(feature = "io")]
pub mod tiered;
#[cfg(feature = "io")]
pub mod upstash;
pub mod webhook_secret;

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use webhook_secret::{SecretError, WebhookSecret};

pub use plans::{Feature, Plan, PlanCatalog, PlanLimits};
pub use server_key::ServerKeyDigest;
#[cfg(feature = "io")]
pub use tiered::TieredDirectory;

/// An organization: what the edge needs, plus the integrations only the processor reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub plan: Plan,
    /// Registered domains, in the order they were added; only the first N the plan allows are
    /// honored.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Events counted in the billing month that starts on `billing_period_start`.
    #[serde(default)]
    pub events_this_month: u64,
    /// First day of the counted month, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    pub billing_period_start: Option<String>,
    /// GA4 and webhook settings with their secrets; `None` where they were not read (the
    /// edge never selects them). Never serialized, so the secrets cannot reach a cache.
    #[serde(default, skip_serializing)]
    pub integrations: Option<Integrations>,
    /// SHA-256 of the server key that authenticates the organization's server-side events
    /// (column `server_key_sha256`, 64 hex digits); `None` when it has none. Unlike the
    /// integration secrets it is serialized, as lowercase hex, so the Upstash tier can serve
    /// it: it is a digest of a random key, never the key. `Debug` shows `***`, and no answer
    /// or event record carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key_sha256: Option<ServerKeyDigest>,
    /// SHA-256 of the organization's Server API key (column `api_key_sha256`), the key that
    /// reads its events and visitors under `/v1/` on every plan; `None`: no key, every Server
    /// API call is refused. Kept like `server_key_sha256` (a digest of a random key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sha256: Option<ServerKeyDigest>,
    /// SHA-256 of the Server API key being rotated out (column `api_key_previous_sha256`):
    /// while set, both keys are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_previous_sha256: Option<ServerKeyDigest>,
    /// How long the organization keeps its data, days (column `retention_days`, 1–3650);
    /// `None`: the deployment's default. Capped by the plan ([`Organization::retention_days`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// How its events keep the visitor's IP address (column `ip_storage`).
    #[serde(default)]
    pub ip_storage: IpStorage,
}

/// How an organization's events keep the visitor's IP address (IP minimization). Scoring and
/// the behavioral layers always use the full address, in memory only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpStorage {
    /// The address as received.
    #[default]
    Full,
    /// IPv4 to its /24 (`203.0.113.0`), IPv6 to its /48 (`2001:db8:1::`).
    Truncated,
    /// A keyed hash (HMAC-SHA-256 under the deployment's IP key, first 16 bytes, hex): equal
    /// addresses stay equal within the organization, and the address cannot be read back.
    Hashed,
}

/// An organization's integrations, as the columns of `organizations` hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Integrations {
    /// GA4 measurement id, e.g. `G-ABC123`.
    #[serde(default)]
    pub ga4_measurement_id: Option<String>,
    /// GA4 Measurement Protocol API secret.
    #[serde(default)]
    pub ga4_api_secret: Option<crate::env::Secret>,
    /// Where events are delivered (`http://` or `https://`).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The webhook signing secret: a Standard Webhooks secret, `whsec_` + base64 of 24–64
    /// random bytes (see [`crate::processor::webhook_signature`]; anything else is refused).
    #[serde(default)]
    pub webhook_secret: Option<crate::env::Secret>,
    /// The secret being rotated out: while set, every delivery is signed with both.
    #[serde(default)]
    pub webhook_secret_previous: Option<crate::env::Secret>,
}

/// What an organization's integrations allow for one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationSetting<T> {
    /// Not configured: the stage is skipped.
    Off,
    /// Configured and usable.
    On(T),
    /// Half configured (a URL without its secret, an id without its API secret): a
    /// permanent problem, recorded on the event.
    Incomplete(&'static str),
}

impl Integrations {
    /// The GA4 credentials: `(measurement id, API secret)`.
    pub fn ga4(&self) -> IntegrationSetting<(&str, &str)> {
        let id = self.ga4_measurement_id.as_deref().filter(|s| !s.trim().is_empty());
        let secret = self
            .ga4_api_secret
            .as_ref()
            .map(|s| s.expose())
            .filter(|s| !s.is_empty());
        match (id, secret) {
            (None, None) => IntegrationSetting::Off,
            (Some(id), Some(secret)) => IntegrationSetting::On((id, secret)),
            (Some(_), None) => IntegrationSetting::Incomplete("ga4_measurement_id is set without ga4_api_secret"),
            (None, Some(_)) => IntegrationSetting::Incomplete("ga4_api_secret is set without ga4_measurement_id"),
        }
    }

    /// The webhook: `(url, secrets)`, the current secret first, then the one being rotated
    /// out. A secret that is not a Standard Webhooks secret makes the setting
    /// [`IntegrationSetting::Incomplete`], with the reason (never the secret).
    pub fn webhook(&self) -> IntegrationSetting<(&str, Vec<WebhookSecret>)> {
        let url = self.webhook_url.as_deref().filter(|s| !s.trim().is_empty());
        let Some(url) = url else {
            return IntegrationSetting::Off;
        };
        let text =
            |s: &Option<crate::env::Secret>| s.as_ref().map(|s| s.expose().to_string()).filter(|s| !s.is_empty());
        let Some(current) = text(&self.webhook_secret) else {
            return IntegrationSetting::Incomplete("webhook_url is set without webhook_secret");
        };
        let mut secrets = match WebhookSecret::parse(&current) {
            Ok(s) => vec![s],
            Err(e) => return IntegrationSetting::Incomplete(secret_problem("webhook_secret", &e)),
        };
        if let Some(previous) = text(&self.webhook_secret_previous).filter(|p| *p != current) {
            match WebhookSecret::parse(&previous) {
                Ok(s) => secrets.push(s),
                Err(e) => return IntegrationSetting::Incomplete(secret_problem("webhook_secret_previous", &e)),
            }
        }
        IntegrationSetting::On((url, secrets))
    }

    /// Checks the webhook secrets (when set): what loading organizations from a file does, so
    /// that a secret no receiver could verify fails at start.
    ///
    /// # Errors
    /// The column and why its secret is refused.
    pub fn check_secrets(&self) -> Result<(), String> {
        for (column, s) in [
            ("webhook_secret", &self.webhook_secret),
            ("webhook_secret_previous", &self.webhook_secret_previous),
        ] {
            if let Some(s) = s.as_ref().filter(|s| !s.expose().is_empty()) {
                WebhookSecret::parse(s.expose()).map_err(|e| format!("{column}: {e}"))?;
            }
        }
        Ok(())
    }
}

/// The fixed message of a refused secret (an [`IntegrationSetting::Incomplete`] reason).
fn secret_problem(column: &'static str, e: &SecretError) -> &'static str {
    match (column, e) {
        ("webhook_secret", SecretError::Empty) => "webhook_secret is empty",
        ("webhook_secret", SecretError::MissingPrefix) => {
            "webhook_secret is not a Standard Webhooks secret: it must start with whsec_"
        }
        ("webhook_secret", SecretError::BadBase64) => "webhook_secret is not whsec_ followed by base64",
        ("webhook_secret", SecretError::KeyLength { .. }) => "webhook_secret's key is not 24 to 64 bytes",
        (_, SecretError::Empty) => "webhook_secret_previous is empty",
        (_, SecretError::MissingPrefix) => {
            "webhook_secret_previous is not a Standard Webhooks secret: it must start with whsec_"
        }
        (_, SecretError::BadBase64) => "webhook_secret_previous is not whsec_ followed by base64",
        (_, SecretError::KeyLength { .. }) => "webhook_secret_previous's key is not 24 to 64 bytes",
    }
}

impl Organization {
    /// How long the organization's items live, days: its `retention_days`, else `default`,
    /// never above its plan's `max_retention_days` (and at least 1).
    pub fn retention_days(&self, plans: &PlanCatalog, default: u32) -> u32 {
        self.retention_days
            .unwrap_or(default)
            .min(plans.limits(self.plan).max_retention_days)
            .max(1)
    }

    /// Events used in the calendar month of `now_ms`: the stored count if it belongs to that
    /// month, else 0 (the counter rolls over at its next increment).
    pub fn events_used(&self, now_ms: i64) -> u64 {
        let month = month_start(now_ms);
        match self.billing_period_start.as_deref() {
            Some(start) if start.get(..7) == Some(&month[..7]) => self.events_this_month,
            Some(_) => 0,
            None => self.events_this_month,
        }
    }
}

/// `YYYY-MM-01` of the UTC month containing `ms`.
pub fn month_start(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-01", t.year(), u8::from(t.month()))
}

/// Seconds from `ms` until the next UTC month begins (at least 1).
pub fn seconds_until_next_month(ms: i64) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, m) = if t.month() == time::Month::December {
        (t.year() + 1, time::Month::January)
    } else {
        (t.year(), t.month().next())
    };
    let next = time::Date::from_calendar_date(y, m, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(0);
    (next - ms.div_euclid(1000)).max(1)
}

/// Why the source of truth could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The service refused our credentials (HTTP 401/403): a configuration error.
    #[error("{service} refused the credentials (HTTP {status})")]
    Unauthorized { service: &'static str, status: u16 },
    /// The service answered an unexpected status (404 of a missing table, 5xx, …).
    #[error("{service} answered HTTP {status}: {body}")]
    Status {
        service: &'static str,
        status: u16,
        body: String,
    },
    /// No answer within the timeout.
    #[error("{service} did not answer within {timeout_ms} ms")]
    Timeout { service: &'static str, timeout_ms: u64 },
    /// The connection failed.
    #[cfg(feature = "io")]
    #[error("{service} could not be reached: {source}")]
    Transport {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the expected JSON.
    #[error("{service} answered something that is not the expected JSON: {message}")]
    Decode { service: &'static str, message: String },
}

#[cfg(feature = "io")]
impl DirectoryError {
    /// Classifies a `reqwest` error of `service` with the timeout that applied.
    pub fn from_reqwest(service: &'static str, timeout_ms: u64, e: reqwest::Error) -> Self {
        if e.is_timeout() {
            DirectoryError::Timeout { service, timeout_ms }
        } else if e.is_decode() {
            DirectoryError::Decode {
                service,
                message: e.to_string(),
            }
        } else {
            DirectoryError::Transport { service, source: e }
        }
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupSource {
    /// The warm in-process tier.
    Memory,
    /// Upstash.
    Upstash,
    /// Supabase.
    Supabase,
    /// The local organizations file.
    Local,
    /// An expired in-process entry, served because the source is unavailable.
    Stale,
}

/// The answer of a lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The organization exists.
    Found {
        org: Arc<Organization>,
        source: LookupSource,
        /// Age of the data, ms (0 when just fetched from the source).
        age_ms: i64,
    },
    /// No organization has this id.
    Unknown,
    /// Nothing is known and the source cannot answer now.
    Unavailable { reason: String },
}

/// The source of truth for organizations.
pub trait OrganizationSource: Send + Sync {
    /// Name recorded on events as the lookup's source (`supabase`, `local`).
    fn name(&self) -> &'static str;

    /// The organization with `id`, or `None` when there is none.
    ///
    /// # Errors
    /// [`DirectoryError`] when the source cannot answer.
    fn fetch(&self, id: &str) -> impl Future<Output = Result<Option<Organization>, DirectoryError>> + Send;

    /// The organizations among `ids` that exist, in one request where the source allows.
    ///
    /// # Errors
    /// [`DirectoryError`] when the source cannot answer.
    fn fetch_many(&self, ids: &[&str]) -> impl Future<Output = Result<Vec<Organization>, DirectoryError>> + Send;
}

/// What the edge asks: the organization of an id, through whatever tiers there are.
pub trait OrganizationDirectory: Send + Sync {
    /// Looks up an organization.
    fn lookup(&self, id: &str) -> impl Future<Output = Lookup> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_secret_no_receiver_could_verify_is_an_explained_setting() {
        let with = |current: Option<&str>, previous: Option<&str>| Integrations {
            webhook_url: Some("https://hooks.example/in".into()),
            webhook_secret: current.map(crate::env::Secret::new),
            webhook_secret_previous: previous.map(crate::env::Secret::new),
            ..Integrations::default()
        };
        let good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let IntegrationSetting::On((_, secrets)) = with(Some(good), Some(good)).webhook() else {
            panic!("a valid secret")
        };
        assert_eq!(secrets.len(), 1, "the same secret twice signs once");
        for (current, previous, reason) in [
            (
                Some("raw-text"),
                None,
                "webhook_secret is not a Standard Webhooks secret: it must start with whsec_",
            ),
            (
                Some(good),
                Some("whsec_***"),
                "webhook_secret_previous is not whsec_ followed by base64",
            ),
            (Some("whsec_AAAA"), None, "webhook_secret's key is not 24 to 64 bytes"),
            (None, None, "webhook_url is set without webhook_secret"),
        ] {
            assert_eq!(
                with(current, previous).webhook(),
                IntegrationSetting::Incomplete(reason)
            );
            if current.is_some() {
                assert!(with(current, previous).check_secrets().is_err());
            }
        }
    }

    #[test]
    fn usage_belongs_to_its_month() {
        let nov = 1_795_000_000_000; // 2026-11-18
        let mut org = Organization {
            id: "o".into(),
            name: None,
            plan: Plan::Free,
            domains: vec![],
            events_this_month: 42,
            billing_period_start: Some("2026-11-01".into()),
            integrations: None,
            server_key_sha256: None,
            api_key_sha256: None,
            api_key_previous_sha256: None,
            retention_days: None,
            ip_storage: IpStorage::Full,
        };
        assert_eq!(month_start(nov), "2026-11-01");
        assert_eq!(org.events_used(nov), 42);
        org.billing_period_start = Some("2026-10-01".into());
        assert_eq!(org.events_used(nov), 0);
        let secs = seconds_until_next_month(nov);
        assert_eq!(nov / 1000 + secs, 1_796_083_200); // 2026-12-01T00:00:00Z
        assert_eq!(seconds_until_next_month(1_796_083_199_000), 1);
    }
}

/// The source the configuration chose: Supabase, or the local organizations file.
#[cfg(feature = "io")]
#[derive(Debug, Clone)]
pub enum AnySource {
    Supabase(supabase::SupabaseClient),
    Local(local::LocalDirectory),
}

#[cfg(feature = "io")]
impl OrganizationSource for AnySource {
    fn name(&self) -> &'static str {
        match self {
            AnySource::Supabase(s) => s.name(),
            AnySource::Local(l) => l.name(),
        }
    }

    async fn fetch(&self, id: &str) -> Result<Option<Organization>, DirectoryError> {
        match self {
            AnySource::Supabase(s) => OrganizationSource::fetch(s, id).await,
            AnySource::Local(l) => l.fetch(id).await,
        }
    }

    async fn fetch_many(&self, ids: &[&str]) -> Result<Vec<Organization>, DirectoryError> {
        match self {
            AnySource::Supabase(s) => OrganizationSource::fetch_many(s, ids).await,
            AnySource::Local(l) => l.fetch_many(ids).await,
        }
    }
}

/// Why the configured directory could not be built.
#[cfg(feature = "io")]
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An HTTP client could not be created.
    #[error("cannot create the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// The organizations file cannot be read or parsed.
    #[error("organizations file {path}: {message}")]
    File { path: String, message: String },
}

#[cfg(feature = "io")]
/// Builds the tiered directory the configuration describes (the edge's: no integration
/// secrets). Without Supabase it serves the local organizations file and logs that it does.
///
/// # Errors
/// [`BuildError`] when a client cannot be created or the file cannot be read.
pub fn build_directory(
    config: &directory::DirectoryConfig,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
) -> Result<TieredDirectory<AnySource>, BuildError> {
    build(config, clock, false)
}

#[cfg(feature = "io")]
/// The processor's directory: organizations with their integrations (GA4, webhook and their
/// secrets). It has the in-process tier only: integration secrets are never written to the
/// shared Upstash cache.
///
/// # Errors
/// As [`build_directory`].
pub fn build_integrations_directory(
    config: &directory::DirectoryConfig,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
) -> Result<TieredDirectory<AnySource>, BuildError> {
    build(config, clock, true)
}

#[cfg(feature = "io")]
fn build(
    config: &directory::DirectoryConfig,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    integrations: bool,
) -> Result<TieredDirectory<AnySource>, BuildError> {
    let source = match (&config.supabase, &config.organizations_file) {
        (Some(s), _) => {
            let client = supabase::SupabaseClient::new(s.clone())?;
            AnySource::Supabase(if integrations {
                client.with_integrations()
            } else {
                client
            })
        }
        (None, Some(path)) => {
            let file_err = |message: String| BuildError::File {
                path: path.display().to_string(),
                message,
            };
            let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
            tracing::warn!(file = %path.display(), "SUPABASE_URL is unset: serving organizations from a file");
            AnySource::Local(local::LocalDirectory::from_json(&text).map_err(file_err)?)
        }
        (None, None) => {
            tracing::warn!("SUPABASE_URL is unset: serving the sample organizations of infra/organizations/local.json");
            AnySource::Local(local::LocalDirectory::embedded())
        }
    };
    let upstash = if integrations {
        None
    } else {
        config.upstash.clone().map(upstash::UpstashClient::new).transpose()?
    };
    Ok(TieredDirectory::new(source, upstash, clock, config.tiers))
}
