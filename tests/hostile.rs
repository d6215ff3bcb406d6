//! Hostile servers: malformed monitor headers and status bodies, absurd sizes, bodies that never
//! end, and transport failures while polling. Each gives a typed error (or the right result),
//! never a panic, a hang or unbounded memory. Every test runs under a time limit.

mod support;

use std::error::Error as _;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http::header::HeaderValue;
use http::{Method, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use support::*;
use tower::{BoxError, Layer, ServiceBuilder, ServiceExt};
use tower_lro::{ErrorKind, LroInfo, LroLayerBuilder, LroOptions, OnProgress};

/// Fails the test instead of hanging it.
async fn bounded<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("the test hung")
}

/// Starts a server where `POST /jobs/j1` answers 202 with the monitor headers `initial` gives
/// (raw bytes, repeats allowed) and `GET /operations/*` answers with `poll`.
async fn job_server(
    initial: impl Fn(&Hit) -> Vec<(&'static str, Vec<u8>)> + Send + Sync + 'static,
    poll: impl Fn(&Hit) -> Answer + Send + Sync + 'static,
) -> TestServer {
    TestServer::start(move |hit| {
        if hit.is("POST", "/jobs/j1") {
            let mut response = at(202);
            for (name, value) in initial(hit) {
                let value = HeaderValue::from_bytes(&value).expect("a legal header value");
                response = response.header(name, value);
            }
            response.empty()
        } else if hit.method == "GET" && hit.path.starts_with("/operations/") {
            poll(hit)
        } else {
            not_found(hit)
        }
    })
    .await
}

async fn post_job(
    server: &TestServer,
    layer: LroLayerBuilder,
    options: Option<LroOptions>,
) -> Result<ClientResponse, BoxError> {
    let mut post = request(Method::POST, &server.url("/jobs/j1"))
        .body(Full::default())
        .unwrap();
    if let Some(options) = options {
        post.extensions_mut().insert(options);
    }
    let client = layer.build().unwrap().layer(http_client());
    bounded(Duration::from_secs(10), client.oneshot(post)).await
}

fn succeeded(_: &Hit) -> Answer {
    at(200).json(json!({"status": "Succeeded"}))
}

// ---------------------------------------------------------------------------------------------
// Monitor header values.

/// Values no monitor header may be followed to: each is refused before anything is sent.
fn unusable_values(base: &str) -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "",
        "   ",
        "ftp://127.0.0.1/operations/1",
        "javascript:alert(1)",
        "mailto:ops@example.net",
        "data:text/plain,Succeeded",
        "http://[::1",
        "http://",
        "http:// /operations/1",
    ]
    .iter()
    .map(|v| v.as_bytes().to_vec())
    .collect();
    // Not UTF-8: legal on the wire as obs-text, never a URL.
    let mut latin1 = format!("{base}/operations/caf").into_bytes();
    latin1.push(0xE9);
    values.push(latin1);
    values.push(b"\xff\xfe\xfd".to_vec());
    values
}

#[tokio::test]
async fn unusable_monitor_values_are_invalid_polling_url() {
    for header in ["azure-asyncoperation", "operation-location", "location"] {
        let probe = TestServer::start(not_found).await;
        for value in unusable_values(&probe.base) {
            let sent = value.clone();
            let server = job_server(move |_| vec![(header, sent.clone())], succeeded).await;
            let err = lro_error(post_job(&server, fast(), None).await);
            let shown = String::from_utf8_lossy(&value);
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidPollingUrl,
                "{header}: {shown:?}: {err}"
            );
            assert_eq!(err.polls(), 0, "{header}: {shown:?}");
            assert_eq!(err.status(), Some(StatusCode::ACCEPTED));
            assert_eq!(server.lines(), ["POST /jobs/j1"], "{header}: {shown:?}");
        }
    }
}

#[tokio::test]
async fn a_duplicated_monitor_header_skips_the_unusable_value() {
    for first in [
        b"ftp://127.0.0.1/operations/bad".to_vec(),
        b"\xff\xfe".to_vec(),
    ] {
        let server = job_server(
            move |hit| {
                vec![
                    ("azure-asyncoperation", first.clone()),
                    (
                        "azure-asyncoperation",
                        hit.url("/operations/good").into_bytes(),
                    ),
                ]
            },
            succeeded,
        )
        .await;
        let response = post_job(&server, fast(), None).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let info = response.extensions().get::<LroInfo>().unwrap();
        assert_eq!(
            info.monitor_url().to_string(),
            server.url("/operations/good")
        );
        assert_eq!(server.lines(), ["POST /jobs/j1", "GET /operations/good"]);
    }
}

#[tokio::test]
async fn an_unusable_async_operation_falls_back_to_operation_location() {
    let server = job_server(
        |hit| {
            vec![
                ("azure-asyncoperation", b"http://[::1".to_vec()),
                ("operation-location", hit.url("/operations/ol").into_bytes()),
            ]
        },
        succeeded,
    )
    .await;
    let response = post_job(&server, fast(), None).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.lines(), ["POST /jobs/j1", "GET /operations/ol"]);
}

#[tokio::test]
async fn an_unusable_location_beside_a_monitor_does_not_fail_a_put() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/vaults/v1") {
            at(201)
                .header("azure-asyncoperation", hit.url("/operations/op1"))
                .header("location", "http://[::1")
                .empty()
        } else if hit.is("GET", "/operations/op1") {
            at(200).json(json!({"status": "Succeeded"}))
        } else if hit.is("GET", "/vaults/v1") {
            at(200).json(json!({"name": "v1"}))
        } else {
            not_found(hit)
        }
    })
    .await;
    let put = request(Method::PUT, &server.url("/vaults/v1"))
        .body(Full::from("{}"))
        .unwrap();
    let client = fast().build().unwrap().layer(http_client());
    let response = bounded(Duration::from_secs(10), client.oneshot(put))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_of(response).await, r#"{"name":"v1"}"#);
}

#[tokio::test]
async fn relative_and_protocol_relative_monitors_resolve_against_the_original_url() {
    let server = TestServer::start(|hit| {
        if hit.method == "POST" {
            let monitor = match hit.path.as_str() {
                "/subscriptions/s/jobs/abs" => "/operations/1".to_owned(),
                "/subscriptions/s/jobs/rel" => "operations/2".to_owned(),
                "/subscriptions/s/jobs/proto" => {
                    format!("//{}/operations/3", hit.base.trim_start_matches("http://"))
                }
                _ => return not_found(hit),
            };
            at(202).header("operation-location", monitor).empty()
        } else if hit.method == "GET" {
            at(200).json(json!({"status": "Succeeded"}))
        } else {
            not_found(hit)
        }
    })
    .await;
    let client = fast().build().unwrap().layer(http_client());
    for (job, polled) in [
        ("abs", "/operations/1"),
        ("rel", "/subscriptions/s/jobs/operations/2"),
        ("proto", "/operations/3"),
    ] {
        let post = request(
            Method::POST,
            &server.url(&format!("/subscriptions/s/jobs/{job}")),
        )
        .body(Full::default())
        .unwrap();
        let response = bounded(Duration::from_secs(10), client.clone().oneshot(post))
            .await
            .unwrap_or_else(|e| panic!("{job}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "{job}");
        let info = response.extensions().get::<LroInfo>().unwrap();
        assert_eq!(info.monitor_url().to_string(), server.url(polled), "{job}");
        assert_eq!(
            server.lines().last().map(String::as_str),
            Some(format!("GET {polled}").as_str())
        );
    }
}

#[tokio::test]
async fn a_4_kib_monitor_url_works_end_to_end() {
    let path = format!("/operations/{}", "a".repeat(4096));
    let expected = path.clone();
    let server = job_server(
        move |hit| vec![("azure-asyncoperation", hit.url(&path).into_bytes())],
        succeeded,
    )
    .await;
    let response = post_job(&server, fast(), None).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].target, expected);
}

#[tokio::test]
async fn a_100_kb_monitor_url_is_invalid_polling_url() {
    let path = format!("/operations/{}", "a".repeat(100 * 1024));
    let server = job_server(
        move |hit| vec![("azure-asyncoperation", hit.url(&path).into_bytes())],
        succeeded,
    )
    .await;
    let err = lro_error(post_job(&server, fast(), None).await);
    assert_eq!(err.kind(), ErrorKind::InvalidPollingUrl, "{err}");
    assert_eq!(err.polls(), 0);
    assert_eq!(server.lines(), ["POST /jobs/j1"]);
}

// ---------------------------------------------------------------------------------------------
// Status-monitor bodies.

async fn monitor_body_result(status: u16, body: Bytes) -> Result<ClientResponse, BoxError> {
    let server = job_server(
        |hit| {
            vec![(
                "azure-asyncoperation",
                hit.url("/operations/j1").into_bytes(),
            )]
        },
        move |_| at(status).bytes(body.clone()),
    )
    .await;
    post_job(&server, fast(), None).await
}

#[tokio::test]
async fn status_bodies_that_are_not_json_are_invalid_status_body() {
    let cases: Vec<(&str, Bytes)> = vec![
        ("truncated", Bytes::from_static(br#"{"status": "Succ"#)),
        (
            "html",
            Bytes::from_static(b"<html><body>Succeeded</body></html>"),
        ),
        ("plain word", Bytes::from_static(b"Succeeded")),
        (
            "trailing garbage",
            Bytes::from_static(br#"{"status": "Succeeded"} x"#),
        ),
        ("unclosed nesting", Bytes::from(vec![b'['; 100_000])),
    ];
    for (name, body) in cases {
        let err = lro_error(monitor_body_result(200, body.clone()).await);
        assert_eq!(err.kind(), ErrorKind::InvalidStatusBody, "{name}: {err}");
        assert_eq!(err.status(), Some(StatusCode::OK), "{name}");
        assert_eq!(err.body(), &body[..], "{name}: the body is kept");
        assert!(err.monitor_url().is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_status_body_with_invalid_utf8_is_invalid_status_body() {
    // JSON text is UTF-8 (RFC 8259 §8.1): this body is not JSON, whatever its shape.
    let mut body = br#"{"status": "Succeeded"#.to_vec();
    body.extend_from_slice(b"\xff\"}");
    let err = lro_error(monitor_body_result(200, Bytes::from(body.clone())).await);
    assert_eq!(err.kind(), ErrorKind::InvalidStatusBody, "{err}");
    assert_eq!(err.body(), &body[..]);
}

#[tokio::test]
async fn status_bodies_without_a_string_status_are_missing_status() {
    let cases: Vec<(&str, u16, &'static str)> = vec![
        ("empty", 200, ""),
        ("whitespace", 200, " \r\n "),
        ("empty object", 200, "{}"),
        ("number", 200, r#"{"status": 1}"#),
        ("null", 200, r#"{"status": null}"#),
        ("bool", 200, r#"{"status": true}"#),
        ("object", 200, r#"{"status": {"status": "Succeeded"}}"#),
        ("array", 200, r#"{"status": ["Succeeded"]}"#),
        (
            "nested only",
            200,
            r#"{"properties": {"status": "Succeeded"}}"#,
        ),
        ("top-level string", 200, r#""Succeeded""#),
        ("top-level array", 200, r#"["Succeeded"]"#),
        ("top-level number", 200, "42"),
        ("top-level null", 200, "null"),
        ("204", 204, ""),
        ("203", 203, r#"{"status": "Succeeded"}"#),
    ];
    for (name, status, body) in cases {
        let err = lro_error(monitor_body_result(status, Bytes::from_static(body.as_bytes())).await);
        assert_eq!(err.kind(), ErrorKind::MissingStatus, "{name}: {err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{name}");
    }
}

#[tokio::test]
async fn deeply_nested_but_valid_json_is_missing_status() {
    // 100,000 levels: far past any parser's recursion limit, yet a JSON array with no status.
    let mut body = vec![b'['; 100_000];
    body.extend(std::iter::repeat_n(b']', 100_000));
    let err = lro_error(monitor_body_result(200, Bytes::from(body)).await);
    assert_eq!(err.kind(), ErrorKind::MissingStatus, "{err}");
}

#[tokio::test]
async fn status_words_compare_case_insensitively_and_never_by_substring() {
    let cases: &[(&str, Option<ErrorKind>)] = &[
        ("Succeeded", None),
        ("SUCCEEDED", None),
        ("succeeded", None),
        ("sUcCeEdEd", None),
        ("Completed", None),
        ("COMPLETED", None),
        ("Failed", Some(ErrorKind::OperationFailed)),
        ("FAILED", Some(ErrorKind::OperationFailed)),
        ("failed", Some(ErrorKind::OperationFailed)),
        ("Canceled", Some(ErrorKind::OperationCanceled)),
        ("CANCELED", Some(ErrorKind::OperationCanceled)),
        ("canceled", Some(ErrorKind::OperationCanceled)),
        ("Cancelled", Some(ErrorKind::OperationCanceled)),
        ("CANCELLED", Some(ErrorKind::OperationCanceled)),
        ("cancelled", Some(ErrorKind::OperationCanceled)),
        // Still running: the operation runs into `max_polls`.
        ("InProgress", Some(ErrorKind::TimedOut)),
        ("RUNNING", Some(ErrorKind::TimedOut)),
        ("notstarted", Some(ErrorKind::TimedOut)),
        ("SucceededWithErrors", Some(ErrorKind::TimedOut)),
        ("NotSucceeded", Some(ErrorKind::TimedOut)),
        ("FailedOver", Some(ErrorKind::TimedOut)),
        ("Canceling", Some(ErrorKind::TimedOut)),
        // An empty word is absent (behaviour, "Status words"): a monitor without a status.
        ("", Some(ErrorKind::MissingStatus)),
    ];
    for &(word, expected) in cases {
        let server = job_server(
            |hit| {
                vec![(
                    "azure-asyncoperation",
                    hit.url("/operations/j1").into_bytes(),
                )]
            },
            move |_| {
                at(200).json(json!({
                    "status": word,
                    "error": {"code": "E42", "message": "it broke"},
                }))
            },
        )
        .await;
        let options = LroOptions::new().max_polls(2);
        let result = post_job(&server, fast(), Some(options)).await;
        match expected {
            None => {
                let response = result.unwrap_or_else(|e| panic!("{word}: {e}"));
                assert_eq!(response.status(), StatusCode::OK, "{word}");
                let info = response.extensions().get::<LroInfo>().unwrap();
                assert_eq!(info.status(), Some(word));
                assert_eq!(info.polls(), 1, "{word}");
            }
            Some(kind) => {
                let err = lro_error(result);
                assert_eq!(err.kind(), kind, "{word:?}: {err}");
                if kind == ErrorKind::TimedOut {
                    assert_eq!(err.polls(), 2, "{word:?}");
                } else {
                    assert_eq!(err.code(), Some("E42"), "{word}");
                    assert_eq!(err.message(), Some("it broke"), "{word}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies that never end.

const CHUNK: usize = 16 * 1024;

/// Chunk `k` is `CHUNK` bytes of `k as u8`, forever: any byte's value tells its offset.
fn endless() -> ServerBody {
    let chunks =
        futures::stream::iter(0u64..).map(|k| Ok(Frame::data(Bytes::from(vec![k as u8; CHUNK]))));
    BodyExt::boxed(StreamBody::new(chunks))
}

#[tokio::test]
async fn an_endless_put_200_body_comes_back_still_streaming() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/blobs/b1") {
            at(200)
                .header("content-type", "application/json")
                .stream(endless())
        } else {
            not_found(hit)
        }
    })
    .await;
    let put = request(Method::PUT, &server.url("/blobs/b1"))
        .body(Full::from("{}"))
        .unwrap();
    let client = fast().build().unwrap().layer(http_client());
    let response = bounded(Duration::from_secs(10), client.oneshot(put))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<LroInfo>().is_none());

    // The inspected prefix and the rest arrive in order, byte for byte.
    let mut body = response.into_body();
    let mut offset = 0usize;
    bounded(Duration::from_secs(20), async {
        while offset < 2 * 1024 * 1024 {
            let frame = body.frame().await.expect("the body goes on").unwrap();
            let data = frame.into_data().unwrap_or_default();
            for (i, byte) in data.iter().enumerate() {
                let at = offset + i;
                assert_eq!(*byte, (at / CHUNK) as u8, "byte {at}");
            }
            offset += data.len();
        }
    })
    .await;
    drop(body);
    assert_eq!(server.lines(), ["PUT /blobs/b1"]);
}

#[tokio::test]
async fn an_endless_status_monitor_body_is_body_too_large() {
    let cap = 64 * 1024;
    let server = job_server(
        |hit| {
            vec![(
                "azure-asyncoperation",
                hit.url("/operations/j1").into_bytes(),
            )]
        },
        |_| at(200).stream(endless()),
    )
    .await;
    let err = lro_error(post_job(&server, fast().monitor_body_cap(cap), None).await);
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
    assert_eq!(err.status(), Some(StatusCode::OK));
    // Reading stopped at the cap: the error keeps at most the cap and the chunk that crossed it.
    assert!(
        err.body().len() <= cap + CHUNK,
        "kept {} bytes past a {cap} byte cap",
        err.body().len()
    );
}

#[tokio::test]
async fn a_finite_status_body_over_the_monitor_cap_is_body_too_large() {
    let cap = 64 * 1024;
    let padding = "x".repeat(100 * 1024);
    let server = job_server(
        |hit| {
            vec![(
                "azure-asyncoperation",
                hit.url("/operations/j1").into_bytes(),
            )]
        },
        move |_| at(200).json(json!({"status": "Succeeded", "padding": padding})),
    )
    .await;
    let err = lro_error(post_job(&server, fast().monitor_body_cap(cap), None).await);
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Transport failures while polling.

#[tokio::test]
async fn a_refused_connection_during_a_poll_is_poll_failed_with_the_client_error() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/vaults/v1") {
            // Same host and port: the origin rule lets the poll through to a closed port.
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/op1"))
                .header("retry-after-ms", "200")
                .empty()
        } else {
            succeeded(hit)
        }
    })
    .await;
    let monitor = server.url("/operations/op1");
    // The 202 has been read when the layer reports progress: close the port before the poll.
    let stop = server.abort_handle();
    let layer = fast()
        .on_progress(OnProgress::new(move |_| stop.abort()))
        .build()
        .unwrap();
    // No pooled connection: the poll must connect anew, and is refused.
    let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Full<Bytes>>();
    let put = request(Method::PUT, &server.url("/vaults/v1"))
        .body(Full::from("{}"))
        .unwrap();
    let err = lro_error(bounded(Duration::from_secs(10), layer.layer(inner).oneshot(put)).await);

    assert_eq!(err.kind(), ErrorKind::PollFailed, "{err}");
    assert_eq!(
        err.monitor_url().map(ToString::to_string),
        Some(monitor.clone())
    );
    assert_eq!(err.polls(), 1);
    assert_eq!(err.resume_token().map(|t| t.url()), Some(monitor.as_str()));
    let source = err.source().expect("the client's error");
    let client_error = source
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .unwrap_or_else(|| panic!("not a hyper-util error: {source:?}"));
    assert!(client_error.is_connect(), "{client_error:?}");
    assert_eq!(server.lines(), ["PUT /vaults/v1"]);
}

#[tokio::test]
async fn a_connection_dropped_during_a_poll_is_poll_failed_with_the_client_error() {
    let server = job_server(
        |hit| {
            vec![(
                "azure-asyncoperation",
                hit.url("/operations/j1").into_bytes(),
            )]
        },
        |_| Answer::HangUp,
    )
    .await;
    let err = lro_error(post_job(&server, fast(), None).await);

    assert_eq!(err.kind(), ErrorKind::PollFailed, "{err}");
    assert_eq!(
        err.monitor_url().map(ToString::to_string),
        Some(server.url("/operations/j1"))
    );
    let token = err.resume_token().expect("a resume token");
    assert_eq!(token.url(), server.url("/operations/j1"));
    assert_eq!(token.method(), "POST");
    let source = err.source().expect("the client's error");
    let client_error = source
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .unwrap_or_else(|| panic!("not a hyper-util error: {source:?}"));
    assert!(!client_error.is_connect(), "{client_error:?}");
    // The request did reach the server: no transparent retry hid the failure.
    assert_eq!(server.lines(), ["POST /jobs/j1", "GET /operations/j1"]);
}

#[tokio::test]
async fn a_timeout_below_the_layer_is_poll_failed_with_elapsed() {
    let server = job_server(
        |hit| {
            vec![(
                "azure-asyncoperation",
                hit.url("/operations/j1").into_bytes(),
            )]
        },
        |hit| succeeded(hit).after(Duration::from_secs(5)),
    )
    .await;
    let client = ServiceBuilder::new()
        .layer(fast().build().unwrap())
        .timeout(Duration::from_millis(200))
        .service(http_client());
    let post = request(Method::POST, &server.url("/jobs/j1"))
        .body(Full::default())
        .unwrap();
    let started = Instant::now();
    let err = lro_error(bounded(Duration::from_secs(10), client.oneshot(post)).await);

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::PollFailed, "{err}");
    assert_eq!(
        err.monitor_url().map(ToString::to_string),
        Some(server.url("/operations/j1"))
    );
    assert_eq!(
        err.resume_token().map(|t| t.url().to_owned()),
        Some(server.url("/operations/j1"))
    );
    let source = err.source().expect("the timeout's error");
    assert!(
        source.is::<tower::timeout::error::Elapsed>(),
        "not Elapsed: {source:?}"
    );
}
