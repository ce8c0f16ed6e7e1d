//! A user's recent events, as the per-user stages (impossible travel, account sharing) read
//! them: one `GSI_USER` query per user and batch ([`super::store::ProcessorStore::user_events`]).

/// One earlier (or the same) event of a user, as travel and sharing need it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub event_id: String,
    /// ms since the Unix epoch.
    pub ts: i64,
    pub fingerprint: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Degrees.
    pub latitude: Option<f64>,
    /// Degrees.
    pub longitude: Option<f64>,
}

/// What a per-user stage is given of the user's recent events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum History<'a> {
    /// The event names no user (no `GSI_USER` key): there is nothing to compare with.
    NoUser,
    /// The read failed (the error, in words): the stage is retried.
    Unreadable(&'a str),
    /// The user's events in the window, the event itself possibly among them.
    Events(&'a [UserEvent]),
}
