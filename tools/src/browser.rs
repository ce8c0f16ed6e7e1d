//! Real-browser helpers: headless Chromium through chromedriver, a test site embedding the
//! collector script, the stored events of a page, and a TCP proxy that can take the edge away.
//!
//! The browser reaches the edge as a visitor reaches it in production: over HTTPS through
//! CloudFront, here the process's local CloudFront ([`crate::in_process::shared`]), which
//! computes the JA4 of Chromium's real ClientHello. The test sites are HTTPS too, under the
//! same certificate, on `localhost`: a page (`https://localhost:<port>`) and the tracker
//! (`https://localhost:<other port>`) are one site, as a shop and its tracking subdomain are.
//!
//! `scripts/test.sh` starts chromedriver and the edge function under `cargo lambda watch` (on
//! the test moto server) and sets [`WEBDRIVER_URL_VAR`], [`EDGE_URL_VAR`] and
//! [`TABLE_VAR`]; `scripts/local-stack.sh` does the same for `browser-demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::site::{Page, Site};
use aws_sdk_dynamodb::types::AttributeValue;
use fantoccini::wd::WebDriverCompatibleCommand;
use impressio::event::EventRecord;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// chromedriver's URL, e.g. `http://127.0.0.1:9515`.
pub const WEBDRIVER_URL_VAR: &str = "WEBDRIVER_URL";
/// The edge function's Function URL base under `cargo lambda watch`, e.g.
/// `http://127.0.0.1:9001/lambda-url/edge`: the origin of the local CloudFront.
pub const EDGE_URL_VAR: &str = "BROWSER_EDGE_URL";
/// The table the edge of the browser tests writes to.
pub const TABLE_VAR: &str = "BROWSER_TABLE";

/// The organization of the test pages: its domains include `127.0.0.1` and `localhost`
/// (`infra/organizations/local.json`).
pub const TEST_ORGANIZATION: &str = "org_demo_enterprise";

/// Chromium's arguments in every session. Without the background-networking ones Chromium
/// keeps calling Google's services, which this machine's closed network answers with nothing.
pub const CHROMIUM_ARGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the browser tests with scripts/test.sh, which starts chromedriver and the edge")
    })
}

/// chromedriver's URL from [`WEBDRIVER_URL_VAR`].
///
/// # Panics
/// When it is not set: run the tests through `scripts/test.sh`.
pub fn webdriver_url() -> String {
    required_env(WEBDRIVER_URL_VAR)
}

/// The edge's Function URL base from [`EDGE_URL_VAR`] (no trailing slash): what the local
/// CloudFront forwards to.
///
/// # Panics
/// When it is not set: run the tests through `scripts/test.sh`.
pub fn origin_url() -> String {
    required_env(EDGE_URL_VAR).trim_end_matches('/').to_string()
}

/// The edge as browsers reach it: the base URL of the process's local CloudFront in front of
/// [`origin_url`], `https://localhost:<port>`.
///
/// # Panics
/// When [`EDGE_URL_VAR`] is not set or the local CloudFront cannot start.
pub async fn edge_url() -> String {
    crate::in_process::shared(&origin_url()).await.url(0)
}

/// The events table from [`TABLE_VAR`].
///
/// # Panics
/// When it is not set: run the tests through `scripts/test.sh`.
pub fn browser_table() -> String {
    required_env(TABLE_VAR)
}

/// The HTML of a test page that embeds the collector script served at `edge_base`.
pub fn page_html(edge_base: &str) -> String {
    page_html_with(edge_base, &SiteOptions::default())
}

/// What a test site's pages embed.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The bundle, `h.js` or `h-pro.js`.
    pub bundle: &'static str,
    /// Whether the script tag names the site's service worker ([`SERVICE_WORKER_PATH`]).
    pub service_worker: bool,
    /// Whether the script tag asks the collector to wait for consent (`data-consent="wait"`).
    pub wait_for_consent: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            bundle: "h.js",
            service_worker: false,
            wait_for_consent: false,
        }
    }
}

/// Where a test site serves its first-party service worker: one line importing the edge's
/// `/sw.js`, as an organization's site would.
pub const SERVICE_WORKER_PATH: &str = "/impressio/sw.js";

/// The HTML of a test page with `options`; it has a text field to type into.
pub fn page_html_with(edge_base: &str, options: &SiteOptions) -> String {
    let bundle = options.bundle;
    let mut sw = if options.service_worker {
        format!(r#" data-sw="{SERVICE_WORKER_PATH}""#)
    } else {
        String::new()
    };
    if options.wait_for_consent {
        sw.push_str(r#" data-consent="wait""#);
    }
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Impressio browser test</title>
<script>window.__pageErrors = []; window.__loadErrors = []; window.addEventListener("error", function (e) {{
  if (e.target && e.target !== window) window.__loadErrors.push(String(e.target.src || e.target.href || e.target.tagName));
  else window.__pageErrors.push(String(e.message) + " " + (e.filename || "") + ":" + (e.lineno || 0));
}}, true);</script>
<script src="{edge_base}/{bundle}?organizationId={TEST_ORGANIZATION}"{sw}></script>
</head>
<body>
<h1>Impressio browser test</h1>
<p>This page embeds the collector script from <code>{edge_base}/{bundle}</code>.</p>
<form onsubmit="return false"><input id="name" name="name" autocomplete="off"></form>
</body>
</html>
"#
    )
}

/// An HTTPS web site on 127.0.0.1 (a random port; `https://localhost:<port>`) answering
/// every `GET` with [`page_html`], so each test can take a path of its own and find its events
/// by it.
pub struct TestSite {
    site: Site,
}

impl TestSite {
    /// Starts the site with pages that load the script from `edge_base`.
    pub async fn start(edge_base: &str) -> Self {
        Self::start_with(edge_base, SiteOptions::default()).await
    }

    /// Starts the site with pages made with `options`, and its service worker file at
    /// [`SERVICE_WORKER_PATH`].
    ///
    /// # Panics
    /// When the site cannot listen.
    pub async fn start_with(edge_base: &str, options: SiteOptions) -> Self {
        let worker = format!(
            "importScripts({:?});\n",
            format!("{edge_base}/sw.js?organizationId={TEST_ORGANIZATION}")
        )
        .into_bytes();
        let html = page_html_with(edge_base, &options).into_bytes();
        let pages = move |path: &str| {
            if path == SERVICE_WORKER_PATH {
                Page {
                    status: 200,
                    content_type: "text/javascript",
                    body: worker.clone(),
                }
            } else {
                Page {
                    status: 200,
                    content_type: "text/html; charset=utf-8",
                    body: html.clone(),
                }
            }
        };
        let site = Site::start(crate::in_process::identity(), std::sync::Arc::new(pages))
            .await
            .expect("the test site listens");
        TestSite { site }
    }

    /// The URL of the page at `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        self.site.url(path)
    }
}

/// A path no other test uses, e.g. `/reload-0194…`: stored events are found by it.
pub fn unique_path(name: &str) -> String {
    format!("/{name}-{}", uuid::Uuid::now_v7().simple())
}

/// How a browser is configured: these change the fingerprint.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// Window width and height, px.
    pub window: (u32, u32),
    /// `--lang` and the Accept-Language preference, e.g. `en-US`.
    pub lang: String,
    /// An IANA time zone for `Emulation.setTimezoneOverride`; `None` keeps the machine's.
    pub timezone: Option<String>,
    /// `--user-agent`; `None` keeps Chromium's own (`HeadlessChrome/…` when headless).
    pub user_agent: Option<String>,
    /// `false` starts Chromium with `--disable-http2` (HTTP/1.1 only).
    pub http2: bool,
    /// Hashes of further certificates' keys to trust (base64 SHA-256 of the
    /// SubjectPublicKeyInfo), beside this process's ([`crate::in_process::identity`]): a local
    /// CloudFront of another process.
    pub trusted_spki: Vec<String>,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        BrowserConfig {
            window: (1280, 800),
            lang: "en-US".into(),
            timezone: Some("Europe/Berlin".into()),
            user_agent: None,
            http2: true,
            trusted_spki: Vec::new(),
        }
    }
}

/// What the new collector's `window.impressio.ready` resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ready {
    pub fingerprint: String,
    pub sent: bool,
}

/// chromedriver's CDP passthrough (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct CdpExecute {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for CdpExecute {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A headless Chromium session with a fresh profile (a new `--user-data-dir`, removed by
/// [`Browser::close`]).
pub struct Browser {
    client: fantoccini::Client,
    profile: PathBuf,
}

impl Browser {
    /// Starts Chromium through chromedriver ([`webdriver_url`]) configured as `config`.
    ///
    /// # Panics
    /// When chromedriver cannot start the browser or the time zone cannot be set.
    pub async fn launch(config: &BrowserConfig) -> Self {
        let profile = std::env::temp_dir().join(format!("impressio-chromium-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&profile).expect("create the profile folder");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={},{}", config.window.0, config.window.1));
        args.push(format!("--lang={}", config.lang));
        // The local CloudFront's and the test sites' self-signed certificate, trusted by its
        // key as a pinned certificate is (Chromium honors this with --user-data-dir only).
        let mut trusted = vec![crate::in_process::identity().spki_sha256.clone()];
        trusted.extend(config.trusted_spki.iter().cloned());
        args.push(format!("--ignore-certificate-errors-spki-list={}", trusted.join(",")));
        if let Some(ua) = &config.user_agent {
            args.push(format!("--user-agent={ua}"));
        }
        if !config.http2 {
            args.push("--disable-http2".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": args,
                // --lang sets navigator.language; the preference sets Accept-Language and
                // navigator.languages.
                "prefs": { "intl": { "accept_languages": config.lang } },
            }),
        );
        let client = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&webdriver_url())
            .await
            .unwrap_or_else(|e| panic!("chromedriver at {} did not start Chromium: {e}", webdriver_url()));
        let browser = Browser { client, profile };
        if let Some(tz) = &config.timezone {
            // Per session and kept across navigations of the tab: the TZ variable would apply
            // to every browser chromedriver starts.
            browser
                .cdp("Emulation.setTimezoneOverride", json!({ "timezoneId": tz }))
                .await;
        }
        browser
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver and returns its result.
    ///
    /// # Panics
    /// When chromedriver refuses the command.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(CdpExecute { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// The WebDriver client, for anything the helpers do not cover.
    pub fn client(&self) -> &fantoccini::Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page's load event.
    ///
    /// # Panics
    /// When the navigation fails.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Reloads the page.
    ///
    /// # Panics
    /// When the reload fails.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    /// Runs `script` (a function body) in the page and returns its value.
    ///
    /// # Panics
    /// When the script throws.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Waits for the collector to load, then for `window.impressio.ready` (the new collector's
    /// first `page_view` attempt). `None` when the loaded collector has no `ready`.
    ///
    /// A page on which the collector never ran and which recorded no script error (the
    /// bundle's response did not reach the page: a transport failure between Chromium and
    /// `cargo lambda watch`, seen once in CI) is loaded again once, and the page's view of it
    /// (resource timings, ready state) is printed; a script error fails at once.
    ///
    /// # Panics
    /// When the collector does not load within 20 s (twice), the page recorded a script
    /// error, or `ready` rejects.
    pub async fn ready(&self) -> Option<Ready> {
        let script = r#"
            var done = arguments[arguments.length - 1];
            var deadline = Date.now() + 20000;
            (function poll() {
              var imp = window.impressio;
              if (imp && imp.ready && typeof imp.ready.then === "function") {
                imp.ready.then(function (r) { done({ ready: r }); },
                               function (e) { done({ error: String(e) }); });
              } else if (imp && imp.loaded) {
                done({ ready: null });
              } else if (Date.now() > deadline) {
                // What the page saw, to tell a script that never arrived from one that failed.
                var scripts = performance.getEntriesByType("resource")
                  .filter(function (r) { return /\/h(-pro)?\.js/.test(r.name); })
                  .map(function (r) { return { name: r.name, status: r.responseStatus, transfer: r.transferSize,
                    decoded: r.decodedBodySize, ms: Math.round(r.duration) }; });
                done({ missing: { readyState: document.readyState, errors: window.__pageErrors || [],
                  loadErrors: window.__loadErrors || [],
                  scripts: scripts, url: location.href } });
              } else {
                setTimeout(poll, 50);
              }
            })();
        "#;
        for attempt in 1..=2 {
            let v = self
                .client
                .execute_async(script, vec![])
                .await
                .unwrap_or_else(|e| panic!("waiting for the collector: {e}"));
            if let Some(e) = v.get("error") {
                panic!("the collector is not ready: {e}");
            }
            if let Some(missing) = v.get("missing") {
                let script_failed = missing["errors"].as_array().is_some_and(|e| !e.is_empty());
                if script_failed || attempt == 2 {
                    panic!("the collector is not ready: window.impressio did not appear within 20 s: {missing}");
                }
                eprintln!("the collector did not run on this load, loading the page again: {missing}");
                self.reload().await;
                continue;
            }
            return match &v["ready"] {
                Value::Null => None,
                r => Some(serde_json::from_value(r.clone()).unwrap_or_else(|e| panic!("ready resolved to {r}: {e}"))),
            };
        }
        unreachable!("the second attempt returns or panics")
    }

    /// The PNG screenshot of the window.
    ///
    /// # Panics
    /// When chromedriver cannot take it.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    /// Ends the session (Chromium exits); dropping the browser then removes the profile.
    pub async fn close(self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("closing the WebDriver session: {e}");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked never reached close(): its profile goes all the same (the
        // session ends with chromedriver).
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The event records of the table whose `page_url` contains `url_part`, oldest first.
///
/// # Panics
/// When the scan fails or an item does not decode.
pub async fn page_events(client: &aws_sdk_dynamodb::Client, table: &str, url_part: &str) -> Vec<EventRecord> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .filter_expression("item_type = :event AND contains(page_url, :url)")
            .expression_attribute_values(":event", AttributeValue::S(impressio::event::EVENT_ITEM_TYPE.into()))
            .expression_attribute_values(":url", AttributeValue::S(url_part.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the browser table");
        items.extend(out.items().iter().cloned());
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let mut records: Vec<EventRecord> = serde_dynamo::from_items(items).expect("event records decode");
    records.sort_by(|a, b| (a.ts, &a.event_id).cmp(&(b.ts, &b.event_id)));
    records
}

/// Polls [`page_events`] until `done` holds for them (every 200 ms, at most `timeout`).
///
/// # Panics
/// When `done` still fails after `timeout`, with the events seen.
pub async fn wait_for_events(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    url_part: &str,
    timeout: Duration,
    done: impl Fn(&[EventRecord]) -> bool,
) -> Vec<EventRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let events = page_events(client, table, url_part).await;
        if done(&events) {
            return events;
        }
        if Instant::now() > deadline {
            let seen: Vec<_> = events
                .iter()
                .map(|e| format!("{} {:?}", e.event_name, e.page_url))
                .collect();
            panic!("the events of {url_part} did not arrive within {timeout:?}; seen: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A TCP proxy on 127.0.0.1 in front of `target` that a test can stop (refusing connections
/// and cutting open ones, as if the host were gone) and start again on the same port, or tell
/// to lose answers (the request reaches the target, the answer never reaches the client).
pub struct TcpProxy {
    port: u16,
    target: SocketAddr,
    running: Mutex<Option<Running>>,
    lose_answers: Arc<AtomicBool>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

struct Running {
    accept: JoinHandle<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl TcpProxy {
    /// Starts a proxy to `target` on a free port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let proxy = TcpProxy {
            port,
            target,
            running: Mutex::new(None),
            lose_answers: Arc::new(AtomicBool::new(false)),
            connections: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        };
        proxy.serve(listener);
        Ok(proxy)
    }

    /// A proxy to the host and port of an URL such as [`edge_url`] or [`origin_url`] (its
    /// IPv4 address: the local servers listen on 127.0.0.1).
    ///
    /// # Errors
    /// When the URL has no host and port, or no port can be bound.
    pub async fn for_url(u: &str) -> std::io::Result<Self> {
        let parsed = url::Url::parse(u).map_err(std::io::Error::other)?;
        let addr = parsed
            .socket_addrs(|| None)?
            .into_iter()
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| std::io::Error::other(format!("{u} names no address")))?;
        Self::start(addr).await
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections the proxy has accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// `u` (an URL of the target) with the proxy's port in place of the target's.
    ///
    /// # Panics
    /// When `u` is not an URL.
    pub fn url_for(&self, u: &str) -> String {
        let mut parsed = url::Url::parse(u).expect("an URL");
        parsed.set_port(Some(self.port)).expect("an URL with a port");
        parsed.to_string().trim_end_matches('/').to_string()
    }

    /// From now on (`true`), connections opened to the proxy deliver what the client sends
    /// but close without an answer as soon as the target starts answering, as when a network
    /// drops a response: the target did the work, the client saw an error. Connections that
    /// are already open are not affected. For a plain-HTTP target (the edge's Function URL
    /// behind a local CloudFront): over TLS the target's first bytes are its handshake.
    pub fn lose_answers(&self, lose: bool) {
        self.lose_answers.store(lose, Ordering::SeqCst);
    }

    fn serve(&self, listener: TcpListener) {
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let target = self.target;
        let conns = connections.clone();
        let lose_answers = self.lose_answers.clone();
        let accepted = self.connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let lose = lose_answers.load(Ordering::SeqCst);
                conns.lock().expect("proxy lock").spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    if !lose {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                    let (mut client_reads, _client_writes) = inbound.split();
                    let (mut target_reads, mut target_writes) = outbound.split();
                    let mut first_byte = [0u8; 1];
                    tokio::select! {
                        _ = tokio::io::copy(&mut client_reads, &mut target_writes) => {}
                        _ = tokio::io::AsyncReadExt::read(&mut target_reads, &mut first_byte) => {}
                    }
                    // Both streams drop here: the client's connection closes unanswered.
                });
            }
        });
        *self.running.lock().expect("proxy lock") = Some(Running { accept, connections });
    }

    /// Stops listening and cuts every open connection; does nothing when stopped.
    pub async fn stop(&self) {
        let Some(running) = self.running.lock().expect("proxy lock").take() else {
            return;
        };
        running.accept.abort();
        // Awaiting the aborted task drops its listener: the port refuses from here on.
        let _ = running.accept.await;
        let mut connections = std::mem::take(&mut *running.connections.lock().expect("proxy lock"));
        connections.shutdown().await;
    }

    /// Cuts every open connection and listens again at once, so that the client's next
    /// request opens a new connection (and follows [`TcpProxy::lose_answers`]).
    ///
    /// # Panics
    /// When the port cannot be bound again.
    pub async fn cut_connections(&self) {
        self.stop().await;
        self.resume().await.expect("listen again on the proxy's port");
    }

    /// Listens again on the same port; does nothing when running.
    ///
    /// # Errors
    /// When the port cannot be bound again.
    pub async fn resume(&self) -> std::io::Result<()> {
        if self.running.lock().expect("proxy lock").is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        self.serve(listener);
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        // The connections' JoinSet aborts its tasks when dropped; the accept loop needs telling.
        if let Some(running) = self.running.get_mut().ok().and_then(Option::take) {
            running.accept.abort();
        }
    }
}
