//! Billing usage: counting an organization's events in Supabase .
//!
//! Primary: `POST /rest/v1/rpc/increment_events_this_month` with
//! `{"org_uuid", "amount", "idempotency_key"}` (200 or 204 = success), the idempotent,
//! atomic function of `infra/supabase/migrations`. Fallback, only when the function does not
//! exist (PostgREST answers 404): `GET` the counter, then `PATCH` it on the condition that it
//! is unchanged (optimistic; up to three attempts). The fallback cannot be idempotent: it is
//! for a database that lacks the migration, and says so in the log. 2 s timeout.

use serde::Deserialize;
use serde_json::json;

use crate::org::supabase::SupabaseClient;
use crate::org::{month_start, DirectoryError};

/// How a count was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billed {
    /// Through the idempotent function.
    Rpc,
    /// Through the optimistic fallback, after this many attempts.
    Fallback { attempts: u32 },
}

/// Why a count could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Supabase could not be reached, was slow, or failed (5xx): retry the batch.
    #[error("billing is unavailable: {0}")]
    Unavailable(#[source] DirectoryError),
    /// Supabase refused the request (4xx other than a missing function): retrying will not
    /// help.
    #[error("billing was refused: {0}")]
    Refused(#[source] DirectoryError),
    /// The optimistic fallback kept losing to concurrent writers.
    #[error("the counter of {0} kept changing under the fallback")]
    Contended(String),
}

impl BillingError {
    /// Whether retrying the batch can help.
    pub fn retryable(&self) -> bool {
        !matches!(self, BillingError::Refused(_))
    }
}

fn classify(e: DirectoryError) -> BillingError {
    match &e {
        DirectoryError::Status { status, .. } if (400..500).contains(status) => BillingError::Refused(e),
        DirectoryError::Unauthorized { .. } => BillingError::Refused(e),
        _ => BillingError::Unavailable(e),
    }
}

#[derive(Deserialize)]
struct Counter {
    events_this_month: Option<i64>,
    billing_period_start: Option<String>,
}

/// What counts events: Supabase in production (a trait so the processor's pipeline does not
/// depend on the client).
pub trait BillingCounter: Send + Sync {
    /// Counts `amount` events for `organization_id` under `idempotency_key`.
    ///
    /// # Errors
    /// [`BillingError`]: unavailable (retry), refused, or contended.
    fn increment(
        &self,
        organization_id: &str,
        amount: u32,
        idempotency_key: &str,
        now_ms: i64,
    ) -> impl std::future::Future<Output = Result<Billed, BillingError>> + Send;
}

impl BillingCounter for SupabaseClient {
    async fn increment(
        &self,
        organization_id: &str,
        amount: u32,
        idempotency_key: &str,
        now_ms: i64,
    ) -> Result<Billed, BillingError> {
        increment(self, organization_id, amount, idempotency_key, now_ms).await
    }
}

/// Counts `amount` events for `organization_id` under `idempotency_key`.
///
/// # Errors
/// [`BillingError`]: unavailable (retry), refused, or contended.
pub async fn increment(
    supabase: &SupabaseClient,
    organization_id: &str,
    amount: u32,
    idempotency_key: &str,
    now_ms: i64,
) -> Result<Billed, BillingError> {
    let rpc = supabase
        .request(reqwest::Method::POST, "rpc/increment_events_this_month")
        .json(&json!({"org_uuid": organization_id, "amount": amount, "idempotency_key": idempotency_key}));
    match supabase.send(rpc).await {
        Ok(_) => return Ok(Billed::Rpc),
        Err(DirectoryError::Status { status: 404, .. }) => {
            tracing::warn!(
                organization = organization_id,
                "increment_events_this_month is missing: billing without idempotency"
            );
        }
        Err(e) => return Err(classify(e)),
    }
    let month = month_start(now_ms);
    for attempt in 1..=3 {
        let get = supabase.request(reqwest::Method::GET, "organizations").query(&[
            ("id", format!("eq.{organization_id}").as_str()),
            ("select", "events_this_month,billing_period_start"),
        ]);
        let rows: Vec<Counter> = serde_json::from_slice(&supabase.send(get).await.map_err(classify)?).map_err(|e| {
            BillingError::Refused(DirectoryError::Decode {
                service: "supabase",
                message: e.to_string(),
            })
        })?;
        let Some(row) = rows.into_iter().next() else {
            return Err(BillingError::Refused(DirectoryError::Status {
                service: "supabase",
                status: 404,
                body: format!("no organization {organization_id}"),
            }));
        };
        let old = row.events_this_month.unwrap_or(0);
        let same_month = row.billing_period_start.as_deref().and_then(|d| d.get(..7)) == Some(&month[..7]);
        let new = if same_month {
            old + i64::from(amount)
        } else {
            i64::from(amount)
        };
        let patch = supabase
            .request(reqwest::Method::PATCH, "organizations")
            .query(&[
                ("id", format!("eq.{organization_id}")),
                ("events_this_month", format!("eq.{old}")),
            ])
            .header("Prefer", "return=representation")
            .json(&json!({"events_this_month": new, "billing_period_start": month}));
        let body = supabase.send(patch).await.map_err(classify)?;
        let updated: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap_or_default();
        if !updated.is_empty() {
            return Ok(Billed::Fallback { attempts: attempt });
        }
    }
    Err(BillingError::Contended(organization_id.to_string()))
}
