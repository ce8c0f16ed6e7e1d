//! The edge function: routes, HTTP status codes and the two Lambda event shapes.
//!
//! [`App::handle`] answers one [`EdgeRequest`]; [`entry::handle_payload`] takes a raw Lambda
//! payload (a Function URL / API Gateway v2 request or a CloudFront origin-request event),
//! turns it into an [`EdgeRequest`] and puts the answer back into the matching shape.
//! [`telemetry`] lists the metrics each request writes.
//!
//! [`EdgeRequest`]: impressio::http::EdgeRequest

pub mod access;
pub mod after;
pub mod app;
pub mod entry;
pub mod error;
pub mod handler;
pub mod pipeline;
pub mod routes;
pub mod telemetry;

pub use app::{Adapters, App, Clock, SystemClock};
pub use entry::handle_payload;
pub use error::EdgeError;
