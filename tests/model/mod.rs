//! Model-based fuzzing of the whole layer: any byte string decodes to a [`Case`] (a layer
//! configuration, an original request or a forged resume token, and a scripted server), which
//! is run through tower under paused virtual time; `check` then holds the run to the
//! invariants. `tests/model.rs` (proptest) and `fuzz/fuzz_targets/layer.rs` share this module.
//!
//! `MODEL_ONLY=2,5b` (environment) checks only the listed invariants, to hunt one at a time.

mod check;
mod script;
mod server;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body::Body;
use tokio::time::{timeout, Instant};
use tower::{BoxError, Layer, Service};
use tower_lro::{ErrorKind, Lro, LroError, LroLayer, ResponseFuture, ResumeToken};

pub use script::Case;
use script::{Allow, Answer, Config, ALLOWED, ORIGINAL};
use server::{Marker, Received, ScriptBody, Served, Server};

/// How long a run may take in virtual time before the harness gives up on it.
const PATIENCE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long the harness waits after dropping a future, to see whether requests still go out.
const AFTER_DROP: Duration = Duration::from_secs(3 * 24 * 3600);

/// Decodes `bytes`, runs the case and checks every invariant; panics naming the one broken.
pub fn run(bytes: &[u8]) {
    let case = Case::decode(bytes);
    let context = format!("input: {}\ncase: {case:#?}", hex(bytes));
    let forged = case.token.is_some();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| execute(&case)));
    match outcome {
        Ok(outcome) => {
            if std::env::var_os("MODEL_TRACE").is_some() {
                eprintln!("{context}\n{}", outcome.describe());
            }
            check::all(&case, &outcome, &context)
        }
        Err(payload) if check::enabled(&case, "1") => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(not a string)");
            let which = if forged { "1/7" } else { "1" };
            panic!("invariant {which} (never panics) violated: {message}\n{context}");
        }
        Err(_) => {}
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything a run left behind, for the checks.
pub struct Outcome {
    pub start: Instant,
    pub ending: Ending,
    pub received: Vec<Received>,
    pub served: Vec<Served>,
}

impl Outcome {
    /// The requests and how the call ended, for `MODEL_TRACE`.
    fn describe(&self) -> String {
        let mut text = String::new();
        for (r, served) in self.received.iter().zip(&self.served) {
            let answer = match served {
                Served::Response { status, .. } => status.to_string(),
                other => format!("{other:?}"),
            };
            let at = r.at - self.start;
            text += &format!("{at:?} {} {} -> {answer}\n", r.method, r.uri);
        }
        text + match &self.ending {
            Ending::Returned {
                result: Returned::Ok { status, .. },
                ..
            } => status.as_str(),
            Ending::Returned {
                result: Returned::Lro(e),
                ..
            } => e.kind.as_str(),
            Ending::Returned { .. } => "inner error",
            Ending::Hung { .. } => "hung",
            Ending::Dropped { .. } => "dropped",
            Ending::Refused => "token refused",
        }
    }
}

pub enum Ending {
    Returned {
        at: Instant,
        result: Returned,
    },
    /// Still pending when the harness's patience ran out.
    Hung {
        at: Instant,
    },
    Dropped {
        at: Instant,
        sent_before: usize,
        sent_after: usize,
    },
    /// `resume` refused a forged token, or `build()` the configuration, before anything was
    /// sent.
    Refused,
}

pub enum Returned {
    Ok {
        status: StatusCode,
        seq: Option<usize>,
        body: Vec<u8>,
        end: ReadEnd,
    },
    Lro(Box<LroSummary>),
    Other(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReadEnd {
    Complete,
    Error,
    Stalled,
}

pub struct LroSummary {
    pub kind: ErrorKind,
    pub text: String,
    pub token: Option<ResumeToken>,
    pub status: Option<StatusCode>,
    pub seq: Option<usize>,
    pub body: Vec<u8>,
    pub resumed: Option<Resumed>,
}

/// Resuming an error's token with a server that answers Succeeded to everything.
pub enum Resumed {
    Refused(String),
    Sent { first: Option<Uri> },
}

/// The one place the harness resumes a token: against the origin of the original request,
/// the origin a caller expects its operations on.
fn resume(
    service: &Lro<Server>,
    token: &ResumeToken,
) -> Result<ResponseFuture<Server, String, ScriptBody>, LroError> {
    let origin: Uri = ORIGINAL.parse().expect("a valid URI");
    service.resume::<String, ScriptBody>(token, &origin)
}

/// The layer for `config`, or `None` when `build()` refuses it. It must refuse exactly the
/// values that cannot work (a zero `max_polls` or inspection cap) and accept every other.
fn layer(config: &Config) -> Option<LroLayer> {
    let mut builder = LroLayer::builder()
        .max_transient_retries(config.max_transient_retries)
        .max_interval(config.max_interval)
        .require_monitor_on_202(config.strict)
        .add_api_version(config.add_api_version)
        .any_404_after_delete(config.any_404_after_delete);
    if let Some(polls) = config.max_polls {
        builder = builder.max_polls(polls);
    }
    if let Some(limit) = config.max_duration {
        builder = builder.max_duration(limit);
    }
    if let Some(cap) = config.monitor_body_cap {
        builder = builder.monitor_body_cap(cap);
    }
    if let Some(cap) = config.inspection_cap {
        builder = builder.inspection_cap(cap);
    }
    if let Some(via) = config.final_state_via {
        builder = builder.final_state_via(via);
    }
    if config.google {
        builder = builder
            .enable(tower_lro::LroDialect::GoogleAip151)
            .enable(tower_lro::LroDialect::GoogleDiscovery)
            .google(tower_lro::GoogleOptions::new().hosts(["management.azure.com"]));
    }
    if config.graph {
        builder = builder.graph(tower_lro::GraphOptions::new().hosts(["management.azure.com"]));
    }
    if config.allow != Allow::None {
        let mut origin = tower_lro::AllowedOrigin::parse(ALLOWED).expect("a valid origin");
        if config.allow == Allow::WithCredentials {
            origin = origin.with_credentials();
        }
        builder = builder.allow_origin(origin);
    }
    let cannot_work = config.max_polls == Some(0) || config.inspection_cap == Some(0);
    match builder.build() {
        Ok(_) if cannot_work => {
            panic!("invariant 8 (configuration) violated: build() accepted {config:?}")
        }
        Ok(layer) => Some(layer),
        Err(e) if !cannot_work => {
            panic!("invariant 8 (configuration) violated: build() refused {config:?}: {e}")
        }
        Err(_) => None,
    }
}

fn execute(case: &Case) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(drive(case))
}

async fn drive(case: &Case) -> Outcome {
    let server = Server::new(case.script.clone(), case.fallback.clone());
    let start = Instant::now();
    let Some(layer) = layer(&case.config) else {
        return Outcome {
            start,
            ending: Ending::Refused,
            received: Vec::new(),
            served: Vec::new(),
        };
    };
    let mut service = layer.layer(server.clone());
    let future = match &case.token {
        Some(text) => {
            let token: ResumeToken = match text.parse() {
                Ok(token) => token,
                Err(e) if text.starts_with(r#"{"version":1,"#) => {
                    panic!("a well-formed token of this build's version was refused: {e}")
                }
                Err(_) => {
                    return Outcome {
                        start,
                        ending: Ending::Refused,
                        received: Vec::new(),
                        served: Vec::new(),
                    }
                }
            };
            match resume(&service, &token) {
                Ok(future) => future,
                Err(_) => {
                    let log = server.log();
                    return Outcome {
                        start,
                        ending: Ending::Refused,
                        received: log.received.clone(),
                        served: log.served.clone(),
                    };
                }
            }
        }
        None => {
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .expect("the scripted server is always ready");
            service.call(original_request(case))
        }
    };
    let guarded = DropAfter {
        future: Some(Box::pin(future)),
        polls: 0,
        limit: case.drop_after,
    };
    let ending = match timeout(PATIENCE, guarded).await {
        Err(_) => Ending::Hung { at: Instant::now() },
        Ok(None) => {
            let at = Instant::now();
            let sent_before = server.log().received.len();
            tokio::time::sleep(AFTER_DROP).await;
            let sent_after = server.log().received.len();
            Ending::Dropped {
                at,
                sent_before,
                sent_after,
            }
        }
        Ok(Some(result)) => {
            let at = Instant::now();
            let result = match result {
                Ok(response) => {
                    let status = response.status();
                    let seq = seq_of(response.headers());
                    let mut body = Vec::new();
                    let end = read_body(response.into_body(), &mut body).await;
                    Returned::Ok {
                        status,
                        seq,
                        body,
                        end,
                    }
                }
                Err(error) => summarize(&layer, error).await,
            };
            Ending::Returned { at, result }
        }
    };
    let log = server.log();
    Outcome {
        start,
        ending,
        received: log.received.clone(),
        served: log.served.clone(),
    }
}

fn original_request(case: &Case) -> Request<String> {
    let mut builder = Request::builder()
        .method(case.method.clone())
        .uri(ORIGINAL)
        .header("authorization", "Bearer SECRET")
        .header("x-ms-client-request-id", "model-1")
        .header("content-type", "application/json");
    if case.config.respond_async {
        builder = builder.header("prefer", "respond-async");
    }
    if let Some(name) = case.extra_credential {
        builder = builder.header(name, "SECRET");
    }
    let mut request = builder
        .body(r#"{"location":"eastus"}"#.to_owned())
        .expect("a valid request");
    request.extensions_mut().insert(Marker);
    request
}

fn seq_of(headers: &http::HeaderMap) -> Option<usize> {
    headers.get("x-model-seq")?.to_str().ok()?.parse().ok()
}

/// Reads a body into `into` until it ends, fails, or stalls for a virtual day.
async fn read_body<B: Body<Data = Bytes>>(body: B, into: &mut Vec<u8>) -> ReadEnd {
    let mut body = std::pin::pin!(body);
    let reading = async {
        loop {
            match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                None => return ReadEnd::Complete,
                Some(Err(_)) => return ReadEnd::Error,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        into.extend_from_slice(&data);
                    }
                }
            }
        }
    };
    timeout(Duration::from_secs(24 * 3600), reading)
        .await
        .unwrap_or(ReadEnd::Stalled)
}

/// What an error says, and where resuming its token leads.
async fn summarize(layer: &LroLayer, error: BoxError) -> Returned {
    let Some(lro) = error.downcast_ref::<LroError>() else {
        return Returned::Other(error.to_string());
    };
    let resumed = match lro.resume_token() {
        Some(token) => Some(resume_with_success(layer, token).await),
        None => None,
    };
    Returned::Lro(Box::new(LroSummary {
        kind: lro.kind(),
        text: lro.to_string(),
        token: lro.resume_token().cloned(),
        status: lro.status(),
        seq: seq_of(lro.headers()),
        body: lro.body().to_vec(),
        resumed,
    }))
}

/// Resumes `token` against a fresh server that answers Succeeded to everything.
async fn resume_with_success(layer: &LroLayer, token: &ResumeToken) -> Resumed {
    let server = Server::new(Vec::new(), Answer::succeeded());
    let service = layer.layer(server.clone());
    match resume(&service, token) {
        Err(e) => Resumed::Refused(e.to_string()),
        Ok(future) => {
            let _ = timeout(PATIENCE, future).await;
            let first = server.log().received.first().map(|r| r.uri.clone());
            Resumed::Sent { first }
        }
    }
}

/// The caller's side: awaits the future, or drops it once it has been polled `limit` times.
struct DropAfter<F> {
    future: Option<Pin<Box<F>>>,
    polls: u32,
    limit: Option<u32>,
}

impl<F: Future> Future for DropAfter<F> {
    /// `None`: dropped.
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.limit == Some(self.polls) {
            self.future = None;
            return Poll::Ready(None);
        }
        let Some(future) = self.future.as_mut() else {
            return Poll::Ready(None);
        };
        match future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => {
                self.polls += 1;
                if self.limit == Some(self.polls) {
                    // Dropped now, not at the next wake-up, which may never come.
                    self.future = None;
                    return Poll::Ready(None);
                }
                Poll::Pending
            }
        }
    }
}
