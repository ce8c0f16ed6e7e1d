//! The stream processor on a [`Harness`]'s table, as the processor function builds it, for
//! tests that follow an event from the edge through the stream.

use std::sync::Arc;

use impressio::clock::FixedClock;
use impressio::metrics::Metrics;
use impressio::org::{AnySource, TieredDirectory};
use serde_json::Value;

use crate::harness::{Harness, TEST_NOW_MS};

/// The stream processor on a harness's table, with the organizations of `orgs` (a JSON array
/// in `infra/organizations/local.json`'s shape) and GA4 at `ga4_endpoint`; no push, no
/// Supabase (billing recorded skipped), webhooks to public addresses only.
pub fn processor_on(
    h: &Harness,
    orgs: &Value,
    ga4_endpoint: &str,
) -> impressio::processor::pipeline::Processor<
    impressio::processor::store::DynamoProcessorStore,
    AnySource,
    impressio::org::supabase::SupabaseClient,
    impressio::processor::outbound::SystemResolver,
> {
    use impressio::processor::config::{DetectionConfig, ProcessorConfig};
    let clock: Arc<dyn impressio::clock::Clock> = Arc::new(FixedClock::at(TEST_NOW_MS + 60_000));
    let local = impressio::org::local::LocalDirectory::from_json(&orgs.to_string()).expect("organizations");
    impressio::processor::pipeline::Processor {
        store: impressio::processor::store::DynamoProcessorStore::new(h.client.clone(), h.table.clone()),
        sketches: impressio::behavior::sketch_writer::DynamoSketchWriter::new(h.client.clone(), h.table.clone()),
        directory: TieredDirectory::new(
            AnySource::Local(local),
            None,
            clock.clone(),
            impressio::org::tiered::TierConfig::default(),
        ),
        billing: None,
        http: reqwest::Client::new(),
        resolver: impressio::processor::outbound::SystemResolver,
        config: ProcessorConfig {
            table_name: h.table.clone(),
            directory: impressio::config::DirectoryConfig::default(),
            ga4_endpoint: ga4_endpoint.to_string(),
            ga4_timeout_ms: 2000,
            push: None,
            outbound: impressio::processor::outbound::OutboundPolicy {
                allow_private: false,
                ports: None,
            },
            concurrency: 8,
            detection: DetectionConfig::default(),
            metrics_namespace: impressio::metrics::DEFAULT_NAMESPACE.to_string(),
            dynamodb_timeouts: Default::default(),
            dynamodb_endpoint: None,
        },
        clock,
        metrics: Metrics::in_memory(impressio::metrics::DEFAULT_NAMESPACE).0,
    }
}
