//! The stream processor (seed `001_…`): the batch pipeline and its stages.
//!
//! - [`pipeline`]: decode, stage memory, billing, per-record stages, batch item failures;
//! - [`state`]: the processing item that remembers each event's stages and results;
//! - [`store`]: the DynamoDB reads and writes behind [`store::ProcessorStore`];
//! - [`config`]: `ProcessorConfig` and the detection thresholds;
//! - [`ga4`], [`webhook`], [`webhook_delivery`], [`outbound`], [`push`]: the calls out;
//! - [`travel`], [`sharing`]: impossible travel and account sharing;
//! - [`telemetry`]: the metrics each batch writes.

#[cfg(feature = "io")]
pub mod config;
#[cfg(feature = "io")]
pub mod ga4;
#[cfg(feature = "io")]
pub mod outbound;
#[cfg(feature = "io")]
pub mod pipeline;
#[cfg(feature = "io")]
pub mod push;
pub mod record;
pub mod sharing;
pub mod state;
#[cfg(feature = "io")]
pub mod store;
#[cfg(feature = "io")]
pub mod telemetry;
pub mod travel;
pub mod webhook;
#[cfg(feature = "io")]
pub mod webhook_delivery;
