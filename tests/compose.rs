//! `LroLayer` composed with tower and tower-http middleware, over hyper-util's legacy client,
//! against loopback hyper servers with real timers. Layers below `LroLayer` must see every poll;
//! a `Timeout` above it bounds the whole operation. Waits are a few milliseconds.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{json, Value};
use support::*;
use tower::buffer::Buffer;
use tower::retry::{Policy, RetryLayer};
use tower::timeout::error::Elapsed;
use tower::util::{BoxCloneSyncService, MapRequestLayer};
use tower::{BoxError, Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::follow_redirect::policy::SameOrigin;
use tower_http::follow_redirect::FollowRedirectLayer;
use tower_http::trace::TraceLayer;
use tower_lro::{ErrorKind, LroBody, LroLayer};

// ---------------------------------------------------------------------------------------------
// The server script most tests share, and the request that starts it.

fn resource(state: &str) -> Value {
    json!({"name": "t1", "properties": {"provisioningState": state}})
}

/// The common script: `PUT /things/{id}` answers 202 + Azure-AsyncOperation `/ops/{id}`, which
/// says InProgress twice, then Succeeded; the final GET of `/things/{id}` answers the resource.
/// Five requests in all.
fn operation(hit: &Hit) -> Answer {
    if let Some(id) = hit.path.strip_prefix("/things/") {
        return match hit.method.as_str() {
            "PUT" => at(202)
                .header("azure-asyncoperation", hit.url(&format!("/ops/{id}")))
                .header("retry-after-ms", "5")
                .empty(),
            "GET" => at(200).json(resource("Succeeded")),
            _ => not_found(hit),
        };
    }
    if hit.method == "GET" && hit.path.starts_with("/ops/") {
        let word = if hit.n < 2 { "InProgress" } else { "Succeeded" };
        return at(200)
            .header("retry-after-ms", "5")
            .json(json!({"status": word}));
    }
    not_found(hit)
}

fn put(url: &str) -> Request<Full<Bytes>> {
    Request::put(url)
        .header("content-type", "application/json")
        .body(Full::from(r#"{"properties":{}}"#))
        .unwrap()
}

/// The five requests of [`operation`] for `id`.
fn operation_lines(id: &str) -> Vec<String> {
    let mut lines = vec![format!("PUT /things/{id}")];
    lines.extend((0..3).map(|_| format!("GET /ops/{id}")));
    lines.push(format!("GET /things/{id}"));
    lines
}

// ---------------------------------------------------------------------------------------------
// buffer

/// A client that cannot be cloned, as some hand-written transports are.
struct Unclonable(HttpClient);

impl Service<Request<Full<Bytes>>> for Unclonable {
    type Response = Response<Incoming>;
    type Error = hyper_util::client::legacy::Error;
    type Future = <HttpClient as Service<Request<Full<Bytes>>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        self.0.call(req)
    }
}

#[tokio::test]
async fn buffer_makes_a_non_clone_service_pollable() {
    let server = TestServer::start(operation).await;
    // `Lro` needs a clone of its inner service per poll; `Buffer` is the cloneable handle.
    let service = fast()
        .build()
        .unwrap()
        .layer(Buffer::new(Unclonable(http_client()), 8));

    // Three operations at once share the one worker behind the buffer.
    let calls = ["a", "b", "c"].map(|id| {
        service
            .clone()
            .oneshot(put(&server.url(&format!("/things/{id}"))))
    });
    for response in futures::future::join_all(calls).await {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(info_of(&response).polls(), 3);
        assert_eq!(json_body(response).await, resource("Succeeded"));
    }
    let lines = server.lines();
    for id in ["a", "b", "c"] {
        let mine: Vec<_> = lines
            .iter()
            .filter(|l| l.ends_with(&format!("/{id}")))
            .cloned()
            .collect();
        assert_eq!(mine, operation_lines(id));
    }
}

// ---------------------------------------------------------------------------------------------
// timeout

#[tokio::test]
async fn timeout_above_bounds_the_whole_operation() {
    // Every poll is quick, but the operation never ends.
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/things/t1") {
            at(202)
                .header("azure-asyncoperation", hit.url("/ops/t1"))
                .empty()
        } else if hit.is("GET", "/ops/t1") {
            at(200).json(json!({"status": "InProgress"}))
        } else {
            not_found(hit)
        }
    })
    .await;
    let service = ServiceBuilder::new()
        .timeout(Duration::from_millis(150))
        .layer(fast().build().unwrap())
        .service(http_client());

    let started = std::time::Instant::now();
    let error = service
        .oneshot(put(&server.url("/things/t1")))
        .await
        .expect_err("the operation outlives the timeout");
    assert!(error.is::<Elapsed>(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Several polls fit in the budget; once it is spent, polling stops. A poll already on the
    // wire when the future was dropped may still land: count after it could have.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let polls = server.hits().len() - 1;
    assert!(polls >= 3, "{polls} polls");
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(server.hits().len() - 1, polls, "no poll after the timeout");
}

#[tokio::test]
async fn timeout_below_applies_to_each_request() {
    let server = TestServer::start(|hit| {
        match (hit.method.as_str(), hit.path.as_str()) {
            // Eight quick polls, 20 ms apart: ~160 ms in all, longer than the 100 ms timeout.
            ("PUT", "/things/long") => at(202)
                .header("azure-asyncoperation", hit.url("/ops/long"))
                .header("retry-after-ms", "20")
                .empty(),
            ("GET", "/ops/long") => {
                let word = if hit.n < 7 { "Running" } else { "Succeeded" };
                at(200)
                    .header("retry-after-ms", "20")
                    .json(json!({"status": word}))
            }
            ("GET", "/things/long") => at(200).json(resource("Succeeded")),
            // The second poll stalls past the timeout.
            ("PUT", "/things/stall") => at(202)
                .header("azure-asyncoperation", hit.url("/ops/stall"))
                .empty(),
            ("GET", "/ops/stall") => {
                let running = at(200).json(json!({"status": "Running"}));
                if hit.n == 1 {
                    running.after(Duration::from_secs(2))
                } else {
                    running
                }
            }
            // The original request itself stalls.
            ("PUT", "/things/slow") => at(202).empty().after(Duration::from_secs(2)),
            _ => not_found(hit),
        }
    })
    .await;
    let service = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .timeout(Duration::from_millis(100))
        .service(http_client());

    let response = service
        .clone()
        .oneshot(put(&server.url("/things/long")))
        .await
        .expect("each request is within the timeout");
    let info = info_of(&response);
    assert_eq!(info.polls(), 8);
    assert!(
        info.total_wait() >= Duration::from_millis(160),
        "{:?}",
        info.total_wait()
    );

    // A stalled poll is the operation's `PollFailed`, with the timeout as its source.
    let error = lro_error(
        service
            .clone()
            .oneshot(put(&server.url("/things/stall")))
            .await,
    );
    assert_eq!(error.kind(), ErrorKind::PollFailed);
    assert_eq!(error.polls(), 2);
    let source = std::error::Error::source(&*error).expect("the inner error is kept");
    assert!(source.is::<Elapsed>(), "{source}");
    assert!(
        error.elapsed() < Duration::from_secs(1),
        "{:?}",
        error.elapsed()
    );

    // Before any operation exists, the timeout's error passes through unchanged.
    let error = service
        .oneshot(put(&server.url("/things/slow")))
        .await
        .expect_err("the original request times out");
    assert!(error.is::<Elapsed>(), "{error}");
}

// ---------------------------------------------------------------------------------------------
// retry

/// Retries a 503 answer up to `left` more times per request.
#[derive(Clone)]
struct Retry503 {
    left: u32,
}

impl<B, E> Policy<Request<Full<Bytes>>, Response<B>, E> for Retry503 {
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        _req: &mut Request<Full<Bytes>>,
        result: &mut Result<Response<B>, E>,
    ) -> Option<Self::Future> {
        match result {
            Ok(response)
                if response.status() == StatusCode::SERVICE_UNAVAILABLE && self.left > 0 =>
            {
                self.left -= 1;
                Some(std::future::ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &Request<Full<Bytes>>) -> Option<Request<Full<Bytes>>> {
        let mut clone = Request::new(req.body().clone());
        *clone.method_mut() = req.method().clone();
        *clone.uri_mut() = req.uri().clone();
        *clone.version_mut() = req.version();
        *clone.headers_mut() = req.headers().clone();
        *clone.extensions_mut() = req.extensions().clone();
        Some(clone)
    }
}

#[tokio::test]
async fn retry_below_with_layer_retries_off_counts_attempts_exactly() {
    let server = TestServer::start(|hit| {
        let unavailable = || at(503).empty();
        match (hit.method.as_str(), hit.path.as_str(), hit.n) {
            ("PUT", "/things/r1", 0) => unavailable(),
            ("PUT", "/things/r1", _) => at(202)
                .header("azure-asyncoperation", hit.url("/ops/r1"))
                .header("retry-after-ms", "5")
                .empty(),
            // Poll 1: 503, 503, InProgress. Poll 2: 503, Succeeded.
            ("GET", "/ops/r1", 0 | 1 | 3) => unavailable(),
            ("GET", "/ops/r1", 2) => at(200).json(json!({"status": "InProgress"})),
            ("GET", "/ops/r1", _) => at(200).json(json!({"status": "Succeeded"})),
            ("GET", "/things/r1", 0) => unavailable(),
            ("GET", "/things/r1", _) => at(200).json(resource("Succeeded")),
            // Never available.
            ("PUT", "/things/down", _) => at(202)
                .header("azure-asyncoperation", hit.url("/ops/down"))
                .empty(),
            ("GET", "/ops/down", _) => unavailable(),
            _ => not_found(hit),
        }
    })
    .await;
    let retry = RetryLayer::new(Retry503 { left: 2 });
    let service = ServiceBuilder::new()
        .layer(fast().max_transient_retries(0).build().unwrap())
        .layer(retry.clone())
        .service(http_client());

    let response = service
        .clone()
        .oneshot(put(&server.url("/things/r1")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    // The layer sent two polls; the retries below are invisible to it.
    assert_eq!((info.polls(), info.transient_retries()), (2, 0));
    assert_eq!(
        server.lines(),
        [
            "PUT /things/r1",
            "PUT /things/r1",
            "GET /ops/r1",
            "GET /ops/r1",
            "GET /ops/r1",
            "GET /ops/r1",
            "GET /ops/r1",
            "GET /things/r1",
            "GET /things/r1",
        ]
    );

    // Once the retry layer gives up, the layer does not retry on top: 1 + 2 attempts, then
    // `PollFailed` with the 503.
    let error = lro_error(service.oneshot(put(&server.url("/things/down"))).await);
    assert_eq!(error.kind(), ErrorKind::PollFailed);
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(error.polls(), 1);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let count = |path: &str| server.hits().iter().filter(|h| h.path == path).count();
    assert_eq!(count("/ops/down"), 3);

    // Leaving the layer's own retries on multiplies attempts: (1 + 3) × (1 + 2).
    let both = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .layer(retry)
        .service(http_client());
    let error = lro_error(both.oneshot(put(&server.url("/things/down"))).await);
    assert_eq!(error.kind(), ErrorKind::PollFailed);
    assert_eq!(count("/ops/down"), 3 + 12);
}

// ---------------------------------------------------------------------------------------------
// tower-http trace and follow-redirect

#[tokio::test]
async fn trace_below_makes_a_span_for_every_poll() {
    let server = TestServer::start(operation).await;
    let spans: Arc<Mutex<Vec<String>>> = Arc::default();
    let responses = Arc::new(AtomicUsize::new(0));
    let (seen, answered) = (spans.clone(), responses.clone());
    let trace = TraceLayer::new_for_http()
        .make_span_with(move |req: &Request<Full<Bytes>>| {
            seen.lock()
                .unwrap()
                .push(format!("{} {}", req.method(), req.uri().path()));
            tracing::debug_span!("request", method = %req.method(), uri = %req.uri())
        })
        .on_response(
            move |_: &Response<Incoming>, _: Duration, _: &tracing::Span| {
                answered.fetch_add(1, Ordering::SeqCst);
            },
        );
    let service = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .layer(trace)
        .service(http_client());

    let response = service
        .oneshot(put(&server.url("/things/t1")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(info_of(&response).polls(), 3);
    assert_eq!(json_body(response).await, resource("Succeeded"));

    assert_eq!(*spans.lock().unwrap(), operation_lines("t1"));
    assert_eq!(responses.load(Ordering::SeqCst), 5);
    assert_eq!(server.lines(), operation_lines("t1"));
}

/// A monitor URL that answers `307` to the real monitor, as some gateways do.
fn redirected_operation(hit: &Hit, target: &str) -> Answer {
    match (hit.method.as_str(), hit.path.as_str()) {
        ("PUT", "/things/t1") => at(202)
            .header("azure-asyncoperation", hit.url("/monitor/t1"))
            .header("retry-after-ms", "5")
            .empty(),
        ("GET", "/monitor/t1") => at(307).header("location", target).empty(),
        ("GET", "/ops/t1") => {
            let word = if hit.n < 1 { "InProgress" } else { "Succeeded" };
            at(200).json(json!({"status": word}))
        }
        ("GET", "/things/t1") => at(200).json(resource("Succeeded")),
        _ => not_found(hit),
    }
}

#[tokio::test]
async fn follow_redirect_below_follows_a_monitor_redirect_on_the_same_origin() {
    let server = TestServer::start(|hit| redirected_operation(hit, "/ops/t1")).await;
    let service = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .layer(FollowRedirectLayer::new())
        .service(http_client());

    let response = service
        .oneshot(put(&server.url("/things/t1")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    // The layer knows the URL it asked for; the redirect happened below it.
    assert_eq!(info.monitor_url().to_string(), server.url("/monitor/t1"));
    assert_eq!(info.polls(), 2);
    assert_eq!(json_body(response).await, resource("Succeeded"));
    assert_eq!(
        server.lines(),
        [
            "PUT /things/t1",
            "GET /monitor/t1",
            "GET /ops/t1",
            "GET /monitor/t1",
            "GET /ops/t1",
            "GET /things/t1",
        ]
    );
}

#[tokio::test]
async fn follow_redirect_with_same_origin_policy_keeps_polls_on_the_origin() {
    // The layer's origin rule cannot see redirects followed below it: `SameOrigin` keeps them
    // on the original request's origin, and the layer sees the 307 itself.
    let elsewhere = TestServer::start_on("127.0.0.2", |_| at(200).empty()).await;
    let target = elsewhere.url("/ops/t1");
    let server = TestServer::start(move |hit| redirected_operation(hit, &target)).await;
    let service = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .layer(FollowRedirectLayer::with_policy(SameOrigin::new()))
        .service(http_client());

    let error = lro_error(service.oneshot(put(&server.url("/things/t1"))).await);
    assert_eq!(error.kind(), ErrorKind::PollFailed);
    assert_eq!(error.status(), Some(StatusCode::TEMPORARY_REDIRECT));
    assert_eq!(server.lines(), ["PUT /things/t1", "GET /monitor/t1"]);
    assert_eq!(elsewhere.hits().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// authentication

const BEARER: &str = "Bearer test-token";

/// The auth layer of a client: adds the bearer token to every request it sends.
fn bearer_auth<B>() -> MapRequestLayer<impl Fn(Request<B>) -> Request<B> + Clone + Send + Sync> {
    MapRequestLayer::new(|mut req: Request<B>| {
        req.headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_static(BEARER));
        req
    })
}

#[tokio::test]
async fn auth_below_signs_every_poll_and_nothing_reaches_a_refused_origin() {
    let elsewhere = elsewhere().await;
    let foreign = elsewhere.url("/ops/x");
    let server = TestServer::start(move |hit| {
        if hit.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes) != Some(BEARER.as_bytes()) {
            return at(401).json(json!({"error": {"code": "Unauthorized"}}));
        }
        match (hit.method.as_str(), hit.path.as_str()) {
            // A monitor on another origin.
            ("PUT", "/things/away") => at(202)
                .header("azure-asyncoperation", foreign.as_str())
                .empty(),
            // A same-origin monitor whose result is on another origin.
            ("POST", "/things/export") => at(202)
                .header("azure-asyncoperation", hit.url("/ops/export"))
                .header("location", foreign.as_str())
                .header("retry-after-ms", "5")
                .empty(),
            ("GET", "/ops/export") => at(200).json(json!({"status": "Succeeded"})),
            _ => operation(hit),
        }
    })
    .await;
    let service = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .layer(bearer_auth())
        .service(http_client());

    // The caller sets no credentials: the layer below adds them to each poll.
    let response = service
        .clone()
        .oneshot(put(&server.url("/things/t1")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(info_of(&response).polls(), 3);
    assert_eq!(server.lines(), operation_lines("t1"));
    assert!(server
        .hits()
        .iter()
        .all(|h| h.headers.get(AUTHORIZATION).is_some_and(|v| v == BEARER)));

    let error = lro_error(
        service
            .clone()
            .oneshot(put(&server.url("/things/away")))
            .await,
    );
    assert_eq!(error.kind(), ErrorKind::CrossOriginPollingUrl);

    let post = Request::post(server.url("/things/export"))
        .body(Full::default())
        .unwrap();
    let error = lro_error(service.oneshot(post).await);
    assert_eq!(error.kind(), ErrorKind::CrossOriginPollingUrl);

    // Nothing was sent to the refused origin.
    assert_untouched(&elsewhere, Duration::from_millis(30)).await;
}

// ---------------------------------------------------------------------------------------------
// type erasure

type BoxedClient = BoxCloneSyncService<Request<Full<Bytes>>, Response<LroBody<Incoming>>, BoxError>;

#[tokio::test]
async fn box_clone_sync_service_resolves_an_operation() {
    let server = TestServer::start(operation).await;

    // The whole stack boxed, as a generated SDK client holds its transport.
    let boxed: BoxedClient = ServiceBuilder::new()
        .boxed_clone_sync()
        .layer(LroLayer::new())
        .layer(bearer_auth())
        .service(http_client());
    // The layer over an already boxed transport.
    let over_boxed: BoxedClient = BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(LroLayer::new())
            .boxed_clone_sync()
            .map_err(BoxError::from)
            .service(http_client()),
    );

    for (service, id) in [(boxed, "b1"), (over_boxed, "b2")] {
        // Clones of the boxed service run on other tasks.
        let url = server.url(&format!("/things/{id}"));
        let response = tokio::spawn(service.clone().oneshot(put(&url)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(info_of(&response).polls(), 3);
        assert_eq!(json_body(response).await, resource("Succeeded"));
    }
    let lines = server.lines();
    assert_eq!(lines[..5], operation_lines("b1"));
    assert_eq!(lines[5..], operation_lines("b2"));
}

/// Behaviour §8.7: a status endpoint that redirects to its result. With `FollowRedirect` above the
/// layer (its recommended place), the layer sees the 303 itself: it is the operation's end, its
/// target the result, fetched through the origin rule.
#[tokio::test]
async fn follow_redirect_above_the_layer_leaves_the_status_redirect_to_it() {
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/jobs") => at(202).header("location", "/status/1").empty(),
        ("GET", "/status/1") if hit.n == 0 => at(202).header("retry-after-ms", "5").empty(),
        ("GET", "/status/1") => at(303).header("location", "/results/1").empty(),
        ("GET", "/results/1") => at(200).json(json!({"answer": 42})),
        _ => not_found(hit),
    })
    .await;
    let service = ServiceBuilder::new()
        .layer(FollowRedirectLayer::new())
        .layer(fast().build().unwrap())
        .service(http_client());
    let post = Request::post(server.url("/jobs"))
        .body(Full::default())
        .unwrap();
    let response = service.oneshot(post).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await, json!({"answer": 42}));
    assert_eq!(
        server.lines(),
        [
            "POST /jobs",
            "GET /status/1",
            "GET /status/1",
            "GET /results/1"
        ]
    );
}
