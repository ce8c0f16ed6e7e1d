//! `datacenter`, VPN / datacenter (layer 5 of the edge design's "8-Layer Fraud Detection", max 40): the viewer's ASN
//! (`CloudFront-Viewer-ASN`) in the datacenter list — the seed's (Cloudflare, AWS, Google
//! Cloud, Azure, DigitalOcean, Equinix) plus X4BNet's (vendored in `shared/data/asn/`).
//! Privacy relays (iCloud Private Relay) are reported as such and score nothing.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::ua::Engine;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score: the maximum of layer 5 in the edge design.
pub const MAX: f64 = 40.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatacenterConfig {
    pub score: f64,
    /// ASNs added to the vendored X4BNet list (the edge design names Cloudflare, AWS, Google Cloud,
    /// Azure, DigitalOcean, Equinix).
    pub extra_asns: Vec<u32>,
    /// ASNs of privacy relays (iCloud Private Relay's Akamai egress): reported as relays.
    pub privacy_relay_asns: Vec<u32>,
    /// ASNs that also carry iCloud Private Relay egress: an Apple device from them is
    /// reported as a relay rather than a datacenter.
    pub apple_relay_asns: Vec<u32>,
}

impl Default for DatacenterConfig {
    /// Seed "8-Layer Fraud Detection", layer 5: 40 (its maximum) for a datacenter ASN.
    fn default() -> Self {
        DatacenterConfig {
            score: 40.0,
            // Cloudflare, AWS (two), Google Cloud (two), Azure, DigitalOcean, Equinix Metal.
            extra_asns: vec![13335, 16509, 14618, 15169, 396982, 8075, 14061, 54825],
            privacy_relay_asns: vec![36183],
            apple_relay_asns: vec![13335, 54113],
        }
    }
}

impl DatacenterConfig {
    /// Checks the score against [`MAX`].
    ///
    /// # Errors
    /// A message when it is out of range.
    pub fn check(&self) -> Result<(), String> {
        in_range("layers.datacenter.score", self.score, MAX)
    }
}

/// The vendored X4BNet datacenter ASN list.
const X4BNET: &str = include_str!("../../../data/asn/x4bnet-datacenter-asn.txt");

static DATACENTER_ASNS: LazyLock<HashSet<u32>> = LazyLock::new(|| {
    X4BNET
        .lines()
        .filter_map(|l| l.trim().strip_prefix("AS")?.split_whitespace().next()?.parse().ok())
        .collect()
});

/// True when `asn` is in the vendored list or the configured extras.
pub fn is_datacenter(asn: u32, config: &DatacenterConfig) -> bool {
    DATACENTER_ASNS.contains(&asn) || config.extra_asns.contains(&asn)
}

/// Scores the component.
pub fn score(input: &ScoringInput, c: &DatacenterConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    let Some(asn) = input.asn else { return r };
    let apple = input.ua.as_ref().is_some_and(|u| u.engine == Engine::WebKit);
    if c.privacy_relay_asns.contains(&asn) || (apple && c.apple_relay_asns.contains(&asn)) {
        r.add(
            "privacy_relay",
            0.0,
            format!("AS{asn} carries a privacy relay (iCloud Private Relay)"),
        );
        return r;
    }
    if is_datacenter(asn, c) {
        r.add(
            "datacenter_asn",
            c.score,
            format!("AS{asn} is a datacenter / hosting network"),
        );
    }
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vendored_list_is_loaded() {
        assert!(super::DATACENTER_ASNS.len() > 800);
        assert!(super::DATACENTER_ASNS.contains(&7979));
    }
}
