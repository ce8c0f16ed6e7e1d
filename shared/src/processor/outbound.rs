//! Outbound calls to customer-given URLs (webhooks), refusing private, loopback, link-local
//! and metadata addresses, never following redirects.
//!
//! The host is resolved first and every address it resolves to is checked; the request then
//! goes to the checked address (pinned with `reqwest`'s `resolve`), so a DNS answer that
//! changes between the check and the call (rebinding) cannot reach a forbidden address. The
//! allowance for local development (`allow_private`) is explicit and off by default.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Resolves host names (a trait so tests can give a name a chosen address).
pub trait Resolve: Send + Sync {
    /// The addresses of `host:port`.
    fn resolve(&self, host: &str, port: u16) -> impl Future<Output = std::io::Result<Vec<SocketAddr>>> + Send;
}

/// The system resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// What outbound calls may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundPolicy {
    /// Allow private, loopback and link-local targets (local development only).
    pub allow_private: bool,
}

/// Why an outbound call was not made or failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
    #[error("{host} resolves to {addr}, a private, loopback, link-local or metadata address")]
    Forbidden { host: String, addr: IpAddr },
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

/// Whether an address may not be called: loopback, private, link-local (the cloud metadata
/// address 169.254.169.254 among them), carrier-grade NAT, unspecified, multicast,
/// broadcast, IPv6 unique-local and link-local, and IPv4-mapped forms of those.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let s0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s0 & 0xfe00) == 0xfc00
                || (s0 & 0xffc0) == 0xfe80
        }
    }
}

/// Checks a URL and resolves it to an allowed address.
///
/// # Errors
/// [`OutboundError::BadUrl`], [`OutboundError::Resolve`], [`OutboundError::Forbidden`].
pub async fn checked_target<R: Resolve>(
    url: &str,
    resolver: &R,
    policy: OutboundPolicy,
) -> Result<(url::Url, SocketAddr), OutboundError> {
    let u = url::Url::parse(url).map_err(|_| OutboundError::BadUrl(url.chars().take(200).collect()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(OutboundError::BadUrl(url.chars().take(200).collect()));
    }
    let host = u
        .host_str()
        .ok_or_else(|| OutboundError::BadUrl(url.chars().take(200).collect()))?
        .to_string();
    let port = u.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolver
            .resolve(&host, port)
            .await
            .map_err(|source| OutboundError::Resolve {
                host: host.clone(),
                source,
            })?,
    };
    let first = *addrs.first().ok_or_else(|| OutboundError::Resolve {
        host: host.clone(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
    })?;
    if !policy.allow_private {
        if let Some(bad) = addrs.iter().find(|a| forbidden(a.ip())) {
            return Err(OutboundError::Forbidden { host, addr: bad.ip() });
        }
    }
    Ok((u, first))
}

/// Clients pinned to a checked address, by `(host, address)`: building a client (its TLS
/// roots) costs milliseconds, and reusing one keeps the connection to a customer's endpoint
/// alive across the records of a batch. A new DNS answer is a new key, checked again.
fn pinned_client(host: &str, addr: SocketAddr) -> Result<reqwest::Client, OutboundError> {
    static CLIENTS: std::sync::OnceLock<quick_cache::sync::Cache<(String, SocketAddr), reqwest::Client>> =
        std::sync::OnceLock::new();
    let cache = CLIENTS.get_or_init(|| quick_cache::sync::Cache::new(1024));
    let key = (host.to_string(), addr);
    if let Some(c) = cache.get(&key) {
        return Ok(c);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
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
    policy: OutboundPolicy,
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
    use super::forbidden;

    #[test]
    fn forbidden_addresses() {
        for a in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(forbidden(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "2606:4700::1111"] {
            assert!(!forbidden(a.parse().unwrap()), "{a}");
        }
    }
}
