//! Outbound calls to customer-given URLs (webhooks): only globally reachable addresses, only
//! the ports a webhook needs, no credentials in the URL, no proxy, no redirects.
//!
//! - **Addresses** are classified with the IANA IPv4 and IPv6 Special-Purpose Address
//!   Registries (through `ip_network`'s `is_global`): private, shared (CGN), loopback,
//!   link-local (the cloud metadata address 169.254.169.254 among them), documentation,
//!   benchmarking (198.18.0.0/15), IETF protocol assignments (192.0.0.0/24), reserved
//!   (240.0.0.0/4), broadcast, multicast, unique-local and the rest are refused. An IPv6
//!   address must also be global unicast (2000::/3, the IANA IPv6 address space), which
//!   refuses the deprecated site-local fec0::/10 too. IPv4 inside IPv6 is unwrapped and
//!   judged as IPv4: IPv4-mapped (`::ffff:a.b.c.d`), the NAT64 well-known prefix
//!   (`64:ff9b::/96`) and 6to4 (`2002::/16`); the forms that tunnel to an address no check
//!   can see — IPv4-compatible (`::a.b.c.d`, deprecated), local-use NAT64 (`64:ff9b:1::/48`)
//!   and Teredo (`2001::/32`) — are refused.
//! - **Ports**: 443 and 80 by default (`WEBHOOK_ALLOWED_PORTS`), the URL's own or its
//!   scheme's default.
//! - **URLs** with user information (`https://user:pass@host/`) are refused: credentials
//!   belong in the signed headers, and a `user@host` form hides where a URL goes.
//! - The host is resolved first and every address it resolves to is checked; the request then
//!   goes to the checked address (pinned with `reqwest`'s `resolve`), so a DNS answer that
//!   changes between the check and the call (rebinding) cannot reach a forbidden address, and
//!   no proxy (`HTTP_PROXY`, `HTTPS_PROXY`) is ever used, since a proxy would make the
//!   connection itself, to an address never checked.
//!
//! The allowances for local development (`allow_private`, any port) are explicit and off by
//! default.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ip_network::{Ipv4Network, Ipv6Network};

/// Resolves host names (a trait so tests can give a name a chosen address).
pub trait Resolve: Send + Sync {
    /// The addresses of `host:port`.
    fn resolve(&self, host: &str, port: u16) -> impl Future<Output = std::io::Result<Vec<SocketAddr>>> + Send;
}

/// The system resolver (getaddrinfo, on a blocking thread). A name that does not exist
/// (`EAI_NONAME`, `EAI_NODATA`: NXDOMAIN, or no address of any family) is
/// [`std::io::ErrorKind::NotFound`]; anything else — the resolver not answering
/// (`EAI_AGAIN`) among them — another kind. A name under `.invalid` does not exist without a
/// lookup (RFC 6761, section 6.4: such names are guaranteed never to resolve).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        use dns_lookup::{AddrInfoHints, LookupErrorKind, SockType};
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if name == "invalid" || name.ends_with(".invalid") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "names under .invalid never resolve (RFC 6761)",
            ));
        }
        let found = tokio::task::spawn_blocking(move || {
            let hints = AddrInfoHints {
                socktype: SockType::Stream.into(),
                ..AddrInfoHints::default()
            };
            dns_lookup::getaddrinfo(Some(&name), None, Some(hints)).map(|addrs| {
                addrs
                    .filter_map(Result::ok)
                    .map(|a| a.sockaddr.ip())
                    .collect::<Vec<_>>()
            })
        })
        .await
        .map_err(std::io::Error::other)?;
        match found {
            Ok(ips) => Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()),
            Err(e) => {
                let kind = match e.kind() {
                    LookupErrorKind::NoName | LookupErrorKind::NoData => std::io::ErrorKind::NotFound,
                    _ => std::io::ErrorKind::Other,
                };
                Err(std::io::Error::new(kind, std::io::Error::from(e)))
            }
        }
    }
}

/// The ports a webhook URL may name by default: HTTPS and HTTP.
pub const DEFAULT_PORTS: [u16; 2] = [443, 80];

/// What outbound calls may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Allow addresses that are not globally reachable (local development only).
    pub allow_private: bool,
    /// The ports a URL may name; `None` allows any (local development only).
    pub ports: Option<Vec<u16>>,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow_private: false,
            ports: Some(DEFAULT_PORTS.to_vec()),
        }
    }
}

impl OutboundPolicy {
    /// Anything goes: loopback receivers on any port (tests and the local stack).
    pub fn local() -> Self {
        OutboundPolicy {
            allow_private: true,
            ports: None,
        }
    }
}

/// Why an outbound call was not made or failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
    #[error("the URL carries user information (user:password@); webhook URLs may not")]
    UserInfo,
    #[error("port {0} is not allowed for webhooks")]
    Port(u16),
    #[error("{host} resolves to {addr}, which is not a globally reachable address")]
    Forbidden { host: String, addr: IpAddr },
    /// The name does not exist (NXDOMAIN, or it has no address): asking again will not help.
    #[error("{host} does not exist (no DNS record)")]
    NoSuchHost { host: String },
    /// The name could not be resolved now (the resolver did not answer, …): may pass later.
    #[error("{host} does not resolve: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("the call failed: {0}")]
    Transport(#[source] reqwest::Error),
}

/// An IPv4 address carried inside an IPv6 one, unwrapped.
enum Embedded {
    /// The IPv4 address the IPv6 one stands for.
    V4(Ipv4Addr),
    /// A tunnel form whose real destination cannot be checked: refused.
    Opaque,
}

/// The IPv4 address inside an IPv6 one, for the forms that carry one.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Embedded> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d, IPv4-mapped.
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(Embedded::V4(low)),
        // ::a.b.c.d, IPv4-compatible (deprecated; :: and ::1 are judged as IPv6).
        [0, 0, 0, 0, 0, 0, _, _] if !(s[6] == 0 && s[7] <= 1) => Some(Embedded::Opaque),
        // 64:ff9b::a.b.c.d, NAT64 well-known prefix.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(Embedded::V4(low)),
        // 64:ff9b:1::/48, local-use NAT64.
        [0x64, 0xff9b, 1, ..] => Some(Embedded::Opaque),
        // 2002:aabb:ccdd::/48, 6to4.
        [0x2002, hi, lo, ..] => Some(Embedded::V4(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        ))),
        // 2001::/32, Teredo.
        [0x2001, 0, ..] => Some(Embedded::Opaque),
        _ => None,
    }
}

/// Whether an address may not be called: anything not globally reachable (see the module
/// documentation).
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        // Multicast is not in the special-purpose registry (it has its own), and is never a
        // webhook's address.
        IpAddr::V4(v4) => v4.is_multicast() || !Ipv4Network::from(v4).is_global(),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(Embedded::V4(v4)) => forbidden(IpAddr::V4(v4)),
            Some(Embedded::Opaque) => true,
            // Global unicast is 2000::/3; the registry then refuses what is special in it.
            None => (v6.segments()[0] & 0xe000) != 0x2000 || !Ipv6Network::from(v6).is_global(),
        },
    }
}

/// Checks a URL and resolves it to an allowed address.
///
/// # Errors
/// [`OutboundError::BadUrl`] (also for a URL without a host), [`OutboundError::UserInfo`],
/// [`OutboundError::Port`], [`OutboundError::NoSuchHost`], [`OutboundError::Resolve`],
/// [`OutboundError::Forbidden`].
pub async fn checked_target<R: Resolve>(
    url: &str,
    resolver: &R,
    policy: &OutboundPolicy,
) -> Result<(url::Url, SocketAddr), OutboundError> {
    let bad = || OutboundError::BadUrl(url.chars().take(200).collect());
    let u = url::Url::parse(url).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad());
    }
    // The URL parser makes `http:///x` into `http://x/`: a URL whose authority is empty has
    // no host, whatever follows.
    let authority = url.split_once("://").map_or("", |(_, rest)| rest);
    if authority.is_empty() || authority.starts_with(['/', '?', '#']) {
        return Err(bad());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(OutboundError::UserInfo);
    }
    let host = u
        .host_str()
        .ok_or_else(|| OutboundError::BadUrl(url.chars().take(200).collect()))?
        .to_string();
    let port = u.port_or_known_default().unwrap_or(443);
    if let Some(ports) = &policy.ports {
        if !ports.contains(&port) {
            return Err(OutboundError::Port(port));
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolver
            .resolve(&host, port)
            .await
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => OutboundError::NoSuchHost { host: host.clone() },
                _ => OutboundError::Resolve {
                    host: host.clone(),
                    source,
                },
            })?,
    };
    let first = *addrs
        .first()
        .ok_or_else(|| OutboundError::NoSuchHost { host: host.clone() })?;
    if !policy.allow_private {
        if let Some(bad) = addrs.iter().find(|a| forbidden(a.ip())) {
            return Err(OutboundError::Forbidden { host, addr: bad.ip() });
        }
    }
    Ok((u, first))
}

/// Clients pinned to a checked address, by `(host, address)`: building a client (its TLS
/// roots were read per client before crate::tls) costs time, and reusing one keeps the connection to a customer's endpoint
/// alive across the records of a batch. A new DNS answer is a new key, checked again.
fn pinned_client(host: &str, addr: SocketAddr) -> Result<reqwest::Client, OutboundError> {
    static CLIENTS: std::sync::OnceLock<quick_cache::sync::Cache<(String, SocketAddr), reqwest::Client>> =
        std::sync::OnceLock::new();
    let cache = CLIENTS.get_or_init(|| quick_cache::sync::Cache::new(1024));
    let key = (host.to_string(), addr);
    if let Some(c) = cache.get(&key) {
        return Ok(c);
    }
    let client = crate::tls::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve(host, addr)
        .build()
        .map_err(OutboundError::Transport)?;
    cache.insert(key, client.clone());
    Ok(client)
}

/// POSTs `body` to a checked URL with `headers`, no redirects followed, within `timeout_ms`.
///
/// # Errors
/// The check's errors, [`OutboundError::Timeout`] and [`OutboundError::Transport`].
pub async fn post<R: Resolve>(
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    timeout_ms: u64,
    resolver: &R,
    policy: &OutboundPolicy,
) -> Result<reqwest::Response, OutboundError> {
    let (u, addr) = checked_target(url, resolver, policy).await?;
    let host = u.host_str().unwrap_or_default().to_string();
    let client = pinned_client(&host, addr)?;
    let mut req = client.post(u).timeout(Duration::from_millis(timeout_ms)).body(body);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    req.send().await.map_err(|e| {
        if e.is_timeout() {
            OutboundError::Timeout(timeout_ms)
        } else {
            OutboundError::Transport(e.without_url())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoDns;
    impl Resolve for NoDns {
        async fn resolve(&self, _: &str, _: u16) -> std::io::Result<Vec<SocketAddr>> {
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no DNS in this test"))
        }
    }

    #[test]
    fn special_purpose_addresses_are_forbidden() {
        for a in [
            // The registries' classic blocks.
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            // What the hostile-input run found allowed.
            "198.18.0.1",
            "192.0.0.192",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            // IPv4 inside IPv6.
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::808:808",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(forbidden(a.parse().unwrap()), "{a}");
        }
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "192.0.0.9",
        ] {
            assert!(!forbidden(a.parse().unwrap()), "{a}");
        }
    }

    #[tokio::test]
    async fn ports_user_information_and_bracketed_forms_are_checked_before_any_call() {
        let p = OutboundPolicy::default();
        let refused = |r: Result<(url::Url, SocketAddr), OutboundError>| r.unwrap_err();
        assert!(matches!(
            refused(checked_target("http://[::127.0.0.1]/x", &NoDns, &p).await),
            OutboundError::Forbidden { .. }
        ));
        for port in [0u16, 22, 8080, 65535] {
            let url = format!("https://93.184.216.34:{port}/hook");
            assert!(
                matches!(
                    refused(checked_target(&url, &NoDns, &p).await),
                    OutboundError::Port(p) if p == port
                ),
                "{url}"
            );
        }
        assert!(matches!(
            refused(checked_target("https://user:pw@93.184.216.34/hook", &NoDns, &p).await),
            OutboundError::UserInfo
        ));
        assert!(matches!(
            refused(checked_target("https://user@93.184.216.34/hook", &NoDns, &p).await),
            OutboundError::UserInfo
        ));
        assert!(matches!(
            refused(checked_target("ftp://93.184.216.34/", &NoDns, &p).await),
            OutboundError::BadUrl(_)
        ));
        let (_, addr) = checked_target("https://93.184.216.34/hook", &NoDns, &p).await.unwrap();
        assert_eq!(addr.port(), 443);
        let (_, addr) = checked_target("http://[2606:4700::1111]/hook", &NoDns, &p)
            .await
            .unwrap();
        assert_eq!(addr.port(), 80);
        // A URL without a host, and a name that does not exist, are refused for good; a
        // resolver that does not answer is not.
        for url in ["http:///x", "https://?x", "http://"] {
            assert!(
                matches!(refused(checked_target(url, &NoDns, &p).await), OutboundError::BadUrl(_)),
                "{url}"
            );
        }
        assert!(matches!(
            refused(checked_target("http://probe-nonexistent.invalid/", &SystemResolver, &p).await),
            OutboundError::NoSuchHost { .. }
        ));
        assert!(matches!(
            refused(checked_target("https://hooks.example/", &NoDns, &p).await),
            OutboundError::NoSuchHost { .. }
        ));
        struct SlowDns;
        impl Resolve for SlowDns {
            async fn resolve(&self, _: &str, _: u16) -> std::io::Result<Vec<SocketAddr>> {
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "EAI_AGAIN"))
            }
        }
        assert!(matches!(
            refused(checked_target("https://hooks.example/", &SlowDns, &p).await),
            OutboundError::Resolve { .. }
        ));
        // The local allowance: loopback on any port.
        assert!(
            checked_target("http://127.0.0.1:9100/hook", &NoDns, &OutboundPolicy::local())
                .await
                .is_ok()
        );
    }
}
