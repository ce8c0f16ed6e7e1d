//! The tests that drive the local stack with real clients: headless Chromium pages and real
//! HTTP libraries through the local CloudFront to the edge under `cargo lambda watch`, which
//! `scripts/test.sh` starts. The test command runs them in a pass of their own
//! (`cargo test --test it stack::`), after the other modules, so the browsers do not compete
//! with the moto tests for the machine; the quick mode, which starts no stack, skips them.

mod browser;
mod real_clients;
mod schemathesis;
