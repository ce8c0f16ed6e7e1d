//! A small HTTPS web site for the local stack and the browser tests: the pages that embed the
//! collector, served under the local CloudFront's identity, so that a page
//! (`https://localhost:<port>`) and the tracker behind the local CloudFront
//! (`https://localhost:<other port>`) are one site, as a customer's pages and its tracker host
//! are (cookies ignore ports).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::cloudfront::{Identity, StartError};

/// One answer of the site.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// What the site answers for a path (the query string is not given).
pub type Pages = Arc<dyn Fn(&str) -> Page + Send + Sync>;

/// A running site; stops when dropped.
pub struct Site {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Site {
    /// Serves `pages` over HTTPS (HTTP/2 and HTTP/1.1) on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// [`StartError`] when the TLS configuration or the listener cannot be made.
    pub async fn start(identity: &Identity, pages: Pages) -> Result<Site, StartError> {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(identity.server_config(&[b"h2", b"http/1.1"])?));
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        let listener = TcpListener::bind(any)
            .await
            .map_err(|source| StartError::Listen { addr: any, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Listen { addr: any, source })?;
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, pages) = (acceptor.clone(), pages.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let page = pages(req.uri().path());
                        async move {
                            let mut resp = hyper::Response::new(Full::new(Bytes::from(page.body)));
                            *resp.status_mut() =
                                http::StatusCode::from_u16(page.status).unwrap_or(http::StatusCode::OK);
                            let h = resp.headers_mut();
                            h.insert(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static(page.content_type),
                            );
                            h.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Site { addr, task })
    }

    /// The site's URL for `path` (which starts with `/`), on `localhost`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
}
