//! How common a fingerprint, a network or a fingerprint on a network is: per organization,
//! capped sets of the distinct domainprints, networks and visitors that presented it, each
//! value kept as a 48-bit hash.
//!
//! Bounded at any traffic: a set holds at most `population_cap` hashes (16 by default, 9 bytes
//! each as a DynamoDB number), so an item stays under half a kilobyte; a request adds at most
//! one hash to each set, and only when its value is not in the set and the set is not full
//! (the write is conditioned on the set's size), so a fingerprint's items are written at most
//! `3 × cap` times for its population, whatever the traffic. Counts are exact below the cap
//! (48-bit hashes of a few values collide with a probability under 10⁻¹²) and read "at least
//! the cap" at it — enough for the corroboration model, whose thresholds are small counts.
//!
//! A client counts for what its own request carries: the domainprint it was answered with,
//! the network of its address, the visitor it resolved to; it cannot remove anything (sets
//! only grow, until the item's TTL), and flooding a fingerprint with values only makes it
//! common, which makes its matches merge less (a split, never a false merge).

use sha2::{Digest, Sha256};

/// Which set of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PopSet {
    /// Domainprints answered with the fingerprint.
    Domainprints,
    /// Networks the fingerprint was seen on.
    Networks,
    /// Visitors resolved with the fingerprint (or on the network).
    Visitors,
}

impl PopSet {
    /// The item attribute holding the set (a DynamoDB number set).
    pub fn attribute(self) -> &'static str {
        match self {
            PopSet::Domainprints => "pop_dp",
            PopSet::Networks => "pop_net",
            PopSet::Visitors => "pop_v",
        }
    }

    /// Every set, in attribute order.
    pub const ALL: [PopSet; 3] = [PopSet::Domainprints, PopSet::Networks, PopSet::Visitors];
}

/// The 48-bit hash a value is counted by: the first 6 bytes of SHA-256 of the set's attribute
/// name and the value (stable across processes and versions, which stored sets need).
pub fn hash48(set: PopSet, value: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(set.attribute().as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(&d[..6]);
    u64::from_be_bytes(b)
}

/// The sets of one item, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Population {
    /// Hashes of the domainprints counted ([`PopSet::Domainprints`]).
    pub domainprints: Vec<u64>,
    /// Hashes of the networks counted ([`PopSet::Networks`]).
    pub networks: Vec<u64>,
    /// Hashes of the visitors counted ([`PopSet::Visitors`]).
    pub visitors: Vec<u64>,
}

impl Population {
    /// The hashes of `set`.
    pub fn set(&self, set: PopSet) -> &[u64] {
        match set {
            PopSet::Domainprints => &self.domainprints,
            PopSet::Networks => &self.networks,
            PopSet::Visitors => &self.visitors,
        }
    }

    /// The hashes of `set`, to fill.
    pub fn set_mut(&mut self, set: PopSet) -> &mut Vec<u64> {
        match set {
            PopSet::Domainprints => &mut self.domainprints,
            PopSet::Networks => &mut self.networks,
            PopSet::Visitors => &mut self.visitors,
        }
    }

    /// Distinct values counted in `set` (at most the cap).
    pub fn count(&self, set: PopSet) -> u64 {
        self.set(set).len() as u64
    }

    /// Whether counting `value` in `set` would change it: the value is not counted yet and the
    /// set holds fewer than `cap` values.
    pub fn would_add(&self, set: PopSet, value: &str, cap: u16) -> Option<u64> {
        let h = hash48(set, value);
        let held = self.set(set);
        (held.len() < usize::from(cap) && !held.contains(&h)).then_some(h)
    }

    /// Counts `hash` in `set` unless present or full (what the conditional write does).
    pub fn add(&mut self, set: PopSet, hash: u64, cap: u16) -> bool {
        let held = self.set_mut(set);
        if held.len() >= usize::from(cap) || held.contains(&hash) {
            return false;
        }
        held.push(hash);
        true
    }
}

/// Hashes to add to one item's sets.
pub type Adds = Vec<(PopSet, u64)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_count_distinct_values_up_to_the_cap() {
        let mut p = Population::default();
        for i in 0..40 {
            let v = format!("198.51.{i}.0/24");
            if let Some(h) = p.would_add(PopSet::Networks, &v, 16) {
                assert!(p.add(PopSet::Networks, h, 16));
            }
            // The same value again counts nothing.
            assert_eq!(p.would_add(PopSet::Networks, &v, 16), None);
        }
        assert_eq!(p.count(PopSet::Networks), 16);
        assert_eq!(p.count(PopSet::Visitors), 0);
        assert!(!p.add(PopSet::Networks, 1, 16), "full");
    }

    #[test]
    fn hashes_are_48_bit_stable_and_per_set() {
        let h = hash48(PopSet::Visitors, "v1");
        assert_eq!(h, hash48(PopSet::Visitors, "v1"));
        assert!(h < 1 << 48);
        assert_ne!(h, hash48(PopSet::Domainprints, "v1"));
    }
}
