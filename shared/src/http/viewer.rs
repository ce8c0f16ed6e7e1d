//! CloudFront viewer metadata, read from the headers a custom origin request policy adds.
//!
//! Header names and formats follow the CloudFront Developer Guide, "Add CloudFront request
//! headers": `CloudFront-Viewer-JA4-Fingerprint`, `-JA3-Fingerprint`, `-TLS`
//! (`version:cipher:handshake`), `-Http-Version`, `-Address` (`ip:port`), `-ASN`, `-Country`,
//! `-Country-Name`, `-Country-Region`, `-Country-Region-Name`, `-City`, `-Postal-Code`,
//! `-Latitude`, `-Longitude`, `-Time-Zone`, `-Header-Order` (names joined by `:`),
//! `-Header-Count` and `CloudFront-Is-{Mobile,Desktop,Tablet,SmartTV,IOS,Android}-Viewer`.
//! A header that is absent or malformed leaves its field `None`; it never fails the request.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::{header_str, header_text};

/// The TLS session CloudFront negotiated with the viewer (`CloudFront-Viewer-TLS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// Protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// Cipher suite, e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// `fullHandshake` or `sessionResumed`.
    pub handshake: String,
}

/// The viewer's address and source port (`CloudFront-Viewer-Address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerAddress {
    /// Viewer IP address.
    pub ip: IpAddr,
    /// Viewer source port.
    pub port: u16,
}

/// CloudFront's device classification from the User-Agent (`CloudFront-Is-*-Viewer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desktop: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tablet: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smart_tv: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ios: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub android: Option<bool>,
}

impl DeviceFlags {
    /// True when CloudFront sent none of the device headers.
    pub fn is_empty(&self) -> bool {
        *self == DeviceFlags::default()
    }
}

/// Everything CloudFront tells us about the viewer's connection and location.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewerMetadata {
    /// JA4 TLS client fingerprint, e.g. `t13d1516h2_8daaf6152771_02713d6af862`.
    pub ja4: Option<String>,
    /// JA3 TLS client fingerprint (MD5 hex).
    pub ja3: Option<String>,
    /// TLS version, cipher and handshake type.
    pub tls: Option<TlsInfo>,
    /// HTTP version between viewer and CloudFront: `1.0`, `1.1`, `2.0` or `3.0`.
    pub http_version: Option<String>,
    /// Viewer IP and source port.
    pub address: Option<ViewerAddress>,
    /// Autonomous system number of the viewer's network.
    pub asn: Option<u32>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Country name.
    pub country_name: Option<String>,
    /// ISO 3166-2 subdivision code (without the country prefix), e.g. `WA`.
    pub region: Option<String>,
    /// Subdivision name, e.g. `Washington`.
    pub region_name: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Latitude in decimal degrees (−90…90).
    pub latitude: Option<f64>,
    /// Longitude in decimal degrees (−180…180).
    pub longitude: Option<f64>,
    /// IANA time zone, e.g. `America/Los_Angeles`.
    pub time_zone: Option<String>,
    /// Header names in the order the viewer sent them.
    pub header_order: Vec<String>,
    /// Number of headers the viewer sent.
    pub header_count: Option<u32>,
    /// Device classification.
    pub device: DeviceFlags,
}

impl ViewerMetadata {
    /// Reads the `CloudFront-Viewer-*` and `CloudFront-Is-*` headers.
    pub fn from_headers(headers: &::http::HeaderMap) -> Self {
        let get = |name: &str| header_str(headers, name);
        // City and region names may carry non-ASCII letters, which `to_str` refuses.
        let get_text = |name: &str| header_text(headers, name);
        let flag = |name: &str| get(name).map(|v| v.eq_ignore_ascii_case("true"));
        ViewerMetadata {
            ja4: get("cloudfront-viewer-ja4-fingerprint"),
            ja3: get("cloudfront-viewer-ja3-fingerprint"),
            tls: get("cloudfront-viewer-tls").and_then(|v| parse_tls(&v)),
            http_version: get("cloudfront-viewer-http-version"),
            address: get("cloudfront-viewer-address").and_then(|v| parse_address(&v)),
            asn: get("cloudfront-viewer-asn").and_then(|v| v.parse().ok()),
            country: get("cloudfront-viewer-country"),
            country_name: get_text("cloudfront-viewer-country-name"),
            region: get("cloudfront-viewer-country-region"),
            region_name: get_text("cloudfront-viewer-country-region-name"),
            city: get_text("cloudfront-viewer-city"),
            postal_code: get("cloudfront-viewer-postal-code"),
            latitude: get("cloudfront-viewer-latitude")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| (-90.0..=90.0).contains(v)),
            longitude: get("cloudfront-viewer-longitude")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| (-180.0..=180.0).contains(v)),
            time_zone: get("cloudfront-viewer-time-zone"),
            header_order: get("cloudfront-viewer-header-order")
                .map(|v| {
                    v.split(':')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            header_count: get("cloudfront-viewer-header-count").and_then(|v| v.parse().ok()),
            device: DeviceFlags {
                mobile: flag("cloudfront-is-mobile-viewer"),
                desktop: flag("cloudfront-is-desktop-viewer"),
                tablet: flag("cloudfront-is-tablet-viewer"),
                smart_tv: flag("cloudfront-is-smarttv-viewer"),
                ios: flag("cloudfront-is-ios-viewer"),
                android: flag("cloudfront-is-android-viewer"),
            },
        }
    }
}

/// Parses `version:cipher:handshake`, e.g. `TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake`.
fn parse_tls(value: &str) -> Option<TlsInfo> {
    let mut parts = value.splitn(3, ':');
    let version = parts.next()?.trim();
    let cipher = parts.next()?.trim();
    let handshake = parts.next().unwrap_or("").trim();
    if version.is_empty() || cipher.is_empty() {
        return None;
    }
    Some(TlsInfo {
        version: version.to_string(),
        cipher: cipher.to_string(),
        handshake: handshake.to_string(),
    })
}

/// Parses `ip:port`; IPv6 may come bare (`2001:db8::1:443`, the last group is the port) or
/// bracketed (`[2001:db8::1]:443`).
fn parse_address(value: &str) -> Option<ViewerAddress> {
    if let Ok(sa) = value.parse::<SocketAddr>() {
        return Some(ViewerAddress {
            ip: sa.ip(),
            port: sa.port(),
        });
    }
    let (ip, port) = value.rsplit_once(':')?;
    Some(ViewerAddress {
        ip: ip.trim_matches(|c| c == '[' || c == ']').parse().ok()?,
        port: port.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_every_viewer_header() {
        let h = headers(&[
            (
                "cloudfront-viewer-ja4-fingerprint",
                "t13d1516h2_8daaf6152771_02713d6af862",
            ),
            ("cloudfront-viewer-ja3-fingerprint", "773906b0efdefa24a7f2b8eb6985bf37"),
            ("cloudfront-viewer-tls", "TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake"),
            ("cloudfront-viewer-http-version", "2.0"),
            ("cloudfront-viewer-address", "198.51.100.10:46532"),
            ("cloudfront-viewer-asn", "7922"),
            ("cloudfront-viewer-country", "US"),
            ("cloudfront-viewer-country-region", "WA"),
            ("cloudfront-viewer-city", "Seattle"),
            ("cloudfront-viewer-latitude", "47.60620"),
            ("cloudfront-viewer-longitude", "-122.33210"),
            ("cloudfront-viewer-time-zone", "America/Los_Angeles"),
            ("cloudfront-viewer-header-order", "host:user-agent:accept"),
            ("cloudfront-viewer-header-count", "3"),
            ("cloudfront-is-desktop-viewer", "true"),
            ("cloudfront-is-mobile-viewer", "false"),
        ]);
        let v = ViewerMetadata::from_headers(&h);
        assert_eq!(v.ja4.as_deref(), Some("t13d1516h2_8daaf6152771_02713d6af862"));
        assert_eq!(v.tls.as_ref().unwrap().version, "TLSv1.3");
        assert_eq!(v.tls.as_ref().unwrap().handshake, "fullHandshake");
        assert_eq!(v.address.unwrap().ip.to_string(), "198.51.100.10");
        assert_eq!(v.address.unwrap().port, 46532);
        assert_eq!(v.asn, Some(7922));
        assert_eq!(v.latitude, Some(47.6062));
        assert_eq!(v.longitude, Some(-122.3321));
        assert_eq!(v.header_order, vec!["host", "user-agent", "accept"]);
        assert_eq!(v.header_count, Some(3));
        assert_eq!(v.device.desktop, Some(true));
        assert_eq!(v.device.mobile, Some(false));
        assert_eq!(v.device.tablet, None);
    }

    #[test]
    fn ipv6_addresses_bare_and_bracketed() {
        let bare = parse_address("2001:db8::1:443").unwrap();
        assert_eq!(bare.ip.to_string(), "2001:db8::1");
        assert_eq!(bare.port, 443);
        let br = parse_address("[2001:db8::2]:8443").unwrap();
        assert_eq!(br.ip.to_string(), "2001:db8::2");
        assert_eq!(br.port, 8443);
    }

    #[test]
    fn malformed_values_become_none() {
        let h = headers(&[
            ("cloudfront-viewer-asn", "AS7922x"),
            ("cloudfront-viewer-latitude", "north"),
            ("cloudfront-viewer-longitude", "500"),
            ("cloudfront-viewer-address", "not-an-ip"),
            ("cloudfront-viewer-tls", "garbage"),
        ]);
        let v = ViewerMetadata::from_headers(&h);
        assert_eq!(v.asn, None);
        assert_eq!(v.latitude, None);
        assert_eq!(v.longitude, None);
        assert_eq!(v.address, None);
        assert_eq!(v.tls, None);
    }

    #[test]
    fn city_with_non_ascii_bytes_is_kept() {
        let mut h = HeaderMap::new();
        h.insert(
            "cloudfront-viewer-city",
            HeaderValue::from_bytes("São Paulo".as_bytes()).unwrap(),
        );
        assert_eq!(ViewerMetadata::from_headers(&h).city.as_deref(), Some("São Paulo"));
    }
}
