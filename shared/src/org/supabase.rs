//! The Supabase (PostgREST) client: the source of truth for organizations.
//!
//! `GET {SUPABASE_URL}/rest/v1/organizations?id=eq.<id>&select=<columns>` with the headers
//! `apikey: <service key>`, `Authorization: Bearer <service key>` and
//! `Accept: application/json`; a batch uses `id=in.(<a>,<b>,…)`. The service key never
//! appears in logs or errors. Statuses: 200 with a JSON array (empty: no such organization);
//! 401/403 → [`DirectoryError::Unauthorized`]; anything else, including PostgREST's 404 for a
//! missing table → [`DirectoryError::Status`]; no answer in time → [`DirectoryError::Timeout`].

use std::time::Duration;

use serde::Deserialize;

use super::{DirectoryError, IpStorage, Organization, OrganizationSource, Plan, ServerKeyDigest};
use crate::env::Secret;

/// Columns the edge reads: no integration secrets, and the digest of the server key (never
/// the key), which only the edge checks.
pub const EDGE_COLUMNS: &str = "id,name,plan,domains,events_this_month,billing_period_start,server_key_sha256,api_key_sha256,api_key_previous_sha256,retention_days,ip_storage";
/// Columns the processor reads: the organization's own (without the server key digest, which
/// it does not need) plus the integrations and their secrets.
pub const PROCESSOR_COLUMNS: &str = "id,name,plan,domains,events_this_month,billing_period_start,\
ga4_measurement_id,ga4_api_secret,webhook_url,webhook_secret,webhook_secret_previous";

const SERVICE: &str = "supabase";

/// Connection settings of the Supabase REST API.
#[derive(Debug, Clone)]
pub struct SupabaseConfig {
    /// Project URL, e.g. `https://abcd.supabase.co` (no trailing `/rest/v1`).
    pub url: String,
    /// The service-role key.
    pub service_key: Secret,
    /// Per-request timeout, ms.
    pub timeout_ms: u64,
}

/// PostgREST client for the `organizations` table.
#[derive(Debug, Clone)]
pub struct SupabaseClient {
    http: reqwest::Client,
    config: SupabaseConfig,
    columns: &'static str,
}

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    #[serde(default)]
    name: Option<String>,
    plan: String,
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    events_this_month: Option<u64>,
    #[serde(default)]
    billing_period_start: Option<String>,
    /// Read as text: a malformed digest must not make the organization unreadable.
    #[serde(default)]
    server_key_sha256: Option<String>,
    #[serde(default)]
    api_key_sha256: Option<String>,
    #[serde(default)]
    api_key_previous_sha256: Option<String>,
    #[serde(default)]
    retention_days: Option<i64>,
    #[serde(default)]
    ip_storage: Option<String>,
    #[serde(flatten)]
    integrations: super::Integrations,
}

impl Row {
    fn into_org(self, with_integrations: bool) -> Organization {
        let plan = match self.plan.as_str() {
            "free" => Plan::Free,
            "starter" => Plan::Starter,
            "pro" => Plan::Pro,
            "enterprise" => Plan::Enterprise,
            other => {
                // An unknown plan name must not lose the organization's events: serve it as
                // the free plan and say so.
                tracing::warn!(organization = %self.id, plan = other, "unknown plan; treated as free");
                Plan::Free
            }
        };
        let server_key_sha256 = digest_column(&self.id, "server_key_sha256", self.server_key_sha256.as_deref());
        let api_key_sha256 = digest_column(&self.id, "api_key_sha256", self.api_key_sha256.as_deref());
        let api_key_previous_sha256 = digest_column(
            &self.id,
            "api_key_previous_sha256",
            self.api_key_previous_sha256.as_deref(),
        );
        let retention_days = self.retention_days.and_then(|d| {
                let ok = u32::try_from(d).ok().filter(|d| (1..=3650).contains(d));
                if ok.is_none() {
                    tracing::warn!(organization = %self.id, retention_days = d, "retention_days outside 1..=3650; the default applies");
                }
                ok
            });
        let ip_storage = match self.ip_storage.as_deref().map(str::trim) {
            None | Some("") | Some("full") => IpStorage::Full,
            Some("truncated") => IpStorage::Truncated,
            Some("hashed") => IpStorage::Hashed,
            Some(other) => {
                // An unreadable privacy setting errs on the private side.
                tracing::warn!(organization = %self.id, ip_storage = other, "unknown ip_storage; addresses are hashed");
                IpStorage::Hashed
            }
        };
        Organization {
            id: self.id,
            name: self.name,
            plan,
            domains: self.domains.unwrap_or_default(),
            events_this_month: self.events_this_month.unwrap_or(0),
            billing_period_start: self.billing_period_start,
            integrations: with_integrations.then_some(self.integrations),
            server_key_sha256,
            api_key_sha256,
            api_key_previous_sha256,
            retention_days,
            ip_storage,
        }
    }
}

/// A key digest column: `None` when empty, or malformed (logged without its value: a digest
/// is not for the log either; the key it stands for is then refused).
fn digest_column(org: &str, column: &'static str, value: Option<&str>) -> Option<ServerKeyDigest> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(hex) => ServerKeyDigest::from_hex(hex)
            .inspect_err(|e| {
                tracing::warn!(organization = %org, column, error = %e, "malformed key digest; the key is refused");
            })
            .ok(),
    }
}

impl SupabaseClient {
    /// A client with its own connection pool.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(config: SupabaseConfig) -> Result<Self, reqwest::Error> {
        let http = crate::tls::http_client()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .build()?;
        Ok(SupabaseClient {
            http,
            config,
            columns: EDGE_COLUMNS,
        })
    }

    /// The same client, selecting the integration columns too ([`PROCESSOR_COLUMNS`]): for
    /// the processor only.
    pub fn with_integrations(mut self) -> Self {
        self.columns = PROCESSOR_COLUMNS;
        self
    }

    fn endpoint(&self, table: &str) -> String {
        format!("{}/rest/v1/{table}", self.config.url.trim_end_matches('/'))
    }

    /// The request to `/rest/v1/<table>` with the service-key headers.
    pub fn request(&self, method: reqwest::Method, table: &str) -> reqwest::RequestBuilder {
        let key = self.config.service_key.expose();
        self.http
            .request(method, self.endpoint(table))
            .header("apikey", key)
            .header("Authorization", format!("Bearer {key}"))
            .header("Accept", "application/json")
    }

    /// Sends a request and returns the body of a 2xx answer.
    ///
    /// # Errors
    /// [`DirectoryError`] for every non-2xx status, timeout or transport failure.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<bytes::Bytes, DirectoryError> {
        let timeout_ms = self.config.timeout_ms;
        let resp = req
            .send()
            .await
            .map_err(|e| DirectoryError::from_reqwest(SERVICE, timeout_ms, e))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| DirectoryError::from_reqwest(SERVICE, timeout_ms, e))?;
        match status {
            200..=299 => Ok(body),
            401 | 403 => Err(DirectoryError::Unauthorized {
                service: SERVICE,
                status,
            }),
            _ => Err(DirectoryError::Status {
                service: SERVICE,
                status,
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
            }),
        }
    }

    /// Organizations with the given ids (at most one request).
    ///
    /// # Errors
    /// As [`SupabaseClient::send`], and [`DirectoryError::Decode`] for a body that is not a
    /// JSON array of rows.
    pub async fn fetch_many(&self, ids: &[&str]) -> Result<Vec<Organization>, DirectoryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = if ids.len() == 1 {
            format!("eq.{}", ids[0])
        } else {
            format!("in.({})", ids.join(","))
        };
        let req = self
            .request(reqwest::Method::GET, "organizations")
            .query(&[("id", filter.as_str()), ("select", self.columns)]);
        let body = self.send(req).await?;
        let rows: Vec<Row> = serde_json::from_slice(&body).map_err(|e| DirectoryError::Decode {
            service: SERVICE,
            message: e.to_string(),
        })?;
        let with_integrations = self.columns == PROCESSOR_COLUMNS;
        Ok(rows.into_iter().map(|r| r.into_org(with_integrations)).collect())
    }
}

impl OrganizationSource for SupabaseClient {
    fn name(&self) -> &'static str {
        SERVICE
    }

    async fn fetch(&self, id: &str) -> Result<Option<Organization>, DirectoryError> {
        Ok(self.fetch_many(&[id]).await?.into_iter().find(|o| o.id == id))
    }

    async fn fetch_many(&self, ids: &[&str]) -> Result<Vec<Organization>, DirectoryError> {
        SupabaseClient::fetch_many(self, ids).await
    }
}
