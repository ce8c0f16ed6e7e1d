//! The layers, one module each. Every layer reads a [`ScoringInput`] and the configuration
//! and returns a [`LayerResult`]: a score capped at the seed's maximum, the reasons, and the
//! block triggers it fires.
//!
//! [`ScoringInput`]: super::ScoringInput
//! [`LayerResult`]: super::LayerResult

pub mod bot_user_agent;
pub mod credential_stuffing;
pub mod datacenter;
pub mod headless;
pub mod http2;
pub mod ja4_context;
pub mod ja4_structure;
pub mod ja4_tls;
pub mod webrtc;
