//! A user's recent events, as the per-user stages (impossible travel, account sharing) read
//! them: one `GSI_USER` query per user and batch ([`super::store::ProcessorStore::user_events`]).

use super::stage::{StageOutcome, StageStatus};

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

impl<'a> History<'a> {
    /// The user's events before the event `event_id` at `ts` (ms; the same millisecond counts,
    /// the event itself does not), or the outcome a per-user stage records without them at
    /// `now`: skipped with the reason `no_user` when the event names no user, retryable when
    /// the read failed.
    ///
    /// # Errors
    /// That outcome.
    pub fn earlier(
        self,
        event_id: &'a str,
        ts: i64,
        no_user: &str,
        now: i64,
    ) -> Result<impl Iterator<Item = &'a UserEvent>, StageOutcome> {
        match self {
            History::NoUser => Err(StageOutcome::new(
                StageStatus::Skipped,
                None,
                Some(no_user.into()),
                0,
                now,
            )),
            History::Unreadable(e) => Err(StageOutcome::new(StageStatus::Retryable, None, Some(e.into()), 0, now)),
            History::Events(events) => Ok(events.iter().filter(move |e| e.ts <= ts && e.event_id != event_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(id: &str, ts: i64) -> UserEvent {
        UserEvent {
            event_id: id.into(),
            ts,
            fingerprint: None,
            country: None,
            latitude: None,
            longitude: None,
        }
    }

    #[test]
    fn earlier_events_exclude_the_event_itself_and_later_ones() {
        let events = [at("a", 10), at("b", 20), at("self", 20), at("c", 30)];
        let ids: Vec<&str> = History::Events(&events)
            .earlier("self", 20, "no user", 0)
            .unwrap()
            .map(|e| e.event_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let skipped = History::NoUser.earlier("self", 20, "no user", 7).err().unwrap();
        assert_eq!(
            (skipped.status, skipped.detail.as_deref()),
            (StageStatus::Skipped, Some("no user"))
        );
        let retry = History::Unreadable("timeout")
            .earlier("self", 20, "no user", 7)
            .err()
            .unwrap();
        assert_eq!(retry.status, StageStatus::Retryable);
    }
}
