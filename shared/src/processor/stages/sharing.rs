//! The sharing stage: account sharing ,
//! over a user's events of the last 24 h: +40 for concurrent sessions (two different
//! fingerprints within 15 minutes), +20 per country once there are 3 or more countries, +10
//! per fingerprint once there are 4 or more, capped at 100.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::event::EventRecord;
use crate::processor::history::History;
use crate::processor::stage::{StageOutcome, StageStatus};

/// How far back the user's events are judged, ms (`window_secs`, saturating).
pub fn lookback_ms(c: &SharingConfig) -> i64 {
    i64::try_from(c.window_secs).unwrap_or(i64::MAX).saturating_mul(1000)
}

/// Runs the stage for `event` over the user's `history`, at `now` (ms since the Unix epoch):
/// the user's earlier events (the event itself excluded) and this one make the sessions
/// judged; skipped without a user id; retryable when the history could not be read.
pub fn run(event: &EventRecord, history: History<'_>, c: &SharingConfig, now: i64) -> SharingResult {
    let skipped = |why: &str| SharingResult {
        outcome: StageOutcome::new(StageStatus::Skipped, None, Some(why.into()), 0, now),
        sharing: None,
    };
    if event.user_id.is_none() {
        return skipped("the event has no user id");
    }
    let earlier = match history.earlier(&event.event_id, event.ts, "the event has no user id", now) {
        Ok(earlier) => earlier,
        Err(outcome) => return SharingResult { outcome, sharing: None },
    };
    let mut sessions: Vec<Session> = earlier
        .map(|e| Session {
            ts: e.ts,
            fingerprint: e.fingerprint.clone(),
            country: e.country.clone(),
        })
        .collect();
    sessions.push(Session {
        ts: event.ts,
        fingerprint: event.fingerprint.clone(),
        country: event.context.viewer.country.clone(),
    });
    SharingResult {
        outcome: StageOutcome::new(StageStatus::Done, None, None, 0, now),
        sharing: Some(judge(&sessions, event.ts, c)),
    }
}

/// The account-sharing result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharingResult {
    pub outcome: StageOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<Sharing>,
}

/// The thresholds and their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingConfig {
    pub window_secs: u64,
    pub concurrent_window_secs: u64,
    pub concurrent_points: f64,
    pub min_countries: usize,
    pub points_per_country: f64,
    pub min_fingerprints: usize,
    pub points_per_fingerprint: f64,
    pub max_score: f64,
}

impl Default for SharingConfig {
    fn default() -> Self {
        SharingConfig {
            window_secs: 86_400,
            concurrent_window_secs: 900,
            concurrent_points: 40.0,
            min_countries: 3,
            points_per_country: 20.0,
            min_fingerprints: 4,
            points_per_fingerprint: 10.0,
            max_score: 100.0,
        }
    }
}

/// One event of the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// ms since the Unix epoch.
    pub ts: i64,
    pub fingerprint: Option<String>,
    pub country: Option<String>,
}

/// The verdict with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sharing {
    pub score: f64,
    pub concurrent_sessions: bool,
    pub countries: usize,
    pub fingerprints: usize,
    pub reasons: Vec<String>,
}

/// Scores the sessions of the window ending at `now_ms` (sessions outside it are ignored).
pub fn judge(sessions: &[Session], now_ms: i64, c: &SharingConfig) -> Sharing {
    let window_ms = lookback_ms(c);
    let concurrent_ms = i64::try_from(c.concurrent_window_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    let from = now_ms.saturating_sub(window_ms);
    let mut recent: Vec<&Session> = sessions.iter().filter(|s| s.ts >= from && s.ts <= now_ms).collect();
    recent.sort_by_key(|s| s.ts);
    let concurrent = recent.iter().enumerate().any(|(i, a)| {
        recent[i + 1..]
            .iter()
            .take_while(|b| b.ts.saturating_sub(a.ts) <= concurrent_ms)
            .any(|b| a.fingerprint.is_some() && b.fingerprint.is_some() && a.fingerprint != b.fingerprint)
    });
    let countries: BTreeSet<&str> = recent.iter().filter_map(|s| s.country.as_deref()).collect();
    let fingerprints: BTreeSet<&str> = recent.iter().filter_map(|s| s.fingerprint.as_deref()).collect();
    let mut score = 0.0;
    let mut reasons = Vec::new();
    if concurrent {
        score += c.concurrent_points;
        reasons.push(format!("two devices within {} minutes", c.concurrent_window_secs / 60));
    }
    if countries.len() >= c.min_countries {
        score += c.points_per_country * countries.len() as f64;
        reasons.push(format!("{} countries in 24 h", countries.len()));
    }
    if fingerprints.len() >= c.min_fingerprints {
        score += c.points_per_fingerprint * fingerprints.len() as f64;
        reasons.push(format!("{} devices in 24 h", fingerprints.len()));
    }
    Sharing {
        score: score.min(c.max_score),
        concurrent_sessions: concurrent,
        countries: countries.len(),
        fingerprints: fingerprints.len(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(min: i64, fp: &str, country: &str) -> Session {
        Session {
            ts: min * 60_000,
            fingerprint: Some(fp.into()),
            country: Some(country.into()),
        }
    }

    #[test]
    fn the_seeds_numbers() {
        let c = SharingConfig::default();
        let now = 24 * 60 * 60_000;
        // One device, one country: nothing.
        assert_eq!(judge(&[s(10, "a", "FR"), s(600, "a", "FR")], now, &c).score, 0.0);
        // Two devices 10 minutes apart: +40.
        let j = judge(&[s(100, "a", "FR"), s(110, "b", "FR")], now, &c);
        assert_eq!((j.score, j.concurrent_sessions), (40.0, true));
        // Two devices 2 hours apart: not concurrent.
        assert_eq!(judge(&[s(100, "a", "FR"), s(220, "b", "FR")], now, &c).score, 0.0);
        // Three countries: +20 × 3 = 60 (an alert, seed: ≥ 60).
        assert_eq!(
            judge(&[s(0, "a", "FR"), s(300, "a", "DE"), s(700, "a", "US")], now, &c).score,
            60.0
        );
        // Four devices: +10 × 4; with concurrency: 80.
        let four = [s(0, "a", "FR"), s(5, "b", "FR"), s(300, "c", "FR"), s(700, "d", "FR")];
        assert_eq!(judge(&four, now, &c).score, 80.0);
        // Everything at once is capped at 100; events older than 24 h do not count.
        let all = [s(0, "a", "FR"), s(5, "b", "DE"), s(300, "c", "US"), s(700, "d", "JP")];
        assert_eq!(judge(&all, now, &c).score, 100.0);
        assert_eq!(judge(&all, now + 24 * 60 * 60_000 + 60 * 60_000, &c).score, 0.0);
    }
}
