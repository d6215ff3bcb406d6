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

use std::convert::Infallible;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use reqwest_middleware::ClientBuilder;
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

fn bench(c: &mut Criterion) {
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
    let put = format!("{base}/accounts/sa1");
    let echo = format!("{base}/echo");

    let mut group = c.benchmark_group("operation");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("middleware", |b| {
        b.to_async(&rt).iter(|| async {
            let response = with_lro.put(&put).body("{}").send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap()
        })
    });
    group.bench_function("hand_loop", |b| {
        b.to_async(&rt).iter(|| hand_loop(&plain, &put))
    });
    group.finish();

    let mut group = c.benchmark_group("pass_through");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("middleware", |b| {
        b.to_async(&rt).iter(|| async {
            let response = with_lro.post(&echo).send().await.unwrap();
            response.bytes().await.unwrap()
        })
    });
    group.bench_function("plain", |b| {
        b.to_async(&rt).iter(|| async {
            let response = plain.post(&echo).send().await.unwrap();
            response.bytes().await.unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
