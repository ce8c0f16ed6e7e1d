//! The stream processor: the batch pipeline and
//! its stages.
//!
//! - [`pipeline`]: decode, stage memory, billing, per-record stages, batch item failures;
//! - [`stage`]: the stages by name ([`stage::Stage`]) and how each ends;
//! - [`stages`]: one file per stage — billing, GA4, webhook, travel, sharing, alert;
//! - [`state`]: the processing item that remembers each event's stages and results;
//! - [`record`]: decoding a stream batch; [`history`]: a user's recent events;
//! - [`store`]: the DynamoDB reads and writes behind [`store::ProcessorStore`];
//! - [`config`]: `ProcessorConfig` and the detection thresholds;
//! - [`delivery`], [`outbound`], [`webhook_signature`]: how calls out end, the guard on
//!   customer URLs, the webhook signatures;
//! - [`telemetry`]: the metrics each batch writes.

#[cfg(feature = "io")]
pub mod config;
#[cfg(feature = "io")]
pub mod delivery;
pub mod history;
#[cfg(feature = "io")]
pub mod outbound;
#[cfg(feature = "io")]
pub mod pipeline;
pub mod record;
pub mod stage;
pub mod stages;
pub mod state;
#[cfg(feature = "io")]
pub mod store;
#[cfg(feature = "io")]
pub mod telemetry;
pub mod webhook_signature;
