//! The Upstash Redis REST client.
//!
//! Upstash's documented JSON command format: `POST {UPSTASH_REDIS_REST_URL}` with the command
//! as a JSON array body (`["SET", "key", "value", "EX", 300]`) and
//! `Authorization: Bearer <token>`, answered `{"result": …}` or `{"error": "…"}`; a pipeline is
//! `POST {url}/pipeline` with an array of commands, answered with an array of those objects
//! in order (not atomic). The token never appears in logs or errors.

use std::time::Duration;

use serde_json::Value;

use super::DirectoryError;
use crate::env::Secret;

const SERVICE: &str = "upstash";

/// Connection settings of the Upstash REST API.
#[derive(Debug, Clone)]
pub struct UpstashConfig {
    /// REST URL, e.g. `https://us1-merry-cat-32748.upstash.io`.
    pub url: String,
    /// REST token.
    pub token: Secret,
    /// Per-request timeout, ms.
    pub timeout_ms: u64,
}

/// A client of one Upstash Redis database.
#[derive(Debug, Clone)]
pub struct UpstashClient {
    http: reqwest::Client,
    config: UpstashConfig,
}

impl UpstashClient {
    /// A client with its own connection pool.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(config: UpstashConfig) -> Result<Self, reqwest::Error> {
        let http = crate::tls::http_client()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .build()?;
        Ok(UpstashClient { http, config })
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, DirectoryError> {
        let timeout_ms = self.config.timeout_ms;
        let url = format!("{}{path}", self.config.url.trim_end_matches('/'));
        let resp = self
            .http
            .post(url)
            .bearer_auth(self.config.token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| DirectoryError::from_reqwest(SERVICE, timeout_ms, e))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| DirectoryError::from_reqwest(SERVICE, timeout_ms, e))?;
        match status {
            401 | 403 => Err(DirectoryError::Unauthorized {
                service: SERVICE,
                status,
            }),
            200..=299 | 400 => serde_json::from_str(&text).map_err(|e| DirectoryError::Decode {
                service: SERVICE,
                message: e.to_string(),
            }),
            _ => Err(DirectoryError::Status {
                service: SERVICE,
                status,
                body: text.chars().take(300).collect(),
            }),
        }
    }

    /// Runs one command and returns its `result`.
    ///
    /// # Errors
    /// [`DirectoryError::Status`] (status 400) carrying Redis's error for `{"error": …}`, and
    /// the transport errors of every call.
    pub async fn command(&self, args: &[Value]) -> Result<Value, DirectoryError> {
        let answer = self.post("", &Value::Array(args.to_vec())).await?;
        one_result(answer)
    }

    /// Runs several commands in one round trip; each gets its own result or error.
    ///
    /// # Errors
    /// Transport errors, or an answer that is not an array as long as `commands`.
    pub async fn pipeline(
        &self,
        commands: &[Vec<Value>],
    ) -> Result<Vec<Result<Value, DirectoryError>>, DirectoryError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let body = Value::Array(commands.iter().map(|c| Value::Array(c.clone())).collect());
        match self.post("/pipeline", &body).await? {
            Value::Array(items) if items.len() == commands.len() => Ok(items.into_iter().map(one_result).collect()),
            other => Err(DirectoryError::Decode {
                service: SERVICE,
                message: format!("expected {} pipeline results, got {other}", commands.len()),
            }),
        }
    }
}

fn one_result(answer: Value) -> Result<Value, DirectoryError> {
    if let Some(err) = answer.get("error") {
        return Err(DirectoryError::Status {
            service: SERVICE,
            status: 400,
            body: err.as_str().unwrap_or("").to_string(),
        });
    }
    answer.get("result").cloned().ok_or_else(|| DirectoryError::Decode {
        service: SERVICE,
        message: format!("no result in {answer}"),
    })
}
