//! The behavioral layers' storage: the blacklist
//! with progressive timeouts, the time-bucketed aggregates that JA4 session hopping, the IP
//! rate and visitor velocity are judged from, repeat-offender memory, collector-token uses,
//! and the forensic record. The components themselves are in [`crate::fraud::components`].
//!
//! - [`keys`]: where each item lives (partition and sort keys, bucket sizes);
//! - [`rules`]: what a request reads, how windows are summed into [`Observations`], the
//!   blacklist's timeout ladder;
//! - [`store`]: the reads and writes behind the [`store::BehaviorStore`] trait, with the
//!   DynamoDB implementation ([`dynamo`]) and an in-memory one ([`memory`]);
//! - [`sketch`]: distinct visitors in bounded space (HyperLogLog), for the JA4 aggregates;
//!   [`sketch_writer`]: the stream processor's writes of the raises events carry;
//! - [`token`]: the signed collector token;
//! - [`story`]: every record a request produced, for the `story` tool.

#[cfg(feature = "io")]
pub mod counter;
#[cfg(feature = "io")]
pub mod dynamo;
#[cfg(feature = "io")]
pub mod keys;
#[cfg(feature = "io")]
pub mod memory;
#[cfg(feature = "io")]
pub mod rules;
pub mod sketch;
#[cfg(feature = "io")]
pub mod sketch_writer;
#[cfg(feature = "io")]
pub mod store;
#[cfg(feature = "io")]
pub mod story;
pub mod token;

pub use crate::fraud::input::Observations;
