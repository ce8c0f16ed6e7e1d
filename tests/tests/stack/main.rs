//! The tests that drive the local stack with real clients: headless Chromium pages and
//! real HTTP libraries through the local CloudFront to the edge under `cargo lambda watch`
//! (started by `scripts/test.sh`). Apart from `it` because they need that stack, which the
//! quick test mode does not start.

mod browser;
mod real_clients;
