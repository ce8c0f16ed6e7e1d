//! The erasure of a visitor (GDPR Art. 17, `DELETE /v1/visitors/{visitorId}`): its deletion id
//! and the tombstone that records it.
//!
//! The deletion id is derived from the organization and the visitor (a UUID of version 8 from
//! their SHA-256), so the tombstone never holds the visitor id, a second `DELETE` of the same
//! visitor finds the same deletion and resumes it, and whoever holds a visitor id can tell
//! whether it was erased ([`crate::schema::deletion_id`]) — the processor and the identity resolver do, so
//! that nothing is written again under an erased visitor. A visitor id is a random UUIDv7:
//! its digest cannot be turned back into it.

use serde::{Deserialize, Serialize};

/// `item_type` of a tombstone.
pub const DELETION_ITEM_TYPE: &str = "deletion";
/// How long a tombstone outlives the longest retention a plan allows, days: every item of the
/// visitor has expired by then, so nothing can come back.
pub const TOMBSTONE_MARGIN_DAYS: i64 = 30;

/// Where an erasure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStatus {
    /// Items of the visitor may remain: asking again (`DELETE`) goes on.
    Running,
    /// Nothing of the visitor remains.
    Completed,
}

/// The tombstone of an erasure: no personal data — the deletion id, counts and times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRecord {
    /// `ORG#<org>#DEL#<deletion id>`.
    pub pk: String,
    /// `DELETION`.
    pub sk: String,
    /// `deletion`.
    pub item_type: String,
    pub organization_id: String,
    pub deletion_id: String,
    pub status: DeletionStatus,
    /// Items removed so far.
    pub removed: u64,
    /// Passes run (one per `DELETE` that found work).
    pub passes: u32,
    /// First asked, ms since the Unix epoch.
    pub requested_at: i64,
    /// Last progress, ms since the Unix epoch.
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// TTL attribute, Unix seconds: the plan's longest retention plus
    /// [`TOMBSTONE_MARGIN_DAYS`] after the last progress.
    pub expires_at: i64,
}

impl DeletionRecord {
    /// A new, running erasure of `visitor_id`, asked at `now_ms`; kept `keep_days` after its
    /// last progress.
    pub fn start(organization_id: &str, visitor_id: &str, now_ms: i64, keep_days: i64) -> Self {
        let id = crate::schema::deletion_id(organization_id, visitor_id);
        DeletionRecord {
            pk: crate::schema::deletion_pk(organization_id, &id),
            sk: crate::schema::DELETION_SK.to_string(),
            item_type: DELETION_ITEM_TYPE.to_string(),
            organization_id: organization_id.to_string(),
            deletion_id: id,
            status: DeletionStatus::Running,
            removed: 0,
            passes: 0,
            requested_at: now_ms,
            updated_at: now_ms,
            completed_at: None,
            expires_at: expiry(now_ms, keep_days),
        }
    }

    /// Records a pass that removed `removed` items and did (`done`) or did not finish.
    pub fn progress(&mut self, removed: u64, done: bool, now_ms: i64, keep_days: i64) {
        self.removed = self.removed.saturating_add(removed);
        self.passes = self.passes.saturating_add(1);
        self.updated_at = now_ms;
        self.expires_at = expiry(now_ms, keep_days);
        if done {
            self.status = DeletionStatus::Completed;
            self.completed_at.get_or_insert(now_ms);
        } else {
            self.status = DeletionStatus::Running;
            self.completed_at = None;
        }
    }

    /// The answer of `DELETE /v1/visitors/{id}` and `GET /v1/deletions/{id}`:
    /// `{"deletionId", "status", "removed", "requestedAt", "updatedAt", "completedAt"}`.
    pub fn public_json(&self) -> serde_json::Value {
        serde_json::json!({
            "deletionId": self.deletion_id,
            "status": self.status,
            "removed": self.removed,
            "requestedAt": self.requested_at,
            "updatedAt": self.updated_at,
            "completedAt": self.completed_at,
        })
    }
}

fn expiry(now_ms: i64, keep_days: i64) -> i64 {
    (now_ms / 1000).saturating_add(keep_days.saturating_add(TOMBSTONE_MARGIN_DAYS).saturating_mul(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_id_is_a_stable_uuid_of_the_pair_and_holds_neither() {
        let v = "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7b";
        let id = crate::schema::deletion_id("org_a", v);
        assert_eq!(id, crate::schema::deletion_id("org_a", v));
        assert_ne!(id, crate::schema::deletion_id("org_b", v));
        assert_ne!(
            id,
            crate::schema::deletion_id("org_a", "01939d3c-6f2a-7c3e-8a1b-2c3d4e5f6a7c")
        );
        let u = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(u.get_version_num(), 8);
        assert_eq!(crate::server_api::params::uuid_id("deletionId", &id).unwrap(), id);
        let record = DeletionRecord::start("org_a", v, 1_790_000_000_000, 400);
        let text = serde_json::to_string(&record).unwrap();
        assert!(!text.contains(v) && !text.contains("6f2a"), "{text}");
    }

    #[test]
    fn progress_counts_and_completes() {
        let mut r = DeletionRecord::start("org_a", "v", 1_000_000, 30);
        r.progress(40, false, 2_000_000, 30);
        assert_eq!(
            (r.status, r.removed, r.passes, r.completed_at),
            (DeletionStatus::Running, 40, 1, None)
        );
        r.progress(2, true, 3_000_000, 30);
        assert_eq!(
            (r.status, r.removed, r.passes, r.completed_at),
            (DeletionStatus::Completed, 42, 2, Some(3_000_000))
        );
        assert_eq!(r.expires_at, 3_000 + 60 * 86_400);
        assert_eq!(r.public_json()["status"], "completed");
    }
}
