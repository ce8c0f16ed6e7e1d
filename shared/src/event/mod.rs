//! Events: what clients send (validated payloads), campaign attribution, the record we store
//! and where it is written.

pub mod attribution;
pub mod body;
#[cfg(feature = "io")]
pub mod dynamo;
pub mod json;
pub mod model;
pub mod payload;
#[cfg(feature = "io")]
pub mod store;

pub use attribution::{Attribution, Channel};
pub use body::BodyError;
#[cfg(feature = "io")]
pub use dynamo::DynamoEventStore;
pub use model::{
    EventRecord, MessageRecord, OrgDecision, Route, ServerContext, EVENT_ITEM_TYPE, INTERNAL_ATTRIBUTES,
    MESSAGE_ITEM_TYPE,
};
pub use payload::{CampaignPayload, Consent, FieldError, Forwarded, ForwardedPayload, PixelParams, TrackPayload};
#[cfg(feature = "io")]
pub use store::EventStore;
