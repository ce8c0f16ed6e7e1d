//! Events: what clients send (validated payloads), campaign attribution, and the record we
//! store in DynamoDB.

pub mod attribution;
pub mod body;
pub mod json;
pub mod model;
pub mod payload;

pub use attribution::{Attribution, Channel};
pub use body::BodyError;
pub use model::{
    EventRecord, MessageRecord, OrgDecision, Route, ServerContext, EVENT_ITEM_TYPE, EVENT_SORT_KEY,
    INTERNAL_ATTRIBUTES, MESSAGE_ITEM_TYPE, MESSAGE_SORT_KEY,
};
pub use payload::{CampaignPayload, Consent, FieldError, Forwarded, ForwardedPayload, PixelParams, TrackPayload};
