//! The identity accuracy benchmark: a simulated population of an organization's visitors in
//! which many people share a fingerprint, run through the real resolver
//! ([`impressio::identity::Resolver`] over [`MemoryIdentityStore`], exactly as the edge calls
//! it: resolve, create with the event, apply the writes), once per merge rule, reporting per
//! person the **false-merge rate** (people who share a visitor with someone else) and the
//! **split rate** (people resolved to several visitors), and the pairwise precision and
//! recall over events.
//!
//! The population follows documented distributions, named in [`Population::documented`]:
//!
//! - **devices**: 60 % mobile (StatCounter's platform share, 2024), of which 57 % iPhones (its
//!   United States mobile OS share) and the rest Android; 40 % desktop;
//! - **fingerprints**: an iPhone's is its model, iOS version, language and time zone (identical
//!   hardware and OS builds: the collision most reported against open-source fingerprinting);
//!   Android phones spread over many more models; desktops are unique for 34 % of browsers and
//!   otherwise share one of a few hundred common configurations (Gómez-Boix, Laperdrix and
//!   Baudry, "Hiding in the Crowd", 2018: 33.6 % of 2 million desktop fingerprints unique, 18.5 %
//!   of mobile ones) — models and versions drawn by Zipf's law;
//! - **languages and time zones**: United States shares (English 80 %, Spanish 12 %; Eastern
//!   47 %, Central 29 %, Mountain 7 %, Pacific 17 % of the population);
//! - **households**: 2.5 people on average (US Census), one home network each; in a
//!   household a phone is the same model and version as another member's a third of the time
//!   (family plans);
//! - **work**: 60 % of people work at an office, offices sized by Zipf's law (a few of
//!   hundreds, many of a handful), one network per office;
//! - **cellular**: a third of a phone's sessions on a carrier's network, each on an address of
//!   a large NAT pool (a new /24 each session);
//! - **cookies**: 30 % of people clear their cookies in a month (comScore, 2007: 31 % of US
//!   users deleted first-party cookies), a sixth of their sessions starting cleared; 25 % use
//!   private browsing for some sessions (surveys put it between a fifth and half), where
//!   Safari's private mode adds noise to the fingerprint (a new fingerprint each session);
//! - **visits**: over 30 days, 1 to 12 sessions a person (geometric, mean 4), on three of the
//!   organization's domains (70 / 20 / 10 %, each its own cookie jar), 1 to 3 requests each.
//!
//! `tools/src/bin/identity-accuracy.rs` prints the report; `scripts/bench-identity.sh` runs it
//! in release; the integration tests run a smaller population and hold the targets.

use std::collections::{BTreeMap, HashMap, HashSet};

use impressio::event::{EventRecord, Route, ServerContext, TrackPayload};
use impressio::identity::corroborate::{MergeRule, Sighting};
use impressio::identity::domainprint::{DomainprintKeys, Presented};
use impressio::identity::store::Created;
use impressio::identity::{IdentityConfig, IdentityInputs, MemoryIdentityStore, Resolver};

const ORG: &str = "org_sim";
const DAY_MS: i64 = 86_400_000;
const START_MS: i64 = 1_795_000_000_000;

/// The population's parameters (see the module documentation for their sources).
#[derive(Debug, Clone)]
pub struct Population {
    pub people: usize,
    pub seed: u64,
    pub mobile_share: f64,
    pub iphone_share_of_mobile: f64,
    pub desktop_unique_share: f64,
    pub household_mean: f64,
    pub family_same_phone: f64,
    pub office_share: f64,
    pub cellular_share_of_phone_sessions: f64,
    pub clearer_share: f64,
    pub cleared_session_share: f64,
    pub private_user_share: f64,
    pub private_session_share: f64,
    pub mean_sessions: f64,
    pub days: i64,
}

impl Population {
    /// Sets the parameter `name` (a field's name) to `value`.
    ///
    /// # Errors
    /// A message for an unknown name or a value out of range.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        let share = |v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{name} is a share: 0..=1"))
            }
        };
        match name {
            "mobile_share" => self.mobile_share = share(value)?,
            "iphone_share_of_mobile" => self.iphone_share_of_mobile = share(value)?,
            "desktop_unique_share" => self.desktop_unique_share = share(value)?,
            "family_same_phone" => self.family_same_phone = share(value)?,
            "office_share" => self.office_share = share(value)?,
            "cellular_share_of_phone_sessions" => self.cellular_share_of_phone_sessions = share(value)?,
            "clearer_share" => self.clearer_share = share(value)?,
            "cleared_session_share" => self.cleared_session_share = share(value)?,
            "private_user_share" => self.private_user_share = share(value)?,
            "private_session_share" => self.private_session_share = share(value)?,
            "mean_sessions" if (1.0..=12.0).contains(&value) => self.mean_sessions = value,
            _ => return Err(format!("unknown parameter or value: {name}={value}")),
        }
        Ok(())
    }

    /// The documented distributions, for `people` people drawn with `seed`.
    pub fn documented(people: usize, seed: u64) -> Self {
        Population {
            people,
            seed,
            mobile_share: 0.60,
            iphone_share_of_mobile: 0.57,
            desktop_unique_share: 0.34,
            household_mean: 2.5,
            family_same_phone: 1.0 / 3.0,
            office_share: 0.60,
            cellular_share_of_phone_sessions: 1.0 / 3.0,
            clearer_share: 0.30,
            cleared_session_share: 1.0 / 6.0,
            private_user_share: 0.25,
            private_session_share: 0.25,
            mean_sessions: 4.0,
            days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Iphone,
    Android,
    Desktop,
}

#[derive(Debug, Clone)]
struct Person {
    device: Device,
    fingerprint: String,
    language: &'static str,
    time_zone: &'static str,
    home: (String, u32),
    office: Option<(String, u32)>,
    clears: bool,
    private: bool,
}

/// One request of the simulation, in time order.
#[derive(Debug, Clone)]
struct Request {
    at_ms: i64,
    person: usize,
    session: usize,
    /// Which cookie jar: the person's normal one per domain, or a private session's.
    jar: (usize, u8, Option<usize>),
    site: &'static str,
    fingerprint: String,
    network: (String, u32),
    /// The session starts with the jar emptied.
    clear_first: bool,
}

/// Zipf's law over `n` ranks with exponent 1: a rank 0…n−1.
fn zipf(rng: &mut fastrand::Rng, n: usize) -> usize {
    let h: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = rng.f64() * h;
    for k in 1..=n {
        x -= 1.0 / k as f64;
        if x <= 0.0 {
            return k - 1;
        }
    }
    n - 1
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, shares: &[(T, f64)]) -> T {
    let mut x = rng.f64() * shares.iter().map(|s| s.1).sum::<f64>();
    for &(v, w) in shares {
        x -= w;
        if x <= 0.0 {
            return v;
        }
    }
    shares[shares.len() - 1].0
}

const LANGUAGES: &[(&str, f64)] = &[("en-us", 0.80), ("es-us", 0.12), ("zh-cn", 0.04), ("fr-fr", 0.04)];
const TIME_ZONES: &[(&str, f64)] = &[
    ("America/New_York", 0.47),
    ("America/Chicago", 0.29),
    ("America/Denver", 0.07),
    ("America/Los_Angeles", 0.17),
];
const HOME_ASNS: &[(u32, f64)] = &[(7922, 0.35), (20115, 0.25), (7018, 0.2), (701, 0.2)];
const CARRIER_ASNS: &[(u32, f64)] = &[(21928, 0.35), (6167, 0.35), (20057, 0.30)];
const SITES: &[(&str, f64)] = &[("shop.example", 0.7), ("blog.example", 0.2), ("help.example", 0.1)];

fn people(p: &Population, rng: &mut fastrand::Rng) -> Vec<Person> {
    let offices: Vec<(String, u32)> = (0..(p.people / 20).max(1))
        .map(|i| {
            (
                format!("10.{}.{}.0/24", 100 + i / 256, i % 256),
                64_512 + (i % 1000) as u32,
            )
        })
        .collect();
    let mut out: Vec<Person> = Vec::with_capacity(p.people);
    let mut household = 0usize;
    while out.len() < p.people {
        // Household sizes 1–5 with mean about 2.5.
        let size = pick(rng, &[(1usize, 0.28), (2, 0.35), (3, 0.15), (4, 0.13), (5, 0.09)]);
        let home = (
            format!(
                "{}.{}.{}.0/24",
                20 + household / 65_536,
                household / 256 % 256,
                household % 256
            ),
            pick(rng, HOME_ASNS),
        );
        household += 1;
        let language = pick(rng, LANGUAGES);
        let time_zone = pick(rng, TIME_ZONES);
        let first = out.len();
        for member in 0..size {
            if out.len() >= p.people {
                break;
            }
            let device = if rng.f64() < p.mobile_share {
                if rng.f64() < p.iphone_share_of_mobile {
                    Device::Iphone
                } else {
                    Device::Android
                }
            } else {
                Device::Desktop
            };
            let sibling = (member > 0 && rng.f64() < p.family_same_phone)
                .then(|| {
                    out[first..]
                        .iter()
                        .find(|o: &&Person| o.device == device && device != Device::Desktop)
                })
                .flatten()
                .map(|o| o.fingerprint.clone());
            let fingerprint = sibling.unwrap_or_else(|| match device {
                Device::Iphone => format!(
                    "ios-m{}-v{}-{language}-{time_zone}",
                    zipf(rng, 12),
                    pick(rng, &[(0, 0.7), (1, 0.2), (2, 0.1)])
                ),
                Device::Android => format!(
                    "and-m{}-v{}-{language}-{time_zone}",
                    zipf(rng, 150),
                    pick(rng, &[(0, 0.6), (1, 0.3), (2, 0.1)])
                ),
                Device::Desktop if rng.f64() < p.desktop_unique_share => format!("desk-u{}", rng.u64(..)),
                Device::Desktop => format!("desk-c{}-{language}-{time_zone}", zipf(rng, 300)),
            });
            let fingerprint = fingerprint.replace('/', "_");
            out.push(Person {
                device,
                fingerprint,
                language,
                time_zone,
                home: home.clone(),
                office: (rng.f64() < p.office_share).then(|| offices[zipf(rng, offices.len())].clone()),
                clears: rng.f64() < p.clearer_share,
                private: rng.f64() < p.private_user_share,
            });
        }
    }
    out
}

fn requests(p: &Population, people: &[Person], rng: &mut fastrand::Rng) -> Vec<Request> {
    let mut out = Vec::new();
    let mut session_no = 0usize;
    for (i, person) in people.iter().enumerate() {
        // Geometric with the given mean, 1–12.
        let mut sessions = 1;
        while sessions < 12 && rng.f64() > 1.0 / p.mean_sessions {
            sessions += 1;
        }
        for _ in 0..sessions {
            session_no += 1;
            let at = START_MS + rng.i64(0..p.days * DAY_MS);
            let site = pick(rng, SITES);
            let site_index = SITES.iter().position(|s| s.0 == site).unwrap_or(0) as u8;
            let phone = person.device != Device::Desktop;
            let network = if phone && rng.f64() < p.cellular_share_of_phone_sessions {
                let asn = pick(rng, CARRIER_ASNS);
                (format!("100.{}.{}.0/24", asn % 64, rng.u8(..)), asn)
            } else {
                match &person.office {
                    Some(o) if rng.f64() < if phone { 0.25 } else { 0.45 } => o.clone(),
                    _ => person.home.clone(),
                }
            };
            let private = person.private && rng.f64() < p.private_session_share;
            let fingerprint = if private && person.device == Device::Iphone {
                // Safari's private mode: noise in the components, a new fingerprint.
                format!("ios-private-{}", rng.u64(..))
            } else {
                person.fingerprint.clone()
            };
            let clear_first = !private && person.clears && rng.f64() < p.cleared_session_share;
            for r in 0..rng.usize(1..=3) {
                out.push(Request {
                    at_ms: at + r as i64 * 30_000,
                    person: i,
                    session: session_no,
                    jar: (i, site_index, private.then_some(session_no)),
                    site,
                    fingerprint: fingerprint.clone(),
                    network: network.clone(),
                    clear_first: clear_first && r == 0,
                });
            }
        }
    }
    out.sort_by_key(|r| (r.at_ms, r.session));
    out
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    pub rule: MergeRule,
    pub people: usize,
    pub events: usize,
    pub visitors: usize,
    /// People sharing a visitor with another person, over all people.
    pub false_merge_rate: f64,
    /// People resolved to more than one visitor, over all people.
    pub split_rate: f64,
    /// Of the event pairs resolved to one visitor, the share that are one person's.
    pub pairwise_precision: f64,
    /// Of one person's event pairs, the share resolved to one visitor.
    pub pairwise_recall: f64,
    /// Per visitor: visitors holding the events of more than one person, over all visitors.
    pub merged_visitor_rate: f64,
    /// Per visitor: visitors per person (1 when nobody is split or merged).
    pub visitors_per_person: f64,
    /// Visitors created with a possible-same-device link.
    pub possible_links: usize,
    /// Per device class: its name, false-merge rate and split rate.
    pub by_device: Vec<(String, f64, f64)>,
}

fn pairs(n: usize) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// Runs `population` through the resolver with `config` and measures it.
///
/// # Panics
/// When the in-memory store fails (it does not) or a domainprint cannot be issued.
pub async fn run(population: &Population, config: &IdentityConfig) -> Accuracy {
    let rule = config.corroboration.rule;
    let mut rng = fastrand::Rng::with_seed(population.seed);
    let persons = people(population, &mut rng);
    let reqs = requests(population, &persons, &mut rng);
    let keys = DomainprintKeys::ephemeral();
    let resolver = Resolver::new(MemoryIdentityStore::new(), config.clone(), keys.clone());
    let template = TrackPayload {
        organization_id: Some(ORG.into()),
        ..Default::default()
    }
    .validate()
    .expect("a minimal event");
    let mut jars: HashMap<(usize, u8, Option<usize>), String> = HashMap::new();
    let mut resolved: Vec<(usize, String)> = Vec::with_capacity(reqs.len());
    let mut possible_links = 0usize;
    for (n, r) in reqs.iter().enumerate() {
        if r.clear_first {
            jars.remove(&r.jar);
        }
        let person = &persons[r.person];
        let inputs = IdentityInputs {
            fingerprint: Some(r.fingerprint.clone()),
            domainprint: jars
                .get(&r.jar)
                .map_or(Presented::Absent, |dp| keys.verify(ORG, dp, r.at_ms)),
            sighting: Sighting {
                network: Some(r.network.0.clone()),
                asn: Some(r.network.1),
                time_zone: Some(person.time_zone.to_string()),
                language: Some(person.language.to_string()),
                mobile: person.device != Device::Desktop,
            },
            ..IdentityInputs::default()
        };
        let mut res = resolver
            .resolve(ORG, &inputs, Some(r.site), r.at_ms)
            .await
            .expect("memory store");
        if let Some(create) = &res.create {
            let event = EventRecord::new(
                &format!("req-{n}"),
                Route::Track,
                template.clone(),
                None,
                ServerContext::default(),
                r.at_ms,
                30,
            );
            if let Created::VisitorExists = resolver
                .create(create, &event.items(None).expect("an item"))
                .await
                .expect("memory store")
            {
                res = resolver
                    .resolve_again(ORG, &inputs, Some(r.site), r.at_ms)
                    .await
                    .expect("memory store");
            }
            if res.identity.possible_same_device.is_some() {
                possible_links += 1;
            }
        }
        resolver.apply(&res.writes).await.expect("memory store");
        jars.insert(r.jar, res.identity.domainprint.clone());
        resolved.push((r.person, res.identity.visitor_id));
    }
    let mut a = measure(rule, population.people, &resolved, possible_links);
    a.by_device = [Device::Iphone, Device::Android, Device::Desktop]
        .iter()
        .map(|d| {
            let (m, sp) = measure_subset(&resolved, |p| persons[p].device == *d);
            (format!("{d:?}"), m, sp)
        })
        .collect();
    a
}

/// False-merge and split rates of the people `keep` selects (merges counted against
/// everyone).
fn measure_subset(resolved: &[(usize, String)], keep: impl Fn(usize) -> bool) -> (f64, f64) {
    let mut people_of: HashMap<&str, HashSet<usize>> = HashMap::new();
    let mut visitors_of: BTreeMap<usize, HashSet<&str>> = BTreeMap::new();
    for (p, v) in resolved {
        people_of.entry(v.as_str()).or_default().insert(*p);
        if keep(*p) {
            visitors_of.entry(*p).or_default().insert(v.as_str());
        }
    }
    let n = visitors_of.len().max(1) as f64;
    let merged = visitors_of
        .values()
        .filter(|vs| vs.iter().any(|v| people_of[v].len() > 1))
        .count();
    let split = visitors_of.values().filter(|vs| vs.len() > 1).count();
    (merged as f64 / n, split as f64 / n)
}

fn measure(rule: MergeRule, people: usize, resolved: &[(usize, String)], possible_links: usize) -> Accuracy {
    let mut cells: HashMap<(&str, usize), usize> = HashMap::new();
    let mut per_visitor: HashMap<&str, usize> = HashMap::new();
    let mut per_person: BTreeMap<usize, usize> = BTreeMap::new();
    let mut people_of: HashMap<&str, HashSet<usize>> = HashMap::new();
    let mut visitors_of: BTreeMap<usize, HashSet<&str>> = BTreeMap::new();
    for (p, v) in resolved {
        *cells.entry((v.as_str(), *p)).or_default() += 1;
        *per_visitor.entry(v.as_str()).or_default() += 1;
        *per_person.entry(*p).or_default() += 1;
        people_of.entry(v.as_str()).or_default().insert(*p);
        visitors_of.entry(*p).or_default().insert(v.as_str());
    }
    let together: f64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted: f64 = per_visitor.values().map(|&n| pairs(n)).sum();
    let truth: f64 = per_person.values().map(|&n| pairs(n)).sum();
    let merged = visitors_of
        .values()
        .filter(|vs| vs.iter().any(|v| people_of[v].len() > 1))
        .count();
    let split = visitors_of.values().filter(|vs| vs.len() > 1).count();
    let seen = visitors_of.len().max(1) as f64;
    let mixed = people_of.values().filter(|ps| ps.len() > 1).count();
    Accuracy {
        merged_visitor_rate: mixed as f64 / per_visitor.len().max(1) as f64,
        visitors_per_person: per_visitor.len() as f64 / seen,
        rule,
        people,
        events: resolved.len(),
        visitors: per_visitor.len(),
        false_merge_rate: merged as f64 / seen,
        split_rate: split as f64 / seen,
        pairwise_precision: if predicted > 0.0 { together / predicted } else { 1.0 },
        pairwise_recall: if truth > 0.0 { together / truth } else { 1.0 },
        possible_links,
        by_device: Vec::new(),
    }
}

/// The report's table: one line per run.
pub fn report(runs: &[Accuracy]) -> String {
    let mut out = String::from(
        "rule          people  events  visitors  false merges (people)  splits (people)  pairwise precision  pairwise recall  possible-same-device links\n",
    );
    for a in runs {
        out.push_str(&format!(
            "{:<12}  {:>6}  {:>6}  {:>8}  {:>20.2} %  {:>14.2} %  {:>18.4}  {:>15.4}  {:>26}\n",
            format!("{:?}", a.rule),
            a.people,
            a.events,
            a.visitors,
            a.false_merge_rate * 100.0,
            a.split_rate * 100.0,
            a.pairwise_precision,
            a.pairwise_recall,
            a.possible_links
        ));
    }
    out.push_str("\nper visitor: visitors holding several people / visitors per person:\n");
    for a in runs {
        out.push_str(&format!(
            "{:<12}  {:.2} % / {:.2}\n",
            format!("{:?}", a.rule),
            a.merged_visitor_rate * 100.0,
            a.visitors_per_person
        ));
    }
    out.push_str("\nby device (false merges / splits, % of that device's people):\n");
    for a in runs {
        let parts: Vec<String> = a
            .by_device
            .iter()
            .map(|(d, m, s)| format!("{d} {:.2} / {:.2}", m * 100.0, s * 100.0))
            .collect();
        out.push_str(&format!("{:<12}  {}\n", format!("{:?}", a.rule), parts.join("   ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_figures_of_a_known_partition() {
        // Person 0: three events on visitor a; person 1: one on a, one on b.
        let r: Vec<(usize, String)> = [(0, "a"), (0, "a"), (0, "a"), (1, "a"), (1, "b")]
            .iter()
            .map(|(p, v)| (*p, v.to_string()))
            .collect();
        let m = measure(MergeRule::Corroborated, 2, &r, 0);
        // Pairs on one visitor: C(4,2) = 6, of which one person's: C(3,2) = 3.
        assert!((m.pairwise_precision - 0.5).abs() < 1e-9);
        // True pairs: C(3,2) + C(2,2) = 4, of which together: 3.
        assert!((m.pairwise_recall - 0.75).abs() < 1e-9);
        assert!((m.false_merge_rate - 1.0).abs() < 1e-9, "both share visitor a");
        assert!((m.split_rate - 0.5).abs() < 1e-9, "person 1 has two visitors");
        assert!((m.merged_visitor_rate - 0.5).abs() < 1e-9, "a holds two people, b one");
        assert!((m.visitors_per_person - 1.0).abs() < 1e-9);
    }

    /// The held figures on a small population (the benchmark's are in docs/identity.md): the
    /// corroborated rule merges a fraction of the strangers the rule before merged, its pairs
    /// are nearly all right, and it still finds most returns.
    #[tokio::test]
    async fn the_corroborated_rule_merges_far_fewer_strangers_than_the_rule_before() {
        let p = Population::documented(1_500, 3);
        let mut first = IdentityConfig::default();
        first.corroboration.rule = MergeRule::FirstMatch;
        let before = run(&p, &first).await;
        let now = run(&p, &IdentityConfig::default()).await;
        assert_eq!(before.events, now.events, "the same requests");
        assert!(before.false_merge_rate > 0.5, "{before:?}");
        assert!(now.false_merge_rate < before.false_merge_rate / 5.0, "{now:?}");
        assert!(now.pairwise_precision > 0.9, "{now:?}");
        assert!(now.pairwise_recall > 0.6, "{now:?}");
        assert!(now.possible_links > 0);
        let f1 =
            |a: &Accuracy| 2.0 * a.pairwise_precision * a.pairwise_recall / (a.pairwise_precision + a.pairwise_recall);
        assert!(f1(&now) > 2.0 * f1(&before), "{} vs {}", f1(&now), f1(&before));
    }

    #[test]
    fn parameters_are_checked() {
        let mut p = Population::documented(10, 1);
        assert!(p.set("clearer_share", 0.5).is_ok());
        assert!(p.set("clearer_share", 1.5).is_err());
        assert!(p.set("no_such", 0.5).is_err());
    }

    #[test]
    fn the_population_shares_fingerprints_as_documented() {
        let p = Population::documented(2_000, 7);
        let mut rng = fastrand::Rng::with_seed(7);
        let persons = people(&p, &mut rng);
        assert_eq!(persons.len(), 2_000);
        let mut by_fp: HashMap<&str, usize> = HashMap::new();
        for x in &persons {
            *by_fp.entry(x.fingerprint.as_str()).or_default() += 1;
        }
        let shared = persons.iter().filter(|x| by_fp[x.fingerprint.as_str()] > 1).count();
        assert!(
            shared as f64 / 2_000.0 > 0.4,
            "many people share a fingerprint: {shared}"
        );
        let iphones = persons.iter().filter(|x| x.device == Device::Iphone).count() as f64 / 2_000.0;
        assert!((0.28..0.40).contains(&iphones), "{iphones}");
    }
}
