//! The local CloudFront of the tests and the local stack's tools ([`crate::cloudfront`]), run
//! in-process in front of the edge's Function URL: real TLS on 127.0.0.1, each client's real
//! ClientHello turned into the JA4 and JA3 the edge reads, and the template's forwarding.
//!
//! One TLS identity per process ([`identity`]): the test sites ([`crate::site`]) serve under it
//! too, and every Chromium the helpers start trusts it by its public key's hash. The servers
//! run on a runtime of their own ([`background`]), so that one started by a test outlives that
//! test's runtime when it is shared ([`shared`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::cloudfront::{Config, ForwardPolicy, Identity, Running, Viewer};

/// The runtime the local CloudFronts of this process serve on.
///
/// # Panics
/// When the runtime cannot be built.
pub fn background() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("local-cloudfront")
            .enable_all()
            .build()
            .expect("the local CloudFront's runtime")
    })
}

/// The process's TLS identity: a self-signed certificate for `localhost` and `127.0.0.1`.
///
/// # Panics
/// When the certificate cannot be made.
pub fn identity() -> &'static Identity {
    static IDENTITY: OnceLock<Identity> = OnceLock::new();
    IDENTITY.get_or_init(|| Identity::generate().expect("a self-signed certificate"))
}

/// The certificate of [`identity`] as a PEM file, for clients that trust a file (curl
/// `--cacert`, Python `verify=`, Node `NODE_EXTRA_CA_CERTS`, wget `--ca-certificate`).
///
/// # Panics
/// When the file cannot be written.
pub fn certificate_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("impressio-local-cloudfront-{}.pem", std::process::id()));
        std::fs::write(&path, &identity().certificate_pem).expect("write the certificate");
        path
    })
}

/// A running local CloudFront: one listener per viewer network.
pub struct LocalCloudFront {
    /// The listeners' addresses, in the order of the viewers given to [`LocalCloudFront::start`].
    pub addresses: Vec<SocketAddr>,
    _running: Running,
}

impl LocalCloudFront {
    /// Starts a local CloudFront in front of `origin` (the edge's Function URL base, e.g.
    /// `http://127.0.0.1:9001/lambda-url/edge`) with a listener on a free port of 127.0.0.1
    /// for each of `viewers`, forwarding as `template.yaml` says. It stops when dropped.
    ///
    /// # Panics
    /// When the template cannot be read or a listener cannot be bound.
    pub async fn start(origin: &str, viewers: Vec<Viewer>) -> Self {
        let policy = ForwardPolicy::from_template(&crate::workspace_root().join("template.yaml"))
            .expect("template.yaml's cache and origin request policies");
        let config = Config {
            identity: identity().clone(),
            listeners: viewers
                .into_iter()
                .map(|v| (SocketAddr::from(([127, 0, 0, 1], 0)), v))
                .collect(),
            origin: origin.trim_end_matches('/').to_string(),
            policy,
            custom_headers: Vec::new(),
            log_requests: false,
        };
        let running = background()
            .spawn(crate::cloudfront::start(config))
            .await
            .expect("the local CloudFront's start task")
            .expect("the local CloudFront starts");
        LocalCloudFront {
            addresses: running.addresses.clone(),
            _running: running,
        }
    }

    /// The base URL of listener `i`: `https://localhost:<port>`.
    ///
    /// # Panics
    /// When there is no listener `i`.
    pub fn url(&self, i: usize) -> String {
        format!("https://localhost:{}", self.addresses[i].port())
    }
}

/// The process's shared local CloudFront: one residential listener in front of
/// `origin` (the first caller's), started on first use and kept until the process ends.
///
/// # Panics
/// When the CloudFront cannot start.
pub async fn shared(origin: &str) -> &'static LocalCloudFront {
    static SHARED: tokio::sync::OnceCell<LocalCloudFront> = tokio::sync::OnceCell::const_new();
    SHARED
        .get_or_init(|| async { LocalCloudFront::start(origin, vec![Viewer::residential()]).await })
        .await
}

/// A residential viewer at an address of the documentation ranges (198.51.100.0/24,
/// 203.0.113.0/24) no other viewer of this process has, so that the edge's per-IP state (IP
/// rate, blacklist, JA4 clustering) of one client is not another's.
pub fn fresh_viewer() -> Viewer {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // A random start per process: runs against one long-lived table do not share addresses
    // either, but for one chance in a few hundred.
    static START: OnceLock<u16> = OnceLock::new();
    let start = *START.get_or_init(|| fastrand::u16(0..508));
    let n = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % 508;
    // Hosts 1–254 of each /24.
    let host = (n % 254 + 1) as u8;
    let net = if n < 254 { [198, 51, 100] } else { [203, 0, 113] };
    Viewer {
        address: std::net::IpAddr::from([net[0], net[1], net[2], host]),
        ..Viewer::residential()
    }
}
