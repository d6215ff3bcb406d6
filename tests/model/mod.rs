//! Model-based fuzzing of the whole layer: any byte string decodes to a [`Case`] (a layer
//! configuration, an original request or a forged resume token, and a scripted server), which
//! is run through tower under paused virtual time; `check` then holds the run to the
//! invariants. `tests/model.rs` (proptest) and `fuzz/fuzz_targets/layer.rs` share this module.
//!
//! `MODEL_ONLY=2,5b` (environment) checks only the listed invariants, to hunt one at a time.

mod check;
mod equivalence;
mod script;
mod server;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body::Body;
use tokio::time::{timeout, Instant};
use tower::{BoxError, Layer, Service};
use tower_lro::{
    ErrorKind, Lro, LroDialect, LroError, LroInfo, LroLayer, OnProgress, ResponseFuture,
    ResumeToken,
};

pub use script::Case;
use script::{Allow, Answer, Config, ALLOWED, ORIGINAL};
use server::{Marker, Received, ScriptBody, Served, Server};

/// How long a run may take in virtual time before the harness gives up on it.
const PATIENCE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long the harness waits after dropping a future, to see whether requests still go out.
const AFTER_DROP: Duration = Duration::from_secs(3 * 24 * 3600);

/// Decodes `bytes`, runs the case and checks every invariant; panics naming the one broken.
/// `MODEL_STRICT=A,B,12` (or `all`) adds the strict readings of the open findings.
pub fn run(bytes: &[u8]) {
    match std::env::var("MODEL_STRICT") {
        Ok(which) => check::strictly(&which, || run_case(&Case::decode(bytes), bytes)),
        Err(_) => run_case(&Case::decode(bytes), bytes),
    }
}

/// As [`run`], with the legacy decoder (the findings kept as `v1:` inputs).
pub fn run_legacy(bytes: &[u8]) {
    run_case(&Case::decode_legacy(bytes), bytes);
}

fn run_case(case: &Case, bytes: &[u8]) {
    let context = format!("input: {}\ncase: {case:#?}", hex(bytes));
    let plan = Plan::of(case);
    let outcome = guarded(case, &context, || execute(case, &plan));
    if let Some(outcome) = outcome {
        if std::env::var_os("MODEL_TRACE").is_some() {
            eprintln!("{context}\n{}", outcome.describe());
        }
        check::all(case, &outcome, &context);
        equivalence::check(case, &outcome, &context);
    }
}

/// Runs `f`, turning a panic into invariant 1's failure (when it is checked).
fn guarded<T>(case: &Case, context: &str, f: impl FnOnce() -> T) -> Option<T> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) if check::enabled(case, "1") => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(not a string)");
            let which = if case.token.is_some() { "1/7" } else { "1" };
            panic!("invariant {which} (never panics) violated: {message}\n{context}");
        }
        Err(_) => None,
    }
}

/// What `MODEL_STATS` counted so far.
pub fn stats() -> Vec<(&'static str, u64)> {
    let stats = check::STATS.lock().unwrap_or_else(|e| e.into_inner());
    stats.iter().map(|(k, v)| (*k, *v)).collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How one run goes: the case's, or a run the checks derive from it (a stop, a resume).
#[derive(Clone)]
pub struct Plan {
    pub config: Config,
    pub start: Start,
    /// The requests earlier runs sent: the server answers from the script's answer `offset`.
    pub offset: usize,
    pub drop_after: Option<u32>,
    /// Resume each error's token against a server that answers Succeeded (invariant 5).
    pub follow_errors: bool,
}

#[derive(Clone)]
pub enum Start {
    /// The case's original request.
    Original,
    /// The case's forged token text.
    Forged,
    /// A token an earlier run handed out.
    Token(Box<ResumeToken>),
}

impl Plan {
    pub fn of(case: &Case) -> Plan {
        Plan {
            config: case.config.clone(),
            start: if case.token.is_some() {
                Start::Forged
            } else {
                Start::Original
            },
            offset: 0,
            drop_after: case.drop_after,
            follow_errors: true,
        }
    }
}

/// A progress report as the hook saw it.
pub struct Report {
    pub at: Instant,
    pub debug: String,
    pub monitor_url: Uri,
    pub token: ResumeToken,
}

/// Everything a run left behind, for the checks.
pub struct Outcome {
    pub start: Instant,
    pub ending: Ending,
    pub received: Vec<Received>,
    pub served: Vec<Served>,
    /// Before each request but a run's first, the report made before its wait.
    pub progress: Vec<Report>,
    /// Whether the layer had read from the first response's body when the call ended.
    pub first_touched: bool,
    /// The token the run resumed, if it resumed one.
    pub resumed_token: Option<ResumeToken>,
}

impl Outcome {
    /// The requests and how the call ended, for `MODEL_TRACE`.
    pub fn describe(&self) -> String {
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
            Ending::Refused(_) => "token refused",
        }
    }

    /// The dialect under which request `i` went out: the one the report before it names (the
    /// resumed token's for a resumed run's first request); `None` for the original request.
    pub fn dialect_of(&self, i: usize) -> Option<LroDialect> {
        match i.checked_sub(1) {
            Some(j) => self.progress.get(j).map(|p| p.token.dialect()),
            None => self.resumed_token.as_ref().map(ResumeToken::dialect),
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
    /// `resume` refused a token (its error), or parsing it or `build()` the configuration
    /// (`None`), before anything was sent.
    Refused(Option<Refusal>),
}

/// What `resume` said when it refused a token.
pub struct Refusal {
    pub kind: ErrorKind,
    pub display: String,
    pub debug: String,
}

pub enum Returned {
    Ok {
        status: StatusCode,
        seq: Option<usize>,
        body: Vec<u8>,
        end: ReadEnd,
        info: Option<Box<LroInfo>>,
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
    pub code: Option<String>,
    pub text: String,
    pub debug: String,
    pub token: Option<ResumeToken>,
    pub status: Option<StatusCode>,
    pub seq: Option<usize>,
    pub body: Vec<u8>,
    pub has_message: bool,
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
fn layer(config: &Config, hook: Option<OnProgress>) -> Option<LroLayer> {
    // Graph's drive monitors: the defaults, and one more host (behaviour §8.4).
    let monitor_hosts = ["api.onedrive.com", "*.sharepoint.com", "drive.example.org"];
    let mut graph = tower_lro::GraphOptions::new().monitor_hosts(monitor_hosts);
    if config.graph {
        graph = graph.hosts(["management.azure.com"]);
    }
    let mut fabric = tower_lro::FabricOptions::new().follow_location(config.fabric_follow);
    if config.fabric {
        fabric = fabric.hosts(["management.azure.com"]);
    }
    let mut google = tower_lro::GoogleOptions::new().compute_wait(config.compute_wait);
    if config.google {
        google = google.hosts(["management.azure.com"]);
    }
    let mut builder = LroLayer::builder()
        .max_transient_retries(config.max_transient_retries)
        .max_interval(config.max_interval)
        .require_monitor_on_202(config.strict)
        .add_api_version(config.add_api_version)
        .any_404_after_delete(config.any_404_after_delete)
        .graph(graph)
        .fabric(fabric)
        .google(google);
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
            .enable(tower_lro::LroDialect::GoogleDiscovery);
    }
    if config.allow != Allow::None {
        let mut origin = tower_lro::AllowedOrigin::parse(ALLOWED).expect("a valid origin");
        if config.allow == Allow::WithCredentials {
            origin = origin.with_credentials();
        }
        builder = builder.allow_origin(origin);
    }
    if let Some(hook) = hook {
        builder = builder.on_progress(hook);
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

pub fn execute(case: &Case, plan: &Plan) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(drive(case, plan))
}

/// A progress hook that keeps every report.
fn recorder() -> (OnProgress, Arc<Mutex<Vec<Report>>>) {
    let reports: Arc<Mutex<Vec<Report>>> = Arc::default();
    let sink = reports.clone();
    let hook = OnProgress::new(move |p| {
        let report = Report {
            at: Instant::now(),
            debug: format!("{p:?}"),
            monitor_url: p.monitor_url().clone(),
            token: p.resume_token().clone(),
        };
        sink.lock().unwrap_or_else(|e| e.into_inner()).push(report);
    });
    (hook, reports)
}

async fn drive(case: &Case, plan: &Plan) -> Outcome {
    let server = Server::continuing(case.script.clone(), case.fallback.clone(), plan.offset);
    let start = Instant::now();
    let refused = |server: &Server, why: Option<Refusal>, token: Option<ResumeToken>| {
        let log = server.log();
        Outcome {
            start,
            ending: Ending::Refused(why),
            received: log.received.clone(),
            served: log.served.clone(),
            progress: Vec::new(),
            first_touched: log.touched(0),
            resumed_token: token,
        }
    };
    let (hook, reports) = recorder();
    let Some(layer) = layer(&plan.config, Some(hook)) else {
        return refused(&server, None, None);
    };
    let mut service = layer.layer(server.clone());
    let token = match (&plan.start, &case.token) {
        (Start::Token(token), _) => Some((**token).clone()),
        (Start::Forged, Some(text)) => match (text.parse::<ResumeToken>(), case.token_parses) {
            (Ok(token), Some(false)) => {
                panic!("invariant 7 violated: a token the format refuses was parsed: {token:?}")
            }
            (Ok(token), _) => Some(token),
            (Err(e), Some(true)) => {
                panic!("invariant 7 violated: a well-formed token was refused: {e}")
            }
            (Err(_), _) => return refused(&server, None, None),
        },
        _ => None,
    };
    let future = match &token {
        Some(token) => match resume(&service, token) {
            Ok(future) => future,
            Err(e) => {
                let why = Refusal {
                    kind: e.kind(),
                    display: e.to_string(),
                    debug: format!("{e:?}"),
                };
                return refused(&server, Some(why), Some(token.clone()));
            }
        },
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
        limit: plan.drop_after,
    };
    let finished = timeout(PATIENCE, guarded).await;
    let first_touched = server.log().touched(0);
    let progress = std::mem::take(&mut *reports.lock().unwrap_or_else(|e| e.into_inner()));
    let ending = match finished {
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
                    let info = response
                        .extensions()
                        .get::<LroInfo>()
                        .cloned()
                        .map(Box::new);
                    let mut body = Vec::new();
                    let end = read_body(response.into_body(), &mut body).await;
                    Returned::Ok {
                        status,
                        seq,
                        body,
                        end,
                        info,
                    }
                }
                Err(error) => summarize(&layer, error, plan.follow_errors).await,
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
        progress,
        first_touched,
        resumed_token: token,
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
    if let Some((via, inline)) = case.options {
        let mut options = tower_lro::LroOptions::new().inline_result(inline);
        if let Some(via) = via {
            options = options.final_state_via(via);
        }
        builder = builder.extension(options);
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

/// What an error says, and where resuming its token leads (when `follow`).
async fn summarize(layer: &LroLayer, error: BoxError, follow: bool) -> Returned {
    let Some(lro) = error.downcast_ref::<LroError>() else {
        return Returned::Other(error.to_string());
    };
    let resumed = match lro.resume_token() {
        Some(token) if follow => Some(resume_with_success(layer, token).await),
        _ => None,
    };
    Returned::Lro(Box::new(LroSummary {
        kind: lro.kind(),
        code: lro.code().map(str::to_owned),
        text: lro.to_string(),
        debug: format!("{lro:?}"),
        token: lro.resume_token().cloned(),
        status: lro.status(),
        seq: seq_of(lro.headers()),
        body: lro.body().to_vec(),
        has_message: lro.message().is_some(),
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
            let first = server.log().received.first().map(Received::target);
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
