//! The stream processor's domain logic (seed `001_…`): impossible travel, account sharing and
//! webhook signatures. The stages that call services live with the processor function.

pub mod ga4;
pub mod outbound;
pub mod sharing;
pub mod travel;
pub mod webhook;
pub mod webhook_delivery;
