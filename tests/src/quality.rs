//! The quality replay of the fraud layers on real data: every crawler User-Agent of
//! `useragents/isbot-crawlers.yml` and every browser User-Agent of `isbot-browsers.yml`,
//! each in a request whose headers and JA4 fit what it claims, and the tool JA4s of
//! `ja4/sample-ja4.csv` under browser User-Agents; then the confusion table and the misses.
//!
//! What "fits" means here:
//! - crawlers: the headers of an HTTP library (`Host`, `User-Agent`, `Accept-Encoding`,
//!   `Accept`), HTTP/1.1, a tool JA4 from the sample (Python, Go in turn), a datacenter ASN;
//! - browsers, by the engine their User-Agent implies: Chromium gets the sample's Chromium
//!   JA4 and Chrome's headers (client hints from 89, `Sec-Fetch-*` from 76), Firefox the
//!   sample's Firefox JA4 and its headers (`Sec-Fetch-*` from 90), over HTTP/2. The sample has
//!   no Safari or legacy JA4, so WebKit gets a **synthetic** JA4 with the shape of Safari's
//!   ClientHello (`t13d2014h2`, TLS 1.3, 20 ciphers, 14 extensions, h2; placeholder hashes)
//!   and every other engine a synthetic TLS 1.2 / HTTP/1.1 one (`t12d1209h1`, placeholder
//!   hashes); both are marked synthetic in the report;
//! - tool JA4s under a browser User-Agent: a browser's headers with the tool's JA4 over
//!   HTTP/1.1, for each tool JA4 and each of the first 25 desktop / mobile browser UAs.
//!
//! Browser User-Agents are reported in three groups: desktop and mobile browsers (the target
//! group), in-app webviews, and legacy or other clients (Internet Explorer, Presto Opera,
//! Amiga browsers, native app HTTP stacks like Dalvik or CFNetwork, TV and console agents).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::replay::Corpus;

/// Synthetic Safari-shaped JA4 (no Safari JA4 is in `shared/data`).
pub const SYNTHETIC_WEBKIT_JA4: &str = "t13d2014h2_000000000000_000000000000";
/// Synthetic JA4 for legacy engines: TLS 1.2, HTTP/1.1.
pub const SYNTHETIC_LEGACY_JA4: &str = "t12d1209h1_000000000000_000000000000";

/// The group a case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Crawler,
    Browser,
    Webview,
    LegacyOrOther,
    ToolJa4UnderBrowser,
}

impl Group {
    /// Label for the report.
    pub fn label(self) -> &'static str {
        match self {
            Group::Crawler => "crawler UAs",
            Group::Browser => "desktop & mobile browsers",
            Group::Webview => "in-app webviews",
            Group::LegacyOrOther => "legacy & other clients",
            Group::ToolJa4UnderBrowser => "tool JA4 under a browser UA",
        }
    }

    /// What the group should score: `true` = high or critical, `false` = low.
    pub fn expect_bad(self) -> Option<bool> {
        match self {
            Group::Crawler | Group::ToolJa4UnderBrowser => Some(true),
            Group::Browser => Some(false),
            Group::Webview | Group::LegacyOrOther => None,
        }
    }
}

/// One replayed request and what it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub group: Group,
    /// The fixture's client name.
    pub client: String,
    pub user_agent: String,
    pub ja4: String,
    pub synthetic_ja4: bool,
    /// The CloudFront origin-request event, one JSON line.
    pub event: String,
}

static WEBVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"; wv\)|WebView|FBAN/|FBAV/|Instagram|Line/|MicroMessenger|GSA/|Twitter for|Snapchat").expect("regex")
});
static CHROME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:Chrome|Chromium)/(\d+)").expect("regex"));
static FIREFOX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"Firefox/(\d+)").expect("regex"));
static SAFARI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"Version/(\d+)").expect("regex"));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Blink(u32),
    Gecko(u32),
    WebKit(u32),
    Other,
}

fn major(re: &Regex, ua: &str) -> Option<u32> {
    re.captures(ua)?.get(1)?.as_str().parse().ok()
}

fn family(ua: &str) -> Family {
    let ios = ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod");
    if ios {
        Family::WebKit(major(&SAFARI, ua).unwrap_or(17))
    } else if let Some(v) = major(&CHROME, ua) {
        Family::Blink(v)
    } else if let (Some(v), true) = (major(&FIREFOX, ua), ua.contains("Gecko/")) {
        Family::Gecko(v)
    } else if ua.contains("Safari/") && ua.contains("AppleWebKit/") && ua.contains("Macintosh") {
        Family::WebKit(major(&SAFARI, ua).unwrap_or(17))
    } else {
        Family::Other
    }
}

/// The group of a browser-fixture User-Agent.
pub fn browser_group(ua: &str) -> Group {
    let ios_webview =
        (ua.contains("iPhone") || ua.contains("iPad")) && ua.contains("Mobile/") && !ua.contains("Safari/");
    if WEBVIEW.is_match(ua) || ios_webview {
        Group::Webview
    } else if family(ua) == Family::Other || ua.starts_with("Mozilla/4.0") {
        Group::LegacyOrOther
    } else {
        Group::Browser
    }
}

fn browser_headers(ua: &str, fam: Family) -> Vec<(String, String)> {
    let mobile = ua.contains("Mobile") || ua.contains("Android");
    let mut h: Vec<(String, String)> = vec![("Host".into(), "t.shop.example".into())];
    let fetch = |h: &mut Vec<(String, String)>| {
        h.push(("Sec-Fetch-Site".into(), "same-site".into()));
        h.push(("Sec-Fetch-Mode".into(), "cors".into()));
        h.push(("Sec-Fetch-Dest".into(), "empty".into()));
    };
    match fam {
        Family::Blink(v) => {
            if v >= 89 {
                h.push((
                    "sec-ch-ua".into(),
                    format!("\"Chromium\";v=\"{v}\", \"Not_A Brand\";v=\"24\""),
                ));
                h.push(("sec-ch-ua-mobile".into(), if mobile { "?1" } else { "?0" }.into()));
                h.push((
                    "sec-ch-ua-platform".into(),
                    if mobile { "\"Android\"" } else { "\"Windows\"" }.into(),
                ));
            }
            h.push(("User-Agent".into(), ua.into()));
            h.push(("Content-Type".into(), "text/plain;charset=UTF-8".into()));
            h.push(("Accept".into(), "*/*".into()));
            h.push(("Origin".into(), "https://shop.example".into()));
            if v >= 76 {
                fetch(&mut h);
            }
            h.push(("Referer".into(), "https://shop.example/".into()));
            h.push(("Accept-Encoding".into(), "gzip, deflate, br, zstd".into()));
            h.push(("Accept-Language".into(), "en-US,en;q=0.9".into()));
        }
        Family::Gecko(v) => {
            h.push(("User-Agent".into(), ua.into()));
            h.push(("Accept".into(), "*/*".into()));
            h.push(("Accept-Language".into(), "en-US,en;q=0.5".into()));
            h.push(("Accept-Encoding".into(), "gzip, deflate, br, zstd".into()));
            h.push(("Content-Type".into(), "text/plain;charset=UTF-8".into()));
            h.push(("Origin".into(), "https://shop.example".into()));
            h.push(("Referer".into(), "https://shop.example/".into()));
            if v >= 90 {
                fetch(&mut h);
            }
        }
        Family::WebKit(v) => {
            h.push(("Content-Type".into(), "text/plain;charset=UTF-8".into()));
            h.push(("Accept".into(), "*/*".into()));
            if v >= 17 {
                fetch(&mut h);
            }
            h.push(("Origin".into(), "https://shop.example".into()));
            h.push(("User-Agent".into(), ua.into()));
            h.push(("Referer".into(), "https://shop.example/".into()));
            h.push(("Accept-Language".into(), "en-US,en;q=0.9".into()));
            h.push(("Accept-Encoding".into(), "gzip, deflate, br".into()));
        }
        Family::Other => {
            h.push(("Accept".into(), "*/*".into()));
            h.push(("Referer".into(), "https://shop.example/".into()));
            h.push(("Accept-Language".into(), "en-US".into()));
            h.push(("User-Agent".into(), ua.into()));
            h.push(("Content-Type".into(), "text/plain".into()));
            h.push(("Accept-Encoding".into(), "gzip, deflate".into()));
        }
    }
    h
}

fn crawler_headers(ua: &str) -> Vec<(String, String)> {
    vec![
        ("Host".into(), "t.shop.example".into()),
        ("User-Agent".into(), ua.into()),
        ("Accept-Encoding".into(), "gzip, deflate".into()),
        ("Accept".into(), "*/*".into()),
        ("Content-Type".into(), "application/json".into()),
    ]
}

/// A CloudFront origin-request event for `/t` with `headers` plus the viewer headers.
fn event(headers: &[(String, String)], ja4: &str, http: &str, tls: &str, asn: u32, ip: &str) -> String {
    let order: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let mut all: Vec<(String, String)> = headers.to_vec();
    all.extend([
        ("CloudFront-Viewer-JA4-Fingerprint".to_string(), ja4.to_string()),
        ("CloudFront-Viewer-TLS".into(), tls.to_string()),
        ("CloudFront-Viewer-Http-Version".into(), http.to_string()),
        ("CloudFront-Viewer-Address".into(), format!("{ip}:50000")),
        ("CloudFront-Viewer-ASN".into(), asn.to_string()),
        ("CloudFront-Viewer-Header-Order".into(), order.join(":")),
        ("CloudFront-Viewer-Header-Count".into(), order.len().to_string()),
    ]);
    let mut map = serde_json::Map::new();
    for (k, v) in &all {
        map.entry(k.to_ascii_lowercase())
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("array")
            .push(json!({"key": k, "value": v}));
    }
    let body =
        json!({"organizationId": "org_demo_pro", "event": "page_view", "url": "https://shop.example/"}).to_string();
    json!({"Records": [{"cf": {"config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "distributionId": "EDFDVBD6EXAMPLE",
        "eventType": "origin-request", "requestId": "quality"}, "request": {"clientIp": ip, "method": "POST", "uri": "/t",
        "querystring": "", "headers": map, "body": {"inputTruncated": false, "action": "read-only", "encoding": "text", "data": body}}}}]})
    .to_string()
}

/// Builds every case of the quality replay.
///
/// # Panics
/// When the corpus lacks the Chromium or Firefox JA4 or any tool JA4.
pub fn build_cases(corpus: &Corpus) -> Vec<Case> {
    let chromium = corpus.ja4_of("Chromium Browser").expect("Chromium JA4").to_string();
    let firefox = corpus.ja4_of("Mozilla Firefox").expect("Firefox JA4").to_string();
    let mut tools: Vec<String> = corpus.tool_ja4s().into_iter().map(str::to_string).collect();
    tools.dedup();
    assert!(!tools.is_empty(), "no tool JA4");
    let residential = [7922u32, 701, 3320, 2856, 3215];
    let mut cases = Vec::new();
    for (i, (client, ua)) in corpus.crawlers.iter().enumerate() {
        let ja4 = tools[i % tools.len()].clone();
        let asn = corpus.datacenter_asns[i % corpus.datacenter_asns.len()];
        cases.push(Case {
            group: Group::Crawler,
            client: client.clone(),
            user_agent: ua.clone(),
            event: event(
                &crawler_headers(ua),
                &ja4,
                "1.1",
                "TLSv1.3:TLS_AES_256_GCM_SHA384:fullHandshake",
                asn,
                "203.0.113.10",
            ),
            ja4,
            synthetic_ja4: false,
        });
    }
    let mut tool_hosts = Vec::new();
    for (i, (client, ua)) in corpus.browsers.iter().enumerate() {
        let fam = family(ua);
        let group = browser_group(ua);
        let (ja4, synthetic, http) = match fam {
            Family::Blink(_) => (chromium.clone(), false, "2.0"),
            Family::Gecko(_) => (firefox.clone(), false, "2.0"),
            Family::WebKit(_) => (SYNTHETIC_WEBKIT_JA4.to_string(), true, "2.0"),
            Family::Other => (SYNTHETIC_LEGACY_JA4.to_string(), true, "1.1"),
        };
        let tls = if ja4.starts_with("t13") {
            "TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake"
        } else {
            "TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256:fullHandshake"
        };
        let headers = browser_headers(ua, fam);
        cases.push(Case {
            group,
            client: client.clone(),
            user_agent: ua.clone(),
            event: event(
                &headers,
                &ja4,
                http,
                tls,
                residential[i % residential.len()],
                "198.51.100.20",
            ),
            ja4,
            synthetic_ja4: synthetic,
        });
        if group == Group::Browser && tool_hosts.len() < 25 {
            tool_hosts.push((client.clone(), ua.clone(), headers));
        }
    }
    for tool in &tools {
        for (client, ua, headers) in &tool_hosts {
            cases.push(Case {
                group: Group::ToolJa4UnderBrowser,
                client: format!(
                    "{client} UA with the JA4 of {}",
                    corpus
                        .ja4
                        .iter()
                        .find(|r| &r.ja4 == tool)
                        .map(|r| r.client.as_str())
                        .unwrap_or("a tool")
                ),
                user_agent: ua.clone(),
                event: event(
                    headers,
                    tool,
                    "1.1",
                    "TLSv1.3:TLS_AES_256_GCM_SHA384:fullHandshake",
                    7922,
                    "198.51.100.30",
                ),
                ja4: tool.clone(),
                synthetic_ja4: false,
            });
        }
    }
    cases
}

/// One scored case, as the report reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scored {
    pub level: String,
    pub score: f64,
    /// Reason codes that scored.
    pub reasons: Vec<String>,
}

/// Counts per group and level, targets, misses.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub table: BTreeMap<Group, BTreeMap<String, usize>>,
    pub misses: Vec<(Group, String, String, Scored)>,
}

impl Report {
    /// Builds the report of `cases` and their scores (same order).
    pub fn new(cases: &[Case], scored: &[Scored]) -> Self {
        let mut r = Report::default();
        for (case, s) in cases.iter().zip(scored) {
            *r.table
                .entry(case.group)
                .or_default()
                .entry(s.level.clone())
                .or_default() += 1;
            let bad = matches!(s.level.as_str(), "high" | "critical");
            let miss = match case.group.expect_bad() {
                Some(true) => !bad,
                Some(false) => s.level != "low",
                None => false,
            };
            if miss {
                r.misses
                    .push((case.group, case.client.clone(), case.user_agent.clone(), s.clone()));
            }
        }
        r
    }

    /// Share of a group meeting its target, 0–1.
    pub fn hit_rate(&self, group: Group) -> f64 {
        let Some(row) = self.table.get(&group) else { return 1.0 };
        let total: usize = row.values().sum();
        let good: usize = match group.expect_bad() {
            Some(true) => row.get("high").copied().unwrap_or(0) + row.get("critical").copied().unwrap_or(0),
            Some(false) => row.get("low").copied().unwrap_or(0),
            None => total,
        };
        if total == 0 {
            1.0
        } else {
            good as f64 / total as f64
        }
    }

    /// The printed report: the confusion table, the targets, every miss by name.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("Fraud scoring quality on real User-Agents and JA4s (tests/data)\n");
        out.push_str(&format!(
            "  {:<30} {:>6} {:>7} {:>6} {:>9} {:>6}\n",
            "group", "low", "medium", "high", "critical", "total"
        ));
        for (group, row) in &self.table {
            let g = |l: &str| row.get(l).copied().unwrap_or(0);
            let total: usize = row.values().sum();
            out.push_str(&format!(
                "  {:<30} {:>6} {:>7} {:>6} {:>9} {:>6}\n",
                group.label(),
                g("low"),
                g("medium"),
                g("high"),
                g("critical"),
                total
            ));
        }
        out.push_str("targets:\n");
        for (group, what, target) in [
            (Group::Crawler, "high or critical", 0.99),
            (Group::Browser, "low", 0.99),
            (Group::ToolJa4UnderBrowser, "high or critical", 1.0),
        ] {
            let rate = self.hit_rate(group);
            let ok = if rate + 1e-9 >= target { "met" } else { "MISSED" };
            out.push_str(&format!(
                "  {:<30} {:.1} % {what} (target {:.0} %) {ok}\n",
                group.label(),
                rate * 100.0,
                target * 100.0
            ));
        }
        out.push_str(&format!("misses ({}):\n", self.misses.len()));
        for (group, client, ua, s) in &self.misses {
            out.push_str(&format!(
                "  [{}] {client}: {} {:.1} ({}) — {ua}\n",
                group.label(),
                s.level,
                s.score,
                s.reasons.join(", ")
            ));
        }
        out
    }
}
