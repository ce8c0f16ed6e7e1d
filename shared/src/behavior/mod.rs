//! The behavioral model's storage on DynamoDB (the product mission's behavioral layers): the blacklist
//! with progressive timeouts, the time-bucketed aggregates that JA4 session hopping, the IP
//! rate and visitor velocity are judged from, repeat-offender memory, collector-token uses,
//! and the forensic record. The components themselves are in [`crate::fraud::components`].
//!
//! - [`token`]: the signed collector token;
//! - [`store`]: the DynamoDB items (blacklist, time-bucketed aggregates, token uses,
//!   forensic records) and the reads and writes of a request;
//! - [`story`]: every record a request produced, for the `story` tool.

#[cfg(feature = "io")]
pub mod store;
#[cfg(feature = "io")]
pub mod story;
pub mod token;

pub use crate::fraud::input::Observations;
