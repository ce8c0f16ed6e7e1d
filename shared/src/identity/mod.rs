//! The identity resolver: every tracked request resolved to a stable visitor of its
//! organization, in as few DynamoDB round trips as possible ("Fast path (known
//! user: 1 query)", "Parallel path (anon: 3 queries ||)", "Domainprint aliasing system").
//!
//! - [`inputs`]: the identity inputs of a request (fingerprint, domainprint, behavioral
//!   signature, user id, GA4 client id), validated;
//! - [`decide`]: the pure decision rules (which visitor, how, how confident, what to write);
//! - [`corroborate`]: the evidence a fingerprint match needs before it merges;
//! - [`population`]: how common a fingerprint, a network, a fingerprint on a network is;
//! - [`store`]: the identity store trait and its DynamoDB adapter (reverse indexes, visitor
//!   records), with its DynamoDB adapter [`dynamo`] and the same in memory, [`memory`];
//! - [`resolver`]: the paths that read and write through the store.

pub mod corroborate;
pub mod decide;
pub mod domainprint;
#[cfg(feature = "io")]
pub mod dynamo;
pub mod inputs;
#[cfg(feature = "io")]
pub mod memory;
pub mod population;
#[cfg(feature = "io")]
pub mod resolver;
#[cfg(feature = "io")]
pub mod store;

use serde::{Deserialize, Serialize};

pub use corroborate::CorroborationConfig;
pub use decide::{Confidences, MatchMethod};
#[cfg(feature = "io")]
pub use dynamo::DynamoIdentityStore;
pub use inputs::IdentityInputs;
#[cfg(feature = "io")]
pub use memory::MemoryIdentityStore;
#[cfg(feature = "io")]
pub use resolver::Resolver;
#[cfg(feature = "io")]
pub use store::IdentityStore;

/// The identity of one request, returned in the `/t` answer and stored on the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityResult {
    /// The visitor (UUIDv7), stable across the organization's domains and cleared cookies.
    pub visitor_id: String,
    /// 0–1: how sure the match is (see [`Confidences`]).
    pub confidence: f64,
    /// How the match was made.
    pub method: MatchMethod,
    /// True when this request created the visitor.
    pub is_new: bool,
    /// True when the cookie and the fingerprint point at different visitors (a fraud
    /// signal for the scoring layers; the cookie's visitor is kept).
    pub conflict: bool,
    /// The domainprint the answer's cookie carries.
    pub domainprint: String,
    /// The other visitor the fingerprint points at, when `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicting_visitor_id: Option<String>,
    /// A visitor that may be this same device, recorded but not merged: the visitor a
    /// fingerprint match pointed at when the evidence was too weak to join it, or the one a
    /// behavioral signature alone pointed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_same_device: Option<String>,
    /// The corroboration score of a fingerprint match (see [`corroborate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corroboration_score: Option<f64>,
    /// The evidence the score used (`same_network`, `common_fingerprint`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// Settings of the resolver (`IDENTITY_CONFIG`, a partial JSON override of the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Confidence per match method.
    pub confidence: Confidences,
    /// "Last seen" is written at most once per this interval per domainprint, ms.
    pub touch_interval_ms: i64,
    /// Lifetime of the domainprint cookie, days (seed: 365): a value is good for this long
    /// from its issue time ([`domainprint::DomainprintLifetime`]).
    pub cookie_max_age_days: u32,
    /// A domainprint at least this many days old is replaced by a new one for the same
    /// visitor on its next request (our own default: weekly keeps a returning browser's
    /// identity alive for about a year after its last visit at one new index entry a week).
    #[serde(default = "default_reissue_days")]
    pub domainprint_reissue_days: u32,
    /// Days identity records live after they were last seen (TTL).
    pub record_ttl_days: u32,
    /// When a fingerprint match merges ([`corroborate`]).
    #[serde(default)]
    pub corroboration: CorroborationConfig,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            confidence: Confidences::default(),
            touch_interval_ms: 60_000,
            cookie_max_age_days: 365,
            domainprint_reissue_days: default_reissue_days(),
            record_ttl_days: 400,
            corroboration: CorroborationConfig::default(),
        }
    }
}

fn default_reissue_days() -> u32 {
    7
}

impl IdentityConfig {
    /// How long domainprints are good for, and when they are replaced.
    pub fn domainprint_lifetime(&self) -> domainprint::DomainprintLifetime {
        domainprint::DomainprintLifetime {
            max_age_secs: i64::from(self.cookie_max_age_days) * 86_400,
            reissue_after_secs: i64::from(self.domainprint_reissue_days) * 86_400,
        }
    }

    /// The defaults with a partial JSON override applied.
    ///
    /// # Errors
    /// A message naming an unknown key or a value out of range.
    pub fn with_override(json: &str) -> Result<Self, String> {
        let mut base = serde_json::to_value(IdentityConfig::default()).map_err(|e| e.to_string())?;
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        crate::env::merge_json(&mut base, &patch)?;
        let c: IdentityConfig = serde_json::from_value(base).map_err(|e| e.to_string())?;
        c.confidence.check()?;
        c.corroboration.check()?;
        if c.touch_interval_ms < 0 || c.cookie_max_age_days == 0 || c.record_ttl_days == 0 {
            return Err("touch_interval_ms must be ≥ 0 and the day counts above 0".into());
        }
        if c.domainprint_reissue_days == 0 || c.domainprint_reissue_days >= c.cookie_max_age_days {
            return Err("domainprint_reissue_days must be above 0 and below cookie_max_age_days".into());
        }
        Ok(c)
    }
}
