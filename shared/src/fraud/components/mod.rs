//! The components of the composite risk score, one file each: its configuration with its
//! defaults (and where they come from), its validation, its maximum and its scoring. Each
//! returns a [`ComponentResult`]: a score capped at its maximum, the reasons, and the block
//! triggers it fires. [`super::component`] registers them.
//!
//! Judged from the request ([`ScoringInput`]): `ja4_tls`, `ja4_context`, `ja4_structure`,
//! `headless`, `datacenter`, `http2`, `webrtc`, `credential_stuffing`, `bot_user_agent`.
//! Judged from what the behavioral store observed ([`Observations`]): `ip_rate`,
//! `ja4_session_hopping`, `visitor_velocity`, `collector_token`, `domainprint`,
//! `repeat_offender`.
//!
//! [`ScoringInput`]: super::ScoringInput
//! [`Observations`]: super::input::Observations
//! [`ComponentResult`]: super::ComponentResult

pub mod bot_user_agent;
pub mod collector_token;
pub mod credential_stuffing;
pub mod datacenter;
pub mod domainprint;
pub mod headless;
pub mod http2;
pub mod ip_rate;
pub mod ja4_context;
pub mod ja4_session_hopping;
pub mod ja4_structure;
pub mod ja4_tls;
pub mod repeat_offender;
pub mod visitor_velocity;
pub mod webrtc;
