//! The local stack's browser step: serves an HTTPS page on localhost that embeds the
//! behavioral bundle (`/h-pro.js`) of the running edge, reached through the local CloudFront,
//! and names the site's service worker; loads it in headless Chromium (through chromedriver),
//! types into the page's form and sends a `form_submit`, waits for both events in DynamoDB,
//! prints what was stored (identity, transport, risk and the interaction evidence) and saves a
//! screenshot.
//!
//! Usage: `browser-demo --edge URL --trust-spki HASH --webdriver URL --table NAME --screenshot
//! FILE`: `--edge` is the local CloudFront's URL (`https://localhost:8443`) and `--trust-spki`
//! its certificate's key hash (the `spki_sha256` it prints). The DynamoDB endpoint comes from
//! the standard AWS settings (`AWS_ENDPOINT_URL_DYNAMODB`).

use std::time::Duration;

use impressio::event::EventRecord;
use tools::browser::{unique_path, Browser, BrowserConfig, SiteOptions, TestSite};

/// The events stored for `url` once there are `n`, polled for up to `timeout`; `None` when
/// none arrived.
async fn page_events(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    url: &str,
    n: usize,
    timeout: Duration,
) -> Option<Vec<EventRecord>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let events = tools::browser::page_events(client, table, url).await;
        if events.len() >= n || (!events.is_empty() && std::time::Instant::now() > deadline) {
            return Some(events);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn arg(args: &[String], name: &str) -> Result<String, String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .ok_or_else(|| {
            format!("{name} is required (browser-demo --edge URL --trust-spki HASH --webdriver URL --table NAME --screenshot FILE)")
        })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let edge = arg(&args, "--edge")?;
    let webdriver = arg(&args, "--webdriver")?;
    let table = arg(&args, "--table")?;
    let screenshot = arg(&args, "--screenshot")?;
    let spki = arg(&args, "--trust-spki")?;
    // The browser helpers read it.
    std::env::set_var(tools::browser::WEBDRIVER_URL_VAR, &webdriver);

    let client = impressio::store::dynamo::client_with_timeouts(
        impressio::store::dynamo::DynamoTimeouts::from_lookup(|k| std::env::var(k).ok()),
        None,
    )
    .await;
    let site = TestSite::start_with(
        edge.trim_end_matches('/'),
        SiteOptions {
            bundle: "h-pro.js",
            service_worker: true,
            wait_for_consent: false,
        },
    )
    .await;
    let url = site.url(&unique_path("demo"));
    println!("page: {url}");
    let browser = Browser::launch(&BrowserConfig {
        trusted_spki: vec![spki],
        ..BrowserConfig::default()
    })
    .await;
    browser.open(&url).await;
    // The new collector reports its first send; the current one does not: DynamoDB tells.
    match browser.ready().await {
        Some(r) => println!("the page computed fingerprint {} (sent: {})", r.fingerprint, r.sent),
        None => println!("the collector has no window.impressio.ready: waiting for DynamoDB"),
    }
    // A visitor types a name into the form and submits it.
    let field = browser.client().find(fantoccini::Locator::Id("name")).await?;
    field.send_keys("Ada Lovelace").await?;
    let sent = browser
        .client()
        .execute_async(
            r#"var done = arguments[arguments.length - 1];
               window.impressio.track("form_submit").then(done, function () { done(false); });"#,
            vec![],
        )
        .await?;
    println!("form_submit sent: {sent}");
    let png = browser.screenshot().await;
    std::fs::write(&screenshot, png)?;
    let stored = page_events(&client, &table, &url, 2, Duration::from_secs(30)).await;
    browser.close().await;
    let events = stored.ok_or_else(|| {
        format!(
            "no event stored for {url} within 30 s: the edge refused the page view before storing it \
             (an IP blacklisted by an earlier block is answered 429 with no event; see the watch log)"
        )
    })?;

    for e in &events {
        let identity = e.identity.as_ref();
        let risk = e.risk.as_ref();
        println!("stored {} (request {})", e.event_name, e.request_id);
        println!(
            "  fingerprint:     {}",
            e.fingerprint.as_deref().unwrap_or("none (the collector sent none)")
        );
        println!("  visitor:         {}", e.visitor_id.as_deref().unwrap_or("none"));
        let viewer = &e.context.viewer;
        println!(
            "  transport:       JA4 {}, HTTP/{}, from {} (ASN {})",
            viewer.ja4.as_deref().unwrap_or("none"),
            viewer.http_version.as_deref().unwrap_or("?"),
            viewer.address.as_ref().map_or("?".to_string(), |a| a.ip.to_string()),
            viewer.asn.map_or("?".to_string(), |a| a.to_string())
        );
        println!(
            "  identity method: {}",
            identity.map_or("none".to_string(), |i| format!(
                "{:?} (confidence {})",
                i.method, i.confidence
            ))
        );
        println!(
            "  risk:            {}",
            risk.map_or("none".to_string(), |r| format!(
                "{:?}, score {}, action {:?}{}",
                r.level,
                r.score,
                r.action,
                if r.enforced { " (enforced: answered 403)" } else { "" }
            ))
        );
        if let Some(r) = risk {
            let reasons: Vec<String> = r
                .breakdown
                .iter()
                .flat_map(|(layer, c)| c.reasons.iter().map(move |x| format!("{layer}/{}", x.code)))
                .collect();
            println!("  reasons:         {}", reasons.join(", "));
        }
        if let Some(i) = e.signals.as_ref().and_then(|s| s.interaction) {
            println!(
                "  interaction:     {} keystrokes (mean interval {:?} ms, hold {:?} ms), {} pointer moves, {} untrusted",
                i.keystrokes, i.key_interval_mean_ms, i.key_hold_mean_ms, i.pointer_moves, i.untrusted_events
            );
        }
        if let Some(b) = &e.behavioral_signature {
            println!("  behavioral sig:  {b}");
        }
    }
    println!("screenshot: {screenshot}");
    Ok(())
}
