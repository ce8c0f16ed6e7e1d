//! The behavioral layers of seeds `002_…`–`004_…` on DynamoDB (MISSION section 6): the
//! blacklist with progressive timeouts, JA4 session hopping, the IP rate signal, visitor
//! velocity, repeat-offender memory, collector-token replay, and the forensic record.
//!
//! - [`token`]: the signed collector token;
//! - [`layers`]: the components, judged from [`layers::Observations`];
//! - [`store`]: the DynamoDB items (blacklist, time-bucketed aggregates, token uses,
//!   forensic records) and the reads and writes of a request;
//! - [`story`]: every record a request produced, for the `story` tool.

pub mod layers;
#[cfg(feature = "io")]
pub mod store;
#[cfg(feature = "io")]
pub mod story;
pub mod token;

pub use layers::Observations;
