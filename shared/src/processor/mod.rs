//! The stream processor (seed `001_…`): the batch pipeline and its stages.
//!
//! - [`pipeline`]: decode, stage memory, billing, per-record stages, batch item failures;
//! - [`state`]: the processing item that remembers each event's stages and results;
//! - [`store`]: the DynamoDB reads and writes behind [`store::ProcessorStore`];
//! - [`config`]: `ProcessorConfig` and the detection thresholds;
//! - [`ga4`], [`webhook`], [`webhook_delivery`], [`outbound`], [`push`]: the calls out;
//! - [`travel`], [`sharing`]: impossible travel and account sharing;
//! - [`telemetry`]: the metrics each batch writes.

pub mod config;
pub mod ga4;
pub mod outbound;
pub mod pipeline;
pub mod push;
pub mod sharing;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod travel;
pub mod webhook;
pub mod webhook_delivery;
