//! A request that cannot start an operation allocates nothing in the layer: the README's
//! "no snapshot, no allocation" for pass-through, counted by this binary's own allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::future::{ready, Ready};

use futures::FutureExt;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use tower::{service_fn, Layer, Service};
use tower_lro::LroLayer;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards to the system allocator; only counts calls (per thread, so other test
// threads do not disturb the count).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn answer(_: Request<String>) -> Ready<Result<Response<String>, Infallible>> {
    ready(Ok(Response::new(String::new())))
}

/// Allocations made by one call through `svc`, its response future and its (empty) body.
fn count<S, B>(svc: &mut S, method: Method) -> u64
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    let req = Request::builder()
        .method(method)
        .uri("https://management.azure.com/subscriptions/s/resourceGroups/rg")
        .body(String::new())
        .unwrap();
    let before = allocations();
    let response = svc.call(req).now_or_never().unwrap().unwrap();
    let mut body = response.into_body();
    while let Some(frame) = body.frame().now_or_never().unwrap() {
        frame.unwrap();
    }
    allocations() - before
}

#[test]
fn a_request_that_cannot_start_an_operation_allocates_nothing_in_the_layer() {
    let mut bare = service_fn(answer);
    let mut layered = LroLayer::new().layer(service_fn(answer));
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        // Warm up once: thread-locals and the like allocate on first use.
        count(&mut bare, method.clone());
        count(&mut layered, method.clone());
        let (b, l) = (
            count(&mut bare, method.clone()),
            count(&mut layered, method.clone()),
        );
        assert_eq!(
            l,
            b,
            "{method}: the layer allocated {} more",
            l.saturating_sub(b)
        );
    }
    // The count sees the layer's work: a PUT, which may start an operation, allocates.
    let (b, l) = (
        count(&mut bare, Method::PUT),
        count(&mut layered, Method::PUT),
    );
    assert!(l > b, "PUT: {l} vs {b}");
}

/// The instant operation service: `POST` → 202 + Azure-AsyncOperation; the monitor answers
/// InProgress three times, then Succeeded.
fn operation(
    polls: std::rc::Rc<Cell<u32>>,
) -> impl Service<
    Request<String>,
    Response = Response<String>,
    Error = Infallible,
    Future = Ready<Result<Response<String>, Infallible>>,
> + Clone {
    service_fn(move |req: Request<String>| {
        let response = if req.method() == Method::POST {
            polls.set(0);
            Response::builder()
                .status(202)
                .header(
                    "azure-asyncoperation",
                    "https://management.azure.com/operations/1",
                )
                .body(String::new())
        } else {
            polls.set(polls.get() + 1);
            let word = if polls.get() <= 3 {
                "InProgress"
            } else {
                "Succeeded"
            };
            Response::builder().body(format!(r#"{{"status":"{word}"}}"#))
        };
        ready(Ok(response.unwrap()))
    })
}

/// A whole operation (POST, four polls) allocates within a budget: what the layer and this
/// service need today, 33 blocks (39 before the body was read in place and the result stopped
/// copying its status word and first headers; BENCHMARKS.md, 2026-12-08). A box per body read,
/// a copied status word or the first headers copied twice would each break it.
#[test]
fn a_whole_operation_allocates_within_its_budget() {
    use std::time::Duration;
    use tower::ServiceExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let layer = LroLayer::builder()
        .schedule(tower_lro::PollSchedule::fixed(Duration::from_millis(1)).unwrap())
        .build()
        .unwrap();
    let svc = layer.layer(operation(std::rc::Rc::default()));
    let run = |svc: tower_lro::Lro<_>| {
        rt.block_on(async move {
            let req = Request::post("https://management.azure.com/subscriptions/s/things/t")
                .body(String::new())
                .unwrap();
            let before = allocations();
            let response = svc.oneshot(req).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], br#"{"status":"Succeeded"}"#);
            allocations() - before
        })
    };
    // Warm up once: the runtime's timer and thread-locals allocate on first use.
    run(svc.clone());
    let used = run(svc);
    assert!(
        used <= BUDGET,
        "one operation allocated {used} times (budget {BUDGET})"
    );
}

const BUDGET: u64 = 33;
