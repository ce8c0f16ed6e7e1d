//! The TLS ClientHello of a connection, and its JA4 and JA3 fingerprints, as CloudFront
//! computes them for `CloudFront-Viewer-JA4-Fingerprint` and `-JA3-Fingerprint`.
//!
//! The ClientHello is read from the connection's first bytes (it may span several TLS
//! records) and parsed with `tls-parser` (Rusticata). JA4 follows FoxIO's specification
//! (`technical_details/JA4.md` of FoxIO-LLC/ja4): `t` + TLS version (the highest of
//! `supported_versions`, else the hello's) + `d`/`i` (SNI or not) + cipher count + extension
//! count (GREASE ignored, at most 99) + the first and last characters of the first ALPN value,
//! then the truncated SHA-256 of the sorted cipher list, then of the sorted extension list
//! without SNI and ALPN, `_`, and the signature algorithms in their order. JA3 (Salesforce) is
//! the MD5 of `version,ciphers,extensions,groups,point formats` in decimal, GREASE removed.
//! Both are checked against FoxIO's published captures (`shared/data/ja4/foxio-vectors.json`).

use std::fmt::Write as _;

use md5::Md5;
use sha2::{Digest, Sha256};
use tls_parser::{TlsExtension, TlsExtensionType, TlsMessage, TlsMessageHandshake};

/// The largest ClientHello read, bytes (real ones are under 2 KB; post-quantum key shares
/// included).
pub const MAX_CLIENT_HELLO: usize = 64 * 1024;

/// What a ClientHello offers, GREASE values included where the client sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// The hello's own (legacy) version field, e.g. 0x0303.
    pub version: u16,
    pub ciphers: Vec<u16>,
    /// Extension types in the order sent.
    pub extensions: Vec<u16>,
    pub server_name: Option<String>,
    pub alpn: Vec<Vec<u8>>,
    pub signature_algorithms: Vec<u16>,
    pub supported_versions: Vec<u16>,
    pub groups: Vec<u16>,
    pub point_formats: Vec<u8>,
}

/// Why bytes are not a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("more bytes are needed")]
    Incomplete,
    #[error("not a TLS handshake record")]
    NotTls,
    #[error("the first handshake message is not a ClientHello")]
    NotClientHello,
    #[error("malformed ClientHello: {0}")]
    Malformed(String),
    #[error("the ClientHello is longer than {MAX_CLIENT_HELLO} bytes")]
    TooLong,
}

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, … 0xfafa.
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// The handshake message carried by the TLS records at the start of `bytes`, once complete:
/// its bytes (handshake header included) and how many bytes of `bytes` the records took.
///
/// # Errors
/// [`HelloError::Incomplete`] while more bytes are needed; the others for bytes that are not
/// a handshake.
pub fn handshake_message(bytes: &[u8]) -> Result<(Vec<u8>, usize), HelloError> {
    let mut message = Vec::new();
    let mut at = 0;
    loop {
        let header = bytes.get(at..at + 5).ok_or(HelloError::Incomplete)?;
        if header[0] != 0x16 || header[1] != 0x03 {
            return Err(HelloError::NotTls);
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let payload = bytes.get(at + 5..at + 5 + len).ok_or(HelloError::Incomplete)?;
        message.extend_from_slice(payload);
        at += 5 + len;
        if message.len() >= 4 {
            let needed = 4 + (usize::from(message[1]) << 16 | usize::from(message[2]) << 8 | usize::from(message[3]));
            if needed > MAX_CLIENT_HELLO {
                return Err(HelloError::TooLong);
            }
            if message.len() >= needed {
                message.truncate(needed);
                return Ok((message, at));
            }
        }
        if at > MAX_CLIENT_HELLO {
            return Err(HelloError::TooLong);
        }
    }
}

impl ClientHello {
    /// Parses the ClientHello at the start of a connection's bytes (TLS records).
    ///
    /// # Errors
    /// As [`handshake_message`], or [`HelloError::NotClientHello`] / [`HelloError::Malformed`].
    pub fn from_records(bytes: &[u8]) -> Result<Self, HelloError> {
        let (message, _) = handshake_message(bytes)?;
        Self::from_handshake(&message)
    }

    /// Parses a ClientHello handshake message (its 4-byte header included).
    ///
    /// # Errors
    /// [`HelloError::NotClientHello`] or [`HelloError::Malformed`].
    pub fn from_handshake(message: &[u8]) -> Result<Self, HelloError> {
        let (_, parsed) =
            tls_parser::parse_tls_message_handshake(message).map_err(|e| HelloError::Malformed(format!("{e:?}")))?;
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)) = parsed else {
            return Err(HelloError::NotClientHello);
        };
        let mut out = ClientHello {
            version: hello.version.0,
            ciphers: hello.ciphers.iter().map(|c| c.0).collect(),
            ..ClientHello::default()
        };
        let Some(ext) = hello.ext else { return Ok(out) };
        let (_, extensions) = tls_parser::parse_tls_client_hello_extensions(ext)
            .map_err(|e| HelloError::Malformed(format!("extensions: {e:?}")))?;
        for e in &extensions {
            let kind = match e {
                TlsExtension::Grease(t, _) => *t,
                other => TlsExtensionType::from(other).0,
            };
            out.extensions.push(kind);
            match e {
                TlsExtension::SNI(names) => {
                    out.server_name = names.first().map(|(_, n)| String::from_utf8_lossy(n).into_owned());
                }
                TlsExtension::ALPN(protocols) => out.alpn = protocols.iter().map(|p| p.to_vec()).collect(),
                TlsExtension::SignatureAlgorithms(algs) => out.signature_algorithms.clone_from(algs),
                TlsExtension::SupportedVersions(v) => out.supported_versions = v.iter().map(|v| v.0).collect(),
                TlsExtension::EllipticCurves(g) => out.groups = g.iter().map(|g| g.0).collect(),
                TlsExtension::EcPointFormats(p) => out.point_formats = p.to_vec(),
                _ => {}
            }
        }
        Ok(out)
    }

    /// The TLS version JA4 reports: the highest non-GREASE `supported_versions`, else the
    /// hello's version.
    pub fn tls_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.version)
    }

    fn ja4_a(&self) -> String {
        let version = match self.tls_version() {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let sni = if self.extensions.contains(&0x0000) { 'd' } else { 'i' };
        let ciphers = self.ciphers.iter().filter(|c| !is_grease(**c)).count().min(99);
        let extensions = self.extensions.iter().filter(|e| !is_grease(**e)).count().min(99);
        format!(
            "t{version}{sni}{ciphers:02}{extensions:02}{}",
            alpn_chars(self.alpn.first())
        )
    }

    fn sorted_ciphers(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ciphers
            .iter()
            .filter(|c| !is_grease(**c))
            .map(|c| format!("{c:04x}"))
            .collect();
        v.sort();
        v
    }

    fn sorted_extensions(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .extensions
            .iter()
            .filter(|e| !is_grease(**e) && **e != 0x0000 && **e != 0x0010)
            .map(|e| format!("{e:04x}"))
            .collect();
        v.sort();
        v
    }

    fn signature_list(&self) -> Vec<String> {
        self.signature_algorithms
            .iter()
            .filter(|s| !is_grease(**s))
            .map(|s| format!("{s:04x}"))
            .collect()
    }

    /// The raw JA4 (`JA4_r`): the `a` part, the sorted ciphers, the sorted extensions and the
    /// signature algorithms, in hex.
    pub fn ja4_r(&self) -> String {
        let sigs = self.signature_list();
        let mut c = self.sorted_extensions().join(",");
        if !sigs.is_empty() {
            c = format!("{c}_{}", sigs.join(","));
        }
        format!("{}_{}_{c}", self.ja4_a(), self.sorted_ciphers().join(","))
    }

    /// The JA4 fingerprint, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub fn ja4(&self) -> String {
        let ciphers = self.sorted_ciphers();
        let b = if ciphers.is_empty() {
            "000000000000".to_string()
        } else {
            sha12(&ciphers.join(","))
        };
        let extensions = self.sorted_extensions();
        let c = if extensions.is_empty() {
            "000000000000".to_string()
        } else {
            let sigs = self.signature_list();
            let mut text = extensions.join(",");
            if !sigs.is_empty() {
                text = format!("{text}_{}", sigs.join(","));
            }
            sha12(&text)
        };
        format!("{}_{b}_{c}", self.ja4_a())
    }

    /// The JA3 string: `version,ciphers,extensions,groups,point formats`, decimal, `-`-joined,
    /// GREASE removed.
    pub fn ja3_string(&self) -> String {
        let dec = |v: &mut dyn Iterator<Item = u16>| v.map(|x| x.to_string()).collect::<Vec<_>>().join("-");
        format!(
            "{},{},{},{},{}",
            self.version,
            dec(&mut self.ciphers.iter().copied().filter(|c| !is_grease(*c))),
            dec(&mut self.extensions.iter().copied().filter(|e| !is_grease(*e))),
            dec(&mut self.groups.iter().copied().filter(|g| !is_grease(*g))),
            dec(&mut self.point_formats.iter().map(|p| u16::from(*p))),
        )
    }

    /// The JA3 fingerprint: the MD5 of [`ClientHello::ja3_string`], lowercase hex.
    pub fn ja3(&self) -> String {
        hex(&Md5::digest(self.ja3_string().as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn sha12(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))[..12].to_string()
}

/// JA4's ALPN characters: the first and last characters of the first value when both are
/// ASCII alphanumeric, else the first and last hex digits of its bytes; `00` without one.
fn alpn_chars(first: Option<&Vec<u8>>) -> String {
    let Some(v) = first.filter(|v| !v.is_empty()) else {
        return "00".to_string();
    };
    let (a, z) = (v[0], v[v.len() - 1]);
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        format!("{}{}", a as char, z as char)
    } else {
        let h = hex(v);
        format!("{}{}", &h[..1], &h[h.len() - 1..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of FoxIO's JA4 specification (technical_details/JA4.md).
    #[test]
    fn the_specifications_example() {
        let hello = ClientHello {
            version: 0x0303,
            ciphers: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
                0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01,
                0x000b, 0x000a, 0x0015,
            ],
            server_name: Some("example.com".into()),
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            signature_algorithms: vec![0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
            supported_versions: vec![0x0a0a, 0x0304, 0x0303],
            ..ClientHello::default()
        };
        assert_eq!(hello.ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            hello.ja4_r(),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        let mut no_sigs = hello.clone();
        no_sigs.signature_algorithms.clear();
        assert_eq!(no_sigs.ja4().rsplit('_').next(), Some("6d807ffa2a79"));
    }

    #[test]
    fn alpn_characters_follow_the_specification() {
        for (bytes, want) in [
            (vec![0xab], "ab"),
            (vec![0x20], "20"),
            (vec![0xab, 0xcd], "ad"),
            (vec![0x20, 0x61], "21"),
            (vec![0x30, 0xab], "3b"),
            (vec![0x61, 0x20], "60"),
            (vec![0x30, 0x31, 0xab, 0xcd], "3d"),
            (vec![0x30, 0xab, 0xcd, 0x31], "01"),
            (b"http/1.1".to_vec(), "h1"),
            (b"h".to_vec(), "hh"),
        ] {
            assert_eq!(alpn_chars(Some(&bytes)), want, "{bytes:02x?}");
        }
        assert_eq!(alpn_chars(None), "00");
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a0b) && !is_grease(0x1301));
    }
}

#[cfg(test)]
mod foxio_vectors {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        capture: String,
        stream: String,
        ja4: String,
        client_hello_hex: String,
    }

    /// Where FoxIO's reference implementation and its specification disagree, the
    /// specification is followed: an ALPN value that is not ASCII alphanumeric is shown by the
    /// first and last hex digits of its bytes (`0xba 0xad` → `bd`, JA4.md "ALPN Extension
    /// Value"); the implementation that made the snapshot prints `9` for each non-ASCII
    /// character (`99`).
    const SPEC_OVER_IMPLEMENTATION: &[(&str, &str)] = &[(
        "t13d151699_8daaf6152771_e5627efa2ab1",
        "t13d1516bd_8daaf6152771_e5627efa2ab1",
    )];

    /// FoxIO's own captures and the JA4 its tests publish for each (25 ClientHellos from
    /// browsers, curl, Python, Go, Java, malware and broken clients).
    #[test]
    fn every_foxio_capture_gives_the_published_ja4() {
        let v: Vectors = serde_json::from_str(include_str!("../../shared/data/ja4/foxio-vectors.json")).unwrap();
        assert!(v.vectors.len() >= 20);
        for x in &v.vectors {
            let bytes = hex::decode(&x.client_hello_hex).unwrap();
            let hello = ClientHello::from_records(&bytes).unwrap_or_else(|e| panic!("{} {}: {e}", x.capture, x.stream));
            let want = SPEC_OVER_IMPLEMENTATION
                .iter()
                .find(|(published, _)| *published == x.ja4)
                .map_or(x.ja4.as_str(), |(_, spec)| spec);
            assert_eq!(hello.ja4(), want, "{} {}", x.capture, x.stream);
        }
    }

    #[test]
    fn records_are_reassembled_and_garbage_refused() {
        let v: Vectors = serde_json::from_str(include_str!("../../shared/data/ja4/foxio-vectors.json")).unwrap();
        let bytes = hex::decode(&v.vectors[0].client_hello_hex).unwrap();
        for cut in [0, 3, 5, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(
                handshake_message(&bytes[..cut]).unwrap_err(),
                HelloError::Incomplete,
                "{cut}"
            );
        }
        // The same hello split over two records, as a client may send it.
        let (message, used) = handshake_message(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        let (a, b) = message.split_at(40);
        let mut split = Vec::new();
        for part in [a, b] {
            split.extend_from_slice(&[0x16, 0x03, 0x01]);
            split.extend_from_slice(&(part.len() as u16).to_be_bytes());
            split.extend_from_slice(part);
        }
        assert_eq!(
            ClientHello::from_records(&split).unwrap(),
            ClientHello::from_records(&bytes).unwrap()
        );
        assert_eq!(
            handshake_message(b"GET / HTTP/1.1\r\n").unwrap_err(),
            HelloError::NotTls
        );
    }
}
