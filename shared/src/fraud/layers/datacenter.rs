//! Layer 5, VPN / datacenter (seed `000_…`, max 40): the viewer's ASN
//! (`CloudFront-Viewer-ASN`) in the datacenter list — the seed's (Cloudflare, AWS, Google
//! Cloud, Azure, DigitalOcean, Equinix) plus X4BNet's (vendored in `shared/data/asn/`).
//! Privacy relays (iCloud Private Relay) are reported as such and score nothing.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::fraud::config::{max, FraudConfig};
use crate::fraud::ua::Engine;
use crate::fraud::{LayerResult, ScoringInput};

/// The vendored X4BNet datacenter ASN list.
const X4BNET: &str = include_str!("../../../data/asn/x4bnet-datacenter-asn.txt");

static DATACENTER_ASNS: LazyLock<HashSet<u32>> = LazyLock::new(|| {
    X4BNET
        .lines()
        .filter_map(|l| l.trim().strip_prefix("AS")?.split_whitespace().next()?.parse().ok())
        .collect()
});

/// True when `asn` is in the vendored list or the configured extras.
pub fn is_datacenter(asn: u32, config: &FraudConfig) -> bool {
    DATACENTER_ASNS.contains(&asn) || config.layers.datacenter.extra_asns.contains(&asn)
}

/// Scores layer 5.
pub fn score(input: &ScoringInput, config: &FraudConfig) -> LayerResult {
    let c = &config.layers.datacenter;
    let mut r = LayerResult::default();
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
    if is_datacenter(asn, config) {
        r.add(
            "datacenter_asn",
            c.score,
            format!("AS{asn} is a datacenter / hosting network"),
        );
    }
    r.cap(max::DATACENTER)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vendored_list_is_loaded() {
        assert!(super::DATACENTER_ASNS.len() > 800);
        assert!(super::DATACENTER_ASNS.contains(&7979));
    }
}
