#![recursion_limit = "256"]
//! Edge function binary: builds configuration and clients once, then serves invocations.

use edge::{handle_payload, Adapters, App};
use std::sync::Arc;

use edge::after::FinishAfterLayer;
use impressio::behavior::counter::{AnyCounter, DynamoCounter, UpstashCounter};
use impressio::behavior::dynamo::DynamoBehaviorStore;
use impressio::clock::SystemClock;
use impressio::config::EdgeConfig;
use impressio::event::DynamoEventStore;
use impressio::identity::DynamoIdentityStore;
use impressio::org::build_directory;
use impressio::org::upstash::UpstashClient;
use impressio::server_api::dynamo::DynamoApiStore;
use impressio::store::dynamo::client_with_timeouts;
use lambda_runtime::{layers, service_fn, LambdaEvent, Runtime};
use serde_json::value::RawValue;

/// mimalloc instead of glibc's malloc: a third of a request's CPU was glibc's allocator
/// (`cargo bench -p impressio --bench request`, docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    impressio::logging::init_json_logs();
    // uap-core's OS rules (about 12 ms of regex compilation) compile at init, beside the
    // clients' setup where there is a second core, never on the first request.
    let warming = std::thread::spawn(impressio::fraud::ua::warm);
    let config = EdgeConfig::from_env()?;
    let client = client_with_timeouts(config.dynamodb_timeouts, config.dynamodb_endpoint.as_deref()).await;
    let client_for_behavior = client.clone();
    let store = DynamoEventStore::new(client.clone(), config.table_name.clone());
    let identity = DynamoIdentityStore::new(client.clone(), config.table_name.clone());
    // Logins are counted in Upstash when it is configured, else in the table.
    let counter = match &config.directory.upstash {
        Some(u) => AnyCounter::Upstash(UpstashCounter(UpstashClient::new(u.clone())?)),
        None => AnyCounter::Dynamo(DynamoCounter {
            client,
            table: config.table_name.clone(),
        }),
    };
    let clock = Arc::new(SystemClock);
    let directory = build_directory(&config.directory, clock.clone())?;
    let behavior = DynamoBehaviorStore::new(client_for_behavior.clone(), config.table_name.clone());
    let api = DynamoApiStore::new(client_for_behavior, config.table_name.clone());
    let adapters = Adapters {
        store,
        directory,
        identity,
        counter,
        behavior,
        api,
    };
    let app = App::with_clock(config, adapters, clock);
    let app = &app;
    warming.join().map_err(|_| "the User-Agent rules did not compile")?;
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        Ok::<_, lambda_runtime::Error>(handle_payload(app, &event.payload).await)
    });
    // What `lambda_runtime::run` builds, plus: the deferred work is awaited once the answer
    // is posted, before the next invocation is asked for.
    Runtime::new(handler)
        .layer(layers::TracingLayer::new())
        .layer(FinishAfterLayer(&app.after_response))
        .run()
        .await
}
