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
