//! One trust store for every TLS client of the functions: Mozilla's root certificates as the
//! rustls project's `webpki-root-certs` crate compiles them in, shared by
//! the DynamoDB client ([`sdk_http_client`]) and every reqwest client ([`http_client`]: Supabase,
//! Upstash, GA4, push, webhooks).
//!
//! Why: each client used to read the system's roots on its own at init — the AWS SDK's
//! (`rustls-native-certs`: the bundle file, then every file of `/etc/ssl/certs`, about 300 PEM
//! parses here) and reqwest's (the platform verifier, the same again) — so a cold start read
//! and parsed them two or three times (`scripts/bench-cold-start.sh`, docs/performance.md).
//! Compiled in, the roots cost no file: one parse of the DER certificates for reqwest; the
//! SDK, whose client only accepts PEM (and decodes it slowly), gets only the five roots AWS
//! endpoints chain to. The list is Mozilla's CA program's, updated with the crates; a deployment behind a
//! private CA would need its certificate added here.

use std::sync::{Arc, LazyLock};

use base64::Engine;

/// The ALPN protocols offered: HTTP/2, then HTTP/1.1 (reqwest speaks both; with a
/// preconfigured TLS configuration it leaves ALPN to it).
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

static CLIENT_CONFIG: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
});

/// The TLS configuration of every reqwest client: TLS 1.2 and 1.3 with aws-lc-rs, the
/// compiled-in roots, ALPN `h2` then `http/1.1`. Built once per process.
pub fn client_config() -> rustls::ClientConfig {
    CLIENT_CONFIG.as_ref().clone()
}

/// A reqwest client builder with [`client_config`]: what every HTTP client of the functions
/// starts from.
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().use_preconfigured_tls(client_config())
}

/// What the subjects of the roots AWS service endpoints chain to contain: Amazon Trust
/// Services' Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority - G2
/// (the AWS documentation's list for its service certificates).
const AWS_ROOT_SUBJECTS: [&[u8]; 2] = [
    b"Amazon Root CA ",
    b"Starfield Services Root Certificate Authority - G2",
];

/// The roots the DynamoDB client trusts, as PEM (its HTTPS client only accepts PEM, and parses
/// it with constant-time base64: about 40 % of the edge's init for all 118 Mozilla roots, a
/// profile showed): only those of [`AWS_ROOT_SUBJECTS`], which every AWS endpoint chains to.
/// Built once per process.
fn aws_roots_pem() -> Vec<u8> {
    static PEM: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = String::new();
        for cert in aws_roots() {
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            let text = b64.encode(cert.as_ref());
            for line in text.as_bytes().chunks(64) {
                out.push_str(std::str::from_utf8(line).unwrap_or_default());
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out.into_bytes()
    });
    PEM.clone()
}

/// The compiled-in roots whose DER names one of [`AWS_ROOT_SUBJECTS`] (a root's subject is
/// its issuer: the name appears twice in it, and nowhere in other roots).
fn aws_roots() -> impl Iterator<Item = &'static rustls::pki_types::CertificateDer<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter(|cert| {
        AWS_ROOT_SUBJECTS
            .iter()
            .any(|name| cert.as_ref().windows(name.len()).any(|w| w == *name))
    })
}

/// The AWS SDK's HTTPS client (hyper 1, rustls with aws-lc-rs) trusting the compiled-in roots
/// AWS endpoints chain to, instead of reading the system's.
///
/// # Errors
/// When the SDK refuses the trust store (it parses the PEM).
pub fn sdk_http_client() -> Result<aws_sdk_dynamodb::config::SharedHttpClient, aws_smithy_http_client::HttpClientError>
{
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let context = TlsContext::builder()
        .with_trust_store(
            TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(aws_roots_pem()),
        )
        .build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_trusts_the_five_aws_roots_and_reqwest_all_of_mozillas() {
        let expected = [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ];
        assert_eq!(aws_roots().count(), expected.len());
        for name in expected {
            let holding = aws_roots()
                .filter(|c| c.as_ref().windows(name.len()).any(|w| w == name.as_bytes()))
                .count();
            assert_eq!(holding, 1, "{name}");
        }
        let pem = String::from_utf8(aws_roots_pem()).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert!(sdk_http_client().is_ok(), "the SDK accepts the PEM");
        // Every compiled-in certificate is a usable trust anchor for reqwest.
        let certs = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        assert!(certs > 100, "{certs} roots");
        let mut store = rustls::RootCertStore::empty();
        let (added, ignored) =
            store.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        assert_eq!((added, ignored), (certs, 0));
        assert_eq!(
            client_config().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
