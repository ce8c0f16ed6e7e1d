//! Real-browser end-to-end tests of the collector `/h.js`: headless Chromium (through
//! chromedriver) loads an HTTPS page on localhost that embeds the script served by the edge
//! function under `cargo lambda watch`, reached through the local CloudFront (real TLS, the
//! JA4 of Chromium's own ClientHello), and the tests read what the edge stored in DynamoDB
//! (moto).
//!
//! `scripts/test.sh` starts chromedriver and the edge and sets `WEBDRIVER_URL`,
//! `BROWSER_EDGE_URL` and `BROWSER_TABLE`. The tests run one at a time (one Chromium on this
//! 2-core machine, and no test's fingerprint registrations racing another's). Each test uses
//! page paths of its own and finds its events by them.

use std::collections::BTreeSet;
use std::time::Duration;

use impressio::event::{EventRecord, Route};
use impressio::identity::MatchMethod;
use serde_json::Value;
use tools::browser::{
    browser_table, edge_url, origin_url, unique_path, wait_for_events, Browser, BrowserConfig, SiteOptions, TcpProxy,
    TestSite, SERVICE_WORKER_PATH, TEST_ORGANIZATION,
};
use tools::cloudfront::Viewer;
use tools::in_process::LocalCloudFront;

/// One browser test at a time.
pub(super) static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long an event may take from the page load to DynamoDB.
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

fn dynamo() -> aws_sdk_dynamodb::Client {
    tools::dynamo_client(&tools::moto_endpoint())
}

/// Waits until the page at `path` has `n` stored events, and returns them oldest first.
async fn events(path: &str, n: usize) -> Vec<EventRecord> {
    wait_for_events(&dynamo(), &browser_table(), path, EVENT_TIMEOUT, |e| e.len() >= n).await
}

fn page_views(events: &[EventRecord]) -> Vec<&EventRecord> {
    events.iter().filter(|e| e.event_name == "page_view").collect()
}

fn method(e: &EventRecord) -> MatchMethod {
    e.identity.as_ref().expect("identity on a track event").method
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[tokio::test]
async fn the_page_view_lands_in_dynamodb_with_the_page_url_and_request_id() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&format!("{}?campaign=spring", unique_path("page-view")));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    let stored = events(&url, 1).await;
    browser.close().await;

    assert_eq!(stored.len(), 1, "one page load, one event");
    let e = &stored[0];
    assert_eq!(e.event_name, "page_view");
    assert_eq!(e.route, Route::Track);
    assert_eq!(e.organization_id, TEST_ORGANIZATION);
    assert_eq!(e.page_url.as_deref(), Some(url.as_str()));
    assert_eq!(e.site.as_deref(), Some("localhost"));
    assert_eq!(e.title.as_deref(), Some("Impressio browser test"));
    assert!(!e.request_id.is_empty(), "the event carries the request id");
    assert_eq!(e.pk, impressio::schema::request_pk(&e.request_id));
    assert!(e.visitor_id.is_some(), "the identity resolver ran");
    // A real browser's request: its own User-Agent and the page's origin.
    let ua = e.context.user_agent.as_deref().unwrap_or("");
    assert!(ua.contains("Chrome/"), "User-Agent {ua:?}");
    let origin = e.context.origin.as_deref().unwrap_or("");
    assert!(
        url.starts_with(origin) && origin.starts_with("https://localhost:"),
        "Origin {origin:?}"
    );
    // Through the local CloudFront: the JA4 of Chromium's own ClientHello, over HTTP/2.
    let viewer = &e.context.viewer;
    let ja4 = viewer.ja4.as_deref().unwrap_or("");
    assert!(ja4.starts_with("t13d") && ja4.contains("h2_"), "JA4 {ja4:?}");
    assert_eq!(viewer.http_version.as_deref(), Some("2.0"));
}

#[tokio::test]
async fn a_reload_keeps_the_visitor_through_the_domainprint_cookie() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&unique_path("reload"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    // The page's send has its answer (and so its Set-Cookie): the event can be in the table
    // a moment before the answer reaches the browser.
    browser.ready().await.expect("window.impressio.ready");
    let first = events(&url, 1).await;
    // The page (localhost:<site port>) and the edge (localhost:<CloudFront port>) are the same
    // site: cookies ignore ports, so the edge's cookie is in the page's jar.
    let cookies = browser.client().get_all_cookies().await.expect("cookies");
    let dp = first[0].identity.as_ref().expect("identity").domainprint.clone();
    let jar: Vec<_> = cookies
        .iter()
        .map(|c| (c.name().to_string(), c.value().to_string()))
        .collect();
    assert!(
        jar.contains(&("_impdp".to_string(), dp.clone())),
        "the edge's domainprint cookie {dp} is stored for localhost; the jar has {jar:?}"
    );
    browser.reload().await;
    let both = events(&url, 2).await;
    browser.close().await;

    let views = page_views(&both);
    assert_eq!(views.len(), 2);
    // A fresh profile has no cookie: it is a new visitor, or one found again by the fingerprint
    // when an earlier test's browser (the same Chromium on the same machine) was seen first.
    assert!(
        matches!(method(views[0]), MatchMethod::New | MatchMethod::Fingerprint),
        "a fresh profile has no cookie: {:?}",
        method(views[0])
    );
    let second = views[1].identity.as_ref().expect("identity");
    assert!(
        matches!(second.method, MatchMethod::Cookie | MatchMethod::CookieAndFingerprint),
        "the cookie came back: {second:?}"
    );
    assert_eq!(second.domainprint, dp);
    assert_eq!(views[1].visitor_id, views[0].visitor_id);
    assert!(!second.is_new);
}

/// Where the cookie does not come back (cleared, blocked, cut short), the collector's copy of
/// the signed domainprint in localStorage keeps the visitor: same visitor, same domainprint,
/// matched as by the cookie (the fingerprint alone would have issued a new domainprint).
#[tokio::test]
async fn without_the_cookie_the_collectors_signed_copy_keeps_the_visitor() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&unique_path("dp-copy"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    browser.ready().await.expect("window.impressio.ready");
    let first = events(&url, 1).await;
    let dp = first[0].identity.as_ref().expect("identity").domainprint.clone();
    assert!(dp.starts_with("d2."), "a signed domainprint: {dp}");
    // The copy is written when the answer is read; wait for it, then lose the cookie.
    let mut copy = Value::Null;
    for _ in 0..50 {
        copy = browser.eval("return JSON.parse(localStorage.getItem('_imp_dp'))").await;
        if copy.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(copy, Value::String(dp.clone()), "the collector keeps the signed value");
    browser.client().delete_all_cookies().await.expect("cookies deleted");
    browser.reload().await;
    let both = events(&url, 2).await;
    browser.close().await;
    let views = page_views(&both);
    let second = views[1].identity.as_ref().expect("identity");
    assert!(
        matches!(second.method, MatchMethod::Cookie | MatchMethod::CookieAndFingerprint),
        "the body's copy was used: {second:?}"
    );
    assert_eq!(second.domainprint, dp);
    assert_eq!(views[1].visitor_id, views[0].visitor_id);
}

#[tokio::test]
async fn the_session_configuration_reaches_the_page() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let config = BrowserConfig {
        window: (800, 600),
        lang: "de-DE".into(),
        timezone: Some("America/New_York".into()),
        ..BrowserConfig::default()
    };
    let browser = Browser::launch(&config).await;
    let url = site.url(&unique_path("config"));
    browser.open(&url).await;
    let seen = browser
        .eval(
            "return { tz: Intl.DateTimeFormat().resolvedOptions().timeZone, lang: navigator.language, \
             langs: navigator.languages, w: window.outerWidth, h: window.outerHeight, \
             webdriver: navigator.webdriver };",
        )
        .await;
    let stored = events(&url, 1).await;
    browser.close().await;

    assert_eq!(seen["tz"], "America/New_York", "{seen}");
    assert_eq!(seen["lang"], "de-DE", "{seen}");
    assert_eq!(seen["langs"][0], "de-DE", "{seen}");
    assert_eq!(
        (seen["w"].as_u64(), seen["h"].as_u64()),
        (Some(800), Some(600)),
        "{seen}"
    );
    assert_eq!(seen["webdriver"], Value::Bool(true), "{seen}");
    let accept_language = stored[0].context.accept_language.as_deref().unwrap_or("");
    assert!(
        accept_language.starts_with("de-DE"),
        "Accept-Language {accept_language:?}"
    );
}

#[tokio::test]
async fn headless_chromium_is_scored_as_a_bot_and_recorded() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&unique_path("headless"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    let stored = events(&url, 1).await;
    browser.close().await;

    // Chromium's headless User-Agent says HeadlessChrome whatever the script reports.
    let risk = stored[0].risk.as_ref().expect("risk");
    let codes = |layer: &str| -> Vec<String> {
        risk.breakdown
            .get(layer)
            .map(|c| c.reasons.iter().map(|r| r.code.clone()).collect())
            .unwrap_or_default()
    };
    assert!(
        codes("headless").contains(&"headless_user_agent".to_string()),
        "{risk:?}"
    );
    assert!(
        codes("bot_user_agent").contains(&"automation_user_agent".to_string()),
        "{risk:?}"
    );
    assert_eq!(risk.level, impressio::fraud::Level::Critical, "{risk:?}");
    // The edge of the tests observes (FRAUD_CONFIG mode observe): scored, never refused.
    assert!(!risk.enforced, "{risk:?}");
}

#[tokio::test]
async fn the_proxy_takes_the_edge_away_and_brings_it_back() {
    let _one = BROWSER_LOCK.lock().await;
    let edge = edge_url().await;
    let proxy = TcpProxy::for_url(&edge).await.expect("proxy");
    let proxied = proxy.url_for(&edge);
    let site = TestSite::start(&proxied).await;
    let url = site.url(&unique_path("proxy"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    // Its answer is in before the proxy stops: an answer cut off on its way back would make
    // the page queue the stored page view and send it again on the next page.
    browser.ready().await.expect("window.impressio.ready");
    events(&url, 1).await;
    assert!(proxy.connections() > 0, "the page reached the edge through the proxy");

    proxy.stop().await;
    let probe = format!(
        "var done = arguments[arguments.length - 1];
         fetch({:?}, {{ credentials: 'include', cache: 'no-store' }})
           .then(function (r) {{ done('status ' + r.status); }}, function (e) {{ done('failed: ' + e); }});",
        format!("{proxied}/cookie-test")
    );
    let away = browser.client().execute_async(&probe, vec![]).await.expect("probe");
    assert!(
        away.as_str().unwrap_or("").starts_with("failed"),
        "the edge is away: {away}"
    );

    proxy.resume().await.expect("resume the proxy");
    let back = browser.client().execute_async(&probe, vec![]).await.expect("probe");
    assert_eq!(back, "status 200", "the edge is back");
    browser.reload().await;
    let both = events(&url, 2).await;
    browser.close().await;
    assert_eq!(page_views(&both).len(), 2);
}

#[tokio::test]
async fn the_event_carries_the_fingerprint_and_its_components() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&unique_path("components"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    let ready = browser.ready().await.expect("window.impressio.ready (the new /h.js)");
    let stored = events(&url, 1).await;
    browser.close().await;

    assert!(ready.sent, "the first page_view was delivered");
    let e = &stored[0];
    let fp = e.fingerprint.as_deref().expect("a fingerprint");
    assert!(is_fingerprint(fp), "32 lowercase hex chars: {fp:?}");
    assert_eq!(
        fp, ready.fingerprint,
        "the stored fingerprint is the one the page computed"
    );
    let components = e.components.as_ref().expect("components");
    for key in [
        "canvas",
        "webgl_vendor",
        "webgl_renderer",
        "audio",
        "fonts",
        "screen",
        "color_depth",
        "timezone",
        "languages",
        "platform",
        "hardware_concurrency",
        "touch",
        "storage",
    ] {
        assert!(components.contains_key(key), "components lack {key}: {components:?}");
    }
}

#[tokio::test]
async fn five_reloads_give_one_fingerprint() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&unique_path("five-reloads"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    let mut computed = BTreeSet::new();
    computed.insert(
        browser
            .ready()
            .await
            .expect("window.impressio.ready (the new /h.js)")
            .fingerprint,
    );
    for _ in 0..4 {
        browser.reload().await;
        computed.insert(
            browser
                .ready()
                .await
                .expect("window.impressio.ready (the new /h.js)")
                .fingerprint,
        );
    }
    let stored = events(&url, 5).await;
    browser.close().await;

    assert_eq!(computed.len(), 1, "the page computed {computed:?}");
    let stored_fps: BTreeSet<_> = stored.iter().filter_map(|e| e.fingerprint.clone()).collect();
    assert_eq!(stored_fps, computed, "five stored events, one fingerprint");
    let visitors: BTreeSet<_> = stored.iter().filter_map(|e| e.visitor_id.clone()).collect();
    assert_eq!(visitors.len(), 1, "one visitor: {visitors:?}");
}

/// A viewer on a network of its own (a /24 of the benchmarking range 198.18.0.0/15 no other
/// viewer of this process has) in `asn`, `city` and `time_zone`: the identity evidence of a
/// test's browser is its own.
fn own_network(asn: u32, city: &str, time_zone: &str) -> Viewer {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 512;
    Viewer {
        address: std::net::IpAddr::from([198, 18 + (n / 256) as u8, (n % 256) as u8, 10]),
        asn,
        city: city.into(),
        time_zone: time_zone.into(),
        ..Viewer::residential()
    }
}

/// Two profiles with identical settings (hence one fingerprint) on two networks are two
/// visitors; one of them, back on its own network after clearing its cookies and storage, is
/// found again by the fingerprint, corroborated by the network.
#[tokio::test]
async fn identical_profiles_on_two_networks_are_two_visitors_and_a_cleared_one_returns() {
    let _one = BROWSER_LOCK.lock().await;
    let front = LocalCloudFront::start(
        &origin_url(),
        vec![
            own_network(20115, "Charlotte", "America/New_York"),
            own_network(7018, "Chicago", "America/Chicago"),
        ],
    )
    .await;
    let (site_a, site_b) = (
        TestSite::start(&front.url(0)).await,
        TestSite::start(&front.url(1)).await,
    );
    let path = unique_path("two-profiles");
    let url = |site: &TestSite, visit: &str| site.url(&format!("{path}?visit={visit}"));

    let a = Browser::launch(&BrowserConfig::default()).await;
    a.open(&url(&site_a, "a1")).await;
    let fp_a = a.ready().await.expect("window.impressio.ready").fingerprint;
    let first_a = events(&url(&site_a, "a1"), 1).await;

    let b = Browser::launch(&BrowserConfig::default()).await;
    b.open(&url(&site_b, "b1")).await;
    let fp_b = b.ready().await.expect("window.impressio.ready").fingerprint;
    let first_b = events(&url(&site_b, "b1"), 1).await;
    b.close().await;

    assert_eq!(fp_a, fp_b, "the same settings, the same fingerprint");
    let (ia, ib) = (
        first_a[0].identity.as_ref().expect("identity"),
        first_b[0].identity.as_ref().expect("identity"),
    );
    assert_ne!(ia.visitor_id, ib.visitor_id, "two people: {ia:?} {ib:?}");
    assert!(ib.is_new, "{ib:?}");
    assert!(
        ib.possible_same_device.is_some(),
        "the refused match is recorded: {ib:?}"
    );

    // Profile A clears its cookies and storage (no domainprint left anywhere) and returns.
    a.client().delete_all_cookies().await.expect("cookies deleted");
    a.eval("localStorage.clear(); sessionStorage.clear(); return true")
        .await;
    a.open(&url(&site_a, "a2")).await;
    a.ready().await.expect("window.impressio.ready");
    let back = events(&url(&site_a, "a2"), 1).await;
    a.close().await;
    let back = back[0].identity.as_ref().expect("identity");
    assert_eq!(back.method, MatchMethod::Fingerprint, "{back:?}");
    assert_eq!(back.visitor_id, ia.visitor_id);
    assert!(back.evidence.iter().any(|e| e == "same_network"), "{back:?}");
    assert_ne!(back.domainprint, ia.domainprint, "a new cookie of its own, aliased");
}

#[tokio::test]
async fn differently_configured_browsers_get_different_fingerprints() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let path = unique_path("configs");
    let configs = [
        BrowserConfig {
            window: (1280, 800),
            lang: "en-US".into(),
            timezone: Some("Europe/Berlin".into()),
            ..BrowserConfig::default()
        },
        BrowserConfig {
            window: (800, 600),
            lang: "de-DE".into(),
            timezone: Some("America/New_York".into()),
            ..BrowserConfig::default()
        },
    ];
    let mut fingerprints = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let url = site.url(&format!("{path}?browser={i}"));
        let browser = Browser::launch(config).await;
        browser.open(&url).await;
        let ready = browser.ready().await.expect("window.impressio.ready (the new /h.js)");
        let stored = events(&url, 1).await;
        browser.close().await;
        assert_eq!(stored[0].fingerprint.as_deref(), Some(ready.fingerprint.as_str()));
        fingerprints.push(ready.fingerprint);
    }
    assert_ne!(fingerprints[0], fingerprints[1]);
}

#[tokio::test]
async fn the_automation_is_reported_and_scored() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let url = site.url(&unique_path("webdriver"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    browser.ready().await.expect("window.impressio.ready (the new /h.js)");
    let stored = events(&url, 1).await;
    browser.close().await;

    let e = &stored[0];
    let signals = e.signals.as_ref().expect("signals");
    assert_eq!(signals.webdriver, Some(true), "{signals:?}");
    let risk = e.risk.as_ref().expect("risk");
    let headless = risk.breakdown.get("headless").expect("the headless layer");
    let codes: Vec<_> = headless.reasons.iter().map(|r| r.code.as_str()).collect();
    assert!(codes.contains(&"webdriver"), "headless reasons {codes:?}");
    assert!(headless.contribution > 0.0, "{headless:?}");
}

#[tokio::test]
async fn an_event_sent_while_the_edge_is_away_is_queued_and_delivered_later() {
    let _one = BROWSER_LOCK.lock().await;
    let BehindProxy {
        proxy,
        url,
        browser,
        _front,
        _site,
    } = page_behind_proxy("queue").await;

    proxy.stop().await;
    assert_eq!(
        track(&browser, "signup").await,
        Value::Bool(false),
        "the edge is away: the event is not delivered"
    );
    let queued = browser.eval("return window.localStorage.getItem('_imp_q');").await;
    let queued = queued.as_str().unwrap_or("");
    assert!(queued.contains("signup"), "_imp_q holds the signup: {queued:?}");

    proxy.resume().await.expect("resume the proxy");
    browser.reload().await;
    browser.ready().await.expect("window.impressio.ready (the new /h.js)");
    let stored = wait_for_events(&dynamo(), &browser_table(), &url, EVENT_TIMEOUT, |e| {
        e.iter().any(|e| e.event_name == "signup") && page_views(e).len() >= 2
    })
    .await;
    browser.close().await;

    let signups: Vec<_> = stored.iter().filter(|e| e.event_name == "signup").collect();
    assert_eq!(signups.len(), 1, "the queued signup, delivered once");
    assert_eq!(page_views(&stored).len(), 2, "both loads' page views");
}

#[tokio::test]
async fn an_event_whose_answer_is_lost_is_sent_again_and_stored_once() {
    let _one = BROWSER_LOCK.lock().await;
    let BehindProxy {
        proxy,
        url,
        browser,
        _front,
        _site,
    } = page_behind_proxy("lost-answer").await;

    // Requests reach the edge from here on, answers are lost; cutting the open connections
    // makes the next send open a new one.
    proxy.lose_answers(true);
    proxy.cut_connections().await;
    assert_eq!(
        track(&browser, "signup").await,
        Value::Bool(false),
        "no answer came back: the page cannot know the event was stored"
    );
    let queued = browser.eval("return window.localStorage.getItem('_imp_q');").await;
    let queued: Value = serde_json::from_str(queued.as_str().unwrap_or("[]")).expect("_imp_q is JSON");
    let body: Value = serde_json::from_str(queued[0]["b"].as_str().expect("a queued body")).expect("a JSON body");
    assert_eq!(body["event"], "signup");
    let message_id = body["messageId"].as_str().expect("the event's messageId").to_string();
    // It was stored all the same.
    wait_for_events(&dynamo(), &browser_table(), &url, EVENT_TIMEOUT, |e| {
        e.iter().any(|e| e.event_name == "signup")
    })
    .await;

    proxy.lose_answers(false);
    proxy.cut_connections().await;
    browser.reload().await;
    browser.ready().await.expect("window.impressio.ready");
    // The next page sends the queued copy again; the queue empties once it is answered.
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let q = browser.eval("return window.localStorage.getItem('_imp_q');").await;
        if q.as_str().is_none_or(|q| q == "[]") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the queued copy was never answered: {q}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let stored = wait_for_events(&dynamo(), &browser_table(), &url, EVENT_TIMEOUT, |e| {
        page_views(e).len() >= 2
    })
    .await;
    browser.close().await;

    let signups: Vec<_> = stored.iter().filter(|e| e.event_name == "signup").collect();
    assert_eq!(signups.len(), 1, "sent twice, stored once");
    assert_eq!(signups[0].message_id.as_deref(), Some(message_id.as_str()));
}

/// A page behind a proxy: its collector's local CloudFront reaches the edge through it.
struct BehindProxy {
    proxy: TcpProxy,
    _front: LocalCloudFront,
    _site: TestSite,
    url: String,
    browser: Browser,
}

/// A test page at a path of its own (`name-…`) whose collector (and so its `/t`) reaches a
/// local CloudFront of its own whose origin is the edge through a proxy (as CloudFront's
/// connection to an origin is: a lost connection is a 502 to the browser), loaded in a new
/// browser whose first page view was stored.
async fn page_behind_proxy(name: &str) -> BehindProxy {
    let origin = origin_url();
    let proxy = TcpProxy::for_url(&origin).await.expect("proxy");
    let front = LocalCloudFront::start(&proxy.url_for(&origin), vec![Viewer::residential()]).await;
    // The script derives its /t endpoint from its own src: this CloudFront.
    let site = TestSite::start(&front.url(0)).await;
    let url = site.url(&unique_path(name));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    assert!(
        browser
            .ready()
            .await
            .expect("window.impressio.ready (the new /h.js)")
            .sent
    );
    BehindProxy {
        proxy,
        _front: front,
        _site: site,
        url,
        browser,
    }
}

/// The reason codes a layer gave an event.
fn reason_codes(e: &EventRecord, layer: &str) -> Vec<String> {
    e.risk
        .as_ref()
        .and_then(|r| r.breakdown.get(layer))
        .map(|c| c.reasons.iter().map(|r| r.code.clone()).collect())
        .unwrap_or_default()
}

/// Tracks `name` from the page and resolves to whether it was stored.
async fn track(browser: &Browser, name: &str) -> Value {
    let script = format!(
        r#"var done = arguments[arguments.length - 1];
           window.impressio.track({name:?}).then(function (ok) {{ done(ok); }}, function () {{ done(false); }});"#
    );
    browser.client().execute_async(&script, vec![]).await.expect("track")
}

#[tokio::test]
async fn the_token_comes_from_the_cookie_test_and_first_party_cookies_persist() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start(&edge_url().await).await;
    let (first_url, second_url) = (site.url(&unique_path("cookies-a")), site.url(&unique_path("cookies-b")));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&first_url).await;
    let first = events(&first_url, 1).await;
    browser.open(&second_url).await;
    let second = events(&second_url, 1).await;
    browser.close().await;

    // The shared bundle has no token; the page got a fresh one from /cookie-test.
    for e in [&first[0], &second[0]] {
        let token = &e.risk.as_ref().expect("risk").breakdown["collector_token"];
        assert_eq!(token.score, 0.0, "a valid token: {token:?}");
    }
    let cookies = |e: &EventRecord| e.signals.as_ref().and_then(|s| s.first_party_cookies);
    assert_eq!(cookies(&first[0]), None, "the first page cannot know yet");
    assert_eq!(
        cookies(&second[0]),
        Some(true),
        "the first page's test cookie came back"
    );
}

#[tokio::test]
async fn the_behavioral_bundle_reports_interaction_and_a_signature() {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction};
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start_with(
        &edge_url().await,
        SiteOptions {
            bundle: "h-pro.js",
            service_worker: false,
            wait_for_consent: false,
        },
    )
    .await;
    let url = site.url(&unique_path("behavior"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    browser.ready().await.expect("window.impressio.ready");
    // A signup straight after the load, before any input.
    assert_eq!(track(&browser, "signup").await, Value::Bool(true));

    // A curved pointer path in 40 steps, then typing into the form's field.
    let mut mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
        duration: None,
        x: 100.0,
        y: 100.0,
    });
    for i in 0..40i64 {
        mouse = mouse.then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(15)),
            x: 6.0 + (i % 7) as f64,
            y: ((i as f64) / 4.0).sin() * 9.0,
        });
    }
    browser.client().perform_actions(mouse).await.expect("pointer moves");
    let field = browser
        .client()
        .find(fantoccini::Locator::Id("name"))
        .await
        .expect("the form field");
    field.send_keys("grace hopper 1906").await.expect("typing");
    assert_eq!(track(&browser, "form_submit").await, Value::Bool(true));

    // Input the page dispatches itself is not a person's.
    browser
        .eval(
            "for (var i = 0; i < 5; i++) document.dispatchEvent(new KeyboardEvent('keydown', {key: 'a', code: 'KeyA'})); return true;",
        )
        .await;
    assert_eq!(track(&browser, "scripted").await, Value::Bool(true));
    let stored = wait_for_events(&dynamo(), &browser_table(), &url, EVENT_TIMEOUT, |e| {
        e.iter().any(|e| e.event_name == "scripted")
    })
    .await;
    browser.close().await;

    let by_name = |n: &str| {
        stored
            .iter()
            .find(|e| e.event_name == n)
            .unwrap_or_else(|| panic!("{n} stored"))
    };
    let evidence = |e: &EventRecord| {
        e.signals
            .as_ref()
            .and_then(|s| s.interaction)
            .unwrap_or_else(|| panic!("interaction evidence on {}", e.event_name))
    };
    let early = by_name("signup");
    assert!(!evidence(early).any_interaction(), "{:?}", evidence(early));
    assert!(
        reason_codes(early, "headless").contains(&"no_interaction_submission".to_string()),
        "{:?}",
        early.risk
    );
    assert_eq!(early.behavioral_signature, None, "no signature without input");

    let typed = by_name("form_submit");
    let e = evidence(typed);
    assert!(e.pointer_moves >= 30, "{e:?}");
    assert!(e.pointer_distance_px > 200, "{e:?}");
    assert_eq!(e.keystrokes, 17, "one keystroke per character: {e:?}");
    assert!(
        e.key_interval_mean_ms.is_some() && e.key_hold_mean_ms.is_some(),
        "{e:?}"
    );
    assert!(e.pointer_straightness.is_some_and(|s| s < 1.0), "{e:?}");
    assert_eq!(e.untrusted_events, 0, "WebDriver input is the browser's own: {e:?}");
    assert!(e.first_interaction_ms.is_some(), "{e:?}");
    assert!(!reason_codes(typed, "headless").contains(&"no_interaction_submission".to_string()));
    let signature = typed.behavioral_signature.as_deref().expect("a behavioral signature");
    assert!(signature.starts_with("bh1.p"), "{signature}");

    let scripted = by_name("scripted");
    assert_eq!(evidence(scripted).untrusted_events, 5);
    assert!(reason_codes(scripted, "headless").contains(&"synthetic_input".to_string()));
}

#[tokio::test]
async fn the_service_worker_delivers_after_the_page_is_gone() {
    let _one = BROWSER_LOCK.lock().await;
    let edge = edge_url().await;
    let proxy = TcpProxy::for_url(&edge).await.expect("proxy");
    let site = TestSite::start_with(
        &proxy.url_for(&edge),
        SiteOptions {
            bundle: "h.js",
            service_worker: true,
            wait_for_consent: false,
        },
    )
    .await;
    let url = site.url(&unique_path("service-worker"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    assert!(browser.ready().await.expect("window.impressio.ready").sent);
    // The site's own worker file, importing the edge's /sw.js, is active.
    let active = browser
        .client()
        .execute_async(
            &format!(
                r#"var done = arguments[arguments.length - 1], deadline = Date.now() + 15000;
                   (function poll() {{
                     navigator.serviceWorker.getRegistration({SERVICE_WORKER_PATH:?}).then(function (r) {{
                       if (r && r.active) return done(r.active.scriptURL);
                       if (Date.now() > deadline) return done(null);
                       setTimeout(poll, 100);
                     }});
                   }})();"#
            ),
            vec![],
        )
        .await
        .expect("registration");
    assert!(
        active.as_str().is_some_and(|u| u.ends_with(SERVICE_WORKER_PATH)),
        "the worker is active: {active}"
    );

    proxy.stop().await;
    assert_eq!(
        track(&browser, "checkout").await,
        Value::Bool(false),
        "the edge is away"
    );
    let queued = browser.eval("return window.localStorage.getItem('_imp_q');").await;
    assert!(
        !queued.as_str().unwrap_or("").contains("checkout"),
        "the worker took the event, not localStorage: {queued}"
    );
    // The page goes; the worker keeps trying.
    browser.open("about:blank").await;
    proxy.resume().await.expect("resume the proxy");
    let stored = wait_for_events(&dynamo(), &browser_table(), &url, Duration::from_secs(60), |e| {
        e.iter().any(|e| e.event_name == "checkout")
    })
    .await;
    browser.close().await;
    let checkouts: Vec<_> = stored.iter().filter(|e| e.event_name == "checkout").collect();
    assert_eq!(checkouts.len(), 1, "delivered once, by the worker");
    assert!(
        checkouts[0]
            .context
            .origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://localhost:")),
        "sent from the site's origin: {:?}",
        checkouts[0].context.origin
    );
}

#[tokio::test]
async fn with_data_consent_wait_nothing_is_sent_before_consent_and_nothing_identifies_without_fraud_consent() {
    let _one = BROWSER_LOCK.lock().await;
    let site = TestSite::start_with(
        &edge_url().await,
        SiteOptions {
            bundle: "h.js",
            service_worker: false,
            wait_for_consent: true,
        },
    )
    .await;
    let url = site.url(&unique_path("consent"));
    let browser = Browser::launch(&BrowserConfig::default()).await;
    browser.open(&url).await;
    // Waiting: no event, no cookie, nothing stored on the device.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let none = tools::browser::page_events(&dynamo(), &browser_table(), &url).await;
    assert!(none.is_empty(), "sent before consent: {none:?}");
    let storage = |browser: &Browser| {
        let client = browser.client().clone();
        async move {
            let v = client
                .execute(
                    "return Object.keys(window.localStorage).filter(function (k) { return k.indexOf('_imp') === 0; });",
                    vec![],
                )
                .await
                .expect("localStorage");
            let cookies: Vec<String> = client
                .get_all_cookies()
                .await
                .expect("cookies")
                .iter()
                .map(|c| c.name().to_string())
                .filter(|n| n.starts_with("_imp"))
                .collect();
            (v, cookies)
        }
    };
    assert_eq!(storage(&browser).await, (serde_json::json!([]), vec![]));

    // Analytics only: the waiting page view goes, without anything that identifies.
    browser
        .client()
        .execute("window.impressio.consent({analytics: true, fraud: false});", vec![])
        .await
        .expect("consent");
    let first = events(&url, 1).await;
    let e = &first[0];
    let consent = e.consent.expect("the consent is stored on the event");
    assert!(consent.analytics && !consent.fraud);
    assert!(e.fingerprint.is_none() && e.components.is_none() && e.behavioral_signature.is_none());
    assert_eq!(method(e), MatchMethod::Anonymous);
    assert!(e.signals.as_ref().is_none_or(|s| s.webrtc_candidates.is_none()));
    assert_eq!(
        storage(&browser).await,
        (serde_json::json!([]), vec![]),
        "no cookie, no storage"
    );

    // Fraud consent given later: the next event identifies the visitor, and GA4's consent
    // fields travel with it.
    browser
        .client()
        .execute(
            "window.impressio.consent({analytics: false, fraud: true, adUserData: false});",
            vec![],
        )
        .await
        .expect("consent");
    assert_eq!(track(&browser, "signup").await, serde_json::json!(true));
    let both = events(&url, 2).await;
    browser.close().await;
    let signup = both.iter().find(|e| e.event_name == "signup").expect("the signup");
    let consent = signup.consent.expect("consent");
    assert!(consent.fraud && !consent.analytics && consent.ad_user_data == Some(false));
    assert!(signup.fingerprint.as_deref().is_some_and(is_fingerprint));
    assert_ne!(method(signup), MatchMethod::Anonymous);
}
