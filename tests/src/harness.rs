//! An edge app on a fresh table of the test moto server, and a uniform view of the function's
//! answers in either shape.

use std::sync::Arc;

use base64::Engine;
use edge::{Adapters, App};
use impressio::behavior::counter::{AnyCounter, DynamoCounter};
use impressio::behavior::dynamo::DynamoBehaviorStore;
use impressio::clock::FixedClock;
use impressio::config::EdgeConfig;
use impressio::event::DynamoEventStore;
use impressio::event::EventRecord;
use impressio::identity::DynamoIdentityStore;
use impressio::metrics::{MemorySink, Metrics};
use impressio::org::{build_directory, AnySource, TieredDirectory};
use impressio::server_api::dynamo::DynamoApiStore;
use serde_json::Value;

/// The edge app the tests drive: DynamoDB on moto, the configured organization directory.
pub type TestApp = App<DynamoEventStore, TieredDirectory<AnySource>>;

/// The time the harness clock starts at: 2026-11-18T11:06:40Z.
pub const TEST_NOW_MS: i64 = 1_795_000_000_000;

use tools::table::TableDefinition;

/// An app writing to its own new table on the test moto server.
pub struct Harness {
    pub app: TestApp,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub clock: Arc<FixedClock>,
    /// The app's metric lines (kept in memory, not written to stdout).
    pub metrics: Arc<MemorySink>,
}

impl Harness {
    /// Creates a table from `infra/dynamodb/table.json` and an app on it.
    ///
    /// # Panics
    /// When moto server is not reachable (see [`tools::moto_endpoint`]).
    pub async fn new() -> Self {
        Self::with_config(EdgeConfig::default()).await
    }

    /// As [`Harness::new`], with a configuration (its table name is replaced). Without
    /// Supabase in `config.directory`, organizations are the sample ones of
    /// `infra/organizations/local.json`.
    pub async fn with_config(config: EdgeConfig) -> Self {
        let client = tools::dynamo_client(&tools::moto_endpoint());
        let table = tools::unique_table_name("edge");
        TableDefinition::load()
            .expect("table definition")
            .create(&client, &table)
            .await
            .expect("create table on moto");
        Self::on_table(config, &table).await
    }

    /// As [`Harness::with_config`], the app calling DynamoDB through `endpoint` (a proxy in
    /// front of the test moto server, such as [`tools::latency_proxy`]); the harness's own
    /// reads ([`Harness::records`], …) go to moto directly.
    pub async fn through(config: EdgeConfig, endpoint: &str) -> Self {
        let direct = Self::with_config(config.clone()).await;
        let mut h = Self::on_table_via(config, &direct.table, endpoint).await;
        h.client = direct.client;
        h
    }

    /// An app with `config` on an existing table of the test moto server (another harness's,
    /// to see what a second deployment of the function does with the same data).
    pub async fn on_table(config: EdgeConfig, table: &str) -> Self {
        Self::on_table_via(config, table, &tools::moto_endpoint()).await
    }

    async fn on_table_via(mut config: EdgeConfig, table: &str, endpoint: &str) -> Self {
        let client = tools::dynamo_client(endpoint);
        let table = table.to_string();
        config.table_name = table.clone();
        let clock = Arc::new(FixedClock::at(TEST_NOW_MS));
        let directory = build_directory(&config.directory, clock.clone()).expect("directory");
        let store = DynamoEventStore::new(client.clone(), table.clone());
        let identity = DynamoIdentityStore::new(client.clone(), table.clone());
        let counter = AnyCounter::Dynamo(DynamoCounter {
            client: client.clone(),
            table: table.clone(),
        });
        let behavior = DynamoBehaviorStore::new(client.clone(), table.clone());
        let api = DynamoApiStore::new(client.clone(), table.clone());
        let (metrics, sink) = Metrics::in_memory(&config.metrics_namespace);
        let adapters = Adapters {
            store,
            directory,
            identity,
            counter,
            behavior,
            api,
        };
        let app = App::with_clock(config, adapters, clock.clone()).with_metrics(metrics);
        Harness {
            app,
            client,
            table,
            clock,
            metrics: sink,
        }
    }

    /// Invokes the function with a raw payload, as the Lambda runtime would: the answer, then
    /// the work the request deferred until after it (awaited before returning, as the
    /// runtime awaits it before the next invocation).
    pub async fn invoke(&self, payload: &str) -> Answer {
        let answer = self.answer(payload).await;
        self.app.after_response.finish().await;
        answer
    }

    /// The function's answer to a raw payload, leaving the work it deferred until after the
    /// answer running (await `self.app.after_response.finish()`).
    pub async fn answer(&self, payload: &str) -> Answer {
        let raw = serde_json::value::RawValue::from_string(payload.to_string()).expect("the payload is JSON");
        Answer::from_value(&edge::handle_payload(&self.app, &raw).await)
    }

    /// The event records stored under a request id.
    pub async fn records(&self, request_id: &str) -> Vec<EventRecord> {
        records_in(&self.client, &self.table, request_id).await
    }

    /// Every item stored under a request id (event, block, blacklist hit).
    pub async fn story(&self, request_id: &str) -> Vec<Item> {
        story_in(&self.client, &self.table, request_id).await
    }

    /// As [`Harness::with_config`], with the organizations of `orgs` (a JSON array in
    /// `infra/organizations/local.json`'s shape) instead of the sample ones.
    pub async fn with_organizations(orgs: &Value, mut config: EdgeConfig) -> Self {
        let dir = std::env::temp_dir().join(format!("orgs-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let file = dir.join("orgs.json");
        std::fs::write(&file, orgs.to_string()).expect("the organizations file");
        config.directory.organizations_file = Some(file);
        Self::with_config(config).await
    }

    /// Every item of the table (a whole scan, page after page): for tests that prove what is,
    /// or is not, anywhere in it.
    pub async fn all_items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the table");
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// The items of the table whose `item_type` is `kind` (e.g. `event`, `message`).
    pub async fn items_of_type(&self, kind: &str) -> Vec<Item> {
        let is_kind = |i: &Item| {
            i.get("item_type")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|t| t == kind)
        };
        self.all_items().await.into_iter().filter(is_kind).collect()
    }

    /// Number of items in the table.
    pub async fn item_count(&self) -> usize {
        self.all_items().await.len()
    }
}

/// A DynamoDB item as the SDK returns it.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// A valid event of `org` with nothing but its ids: for tests that write events themselves.
pub fn minimal_event(request_id: &str, org: &str, message_id: Option<&str>, now_ms: i64) -> EventRecord {
    let event = impressio::event::TrackPayload {
        organization_id: Some(org.into()),
        message_id: message_id.map(str::to_string),
        ..Default::default()
    }
    .validate()
    .expect("an organization id is all a track payload needs");
    EventRecord::new(
        request_id,
        impressio::event::Route::Track,
        event,
        None,
        impressio::event::ServerContext::default(),
        now_ms,
        30,
    )
}

/// Every item stored under a request id in `table` (event, processing, block, blacklist hit).
///
/// # Panics
/// When the query fails.
pub async fn story_in(client: &aws_sdk_dynamodb::Client, table: &str, request_id: &str) -> Vec<Item> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(impressio::schema::request_pk(request_id)),
        )
        .send()
        .await
        .expect("query");
    out.items().to_vec()
}

/// The event records stored under a request id in `table`.
///
/// # Panics
/// When the query fails or a record does not decode.
pub async fn records_in(client: &aws_sdk_dynamodb::Client, table: &str, request_id: &str) -> Vec<EventRecord> {
    let items: Vec<_> = story_in(client, table, request_id)
        .await
        .into_iter()
        .filter(|i| i.get("item_type").and_then(|t| t.as_s().ok()).map(String::as_str) == Some("event"))
        .collect();
    serde_dynamo::from_items(items).expect("records decode")
}

/// What the edge answers to the committed sample `events/edge/<shape>/<name>.json`, in either
/// shape: the HTTP status and whether it stores an event; `None` for a sample no test knows
/// (a new sample must be given its expectation here).
fn expected_edge_sample(name: &str) -> Option<(u16, bool)> {
    Some(match name {
        "track" | "track-server-side" | "campaign" | "pixel" => (200, true),
        "cookie-test" | "collector-script" => (200, false),
        "bad-malformed-json" | "bad-invalid-utf8" => (400, false),
        "bad-method" => (405, false),
        "bad-truncated-body" => (413, false),
        "bad-missing-content-type" => (415, false),
        _ => return None,
    })
}

/// Checks the answer to the committed sample `events/edge/<shape>/<name>.json` and the number
/// of event records stored under its request id against the expectation table above: the answer's
/// shape, its status, what was stored, and for an error its JSON body (`error`, `message`, the
/// request id). The in-process tests and the `sam local` ones hold the function to the same.
///
/// # Panics
/// On any difference, or for a sample without an expectation.
pub fn assert_edge_sample_answer(shape: &str, name: &str, answer: &Answer, stored: usize) {
    let (status, stores) = expected_edge_sample(name).unwrap_or_else(|| panic!("no expectation for sample {name}"));
    let expected_shape = if shape == "cloudfront" {
        AnswerShape::CloudFront
    } else {
        AnswerShape::FunctionUrl
    };
    assert_eq!(answer.shape, expected_shape, "{shape}/{name}");
    assert_eq!(
        answer.status,
        status,
        "{shape}/{name}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(stored, usize::from(stores), "{shape}/{name}");
    if status >= 400 {
        let body = answer.json();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{shape}/{name}: {body}"
        );
        assert_eq!(body["requestId"], answer.request_id());
    }
}

/// Which shape an answer came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerShape {
    /// `{statusCode, headers, cookies, body, isBase64Encoded}`.
    FunctionUrl,
    /// `{status, statusDescription, headers: {name: [{key, value}]}, body, bodyEncoding}`.
    CloudFront,
}

/// The function's answer in either shape.
#[derive(Debug, Clone)]
pub struct Answer {
    pub shape: AnswerShape,
    pub status: u16,
    /// Lowercase header names; `Set-Cookie` values included (from `cookies` for Function URLs).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub raw: Value,
}

impl Answer {
    /// Reads an answer of either shape.
    ///
    /// # Panics
    /// When the value has neither shape.
    pub fn from_value(v: &Value) -> Self {
        let b64 = |s: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .expect("base64 body")
        };
        if let Some(status) = v.get("status") {
            let status = status
                .as_str()
                .expect("CloudFront status is a string")
                .parse()
                .expect("numeric");
            let mut headers = Vec::new();
            for (name, values) in v["headers"].as_object().expect("headers map") {
                assert_eq!(name, &name.to_ascii_lowercase(), "CloudFront header keys are lowercase");
                for h in values.as_array().expect("[{key, value}]") {
                    headers.push((name.clone(), h["value"].as_str().expect("value").to_string()));
                }
            }
            let body = v["body"].as_str().unwrap_or("");
            let body = match v["bodyEncoding"].as_str() {
                Some("base64") => b64(body),
                Some("text") => body.as_bytes().to_vec(),
                other => panic!("bodyEncoding {other:?}"),
            };
            return Answer {
                shape: AnswerShape::CloudFront,
                status,
                headers,
                body,
                raw: v.clone(),
            };
        }
        let status = v["statusCode"].as_u64().expect("statusCode") as u16;
        let mut headers: Vec<(String, String)> = v["headers"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for c in v["cookies"].as_array().into_iter().flatten() {
            headers.push(("set-cookie".into(), c.as_str().unwrap_or("").to_string()));
        }
        let body = v["body"].as_str().unwrap_or("");
        let body = if v["isBase64Encoded"].as_bool().unwrap_or(false) {
            b64(body)
        } else {
            body.as_bytes().to_vec()
        };
        Answer {
            shape: AnswerShape::FunctionUrl,
            status,
            headers,
            body,
            raw: v.clone(),
        }
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The `X-Request-Id` header.
    ///
    /// # Panics
    /// When it is missing.
    pub fn request_id(&self) -> String {
        self.header("x-request-id")
            .expect("X-Request-Id on every answer")
            .to_string()
    }
}

/// The headers of a current Chrome on Windows as CloudFront forwards them (viewer headers
/// included), so a test request scores low unless it changes something.
pub const CHROME_HEADERS: [(&str, &str); 12] = [
    ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", "\"Windows\""),
    (
        "User-Agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    ("Accept-Language", "en-US,en;q=0.9"),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Site", "same-site"),
    ("CloudFront-Viewer-JA4-Fingerprint", "t13d1516h2_8daaf6152771_02713d6af862"),
    ("CloudFront-Viewer-Http-Version", "2.0"),
    ("CloudFront-Viewer-ASN", "7922"),
    (
        "CloudFront-Viewer-Header-Order",
        "host:sec-ch-ua:sec-ch-ua-mobile:sec-ch-ua-platform:user-agent:accept:origin:sec-fetch-site:sec-fetch-mode:accept-language",
    ),
    ("CloudFront-Viewer-Header-Count", "10"),
];

/// `headers` after [`CHROME_HEADERS`], the given ones replacing defaults of the same name
/// (an empty value removes the header).
pub fn with_chrome_headers<'a>(headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = CHROME_HEADERS
        .iter()
        .filter(|(k, _)| !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)))
        .copied()
        .collect();
    all.extend(headers.iter().filter(|(_, v)| !v.is_empty()).copied());
    all
}

/// A `POST /t` of `body` from a browser on `client_ip` (a page of `https://shop.example`) as a
/// CloudFront origin-request event: Chrome's headers, with `headers` replacing them.
pub fn cloudfront_track(client_ip: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> String {
    let mut pairs = vec![("Content-Type", "application/json"), ("Origin", "https://shop.example")];
    pairs.extend_from_slice(headers);
    let mut h = serde_json::Map::new();
    for (k, v) in with_chrome_headers(&pairs) {
        h.insert(k.to_ascii_lowercase(), serde_json::json!([{"key": k, "value": v}]));
    }
    serde_json::json!({"Records": [{"cf": {"config": {}, "request": {"clientIp": client_ip, "method": "POST",
        "uri": "/t", "querystring": "", "headers": h, "body": {"encoding": "text", "data": body.to_string()}}}}]})
    .to_string()
}

/// The same request as [`cloudfront_track`] as a Function URL event behind CloudFront: the
/// viewer's address in `CloudFront-Viewer-Address`, the source IP CloudFront's.
pub fn function_url_track(client_ip: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> String {
    let address = if client_ip.contains(':') {
        format!("[{client_ip}]:40000")
    } else {
        format!("{client_ip}:40000")
    };
    let mut pairs = vec![
        ("Content-Type", "application/json"),
        ("Origin", "https://shop.example"),
        ("CloudFront-Viewer-Address", address.as_str()),
    ];
    pairs.extend_from_slice(headers);
    let h: serde_json::Map<String, serde_json::Value> = with_chrome_headers(&pairs)
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::json!(v)))
        .collect();
    serde_json::json!({"version": "2.0", "routeKey": "$default", "rawPath": "/t", "rawQueryString": "", "headers": h,
        "requestContext": {"accountId": "anonymous", "apiId": "x", "domainName": "x.lambda-url.us-east-1.on.aws",
            "domainPrefix": "x", "http": {"method": "POST", "path": "/t", "protocol": "HTTP/1.1",
            "sourceIp": "130.176.0.1", "userAgent": "Amazon CloudFront"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "18/Nov/2026:11:06:40 +0000",
            "timeEpoch": 0},
        "body": body.to_string(), "isBase64Encoded": false})
    .to_string()
}

/// A `POST /t` in either event shape: `"cloudfront"` ([`cloudfront_track`]) or
/// `"function_url"` ([`function_url_track`]).
pub fn track_in(shape: &str, client_ip: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> String {
    match shape {
        "cloudfront" => cloudfront_track(client_ip, headers, body),
        _ => function_url_track(client_ip, headers, body),
    }
}

/// The event shapes the edge accepts, for tests that run in both.
pub const SHAPES: [&str; 2] = ["cloudfront", "function_url"];

/// A python TLS client's JA4 header, to send under Chrome's User-Agent: critical, blocked by
/// `ja4_mismatch` where the fraud mode enforces.
pub const PYTHON_JA4: (&str, &str) = (
    "CloudFront-Viewer-JA4-Fingerprint",
    "t13d181000_85036bcba153_d41ae481755e",
);
