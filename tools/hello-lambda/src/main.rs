//! The cold-start baseline of `scripts/bench-cold-start.sh`: a Lambda function on the same
//! `lambda_runtime` and `tokio` as the edge and the processor that builds nothing at init and
//! echoes its event.

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(event.payload)
    }))
    .await
}
