//! Cost per request through `LroMiddleware`, next to the same work done by hand over the same
//! `reqwest::Client`, against an in-process loopback server (its own thread and runtime).
//!
//! `cargo bench -p tower-lro-reqwest` (a few seconds):
//! - `operation/*`: `PUT` → `201` + `Azure-AsyncOperation`; one poll of the monitor answers
//!   `Succeeded`; then the final `GET` of the resource. Both sides wait the same 1 µs between
//!   the `PUT` and the poll (Tokio's timer rounds it up to its 1 ms tick): the middleware through
//!   its schedule, the hand-written loop with `tokio::time::sleep`.
//! - `pass_through/*`: a `POST` answered `200` with a small body, read whole: through a
//!   `ClientWithMiddleware` holding `LroMiddleware`, and through the bare `reqwest::Client`.
//!
//! Criterion times wall clock, which the operation's 1 ms wait dominates. `LRO_BENCH_CPU=1 cargo
//! bench -p tower-lro-reqwest` prints instead the client's own CPU per operation (its thread's
//! `schedstat`; the server runs on another thread), both sides in blocks of 1,000 alternating
//! over 7 rounds, with the median of each and of the pairs' ratios.

use std::convert::Infallible;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tower_lro::{LroLayer, PollSchedule};
use tower_lro_reqwest::LroMiddleware;

const WAIT: Duration = Duration::from_micros(1);

async fn route(
    req: http::Request<Incoming>,
    base: String,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let _ = body.collect().await;
    let response = match (parts.method.as_str(), parts.uri.path()) {
        ("PUT", "/accounts/sa1") => http::Response::builder()
            .status(201)
            .header("azure-asyncoperation", format!("{base}/operations/op1"))
            .body(r#"{"properties":{"provisioningState":"Creating"}}"#.into()),
        ("GET", "/operations/op1") => {
            http::Response::builder().body(r#"{"status":"Succeeded"}"#.into())
        }
        ("GET", "/accounts/sa1") => http::Response::builder()
            .body(r#"{"name":"sa1","properties":{"provisioningState":"Succeeded"}}"#.into()),
        ("POST", "/echo") => http::Response::builder().body(r#"{"ok":true}"#.into()),
        _ => http::Response::builder().status(404).body(Full::default()),
    };
    Ok(response.unwrap())
}

/// Starts the server on its own thread; returns its base URL.
fn server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tx.send(base.clone()).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let base = base.clone();
                let service = hyper::service::service_fn(move |req| route(req, base.clone()));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
    });
    rx.recv().unwrap()
}

/// The hand-written floor: what a caller without the middleware writes for the same operation.
async fn hand_loop(client: &reqwest::Client, url: &str) -> Bytes {
    let first = client.put(url).body("{}").send().await.unwrap();
    assert_eq!(first.status(), 201);
    let monitor = first.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = first.bytes().await.unwrap();
    loop {
        tokio::time::sleep(WAIT).await;
        let poll = client.get(&monitor).send().await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&poll.bytes().await.unwrap()).unwrap();
        match body["status"].as_str() {
            Some("Succeeded") => break,
            Some("Failed" | "Canceled") => panic!("failed"),
            _ => continue,
        }
    }
    let last = client.get(url).send().await.unwrap();
    assert_eq!(last.status(), 200);
    last.bytes().await.unwrap()
}

/// The server, the client's runtime, the bare client and the same client with the middleware,
/// and the operation's and the echo's URLs.
struct Setup(
    tokio::runtime::Runtime,
    reqwest::Client,
    reqwest_middleware::ClientWithMiddleware,
    String,
    String,
);

fn setup() -> Setup {
    let base = server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let layer = LroLayer::builder()
        .schedule(PollSchedule::fixed(WAIT).unwrap())
        .build()
        .unwrap();
    let with_lro = ClientBuilder::new(plain.clone())
        .with(LroMiddleware::new(layer))
        .build();
    let (put, echo) = (format!("{base}/accounts/sa1"), format!("{base}/echo"));
    Setup(rt, plain, with_lro, put, echo)
}

/// An operation through the middleware: `PUT`, resolved to the final `200`.
async fn operation(client: &ClientWithMiddleware, put: &str) -> Bytes {
    let response = client.put(put).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap()
}

/// A `POST` that starts no operation, through the middleware.
async fn echo(client: &ClientWithMiddleware, url: &str) -> Bytes {
    let response = client.post(url).send().await.unwrap();
    response.bytes().await.unwrap()
}

/// The same `POST` through the bare client.
async fn echo_plain(client: &reqwest::Client, url: &str) -> Bytes {
    let response = client.post(url).send().await.unwrap();
    response.bytes().await.unwrap()
}

/// A short criterion group: the operation's wall time is mostly its 1 ms wait.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group
}

fn bench(c: &mut Criterion) {
    let Setup(rt, plain, with_lro, put, url) = setup();

    let mut g = group(c, "operation");
    g.bench_function("middleware", |b| {
        b.to_async(&rt).iter(|| operation(&with_lro, &put))
    });
    g.bench_function("hand_loop", |b| {
        b.to_async(&rt).iter(|| hand_loop(&plain, &put))
    });
    g.finish();

    let mut g = group(c, "pass_through");
    g.bench_function("middleware", |b| {
        b.to_async(&rt).iter(|| echo(&with_lro, &url))
    });
    g.bench_function("plain", |b| {
        b.to_async(&rt).iter(|| echo_plain(&plain, &url))
    });
    g.finish();
}

/// CPU time this thread has run, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `LRO_BENCH_CPU`: the client's CPU per operation, middleware vs loop, and per pass-through
/// request, middleware vs bare client; both sides of each ratio from one run.
fn cpu() {
    const BLOCK: u32 = 1_000;
    const ROUNDS: usize = 7;
    let Setup(rt, plain, with_lro, put, url) = setup();
    rt.block_on(async {
        // µs of this thread's CPU per call of `one`, over a block.
        async fn block<F: std::future::Future<Output = Bytes>>(one: impl Fn() -> F) -> f64 {
            let t0 = thread_cpu_ns();
            for _ in 0..BLOCK {
                std::hint::black_box(one().await);
            }
            (thread_cpu_ns() - t0) as f64 / 1e3 / f64::from(BLOCK)
        }
        let op_mw = || operation(&with_lro, &put);
        let op_loop = || hand_loop(&plain, &put);
        let pt_mw = || echo(&with_lro, &url);
        let pt_plain = || echo_plain(&plain, &url);
        // Warm the connection pool and the allocator.
        block(op_mw).await;
        block(op_loop).await;
        let (mut a, mut b, mut c, mut d) = (vec![], vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            // Alternate the order so drift on a shared machine hits both alike.
            if round % 2 == 0 {
                a.push(block(op_mw).await);
                b.push(block(op_loop).await);
                c.push(block(pt_mw).await);
                d.push(block(pt_plain).await);
            } else {
                b.push(block(op_loop).await);
                a.push(block(op_mw).await);
                d.push(block(pt_plain).await);
                c.push(block(pt_mw).await);
            }
        }
        let pairs = |x: &[f64], y: &[f64]| median(x.iter().zip(y).map(|(x, y)| x / y).collect());
        println!("| client CPU µs per request | middleware | by hand / bare | of medians | median of pairs |");
        println!("|---|---|---|---|---|");
        let (ma, mb, mc, md) = (median(a.clone()), median(b.clone()), median(c.clone()), median(d.clone()));
        println!(
            "| operation (PUT, 1 poll, final GET) | {ma:.1} | {mb:.1} | {:.3} | {:.3} |",
            ma / mb,
            pairs(&a, &b)
        );
        println!(
            "| pass-through POST | {mc:.1} | {md:.1} | {:.3} | {:.3} |",
            mc / md,
            pairs(&c, &d)
        );
    });
}

criterion_group!(benches, bench);

fn main() {
    if std::env::var_os("LRO_BENCH_CPU").is_some() {
        return cpu();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
