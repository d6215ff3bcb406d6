//! An in-memory server for the attack tests: answers chosen per request, with bodies that
//! stall, fail or arrive in absurd frames, and a log of every request with its arrival time.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body::Frame;
use http_body_util::StreamBody;
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;
use tower_lro::LroPoll;

pub const ARM: &str = "https://management.azure.com";

pub type TestBody = StreamBody<BoxStream<'static, Result<Frame<Bytes>, io::Error>>>;

/// A body in `frames`, then the end.
pub fn body(frames: &[&[u8]]) -> TestBody {
    let frames: Vec<_> = frames
        .iter()
        .map(|f| Ok(Frame::data(Bytes::copy_from_slice(f))))
        .collect();
    StreamBody::new(stream::iter(frames).boxed())
}

/// `prefix`, then nothing ever again.
pub fn stalls_after(prefix: &[u8]) -> TestBody {
    let first = Ok(Frame::data(Bytes::copy_from_slice(prefix)));
    StreamBody::new(stream::iter([first]).chain(stream::pending()).boxed())
}

/// `prefix`, then a connection reset.
pub fn fails_after(prefix: &[u8]) -> TestBody {
    let items = [
        Ok(Frame::data(Bytes::copy_from_slice(prefix))),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset",
        )),
    ];
    StreamBody::new(stream::iter(items).boxed())
}

/// One answer of the server.
pub enum Answer {
    Now(Response<TestBody>),
    /// The response never comes.
    Never,
}

/// A response with `status`, `headers` and `body`.
pub fn respond(status: u16, headers: &[(&str, &str)], body: TestBody) -> Answer {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    Answer::Now(builder.body(body).expect("a valid response"))
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub poll: Option<LroPoll>,
    pub at: Instant,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;
pub type Server = BoxCloneSyncService<Request<String>, Response<TestBody>, Infallible>;

/// A server that answers request number `n` (from 0) with `script(n, &request)`.
pub fn server(
    script: impl Fn(usize, &Request<String>) -> Answer + Send + Sync + 'static,
) -> (Server, Log) {
    let log: Log = Arc::default();
    let script = Arc::new(script);
    let seen = log.clone();
    let service = tower::service_fn(move |req: Request<String>| {
        let n = {
            let mut log = seen.lock().unwrap();
            log.push(Seen {
                method: req.method().clone(),
                uri: req.uri().clone(),
                headers: req.headers().clone(),
                poll: req.extensions().get::<LroPoll>().cloned(),
                at: Instant::now(),
            });
            log.len() - 1
        };
        let answer = script(n, &req);
        let future: Pin<Box<dyn Future<Output = Result<Response<TestBody>, Infallible>> + Send>> =
            match answer {
                Answer::Now(response) => Box::pin(async move { Ok(response) }),
                Answer::Never => Box::pin(std::future::pending()),
            };
        future
    });
    (BoxCloneSyncService::new(service), log)
}

/// The original request: `method` on `path` of ARM, with a credential.
pub fn call(method: &str, path: &str) -> Request<String> {
    Request::builder()
        .method(method)
        .uri(format!("{ARM}{path}"))
        .header("authorization", "Bearer SECRET")
        .body(String::new())
        .expect("a valid request")
}
