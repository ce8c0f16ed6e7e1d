//! Processor function binary: builds configuration and clients once, then processes DynamoDB
//! Streams batches, answering with the batch item failures.

use std::sync::Arc;

use impressio::behavior::sketch_writer::DynamoSketchWriter;
use impressio::clock::SystemClock;
use impressio::metrics::Metrics;
use impressio::org::build_integrations_directory;
use impressio::org::supabase::SupabaseClient;
use impressio::processor::config::ProcessorConfig;
use impressio::processor::outbound::SystemResolver;
use impressio::processor::pipeline::Processor;
use impressio::processor::store::DynamoProcessorStore;
use impressio::store::dynamo::client_with_timeouts;
use lambda_runtime::{service_fn, LambdaEvent};

/// mimalloc instead of glibc's malloc: a third of a request's CPU was glibc's allocator
/// (`cargo bench -p impressio --bench request`, docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    impressio::logging::init_json_logs();
    let config = ProcessorConfig::from_env()?;
    let clock = Arc::new(SystemClock);
    let client = client_with_timeouts(config.dynamodb_timeouts, config.dynamodb_endpoint.as_deref()).await;
    let processor = Processor {
        store: DynamoProcessorStore::new(client.clone(), config.table_name.clone()),
        sketches: DynamoSketchWriter::new(client, config.table_name.clone()),
        directory: build_integrations_directory(&config.directory, clock.clone())?,
        billing: config.directory.supabase.clone().map(SupabaseClient::new).transpose()?,
        http: impressio::tls::http_client().build()?,
        resolver: SystemResolver,
        metrics: Metrics::stdout(&config.metrics_namespace),
        config,
        clock,
    };
    let processor = &processor;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(processor.handle(event.payload, &event.context.request_id).await)
    }))
    .await
}
