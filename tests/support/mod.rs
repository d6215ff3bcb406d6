//! Shared by the socket tests: loopback hyper servers that log what they receive and answer
//! through a route closure, and the hyper-util client stacks the layer wraps.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::{AbortHandle, JoinSet};
use tower::BoxError;
use tower_lro::{LroBody, LroError, LroInfo, LroLayer, LroLayerBuilder, PollSchedule};

/// The credential headers of the origin rule (the contract's, and Google's API key).
pub const CREDENTIALS: [&str; 7] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "api-key",
    "ocp-apim-subscription-key",
    "x-ms-authorization-auxiliary",
    "x-goog-api-key",
];

// ---------------------------------------------------------------------------------------------
// Server side.

/// One request as a server received it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// When the server began handling it.
    pub at: Instant,
    pub method: Method,
    pub path: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: HeaderMap,
    /// The request body, read in full.
    pub body: Bytes,
    /// How many earlier requests had the same method and path: lets a route script a sequence.
    pub n: usize,
    /// `http://ip:port` of this server, for absolute monitor URLs.
    pub base: String,
}

impl Hit {
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }

    /// The `Host` header: which host name the client meant (with a pinned connector).
    pub fn host(&self) -> &str {
        self.headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
    }

    /// How many credential headers this request carried.
    pub fn credentials(&self) -> usize {
        CREDENTIALS
            .iter()
            .map(|name| self.headers.get_all(*name).iter().count())
            .sum()
    }
}

pub type ServerBody = BoxBody<Bytes, Infallible>;

/// What a route does with a request.
pub enum Answer {
    Reply(Response<ServerBody>),
    /// Answer after a delay (the connection stays open meanwhile).
    Later(Duration, Response<ServerBody>),
    /// Close the connection without answering.
    HangUp,
}

impl Answer {
    pub fn after(self, delay: Duration) -> Answer {
        match self {
            Answer::Reply(r) | Answer::Later(_, r) => Answer::Later(delay, r),
            Answer::HangUp => Answer::HangUp,
        }
    }
}

/// Response shorthands for routes.
pub fn at(status: u16) -> http::response::Builder {
    Response::builder().status(status)
}

pub trait Finish {
    fn json(self, value: Value) -> Answer;
    fn bytes(self, body: impl Into<Bytes>) -> Answer;
    fn empty(self) -> Answer;
    fn stream(self, body: ServerBody) -> Answer;
}

impl Finish for http::response::Builder {
    fn json(self, value: Value) -> Answer {
        self.header("content-type", "application/json")
            .bytes(value.to_string())
    }

    fn bytes(self, body: impl Into<Bytes>) -> Answer {
        self.stream(Full::new(body.into()).boxed())
    }

    fn empty(self) -> Answer {
        self.bytes(Bytes::new())
    }

    fn stream(self, body: ServerBody) -> Answer {
        Answer::Reply(self.body(body).expect("a valid test response"))
    }
}

pub fn not_found(hit: &Hit) -> Answer {
    at(404).json(serde_json::json!({
        "error": {"code": "NotFound", "message": format!("{} {}", hit.method, hit.target)}
    }))
}

#[derive(Default)]
struct Log {
    hits: Vec<Hit>,
    seen: HashMap<(Method, String), usize>,
}

/// A loopback HTTP/1.1 server. Dropping it stops the accept loop and every connection.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    log: Arc<Mutex<Log>>,
    connections: Arc<AtomicUsize>,
    task: AbortHandle,
}

impl TestServer {
    pub async fn start(route: impl Fn(&Hit) -> Answer + Send + Sync + 'static) -> TestServer {
        TestServer::start_on("127.0.0.1", route).await
    }

    pub async fn start_on(
        ip: &str,
        route: impl Fn(&Hit) -> Answer + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::start_with(ip, 1024, route).await
    }

    /// A server that answers `method path` through `answer`, and anything else with
    /// [`not_found`].
    pub async fn single(
        method: &'static str,
        path: &'static str,
        answer: impl Fn(&Hit) -> Answer + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::start(move |hit| {
            if hit.is(method, path) {
                answer(hit)
            } else {
                not_found(hit)
            }
        })
        .await
    }

    /// `backlog` matters when thousands of clients connect at once.
    pub async fn start_with(
        ip: &str,
        backlog: u32,
        route: impl Fn(&Hit) -> Answer + Send + Sync + 'static,
    ) -> TestServer {
        let addr: SocketAddr = format!("{ip}:0").parse().expect("a loopback address");
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.bind(addr).expect("bind a loopback port");
        let listener = socket.listen(backlog).expect("listen");
        let addr = listener.local_addr().expect("local address");
        let base = format!("http://{addr}");
        let log: Arc<Mutex<Log>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let route = Arc::new(route);
        let (server_base, server_log, accepted) = (base.clone(), log.clone(), connections.clone());
        let task = tokio::spawn(async move {
            // Owned here so that aborting the accept loop aborts every connection too.
            let mut open = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                while open.try_join_next().is_some() {}
                let (base, log, route) = (server_base.clone(), server_log.clone(), route.clone());
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (base, log, route) = (base.clone(), log.clone(), route.clone());
                    async move {
                        let at = Instant::now();
                        let (parts, body) = req.into_parts();
                        // Reading the whole body also keeps the connection usable.
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let hit = {
                            let mut log = log.lock().unwrap();
                            let key = (parts.method.clone(), parts.uri.path().to_owned());
                            let seen = log.seen.entry(key).or_default();
                            let n = *seen;
                            *seen += 1;
                            let hit = Hit {
                                at,
                                method: parts.method,
                                path: parts.uri.path().to_owned(),
                                target: parts
                                    .uri
                                    .path_and_query()
                                    .map_or("/", |p| p.as_str())
                                    .to_owned(),
                                headers: parts.headers,
                                body,
                                n,
                                base,
                            };
                            log.hits.push(hit.clone());
                            hit
                        };
                        match route(&hit) {
                            Answer::Reply(response) => Ok(response),
                            Answer::Later(delay, response) => {
                                tokio::time::sleep(delay).await;
                                Ok(response)
                            }
                            // A service error makes hyper close the connection unanswered.
                            Answer::HangUp => Err("hang up"),
                        }
                    }
                });
                open.spawn(async move {
                    // Clients drop connections at will; that is not a test failure.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer {
            addr,
            base,
            log,
            connections,
            task: task.abort_handle(),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().hits.clone()
    }

    pub fn hit_count(&self) -> usize {
        self.log.lock().unwrap().hits.len()
    }

    /// `"METHOD /path?query"` for each request, in arrival order.
    pub fn lines(&self) -> Vec<String> {
        self.hits()
            .iter()
            .map(|h| format!("{} {}", h.method, h.target))
            .collect()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every connection; the port is then refused.
    pub fn abort_handle(&self) -> AbortHandle {
        self.task.clone()
    }
}

/// Another origin (on 127.0.0.2) that answers anything with `{"status": "Succeeded"}`, so a
/// request that reached it would show.
pub async fn elsewhere() -> TestServer {
    TestServer::start_on("127.0.0.2", |_| {
        at(200).json(serde_json::json!({"status": "Succeeded"}))
    })
    .await
}

/// Asserts that nothing reached `server`, after waiting `pause` for any stray request.
pub async fn assert_untouched(server: &TestServer, pause: Duration) {
    tokio::time::sleep(pause).await;
    assert_eq!(server.hit_count(), 0, "contacted: {:?}", server.lines());
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Client side.

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;
pub type ClientResponse = Response<LroBody<Incoming>>;

pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// The layer with 5 ms waits wherever the server gives no hint.
pub fn fast() -> LroLayerBuilder {
    LroLayer::builder().schedule(PollSchedule::fixed(Duration::from_millis(5)).unwrap())
}

pub fn request(method: Method, url: &str) -> http::request::Builder {
    Request::builder().method(method).uri(url)
}

pub fn lro_error<T: std::fmt::Debug>(result: Result<T, BoxError>) -> Box<LroError> {
    match result {
        Ok(response) => panic!("expected an LroError, got {response:?}"),
        Err(e) => e
            .downcast::<LroError>()
            .unwrap_or_else(|e| panic!("expected an LroError, got {e}")),
    }
}

pub async fn body_of(response: ClientResponse) -> Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("read the body")
        .to_bytes()
}

/// The response's body, parsed as JSON.
pub async fn json_body<B>(response: Response<B>) -> Value
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `LroInfo` a resolved operation's response carries.
pub fn info_of<B>(response: &Response<B>) -> LroInfo {
    response
        .extensions()
        .get::<LroInfo>()
        .cloned()
        .expect("a resolved operation carries LroInfo")
}

/// A connector that sends every request to one address whatever its URI says: lets tests use
/// any host name, default ports and even `https` URIs (spoken as plain HTTP) on loopback.
#[derive(Debug, Clone, Copy)]
pub struct Pinned(pub SocketAddr);

impl tower::Service<Uri> for Pinned {
    type Response = TokioIo<TcpStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let addr = self.0;
        Box::pin(async move { TcpStream::connect(addr).await.map(TokioIo::new) })
    }
}

pub fn pinned_client(addr: SocketAddr) -> Client<Pinned, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(Pinned(addr))
}
