//! The local stack's tools: what stands in, on one machine, for the services around the two
//! functions.
//!
//! - [`cloudfront`]: the local CloudFront: real TLS in front of the edge's Function URL,
//!   forwarding as the template's distribution does, with the viewer headers CloudFront
//!   computes (JA4 and JA3 of the real ClientHello among them);
//! - [`site`]: a small HTTPS web site under the same identity, for pages that embed the
//!   collector;
//! - [`tls_fingerprint`]: the ClientHello and its JA4 and JA3.

pub mod cloudfront;
pub mod site;
pub mod tls_fingerprint;
