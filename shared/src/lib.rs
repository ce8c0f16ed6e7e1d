//! The shared library of the Impressio tracking backend: everything both Lambda functions use.
//! Modules, from the bottom of the import graph up (each imports only modules above it in
//! this list; `tests/tests/it/layout.rs` holds it so):
//!
//! - [`env`]: configuration helpers — secrets that never print, the error, the JSON merge.
//! - [`clock`]: the time source, replaceable in tests.
//! - [`schema`]: the single table's item kinds, keys, TTL and indexes.
//! - [`http`]: the one request type both Lambda event shapes become, CloudFront's viewer data.
//! - [`tls`]: the compiled-in root certificates and the HTTPS clients built on them.
//! - [`metrics`]: CloudWatch metrics as Embedded Metric Format lines.
//! - [`logging`]: JSON logs through `tracing`.
//! - [`store`]: DynamoDB plumbing every store shares: errors, attributes, client, IAM, items.
//! - [`org`]: organizations, plans, domains, keys, the tiered directory.
//! - [`billing`]: the billing ledger's clients.
//! - [`identity`]: visitor resolution — domainprints, corroboration, the resolver and its stores.
//! - [`privacy`]: IP minimization: what an address is written as.
//! - [`fraud`]: the components of the risk score, the composite, the configuration.
//! - [`behavior`]: the behavioral items — blacklist, aggregates, counters, token uses.
//! - [`collector`]: the JavaScript collector, generated per organization and plan.
//! - [`event`]: what clients send, validated; the stored event; the event store.
//! - [`backtest`]: a fraud configuration scored against an organization's labels.
//! - [`processor`]: the stream processor's pipeline and stages.
//! - [`server_api`]: the Server API's reads, labels and erasure.
//! - [`config`]: the edge function's configuration, read once from the environment.
//! - [`judge`]: an edge event request decided from what was read, without I/O.
//! - [`fuzzing`]: the fuzz targets' entry points (tests and fuzzing builds only).
//!
//! The `io` feature (on by default) adds everything that talks to the outside world: the
//! DynamoDB adapters, the HTTP clients, the processor pipeline, the functions' configuration
//! and logs. Without it the crate is its pure parts, which the fuzz targets exercise. The
//! `cli` feature adds the AWS SDK's whole credential chain for the command-line tools.

pub mod backtest;
pub mod behavior;
#[cfg(feature = "io")]
pub mod billing;
pub mod clock;
pub mod collector;
#[cfg(feature = "io")]
pub mod config;
pub mod env;
pub mod event;
pub mod fraud;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod http;
pub mod identity;
#[cfg(feature = "io")]
pub mod judge;
#[cfg(feature = "io")]
pub mod logging;
pub mod metrics;
pub mod org;
pub mod privacy;
pub mod processor;
pub mod schema;
pub mod server_api;
pub mod store;
#[cfg(feature = "io")]
pub mod tls;
