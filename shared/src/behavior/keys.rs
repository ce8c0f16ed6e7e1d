//! The identifiers a request's behavioral items are keyed by ([`Identifiers`]): which
//! blacklist entries it is checked against and which a block of it writes, and its aggregates.
//! The keys themselves are built in [`crate::schema`].
//!
//! What a block may blacklist is what its evidence is about ([`BlockScope`]), and every
//! entry is something the blocked client cannot hand to another visitor: a fingerprint is a
//! value any client can send, so its entry is scoped to the IP (or /64) it was blocked on; a
//! JA4 is shared by every user of a browser build, so its entry is scoped the same way, unless
//! it is a known tool's (`tool_ja4`), blocked across the organization. The visitor's own block
//! (`BLV`) is written only for a visitor the request proved (a signed domainprint it carried,
//! or a visitor it created): a visitor found by its fingerprint is one an attacker can name.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::privacy::{address_scope as network_of, AddressLabels};
use crate::schema;

/// Size of the JA4 and IP buckets, seconds.
pub const SHORT_BUCKET_SECS: i64 = 300;
/// Size of the visitor buckets, seconds.
pub const HOUR_BUCKET_SECS: i64 = 3600;

/// The identifiers of a request the behavioral layers key on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifiers {
    pub organization_id: String,
    pub fingerprint: Option<String>,
    pub ip: Option<IpAddr>,
    pub ja4: Option<String>,
    /// True when the JA4 is a known tool's (`tool_ja4`): its blacklist entry may cover the
    /// organization. Any other JA4 — a browser's, known or not — is blacklisted on the
    /// network only, since every user of that build shares it.
    pub ja4_is_tool: bool,
    /// The visitor a correctly signed domainprint names (the signature makes it
    /// trustworthy): its history is read in the first round, with the rest.
    pub visitor: Option<String>,
    /// How `ip` is written in keys when the organization minimizes addresses
    /// ([`crate::privacy`]); `None`: the address itself.
    pub address: Option<AddressLabels>,
    /// The organization's retention, days: no item written for these identifiers lives
    /// longer ([`Identifiers::retention_cap`]); `None`: the items' own lifetimes.
    pub retention_days: Option<u32>,
}

impl Identifiers {
    /// How the address is written in keys.
    pub fn labels(&self) -> Option<Cow<'_, AddressLabels>> {
        match (&self.address, self.ip) {
            (Some(a), _) => Some(Cow::Borrowed(a)),
            (None, Some(ip)) => Some(Cow::Owned(AddressLabels {
                ip: ip.to_string(),
                scope: network_of(ip),
                network: crate::identity::corroborate::network_of(ip),
            })),
            (None, None) => None,
        }
    }

    fn net(&self) -> Option<String> {
        self.labels().map(|l| l.scope.clone())
    }

    /// The latest expiry (TTL, Unix seconds) an item written at `now_ms` may have: `now` plus
    /// the organization's retention ([`i64::MAX`] without one).
    pub fn retention_cap(&self, now_ms: i64) -> i64 {
        self.retention_days.map_or(i64::MAX, |d| {
            (now_ms / 1000).saturating_add(i64::from(d).saturating_mul(86_400))
        })
    }

    /// The blacklist partition keys a request is checked against: the fingerprint on this
    /// network, the IP, the JA4 on this network and, for a known tool's JA4, the JA4 across
    /// the organization.
    pub fn blacklist_keys(&self) -> Vec<String> {
        let mut keys = self.block_keys(BlockScope::Client);
        if self.ja4_is_tool {
            if let Some(k) = self.ja4_network_key() {
                keys.push(k);
            }
        }
        keys
    }

    /// The blacklist partition keys a block of `scope` writes: for [`BlockScope::Network`]
    /// the IP and the JA4 on it; for [`BlockScope::Client`] also the fingerprint on this
    /// network, and a known tool's JA4 across the organization in place of the JA4 on the
    /// network. Nothing without an address but a tool's JA4.
    pub fn block_keys(&self, scope: BlockScope) -> Vec<String> {
        let org = self.organization_id.as_str();
        let mut keys = Vec::new();
        let net = self.net();
        if scope == BlockScope::Client {
            if let (Some(fp), Some(net)) = (&self.fingerprint, &net) {
                keys.push(schema::fingerprint_blacklist_pk(org, fp, net));
            }
        }
        if let Some(l) = self.labels() {
            keys.push(schema::ip_blacklist_pk(org, &l.ip));
        }
        match (scope, self.ja4_is_tool, &self.ja4) {
            (BlockScope::Client, true, Some(ja4)) => keys.push(schema::ja4_blacklist_pk(org, ja4)),
            _ => keys.extend(self.ja4_network_key()),
        }
        keys
    }

    /// The blacklist key of the JA4 on this network.
    fn ja4_network_key(&self) -> Option<String> {
        Some(schema::ja4_network_blacklist_pk(
            &self.organization_id,
            self.ja4.as_ref()?,
            &self.net()?,
        ))
    }

    /// The JA4 + network aggregate (the session-hopping cluster), when both are known.
    pub fn ja4net_key(&self) -> Option<String> {
        Some(schema::ja4_network_aggregate_pk(
            &self.organization_id,
            self.ja4.as_ref()?,
            &self.net()?,
        ))
    }

    /// The JA4 aggregate across the organization.
    pub fn ja4_key(&self) -> Option<String> {
        Some(schema::ja4_aggregate_pk(&self.organization_id, self.ja4.as_ref()?))
    }

    /// The IP aggregate (the IP rate).
    pub fn ip_key(&self) -> Option<String> {
        Some(schema::ip_aggregate_pk(&self.organization_id, &self.labels()?.ip))
    }
}

/// Which identifiers a block's evidence is about, and so which it may blacklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockScope {
    /// Evidence about a network — many visitors or logins behind one address and JA4
    /// (session hopping, credential stuffing): the address and the JA4 on it; never a
    /// fingerprint or a visitor, which others can present.
    Network,
    /// Evidence about the client that sent the request (its User-Agent, its transport, its
    /// token, its own history): the address, the JA4 (a known tool's across the
    /// organization, else on the network) and the fingerprint on the network.
    Client,
}

/// The start (Unix seconds) of the `size`-second bucket holding `now_ms`.
pub fn bucket_start(now_ms: i64, size: i64) -> i64 {
    (now_ms / 1000).div_euclid(size) * size
}

/// The starts of the `size`-second buckets a window of `window_secs` ending at `now_ms`
/// overlaps, oldest first: a window is the union of its buckets, so a 5-minute window reads the
/// current and the previous 5-minute bucket.
pub fn bucket_starts(now_ms: i64, window_secs: u64, size: i64) -> Vec<i64> {
    let now = now_ms / 1000;
    let window = i64::try_from(window_secs).unwrap_or(i64::MAX);
    let from = now.saturating_sub(window).div_euclid(size) * size;
    let to = now.div_euclid(size) * size;
    (0..).map(|i| from + i * size).take_while(|b| *b <= to).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_the_kind_of_identifier_it_blocks_never_its_value() {
        let ids = |ja4_is_tool: bool, ip: &str| Identifiers {
            organization_id: "org_demo".into(),
            fingerprint: Some("fpAbc".into()),
            ip: Some(ip.parse().unwrap()),
            ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
            ja4_is_tool,
            visitor: None,
            address: None,
            retention_days: None,
        };
        let kinds = |ids: Identifiers| -> Vec<&'static str> {
            ids.blacklist_keys()
                .iter()
                .map(|k| schema::identifier_kind(k))
                .collect()
        };
        assert_eq!(
            kinds(ids(true, "198.51.100.7")),
            ["fingerprint_network", "ip", "ja4", "ja4_network"]
        );
        assert_eq!(
            kinds(ids(false, "198.51.100.7")),
            ["fingerprint_network", "ip", "ja4_network"]
        );
        assert_eq!(
            kinds(ids(false, "2001:db8::7")),
            ["fingerprint_network", "ip", "ja4_network"]
        );
        assert_eq!(schema::identifier_kind("ORG#o#BL#FP#fpAbc"), "unknown");
        assert_eq!(
            schema::identifier_kind(&schema::visitor_block_pk("org_demo", "v-1")),
            "visitor"
        );
        assert_eq!(schema::identifier_kind("REQ#x"), "unknown");
    }

    #[test]
    fn a_block_writes_only_what_its_evidence_is_about() {
        let ids = |ja4_is_tool: bool, ip: Option<&str>| Identifiers {
            organization_id: "o".into(),
            fingerprint: Some("fpVictim".into()),
            ip: ip.map(|i| i.parse().unwrap()),
            ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
            ja4_is_tool,
            visitor: None,
            address: None,
            retention_days: None,
        };
        let client = ids(false, Some("198.51.100.7")).block_keys(BlockScope::Client);
        assert_eq!(
            client,
            [
                "ORG#o#BL#FP#fpVictim#198.51.100.7",
                "ORG#o#BL#IP#198.51.100.7",
                "ORG#o#BL#JA4#t13d1516h2_8daaf6152771_02713d6af862#198.51.100.7"
            ]
        );
        // Network evidence: the network's entries only, never the fingerprint.
        let network = ids(true, Some("198.51.100.7")).block_keys(BlockScope::Network);
        assert_eq!(
            network,
            [
                "ORG#o#BL#IP#198.51.100.7",
                "ORG#o#BL#JA4#t13d1516h2_8daaf6152771_02713d6af862#198.51.100.7"
            ]
        );
        // A known tool's JA4 on client evidence covers the organization.
        let tool = ids(true, Some("198.51.100.7")).block_keys(BlockScope::Client);
        assert_eq!(tool[2], "ORG#o#BL#JA4#t13d1516h2_8daaf6152771_02713d6af862");
        // Without an address, no fingerprint entry exists: it would name every visitor
        // presenting the value.
        assert!(ids(false, None).block_keys(BlockScope::Client).is_empty());
        // Every key written is one the reads check.
        for tool in [false, true] {
            let read = ids(tool, Some("2001:db8::7")).blacklist_keys();
            for scope in [BlockScope::Client, BlockScope::Network] {
                for k in ids(tool, Some("2001:db8::7")).block_keys(scope) {
                    assert!(read.contains(&k), "{k} is written but never read");
                }
            }
        }
    }

    #[test]
    fn a_window_reads_every_bucket_it_overlaps() {
        // 12:07:30 → the 5-minute window overlaps 12:00 and 12:05.
        let now_ms = (12 * 3600 + 7 * 60 + 30) * 1000;
        assert_eq!(bucket_starts(now_ms, 300, 300), [12 * 3600, 12 * 3600 + 300]);
        // A window on a bucket boundary still reads the bucket that ends there.
        assert_eq!(bucket_starts(600_000, 300, 300), [300, 600]);
        // 24 hourly buckets and the current one.
        assert_eq!(bucket_starts(now_ms, 86_400, 3600).len(), 25);
        assert_eq!(bucket_start(now_ms, 3600), 12 * 3600);
        assert_eq!(
            schema::bucket_start_of(&schema::bucket_sk(1_700_000_100)),
            1_700_000_100
        );
        assert_eq!(schema::bucket_start_of("BL"), 0);
    }
}
