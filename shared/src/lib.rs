//! Shared library of the Impressio tracking backend: the pieces both Lambda functions use.
//!
//! - [`http`]: the one internal request type ([`http::EdgeRequest`]) that both event shapes
//!   (Lambda Function URL / API Gateway v2, CloudFront origin-request) are turned into, the
//!   CloudFront viewer metadata, and the CloudFront event and generated-response serde types.
//! - [`event`]: the stored event record and the validation of what clients send (`/t` JSON,
//!   `/c` campaign data, pixel query parameters).
//! - [`store`]: the event store trait and its DynamoDB adapter.
//! - [`collector`]: the JavaScript collector served at `/h.js`.
//! - [`config`]: typed configuration parsed once from the environment.
//! - [`logging`], [`metrics`]: JSON logs through `tracing`, and CloudWatch metrics as
//!   Embedded Metric Format lines.

//!
//! The `io` feature (on by default) adds everything that talks to the outside world: the
//! DynamoDB adapters, the HTTP clients, the processor pipeline, the functions' configuration
//! and logs. Without it the crate is its pure parts, which [`fuzzing`] exercises.

pub mod behavior;
#[cfg(feature = "io")]
pub mod billing;
pub mod clock;
pub mod collector;
pub mod conf;
#[cfg(feature = "io")]
pub mod config;
pub mod event;
pub mod fraud;
pub mod fuzzing;
pub mod http;
pub mod identity;
#[cfg(feature = "io")]
pub mod logging;
pub mod metrics;
pub mod org;
pub mod privacy;
pub mod processor;
pub mod server_api;
pub mod store;
#[cfg(feature = "io")]
pub mod tls;
