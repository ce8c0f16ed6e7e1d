//! Webhook delivery against a `wiremock` receiver: the exact signed request, the outcomes,
//! no redirect followed, and the SSRF refusals (metadata address, loopback, a name resolving
//! to a private address).

use std::collections::HashMap;
use std::net::SocketAddr;

use impressio::processor::delivery::Delivery;
use impressio::processor::outbound::{checked_target, OutboundError, OutboundPolicy, Resolve, SystemResolver};
use impressio::processor::stages::webhook::deliver;
use impressio::processor::webhook_signature::{impressio_signature, standard_signature, WebhookSecret};
use wiremock::matchers::{body_bytes, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const OLD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn secret(s: &str) -> WebhookSecret {
    WebhookSecret::parse(s).unwrap()
}
const BODY: &[u8] = br#"{"event":"signup","visitorId":"v1"}"#;
/// wiremock listens on 127.0.0.1: these deliveries need the local-development allowance.
fn local() -> OutboundPolicy {
    OutboundPolicy::local()
}

/// A resolver that gives chosen names chosen addresses (a DNS answer under test control).
struct Static(HashMap<&'static str, &'static str>);

impl Resolve for Static {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        match self.0.get(host) {
            Some(ip) => Ok(vec![SocketAddr::new(ip.parse().unwrap(), port)]),
            None => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host")),
        }
    }
}

#[tokio::test]
async fn the_request_is_signed_both_ways_and_2xx_codes_are_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/impressio"))
        .and(header("content-type", "application/json"))
        .and(header("user-agent", "Impressio-Webhook/1.0"))
        .and(header(
            "x-impressio-signature",
            impressio_signature(BODY, &secret(SECRET)).as_str(),
        ))
        .and(header("x-impressio-signature-version", "v1"))
        .and(header("webhook-id", "evt_1"))
        .and(header("webhook-timestamp", "1795000000"))
        .and(body_bytes(BODY))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/hooks/impressio", server.uri());
    let d = deliver(
        &url,
        &[secret(SECRET), secret(OLD_SECRET)],
        "evt_1",
        BODY,
        1_795_000_000,
        &SystemResolver,
        &local(),
    )
    .await;
    assert_eq!(d, Delivery::Delivered(202));
    // wiremock's header matcher splits values at commas, so the signature list is compared here.
    let req = &server.received_requests().await.unwrap()[0];
    let expected = format!(
        "{} {}",
        standard_signature("evt_1", 1_795_000_000, BODY, &secret(SECRET)),
        standard_signature("evt_1", 1_795_000_000, BODY, &secret(OLD_SECRET))
    );
    assert_eq!(
        req.headers.get("webhook-signature").unwrap().to_str().unwrap(),
        expected
    );
}

#[tokio::test]
async fn outcomes_by_status_and_no_redirect_followed() {
    let server = MockServer::start().await;
    for (p, status) in [("/ok", 204), ("/gone", 410), ("/busy", 503), ("/odd", 203)] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let go = |p: &str| {
        let url = format!("{}{p}", server.uri());
        async move { deliver(&url, &[secret(SECRET)], "evt", BODY, 1, &SystemResolver, &local()).await }
    };
    assert_eq!(go("/ok").await, Delivery::Delivered(204));
    assert_eq!(go("/gone").await, Delivery::Permanent(Some(410)));
    assert_eq!(go("/busy").await, Delivery::Retryable(Some(503)));
    assert_eq!(go("/odd").await, Delivery::Permanent(Some(203)));
    assert_eq!(go("/moved").await, Delivery::Permanent(Some(302)));
    // Nothing listens here: a connection failure is worth retrying.
    let d = deliver(
        "http://127.0.0.1:9/x",
        &[secret(SECRET)],
        "evt",
        BODY,
        1,
        &SystemResolver,
        &local(),
    )
    .await;
    assert_eq!(d, Delivery::Retryable(None));
}

#[tokio::test]
async fn private_loopback_and_metadata_targets_are_refused() {
    let strict = OutboundPolicy::default();
    let dns = Static(HashMap::from([
        ("hooks.internal.example", "10.0.0.1"),
        ("hooks.public.example", "93.184.216.34"),
    ]));
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1/",
        "http://[::1]/",
        "https://hooks.internal.example/x",
    ] {
        let e = checked_target(url, &dns, &strict).await.unwrap_err();
        assert!(matches!(e, OutboundError::Forbidden { .. }), "{url}: {e}");
        assert_eq!(
            deliver(url, &[secret(SECRET)], "evt", BODY, 1, &dns, &strict).await,
            Delivery::Permanent(None),
            "{url}"
        );
    }
    let e = checked_target("http://localhost/", &SystemResolver, &strict)
        .await
        .unwrap_err();
    assert!(matches!(e, OutboundError::Forbidden { .. }), "{e}");
    assert!(matches!(
        checked_target("ftp://hooks.public.example/", &dns, &strict).await,
        Err(OutboundError::BadUrl(_))
    ));
    let (_, addr) = checked_target("https://hooks.public.example/x", &dns, &strict)
        .await
        .unwrap();
    assert_eq!(addr.to_string(), "93.184.216.34:443");
}
