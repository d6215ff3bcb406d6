//! A loopback hyper server that logs what it receives and answers through a route closure.

#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The body the routes answer with.
pub type Body = BoxBody<Bytes, Infallible>;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: Method,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    /// How many earlier requests had the same method and target.
    pub n: usize,
    /// `http://ip:port` of this server.
    pub base: String,
}

type Route = dyn Fn(&Hit) -> Response<Body> + Send + Sync;

/// A running server; aborted when dropped.
pub struct Server {
    pub base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Serves `route` on `ip`, on a free port.
    pub async fn start(
        ip: &str,
        route: impl Fn(&Hit) -> Response<Body> + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let task = {
            let (hits, base) = (hits.clone(), base.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (hits, base, route) = (hits.clone(), base.clone(), route.clone());
                    let service =
                        hyper::service::service_fn(move |req: http::Request<Incoming>| {
                            let (hits, base, route) = (hits.clone(), base.clone(), route.clone());
                            async move {
                                let (parts, body) = req.into_parts();
                                let _ = body.collect().await;
                                let target = parts
                                    .uri
                                    .path_and_query()
                                    .map_or("/".to_string(), |p| p.to_string());
                                let hit = {
                                    let mut hits = hits.lock().unwrap();
                                    let n = hits
                                        .iter()
                                        .filter(|h: &&Hit| {
                                            h.method == parts.method && h.target == target
                                        })
                                        .count();
                                    let hit = Hit {
                                        method: parts.method,
                                        target,
                                        headers: parts.headers,
                                        n,
                                        base,
                                    };
                                    hits.push(hit.clone());
                                    hit
                                };
                                Ok::<_, Infallible>(route(&hit))
                            }
                        });
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Server { base, hits, task }
    }

    /// Every request received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// `METHOD target` of every request received so far.
    pub fn log(&self) -> Vec<String> {
        self.hits()
            .iter()
            .map(|h| format!("{} {}", h.method, h.target))
            .collect()
    }
}

/// A response with this status, headers and body.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Body> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

/// A `reqwest::Client` for loopback: no proxy.
pub fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
