//! The resolver's decision rules, free of I/O so they can be tested and measured alone.
//!
//! Rules (first match wins):
//! 1. **A correctly signed domainprint** (fast path, one read): the visitor it was issued to
//!    (the signature makes the visitor id it carries trustworthy). The domainprint's index
//!    entry tells the fingerprint last seen with it: the request's fingerprint is that one, or
//!    there is none → `cookie_and_fingerprint` / `cookie`. If the fingerprint changed (or the
//!    entry is gone: records expired), the fingerprint index is read once more: pointing at
//!    the same visitor → `cookie_and_fingerprint`; pointing nowhere → `cookie` with a new
//!    device recorded (a browser update or a second device profile); pointing at **another**
//!    visitor → the cookie's visitor is kept, `conflict` is set and the other visitor
//!    reported (a shared or stolen cookie, or a spoofed fingerprint: a fraud signal).
//! 2. **No signed domainprint** (absent, or presented and refused; parallel path, one
//!    concurrent batch of reads): a fingerprint match joins its visitor only when the
//!    corroboration model ([`super::corroborate`]) finds enough evidence — the candidate is
//!    the visitor that presented the fingerprint on the request's network, else the first
//!    visitor that presented it; a new domainprint is issued for the visitor joined. A match
//!    refused makes a new visitor with a *possible same device* link to the candidate. A
//!    behavioral match alone never merges: it too is a possible-same-device link.
//! 3. **Nothing matches**: a new visitor (UUIDv7) with all its index entries.
//!
//! [`MergeRule::FirstMatch`] keeps the rule before corroboration (any fingerprint match, else
//! any behavioral match, joins), to measure against.
//!
//! Which domainprint the answer carries, and whether it is linked, is the resolver's part: a
//! value presented and refused is never linked to anyone.

use serde::{Deserialize, Serialize};

use super::corroborate::{judge, Candidate, Commonness, CorroborationConfig, Evidence, Facts, MergeRule};
use super::inputs::IdentityInputs;
use super::population::{PopSet, Population};

/// How a visitor was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// The domainprint cookie and the fingerprint name the same visitor.
    CookieAndFingerprint,
    /// The domainprint cookie alone (no fingerprint, a new device, or a conflict).
    Cookie,
    /// The fingerprint alone (cookies cleared, or another of the organization's domains).
    Fingerprint,
    /// The behavioral signature alone.
    Behavioral,
    /// Nothing matched: a new visitor.
    New,
    /// Not identified: the visitor gave no fraud consent (the event's visitor id is its own,
    /// linked to nothing).
    Anonymous,
}

/// Confidence per method, 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confidences {
    pub cookie_and_fingerprint: f64,
    pub cookie: f64,
    /// The cookie, with a fingerprint never seen before (recorded as a new device).
    pub cookie_new_device: f64,
    pub fingerprint: f64,
    pub behavioral: f64,
    pub new_visitor: f64,
    /// Cookie and fingerprint point at different visitors.
    pub conflict: f64,
}

impl Default for Confidences {
    fn default() -> Self {
        Confidences {
            cookie_and_fingerprint: 0.98,
            cookie: 0.90,
            cookie_new_device: 0.85,
            fingerprint: 0.75,
            behavioral: 0.40,
            new_visitor: 0.50,
            conflict: 0.45,
        }
    }
}

impl Confidences {
    /// Checks every value is within 0–1.
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        let all = [
            ("cookie_and_fingerprint", self.cookie_and_fingerprint),
            ("cookie", self.cookie),
            ("cookie_new_device", self.cookie_new_device),
            ("fingerprint", self.fingerprint),
            ("behavioral", self.behavioral),
            ("new_visitor", self.new_visitor),
            ("conflict", self.conflict),
        ];
        match all.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            Some((name, v)) => Err(format!("confidence.{name} = {v} is outside 0..=1")),
            None => Ok(()),
        }
    }
}

/// A reverse-index entry as read from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexEntry {
    /// The visitor it names: for a fingerprint, the first that presented it; for a
    /// fingerprint on a network, the last; for a network, the last counted on it.
    pub visitor_id: String,
    /// For a domainprint entry: the fingerprint last seen with it.
    pub fingerprint: Option<String>,
    /// Last time the entry was touched, ms.
    pub last_seen_ms: i64,
    /// The facts of the named visitor's sighting (fingerprint and pair entries).
    pub facts: Facts,
    /// The item's population sets ([`super::population`]).
    pub population: Population,
}

/// Everything the resolver read for one request, in one concurrent round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reads {
    /// The signed domainprint's entry.
    pub domainprint: Option<IndexEntry>,
    /// The fingerprint's entry.
    pub fingerprint: Option<IndexEntry>,
    /// The fingerprint's entry on the request's network (`FPN`).
    pub pair: Option<IndexEntry>,
    /// The request's network's entry (`NET`).
    pub network: Option<IndexEntry>,
    /// The behavioral signature's entry (read only without a signed domainprint).
    pub behavioral: Option<IndexEntry>,
}

impl Reads {
    /// The populations the corroboration model weighs.
    pub fn commonness(&self) -> Commonness {
        let count = |e: &Option<IndexEntry>, set| e.as_ref().map_or(0, |e| e.population.count(set));
        Commonness {
            fingerprint_networks: count(&self.fingerprint, PopSet::Networks),
            fingerprint_visitors: count(&self.fingerprint, PopSet::Visitors),
            network_visitors: count(&self.network, PopSet::Visitors),
            pair_visitors: count(&self.pair, PopSet::Visitors),
        }
    }
}

/// Which visitor the request belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    Existing(String),
    New,
}

/// An index entry to add for the visitor (a conditional put: never moves an existing one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The domainprint the answer carries: registered again when its entry is gone; the
    /// resolver adds it whenever it issues a new domainprint to an existing visitor.
    Domainprint,
    Fingerprint,
    Behavioral,
}

/// The outcome of the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub visitor: Visitor,
    pub method: MatchMethod,
    pub confidence: f64,
    /// The other visitor the fingerprint names, on a conflict.
    pub conflict_with: Option<String>,
    pub links: Vec<Link>,
    /// Whether "last seen" is due (false inside the touch interval on the fast path).
    pub touch: bool,
    /// A visitor that may be the same device (a fingerprint match refused, or a behavioral
    /// match): recorded, never merged.
    pub possible_same_device: Option<String>,
    /// The corroboration score of a fingerprint match, and the evidence it used.
    pub score: Option<f64>,
    pub evidence: Vec<Evidence>,
}

/// The fast path's next step after reading the domainprint index.
#[derive(Debug, Clone, PartialEq)]
pub enum FastStep {
    /// Decided with the one read.
    Done(Decision),
    /// The fingerprint changed, or the index entry is gone: read the fingerprint index to
    /// tell a conflict from a new device.
    CheckFingerprint,
}

fn existing(visitor: &str, method: MatchMethod, confidence: f64, links: Vec<Link>, touch: bool) -> Decision {
    Decision {
        visitor: Visitor::Existing(visitor.to_string()),
        method,
        confidence,
        conflict_with: None,
        links,
        touch,
        possible_same_device: None,
        score: None,
        evidence: Vec::new(),
    }
}

fn new_visitor(c: &Confidences) -> Decision {
    Decision {
        visitor: Visitor::New,
        method: MatchMethod::New,
        confidence: c.new_visitor,
        conflict_with: None,
        links: vec![],
        touch: false,
        possible_same_device: None,
        score: None,
        evidence: Vec::new(),
    }
}

/// Rule 1, after the one read of the domainprint index: `visitor_id` is the visitor the
/// signed domainprint names, `entry` its index entry if there is one. `now_ms` and
/// `touch_interval_ms` decide whether "last seen" is due.
pub fn after_domainprint(
    inputs: &IdentityInputs,
    visitor_id: &str,
    entry: Option<&IndexEntry>,
    c: &Confidences,
    now_ms: i64,
    touch_interval_ms: i64,
) -> FastStep {
    let Some(e) = entry else {
        return match inputs.fingerprint {
            None => FastStep::Done(existing(
                visitor_id,
                MatchMethod::Cookie,
                c.cookie,
                vec![Link::Domainprint],
                true,
            )),
            Some(_) => FastStep::CheckFingerprint,
        };
    };
    let due = now_ms.saturating_sub(e.last_seen_ms) >= touch_interval_ms;
    match &inputs.fingerprint {
        None => FastStep::Done(existing(visitor_id, MatchMethod::Cookie, c.cookie, vec![], due)),
        Some(fp) if e.fingerprint.as_deref() == Some(fp.as_str()) => FastStep::Done(existing(
            visitor_id,
            MatchMethod::CookieAndFingerprint,
            c.cookie_and_fingerprint,
            vec![],
            due,
        )),
        Some(_) => FastStep::CheckFingerprint,
    }
}

/// Rule 1 when the fingerprint changed, after reading the fingerprint index; `visitor_id` is
/// the visitor the signed domainprint names.
pub fn after_fingerprint_check(visitor_id: &str, fp: Option<&IndexEntry>, c: &Confidences) -> Decision {
    match fp {
        None => existing(
            visitor_id,
            MatchMethod::Cookie,
            c.cookie_new_device,
            vec![Link::Fingerprint],
            true,
        ),
        Some(f) if f.visitor_id == visitor_id => existing(
            visitor_id,
            MatchMethod::CookieAndFingerprint,
            c.cookie_and_fingerprint,
            vec![],
            true,
        ),
        Some(f) => Decision {
            conflict_with: Some(f.visitor_id.clone()),
            ..existing(visitor_id, MatchMethod::Cookie, c.conflict, vec![], true)
        },
    }
}

/// Rules 2 and 3 as they were before corroboration ([`MergeRule::FirstMatch`]), after the
/// parallel reads of the fingerprint and behavioral indexes.
pub fn after_parallel(
    inputs: &IdentityInputs,
    fp: Option<&IndexEntry>,
    bh: Option<&IndexEntry>,
    c: &Confidences,
) -> Decision {
    let behavioral_link = inputs.behavioral.is_some() && bh.is_none();
    if let Some(f) = fp {
        let mut links = vec![];
        if behavioral_link {
            links.push(Link::Behavioral);
        }
        return existing(&f.visitor_id, MatchMethod::Fingerprint, c.fingerprint, links, true);
    }
    if let Some(b) = bh {
        let mut links = vec![];
        if inputs.fingerprint.is_some() {
            links.push(Link::Fingerprint);
        }
        return existing(&b.visitor_id, MatchMethod::Behavioral, c.behavioral, links, true);
    }
    new_visitor(c)
}

/// Rules 2 and 3 under `cc.rule`, after the parallel reads `r`; `after_race` is true when
/// this request lost the creation of a visitor to a concurrent one (then a candidate on the
/// request's own network is the visitor that request created, and is joined).
pub fn after_reads(
    inputs: &IdentityInputs,
    r: &Reads,
    c: &Confidences,
    cc: &CorroborationConfig,
    now_ms: i64,
    after_race: bool,
) -> Decision {
    if cc.rule == MergeRule::FirstMatch {
        return after_parallel(inputs, r.fingerprint.as_ref(), r.behavioral.as_ref(), c);
    }
    let behavioral_visitor = r.behavioral.as_ref().map(|b| b.visitor_id.as_str());
    let candidate = match (&r.pair, &r.fingerprint) {
        (Some(p), _) => Some((p, true)),
        (None, Some(f)) => Some((f, false)),
        (None, None) => None,
    };
    if let (Some((e, same_network)), Some(_)) = (candidate, &inputs.fingerprint) {
        let cand = Candidate {
            visitor_id: &e.visitor_id,
            same_network,
            facts: &e.facts,
            last_seen_ms: e.last_seen_ms,
            same_behavior: behavioral_visitor == Some(e.visitor_id.as_str()),
        };
        let verdict = judge(&cand, &inputs.sighting, &r.commonness(), now_ms, c.fingerprint, cc);
        let mut d = if verdict.merge || (after_race && same_network) {
            let mut links = vec![];
            if inputs.behavioral.is_some() && r.behavioral.is_none() {
                links.push(Link::Behavioral);
            }
            let mut d = existing(&e.visitor_id, MatchMethod::Fingerprint, verdict.confidence, links, true);
            if !verdict.merge {
                d.evidence.push(Evidence {
                    code: "concurrent_creation",
                    weight: 0.0,
                });
            }
            d
        } else {
            Decision {
                possible_same_device: Some(e.visitor_id.clone()),
                ..new_visitor(c)
            }
        };
        d.score = Some(verdict.score);
        d.evidence.splice(0..0, verdict.evidence);
        return d;
    }
    match behavioral_visitor {
        // A behavioral signature describes habits, not a device: never a merge on its own.
        Some(b) => Decision {
            possible_same_device: Some(b.to_string()),
            evidence: vec![Evidence {
                code: "same_behavior",
                weight: cc.same_behavior,
            }],
            ..new_visitor(c)
        },
        None => new_visitor(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(v: &str, fp: Option<&str>, last_seen_ms: i64) -> IndexEntry {
        IndexEntry {
            visitor_id: v.into(),
            fingerprint: fp.map(str::to_string),
            last_seen_ms,
            ..Default::default()
        }
    }

    fn inputs(fp: Option<&str>, bh: Option<&str>) -> IdentityInputs {
        IdentityInputs {
            fingerprint: fp.map(str::to_string),
            behavioral: bh.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn fast_path_decides_with_one_read() {
        let c = Confidences::default();
        let e = entry("A", Some("fp1"), 1_000);
        let FastStep::Done(d) = after_domainprint(&inputs(Some("fp1"), None), "A", Some(&e), &c, 2_000, 60_000) else {
            panic!()
        };
        assert_eq!(
            (d.method, d.confidence, d.touch),
            (MatchMethod::CookieAndFingerprint, 0.98, false)
        );
        let FastStep::Done(d) = after_domainprint(&inputs(None, None), "A", Some(&e), &c, 100_000, 60_000) else {
            panic!()
        };
        assert_eq!((d.method, d.touch), (MatchMethod::Cookie, true));
        assert_eq!(
            after_domainprint(&inputs(Some("fp2"), None), "A", Some(&e), &c, 0, 0),
            FastStep::CheckFingerprint
        );
        // The entry is gone (expired records): the signed visitor still holds.
        let FastStep::Done(d) = after_domainprint(&inputs(None, None), "A", None, &c, 0, 0) else {
            panic!()
        };
        assert_eq!(
            (d.visitor, d.method, d.links),
            (
                Visitor::Existing("A".into()),
                MatchMethod::Cookie,
                vec![Link::Domainprint]
            )
        );
        assert_eq!(
            after_domainprint(&inputs(Some("fp1"), None), "A", None, &c, 0, 0),
            FastStep::CheckFingerprint
        );
        // Extreme clocks do not overflow.
        let old = entry("A", Some("fp1"), i64::MIN);
        assert!(matches!(
            after_domainprint(&inputs(Some("fp1"), None), "A", Some(&old), &c, i64::MAX, 60_000),
            FastStep::Done(_)
        ));
    }

    #[test]
    fn changed_fingerprint_new_device_same_visitor_or_conflict() {
        let c = Confidences::default();
        let d = after_fingerprint_check("A", None, &c);
        assert_eq!(
            (d.method, d.links.clone(), d.conflict_with.clone()),
            (MatchMethod::Cookie, vec![Link::Fingerprint], None)
        );
        let d = after_fingerprint_check("A", Some(&entry("A", None, 0)), &c);
        assert_eq!(d.method, MatchMethod::CookieAndFingerprint);
        let d = after_fingerprint_check("A", Some(&entry("B", None, 0)), &c);
        assert_eq!(d.visitor, Visitor::Existing("A".into()), "the cookie's visitor is kept");
        assert_eq!(d.conflict_with.as_deref(), Some("B"));
        assert_eq!(d.confidence, c.conflict);
    }

    #[test]
    fn parallel_path_prefers_the_fingerprint() {
        let c = Confidences::default();
        let d = after_parallel(
            &inputs(Some("f"), Some("b")),
            Some(&entry("F", None, 0)),
            Some(&entry("B", None, 0)),
            &c,
        );
        assert_eq!(
            (d.visitor.clone(), d.method),
            (Visitor::Existing("F".into()), MatchMethod::Fingerprint)
        );
        assert_eq!(d.links, vec![]);
        let d = after_parallel(&inputs(Some("f"), Some("b")), None, Some(&entry("B", None, 0)), &c);
        assert_eq!(d.method, MatchMethod::Behavioral);
        assert_eq!(d.links, vec![Link::Fingerprint]);
        let d = after_parallel(&inputs(Some("f"), Some("b")), Some(&entry("F", None, 0)), None, &c);
        assert_eq!(d.links, vec![Link::Behavioral]);
        let d = after_parallel(&inputs(None, None), None, None, &c);
        assert_eq!(
            (d.visitor, d.method, d.confidence),
            (Visitor::New, MatchMethod::New, 0.5)
        );
    }

    fn sighting_inputs(fp: &str, bh: Option<&str>, mobile: bool) -> IdentityInputs {
        IdentityInputs {
            sighting: super::super::corroborate::Sighting {
                network: Some("198.51.100.0/24".into()),
                asn: Some(7922),
                time_zone: Some("America/New_York".into()),
                language: Some("en-us".into()),
                mobile,
            },
            ..inputs(Some(fp), bh)
        }
    }

    fn with_facts(mut e: IndexEntry) -> IndexEntry {
        e.facts = Facts {
            asn: Some(7922),
            time_zone: Some("America/New_York".into()),
            language: Some("en-us".into()),
        };
        e
    }

    #[test]
    fn corroborated_rule_joins_on_the_network_and_links_a_refused_match() {
        let (c, cc) = (Confidences::default(), CorroborationConfig::default());
        let now = 1_800_000_000_000;
        // The visitor that used this fingerprint on this network: joined.
        let r = Reads {
            fingerprint: Some(with_facts(entry("F", None, now))),
            pair: Some(with_facts(entry("P", None, now))),
            ..Reads::default()
        };
        let d = after_reads(&sighting_inputs("f", None, true), &r, &c, &cc, now, false);
        assert_eq!(
            (d.visitor.clone(), d.method),
            (Visitor::Existing("P".into()), MatchMethod::Fingerprint)
        );
        assert!(d.evidence.iter().any(|e| e.code == "same_network"));
        // A phone whose fingerprint another visitor used elsewhere: a new visitor, linked.
        let r = Reads {
            fingerprint: Some(with_facts(entry("F", None, now))),
            ..Reads::default()
        };
        let d = after_reads(&sighting_inputs("f", None, true), &r, &c, &cc, now, false);
        assert_eq!(d.visitor, Visitor::New);
        assert_eq!(d.possible_same_device.as_deref(), Some("F"));
        assert!(d.score.is_some_and(|s| s < cc.merge_threshold));
        // The same, but this request lost a creation race on its own network: joined.
        let r = Reads {
            fingerprint: Some(entry("F", None, now)),
            pair: Some(entry("F", None, now)),
            network: Some(IndexEntry {
                population: Population {
                    visitors: (0..8).collect(),
                    ..Population::default()
                },
                ..entry("F", None, now)
            }),
            ..Reads::default()
        };
        let refused = after_reads(&sighting_inputs("f", None, true), &r, &c, &cc, now, false);
        assert_eq!(refused.visitor, Visitor::New, "a busy network alone does not merge");
        let d = after_reads(&sighting_inputs("f", None, true), &r, &c, &cc, now, true);
        assert_eq!(d.visitor, Visitor::Existing("F".into()));
        assert!(d.evidence.iter().any(|e| e.code == "concurrent_creation"));
    }

    #[test]
    fn a_behavioral_match_alone_never_merges() {
        let (c, cc) = (Confidences::default(), CorroborationConfig::default());
        let r = Reads {
            behavioral: Some(entry("B", None, 0)),
            ..Reads::default()
        };
        let d = after_reads(&inputs(None, Some("sig-12345")), &r, &c, &cc, 0, false);
        assert_eq!((d.visitor, d.method), (Visitor::New, MatchMethod::New));
        assert_eq!(d.possible_same_device.as_deref(), Some("B"));
        // The rule before merged it.
        let first = CorroborationConfig {
            rule: MergeRule::FirstMatch,
            ..CorroborationConfig::default()
        };
        let d = after_reads(&inputs(None, Some("sig-12345")), &r, &c, &first, 0, false);
        assert_eq!(d.method, MatchMethod::Behavioral);
    }

    #[test]
    fn confidences_are_checked() {
        let bad = Confidences {
            cookie: 1.2,
            ..Confidences::default()
        };
        assert!(bad.check().unwrap_err().contains("confidence.cookie"));
    }
}
