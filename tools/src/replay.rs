//! The traffic replay of the local stack: real browser and crawler User-Agents from isbot's
//! fixtures, paired with real JA4 strings of the matching client family (FoxIO), with
//! plausible CloudFront viewer headers (datacenter ASNs from X4BNet for crawlers).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde_json::{json, Value};

/// Who sent a replayed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Traffic {
    /// A real browser User-Agent with its browser JA4.
    Browser,
    /// A real crawler / HTTP-library User-Agent with a tool JA4.
    Crawler,
}

/// Which Lambda event shape carries a replayed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// An HTTP request to the Function URL emulation (`/lambda-url/edge/…`).
    FunctionUrl,
    /// A CloudFront origin-request event sent to the invoke API.
    CloudFront,
}

/// One JA4 row of `sample-ja4.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4Row {
    pub client: String,
    pub kind: String,
    pub ja4: String,
}

/// The real data the replay is built from.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// (client name, User-Agent) of browsers and webviews.
    pub browsers: Vec<(String, String)>,
    /// (client name, User-Agent) of crawlers and HTTP libraries.
    pub crawlers: Vec<(String, String)>,
    pub ja4: Vec<Ja4Row>,
    /// Datacenter ASNs.
    pub datacenter_asns: Vec<u32>,
}

type DynError = Box<dyn std::error::Error + Send + Sync>;

impl Corpus {
    /// Loads the isbot User-Agent fixtures from `dir` (`tools/data/`, see its `SOURCE.md`) and
    /// the JA4 sample and datacenter ASNs the rules vendor (`shared/data/`).
    ///
    /// # Errors
    /// When a file is missing or malformed.
    pub fn load(dir: &Path) -> Result<Self, DynError> {
        let read_in = |dir: &Path, p: &str| {
            std::fs::read_to_string(dir.join(p)).map_err(|e| format!("{}: {e}", dir.join(p).display()))
        };
        let read = |p: &str| read_in(dir, p);
        let vendored = crate::workspace_root().join("shared/data");
        let flatten = |text: String| -> Result<Vec<(String, String)>, DynError> {
            let map: BTreeMap<String, Vec<String>> = serde_yaml_ng::from_str(&text)?;
            Ok(map
                .into_iter()
                .flat_map(|(name, uas)| uas.into_iter().map(move |ua| (name.clone(), ua)))
                .collect())
        };
        let ja4 = read_in(&vendored, "ja4/sample-ja4.csv")?
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut it = l.split(',');
                Some(Ja4Row {
                    client: it.next()?.to_string(),
                    kind: it.next()?.to_string(),
                    ja4: it.next()?.trim().to_string(),
                })
            })
            .collect();
        let datacenter_asns = read_in(&vendored, "asn/x4bnet-datacenter-asn.txt")?
            .lines()
            .filter_map(|l| l.trim().strip_prefix("AS")?.split_whitespace().next()?.parse().ok())
            .collect();
        Ok(Corpus {
            browsers: flatten(read("useragents/isbot-browsers.yml")?)?,
            crawlers: flatten(read("useragents/isbot-crawlers.yml")?)?,
            ja4,
            datacenter_asns,
        })
    }

    /// The JA4 of a browser family (`Chromium Browser`, `Mozilla Firefox`).
    pub fn ja4_of(&self, client: &str) -> Option<&str> {
        self.ja4.iter().find(|r| r.client == client).map(|r| r.ja4.as_str())
    }

    /// JA4 strings of non-browser clients.
    pub fn tool_ja4s(&self) -> Vec<&str> {
        self.ja4
            .iter()
            .filter(|r| r.kind == "non-browser")
            .map(|r| r.ja4.as_str())
            .collect()
    }
}

/// The browser family of a User-Agent whose JA4 the corpus has, if any.
pub fn browser_family(ua: &str) -> Option<&'static str> {
    // iOS browsers run Apple's TLS stack, whose JA4 the data lacks.
    if !ua.starts_with("Mozilla/5.0") || ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        return None;
    }
    if ua.contains("Firefox/") && !ua.contains("Seamonkey") {
        Some("Mozilla Firefox")
    } else if ua.contains("Chrome/") && !ua.contains("Firefox/") {
        Some("Chromium Browser")
    } else {
        None
    }
}

/// One request of the replay, independent of the shape that carries it.
#[derive(Debug, Clone)]
pub struct ReplayRequest {
    pub traffic: Traffic,
    /// The simulated person (browsers only), whose cookies the replay keeps.
    pub person: Option<usize>,
    /// The organization the request is for.
    pub organization: &'static str,
    pub shape: Shape,
    /// Route label for the summary (`/t`, `/c`, `/cookie-test`, `/h.js`, `pixel`).
    pub route: &'static str,
    pub client: String,
    pub method: &'static str,
    pub path: String,
    pub query: String,
    /// Headers in the order the client sends them.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub client_ip: String,
}

/// The sample organizations the replay sends for (one per plan).
pub const ORGANIZATIONS: [&str; 4] = [
    "org_demo_free",
    "org_demo_starter",
    "org_demo_pro",
    "org_demo_enterprise",
];

/// The `.example` sites each replayed organization's plan honors, from
/// `infra/organizations/local.json` and the default plan limits.
fn org_sites() -> BTreeMap<&'static str, Vec<String>> {
    let dir = impressio::org::local::LocalDirectory::embedded();
    let plans = impressio::org::PlanCatalog::default();
    ORGANIZATIONS
        .iter()
        .map(|id| {
            let org = dir
                .all()
                .find(|o| o.id == *id)
                .expect("replayed organizations are in local.json");
            let honored = plans.limits(org.plan).domains.map_or(org.domains.len(), |n| n as usize);
            let sites = org
                .domains
                .iter()
                .take(honored)
                .filter(|d| d.ends_with(".example"))
                .cloned()
                .collect();
            (*id, sites)
        })
        .collect()
}
const RESIDENTIAL_ASNS: [u32; 8] = [7922, 701, 3320, 2856, 3215, 12322, 6830, 4713];
/// (country, region, city, latitude, longitude, time zone)
const PLACES: [(&str, &str, &str, &str, &str, &str); 7] = [
    ("US", "WA", "Seattle", "47.60620", "-122.33210", "America/Los_Angeles"),
    ("US", "NY", "New York", "40.71280", "-74.00600", "America/New_York"),
    ("DE", "BE", "Berlin", "52.52000", "13.40500", "Europe/Berlin"),
    ("GB", "ENG", "London", "51.50740", "-0.12780", "Europe/London"),
    ("FR", "IDF", "Paris", "48.85660", "2.35220", "Europe/Paris"),
    ("JP", "13", "Tokyo", "35.67620", "139.65030", "Asia/Tokyo"),
    ("BR", "SP", "Sao Paulo", "-23.55050", "-46.63330", "America/Sao_Paulo"),
];

/// Builds `count` requests, deterministic for a `seed`: about two thirds browsers, one third
/// crawlers; every fourth request travels as a CloudFront origin-request event.
///
/// # Panics
/// When the corpus lacks browser or tool JA4s.
pub fn build_traffic(corpus: &Corpus, count: usize, seed: u64) -> Vec<ReplayRequest> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let browsers: Vec<(&String, &String, &str)> = corpus
        .browsers
        .iter()
        .filter_map(|(n, ua)| browser_family(ua).map(|f| (n, ua, f)))
        .collect();
    let tools = corpus.tool_ja4s();
    let sites = org_sites();
    assert!(
        !browsers.is_empty() && !tools.is_empty(),
        "corpus lacks browsers or tool JA4s"
    );
    // A pool of people, each with one browser, fingerprint, address and place, so returning
    // visitors (and their cookies) exist in the replay.
    let people: Vec<Person> = (0..(count / 6).max(1))
        .map(|who| {
            let (name, ua, family) = browsers[rng.usize(..browsers.len())];
            Person {
                name: name.clone(),
                ua: ua.clone(),
                family,
                ja4: corpus.ja4_of(family).expect("browser JA4 present").to_string(),
                fingerprint: format!("fp{:016x}", rng.u64(..)),
                ip: doc_ip(&mut rng),
                place: PLACES[rng.usize(..PLACES.len())],
                asn: RESIDENTIAL_ASNS[rng.usize(..RESIDENTIAL_ASNS.len())],
                // Half the people are signed in; in every ten, three share one account (from
                // their own places and devices), which the processor's account sharing and
                // impossible travel stages are there to notice.
                user: if who % 10 < 3 {
                    Some(format!("user-shared-{}", who / 10))
                } else if who % 2 == 0 {
                    Some(format!("user-{who}"))
                } else {
                    None
                },
            }
        })
        .collect();
    (0..count)
        .map(|i| {
            let shape = if i % 4 == 3 {
                Shape::CloudFront
            } else {
                Shape::FunctionUrl
            };
            if rng.u8(0..3) < 2 {
                let who = rng.usize(..people.len());
                browser_request(&mut rng, &sites, shape, who, &people[who], i)
            } else {
                let (name, ua) = &corpus.crawlers[rng.usize(..corpus.crawlers.len())];
                let ja4 = tools[rng.usize(..tools.len())];
                let asn = corpus.datacenter_asns[rng.usize(..corpus.datacenter_asns.len())];
                crawler_request(&mut rng, shape, name, ua, ja4, asn, i)
            }
        })
        .collect()
}

fn doc_ip(rng: &mut fastrand::Rng) -> String {
    let net = ["192.0.2", "198.51.100", "203.0.113"][rng.usize(..3)];
    format!("{net}.{}", rng.u8(1..255))
}

/// A simulated person of the replay.
struct Person {
    name: String,
    ua: String,
    family: &'static str,
    ja4: String,
    fingerprint: String,
    ip: String,
    /// The account the person signs in to, if any.
    user: Option<String>,
    place: (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
    asn: u32,
}

fn browser_request(
    rng: &mut fastrand::Rng,
    sites: &BTreeMap<&'static str, Vec<String>>,
    shape: Shape,
    who: usize,
    person: &Person,
    i: usize,
) -> ReplayRequest {
    let (name, ua, family, ja4) = (&person.name, person.ua.as_str(), person.family, person.ja4.as_str());
    let org = ORGANIZATIONS[rng.usize(..ORGANIZATIONS.len())];
    // Mostly a site the organization owns and its plan honors; one in twenty a foreign one.
    let owned = &sites[org];
    let site = if rng.u8(0..20) == 0 {
        "unrelated.example"
    } else {
        owned[rng.usize(..owned.len())].as_str()
    };
    let page = format!("https://{site}/products/{}", rng.u16(1..500));
    let (ip, place) = (person.ip.clone(), person.place);
    let chromium = family == "Chromium Browser";
    let mobile = ua.contains("Mobile");
    let roll = rng.u8(0..100);
    let (route, method, path, query, body) = match roll {
        0..=54 => {
            let event = match rng.u8(0..20) {
                0..=13 => "page_view",
                14..=16 => "login",
                17 => "signup",
                _ => "add_to_cart",
            };
            let mut body = json!({"organizationId": org, "event": event, "url": page, "referrer": format!("https://{site}/"),
                "title": "Product", "fingerprint": person.fingerprint, "timestamp": 1_763_700_000_000u64 + i as u64,
                "messageId": format!("replay-{i:06}")});
            if let Some(user) = &person.user {
                body["userId"] = json!(user);
            }
            (
                "/t",
                "POST",
                "/t".to_string(),
                format!("organizationId={org}"),
                Some(body.to_string()),
            )
        }
        55..=69 => {
            let body = json!({"organizationId": org, "url": format!("{page}?utm_source=newsletter&utm_medium=email&utm_campaign=nov{}", i % 3),
                "referrer": "https://www.google.com/"});
            ("/c", "POST", "/c".to_string(), String::new(), Some(body.to_string()))
        }
        70..=84 => {
            let q = format!("organizationId={org}&event=page_view&url={}", urlencode(&page));
            ("pixel", "GET", "/p.gif".to_string(), q, None)
        }
        85..=91 => (
            "/cookie-test",
            "GET",
            "/cookie-test".to_string(),
            format!("organizationId={org}"),
            None,
        ),
        _ => (
            "/h.js",
            "GET",
            "/h.js".to_string(),
            format!("organizationId={org}"),
            None,
        ),
    };
    let mut headers: Vec<(String, String)> = vec![("Host".into(), "t.shop.example".into())];
    if chromium {
        let major = ua
            .split("Chrome/")
            .nth(1)
            .and_then(|v| v.split('.').next())
            .unwrap_or("120");
        headers.push((
            "sec-ch-ua".into(),
            format!("\"Chromium\";v=\"{major}\", \"Not_A Brand\";v=\"24\""),
        ));
        headers.push(("sec-ch-ua-mobile".into(), if mobile { "?1" } else { "?0" }.into()));
        headers.push((
            "sec-ch-ua-platform".into(),
            if mobile { "\"Android\"" } else { "\"Windows\"" }.into(),
        ));
    }
    headers.push(("User-Agent".into(), ua.to_string()));
    headers.push(("Accept".into(), "*/*".into()));
    if body.is_some() {
        headers.push(("Content-Type".into(), "text/plain;charset=UTF-8".into()));
        headers.push(("Origin".into(), format!("https://{site}")));
    }
    headers.push(("Sec-Fetch-Site".into(), "same-site".into()));
    headers.push((
        "Sec-Fetch-Mode".into(),
        if body.is_some() { "no-cors" } else { "cors" }.into(),
    ));
    headers.push(("Sec-Fetch-Dest".into(), "empty".into()));
    headers.push(("Referer".into(), page.clone()));
    headers.push(("Accept-Encoding".into(), "gzip, deflate, br, zstd".into()));
    headers.push(("Accept-Language".into(), "en-US,en;q=0.9".into()));
    let viewer = viewer_headers(
        &headers,
        ja4,
        "2.0",
        "TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake",
        &ip,
        person.asn,
        place,
        mobile,
    );
    headers.extend(viewer);
    ReplayRequest {
        traffic: Traffic::Browser,
        person: Some(who),
        organization: org,
        shape,
        route,
        client: name.to_string(),
        method,
        path,
        query,
        headers,
        body,
        client_ip: ip,
    }
}

fn crawler_request(
    rng: &mut fastrand::Rng,
    shape: Shape,
    name: &str,
    ua: &str,
    ja4: &str,
    asn: u32,
    i: usize,
) -> ReplayRequest {
    let org = ORGANIZATIONS[rng.usize(..ORGANIZATIONS.len())];
    let ip = doc_ip(rng);
    let place = PLACES[rng.usize(..PLACES.len())];
    let (route, method, path, query, body) = match rng.u8(0..10) {
        0..=3 => ("pixel", "GET", "/".to_string(), format!("organizationId={org}"), None),
        4..=5 => (
            "/h.js",
            "GET",
            "/h.js".to_string(),
            format!("organizationId={org}"),
            None,
        ),
        6..=7 => {
            let body = json!({"organizationId": org, "event": "login", "url": "https://shop.example/login",
                "timestamp": 1_763_700_000_000u64 + i as u64});
            ("/t", "POST", "/t".to_string(), String::new(), Some(body.to_string()))
        }
        _ => ("pixel", "GET", "/robots.txt".to_string(), String::new(), None),
    };
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), "t.shop.example".into()),
        ("User-Agent".into(), ua.to_string()),
        ("Accept-Encoding".into(), "gzip, deflate".into()),
        ("Accept".into(), "*/*".into()),
    ];
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let tls = if ja4.starts_with("t13") {
        "TLSv1.3:TLS_AES_256_GCM_SHA384:fullHandshake"
    } else {
        "TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256:fullHandshake"
    };
    let viewer = viewer_headers(&headers, ja4, "1.1", tls, &ip, asn, place, false);
    headers.extend(viewer);
    ReplayRequest {
        traffic: Traffic::Crawler,
        person: None,
        organization: org,
        shape,
        route,
        client: name.to_string(),
        method,
        path,
        query,
        headers,
        body,
        client_ip: ip,
    }
}

#[allow(clippy::too_many_arguments)]
fn viewer_headers(
    sent: &[(String, String)],
    ja4: &str,
    http_version: &str,
    tls: &str,
    ip: &str,
    asn: u32,
    place: (&str, &str, &str, &str, &str, &str),
    mobile: bool,
) -> Vec<(String, String)> {
    let order: Vec<&str> = sent.iter().map(|(k, _)| k.as_str()).collect();
    vec![
        ("CloudFront-Viewer-JA4-Fingerprint".into(), ja4.into()),
        ("CloudFront-Viewer-TLS".into(), tls.into()),
        ("CloudFront-Viewer-Http-Version".into(), http_version.into()),
        (
            "CloudFront-Viewer-Address".into(),
            format!("{ip}:{}", 40000 + (asn % 20000)),
        ),
        ("CloudFront-Viewer-ASN".into(), asn.to_string()),
        ("CloudFront-Viewer-Country".into(), place.0.into()),
        ("CloudFront-Viewer-Country-Region".into(), place.1.into()),
        ("CloudFront-Viewer-City".into(), place.2.into()),
        ("CloudFront-Viewer-Latitude".into(), place.3.into()),
        ("CloudFront-Viewer-Longitude".into(), place.4.into()),
        ("CloudFront-Viewer-Time-Zone".into(), place.5.into()),
        ("CloudFront-Viewer-Header-Order".into(), order.join(":")),
        ("CloudFront-Viewer-Header-Count".into(), order.len().to_string()),
        ("CloudFront-Is-Mobile-Viewer".into(), mobile.to_string()),
        ("CloudFront-Is-Desktop-Viewer".into(), (!mobile).to_string()),
    ]
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CloudFront origin-request event carrying `req` (body base64, as CloudFront sends it).
pub fn cloudfront_event(req: &ReplayRequest, distribution: &str) -> Value {
    let mut headers = serde_json::Map::new();
    for (k, v) in &req.headers {
        let entry = headers.entry(k.to_ascii_lowercase()).or_insert_with(|| json!([]));
        entry.as_array_mut().expect("array").push(json!({"key": k, "value": v}));
    }
    let mut request = json!({
        "clientIp": req.client_ip,
        "method": req.method,
        "uri": req.path,
        "querystring": req.query,
        "headers": headers,
        "origin": {"custom": {"domainName": "abcdefgh.lambda-url.us-east-1.on.aws", "port": 443, "protocol": "https",
            "path": "", "sslProtocols": ["TLSv1.2"], "readTimeout": 30, "keepaliveTimeout": 5, "customHeaders": {}}}
    });
    if let Some(body) = &req.body {
        request["body"] = json!({"inputTruncated": false, "action": "read-only", "encoding": "base64",
            "data": base64::engine::general_purpose::STANDARD.encode(body)});
    }
    json!({"Records": [{"cf": {"config": {"distributionDomainName": distribution, "distributionId": "EDFDVBD6EXAMPLE",
        "eventType": "origin-request", "requestId": format!("replay-{}", uuid::Uuid::now_v7().simple())}, "request": request}}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_mixed_deterministic_traffic_from_the_real_data() {
        let corpus = Corpus::load(&crate::workspace_root().join("tools/data")).unwrap();
        assert!(corpus.browsers.len() > 500 && corpus.crawlers.len() > 600);
        assert!(corpus.datacenter_asns.len() > 800);
        let a = build_traffic(&corpus, 200, 7);
        let b = build_traffic(&corpus, 200, 7);
        assert_eq!(
            a.iter().map(|r| r.headers.clone()).collect::<Vec<_>>(),
            b.iter().map(|r| r.headers.clone()).collect::<Vec<_>>()
        );
        assert!(a.iter().any(|r| r.traffic == Traffic::Crawler));
        assert!(a.iter().any(|r| r.shape == Shape::CloudFront));
        for r in a.iter().filter(|r| r.traffic == Traffic::Browser) {
            let ja4 = &r
                .headers
                .iter()
                .find(|(k, _)| k == "CloudFront-Viewer-JA4-Fingerprint")
                .unwrap()
                .1;
            let ua = &r.headers.iter().find(|(k, _)| k == "User-Agent").unwrap().1;
            assert_eq!(corpus.ja4_of(browser_family(ua).unwrap()), Some(ja4.as_str()));
        }
    }
}
