#![doc = include_str!("../docs/corroboration.md")]

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Highest confidence of a fingerprint match, below a cookie with its fingerprint (0.98).
pub const MAX_FINGERPRINT_CONFIDENCE: f64 = 0.97;

/// Longest language tag kept, characters (BCP 47 allows 35 for the usual forms).
pub const MAX_LANGUAGE: usize = 35;

/// Longest time zone name kept, characters (IANA names are shorter).
pub const MAX_TIME_ZONE: usize = 64;

/// Which rule merges a request without a signed domainprint into a visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MergeRule {
    /// A fingerprint match joins its visitor only when corroborated (this module); a
    /// behavioral match never merges alone.
    #[default]
    Corroborated,
    /// The rule before: any fingerprint match joins the first visitor that presented it, and
    /// failing that any behavioral match. Kept to measure the corroborated rule against it
    /// (`scripts/bench-identity.sh`); not for production.
    FirstMatch,
}

/// The corroboration model's weights and thresholds (`IDENTITY_CONFIG.corroboration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorroborationConfig {
    pub rule: MergeRule,
    /// Distinct values each population set keeps exactly (fingerprint: domainprints, networks,
    /// visitors; network: visitors; fingerprint on a network: visitors); beyond it a count
    /// reads "at least this many". Bounds each set to this many 48-bit hashes.
    pub population_cap: u16,
    /// A match merges at this score or above.
    pub merge_threshold: f64,
    pub same_network: f64,
    pub busy_network: f64,
    /// Visitors seen on a network from which it is busy.
    pub busy_network_visitors: u64,
    pub shared_pair: f64,
    pub same_asn: f64,
    pub rare_fingerprint: f64,
    pub common_fingerprint: f64,
    /// Networks a fingerprint was seen on from which it is common.
    pub common_fingerprint_networks: u64,
    /// Visitors a fingerprint was seen with from which it is common.
    pub common_fingerprint_visitors: u64,
    pub same_language: f64,
    pub other_language: f64,
    pub same_time_zone: f64,
    pub other_time_zone: f64,
    pub stale: f64,
    /// Days since the candidate last presented the fingerprint after which it is stale.
    pub stale_days: u32,
    pub same_behavior: f64,
    /// A candidate's record on a network is refreshed at most once per this many seconds.
    pub refresh_secs: u32,
}

impl Default for CorroborationConfig {
    fn default() -> Self {
        CorroborationConfig {
            rule: MergeRule::Corroborated,
            population_cap: 16,
            merge_threshold: 3.0,
            same_network: 3.0,
            busy_network: -2.0,
            busy_network_visitors: 8,
            shared_pair: -3.0,
            same_asn: 1.0,
            rare_fingerprint: 1.0,
            common_fingerprint: -1.0,
            common_fingerprint_networks: 5,
            common_fingerprint_visitors: 3,
            same_language: 0.5,
            other_language: -1.0,
            same_time_zone: 0.5,
            other_time_zone: -1.0,
            stale: -1.0,
            stale_days: 90,
            same_behavior: 1.5,
            refresh_secs: 3_600,
        }
    }
}

impl CorroborationConfig {
    /// Checks the values are usable.
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        let weights = [
            self.merge_threshold,
            self.same_network,
            self.busy_network,
            self.shared_pair,
            self.same_asn,
            self.rare_fingerprint,
            self.common_fingerprint,
            self.same_language,
            self.other_language,
            self.same_time_zone,
            self.other_time_zone,
            self.stale,
            self.same_behavior,
        ];
        if weights.iter().any(|w| !w.is_finite() || w.abs() > 100.0) {
            return Err("corroboration weights must be finite numbers within ±100".into());
        }
        if !(2..=64).contains(&self.population_cap) {
            return Err("corroboration.population_cap must be 2..=64".into());
        }
        if self.busy_network_visitors < 2
            || self.common_fingerprint_networks < 2
            || self.common_fingerprint_visitors < 2
        {
            return Err("corroboration's visitor and network counts must be at least 2".into());
        }
        Ok(())
    }
}

/// The network a request comes from: the IPv4 /24 or the IPv6 /48 of its address, written
/// `203.0.113.0/24` / `2001:db8:1::/48` (a household's or an office's addresses share it;
/// IPv6 sites are /48s by the address allocation guidelines, RFC 6177).
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// The first language tag of an `Accept-Language` value, lowercased (`en-US,en;q=0.9` →
/// `en-us`); `None` for an empty, `*`, malformed or over-long first tag.
pub fn primary_language(accept_language: &str) -> Option<String> {
    let first = accept_language.split(',').next()?.split(';').next()?.trim();
    let ok = !first.is_empty()
        && first.len() <= MAX_LANGUAGE
        && first.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| first.to_ascii_lowercase())
}

/// What a request shows about where it comes from, besides its identifiers: the facts the
/// model compares with a candidate's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    /// [`network_of`] the client address.
    pub network: Option<String>,
    pub asn: Option<u32>,
    /// CloudFront's viewer time zone (IANA name, at most [`MAX_TIME_ZONE`] characters).
    pub time_zone: Option<String>,
    /// [`primary_language`] of `Accept-Language`.
    pub language: Option<String>,
    /// A mobile device (phones and tablets of one model share hardware and OS builds, so their
    /// fingerprints collide far more often).
    pub mobile: bool,
}

/// The facts stored with a candidate: its last network's ASN, time zone and language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub asn: Option<u32>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
}

impl Sighting {
    /// The facts of this sighting, to store with its visitor.
    pub fn facts(&self) -> Facts {
        Facts {
            asn: self.asn,
            time_zone: self.time_zone.clone(),
            language: self.language.clone(),
        }
    }
}

/// How common what a candidate was matched on is: capped distinct counts (a count equal to
/// the cap means "at least").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commonness {
    /// Networks the fingerprint was seen on.
    pub fingerprint_networks: u64,
    /// Visitors the fingerprint was seen with.
    pub fingerprint_visitors: u64,
    /// Visitors seen on the request's network.
    pub network_visitors: u64,
    /// Visitors that presented the fingerprint on the request's network.
    pub pair_visitors: u64,
}

/// The visitor a fingerprint match points at, and what is known of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    /// The visitor the index entry names.
    pub visitor_id: &'a str,
    /// It presented the fingerprint on the request's network.
    pub same_network: bool,
    /// Its facts, as stored with the entry.
    pub facts: &'a Facts,
    /// When it last presented the fingerprint (there), ms.
    pub last_seen_ms: i64,
    /// The behavioral signature's index names it too.
    pub same_behavior: bool,
}

/// One piece of evidence used, with its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub code: &'static str,
    pub weight: f64,
}

/// The model's verdict on a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub score: f64,
    pub evidence: Vec<Evidence>,
    pub merge: bool,
    /// The confidence of the match if it merges.
    pub confidence: f64,
}

fn agree<T: PartialEq>(a: Option<&T>, b: Option<&T>) -> Option<bool> {
    Some(a? == b?)
}

/// Scores `candidate` for a request showing `sighting`, with the populations in `counts`, at
/// `now_ms`; `fingerprint_confidence` is the configured confidence of a fingerprint match.
pub fn judge(
    candidate: &Candidate<'_>,
    sighting: &Sighting,
    counts: &Commonness,
    now_ms: i64,
    fingerprint_confidence: f64,
    c: &CorroborationConfig,
) -> Verdict {
    let mut evidence = Vec::new();
    let mut add = |code: &'static str, weight: f64| evidence.push(Evidence { code, weight });
    if candidate.same_network {
        add("same_network", c.same_network);
        if counts.network_visitors >= c.busy_network_visitors {
            add("busy_network", c.busy_network);
        }
        if counts.pair_visitors > 1 {
            add("shared_pair", c.shared_pair);
        }
    } else if agree(candidate.facts.asn.as_ref(), sighting.asn.as_ref()) == Some(true) {
        add("same_asn", c.same_asn);
    }
    if counts.fingerprint_networks >= c.common_fingerprint_networks
        || counts.fingerprint_visitors >= c.common_fingerprint_visitors
    {
        add("common_fingerprint", c.common_fingerprint);
    } else if counts.fingerprint_visitors <= 1 && !sighting.mobile {
        add("rare_fingerprint", c.rare_fingerprint);
    }
    match agree(candidate.facts.language.as_ref(), sighting.language.as_ref()) {
        Some(true) => add("same_language", c.same_language),
        Some(false) => add("other_language", c.other_language),
        None => {}
    }
    match agree(candidate.facts.time_zone.as_ref(), sighting.time_zone.as_ref()) {
        Some(true) => add("same_time_zone", c.same_time_zone),
        Some(false) => add("other_time_zone", c.other_time_zone),
        None => {}
    }
    let stale_ms = i64::from(c.stale_days).saturating_mul(86_400_000);
    if now_ms.saturating_sub(candidate.last_seen_ms) > stale_ms {
        add("stale", c.stale);
    }
    if candidate.same_behavior {
        add("same_behavior", c.same_behavior);
    }
    let score: f64 = evidence.iter().map(|e| e.weight).sum();
    let p = fingerprint_confidence.clamp(0.01, 0.99);
    let logit = (p / (1.0 - p)).ln();
    let confidence = (1.0 / (1.0 + (-(score - c.merge_threshold + logit)).exp())).min(MAX_FINGERPRINT_CONFIDENCE);
    Verdict {
        score,
        merge: score >= c.merge_threshold,
        evidence,
        confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn facts() -> Facts {
        Facts {
            asn: Some(7922),
            time_zone: Some("America/New_York".into()),
            language: Some("en-us".into()),
        }
    }

    fn sighting(mobile: bool) -> Sighting {
        Sighting {
            network: Some("198.51.100.0/24".into()),
            asn: Some(7922),
            time_zone: Some("America/New_York".into()),
            language: Some("en-us".into()),
            mobile,
        }
    }

    fn verdict(same_network: bool, mobile: bool, counts: Commonness) -> Verdict {
        let f = facts();
        let cand = Candidate {
            visitor_id: "A",
            same_network,
            facts: &f,
            last_seen_ms: NOW - 86_400_000,
            same_behavior: false,
        };
        judge(
            &cand,
            &sighting(mobile),
            &counts,
            NOW,
            0.75,
            &CorroborationConfig::default(),
        )
    }

    fn common() -> Commonness {
        Commonness {
            fingerprint_networks: 16,
            fingerprint_visitors: 16,
            network_visitors: 2,
            pair_visitors: 1,
        }
    }

    #[test]
    fn a_return_on_the_candidates_network_merges_even_for_a_common_fingerprint() {
        let v = verdict(true, true, common());
        assert!(v.merge, "{v:?}");
        assert_eq!(v.score, 3.0);
        assert!(
            (v.confidence - 0.75).abs() < 1e-9,
            "at the threshold: the configured confidence"
        );
        let rare = verdict(true, false, Commonness::default());
        assert!(rare.merge && rare.confidence > v.confidence && rare.confidence <= MAX_FINGERPRINT_CONFIDENCE);
    }

    #[test]
    fn an_office_network_or_a_shared_pair_does_not_merge() {
        let busy = verdict(
            true,
            true,
            Commonness {
                network_visitors: 8,
                ..common()
            },
        );
        assert!(!busy.merge, "{busy:?}");
        assert!(busy.evidence.iter().any(|e| e.code == "busy_network"));
        let shared = verdict(
            true,
            false,
            Commonness {
                pair_visitors: 2,
                ..Commonness::default()
            },
        );
        assert!(!shared.merge, "{shared:?}");
    }

    #[test]
    fn another_network_merges_only_a_rare_desktop_fingerprint_with_everything_agreeing() {
        assert!(verdict(false, false, Commonness::default()).merge);
        assert!(!verdict(false, true, Commonness::default()).merge, "a phone never");
        assert!(!verdict(false, false, common()).merge);
        let f = Facts {
            language: Some("de-de".into()),
            ..facts()
        };
        let cand = Candidate {
            visitor_id: "A",
            same_network: false,
            facts: &f,
            last_seen_ms: NOW,
            same_behavior: false,
        };
        let v = judge(
            &cand,
            &sighting(false),
            &Commonness::default(),
            NOW,
            0.75,
            &CorroborationConfig::default(),
        );
        assert!(!v.merge && v.evidence.iter().any(|e| e.code == "other_language"));
    }

    #[test]
    fn stale_candidates_and_behavior_move_the_score() {
        let f = facts();
        let mut cand = Candidate {
            visitor_id: "A",
            same_network: true,
            facts: &f,
            last_seen_ms: i64::MIN,
            same_behavior: false,
        };
        let c = CorroborationConfig::default();
        let stale = judge(&cand, &sighting(true), &common(), i64::MAX, 0.75, &c);
        assert!(!stale.merge && stale.evidence.iter().any(|e| e.code == "stale"));
        cand.same_behavior = true;
        let v = judge(&cand, &sighting(true), &common(), i64::MAX, 0.75, &c);
        assert!(v.merge, "{v:?}");
    }

    #[test]
    fn networks_and_languages_are_normalized() {
        assert_eq!(network_of("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(network_of("2001:db8:1:2::5".parse().unwrap()), "2001:db8:1::/48");
        assert_eq!(primary_language("en-US,en;q=0.9").as_deref(), Some("en-us"));
        assert_eq!(primary_language("fr;q=0.8").as_deref(), Some("fr"));
        assert_eq!(primary_language(""), None);
        assert_eq!(primary_language("*"), None);
        assert_eq!(primary_language(&"x".repeat(36)), None);
    }

    #[test]
    fn bad_configuration_is_refused() {
        let mut c = CorroborationConfig::default();
        assert!(c.check().is_ok());
        c.same_network = f64::NAN;
        assert!(c.check().is_err());
        let c = CorroborationConfig {
            population_cap: 1,
            ..Default::default()
        };
        assert!(c.check().is_err());
    }
}
