//! The DynamoDB round trips of each kind of edge request, measured through a proxy that holds
//! every call for a fixed delay ([`tools::latency_proxy`]) in front of the test moto server:
//! a new visitor's `/t`, the same visitor returning with its domainprint cookie, a pixel from
//! a new visitor, a `/t` from a blacklisted IP, and a repeated message. Shared by the test that
//! holds the counts (`tests/tests/it/round_trips.rs`) and the benchmark that reports their
//! latency (`src/bin/round-trips.rs`).

use std::time::{Duration, Instant};

use impressio::behavior::keys::Identifiers;
use impressio::behavior::rules::Block;
use impressio::behavior::store::BehaviorStore;
use impressio::config::EdgeConfig;
use impressio::fraud::FraudConfig;
use serde_json::json;
use tools::latency_proxy::{ended_by, round_trips, LatencyProxy};

use crate::harness::{cloudfront_track, with_chrome_headers, Answer, Harness, TEST_NOW_MS};

/// The kinds of request measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestPath {
    /// `/t` with a fingerprint never seen and no cookie: the visitor is created.
    New,
    /// `/t` with the cookie the new visitor's answer set, and the same fingerprint.
    Returning,
    /// `GET /p.gif` with a fingerprint never seen and no cookie.
    Pixel,
    /// `/t` from an IP with an unexpired blacklist entry: answered 429.
    Blacklisted,
    /// `/t` with a `messageId` stored before: answered with the first event.
    RepeatedMessage,
}

impl RequestPath {
    /// Every path, in the order they are measured.
    pub const ALL: [RequestPath; 5] = [
        RequestPath::New,
        RequestPath::Returning,
        RequestPath::Pixel,
        RequestPath::Blacklisted,
        RequestPath::RepeatedMessage,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            RequestPath::New => "new visitor /t",
            RequestPath::Returning => "returning visitor /t (domainprint cookie)",
            RequestPath::Pixel => "pixel (new visitor)",
            RequestPath::Blacklisted => "blacklisted /t",
            RequestPath::RepeatedMessage => "repeated message /t",
        }
    }
}

/// One request as measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub path: RequestPath,
    /// The answer's HTTP status.
    pub status: u16,
    /// Sequential DynamoDB round trips before the answer.
    pub round_trips: usize,
    /// The DynamoDB operations that ended before the answer, in the order they ended.
    pub operations: Vec<String>,
    /// DynamoDB calls made after the answer (deferred work, [`edge::after`]).
    pub after_answer: usize,
    /// From handing the payload to the function to its answer.
    pub latency: Duration,
}

/// An edge app on a fresh moto table, calling DynamoDB through a delaying proxy.
pub struct RoundTrips {
    pub harness: Harness,
    pub proxy: LatencyProxy,
    blacklisted_ip: String,
}

/// The blacklisted IP's block.
fn block() -> Block {
    Block {
        request_id: "round-trips-setup".into(),
        visitor_id: None,
        blocks_visitor: true,
        scope: impressio::behavior::keys::BlockScope::Client,
        detection_type: "ip_rate".into(),
        reason: "set up by the round-trip measurement".into(),
        breakdown_json: "{}".into(),
        score: 100.0,
    }
}

impl RoundTrips {
    /// Starts the proxy (holding each call `delay`) in front of the test moto server, an app on
    /// a new table behind it, and blacklists one IP for the blacklisted path.
    ///
    /// # Panics
    /// When moto server is not reachable or the setup writes fail.
    pub async fn start(delay: Duration) -> RoundTrips {
        let proxy = LatencyProxy::start(&tools::moto_endpoint(), delay)
            .await
            .expect("a loopback port for the proxy");
        // Observing: the many requests of one JA4 and clock instant are scored, never blocked
        // (a block is one more write in the same concurrent round).
        let config = EdgeConfig {
            fraud: FraudConfig::with_override(r#"{"mode": "observe"}"#).expect("fraud config"),
            ..EdgeConfig::default()
        };
        let harness = Harness::through(config, &proxy.endpoint).await;
        let blacklisted_ip = "192.0.2.66".to_string();
        let ids = Identifiers {
            organization_id: "org_demo_free".into(),
            fingerprint: None,
            ip: Some(blacklisted_ip.parse().expect("an IP")),
            ja4: None,
            ja4_is_tool: false,
            visitor: None,
            address: None,
            retention_days: None,
        };
        harness
            .app
            .behavior
            .block(&ids, &[], &block(), TEST_NOW_MS, &harness.app.config.fraud)
            .await
            .expect("the blacklist entry is written");
        RoundTrips {
            harness,
            proxy,
            blacklisted_ip,
        }
    }

    /// Sends `payload` and measures it.
    async fn measure(&self, path: RequestPath, payload: &str) -> (Measured, Answer) {
        self.proxy.clear();
        let started = Instant::now();
        let answer = self.harness.answer(payload).await;
        let answered = Instant::now();
        self.harness.app.after_response.finish().await;
        let calls = self.proxy.calls();
        let before = ended_by(&calls, answered);
        (
            Measured {
                path,
                status: answer.status,
                round_trips: round_trips(&before),
                operations: before.iter().map(|c| c.operation.clone()).collect(),
                after_answer: calls.len() - before.len(),
                latency: answered - started,
            },
            answer,
        )
    }

    /// Measures each path once; `i` makes the identifiers (fingerprint, IP, message id) of this
    /// round its own, so that no round sees another's visitor or counts.
    ///
    /// # Panics
    /// When a request is not answered as its path expects (a 200 for the stored ones, a 429
    /// for the blacklisted one), or the new visitor's answer sets no cookie.
    pub async fn round(&self, i: usize) -> Vec<Measured> {
        let ip = format!("198.18.{}.{}", i / 250, i % 250 + 1);
        let fingerprint = format!("fpRoundTrips{i:05}aaaaaaaa");
        let track = |ip: &str, fp: &str, cookie: Option<&str>, message: Option<&str>| {
            let mut body = json!({"organizationId": "org_demo_free", "event": "page_view", "fingerprint": fp});
            if let Some(m) = message {
                body["messageId"] = json!(m);
            }
            let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
            cloudfront_track(ip, &headers, &body)
        };
        let mut out = Vec::new();

        let (new, answer) = self
            .measure(RequestPath::New, &track(&ip, &fingerprint, None, None))
            .await;
        assert_eq!(new.status, 200, "{}", answer.json());
        let cookie = answer
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a new visitor's answer sets the domainprint cookie")
            .to_string();
        out.push(new);

        let (returning, answer) = self
            .measure(RequestPath::Returning, &track(&ip, &fingerprint, Some(&cookie), None))
            .await;
        assert_eq!(returning.status, 200, "{}", answer.json());
        assert_eq!(answer.json()["identity"]["method"], "cookie_and_fingerprint");
        out.push(returning);

        let pixel_query = format!("organizationId=org_demo_free&event=page_view&fingerprint=fpPixel{i:05}bbbbbbbb");
        let (pixel, _) = self
            .measure(RequestPath::Pixel, &pixel_request(&ip, &pixel_query))
            .await;
        assert_eq!(pixel.status, 200);
        out.push(pixel);

        let (blacklisted, answer) = self
            .measure(
                RequestPath::Blacklisted,
                &track(&self.blacklisted_ip, &format!("{fingerprint}bl"), None, None),
            )
            .await;
        assert_eq!(blacklisted.status, 429, "{}", answer.json());
        out.push(blacklisted);

        let message = format!("round-trips-{i}");
        let first = self
            .harness
            .invoke(&track(&ip, &fingerprint, Some(&cookie), Some(&message)))
            .await;
        assert_eq!(first.status, 200, "{}", first.json());
        let (repeated, answer) = self
            .measure(
                RequestPath::RepeatedMessage,
                &track(&ip, &fingerprint, Some(&cookie), Some(&message)),
            )
            .await;
        assert_eq!(repeated.status, 200, "{}", answer.json());
        assert_eq!(answer.json()["duplicate"], true, "{}", answer.json());
        out.push(repeated);
        out
    }
}

/// A `GET /p.gif?<query>` from Chrome on `ip`, embedded in a page of `https://shop.example`.
fn pixel_request(ip: &str, query: &str) -> String {
    let mut h = serde_json::Map::new();
    for (k, v) in with_chrome_headers(&[("Referer", "https://shop.example/")]) {
        h.insert(k.to_ascii_lowercase(), json!([{"key": k, "value": v}]));
    }
    json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": ip, "method": "GET",
        "uri": "/p.gif", "querystring": query, "headers": h}}}]})
    .to_string()
}
