//! An HTTP proxy in front of a DynamoDB API (moto server) that holds every call for a fixed
//! delay before passing it on, and logs each call: its operation (from `X-Amz-Target`) and when
//! it started and ended. With a delay well above the server's own time, calls a request makes
//! concurrently overlap and calls it makes one after another do not, so the log tells how many
//! sequential DynamoDB round trips a request took ([`round_trips`]) — what a Lambda function in
//! a region sees, where each round trip costs a few milliseconds.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// One call that went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The DynamoDB operation, e.g. `GetItem` (empty when the request named none).
    pub operation: String,
    /// When the proxy received the request.
    pub started: Instant,
    /// When the proxy finished answering it.
    pub ended: Instant,
}

/// A running proxy: its endpoint and the calls it saw. It stops with the runtime it was
/// started on.
#[derive(Debug, Clone)]
pub struct LatencyProxy {
    /// `http://127.0.0.1:<port>`: the endpoint to give the DynamoDB client.
    pub endpoint: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl LatencyProxy {
    /// Starts a proxy on a free loopback port that passes every request on to `upstream`
    /// (`http://host:port`) after `delay`.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(upstream: &str, delay: Duration) -> std::io::Result<LatencyProxy> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let upstream = upstream.trim_end_matches('/').to_string();
        let log = calls.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream, log) = (client.clone(), upstream.clone(), log.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (client, upstream, log) = (client.clone(), upstream.clone(), log.clone());
                        async move { Ok::<_, Infallible>(forward(req, &client, &upstream, delay, &log).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(LatencyProxy { endpoint, calls })
    }

    /// The calls seen so far, in the order they ended.
    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Forgets the calls seen so far.
    pub fn clear(&self) {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

async fn forward(
    req: Request<Incoming>,
    client: &reqwest::Client,
    upstream: &str,
    delay: Duration,
    log: &Mutex<Vec<Call>>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let operation = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    tokio::time::sleep(delay).await;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = client.request(parts.method, format!("{upstream}{path}")).body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    let response = match out.send().await {
        Ok(r) => {
            let mut answer = Response::builder().status(r.status());
            for (name, value) in r.headers() {
                if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
                    answer = answer.header(name, value);
                }
            }
            let bytes = r.bytes().await.unwrap_or_default();
            answer.body(Full::new(bytes)).unwrap_or_else(|_| bad_gateway())
        }
        Err(_) => bad_gateway(),
    };
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Call {
            operation,
            started,
            ended: Instant::now(),
        });
    response
}

fn bad_gateway() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = http::StatusCode::BAD_GATEWAY;
    r
}

/// The sequential round trips among `calls`: the longest chain of calls each of which started
/// after the one before it ended (calls in flight together count once).
pub fn round_trips(calls: &[Call]) -> usize {
    let mut by_start: Vec<&Call> = calls.iter().collect();
    by_start.sort_by_key(|c| c.started);
    let mut depth = vec![0usize; by_start.len()];
    for i in 0..by_start.len() {
        let before = (0..i)
            .filter(|&j| by_start[j].ended <= by_start[i].started)
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth[i] = before + 1;
    }
    depth.into_iter().max().unwrap_or(0)
}

/// The calls of `calls` that had ended by `at`: those an answer given at `at` can have waited
/// for (work deferred past the answer may start before it, but is still in flight).
pub fn ended_by(calls: &[Call], at: Instant) -> Vec<Call> {
    calls.iter().filter(|c| c.ended <= at).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(t0: Instant, from_ms: u64, to_ms: u64) -> Call {
        Call {
            operation: "GetItem".into(),
            started: t0 + Duration::from_millis(from_ms),
            ended: t0 + Duration::from_millis(to_ms),
        }
    }

    #[test]
    fn overlapping_calls_are_one_round_trip_and_a_chain_counts_each_link() {
        let t0 = Instant::now();
        assert_eq!(round_trips(&[]), 0);
        assert_eq!(round_trips(&[call(t0, 0, 40), call(t0, 1, 42), call(t0, 2, 41)]), 1);
        // reads, then writes, then one more write after them.
        let chain = [
            call(t0, 0, 40),
            call(t0, 1, 41),
            call(t0, 45, 85),
            call(t0, 46, 86),
            call(t0, 90, 130),
        ];
        assert_eq!(round_trips(&chain), 3);
        assert_eq!(ended_by(&chain, t0 + Duration::from_millis(44)).len(), 2);
    }
}
