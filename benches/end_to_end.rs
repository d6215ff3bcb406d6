//! End to end: K concurrent operations over real HTTP/1.1 on 127.0.0.1, through a hyper-util
//! client wrapped in `LroLayer`, against a hand-written floor loop over the same client.
//!
//! `cargo bench --bench end_to_end` (K = 1,000 and 10,000; `LRO_BENCH_K=100000` for 100,000).
//!
//! One binary, four roles (env `LRO_BENCH_ROLE`):
//! - orchestrator (unset): for each K, repetition and client, starts a fresh server and a fresh
//!   client process, collects their figures and prints the table. Fresh processes keep each
//!   run's peak RSS and heap baseline its own.
//! - `server`: hyper 1.x http1 with keep-alive on 127.0.0.1:0; prints its port on stdout.
//!   `POST /ops/{id}` → 202 + Azure-AsyncOperation; the monitor answers InProgress three
//!   times, then Succeeded; every 202/InProgress carries `retry-after-ms`.
//! - `client`: runs K operations at once on a current-thread runtime and prints one
//!   `RESULT key=value...` line: wall time, its own CPU (so the server's is not counted), peak
//!   RSS, and the heap it held at peak, counted by the global allocator below.
//! - `probe`: the heap K waiting operations hold against an instant in-memory service, with no
//!   HTTP client and so no connection buffers: the layer's own bytes per operation.
//!
//! Other knobs: `LRO_BENCH_REPS` (median of; default 5, 1 for K ≥ 100,000), `LRO_BENCH_WAIT_MS`
//! (the server's retry hint; default max(50, K/10) ms so that all K operations are in flight
//! together), `LRO_BENCH_CONNS` (requests in flight, hence connections; default 1,024: the
//! loopback has ~28k ephemeral ports and the fd limit here is 20,000).
//!
//! `LRO_BENCH_LEAN=1` is the lean client a small service runs: K = 100, 1,000 and 5,000, 100
//! connections, 3 polls per operation (two `InProgress`, then `Succeeded`), the client pinned to
//! core 0 and the server to core 1 (`taskset`, when the machine has it), each on a current-thread
//! runtime in its own process; K at once, repeated until a run holds about 10,000 operations
//! (`LRO_BENCH_ROUNDS`), so that a run's CPU is not a few scheduler ticks' worth.
//!
//! Run without `--bench` (as `cargo test --benches` does) it makes one small smoke run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::limit::ConcurrencyLimit;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};
use tower_lro::LroLayer;

// ---------------------------------------------------------------------------------------------
// Heap accounting.

/// Bytes currently allocated, and the most ever allocated since the last `reset_peak`.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Blocks currently allocated.
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes. Relaxed atomics suffice: the figures are read
/// only after the work they count is done.
struct Counting;

fn allocated(size: usize) {
    BLOCKS.fetch_add(1, Ordering::Relaxed);
    grew(size);
}

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees carry over; the counters never influence what is returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Live bytes now; the peak restarts from here.
fn reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

// ---------------------------------------------------------------------------------------------
// Process figures from /proc.

/// CPU time of every thread of this process, in nanoseconds (`/proc/self/task/*/schedstat`).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// utime + stime of this process in clock ticks (100 per second on Linux), as a cross-check.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Peak resident set size in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Status answers before the operation succeeds (two in the lean mode: 3 polls).
const IN_PROGRESS: u32 = 3;

/// The lean mode (`LRO_BENCH_LEAN`): see the module docs.
fn lean() -> bool {
    std::env::var_os("LRO_BENCH_LEAN").is_some()
}

fn in_progress() -> u32 {
    if lean() {
        IN_PROGRESS - 1
    } else {
        IN_PROGRESS
    }
}

fn main() -> Result<(), BoxError> {
    match std::env::var("LRO_BENCH_ROLE").as_deref() {
        Ok("server") => server(),
        Ok("client") => client(),
        Ok("probe") => probe(),
        _ => orchestrate(),
    }
}

/// Exits when the parent closes our stdin (or dies), so no child outlives a bench.
fn exit_with_parent() {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
}

// ---------------------------------------------------------------------------------------------
// Server.

fn server() -> Result<(), BoxError> {
    exit_with_parent();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        println!("{port}");
        std::io::stdout().flush()?;
        let wait_ms: u64 = env_or("LRO_BENCH_WAIT_MS", 50);
        let state = Arc::new(ServerState {
            port,
            wait_ms: wait_ms.to_string(),
            polls: Mutex::default(),
            connections: AtomicU64::new(0),
            in_progress: in_progress(),
        });
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            state.connections.fetch_add(1, Ordering::Relaxed);
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(state.answer(&req)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

struct ServerState {
    port: u16,
    wait_ms: String,
    /// Status answers given so far, per operation.
    polls: Mutex<HashMap<u64, u32>>,
    connections: AtomicU64,
    in_progress: u32,
}

impl ServerState {
    fn answer(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        let builder = Response::builder();
        let response = if let Some(id) = path.strip_prefix("/ops/") {
            let id: u64 = id.parse().unwrap_or_default();
            self.polls.lock().unwrap().insert(id, 0);
            builder
                .status(StatusCode::ACCEPTED)
                .header(
                    "azure-asyncoperation",
                    format!("http://127.0.0.1:{}/status/{id}", self.port),
                )
                .header("retry-after-ms", &self.wait_ms)
                .body(Full::default())
        } else if let Some(id) = path.strip_prefix("/status/") {
            let id: u64 = id.parse().unwrap_or_default();
            let mut polls = self.polls.lock().unwrap();
            let n = polls.entry(id).or_default();
            *n += 1;
            if *n <= self.in_progress {
                builder
                    .header("retry-after-ms", &self.wait_ms)
                    .body(Full::from(r#"{"status":"InProgress"}"#))
            } else {
                polls.remove(&id);
                builder.body(Full::from(r#"{"status":"Succeeded"}"#))
            }
        } else if path == "/stats" {
            let connections = self.connections.load(Ordering::Relaxed);
            builder.body(Full::from(connections.to_string()))
        } else {
            builder.status(StatusCode::NOT_FOUND).body(Full::default())
        };
        response.unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Client.

type Http = ConcurrencyLimit<Client<HttpConnector, Full<Bytes>>>;

/// In-flight operations now, and the most at once.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// The size of one operation's task future (heap-allocated by the runtime).
static TASK_BYTES: AtomicUsize = AtomicUsize::new(0);
/// All operations have ended.
static FINISHED: AtomicBool = AtomicBool::new(false);

/// Counts an operation as in flight while alive.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        let now = IN_FLIGHT.fetch_add(1, Ordering::Relaxed) + 1;
        MAX_IN_FLIGHT.fetch_max(now, Ordering::Relaxed);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

fn client() -> Result<(), BoxError> {
    exit_with_parent();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_client())
}

fn layered() -> bool {
    std::env::var("LRO_BENCH_MODE").as_deref() == Ok("layer")
}

async fn run_client() -> Result<(), BoxError> {
    let port: u16 = env_or("LRO_BENCH_PORT", 0);
    let k: u64 = env_or("LRO_BENCH_K", 1_000);
    let conns: usize = env_or("LRO_BENCH_CONNS", 1_024);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .build(connector);
    // Bounds requests (not operations) in flight, and so connections, for both clients.
    let http: Http = ServiceBuilder::new()
        .concurrency_limit(conns)
        .service(client);
    let base = format!("http://127.0.0.1:{port}");

    let heap_base = reset_peak();
    let (cpu0, ticks0, t0) = (cpu_ns(), cpu_ticks(), Instant::now());
    if std::env::var_os("LRO_BENCH_TRACE").is_some() {
        tokio::spawn(trace_heap(heap_base, t0));
    }
    let rounds: u64 = env_or("LRO_BENCH_ROUNDS", 1);
    let mut failed = 0u64;
    for round in 0..rounds {
        let mut tasks = spawn_all(http.clone(), &base, round * k..(round + 1) * k, layered())?;
        while let Some(result) = tasks.join_next().await {
            if !matches!(result, Ok(Ok(()))) {
                failed += 1;
            }
        }
    }
    let wall = t0.elapsed();
    FINISHED.store(true, Ordering::Relaxed);
    let (cpu, ticks) = (cpu_ns() - cpu0, cpu_ticks() - ticks0);
    let heap_peak = PEAK.load(Ordering::Relaxed);
    let hwm = peak_rss_kib();
    let stats = Request::get(format!("{base}/stats")).body(Full::default())?;
    let stats = http.oneshot(stats).await?.into_body().collect().await?;
    let connections = String::from_utf8_lossy(&stats.to_bytes()).trim().to_owned();
    println!(
        "RESULT k={k} ops={} failed={failed} wall_us={} cpu_ns={cpu} ticks={ticks} \
         heap_base={heap_base} heap_peak={heap_peak} hwm_kib={hwm} \
         max_in_flight={} connections={connections}",
        k * rounds,
        wall.as_micros(),
        MAX_IN_FLIGHT.load(Ordering::Relaxed),
    );
    Ok(())
}

/// `LRO_BENCH_TRACE`: the heap over time on stderr, to see when the peak comes.
async fn trace_heap(base: usize, t0: Instant) {
    while !FINISHED.load(Ordering::Relaxed) {
        let heap = LIVE.load(Ordering::Relaxed).saturating_sub(base);
        let in_flight = IN_FLIGHT.load(Ordering::Relaxed);
        let t = t0.elapsed().as_secs_f64();
        eprintln!("trace t={t:.2}s heap={heap} in_flight={in_flight}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the operations `POST {base}/ops/{id}` for each of `ids` over `http`, through the
/// layer or the floor.
fn spawn_all<S, B>(
    http: S,
    base: &str,
    ids: std::ops::Range<u64>,
    layered: bool,
) -> Result<JoinSet<Result<(), BoxError>>, BoxError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError> + Send,
{
    let lro = LroLayer::builder().max_transient_retries(0).build()?;
    let lro = ServiceBuilder::new().layer(lro).service(http.clone());
    let mut tasks = JoinSet::new();
    for id in ids {
        let start = Request::post(format!("{base}/ops/{id}")).body(Full::default())?;
        if layered {
            let lro = lro.clone();
            let task = async move {
                let _in_flight = InFlight::enter();
                let response = lro.oneshot(start).await?;
                let status = response.status();
                let body = response.into_body().collect().await;
                check(status, &body.map_err(Into::into)?.to_bytes())
            };
            TASK_BYTES.store(std::mem::size_of_val(&task), Ordering::Relaxed);
            tasks.spawn(task);
        } else {
            let http = http.clone();
            let task = async move {
                let _in_flight = InFlight::enter();
                let (status, body) = floor(http, start).await?;
                check(status, &body)
            };
            TASK_BYTES.store(std::mem::size_of_val(&task), Ordering::Relaxed);
            tasks.spawn(task);
        }
    }
    Ok(tasks)
}

/// Heap held per waiting operation with no HTTP client at all: K operations against an
/// instant in-memory service whose 202 asks for a one-minute wait, measured once all are
/// waiting. Layer minus floor here is the layer's own state, free of connection buffers.
fn probe() -> Result<(), BoxError> {
    exit_with_parent();
    let k: u64 = env_or("LRO_BENCH_K", 10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let service = tower::service_fn(|req: Request<Full<Bytes>>| {
            let id = req.uri().path().rsplit('/').next().unwrap_or_default();
            let response = Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(
                    "azure-asyncoperation",
                    format!("http://127.0.0.1:1/status/{id}"),
                )
                .header("retry-after-ms", "60000")
                .body(Full::<Bytes>::default());
            std::future::ready(response)
        });
        let heap_base = reset_peak();
        let blocks_base = BLOCKS.load(Ordering::Relaxed);
        let tasks = spawn_all(service, "http://127.0.0.1:1", 0..k, layered())?;
        // Each task sends its POST and settles into its wait on its first poll.
        let t0 = Instant::now();
        while IN_FLIGHT.load(Ordering::Relaxed) < k as usize && t0.elapsed().as_secs() < 60 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let held = LIVE.load(Ordering::Relaxed).saturating_sub(heap_base);
        let blocks = BLOCKS.load(Ordering::Relaxed).saturating_sub(blocks_base);
        let in_flight = IN_FLIGHT.load(Ordering::Relaxed);
        let task = TASK_BYTES.load(Ordering::Relaxed);
        println!(
            "RESULT k={k} held={held} blocks={blocks} task_bytes={task} in_flight={in_flight}"
        );
        drop(tasks);
        Ok(())
    })
}

fn check(status: StatusCode, body: &[u8]) -> Result<(), BoxError> {
    if status == StatusCode::OK && body == br#"{"status":"Succeeded"}"# {
        Ok(())
    } else {
        Err(format!("unexpected end: {status}").into())
    }
}

/// The floor's view of a status monitor body.
#[derive(Deserialize)]
struct Status<'a> {
    status: &'a str,
}

/// The server's `retry-after-ms`, else the layer's default first wait.
fn hint(headers: &http::HeaderMap) -> Duration {
    headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis)
}

/// The least a caller could write: the same requests through ready clones of the same
/// client, every body read, the same JSON parse, the same waits.
async fn floor<S, B>(http: S, start: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), BoxError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    // Only the monitor URL and the wait outlive the first response.
    let (monitor, mut wait) = {
        let response = http.clone().oneshot(start).await.map_err(Into::into)?;
        let (head, body) = response.into_parts();
        let body = body.collect().await.map_err(Into::into)?.to_bytes();
        if head.status != StatusCode::ACCEPTED {
            return Ok((head.status, body));
        }
        let monitor = head
            .headers
            .get("azure-asyncoperation")
            .ok_or("no monitor")?;
        (Uri::try_from(monitor.as_bytes())?, hint(&head.headers))
    };
    loop {
        tokio::time::sleep(wait).await;
        let poll = Request::get(monitor.clone()).body(Full::default())?;
        let response = http.clone().oneshot(poll).await.map_err(Into::into)?;
        let (head, body) = response.into_parts();
        let body = body.collect().await.map_err(Into::into)?.to_bytes();
        match serde_json::from_slice::<Status<'_>>(&body)?.status {
            "Succeeded" => return Ok((head.status, body)),
            "Failed" | "Canceled" => return Err("operation failed".into()),
            _ => wait = hint(&head.headers),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Orchestrator.

/// A child process, killed when dropped (also on panic).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(role: &str, envs: &[(&str, String)]) -> Result<Guard, BoxError> {
    let exe = std::env::current_exe()?;
    // The lean mode pins the client to core 0 and the server to core 1, when `taskset` is there.
    let pinned = lean() && Command::new("taskset").arg("-V").output().is_ok();
    let mut command = if pinned {
        let core = if role == "server" { "1" } else { "0" };
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", core]).arg(&exe);
        taskset
    } else {
        Command::new(&exe)
    };
    command
        .env("LRO_BENCH_ROLE", role)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Ok(Guard(command.spawn()?))
}

/// The first stdout line of `child` that `pick` accepts.
fn read_line<T>(child: &mut Guard, pick: impl Fn(&str) -> Option<T>) -> Result<T, BoxError> {
    let stdout = child.0.stdout.as_mut().ok_or("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        if let Some(found) = pick(&line?) {
            return Ok(found);
        }
    }
    Err("child ended without an answer".into())
}

/// One client run's figures.
#[derive(Debug, Clone, Default)]
struct Run {
    k: u64,
    /// Operations run: K at once, `rounds` times over.
    ops: f64,
    failed: u64,
    wall: f64,
    cpu_ns: f64,
    ticks: f64,
    heap: f64,
    hwm_kib: f64,
    max_in_flight: f64,
    connections: f64,
}

fn run_once(
    layered: bool,
    k: u64,
    rounds: u64,
    wait_ms: u64,
    conns: usize,
) -> Result<Run, BoxError> {
    let wait = ("LRO_BENCH_WAIT_MS", wait_ms.to_string());
    let mut server = spawn("server", std::slice::from_ref(&wait))?;
    let port = read_line(&mut server, |l| l.trim().parse::<u16>().ok())?;
    let mode = if layered { "layer" } else { "floor" };
    let mut client = spawn(
        "client",
        &[
            wait,
            ("LRO_BENCH_PORT", port.to_string()),
            ("LRO_BENCH_K", k.to_string()),
            ("LRO_BENCH_ROUNDS", rounds.to_string()),
            ("LRO_BENCH_CONNS", conns.to_string()),
            ("LRO_BENCH_MODE", mode.to_owned()),
        ],
    )?;
    let get = result(&mut client)?;
    Ok(Run {
        k,
        ops: get("ops"),
        failed: get("failed") as u64,
        wall: get("wall_us") / 1e6,
        cpu_ns: get("cpu_ns"),
        ticks: get("ticks"),
        heap: get("heap_peak") - get("heap_base"),
        hwm_kib: get("hwm_kib"),
        max_in_flight: get("max_in_flight"),
        connections: get("connections"),
    })
}

/// The `RESULT key=value...` line of `child`, as a lookup (NaN for a missing key).
fn result(child: &mut Guard) -> Result<impl Fn(&str) -> f64, BoxError> {
    let line = read_line(child, |l| l.strip_prefix("RESULT ").map(str::to_owned))?;
    let fields: HashMap<String, f64> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(key, v)| Some((key.to_owned(), v.parse().ok()?)))
        .collect();
    Ok(move |key: &str| fields.get(key).copied().unwrap_or(f64::NAN))
}

/// Heap bytes held per waiting operation against the in-memory service (see `probe`).
fn probe_once(layered: bool, k: u64) -> Result<f64, BoxError> {
    let mode = if layered { "layer" } else { "floor" };
    let mut child = spawn(
        "probe",
        &[
            ("LRO_BENCH_K", k.to_string()),
            ("LRO_BENCH_MODE", mode.to_owned()),
        ],
    )?;
    let get = result(&mut child)?;
    if get("in_flight") != k as f64 {
        return Err(format!("probe: {} of {k} operations waiting", get("in_flight")).into());
    }
    Ok(get("held") / k as f64)
}

/// The run with the median CPU time (the figure the comparison rests on).
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.cpu_ns.total_cmp(&b.cpu_ns));
    runs.get(runs.len() / 2).cloned().unwrap_or_default()
}

fn orchestrate() -> Result<(), BoxError> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then a smoke run only.
    let benching = std::env::args().any(|a| a == "--bench");
    let ks: Vec<u64> = match std::env::var("LRO_BENCH_K") {
        Ok(list) => list
            .split(',')
            .filter_map(|k| k.trim().parse().ok())
            .collect(),
        Err(_) if benching && lean() => vec![100, 1_000, 5_000],
        Err(_) if benching => vec![1_000, 10_000],
        Err(_) => vec![10],
    };
    let conns: usize = env_or("LRO_BENCH_CONNS", if lean() { 100 } else { 1_024 });
    println!(
        "end_to_end{}: {} ops/LRO (POST + {} polls), client limited to {conns} requests in flight",
        if lean() { " (lean)" } else { "" },
        in_progress() + 2,
        in_progress() + 1
    );
    let mut table = Vec::new();
    for &k in &ks {
        let reps: usize = env_or(
            "LRO_BENCH_REPS",
            if !benching || k >= 100_000 { 1 } else { 5 },
        );
        let wait_ms: u64 = env_or("LRO_BENCH_WAIT_MS", (k / 10).max(50));
        // Lean runs are short: K at once, repeated until a run holds ~10,000 operations, so
        // that one run's CPU is not a few scheduler ticks' worth.
        let rounds: u64 = env_or(
            "LRO_BENCH_ROUNDS",
            if benching && lean() {
                (10_000 / k).max(1)
            } else {
                1
            },
        );
        let probe = (probe_once(false, k)?, probe_once(true, k)?);
        let (mut floors, mut layers) = (Vec::new(), Vec::new());
        for rep in 0..reps {
            // Alternate the order so drift on the shared machine hits both alike.
            for layered in [rep % 2 == 1, rep % 2 == 0] {
                let run = run_once(layered, k, rounds, wait_ms, conns)?;
                eprintln!(
                    "  k={k} wait={wait_ms}ms rep={rep} {}: {:.2}s, {:.1} µs CPU/LRO, failed {}",
                    if layered { "layer" } else { "floor" },
                    run.wall,
                    run.cpu_ns / 1e3 / run.ops,
                    run.failed,
                );
                if layered { &mut layers } else { &mut floors }.push(run);
            }
        }
        // Each rep's pair ran back to back: their ratio is the least exposed to drift.
        let mut ratios: Vec<f64> = floors
            .iter()
            .zip(&layers)
            .map(|(f, l)| l.cpu_ns / f.cpu_ns)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let spread = (
            ratios.first().copied().unwrap_or(f64::NAN),
            ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN),
            ratios.last().copied().unwrap_or(f64::NAN),
        );
        table.push((wait_ms, median(floors), median(layers), probe, spread));
    }

    println!(
        "\n| K | client | wait | LROs/s | client CPU µs/LRO (ticks) | peak RSS MiB | heap B/LRO at peak | max in flight | connections | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (wait_ms, floor, layer, _, _) in &table {
        for (name, r) in [("floor", floor), ("layer", layer)] {
            let k = r.k as f64;
            println!(
                "| {} | {name} | {wait_ms} ms | {:.0} | {:.1} ({:.1}) | {:.1} | {:.0} | {:.0} | {:.0} | {} |",
                r.k,
                r.ops / r.wall,
                r.cpu_ns / 1e3 / r.ops,
                r.ticks * 1e4 / r.ops,
                r.hwm_kib / 1024.0,
                r.heap / k,
                r.max_in_flight,
                r.connections,
                r.failed,
            );
        }
    }
    println!(
        "\n| K | CPU layer/floor: of medians (target ≤ 1.05) | per-rep pairs: median (min–max) | peak RSS layer/floor (target ≤ 1.10) | heap layer − floor B/LRO at peak | heap B/LRO waiting, in-memory service: floor → layer (target: difference ≤ 1024) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut failed = 0;
    for (_, floor, layer, (probe_floor, probe_layer), (low, mid, high)) in &table {
        let k = floor.k as f64;
        println!(
            "| {} | {:.3} | {mid:.3} ({low:.2}–{high:.2}) | {:.3} | {:.0} | {probe_floor:.0} → {probe_layer:.0} (+{:.0}) |",
            floor.k,
            layer.cpu_ns / floor.cpu_ns,
            layer.hwm_kib / floor.hwm_kib,
            (layer.heap - floor.heap) / k,
            probe_layer - probe_floor,
        );
        failed += floor.failed + layer.failed;
    }
    if failed > 0 {
        return Err(format!("{failed} operations did not end as scripted").into());
    }
    Ok(())
}
