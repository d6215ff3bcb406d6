//! The scripted in-memory service: answers request N with the script's answer N and logs what
//! it received and what it served.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use http_body::{Body, Frame};
use tokio::time::Instant;
use tower::{BoxError, Service};
use tower_lro::LroPoll;

use super::script::{Answer, End};

/// An extension of the original request: it must not reach another origin.
#[derive(Debug, Clone)]
pub struct Marker;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub poll: Option<LroPoll>,
    pub marker: bool,
    pub at: Instant,
    /// The request body's length (polls must send none).
    pub body_len: usize,
}

impl Received {
    /// Where the request went: its URI, or for an origin-form one (a resumed token's
    /// `origin_form`, sent as the caller's request was: the path, and the authority in
    /// `Host`), the original URL's scheme, its `Host` and its path.
    pub fn target(&self) -> Uri {
        if self.uri.authority().is_some() {
            return self.uri.clone();
        }
        let host = self
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        format!("https://{host}{path}").parse().unwrap_or_default()
    }
}

/// What the server answered a request with.
#[derive(Debug, Clone)]
pub enum Served {
    Response {
        status: u16,
        delivered: Vec<u8>,
        end: End,
    },
    Failed,
    Hung,
}

#[derive(Debug, Default)]
pub struct Log {
    pub received: Vec<Received>,
    pub served: Vec<Served>,
    /// Per response: whether anyone has asked its body for a frame yet.
    pub touched: Vec<Arc<AtomicBool>>,
}

impl Log {
    /// Whether the body of response `i` has been read from (by the layer, before the caller
    /// got the response).
    pub fn touched(&self, i: usize) -> bool {
        self.touched
            .get(i)
            .is_some_and(|t| t.load(Ordering::Relaxed))
    }
}

/// More requests than any script plus its fallback should take: past them the server stops
/// answering (an operation whose monitor says "running" forever, and no limit, polls forever:
/// by design), and fails the run if the last of them came without a wait (a hot loop).
const RUNAWAY: usize = 10_000;

#[derive(Clone)]
pub struct Server {
    script: Arc<Vec<Answer>>,
    fallback: Arc<Answer>,
    /// The requests an earlier run already sent: this server goes on with the script's answer
    /// `offset` (a resumed run continues where the first one stopped).
    offset: usize,
    log: Arc<Mutex<Log>>,
}

impl Server {
    pub fn new(script: Vec<Answer>, fallback: Answer) -> Server {
        Server::continuing(script, fallback, 0)
    }

    pub fn continuing(script: Vec<Answer>, fallback: Answer, offset: usize) -> Server {
        Server {
            script: Arc::new(script),
            fallback: Arc::new(fallback),
            offset,
            log: Arc::default(),
        }
    }

    pub fn log(&self) -> MutexGuard<'_, Log> {
        // A panic elsewhere must not hide the log from the checks.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Answering = Pin<Box<dyn Future<Output = Result<Response<ScriptBody>, BoxError>> + Send>>;

impl Service<Request<String>> for Server {
    type Response = Response<ScriptBody>;
    type Error = BoxError;
    type Future = Answering;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<String>) -> Answering {
        let mut log = self.log();
        let sent = log.received.len();
        // Stamped on the response: a resumed run's answers are numbered as the first run's.
        let seq = self.offset + sent;
        let now = Instant::now();
        if sent >= RUNAWAY {
            let recent = &log.received[sent - 100..];
            assert!(
                recent.iter().any(|r| r.at != now),
                "invariant 3 (ends within budgets) violated: more than {RUNAWAY} requests, the last 100 at once"
            );
            return Box::pin(std::future::pending());
        }
        log.received.push(Received {
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
            poll: req.extensions().get::<LroPoll>().copied(),
            marker: req.extensions().get::<Marker>().is_some(),
            at: now,
            body_len: req.body().len(),
        });
        let touched = Arc::new(AtomicBool::new(false));
        log.touched.push(touched.clone());
        let answer = self.script.get(seq).unwrap_or(&self.fallback);
        let reply = match answer {
            Answer::Fail => {
                log.served.push(Served::Failed);
                return Box::pin(async { Err("scripted inner service failure".into()) });
            }
            Answer::Hang => {
                log.served.push(Served::Hung);
                return Box::pin(std::future::pending());
            }
            Answer::Respond(reply) => reply,
        };
        let delivered = reply.delivered();
        log.served.push(Served::Response {
            status: reply.status,
            delivered: delivered.to_vec(),
            end: reply.end,
        });
        let mut response = Response::builder()
            .status(reply.status)
            .header("x-model-seq", seq);
        for (name, value) in &reply.headers {
            // The palette holds no bytes a header value refuses; skip rather than trust that.
            if let Ok(value) = HeaderValue::from_bytes(&value.0) {
                response = response.header(*name, value);
            }
        }
        // Large bodies in big frames, so a run stays fast.
        let chunk = match reply.chunk {
            _ if delivered.len() > 1 << 16 => reply.chunk.max(1 << 16),
            0 => delivered.len().max(1),
            n => n,
        };
        let body = ScriptBody {
            frames: delivered
                .chunks(chunk)
                .map(Bytes::copy_from_slice)
                .collect(),
            tail: reply.end,
            touched,
        };
        let response = response.body(body).map_err(BoxError::from);
        Box::pin(async move { response })
    }
}

/// A body delivered as the script's frames, then ended, failed or stalled forever.
pub struct ScriptBody {
    frames: VecDeque<Bytes>,
    tail: End,
    touched: Arc<AtomicBool>,
}

impl Body for ScriptBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.touched.store(true, Ordering::Relaxed);
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match self.tail {
            End::Complete => Poll::Ready(None),
            End::ErrorAt(_) => {
                self.tail = End::Complete;
                Poll::Ready(Some(Err("scripted body error".into())))
            }
            // Never woken: the stall lasts until the reader gives up.
            End::StallAt(_) => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.tail == End::Complete
    }
}
