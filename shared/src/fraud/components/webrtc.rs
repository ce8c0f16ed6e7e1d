//! `webrtc`, WebRTC (max 100), from the ICE candidates the collector reports: no
//! NAT (a host candidate with a public address: a server), several public addresses, a public
//! IPv6 address leaked, relay-only candidates (a TURN-forced, privacy-hardened or proxied
//! browser), and a public address different from the request's (a proxy or VPN in between).

use crate::fraud::component::ComponentSettings;
use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::fraud::bounds::in_range;
use crate::fraud::{ComponentResult, ScoringInput};

/// The component's maximum score:.
pub const MAX: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebRtcConfig {
    /// Weight in the composite score, 0–1 (every component's together at most 1).
    pub weight: f64,
    pub public_host: f64,
    pub several_public_ips: f64,
    pub ipv6_leak: f64,
    pub relay_only: f64,
    pub ip_mismatch: f64,
}

impl Default for WebRtcConfig {
    /// a public host candidate 40, several public
    /// IPs 30, an IPv6 leak 20, relay candidates only 30, a public IP that is not the
    /// request's 40.
    fn default() -> Self {
        WebRtcConfig {
            weight: 0.06,
            public_host: 40.0,
            several_public_ips: 30.0,
            ipv6_leak: 20.0,
            relay_only: 30.0,
            ip_mismatch: 40.0,
        }
    }
}

impl WebRtcConfig {
    /// Checks every score against [`MAX`].
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("public_host", self.public_host),
            ("several_public_ips", self.several_public_ips),
            ("ipv6_leak", self.ipv6_leak),
            ("relay_only", self.relay_only),
            ("ip_mismatch", self.ip_mismatch),
        ] {
            in_range(&format!("components.webrtc.{name}"), v, MAX)?;
        }
        Ok(())
    }
}

/// One parsed ICE candidate: its address and type (`host`, `srflx`, `prflx`, `relay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub ip: Option<IpAddr>,
    pub kind: String,
}

/// Parses `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …`
/// (RFC 8839); an mDNS host name (`….local`) gives no address.
pub fn parse_candidate(line: &str) -> Option<Candidate> {
    let line = line.trim().trim_start_matches("a=");
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("candidate:") {
        return None;
    }
    let fields: Vec<&str> = parts.collect();
    let address = fields.get(3)?;
    let typ = fields
        .iter()
        .position(|f| *f == "typ")
        .and_then(|i| fields.get(i + 1))?;
    Some(Candidate {
        ip: address.parse().ok(),
        kind: typ.to_string(),
    })
}

fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

impl ComponentSettings for WebRtcConfig {
    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self) -> Result<(), String> {
        WebRtcConfig::check(self)
    }
}

/// Scores the component.
pub fn score(input: &ScoringInput, c: &WebRtcConfig) -> ComponentResult {
    let mut r = ComponentResult::default();
    let Some(lines) = input.signals.as_ref().and_then(|s| s.webrtc_candidates.as_ref()) else {
        return r;
    };
    let candidates: Vec<Candidate> = lines.iter().filter_map(|l| parse_candidate(l)).collect();
    if candidates.is_empty() {
        return r;
    }
    let public: BTreeSet<IpAddr> = candidates.iter().filter_map(|c| c.ip).filter(is_public).collect();
    if candidates
        .iter()
        .any(|c| c.kind == "host" && c.ip.as_ref().is_some_and(is_public))
    {
        r.add(
            "no_nat",
            c.public_host,
            "a host candidate has a public address: no NAT, as on a server",
        );
    }
    let public_v4 = public.iter().filter(|ip| ip.is_ipv4()).count();
    if public_v4 > 1 {
        r.add(
            "several_public_ips",
            c.several_public_ips,
            format!("{public_v4} public IPv4 addresses"),
        );
    }
    if public.iter().any(|ip| ip.is_ipv6()) && input.client_ip.is_some_and(|ip| ip.is_ipv4()) {
        r.add(
            "ipv6_leak",
            c.ipv6_leak,
            "a public IPv6 address leaks beside an IPv4 request",
        );
    }
    if candidates.iter().all(|c| c.kind == "relay") {
        r.add(
            "relay_only",
            c.relay_only,
            "only relay candidates: the browser hides its network",
        );
    }
    if let Some(req_ip) = input.client_ip {
        let srflx: Vec<&IpAddr> = candidates
            .iter()
            .filter(|c| c.kind == "srflx")
            .filter_map(|c| c.ip.as_ref())
            .filter(|ip| ip.is_ipv4() == req_ip.is_ipv4())
            .collect();
        if !srflx.is_empty() && !srflx.contains(&&req_ip) {
            r.add(
                "public_ip_mismatch",
                c.ip_mismatch,
                "the WebRTC public address differs from the request's: a proxy or VPN in between",
            );
        }
    }
    r.cap(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fraud::testing::*;
    use crate::fraud::ClientSignals;

    #[test]
    fn parses_candidates() {
        let c =
            parse_candidate("candidate:842163049 1 udp 1677729535 203.0.113.5 54321 typ srflx raddr 0.0.0.0 rport 0")
                .unwrap();
        assert_eq!(c.ip.unwrap().to_string(), "203.0.113.5");
        assert_eq!(c.kind, "srflx");
        let m = parse_candidate("candidate:1 1 udp 2122260223 0c1a2b3c-aaaa.local 56143 typ host").unwrap();
        assert_eq!((m.ip, m.kind.as_str()), (None, "host"));
        assert!(parse_candidate("garbage").is_none());
    }

    #[test]
    fn each_signal_is_found() {
        finds(
            &[],
            Some(ClientSignals {
                webrtc_candidates: Some(vec!["candidate:1 1 udp 2122260223 203.0.113.9 5000 typ host".into()]),
                ..Default::default()
            }),
            "webrtc",
            "no_nat",
        );
        finds(
            &[],
            Some(ClientSignals {
                webrtc_candidates: Some(vec![
                    "candidate:2 1 udp 1677729535 192.0.2.44 5000 typ srflx raddr 0.0.0.0 rport 0".into(),
                ]),
                ..Default::default()
            }),
            "webrtc",
            "public_ip_mismatch",
        );
        finds(
            &[],
            Some(ClientSignals {
                webrtc_candidates: Some(vec!["candidate:3 1 udp 41885439 192.0.2.50 3478 typ relay".into()]),
                ..Default::default()
            }),
            "webrtc",
            "relay_only",
        );
    }
}
