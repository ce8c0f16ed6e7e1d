//! `story`: everything one request produced — its event, the block it caused, the blacklist
//! hit that stopped it — read by its request id (the `X-Request-Id` of the answer).
//!
//! ```text
//! story [--table NAME] <request-id>
//! ```
//!
//! The table defaults to `DYNAMODB_TABLE`, else `fingerprint-events`; DynamoDB is reached
//! through the standard AWS settings (`AWS_ENDPOINT_URL_DYNAMODB` locally). Prints one JSON
//! object per item.

use impressio::behavior::story::request_story;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut table = std::env::var("DYNAMODB_TABLE").unwrap_or_else(|_| impressio::config::DEFAULT_TABLE_NAME.into());
    let mut id = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--table" => table = args.next().unwrap_or_default(),
            other => id = Some(other.to_string()),
        }
    }
    let Some(id) = id else {
        eprintln!("usage: story [--table NAME] <request-id>");
        std::process::exit(2);
    };
    let client = impressio::store::dynamo::client_from_credential_chain(
        impressio::store::dynamo::DynamoTimeouts::from_lookup(|k| std::env::var(k).ok()),
        None,
    )
    .await;
    match request_story(&client, &table, &id).await {
        Ok(items) if items.is_empty() => {
            eprintln!("no record of request {id}");
            std::process::exit(1);
        }
        Ok(items) => {
            for item in items {
                let v: serde_json::Value = serde_dynamo::from_item(item).unwrap_or_default();
                println!("{v}");
            }
        }
        Err(e) => {
            eprintln!("story: {e}");
            std::process::exit(1);
        }
    }
}
