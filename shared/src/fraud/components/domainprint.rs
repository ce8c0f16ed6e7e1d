//! `domainprint`: a domainprint presented and refused (see [`crate::identity::domainprint`]):
//! made up or from a release before signing (`unsigned`), signed by a key we do not hold
//! (`unknown key`: retired, or made up), or altered / forged under one of our keys (`forged`,
//! with the `forged_domainprint` trigger: high, not critical — the value is ignored, so it
//! gains its sender nothing). Our own default: their cookie was not signed. And a valid
//! domainprint whose visitor is not the one the request's fingerprint names (`conflict` in the
//! identity): a shared or stolen cookie, a spoofed fingerprint — or an OS update that made a
//! phone's fingerprint one a stranger already shows, so an anomaly, never more.

use crate::fraud::component::{ComponentSettings, Floors};
use serde::{Deserialize, Serialize};

use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;
use crate::identity::domainprint::Presented;

/// Points of a presented domainprint that was refused (`components.domainprint`). A refused
/// value is ignored whatever these say; they are how much its presence says about the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainprintConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    /// Floors of its block triggers, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
    /// Not in the signed format: made up, or a cookie of a release before signing.
    pub unsigned: f64,
    /// Signed with a key id we do not hold: a retired key, or made up.
    pub unknown_key: f64,
    /// Signed format under one of our keys with a tag that does not verify.
    pub forged: f64,
    /// Correctly signed but past its lifetime: kept or copied beyond the cookie's life (an
    /// anomaly, not proof of a bot: a clock or a restored backup does it too).
    #[serde(default = "default_expired")]
    pub expired: f64,
    /// A valid domainprint whose visitor another visitor's fingerprint contradicts (the
    /// identity's `conflict`): an anomaly (our own default).
    #[serde(default = "default_conflict")]
    pub conflict: f64,
}

fn default_expired() -> f64 {
    10.0
}

fn default_conflict() -> f64 {
    20.0
}

impl Default for DomainprintConfig {
    fn default() -> Self {
        DomainprintConfig {
            weight: 0.02,
            triggers: Floors::from([(Trigger::ForgedDomainprint, -20.0)]),
            unsigned: 30.0,
            unknown_key: 20.0,
            forged: 100.0,
            expired: default_expired(),
            conflict: default_conflict(),
        }
    }
}

impl DomainprintConfig {
    /// Checks the scores (0–100).
    ///
    /// # Errors
    /// A message when one is out of range.
    pub fn check(&self) -> Result<(), String> {
        if [
            self.unsigned,
            self.unknown_key,
            self.forged,
            self.expired,
            self.conflict,
        ]
        .iter()
        .any(|v| !(0.0..=100.0).contains(v))
        {
            return Err("components.domainprint: scores within 0..=100".into());
        }
        Ok(())
    }
}

impl ComponentSettings for DomainprintConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    fn check(&self) -> Result<(), String> {
        DomainprintConfig::check(self)
    }
}

/// Scores the domainprint the request presented; `conflict`: the identity kept its visitor
/// against a fingerprint another visitor shows.
pub fn score(presented: &Presented, conflict: bool, c: &DomainprintConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    if conflict {
        r.add(
            "identity_conflict",
            c.conflict,
            "the signed domainprint's visitor is not the one the fingerprint names: a shared cookie, or a device update",
        );
    }
    match presented {
        Presented::Unsigned => r.add(
            "unsigned_domainprint",
            c.unsigned,
            "the domainprint presented was not issued by us; a new one was issued",
        ),
        Presented::UnknownKey => r.add(
            "unknown_domainprint_key",
            c.unknown_key,
            "the domainprint presented is signed by a key not in use; a new one was issued",
        ),
        Presented::Forged => {
            r.add(
                "forged_domainprint",
                c.forged,
                "the domainprint presented was altered or issued for another organization",
            );
            r.triggers.push(Trigger::ForgedDomainprint);
        }
        Presented::Expired => r.add(
            "expired_domainprint",
            c.expired,
            "the domainprint presented is past its lifetime; a new one was issued",
        ),
        Presented::Absent | Presented::Valid { .. } | Presented::Rotated { .. } => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_forged_value_triggers() {
        let c = DomainprintConfig::default();
        for (p, code, trigger) in [
            (Presented::Unsigned, Some("unsigned_domainprint"), false),
            (Presented::UnknownKey, Some("unknown_domainprint_key"), false),
            (Presented::Expired, Some("expired_domainprint"), false),
            (Presented::Forged, Some("forged_domainprint"), true),
            (Presented::Absent, None, false),
        ] {
            let r = score(&p, false, &c);
            assert_eq!(r.reasons.first().map(|x| x.code.as_str()), code, "{p:?}");
            assert_eq!(!r.triggers.is_empty(), trigger, "{p:?}");
        }
    }

    /// A conflict is an anomaly: points, no trigger (an OS update makes one too).
    #[test]
    fn a_conflict_is_an_anomaly() {
        let c = DomainprintConfig::default();
        let valid = Presented::Valid {
            value: "d2.x".into(),
            visitor_id: "v".into(),
        };
        let r = score(&valid, true, &c);
        assert_eq!(r.reasons[0].code, "identity_conflict");
        assert!(r.triggers.is_empty());
        assert_eq!(
            crate::fraud::evidence::class_of("identity_conflict"),
            crate::fraud::evidence::Class::Anomaly
        );
    }
}
