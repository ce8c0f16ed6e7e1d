//! A local stand-in for CloudFront in front of the edge function: real TLS on 127.0.0.1, and
//! each request forwarded to the edge's Function URL (under `cargo lambda watch`) as the
//! template's distribution would forward it.
//!
//! - **TLS**: rustls with a self-signed certificate made at start (for `localhost` and
//!   `127.0.0.1`; written to a file for the clients to trust). The ClientHello is read off the
//!   connection before rustls sees it (then handed to rustls unchanged), and its JA4 and JA3
//!   computed ([`crate::tls_fingerprint`]), so a real client's real fingerprint reaches the
//!   edge. HTTP/2 and HTTP/1.1 by ALPN.
//! - **Forwarding** ([`ForwardPolicy`], read from `template.yaml`): the viewer headers, cookies
//!   and query strings the cache policy and origin request policy of the matching cache
//!   behavior forward; the `CloudFront-Viewer-*` headers the origin request policy names,
//!   computed from the connection (`-JA4-Fingerprint`, `-JA3-Fingerprint`, `-TLS`,
//!   `-Http-Version`, `-Header-Order`, `-Address`) and from the listener's viewer network
//!   (`-ASN`, `-Country`, `-City`, `-Time-Zone`, `-Latitude`, `-Longitude`); `X-Forwarded-For`,
//!   `Via`, `X-Amz-Cf-Id`; and the origin's custom header (`X-Origin-Verify`) when a secret is
//!   given.
//! - **Viewer networks**: each listener stands for one network ([`Viewer`]: the public address
//!   CloudFront would see, its ASN and location), so clients of one machine can appear as
//!   people on different networks by using different ports.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::tls_fingerprint::{handshake_message, ClientHello, HelloError};

/// The network a listener's clients appear to come from, as CloudFront's geo and ASN
/// databases would describe it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Viewer {
    /// The address CloudFront would see (`CloudFront-Viewer-Address`).
    pub address: IpAddr,
    pub asn: u32,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: String,
    pub time_zone: String,
    /// Degrees.
    pub latitude: f64,
    pub longitude: f64,
}

impl Viewer {
    /// A residential network in the United States (Comcast's ASN, documentation address).
    pub fn residential() -> Self {
        Viewer {
            address: IpAddr::from([198, 51, 100, 23]),
            asn: 7922,
            country: "US".into(),
            city: "Philadelphia".into(),
            time_zone: "America/New_York".into(),
            latitude: 39.9526,
            longitude: -75.1652,
        }
    }
}

/// What CloudFront forwards to the origin for one cache behavior.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BehaviorPolicy {
    /// Viewer headers forwarded (lowercase), `CloudFront-Viewer-*` ones included.
    pub headers: BTreeSet<String>,
    /// Cookies forwarded by name; `None` forwards all.
    pub cookies: Option<BTreeSet<String>>,
    /// Query strings forwarded by name; `None` forwards all.
    pub query: Option<BTreeSet<String>>,
    /// Whether the viewer's `Accept-Encoding` (gzip) is forwarded.
    pub accept_encoding: bool,
}

/// The forwarding rules of the template's distribution: its default behavior and the
/// behaviors of exact paths (`/h.js`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPolicy {
    pub default: BehaviorPolicy,
    pub paths: Vec<(String, BehaviorPolicy)>,
    /// The origin's custom header names (their values are secrets given at start).
    pub origin_custom_headers: Vec<String>,
}

/// Why the template could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("template.yaml is not YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

impl ForwardPolicy {
    /// Reads the distribution's behaviors and their policies from a SAM template.
    ///
    /// # Errors
    /// [`TemplateError`] when the file cannot be read or has no distribution of that shape.
    pub fn from_template(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_template_text(&text)
    }

    /// As [`ForwardPolicy::from_template`], from the template's text.
    ///
    /// # Errors
    /// As [`ForwardPolicy::from_template`].
    pub fn from_template_text(text: &str) -> Result<Self, TemplateError> {
        use serde_yaml_ng::Value;
        let template: Value = serde_yaml_ng::from_str(text)?;
        let resources = &template["Resources"];
        let shape = |m: &str| TemplateError::Shape(m.to_string());
        let (_, distribution) = resources
            .as_mapping()
            .ok_or_else(|| shape("no Resources"))?
            .iter()
            .find(|(_, r)| r["Type"] == "AWS::CloudFront::Distribution")
            .ok_or_else(|| shape("no AWS::CloudFront::Distribution"))?;
        let config = &distribution["Properties"]["DistributionConfig"];
        // `!Ref Name` is a tagged value; the policy is the resource of that name.
        let referenced = |v: &Value| -> Option<Value> {
            let Value::Tagged(t) = v else { return None };
            let name = t.value.as_str()?;
            Some(resources[name]["Properties"].clone())
        };
        let names = |list: &Value| -> BTreeSet<String> {
            list.as_sequence()
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect()
                })
                .unwrap_or_default()
        };
        let behavior = |b: &Value| -> BehaviorPolicy {
            let mut p = BehaviorPolicy {
                cookies: Some(BTreeSet::new()),
                query: Some(BTreeSet::new()),
                ..BehaviorPolicy::default()
            };
            let mut apply = |headers: &Value, cookies: &Value, query: &Value| {
                p.headers.extend(names(&headers["Headers"]));
                match cookies["CookieBehavior"].as_str() {
                    Some("all") => p.cookies = None,
                    Some("whitelist") => {
                        if let Some(c) = p.cookies.as_mut() {
                            c.extend(
                                cookies["Cookies"]
                                    .as_sequence()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|v| v.as_str().map(String::from)),
                            );
                        }
                    }
                    _ => {}
                }
                match query["QueryStringBehavior"].as_str() {
                    Some("all") => p.query = None,
                    Some("whitelist") => {
                        if let Some(q) = p.query.as_mut() {
                            q.extend(
                                query["QueryStrings"]
                                    .as_sequence()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|v| v.as_str().map(String::from)),
                            );
                        }
                    }
                    _ => {}
                }
            };
            if let Some(cache) = referenced(&b["CachePolicyId"]) {
                let params = &cache["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"];
                apply(
                    &params["HeadersConfig"],
                    &params["CookiesConfig"],
                    &params["QueryStringsConfig"],
                );
                p.accept_encoding = params["EnableAcceptEncodingGzip"].as_bool().unwrap_or(false);
            }
            if let Some(origin) = referenced(&b["OriginRequestPolicyId"]) {
                let c = &origin["OriginRequestPolicyConfig"];
                apply(&c["HeadersConfig"], &c["CookiesConfig"], &c["QueryStringsConfig"]);
            }
            p
        };
        let default = behavior(&config["DefaultCacheBehavior"]);
        let paths = config["CacheBehaviors"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|b| Some((b["PathPattern"].as_str()?.to_string(), behavior(b))))
            .collect();
        let origin_custom_headers = config["Origins"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|o| o["OriginCustomHeaders"].as_sequence().into_iter().flatten())
            .filter_map(|h| h["HeaderName"].as_str().map(String::from))
            .collect();
        Ok(ForwardPolicy {
            default,
            paths,
            origin_custom_headers,
        })
    }

    /// The behavior for a path (exact path patterns; anything else the default).
    pub fn behavior(&self, path: &str) -> &BehaviorPolicy {
        self.paths
            .iter()
            .find(|(p, _)| p == path)
            .map_or(&self.default, |(_, b)| b)
    }
}

/// One request as the viewer sent it, with what the connection told about the viewer.
#[derive(Debug, Clone)]
pub struct ViewerRequest {
    pub method: http::Method,
    pub path: String,
    pub query: Option<String>,
    /// Headers in the order sent, names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub tls: TlsFacts,
    /// `1.1` or `2.0`.
    pub http_version: &'static str,
    pub client_port: u16,
}

/// What the TLS connection showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    pub ja4: String,
    pub ja3: String,
    /// `CloudFront-Viewer-TLS`: `<version>:<cipher>:<fullHandshake|sessionResumed>`.
    pub tls: String,
}

/// The request CloudFront would send the origin: path and query, headers in order.
pub fn origin_request(
    req: &ViewerRequest,
    policy: &ForwardPolicy,
    viewer: &Viewer,
    custom_headers: &[(String, String)],
) -> (String, Vec<(String, String)>) {
    let behavior = policy.behavior(&req.path);
    let query = req.query.as_deref().map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .filter(|(k, _)| {
                behavior
                    .query
                    .as_ref()
                    .is_none_or(|allowed| allowed.contains(k.as_ref()))
            })
            .fold(url::form_urlencoded::Serializer::new(String::new()), |mut s, (k, v)| {
                s.append_pair(&k, &v);
                s
            })
            .finish()
    });
    let target = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{}?{q}", req.path),
        None => req.path.clone(),
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in &req.headers {
        if name == "cookie" {
            let kept: Vec<String> = value
                .split(';')
                .map(str::trim)
                .filter(|c| {
                    let n = c.split('=').next().unwrap_or("");
                    behavior.cookies.as_ref().is_none_or(|allowed| allowed.contains(n))
                })
                .map(String::from)
                .collect();
            if !kept.is_empty() {
                out.push(("cookie".into(), kept.join("; ")));
            }
        } else if name == "accept-encoding" && behavior.accept_encoding {
            let gzip = value.split(',').any(|e| e.trim().split(';').next() == Some("gzip"));
            if gzip {
                out.push(("accept-encoding".into(), "gzip".into()));
            }
        } else if behavior.headers.contains(name) && !name.starts_with("cloudfront-") {
            out.push((name.clone(), value.clone()));
        }
    }
    let order: Vec<&str> = req.headers.iter().map(|(n, _)| n.as_str()).collect();
    let address = match viewer.address {
        IpAddr::V4(a) => format!("{a}:{}", req.client_port),
        IpAddr::V6(a) => format!("[{a}]:{}", req.client_port),
    };
    let viewer_headers = [
        ("cloudfront-viewer-ja4-fingerprint", req.tls.ja4.clone()),
        ("cloudfront-viewer-ja3-fingerprint", req.tls.ja3.clone()),
        ("cloudfront-viewer-tls", req.tls.tls.clone()),
        ("cloudfront-viewer-http-version", req.http_version.to_string()),
        ("cloudfront-viewer-header-order", order.join(":")),
        ("cloudfront-viewer-header-count", order.len().to_string()),
        ("cloudfront-viewer-address", address),
        ("cloudfront-viewer-asn", viewer.asn.to_string()),
        ("cloudfront-viewer-country", viewer.country.clone()),
        ("cloudfront-viewer-city", viewer.city.clone()),
        ("cloudfront-viewer-time-zone", viewer.time_zone.clone()),
        ("cloudfront-viewer-latitude", format!("{:.4}", viewer.latitude)),
        ("cloudfront-viewer-longitude", format!("{:.4}", viewer.longitude)),
    ];
    for (name, value) in viewer_headers {
        if behavior.headers.contains(name) {
            out.push((name.to_string(), value));
        }
    }
    out.push(("x-forwarded-for".into(), viewer.address.to_string()));
    out.push(("via".into(), "2.0 local.cloudfront.net (CloudFront)".into()));
    out.push(("x-amz-cf-id".into(), uuid::Uuid::new_v4().simple().to_string()));
    out.extend(custom_headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())));
    (target, out)
}

/// The local CloudFront's TLS identity: a self-signed certificate for `localhost` and
/// `127.0.0.1`, made at start. Clients trust it by its PEM (curl `--cacert`, Python
/// `verify=`) or, Chromium, by its public key's hash
/// (`--ignore-certificate-errors-spki-list`).
#[derive(Clone)]
pub struct Identity {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// Base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo.
    pub spki_sha256: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("spki_sha256", &self.spki_sha256)
            .finish()
    }
}

impl Identity {
    /// A new self-signed certificate and key.
    ///
    /// # Errors
    /// [`StartError::Certificate`] when it cannot be made.
    pub fn generate() -> Result<Self, StartError> {
        use base64::Engine;
        use sha2::Digest;
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(|e| StartError::Certificate(e.to_string()))?;
        use rcgen::PublicKeyData;
        let spki = sha2::Sha256::digest(made.signing_key.subject_public_key_info());
        Ok(Identity {
            certificate_pem: made.cert.pem(),
            spki_sha256: base64::engine::general_purpose::STANDARD.encode(spki),
            cert: made.cert.der().clone(),
            key: made.signing_key.serialize_der(),
        })
    }

    /// A rustls server configuration with this identity, offering `alpn` (in order).
    ///
    /// # Errors
    /// [`StartError::Tls`] when rustls refuses the key.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<rustls::ServerConfig, StartError> {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key.clone().into());
        let mut tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)?;
        tls.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
        tls.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()?;
        Ok(tls)
    }
}

/// What the local CloudFront needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The TLS certificate and key.
    pub identity: Identity,
    /// Where to listen, each address with the network its clients appear to come from.
    pub listeners: Vec<(SocketAddr, Viewer)>,
    /// The origin's base URL, e.g. `http://127.0.0.1:9001/lambda-url/edge`.
    pub origin: String,
    pub policy: ForwardPolicy,
    /// Values of the origin's custom headers (`X-Origin-Verify`), by name.
    pub custom_headers: Vec<(String, String)>,
    /// Print one JSON line per request to stdout: what the viewer sent and what went on.
    pub log_requests: bool,
}

/// A running local CloudFront.
pub struct Running {
    /// The bound addresses, in the order of [`Config::listeners`] (a port 0 gets one).
    pub addresses: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Why the local CloudFront could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Starts the listeners; each serves until the [`Running`] is dropped.
///
/// # Errors
/// [`StartError`] when the certificate, the TLS configuration or a listener cannot be made.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let tls = config.identity.server_config(&[b"h2", b"http/1.1"])?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let shared = Arc::new((
        config.policy,
        config.origin,
        config.custom_headers,
        client,
        config.log_requests,
    ));
    let mut addresses = Vec::new();
    let mut tasks = Vec::new();
    for (addr, viewer) in config.listeners {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        addresses.push(
            listener
                .local_addr()
                .map_err(|source| StartError::Listen { addr, source })?,
        );
        let (acceptor, shared, viewer) = (acceptor.clone(), shared.clone(), Arc::new(viewer));
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, shared, viewer) = (acceptor.clone(), shared.clone(), viewer.clone());
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(tcp, peer, acceptor, shared, viewer).await {
                        eprintln!("local-cloudfront: connection from {peer}: {e}");
                    }
                });
            }
        }));
    }
    Ok(Running { addresses, tasks })
}

type Shared = Arc<(
    ForwardPolicy,
    String,
    Vec<(String, String)>,
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    bool,
)>;

/// Reads the ClientHello off the connection (keeping the bytes), completes TLS with rustls on
/// those bytes and the rest, and serves HTTP/1.1 or HTTP/2 on it.
async fn serve_connection(
    mut tcp: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Shared,
    viewer: Arc<Viewer>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut first = Vec::new();
    let hello = loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read(&mut chunk)).await??;
        if n == 0 {
            return Ok(());
        }
        first.extend_from_slice(&chunk[..n]);
        match handshake_message(&first) {
            Ok((message, _)) => break ClientHello::from_handshake(&message)?,
            Err(HelloError::Incomplete) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let (ja4, ja3) = (hello.ja4(), hello.ja3());
    let stream = acceptor
        .accept(Prefixed {
            prefix: first,
            at: 0,
            inner: tcp,
        })
        .await?;
    let (_, conn) = stream.get_ref();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "unknown",
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .and_then(|c| c.suite().as_str())
        .map_or("unknown", cloudfront_cipher_name)
        .to_string();
    let handshake = match conn.handshake_kind() {
        Some(rustls::HandshakeKind::Resumed) => "sessionResumed",
        _ => "fullHandshake",
    };
    let tls = TlsFacts {
        ja4,
        ja3,
        tls: format!("{version}:{cipher}:{handshake}"),
    };
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (shared, viewer, tls) = (shared.clone(), viewer.clone(), tls.clone());
        async move { Ok::<_, std::convert::Infallible>(forward(req, peer, &shared, &viewer, tls).await) }
    });
    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service)
        .await
}

async fn forward(
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
    viewer: &Viewer,
    tls: TlsFacts,
) -> hyper::Response<Full<Bytes>> {
    let (policy, origin, custom, client, log) = &**shared;
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return text(400, &format!("unreadable request body: {e}")),
    };
    let viewer_request = ViewerRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        tls,
        http_version: if parts.version == http::Version::HTTP_2 {
            "2.0"
        } else {
            "1.1"
        },
        client_port: peer.port(),
    };
    let (target, headers) = origin_request(&viewer_request, policy, viewer, custom);
    if *log {
        println!(
            "{}",
            serde_json::json!({"method": viewer_request.method.as_str(), "path": viewer_request.path,
                "http_version": viewer_request.http_version, "ja4": viewer_request.tls.ja4, "ja3": viewer_request.tls.ja3,
                "tls": viewer_request.tls.tls, "headers": viewer_request.headers})
        );
    }
    let mut builder = hyper::Request::builder()
        .method(viewer_request.method.clone())
        .uri(format!("{}{target}", origin.trim_end_matches('/')));
    for (k, v) in &headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let Ok(out) = builder.body(Full::new(viewer_request.body.clone())) else {
        return text(400, "the request cannot be forwarded");
    };
    match client.request(out).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let mut back = hyper::Response::builder().status(parts.status);
            for (k, v) in &parts.headers {
                if !matches!(
                    k.as_str(),
                    "connection" | "transfer-encoding" | "keep-alive" | "content-length"
                ) {
                    back = back.header(k, v);
                }
            }
            back.body(Full::new(bytes))
                .unwrap_or_else(|_| text(502, "bad origin answer"))
        }
        Err(e) => text(502, &format!("the origin did not answer: {e}")),
    }
}

/// A cipher suite as `CloudFront-Viewer-TLS` names it (OpenSSL's names; TLS 1.3 suites by
/// their IANA names), from rustls's name.
fn cloudfront_cipher_name(rustls_name: &str) -> &str {
    match rustls_name {
        "TLS13_AES_128_GCM_SHA256" => "TLS_AES_128_GCM_SHA256",
        "TLS13_AES_256_GCM_SHA384" => "TLS_AES_256_GCM_SHA384",
        "TLS13_CHACHA20_POLY1305_SHA256" => "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => "ECDHE-RSA-CHACHA20-POLY1305",
        other => other,
    }
}

fn text(status: u16, message: &str) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(message.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r
}

/// A stream that first yields bytes already read from `inner`.
struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = buf.remaining().min(self.prefix.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_policy() -> ForwardPolicy {
        ForwardPolicy::from_template_text(include_str!("../../template.yaml")).unwrap()
    }

    #[test]
    fn the_templates_policies_are_read() {
        let p = template_policy();
        for h in [
            "user-agent",
            "accept-language",
            "origin",
            "cloudfront-viewer-ja4-fingerprint",
            "cloudfront-viewer-header-order",
        ] {
            assert!(p.default.headers.contains(h), "{h}: {:?}", p.default.headers);
        }
        assert!(!p.default.headers.contains("accept"), "Accept is not forwarded");
        assert_eq!(p.default.query, None, "all query strings");
        assert_eq!(p.default.cookies.as_ref().map(|c| c.len()), Some(2));
        let script = p.behavior("/h.js");
        assert!(script.accept_encoding && script.headers.is_empty());
        assert_eq!(
            script.query.as_ref().map(|q| q.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["organizationId".to_string()])
        );
        assert_eq!(p.origin_custom_headers, ["X-Origin-Verify"]);
    }

    #[test]
    fn a_request_is_forwarded_as_the_policies_say() {
        let p = template_policy();
        let req = ViewerRequest {
            method: http::Method::POST,
            path: "/t".into(),
            query: Some("organizationId=o&x=1".into()),
            headers: vec![
                ("user-agent".into(), "curl/7.88.1".into()),
                ("accept".into(), "*/*".into()),
                ("cookie".into(), "_impdp=d1.x; other=1; _imp_ct=5".into()),
                ("cloudfront-viewer-asn".into(), "forged by the client".into()),
            ],
            body: Bytes::new(),
            tls: TlsFacts {
                ja4: "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6".into(),
                ja3: "abc".into(),
                tls: "TLSv1.3:TLS_AES_256_GCM_SHA384:fullHandshake".into(),
            },
            http_version: "2.0",
            client_port: 51234,
        };
        let (target, headers) = origin_request(
            &req,
            &p,
            &Viewer::residential(),
            &[("X-Origin-Verify".into(), "s".into())],
        );
        assert_eq!(target, "/t?organizationId=o&x=1");
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("user-agent"), Some("curl/7.88.1"));
        assert_eq!(get("accept"), None);
        assert_eq!(get("cookie"), Some("_impdp=d1.x; _imp_ct=5"));
        assert_eq!(
            get("cloudfront-viewer-asn"),
            Some("7922"),
            "the viewer's own value never passes"
        );
        assert_eq!(
            get("cloudfront-viewer-ja4-fingerprint"),
            Some("t13d3112h2_e8f1e7e78f70_b26ce05bbdd6")
        );
        assert_eq!(
            get("cloudfront-viewer-header-order"),
            Some("user-agent:accept:cookie:cloudfront-viewer-asn")
        );
        assert_eq!(get("cloudfront-viewer-address"), Some("198.51.100.23:51234"));
        assert_eq!(get("cloudfront-viewer-http-version"), Some("2.0"));
        assert_eq!(
            get("cloudfront-viewer-header-count"),
            None,
            "not in the template's policies"
        );
        assert_eq!(get("x-origin-verify"), Some("s"));
        let (script, _) = origin_request(
            &ViewerRequest {
                path: "/h.js".into(),
                ..req
            },
            &p,
            &Viewer::residential(),
            &[],
        );
        assert_eq!(script, "/h.js?organizationId=o");
    }
}
