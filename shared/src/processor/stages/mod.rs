//! The processor's stages, one file each, in the pipeline's order (see [`super::stage`] for
//! their names and outcomes, [`super::pipeline`] for the order they run in). Each file holds
//! the stage's rule, its `run` function and its tests.

#[cfg(feature = "io")]
pub mod alert;
#[cfg(feature = "io")]
pub mod billing;
#[cfg(feature = "io")]
pub mod ga4;
pub mod sharing;
#[cfg(feature = "io")]
pub mod sketches;
pub mod travel;
#[cfg(feature = "io")]
pub mod webhook;
