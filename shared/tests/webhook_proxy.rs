//! Webhook deliveries ignore the proxy variables. Alone in its test binary: it sets
//! `HTTP_PROXY` and friends for the whole process, which no other test may see change.

use impressio::processor::delivery::Delivery;
use impressio::processor::outbound::{OutboundPolicy, SystemResolver};
use impressio::processor::stages::webhook::deliver;
use impressio::processor::webhook_signature::WebhookSecret;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BODY: &[u8] = br#"{"event":"signup"}"#;

/// A proxy from the environment is never used for a customer's URL: the connection goes to the
/// checked address itself (a proxy would connect to an address no check has seen).
#[tokio::test]
async fn the_proxy_variables_are_ignored() {
    let target = MockServer::start().await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&target)
        .await;
    let proxy = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&proxy)
        .await;
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        std::env::set_var(var, proxy.uri());
    }
    let url = format!("{}/hook", target.uri());
    let d = deliver(
        &url,
        &[WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()],
        "evt_p",
        BODY,
        1,
        &SystemResolver,
        &OutboundPolicy::local(),
    )
    .await;
    assert_eq!(d, Delivery::Delivered(204));
}
