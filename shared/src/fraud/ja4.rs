//! JA4 TLS client fingerprints, parsed per the JA4 specification (FoxIO-LLC/ja4,
//! `technical_details/JA4.md`): `a_b_c` where `a` is 10 characters —
//! protocol (`t` TCP, `q` QUIC, `d` DTLS), TLS version (`13`, `12`, `11`, `10`, `s3`, `s2`,
//! `d1`, `d2`, `d3`, `00`), SNI (`d` a domain, `i` none / an IP), cipher count (2 digits),
//! extension count (2 digits), ALPN (first and last character of the first value, `00` for
//! none) — and `b`, `c` are the 12-hex-digit truncated SHA-256 of the sorted ciphers and of
//! the sorted extensions with the signature algorithms.

use serde::{Deserialize, Serialize};

/// A parsed JA4 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ja4 {
    /// `t`, `q` or `d`.
    pub protocol: char,
    /// TLS version as written: `13`, `12`, `11`, `10`, `s3`, `s2`, `d1`–`d3`, `00`.
    pub version: String,
    /// True when the client sent a domain name in SNI (`d`).
    pub sni: bool,
    /// Number of cipher suites offered (GREASE excluded).
    pub cipher_count: u8,
    /// Number of extensions offered (GREASE excluded).
    pub extension_count: u8,
    /// First and last character of the first ALPN value; `00` when none.
    pub alpn: String,
    /// Truncated hash of the ciphers.
    pub cipher_hash: String,
    /// Truncated hash of the extensions and signature algorithms.
    pub extension_hash: String,
}

/// Why a JA4 string is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed JA4 {value:?}: {reason}")]
pub struct Ja4Error {
    pub value: String,
    pub reason: &'static str,
}

impl Ja4 {
    /// Parses a JA4 string.
    ///
    /// # Errors
    /// [`Ja4Error`] naming what is wrong: part count, protocol, version, SNI flag, counts,
    /// ALPN or hashes.
    pub fn parse(value: &str) -> Result<Ja4, Ja4Error> {
        let err = |reason| Ja4Error {
            value: value.chars().take(80).collect(),
            reason,
        };
        let mut parts = value.split('_');
        let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(err("expected three parts separated by '_'"));
        };
        if a.len() != 10 || !a.is_ascii() {
            return Err(err("the first part must be 10 characters"));
        }
        let protocol = a.as_bytes()[0] as char;
        if !matches!(protocol, 't' | 'q' | 'd') {
            return Err(err("protocol must be t, q or d"));
        }
        let version = &a[1..3];
        if !matches!(
            version,
            "13" | "12" | "11" | "10" | "s3" | "s2" | "d1" | "d2" | "d3" | "00"
        ) {
            return Err(err("unknown TLS version"));
        }
        let sni = match &a[3..4] {
            "d" => true,
            "i" => false,
            _ => return Err(err("SNI flag must be d or i")),
        };
        let count = |s: &str| s.parse::<u8>().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
        let cipher_count = count(&a[4..6]).ok_or_else(|| err("cipher count must be two digits"))?;
        let extension_count = count(&a[6..8]).ok_or_else(|| err("extension count must be two digits"))?;
        let alpn = &a[8..10];
        if !alpn.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err("ALPN must be two alphanumeric characters"));
        }
        let hex12 = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex12(b) || !hex12(c) {
            return Err(err("hashes must be 12 hexadecimal digits"));
        }
        Ok(Ja4 {
            protocol,
            version: version.to_string(),
            sni,
            cipher_count,
            extension_count,
            alpn: alpn.to_string(),
            cipher_hash: b.to_string(),
            extension_hash: c.to_string(),
        })
    }

    /// TLS version as a number ×10 (`13` → 13, `10` → 10); SSL and unknown versions → 0.
    pub fn tls_version(&self) -> u8 {
        self.version.parse().unwrap_or(0)
    }

    /// True when the client offered `h2` first.
    pub fn offers_h2(&self) -> bool {
        self.alpn == "h2"
    }

    /// True when the client offered no ALPN at all.
    pub fn no_alpn(&self) -> bool {
        self.alpn == "00"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_fingerprints() {
        let j = Ja4::parse("t13d1516h2_8daaf6152771_02713d6af862").unwrap();
        assert_eq!((j.protocol, j.version.as_str(), j.sni), ('t', "13", true));
        assert_eq!((j.cipher_count, j.extension_count, j.alpn.as_str()), (15, 16, "h2"));
        assert_eq!(j.cipher_hash, "8daaf6152771");
        assert!(j.offers_h2());
        let py = Ja4::parse("t13d181000_85036bcba153_d41ae481755e").unwrap();
        assert!(py.no_alpn());
        assert_eq!(py.tls_version(), 13);
        let q = Ja4::parse("q13d0315h3_55b375c5d22e_dc5437974b47").unwrap();
        assert_eq!((q.protocol, q.alpn.as_str()), ('q', "h3"));
    }

    #[test]
    fn rejects_malformed_strings_with_a_reason() {
        for (s, reason) in [
            ("t13d1516h2_8daaf6152771", "three parts"),
            ("x13d1516h2_8daaf6152771_02713d6af862", "protocol"),
            ("t14d1516h2_8daaf6152771_02713d6af862", "version"),
            ("t13x1516h2_8daaf6152771_02713d6af862", "SNI"),
            ("t13dAB16h2_8daaf6152771_02713d6af862", "cipher count"),
            ("t13d1516h2_8daaf615277z_02713d6af862", "hashes"),
        ] {
            assert!(Ja4::parse(s).unwrap_err().reason.contains(reason), "{s}");
        }
    }
}
