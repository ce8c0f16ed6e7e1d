//! The local stack's stand-ins for the services the processor calls, on one port (default
//! 9100), printing one JSON line per request they get:
//! - `GET /rest/v1/organizations` and `POST /rest/v1/rpc/increment_events_this_month`: the
//!   PostgREST subset the processor uses, over the organizations file, with the idempotency
//!   ledger of the SQL function (a key applied once, whatever the retries);
//! - `POST /webhook/<organization>`: checks `X-Impressio-Signature` and every
//!   `webhook-signature` against the organization's secrets (401 when neither verifies);
//! - `POST /mp/collect`: checks the measurement id and API secret against the organizations
//!   and the payload against GA4's limits (answers 204 either way, as GA4 does);
//! - `POST /push`: checks `Authorization: Bearer <PUSH_API_KEY>`.
//!
//! `local-receivers [--address 127.0.0.1] [--port 9100] [--organizations
//!  infra/organizations/local.json] [--push-key local-push-key] [--record-webhooks <file>]`
//! (`--address`: the address to listen on, e.g. the Docker bridge's for `sam local`): with `--record-webhooks`, every
//! webhook request is also appended to the file as `{"organization", "headers", "body"}`, for
//! `scripts/verify_webhooks.py` to check with the reference Standard Webhooks library.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Mutex;

use impressio::processor::stages::ga4::{Ga4Event, Ga4Payload};
use impressio::processor::webhook_signature::{standard_signature, verify_impressio, WebhookSecret};
use serde_json::{json, Map, Value};
use tools::workspace_root;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn print(line: Value) {
    println!("{line}");
}

fn header<'a>(r: &'a Request, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Organizations as PostgREST rows: the organization's columns with its integrations.
fn rows(file: &Value) -> Vec<Map<String, Value>> {
    file.as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_object())
        .map(|o| {
            let mut row = o.clone();
            if let Some(Value::Object(i)) = row.remove("integrations") {
                row.extend(i);
            }
            row
        })
        .collect()
}

struct Organizations(Vec<Map<String, Value>>);

impl Respond for Organizations {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = r.url.query_pairs().into_owned().collect();
        let filter = q.get("id").cloned().unwrap_or_default();
        let ids: Vec<&str> = match (filter.strip_prefix("eq."), filter.strip_prefix("in.(")) {
            (Some(id), _) => vec![id],
            (_, Some(list)) => list.trim_end_matches(')').split(',').collect(),
            _ => return ResponseTemplate::new(400).set_body_json(json!({"message": "id filter required"})),
        };
        let columns: Vec<&str> = q.get("select").map(|s| s.split(',').collect()).unwrap_or_default();
        let found: Vec<Value> = self
            .0
            .iter()
            .filter(|row| ids.iter().any(|id| row.get("id").and_then(Value::as_str) == Some(*id)))
            .map(|row| {
                Value::Object(
                    columns
                        .iter()
                        .map(|c| (c.to_string(), row.get(*c).cloned().unwrap_or(Value::Null)))
                        .collect(),
                )
            })
            .collect();
        print(json!({"receiver": "supabase", "select": "organizations", "ids": ids, "found": found.len()}));
        ResponseTemplate::new(200).set_body_json(found)
    }
}

#[derive(Default)]
struct Ledger {
    keys: HashMap<String, u64>,
    counts: HashMap<String, u64>,
}

struct Billing {
    known: Vec<String>,
    ledger: Mutex<Ledger>,
}

impl Respond for Billing {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let Ok(b) = serde_json::from_slice::<Value>(&r.body) else {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "not JSON"}));
        };
        let org = b["org_uuid"].as_str().unwrap_or_default().to_string();
        let amount = b["amount"].as_u64().unwrap_or(1);
        let key = b["idempotency_key"].as_str().map(String::from);
        if !self.known.contains(&org) {
            print(json!({"receiver": "billing", "organization": org, "refused": "unknown organization"}));
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code": "P0002", "message": "unknown organization"}));
        }
        let mut l = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        let duplicate = key.as_ref().is_some_and(|k| l.keys.contains_key(k));
        if !duplicate {
            *l.counts.entry(org.clone()).or_default() += amount;
            if let Some(k) = &key {
                l.keys.insert(k.clone(), amount);
            }
        }
        let count = l.counts.get(&org).copied().unwrap_or(0);
        print(
            json!({"receiver": "billing", "organization": org, "amount": amount, "idempotency_key": key,
            "duplicate": duplicate, "events_this_month": count}),
        );
        ResponseTemplate::new(200).set_body_json(count)
    }
}

struct Webhooks {
    /// Secrets by organization, the current one first.
    secrets: HashMap<String, Vec<WebhookSecret>>,
    /// Where each request is recorded, if anywhere.
    record: Option<Mutex<std::fs::File>>,
}

impl Respond for Webhooks {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let org = r.url.path().trim_start_matches("/webhook/").to_string();
        let secrets = self.secrets.get(&org).cloned().unwrap_or_default();
        let impressio_ok = secrets
            .first()
            .is_some_and(|s| verify_impressio(&r.body, s, header(r, "x-impressio-signature")));
        let id = header(r, "webhook-id");
        let ts: i64 = header(r, "webhook-timestamp").parse().unwrap_or(0);
        let offered: Vec<&str> = header(r, "webhook-signature").split(' ').collect();
        // The receiver's side of rotation: any listed signature made with a secret it knows.
        let standard_ok = secrets
            .iter()
            .any(|s| offered.contains(&standard_signature(id, ts, &r.body, s).as_str()));
        if let Some(file) = &self.record {
            use std::io::Write;
            let headers: Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), json!(String::from_utf8_lossy(v.as_bytes()))))
                .collect();
            let line = json!({"organization": org, "headers": headers, "body": String::from_utf8_lossy(&r.body)});
            if let Ok(mut f) = file.lock() {
                let _ = writeln!(f, "{line}");
            }
        }
        let event: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        print(json!({"receiver": "webhook", "organization": org, "webhook_id": id,
            "event_name": event["data"]["event_name"], "risk_score": event["data"]["risk"]["score"],
            "impressio_signature": if impressio_ok { "valid" } else { "INVALID" },
            "standard_signature": if standard_ok { "valid" } else { "INVALID" },
            "signatures_offered": offered.len()}));
        if impressio_ok && standard_ok {
            ResponseTemplate::new(204)
        } else {
            ResponseTemplate::new(401)
        }
    }
}

struct Ga4 {
    /// Measurement id → API secret.
    credentials: HashMap<String, String>,
}

impl Respond for Ga4 {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = r.url.query_pairs().into_owned().collect();
        let id = q.get("measurement_id").cloned().unwrap_or_default();
        let credentials_ok = self
            .credentials
            .get(&id)
            .is_some_and(|s| Some(s) == q.get("api_secret"));
        let b: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        // Re-check the payload with the same rules the processor applies before sending.
        let payload = Ga4Payload {
            client_id: b["client_id"].as_str().unwrap_or_default().to_string(),
            // Checked apart: GA4 drops nothing for its consent fields.
            consent: None,
            events: b["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| Ga4Event {
                    name: e["name"].as_str().unwrap_or_default().to_string(),
                    params: e["params"].as_object().cloned().unwrap_or_default(),
                })
                .collect(),
        };
        print(
            json!({"receiver": "ga4", "measurement_id": id, "credentials": if credentials_ok { "valid" } else { "INVALID" },
            "payload": match payload.validate() { Ok(()) => "valid".to_string(), Err(e) => e.to_string() },
            "client_id": payload.client_id, "event": b["events"][0]["name"], "params": b["events"][0]["params"]}),
        );
        ResponseTemplate::new(204)
    }
}

struct Push {
    key: String,
}

impl Respond for Push {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let authorized = header(r, "authorization") == format!("Bearer {}", self.key);
        let b: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        print(
            json!({"receiver": "push", "authorized": authorized, "event_id": b["event_id"],
            "organization": b["organization_id"], "reasons": b["reasons"]}),
        );
        if authorized {
            ResponseTemplate::new(202)
        } else {
            ResponseTemplate::new(401)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut address: std::net::IpAddr = [127, 0, 0, 1].into();
    let mut port = 9100u16;
    let mut file = workspace_root().join("infra/organizations/local.json");
    let mut push_key = "local-push-key".to_string();
    let mut record = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--address" => address = value.parse()?,
            "--port" => port = value.parse()?,
            "--organizations" => file = value.into(),
            "--push-key" => push_key = value,
            "--record-webhooks" => record = Some(Mutex::new(std::fs::File::create(value)?)),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let orgs = rows(&serde_json::from_str(&std::fs::read_to_string(&file)?)?);
    let text = |row: &Map<String, Value>, k: &str| row.get(k).and_then(Value::as_str).map(String::from);
    let secrets = orgs
        .iter()
        .filter_map(|row| {
            let id = text(row, "id")?;
            let list: Vec<WebhookSecret> = ["webhook_secret", "webhook_secret_previous"]
                .iter()
                .filter_map(|k| text(row, k))
                .filter_map(|t| WebhookSecret::parse(&t).ok())
                .collect();
            Some((id, list))
        })
        .collect();
    let credentials = orgs
        .iter()
        .filter_map(|row| Some((text(row, "ga4_measurement_id")?, text(row, "ga4_api_secret")?)))
        .collect();
    let known = orgs.iter().filter_map(|row| text(row, "id")).collect();

    let listener = TcpListener::bind((address, port))?;
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(method("GET"))
        .and(path("/rest/v1/organizations"))
        .respond_with(Organizations(orgs))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/rpc/increment_events_this_month"))
        .respond_with(Billing {
            known,
            ledger: Mutex::default(),
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/webhook/[A-Za-z0-9_-]+$"))
        .respond_with(Webhooks { secrets, record })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mp/collect"))
        .respond_with(Ga4 { credentials })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/push"))
        .respond_with(Push { key: push_key })
        .mount(&server)
        .await;
    eprintln!("local receivers listening on {}", server.uri());
    // Serves until the local stack stops its process group.
    std::future::pending::<()>().await;
    Ok(())
}
