//! Creates the events table from `infra/dynamodb/table.json` on the DynamoDB endpoint of the
//! standard AWS settings (`AWS_ENDPOINT_URL_DYNAMODB` locally). The name comes from the first
//! argument, else `DYNAMODB_TABLE`, else `fingerprint-events`. An existing table is kept.

use tools::table::TableDefinition;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let name = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DYNAMODB_TABLE").ok())
        .unwrap_or_else(|| impressio::config::DEFAULT_TABLE_NAME.to_string());
    let client = impressio::store::dynamo::client_with_timeouts(
        impressio::store::dynamo::DynamoTimeouts::from_lookup(|k| std::env::var(k).ok()),
        None,
    )
    .await;
    TableDefinition::load()?.create(&client, &name).await?;
    println!("table {name} is ready");
    Ok(())
}
