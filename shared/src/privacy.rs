//! IP minimization (an organization's `ip_storage`, [`IpStorage`]): what is written about a
//! visitor's address. Scoring and the behavioral layers compare addresses as they arrive, in
//! memory; what reaches the table is decided here.
//!
//! | `ip_storage` | the event's `context.ip` | keys of the items keyed by the address (blacklist, IP-rate and JA4-on-network aggregates, login counter) and the identity's network |
//! |---|---|---|
//! | `full` | the address | the address, its /64 (IPv6) and its network (/24, /48) |
//! | `truncated` | IPv4 /24, IPv6 /48 (`203.0.113.0`, `2001:db8:1::`) | keyed hashes of them |
//! | `hashed` | a keyed hash | keyed hashes of them |
//!
//! The keyed hash is HMAC-SHA-256 under a key derived from the domainprint secret, first 16
//! bytes in hex, prefixed `h:` — equal addresses stay equal within the deployment (so a
//! blacklist entry still matches the next request of its address) and cannot be read back.
//! Under minimization the labels used in keys are kept on the event (`context.address`), so
//! an erasure finds the items they key.

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::org::IpStorage;

/// The purpose the address key is derived for ([`crate::identity::domainprint::DomainprintKeys::derive`]).
pub const ADDRESS_KEY_PURPOSE: &str = "ip-minimization";

/// The texts an address is written as in item keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AddressLabels {
    /// The address (blacklist entries, IP-rate aggregates).
    pub ip: String,
    /// The address, or its /64 for IPv6 (JA4-on-network aggregates and blacklist scope, the
    /// login counter).
    pub scope: String,
    /// Its network, IPv4 /24 or IPv6 /48 (the identity's network entries).
    pub network: String,
}

/// How one organization writes addresses.
#[derive(Clone)]
pub struct AddressPolicy {
    storage: IpStorage,
    key: [u8; 32],
}

impl std::fmt::Debug for AddressPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressPolicy").field("storage", &self.storage).finish()
    }
}

impl AddressPolicy {
    /// The policy of `storage` with the deployment's address `key`.
    pub fn new(storage: IpStorage, key: [u8; 32]) -> Self {
        AddressPolicy { storage, key }
    }

    /// Whether addresses are minimized (anything but `full`).
    pub fn minimizes(&self) -> bool {
        self.storage != IpStorage::Full
    }

    /// The keyed hash of `text`: `h:` and 32 hex digits.
    pub fn hash(&self, text: &str) -> String {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        m.update(text.as_bytes());
        let d = m.finalize().into_bytes();
        format!("h:{}", hex::encode(&d[..16]))
    }

    /// What the event's `context.ip` holds for `ip`.
    pub fn stored(&self, ip: IpAddr) -> String {
        match self.storage {
            IpStorage::Full => ip.to_string(),
            IpStorage::Truncated => truncate(ip).to_string(),
            IpStorage::Hashed => self.hash(&ip.to_string()),
        }
    }

    /// The labels of `ip` in item keys.
    pub fn labels(&self, ip: IpAddr) -> AddressLabels {
        let full = AddressLabels {
            ip: ip.to_string(),
            scope: address_scope(ip),
            network: crate::identity::corroborate::network_of(ip),
        };
        if !self.minimizes() {
            return full;
        }
        AddressLabels {
            ip: self.hash(&full.ip),
            scope: self.hash(&full.scope),
            network: self.hash(&full.network),
        }
    }
}

/// The address one household or host uses: the IPv4 address itself, or the IPv6 /64 (the
/// scope of the IP-rate, JA4-on-network and login counters, and of a browser JA4's blacklist
/// entry).
pub fn address_scope(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// IPv4 to its /24, IPv6 to its /48 (the rest zero).
pub fn truncate(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(storage: IpStorage) -> AddressPolicy {
        AddressPolicy::new(storage, [7u8; 32])
    }

    #[test]
    fn each_setting_stores_what_it_says() {
        let v4: IpAddr = "203.0.113.77".parse().unwrap();
        let v6: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(policy(IpStorage::Full).stored(v4), "203.0.113.77");
        assert_eq!(policy(IpStorage::Truncated).stored(v4), "203.0.113.0");
        assert_eq!(policy(IpStorage::Truncated).stored(v6), "2001:db8:1::");
        let h = policy(IpStorage::Hashed).stored(v4);
        assert!(h.starts_with("h:") && h.len() == 34 && !h.contains("203"), "{h}");
        assert_eq!(h, policy(IpStorage::Hashed).stored(v4), "stable");
        assert_ne!(h, AddressPolicy::new(IpStorage::Hashed, [8u8; 32]).stored(v4), "keyed");
    }

    #[test]
    fn minimized_labels_never_hold_the_address_and_keep_equality() {
        let a: IpAddr = "203.0.113.77".parse().unwrap();
        let b: IpAddr = "203.0.113.78".parse().unwrap();
        let full = policy(IpStorage::Full).labels(a);
        assert_eq!(
            (full.ip.as_str(), full.network.as_str()),
            ("203.0.113.77", "203.0.113.0/24")
        );
        for storage in [IpStorage::Truncated, IpStorage::Hashed] {
            let p = policy(storage);
            let (la, lb) = (p.labels(a), p.labels(b));
            for l in [&la.ip, &la.scope, &la.network] {
                assert!(l.starts_with("h:") && !l.contains("203.0.113"), "{l}");
            }
            assert_ne!(la.ip, lb.ip);
            assert_eq!(la.network, lb.network, "one /24");
            assert_eq!(la, p.labels(a));
        }
    }
}
