//! `datacenter`, VPN / datacenter (max 40): the viewer's ASN
//! (`CloudFront-Viewer-ASN`) in the datacenter list — the big clouds (Cloudflare, AWS, Google
//! Cloud, Azure, DigitalOcean, Equinix) plus X4BNet's (vendored in `shared/data/asn/`).
//! Privacy relays (iCloud Private Relay) are reported as such and score nothing.

use crate::fraud::component::ComponentSettings;
use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::ua::Engine;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 40.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatacenterConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    pub score: f64,
    /// ASNs added to the vendored X4BNet list (the big clouds: Cloudflare, AWS, Google Cloud,
    /// Azure, DigitalOcean, Equinix).
    pub extra_asns: Vec<u32>,
    /// ASNs of privacy relays (iCloud Private Relay's Akamai egress): reported as relays.
    pub privacy_relay_asns: Vec<u32>,
    /// ASNs that also carry iCloud Private Relay egress: an Apple device from them is
    /// reported as a relay rather than a datacenter.
    pub apple_relay_asns: Vec<u32>,
}

impl Default for DatacenterConfig {
    /// 40 (its maximum) for a datacenter ASN.
    fn default() -> Self {
        DatacenterConfig {
            weight: 0.06,
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
        in_range("components.datacenter.score", self.score, MAX)
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

impl ComponentSettings for DatacenterConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self) -> Result<(), String> {
        DatacenterConfig::check(self)
    }
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
    use crate::fraud::testing::*;
    #[test]
    fn vendored_list_is_loaded() {
        assert!(super::DATACENTER_ASNS.len() > 800);
        assert!(super::DATACENTER_ASNS.contains(&7979));
    }

    #[test]
    fn each_signal_is_found() {
        finds(
            &[("cloudfront-viewer-asn", "16509")],
            None,
            "datacenter",
            "datacenter_asn",
        );
    }

    #[test]
    fn privacy_relays_are_reported_not_scored() {
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        let a = assessed(
            &chrome_request(&[
                ("user-agent", safari),
                ("cloudfront-viewer-asn", "36183"),
                ("sec-ch-ua", ""),
            ]),
            None,
        );
        let dc = &a.breakdown["datacenter"];
        assert_eq!(dc.score, 0.0);
        assert_eq!(dc.reasons[0].code, "privacy_relay");
    }
}
