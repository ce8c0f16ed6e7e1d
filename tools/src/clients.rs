//! Real clients of this machine through a local CloudFront, scored by the running edge: each
//! client sends a `/t` page view as a script imitating a browser would (a JSON body, an
//! `Origin`), with its own User-Agent and with a desktop Chrome one, over HTTP/2 and HTTP/1.1
//! where it can; the edge sees the client's own ClientHello (JA4), its own headers in its own
//! order and the HTTP version its ALPN chose. Each client has a listener of its own, so a
//! viewer address of its own: one client's IP rate, blacklist or JA4 clustering is not
//! another's.
//!
//! The clients: curl, python-requests (the project's `.venv`), headless Chromium (through
//! chromedriver: its own `HeadlessChrome` User-Agent; a desktop Chrome User-Agent of its own
//! version, which is what a person's Chrome on this machine would send; and the same with
//! HTTP/2 switched off, as no shipped Chrome is), and where they are installed Node's `fetch`
//! and wget. What each should score ([`Expect`]) follows from what it is, not from a list:
//! every HTTP library is a bot whatever its User-Agent says, and the real browser with its own
//! transport and a browser User-Agent is a person.

use std::path::PathBuf;
use std::time::Duration;

use crate::cloudfront::Viewer;
use impressio::event::EventRecord;

use crate::browser::{Browser, BrowserConfig, TEST_ORGANIZATION};
use crate::in_process::{certificate_file, fresh_viewer, LocalCloudFront};

/// A desktop Chrome User-Agent (Windows, Chrome 142, reduced form) for the HTTP libraries.
pub const DESKTOP_CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

/// The program behind a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Curl,
    PythonRequests,
    Chromium,
    Node,
    Wget,
}

impl Program {
    /// The name the table shows.
    pub fn name(self) -> &'static str {
        match self {
            Program::Curl => "curl",
            Program::PythonRequests => "python-requests",
            Program::Chromium => "Chromium (headless)",
            Program::Node => "Node fetch",
            Program::Wget => "wget",
        }
    }

    /// Whether the targets require it (the others run where installed).
    pub fn required(self) -> bool {
        matches!(self, Program::Curl | Program::PythonRequests | Program::Chromium)
    }
}

/// Which User-Agent a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The client's own.
    Own,
    /// [`DESKTOP_CHROME`] for the libraries; Chromium's own version as desktop Chrome on Linux.
    DesktopChrome,
}

/// What a run should score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// High or critical.
    Bot,
    /// Low.
    Person,
}

/// One run of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub program: Program,
    pub claim: Claim,
    /// Whether the client may negotiate HTTP/2.
    pub http2: bool,
    pub expect: Expect,
}

/// Every run: curl over HTTP/2 and HTTP/1.1, python-requests (HTTP/1.1 only), Chromium, Node
/// and wget (HTTP/1.1 only), each with its own User-Agent and a desktop Chrome one.
pub fn runs() -> Vec<Run> {
    let mut out = Vec::new();
    let bot = |program, http2| {
        // The browser claim first: where the edge enforces, the tool's first block blacklists
        // its TLS client (a tool's JA4, organization-wide) and the second run is refused.
        [Claim::DesktopChrome, Claim::Own].map(|claim| Run {
            program,
            claim,
            http2,
            expect: Expect::Bot,
        })
    };
    out.extend(bot(Program::Curl, true));
    out.extend(bot(Program::Curl, false));
    out.extend(bot(Program::PythonRequests, false));
    out.extend([
        // HeadlessChrome names browser automation.
        Run {
            program: Program::Chromium,
            claim: Claim::Own,
            http2: true,
            expect: Expect::Bot,
        },
        Run {
            program: Program::Chromium,
            claim: Claim::DesktopChrome,
            http2: true,
            expect: Expect::Person,
        },
        // No Chrome ships without HTTP/2: its ALPN offers only http/1.1.
        Run {
            program: Program::Chromium,
            claim: Claim::DesktopChrome,
            http2: false,
            expect: Expect::Bot,
        },
    ]);
    out.extend(bot(Program::Node, false));
    out.extend(bot(Program::Wget, false));
    out
}

/// What the edge made of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run: Run,
    pub user_agent: String,
    /// The answer's status; `None` when the client could not send.
    pub status: Option<u16>,
    /// What the edge stored: JA4, HTTP version, level, score, trigger, scoring reasons.
    pub stored: Option<Scored>,
    /// Why there is nothing stored, or the client is not installed.
    pub note: Option<String>,
}

/// The stored assessment of a run.
#[derive(Debug, Clone)]
pub struct Scored {
    pub ja4: String,
    pub http_version: String,
    pub level: String,
    pub score: f64,
    pub trigger: Option<String>,
    /// The reason codes that scored, by component (`component/code`).
    pub reasons: Vec<String>,
}

impl Outcome {
    /// Whether the run scored as [`Run::expect`] says; a bot refused as blacklisted (`429`,
    /// where the edge enforces and an earlier run of the same TLS client was blocked) is too.
    pub fn as_expected(&self) -> bool {
        match (&self.stored, self.run.expect) {
            (Some(s), Expect::Bot) => matches!(s.level.as_str(), "high" | "critical"),
            (Some(s), Expect::Person) => s.level == "low",
            (None, Expect::Bot) => self.blacklisted(),
            (None, Expect::Person) => false,
        }
    }

    /// Refused before scoring: its address or TLS client was blacklisted by an earlier block.
    pub fn blacklisted(&self) -> bool {
        self.status == Some(429) && self.stored.is_none()
    }
}

/// Where the runs send and read.
pub struct Setup {
    /// The edge's Function URL base, e.g. `http://127.0.0.1:9001/lambda-url/edge`.
    pub origin: String,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub table: String,
    /// The project's Python (`.venv/bin/python`), with `requests`.
    pub python: PathBuf,
}

/// Runs every [`runs`] entry through a local CloudFront in front of `setup.origin` and reads
/// what the edge stored. Chromium needs chromedriver ([`crate::browser::webdriver_url`]).
///
/// # Panics
/// When the local CloudFront cannot start or DynamoDB cannot be read.
pub async fn run_all(setup: &Setup) -> Vec<Outcome> {
    let runs = runs();
    let viewers: Vec<Viewer> = runs.iter().map(|_| fresh_viewer()).collect();
    let front = LocalCloudFront::start(&setup.origin, viewers).await;
    let mut sent = Vec::new();
    let mut chromium_version: Option<String> = None;
    for (i, run) in runs.iter().enumerate() {
        let url = format!(
            "https://localhost/real-clients/{}-{}",
            run.program
                .name()
                .split_whitespace()
                .next()
                .unwrap_or("client")
                .to_ascii_lowercase(),
            uuid::Uuid::now_v7().simple()
        );
        let body =
            serde_json::json!({"organizationId": TEST_ORGANIZATION, "event": "page_view", "url": url}).to_string();
        let endpoint = format!("{}/t", front.url(i));
        let (user_agent, result) = match run.program {
            Program::Chromium => {
                let r = chromium(*run, &endpoint, &body, &mut chromium_version).await;
                (r.0, r.1)
            }
            p => {
                let ua = match run.claim {
                    Claim::Own => String::new(),
                    Claim::DesktopChrome => DESKTOP_CHROME.to_string(),
                };
                (ua.clone(), library(p, *run, &setup.python, &endpoint, &body, &ua).await)
            }
        };
        sent.push((*run, url, user_agent, result));
    }
    let mut out = Vec::new();
    for (run, url, user_agent, result) in sent {
        let (status, note) = match result {
            Ok(status) => (Some(status), None),
            Err(e) => (None, Some(e)),
        };
        let stored = match status {
            Some(_) => stored(&setup.dynamo, &setup.table, &url).await,
            None => None,
        };
        let note = note.or_else(|| {
            stored.is_none().then(|| match status {
                Some(429) => "refused 429 blacklisted: an earlier run's block blacklisted this TLS client (a tool's JA4, organization-wide)".to_string(),
                Some(s) => format!("answered {s}, nothing stored"),
                None => "no answer".to_string(),
            })
        });
        out.push(Outcome {
            run,
            user_agent: if user_agent.is_empty() {
                "(its own)".into()
            } else {
                user_agent
            },
            status,
            stored,
            note,
        });
    }
    out
}

/// The stored event of `url`, waited for up to 10 s.
async fn stored(dynamo: &aws_sdk_dynamodb::Client, table: &str, url: &str) -> Option<Scored> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = crate::browser::page_events(dynamo, table, url).await;
        if let Some(e) = events.first() {
            return Some(scored(e));
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn scored(e: &EventRecord) -> Scored {
    let viewer = &e.context.viewer;
    let risk = e.risk.as_ref();
    Scored {
        ja4: viewer.ja4.clone().unwrap_or_default(),
        http_version: viewer.http_version.clone().unwrap_or_default(),
        level: risk.map_or("none".into(), |r| format!("{:?}", r.level).to_ascii_lowercase()),
        score: risk.map_or(0.0, |r| r.score),
        trigger: risk.and_then(|r| r.trigger).map(|t| t.name().to_string()),
        reasons: risk
            .map(|r| {
                r.breakdown
                    .iter()
                    .flat_map(|(component, c)| {
                        c.reasons
                            .iter()
                            .filter(|x| x.points > 0.0)
                            .map(move |x| format!("{component}/{}", x.code))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Sends the page view with an HTTP library; the answer's status, or why it could not.
async fn library(
    program: Program,
    run: Run,
    python: &std::path::Path,
    endpoint: &str,
    body: &str,
    ua: &str,
) -> Result<u16, String> {
    let pem = certificate_file();
    let mut cmd = match program {
        Program::Curl => {
            let mut c = tokio::process::Command::new("curl");
            c.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
                .arg(pem)
                .arg(if run.http2 { "--http2" } else { "--http1.1" })
                .args([
                    "-H",
                    "Origin: https://localhost",
                    "-H",
                    "Content-Type: application/json",
                ])
                .args(["--data-binary", body]);
            if !ua.is_empty() {
                c.args(["-A", ua]);
            }
            c.arg(endpoint);
            c
        }
        Program::PythonRequests => {
            let mut c = tokio::process::Command::new(python);
            c.args([
                "-c",
                "import sys, requests\n\
                 url, body, ua, pem = sys.argv[1:5]\n\
                 headers = {'Origin': 'https://localhost', 'Content-Type': 'application/json'}\n\
                 if ua: headers['User-Agent'] = ua\n\
                 print(requests.post(url, data=body, headers=headers, verify=pem, timeout=20).status_code, end='')",
                endpoint,
                body,
                ua,
            ])
            .arg(pem);
            c
        }
        Program::Node => {
            let mut c = tokio::process::Command::new("node");
            c.env("NODE_EXTRA_CA_CERTS", pem).args([
                "-e",
                "const [url, body, ua] = process.argv.slice(1);\n\
                 const headers = {'Origin': 'https://localhost', 'Content-Type': 'application/json'};\n\
                 if (ua) headers['User-Agent'] = ua;\n\
                 fetch(url, {method: 'POST', body, headers}).then(r => process.stdout.write(String(r.status)), e => { console.error(String(e)); process.exit(1); });",
                endpoint,
                body,
                ua,
            ]);
            c
        }
        Program::Wget => {
            let mut c = tokio::process::Command::new("wget");
            c.args(["-q", "-O", "/dev/null", "--server-response", "--content-on-error"])
                .arg(format!("--ca-certificate={}", pem.display()))
                .args([
                    "--header=Origin: https://localhost",
                    "--header=Content-Type: application/json",
                ])
                .arg(format!("--post-data={body}"));
            if !ua.is_empty() {
                c.arg(format!("--user-agent={ua}"));
            }
            c.arg(endpoint);
            c
        }
        Program::Chromium => unreachable!("Chromium runs through chromedriver"),
    };
    let out = match tokio::time::timeout(Duration::from_secs(30), cmd.output()).await {
        Err(_) => return Err(format!("{} did not finish within 30 s", program.name())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{} is not installed", program.name()))
        }
        Ok(Err(e)) => return Err(format!("{} did not start: {e}", program.name())),
        Ok(Ok(out)) => out,
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // wget prints the status line of --server-response on stderr ("  HTTP/1.1 200 OK").
    let status = match program {
        Program::Wget => stderr
            .lines()
            .filter_map(|l| l.trim().strip_prefix("HTTP/"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .next_back(),
        _ => text.trim().parse().ok(),
    };
    status.ok_or_else(|| format!("{} failed: {} {}", program.name(), text.trim(), stderr.trim()))
}

/// Sends the page view from a page of a local HTTPS site in headless Chromium with `fetch`
/// (as a page's own script would: `text/plain`, credentials included), no collector and no
/// signals; returns the User-Agent sent and the answer's status.
async fn chromium(run: Run, endpoint: &str, body: &str, version: &mut Option<String>) -> (String, Result<u16, String>) {
    let user_agent = match (run.claim, version.as_ref()) {
        (Claim::Own, _) => None,
        (Claim::DesktopChrome, Some(v)) => Some(format!(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
        )),
        (Claim::DesktopChrome, None) => return (String::new(), Err("Chromium's version is unknown".into())),
    };
    let config = BrowserConfig {
        user_agent: user_agent.clone(),
        http2: run.http2,
        ..BrowserConfig::default()
    };
    let page = |_: &str| crate::site::Page {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: b"<!doctype html><title>a shop</title><p>A page without the collector.</p>".to_vec(),
    };
    let site = match crate::site::Site::start(crate::in_process::identity(), std::sync::Arc::new(page)).await {
        Ok(s) => s,
        Err(e) => return (String::new(), Err(format!("the page's site did not start: {e}"))),
    };
    let browser = Browser::launch(&config).await;
    browser.open(&site.url("/")).await;
    let sent_ua = browser
        .eval("return navigator.userAgent;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    if version.is_none() {
        *version = sent_ua
            .split("Chrome/")
            .nth(1)
            .and_then(|v| v.split('.').next())
            .map(String::from);
    }
    let script = format!(
        "var done = arguments[arguments.length - 1];
         fetch({endpoint:?}, {{method: 'POST', body: {body:?}, credentials: 'include',
           headers: {{'Content-Type': 'text/plain;charset=UTF-8'}}}})
           .then(function (r) {{ done(r.status); }}, function (e) {{ done('failed: ' + e); }});"
    );
    let answer = browser.client().execute_async(&script, vec![]).await;
    browser.close().await;
    let status = match answer {
        Ok(v) => v
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("the page's fetch: {v}")),
        Err(e) => Err(format!("the page's fetch: {e}")),
    };
    (sent_ua, status)
}

/// The outcomes as a table: client, User-Agent, JA4, HTTP version, level, score, trigger,
/// reasons; then the count as expected.
pub fn render(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "  {:<22} {:<4} {:<14} {:<38} {:<5} {:<9} {:>5}  {:<22} reasons\n",
        "client", "ALPN", "User-Agent", "JA4", "HTTP", "level", "score", "trigger"
    ));
    for o in outcomes {
        let claim = match o.run.claim {
            Claim::Own => "its own",
            Claim::DesktopChrome => "desktop Chrome",
        };
        let alpn = if o.run.http2 { "h2" } else { "h1" };
        match &o.stored {
            Some(s) => out.push_str(&format!(
                "  {:<22} {:<4} {:<14} {:<38} {:<5} {:<9} {:>5.1}  {:<22} {}{}\n",
                o.run.program.name(),
                alpn,
                claim,
                s.ja4,
                s.http_version,
                s.level,
                s.score,
                s.trigger.as_deref().unwrap_or("-"),
                s.reasons.join(", "),
                if o.as_expected() { "" } else { "  << NOT AS EXPECTED" }
            )),
            None => out.push_str(&format!(
                "  {:<22} {:<4} {:<14} {}\n",
                o.run.program.name(),
                alpn,
                claim,
                o.note.as_deref().unwrap_or("no answer")
            )),
        }
    }
    let ran: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.stored.is_some() || o.blacklisted())
        .collect();
    let good = ran.iter().filter(|o| o.as_expected()).count();
    out.push_str(&format!(
        "  {good} of {} runs as expected (every HTTP library and automated browser high or critical; Chromium with its own transport and a desktop Chrome User-Agent low)\n",
        ran.len()
    ));
    out
}
