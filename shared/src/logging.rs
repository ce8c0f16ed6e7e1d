//! Logging of both functions: JSON lines on stdout (CloudWatch adds the time), filtered by
//! `RUST_LOG` (default `info`).
//!
//! Each line is one event: `{"level", "fields": {"message", …}, "target", "span": {…}}`.
//! `span` holds the fields of the innermost span the event happened in, which is how every
//! line written while handling an invocation carries its id without each call repeating it:
//! - the edge answers each request inside a `request` span with `request_id` (the
//!   `X-Request-Id` it assigns, also stored on every record of the request);
//! - the processor handles each batch inside a `batch` span with `aws_request_id` (the Lambda
//!   invocation's id) and `records` (the batch's stream records);
//! - outside those, the Lambda runtime's own `Lambda runtime invoke` span gives `requestId`.
//!
//! No log line may carry a secret or raw personal data: no IP address, User-Agent, user id,
//! e-mail, token or key. Identifiers are logged by kind (`ip`, `fingerprint`, …), never by
//! value; request, event and organization ids are fine.

/// The variable holding the log filter, the one [`init_json_logs`] reads.
pub const FILTER_VAR: &str = "RUST_LOG";

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The JSON subscriber of both functions, writing each line to `writer` (anything that makes
/// an `io::Write`, e.g. `std::io::stdout`, or a closure returning a buffer), filtered by the
/// `EnvFilter` `directives` (e.g. `info`, `edge=debug,info`; malformed ones fall back to
/// `info`).
pub fn json_subscriber<W>(directives: &str, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info")))
        // The innermost span's fields (the request or batch id); not the whole list, which
        // would repeat the Lambda runtime's span on every line.
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_writer(writer)
        .finish()
}

/// Installs the JSON log subscriber on stdout, filtered by `RUST_LOG` (default `info`); call
/// once at cold start.
///
/// # Panics
/// When a global subscriber is already installed.
pub fn init_json_logs() {
    let directives = std::env::var(FILTER_VAR).unwrap_or_else(|_| "info".to_string());
    json_subscriber(&directives, std::io::stdout).init();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(buffer: &Buffer) -> Vec<serde_json::Value> {
        String::from_utf8(buffer.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_are_json_with_the_innermost_spans_fields_and_the_filter_applies() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = json_subscriber("info", move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let outer = tracing::info_span!("Lambda runtime invoke", requestId = "aws-1");
            let _outer = outer.enter();
            let span = tracing::error_span!("request", request_id = "rid-1");
            span.in_scope(|| {
                tracing::warn!(code = "x", "inside");
                tracing::debug!("filtered out");
            });
        });
        let lines = lines(&buffer);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].get("span").is_none());
        assert_eq!(lines[0]["fields"]["message"], "outside");
        assert_eq!(lines[1]["span"]["request_id"], "rid-1");
        assert_eq!(lines[1]["span"]["name"], "request");
        assert_eq!(lines[1]["fields"]["code"], "x");
        assert_eq!(lines[1]["level"], "WARN");
        assert!(lines[1].get("spans").is_none(), "no span list");
        assert!(lines[1].get("timestamp").is_none(), "CloudWatch adds the time");
    }

    #[test]
    fn malformed_directives_fall_back_to_info() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing::subscriber::with_default(json_subscriber("=[bad", move || writer.clone()), || {
            tracing::info!("kept");
            tracing::debug!("dropped");
        });
        let lines = lines(&buffer);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["fields"]["message"], "kept");
    }
}
