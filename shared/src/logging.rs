//! Logging of both functions: JSON lines on stdout (CloudWatch adds the time), filtered by
//! `RUST_LOG` (default `info`).

/// The variable holding the log filter, the one [`init_json_logs`] reads.
pub const FILTER_VAR: &str = "RUST_LOG";

/// Installs the JSON log subscriber; call once at cold start.
pub fn init_json_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env(FILTER_VAR)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}
