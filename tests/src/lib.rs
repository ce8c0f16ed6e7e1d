//! The integration tests' harness: the edge function built in-process on a fresh moto table
//! ([`harness`]), a DynamoDB client that counts its calls ([`counting`]), and the scanner of
//! the DynamoDB actions a module's source calls ([`iam_scan`]), the stream processor on a
//! harness's table ([`stream_processor`]). What the tests
//! share with the local stack (tables, streams, the local CloudFront, browsers, replay) is in
//! the `tools` crate.

pub mod counting;
pub mod harness;
pub mod iam_scan;
pub mod round_trips;
pub mod stream_processor;
