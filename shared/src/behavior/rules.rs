//! The behavioral rules over stored items, apart from how they are stored: what a request
//! reads, how its windows are summed into [`Observations`], and the blacklist's progressive
//! timeouts. The stores ([`super::store`]) only read and write what these decide.
//!
//! Buckets hold an event count `n` (IP and visitor buckets), a sketch of the distinct visitors
//! (JA4 and JA4 + network buckets: [`super::sketch`], raised only when this request's register
//! is above the one read, see [`register_to_raise`]), the first time seen, and for visitors the
//! submission count and the set of submission IPs. A window is the union of the buckets it
//! overlaps ([`keys::bucket_starts`]). Every item has a TTL;
//! DynamoDB deletes late, so block expiry is checked in code. Which sketch raises the edge
//! writes and which it leaves to the stream processor is [`sketch_raises`].

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::keys::{self, BlockScope, Identifiers, HOUR_BUCKET_SECS, SHORT_BUCKET_SECS};
use super::sketch::{Register, Sketch, SketchRaise};
use crate::fraud::components::visitor_velocity::{DAY_WINDOW_SECS, HOUR_WINDOW_SECS};
use crate::fraud::config::RepeatOffenderConfig;
use crate::fraud::input::Observations;
use crate::fraud::{FraudConfig, Trigger};

/// How long an aggregate bucket is kept after it ends, seconds (a day: longer than any window
/// that reads it).
pub const AGGREGATE_GRACE_SECS: i64 = 86_400;
/// How long the forensic record of a block or a blacklist hit is kept, seconds (a year: the
/// audit trail outlives the block).
pub const FORENSIC_RETENTION_SECS: i64 = 365 * 86_400;

/// A blacklist entry as read.
#[derive(Debug, Clone, PartialEq)]
pub struct BlacklistEntry {
    pub pk: String,
    pub detection_type: String,
    pub reason: String,
    pub blocked_at_ms: i64,
    /// When the block ends, ms; checked in code because TTL deletes late.
    pub block_expires_ms: i64,
    /// Offense times, ms.
    pub offenses: Vec<i64>,
}

impl BlacklistEntry {
    /// Which identifier the entry blocks (see [`keys::identifier_kind`]).
    pub fn identifier_kind(&self) -> &'static str {
        crate::schema::identifier_kind(&self.pk)
    }
}

/// One aggregate bucket as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Unix seconds.
    pub start: i64,
    pub n: u64,
    /// The distinct visitors of a JA4 or JA4 + network bucket.
    pub visitors: Sketch,
    pub ips: BTreeSet<String>,
    pub submissions: u64,
    /// ms since the Unix epoch.
    pub first_ms: Option<i64>,
}

/// What the first read round returns.
#[derive(Debug, Clone, Default)]
pub struct FirstRead {
    pub blacklist: Vec<BlacklistEntry>,
    pub ja4net: Vec<Bucket>,
    pub ja4: Vec<Bucket>,
    pub ip: Vec<Bucket>,
    /// The history of [`Identifiers::visitor`], when the request named one.
    pub visitor: Option<VisitorRead>,
}

/// What the visitor read round returns.
#[derive(Debug, Clone, Default)]
pub struct VisitorRead {
    pub buckets: Vec<Bucket>,
    /// The visitor's last block: detection type and time, ms.
    pub memory: Option<(String, i64)>,
    /// The visitor's blacklist entry (its last block), whose `block_expires_ms` may still
    /// be ahead: a blocked visitor stays blocked whatever its fingerprint or IP.
    pub entry: Option<BlacklistEntry>,
}

/// A block to record.
#[derive(Debug, Clone)]
pub struct Block {
    pub request_id: String,
    /// The visitor the request was resolved to: recorded on the entries (an erasure finds
    /// them by it), blocked itself only with `blocks_visitor`.
    pub visitor_id: Option<String>,
    /// Whether the visitor's own block (`BLV`) is written: only for a visitor the request
    /// proved — named by the signed domainprint it carried, or created by it — and never for
    /// a block of [`BlockScope::Network`]. A visitor found by its fingerprint is one an
    /// attacker can name.
    pub blocks_visitor: bool,
    /// Which identifiers the evidence is about ([`block_scope`]).
    pub scope: BlockScope,
    pub detection_type: String,
    pub reason: String,
    /// JSON of the risk breakdown.
    pub breakdown_json: String,
    pub score: f64,
}

/// What a block fired by `trigger` (`None`: the composite score alone) may blacklist: the
/// network's entries for evidence about a network — session hopping (many visitors behind one
/// address and JA4) and credential stuffing (many logins of one JA4, on one address) — and the
/// client's for everything else, whose evidence is the request itself or the history its own
/// proof names.
pub fn block_scope(trigger: Option<Trigger>) -> BlockScope {
    match trigger {
        Some(Trigger::Ja4SessionHopping | Trigger::CredentialStuffing) => BlockScope::Network,
        _ => BlockScope::Client,
    }
}

/// Whether a request proves an **established** visitor: a signed domainprint of ours
/// (current or previous key) issued at least `after_secs` ago (`now_ms` and the issue time in
/// ms since the epoch). "NAT is normal": such a request is judged on its own visitor's
/// history, not on the crowd behind its address — it is not counted into, scored by or
/// stopped by the network's session-hopping cluster or network blacklist entries (the login
/// counter skips any login with a signed domainprint, whatever its age). A hopper or a stuffer has no such history: each of its identities is new, and
/// ageing a stock of domainprints costs it the wait and leaves each one's own history to judge.
pub fn established(domainprint: &crate::identity::domainprint::Presented, now_ms: i64, after_secs: u64) -> bool {
    let after_ms = i64::try_from(after_secs).unwrap_or(i64::MAX).saturating_mul(1000);
    domainprint
        .verified()
        .and_then(|(value, _)| crate::identity::domainprint::DomainprintKeys::issued_ms(value))
        .is_some_and(|issued| now_ms.saturating_sub(issued) >= after_ms)
}

/// Whether a blacklist entry blocks a network (an address, a JA4 on an address, a JA4 across
/// the organization) rather than one client: such an entry stops everyone behind the address
/// but an [`established`] visitor.
pub fn blocks_a_network(entry: &BlacklistEntry) -> bool {
    matches!(entry.identifier_kind(), "ip" | "ja4" | "ja4_network")
}

/// Which aggregate a first-read key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The JA4 + network cluster.
    Ja4Net,
    /// The JA4 across the organization.
    Ja4,
    /// The IP.
    Ip,
}

/// The keys of the first read round, `(pk, sk)`: the blacklist entries of the identifiers,
/// then the 5-minute buckets of the JA4 + network cluster (its cluster window), of the JA4
/// (the longer of the cluster and extended windows) and of the IP (the IP-rate window), and
/// with [`Identifiers::visitor`] that visitor's [`visitor_read_keys`].
pub fn first_read_keys(ids: &Identifiers, now_ms: i64, config: &FraudConfig) -> Vec<(String, String)> {
    let hopping = &config.components.ja4_session_hopping;
    let mut keys: Vec<(String, String)> = ids
        .blacklist_keys()
        .into_iter()
        .map(|k| (k, crate::schema::BLACKLIST_SK.to_string()))
        .collect();
    for (key, window) in [
        (ids.ja4net_key(), hopping.cluster_window_secs),
        (
            ids.ja4_key(),
            hopping.cluster_window_secs.max(hopping.extended_window_secs),
        ),
        (ids.ip_key(), config.components.ip_rate.window_secs),
    ] {
        if let Some(key) = key {
            for start in keys::bucket_starts(now_ms, window, SHORT_BUCKET_SECS) {
                keys.push((key.clone(), crate::schema::bucket_sk(start)));
            }
        }
    }
    if let Some(visitor) = &ids.visitor {
        keys.extend(visitor_read_keys(&ids.organization_id, visitor, now_ms));
    }
    keys
}

/// True when `pk` is a partition of [`Identifiers::visitor`]'s history (a key of
/// [`visitor_read_keys`]).
pub fn is_visitor_partition(ids: &Identifiers, pk: &str) -> bool {
    ids.visitor.as_deref().is_some_and(|v| {
        pk == crate::schema::visitor_aggregate_pk(&ids.organization_id, v)
            || pk == crate::schema::visitor_block_pk(&ids.organization_id, v)
    })
}

/// Which aggregate of `ids` the partition key `pk` is, if any.
pub fn aggregate_of(ids: &Identifiers, pk: &str) -> Option<Aggregate> {
    let is = |key: Option<String>| key.as_deref() == Some(pk);
    if is(ids.ja4net_key()) {
        Some(Aggregate::Ja4Net)
    } else if is(ids.ja4_key()) {
        Some(Aggregate::Ja4)
    } else if is(ids.ip_key()) {
        Some(Aggregate::Ip)
    } else {
        None
    }
}

/// The keys of the visitor read round, `(pk, sk)`: the visitor's hourly buckets of the last
/// day and its block.
pub fn visitor_read_keys(org: &str, visitor: &str, now_ms: i64) -> Vec<(String, String)> {
    let vk = crate::schema::visitor_aggregate_pk(org, visitor);
    let mut keys: Vec<(String, String)> = keys::bucket_starts(now_ms, DAY_WINDOW_SECS, HOUR_BUCKET_SECS)
        .into_iter()
        .map(|b| (vk.clone(), crate::schema::bucket_sk(b)))
        .collect();
    keys.push((
        crate::schema::visitor_block_pk(org, visitor),
        crate::schema::BLACKLIST_SK.into(),
    ));
    keys
}

/// The expiry (TTL, Unix seconds) of the `size`-second bucket starting at `start`.
pub fn aggregate_expiry(start: i64, size: i64) -> i64 {
    start.saturating_add(size).saturating_add(AGGREGATE_GRACE_SECS)
}

/// What a new block of a request's identifiers is: its offenses, its end and its items'
/// expiries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTerms {
    /// The offenses in the window, this one last, ms.
    pub offenses: Vec<i64>,
    /// When the block ends, ms.
    pub until_ms: i64,
    /// TTL of the blacklist entries, Unix seconds: the block's end plus the offense window (an
    /// entry remembers its offenses that long).
    pub entry_expiry: i64,
    /// TTL of the visitor's block: at least the repeat-offender memory.
    pub memory_expiry: i64,
    /// TTL of the forensic record.
    pub forensic_expiry: i64,
}

impl BlockTerms {
    /// The terms with every expiry at most `cap` (the organization's retention): no item of
    /// the block outlives it.
    pub fn capped(mut self, cap: i64) -> Self {
        self.entry_expiry = self.entry_expiry.min(cap);
        self.memory_expiry = self.memory_expiry.min(cap);
        self.forensic_expiry = self.forensic_expiry.min(cap);
        self
    }
}

/// The progressive timeout (1 h, 4 h, 8 h, 12 h, then
/// 24 h by the offenses of the last 24 h, in `bl`): the offenses of the `previous` entries
/// within the window, deduplicated, plus this one at `now_ms` pick the rung of the ladder.
pub fn block_terms(previous: &[BlacklistEntry], now_ms: i64, bl: &RepeatOffenderConfig) -> BlockTerms {
    let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
    let window_start = now_ms.saturating_sub(secs(bl.offense_window_secs).saturating_mul(1000));
    let mut offenses: Vec<i64> = previous
        .iter()
        .flat_map(|e| e.offenses.iter().copied())
        .filter(|t| *t >= window_start)
        .collect();
    offenses.sort_unstable();
    offenses.dedup();
    offenses.push(now_ms);
    // The configuration holds at least one rung (`RepeatOffenderConfig::check`).
    let rung = (offenses.len() - 1).min(bl.timeouts_secs.len().saturating_sub(1));
    let timeout = bl.timeouts_secs.get(rung).copied().unwrap_or(0);
    let until_ms = now_ms.saturating_add(secs(timeout).saturating_mul(1000));
    let entry_expiry = (until_ms / 1000).saturating_add(secs(bl.offense_window_secs));
    BlockTerms {
        offenses,
        until_ms,
        entry_expiry,
        memory_expiry: entry_expiry.max((now_ms / 1000).saturating_add(secs(bl.memory_secs))),
        forensic_expiry: entry_expiry.saturating_add(FORENSIC_RETENTION_SECS),
    }
}

/// Whether the visitor's `register` ([`Register::of`], computed once per request) is to be
/// raised in the sketch of the bucket starting at `start` (Unix seconds), given the buckets the
/// first read round returned for that aggregate: `None` when the bucket read holds it at least
/// as high already, so the event writes nothing there. A bucket not read (new, or the read
/// failed) is raised.
pub fn register_to_raise(read: &[Bucket], start: i64, register: Register) -> Option<Register> {
    match read.iter().find(|bk| bk.start == start) {
        Some(bucket) if !bucket.visitors.would_raise(register) => None,
        _ => Some(register),
    }
}

/// The JA4 + network and JA4 sketch raises of an event of `visitor` at `now_ms`
/// ([`register_to_raise`] against the first read round), split in two: the ones the edge
/// writes now, and — during the first `edge_raise_after_secs` of the 5-minute bucket, when
/// nearly every new visitor raises a register of the bucket's still empty sketch and one key
/// would take more than a thousand writes a second at 5,000 events a second — the ones the
/// event carries for the stream processor, which writes a batch's raises of one bucket in one
/// update (docs/performance.md, "Behavioral aggregates").
pub fn sketch_raises(
    ids: &Identifiers,
    visitor: &str,
    established: bool,
    first: &FirstRead,
    now_ms: i64,
    config: &FraudConfig,
) -> (Vec<SketchRaise>, Vec<SketchRaise>) {
    let start = keys::bucket_start(now_ms, SHORT_BUCKET_SECS);
    let own = Register::of(visitor);
    // An established visitor is not counted into its network's cluster (see [`established`]).
    let cluster = if established { None } else { ids.ja4net_key() };
    let raises: Vec<SketchRaise> = [(cluster, &first.ja4net), (ids.ja4_key(), &first.ja4)]
        .into_iter()
        .filter_map(|(key, read)| {
            let register = register_to_raise(read, start, own)?;
            Some(SketchRaise {
                pk: key?,
                start,
                index: register.index,
                rank: register.rank,
            })
        })
        .collect();
    let age_secs = (now_ms / 1000).saturating_sub(start);
    let after = i64::try_from(config.components.ja4_session_hopping.edge_raise_after_secs).unwrap_or(i64::MAX);
    if age_secs < after {
        (Vec::new(), raises)
    } else {
        (raises, Vec::new())
    }
}
/// Turns what the store returned into [`Observations`], this request included: the JA4 +
/// network cluster's visitors in its window, the JA4's visitors in the rapid and extended
/// windows, the IP's events in the IP-rate window, and the visitor's submissions and
/// submission IPs of the last day and attempts of the last hour.
#[allow(clippy::too_many_arguments)]
pub fn observations(
    first: &FirstRead,
    visitor: &VisitorRead,
    visitor_id: &str,
    ip: Option<IpAddr>,
    is_submission: bool,
    now_ms: i64,
    config: &FraudConfig,
) -> Observations {
    let c = &config.components;
    let now = now_ms / 1000;
    let within =
        |bk: &Bucket, window: u64, size: i64| bk.start.saturating_add(size) > now.saturating_sub(window as i64);
    let own = Register::of(visitor_id);
    let union = |buckets: &[Bucket], window: u64| {
        let mut sketch = Sketch::new();
        for bk in buckets.iter().filter(|bk| within(bk, window, SHORT_BUCKET_SECS)) {
            sketch.merge(&bk.visitors);
        }
        sketch.raise(own);
        sketch.estimate()
    };
    let cluster = union(&first.ja4net, c.ja4_session_hopping.cluster_window_secs);
    let cluster_first_ms = first
        .ja4net
        .iter()
        .filter(|bk| within(bk, c.ja4_session_hopping.cluster_window_secs, SHORT_BUCKET_SECS))
        .filter_map(|bk| bk.first_ms)
        .min();
    let global = |window: u64| union(&first.ja4, window);
    let ip_events = first
        .ip
        .iter()
        .filter(|bk| within(bk, c.ip_rate.window_secs, SHORT_BUCKET_SECS))
        .map(|bk| bk.n)
        .sum::<u64>()
        .saturating_add(1);
    let mine = u64::from(is_submission);
    let day = visitor
        .buckets
        .iter()
        .filter(|bk| within(bk, DAY_WINDOW_SECS, HOUR_BUCKET_SECS));
    let submissions_24h = day.clone().map(|bk| bk.submissions).sum::<u64>().saturating_add(mine);
    let attempts_1h = visitor
        .buckets
        .iter()
        .filter(|bk| within(bk, HOUR_WINDOW_SECS, HOUR_BUCKET_SECS))
        .map(|bk| bk.submissions)
        .sum::<u64>()
        .saturating_add(mine);
    let mut ips: BTreeSet<String> = day.flat_map(|bk| bk.ips.iter().cloned()).collect();
    if is_submission {
        if let Some(ip) = ip {
            ips.insert(ip.to_string());
        }
    }
    Observations {
        cluster_visitors: cluster,
        cluster_first_ms: cluster_first_ms.or(Some(now_ms)),
        rapid_global_visitors: global(c.ja4_session_hopping.rapid_window_secs),
        extended_global_visitors: global(c.ja4_session_hopping.extended_window_secs),
        ip_events,
        is_submission,
        visitor_submissions_24h: submissions_24h,
        visitor_attempts_1h: attempts_1h,
        visitor_ips_24h: ips,
        token: None,
        token_uses: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;
    const NOW: i64 = 1_800_000_000_000;

    fn entry(offenses: &[i64]) -> BlacklistEntry {
        BlacklistEntry {
            pk: "ORG#o#BL#IP#198.51.100.7".into(),
            detection_type: "ja4_mismatch".into(),
            reason: String::new(),
            blocked_at_ms: 0,
            block_expires_ms: 0,
            offenses: offenses.to_vec(),
        }
    }

    #[test]
    fn each_offense_in_the_window_climbs_the_timeout_ladder_and_the_last_rung_holds() {
        let bl = RepeatOffenderConfig::default();
        let first = block_terms(&[], NOW, &bl);
        assert_eq!(first.offenses, [NOW]);
        assert_eq!(first.until_ms, NOW + HOUR_MS);
        // Offenses seen on two identifiers count once.
        let second = block_terms(&[entry(&[NOW - HOUR_MS]), entry(&[NOW - HOUR_MS])], NOW, &bl);
        assert_eq!(second.until_ms, NOW + 4 * HOUR_MS);
        let many: Vec<i64> = (1..=9).map(|h| NOW - h * HOUR_MS).collect();
        assert_eq!(block_terms(&[entry(&many)], NOW, &bl).until_ms, NOW + 24 * HOUR_MS);
        // An offense older than the window is forgotten.
        let old = block_terms(&[entry(&[NOW - 25 * HOUR_MS])], NOW, &bl);
        assert_eq!(old.until_ms, NOW + HOUR_MS);
        // Entries outlive the block by the window; the visitor's memory at least its span;
        // the forensic record a year more.
        assert_eq!(first.entry_expiry, (NOW + HOUR_MS) / 1000 + 86_400);
        assert_eq!(first.memory_expiry, first.entry_expiry);
        assert_eq!(first.forensic_expiry, first.entry_expiry + 365 * 86_400);
    }

    #[test]
    fn windows_sum_only_the_buckets_they_overlap_and_count_this_request() {
        let config = FraudConfig::default();
        let now_s = NOW / 1000;
        let hour = |ago: i64, subs: u64, ip: &str| Bucket {
            start: keys::bucket_start(NOW, HOUR_BUCKET_SECS) - ago * HOUR_BUCKET_SECS,
            submissions: subs,
            ips: BTreeSet::from([ip.to_string()]),
            ..Bucket::default()
        };
        let visitor = VisitorRead {
            // This hour, 5 h ago, and 30 h ago (outside the day).
            buckets: vec![
                hour(0, 1, "192.0.2.1"),
                hour(5, 2, "192.0.2.2"),
                hour(30, 7, "192.0.2.3"),
            ],
            ..VisitorRead::default()
        };
        let ip_bucket = |ago_secs: i64, n: u64| Bucket {
            start: (now_s - ago_secs).div_euclid(SHORT_BUCKET_SECS) * SHORT_BUCKET_SECS,
            n,
            ..Bucket::default()
        };
        let first = FirstRead {
            ip: vec![ip_bucket(0, 2), ip_bucket(3 * 3600, 40)],
            ..FirstRead::default()
        };
        let ip = Some("192.0.2.9".parse().unwrap());
        let o = observations(&first, &visitor, "v1", ip, true, NOW, &config);
        assert_eq!(o.visitor_submissions_24h, 1 + 2 + 1);
        assert_eq!(o.visitor_attempts_1h, 1 + 1);
        assert_eq!(o.visitor_ips_24h.len(), 3, "{:?}", o.visitor_ips_24h);
        assert_eq!(o.ip_events, 2 + 1, "only the IP-rate window's bucket and this request");
        assert_eq!(o.cluster_visitors, 1);
        assert_eq!(o.cluster_first_ms, Some(NOW));
        let page_view = observations(&first, &visitor, "v1", ip, false, NOW, &config);
        assert_eq!(page_view.visitor_submissions_24h, 3);
        assert_eq!(page_view.visitor_ips_24h.len(), 2);
    }

    #[test]
    fn the_first_read_asks_for_every_bucket_of_each_window_and_names_their_aggregate() {
        let ids = Identifiers {
            organization_id: "o".into(),
            fingerprint: Some("fp".into()),
            ip: Some("198.51.100.7".parse().unwrap()),
            ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
            ja4_is_tool: false,
            visitor: None,
            address: None,
            retention_days: None,
        };
        let config = FraudConfig::default();
        let keys = first_read_keys(&ids, NOW, &config);
        assert_eq!(keys.iter().filter(|(_, sk)| sk == "BL").count(), 3);
        for (pk, sk) in keys.iter().filter(|(_, sk)| sk != "BL") {
            assert!(sk.starts_with("B#"), "{sk}");
            assert!(aggregate_of(&ids, pk).is_some(), "{pk}");
        }
        let ip_buckets = keys
            .iter()
            .filter(|(pk, _)| aggregate_of(&ids, pk) == Some(Aggregate::Ip))
            .count();
        let window = config.components.ip_rate.window_secs as i64;
        assert_eq!(ip_buckets as i64, window / SHORT_BUCKET_SECS + 1);
        assert_eq!(visitor_read_keys("o", "v1", NOW).len(), 25 + 1);
    }
}
