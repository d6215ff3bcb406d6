//! Micro benchmarks of the layer's own cost, against an instant in-memory service.
//!
//! `cargo bench --bench lro -- --warm-up-time 1 --measurement-time 3`
//!
//! - `pass_through`: requests that are not long-running operations, bare service vs `Lro<S>`.
//! - `resolve`: one whole operation (POST → 202 + Azure-AsyncOperation, three InProgress polls,
//!   Succeeded), the layer vs a hand-written minimal polling loop over the same service.
//! - `pieces`: single steps the layer takes per request or response, priced alone.
//!
//! Each group holds both sides so that their ratio comes from one run.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, Criterion};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::runtime::{Builder, Runtime};
use tower::{service_fn, BoxError, Layer, Service, ServiceExt};
use tower_lro::{LroLayer, PollSchedule};

const ORIGIN: &str = "https://management.azure.com";
const RESOURCE: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Foo/bars/b";
/// A resource as a synchronous PUT returns it: no `provisioningState`, so not an operation.
const PUT_BODY: &str = r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Foo/bars/b","name":"b","type":"Microsoft.Foo/bars","properties":{"size":3,"tier":"basic"}}"#;

/// Sends `iters` requests made by `make` through `svc`, reading every body to the end as a
/// caller would, and returns the time taken.
async fn drive<S, B>(svc: &mut S, iters: u64, make: impl Fn() -> Request<String>) -> Duration
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let start = Instant::now();
    for _ in 0..iters {
        let response = svc.ready().await.unwrap().call(make()).await.unwrap();
        black_box(response.into_body().collect().await.unwrap().to_bytes());
    }
    start.elapsed()
}

/// Answers at once: GET with a small text, PUT with a finished resource.
fn instant(req: Request<String>) -> Ready<Result<Response<String>, Infallible>> {
    let body = if req.method() == Method::PUT {
        PUT_BODY
    } else {
        "hello"
    };
    ready(Ok(Response::new(body.to_owned())))
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_time().build().unwrap()
}

fn pass_through(c: &mut Criterion) {
    let rt = current_thread();
    let bare = service_fn(instant);
    let layered = LroLayer::new().layer(bare);
    let get = || {
        Request::get(format!("{ORIGIN}{RESOURCE}"))
            .body(String::new())
            .unwrap()
    };
    let put = || {
        Request::put(format!("{ORIGIN}{RESOURCE}"))
            .body(PUT_BODY.to_owned())
            .unwrap()
    };

    let mut group = c.benchmark_group("pass_through");
    group.bench_function("get/bare", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| async move { drive(&mut bare.clone(), iters, get).await })
    });
    group.bench_function("get/layered", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let mut svc = layered.clone();
            async move { drive(&mut svc, iters, get).await }
        })
    });
    group.bench_function("put/bare", |b| {
        b.to_async(&rt)
            .iter_custom(|iters| async move { drive(&mut bare.clone(), iters, put).await })
    });
    group.bench_function("put/layered", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let mut svc = layered.clone();
            async move { drive(&mut svc, iters, put).await }
        })
    });
    group.finish();
}

/// An instant operation service: `POST /ops/{id}` starts operation `id`, whose status monitor
/// answers InProgress three times, then Succeeded.
#[derive(Clone, Default)]
struct Ops {
    polls: Arc<Mutex<HashMap<u64, u32>>>,
}

const IN_PROGRESS: u32 = 3;

impl Ops {
    fn handle(&self, req: &Request<String>) -> Response<String> {
        let path = req.uri().path();
        if let Some(id) = path.strip_prefix("/ops/") {
            self.polls.lock().unwrap().insert(id.parse().unwrap(), 0);
            return Response::builder()
                .status(StatusCode::ACCEPTED)
                .header("azure-asyncoperation", format!("{ORIGIN}/status/{id}"))
                .body(String::new())
                .unwrap();
        }
        let Some(id) = path.strip_prefix("/status/") else {
            return Response::builder().status(404).body(String::new()).unwrap();
        };
        let id: u64 = id.parse().unwrap();
        let mut polls = self.polls.lock().unwrap();
        let n = polls.entry(id).or_default();
        *n += 1;
        let body = if *n <= IN_PROGRESS {
            r#"{"status":"InProgress"}"#
        } else {
            polls.remove(&id);
            r#"{"status":"Succeeded"}"#
        };
        Response::new(body.to_owned())
    }

    fn service(
        self,
    ) -> impl Service<
        Request<String>,
        Response = Response<String>,
        Error = Infallible,
        Future = Ready<Result<Response<String>, Infallible>>,
    > + Clone {
        service_fn(move |req: Request<String>| ready(Ok(self.handle(&req))))
    }
}

/// The floor's view of a status monitor body.
#[derive(Deserialize)]
struct Status<'a> {
    status: &'a str,
}

/// The least a caller could write to resolve the same operation: same requests, every body
/// read, the same JSON parse, the same wait between polls.
async fn floor<S>(svc: &S, start: Request<String>, wait: Duration) -> Result<Bytes, BoxError>
where
    S: Service<Request<String>, Response = Response<String>> + Clone,
    S::Error: Into<BoxError>,
{
    let mut first = svc.clone();
    let ready = first.ready().await.map_err(Into::into)?;
    let response = ready.call(start).await.map_err(Into::into)?;
    let (head, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    if head.status != StatusCode::ACCEPTED {
        return Ok(body);
    }
    let monitor = head
        .headers
        .get("azure-asyncoperation")
        .ok_or("no monitor")?;
    let monitor = Uri::try_from(monitor.as_bytes())?;
    loop {
        tokio::time::sleep(wait).await;
        let mut poller = svc.clone();
        let ready = poller.ready().await.map_err(Into::into)?;
        let response = ready
            .call(Request::get(monitor.clone()).body(String::new())?)
            .await
            .map_err(Into::into)?;
        let body = response.into_body().collect().await?.to_bytes();
        match serde_json::from_slice::<Status<'_>>(&body)?.status {
            "Succeeded" => return Ok(body),
            "Failed" | "Canceled" => return Err("operation failed".into()),
            _ => {}
        }
    }
}

/// A paused-time runtime (the 1 ns waits auto-advance, so only CPU work is measured), the
/// wait, and a layer that polls after that wait.
fn resolve_setup() -> (Runtime, Duration, LroLayer) {
    let rt = Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let wait = Duration::from_nanos(1);
    let layer = LroLayer::builder()
        .schedule(PollSchedule::fixed(wait).unwrap())
        .build()
        .unwrap();
    (rt, wait, layer)
}

fn resolve(c: &mut Criterion) {
    let (rt, wait, layer) = resolve_setup();
    let service = Ops::default().service();
    let layered = layer.layer(service.clone());
    let next_id = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = move || {
        let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Request::post(format!("{ORIGIN}/ops/{id}"))
            .body(String::new())
            .unwrap()
    };

    let mut group = c.benchmark_group("resolve");
    group.bench_function("floor", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (service, start) = (service.clone(), start.clone());
            async move {
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(floor(&service, start(), wait).await.unwrap());
                }
                t.elapsed()
            }
        })
    });
    group.bench_function("layered", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (mut layered, start) = (layered.clone(), start.clone());
            async move {
                let t = Instant::now();
                for _ in 0..iters {
                    let svc = layered.ready().await.unwrap();
                    let response = svc.call(start()).await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    black_box(response.into_body().collect().await.unwrap().to_bytes());
                }
                t.elapsed()
            }
        })
    });
    group.finish();
}

/// Counts a JSON object's keys, reading them as `K`: shows what the key type costs.
struct CountKeys<K>(std::marker::PhantomData<K>);

impl<'de, K: Deserialize<'de>> serde::de::Visitor<'de> for CountKeys<K> {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while map.next_key::<K>()?.is_some() {
            map.next_value::<serde::de::IgnoredAny>()?;
            n += 1;
        }
        Ok(n)
    }
}

fn count_keys<'de, K: Deserialize<'de>>(json: &'de [u8]) -> usize {
    use serde::Deserializer;
    let mut de = serde_json::Deserializer::from_slice(json);
    de.deserialize_map(CountKeys::<K>(std::marker::PhantomData))
        .unwrap()
}

/// Pieces of work the layer does per request or per response, priced alone, to tell where
/// its time goes.
fn pieces(c: &mut Criterion) {
    let uri: Uri = format!("{ORIGIN}{RESOURCE}").parse().unwrap();
    let url = url::Url::parse(&uri.to_string()).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert(
        "x-ms-request-id",
        "0b7a5d1e-8d8b-4c8e-9e4f".parse().unwrap(),
    );
    headers.insert("date", "Tue, 01 Jul 2025 10:00:00 GMT".parse().unwrap());
    const NAMES: [&str; 3] = ["retry-after-ms", "x-ms-retry-after-ms", "retry-after"];
    let names = NAMES.map(http::HeaderName::from_static);

    let mut group = c.benchmark_group("pieces");
    // Target::from_request: the request URI re-parsed as a `url::Url`.
    group.bench_function("uri_to_url", |b| {
        b.iter(|| url::Url::parse(&black_box(&uri).to_string()).unwrap())
    });
    // Origin::of: owned, lowercased scheme and host.
    group.bench_function("origin_strings", |b| {
        b.iter(|| {
            let url = black_box(&url);
            (
                url.scheme().to_ascii_lowercase(),
                url.host_str().unwrap_or_default().to_ascii_lowercase(),
                url.port_or_known_default(),
            )
        })
    });
    // retry_after::hint: three lookups by `&str` (each parses the name) vs by `HeaderName`.
    group.bench_function("header_get/str", |b| {
        b.iter(|| NAMES.map(|n| black_box(&headers).get(n).is_some()))
    });
    group.bench_function("header_get/name", |b| {
        b.iter(|| {
            names
                .each_ref()
                .map(|n| black_box(&headers).get(n).is_some())
        })
    });
    // StatusDoc::parse reads keys as `Cow<str>`, which serde always makes owned.
    group.bench_function("json_keys/cow", |b| {
        b.iter(|| count_keys::<std::borrow::Cow<'_, str>>(black_box(PUT_BODY.as_bytes())))
    });
    group.bench_function("json_keys/borrowed", |b| {
        b.iter(|| count_keys::<&str>(black_box(PUT_BODY.as_bytes())))
    });
    group.finish();
}

criterion_group!(benches, pass_through, resolve, pieces);

/// `LRO_BENCH_COUNT=<what>:<n>` runs `n` of one side, untimed, for an instruction count:
/// `valgrind --tool=callgrind` at two `n` and the difference over their gap is the cost of one
/// (setup cancels). `<what>` is `get/bare`, `get/layered`, `resolve/floor` or `resolve/layered`.
fn count(spec: &str) {
    let (what, n) = spec.split_once(':').expect("LRO_BENCH_COUNT=<what>:<n>");
    let n: u64 = n.parse().expect("a count");
    let (rt, wait, layer) = resolve_setup();
    let service = Ops::default().service();
    let get = || {
        Request::get(format!("{ORIGIN}{RESOURCE}"))
            .body(String::new())
            .unwrap()
    };
    let mut id = 0u64;
    let mut start = move || {
        id += 1;
        Request::post(format!("{ORIGIN}/ops/{id}"))
            .body(String::new())
            .unwrap()
    };
    rt.block_on(async move {
        match what {
            "get/bare" => {
                black_box(drive(&mut service_fn(instant), n, get).await);
            }
            "get/layered" => {
                let mut layered = LroLayer::new().layer(service_fn(instant));
                black_box(drive(&mut layered, n, get).await);
            }
            "resolve/floor" => {
                for _ in 0..n {
                    black_box(floor(&service, start(), wait).await.unwrap());
                }
            }
            "resolve/layered" => {
                let mut layered = layer.layer(service.clone());
                for _ in 0..n {
                    let svc = layered.ready().await.unwrap();
                    let response = svc.call(start()).await.unwrap();
                    black_box(response.into_body().collect().await.unwrap().to_bytes());
                }
            }
            other => panic!("unknown LRO_BENCH_COUNT side {other:?}"),
        }
    });
}

fn main() {
    if let Ok(spec) = std::env::var("LRO_BENCH_COUNT") {
        return count(&spec);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
