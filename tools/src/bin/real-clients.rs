//! The local stack's real-client step: curl, python-requests, headless Chromium (and Node and
//! wget where installed) send a page view through a local CloudFront of their own (one viewer
//! network per client) to the running edge, each with its own User-Agent and with a desktop
//! Chrome one; prints what the edge stored for each: JA4, HTTP version, risk level, score,
//! block trigger and reasons (see `tools::clients`).
//!
//! Usage: `real-clients --origin URL --webdriver URL --table NAME`; `--origin` is the edge's
//! Function URL base (e.g. `http://127.0.0.1:9000/lambda-url/edge`); the DynamoDB endpoint
//! comes from the standard AWS settings (`AWS_ENDPOINT_URL_DYNAMODB`).

use tools::clients::{render, run_all, Setup};

fn arg(args: &[String], name: &str) -> Result<String, String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .ok_or_else(|| format!("{name} is required (real-clients --origin URL --webdriver URL --table NAME)"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let origin = arg(&args, "--origin")?;
    let webdriver = arg(&args, "--webdriver")?;
    let table = arg(&args, "--table")?;
    // The browser helpers read it.
    std::env::set_var(tools::browser::WEBDRIVER_URL_VAR, &webdriver);
    let dynamo = impressio::store::dynamo::client_with_timeouts(
        impressio::store::dynamo::DynamoTimeouts::from_lookup(|k| std::env::var(k).ok()),
        None,
    )
    .await;
    let setup = Setup {
        origin,
        dynamo,
        table,
        python: tools::workspace_root().join(".venv/bin/python"),
    };
    let outcomes = run_all(&setup).await;
    print!("{}", render(&outcomes));
    Ok(())
}
