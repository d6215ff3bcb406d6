//! What a tower user reaches for: the first response in `LroInfo`, jitter for many operations
//! at once, a test-constructible `LroPoll`, and the error's detail. Paused time throughout.

mod attack;

use std::collections::BTreeSet;
use std::time::Duration;

use attack::*;
use http::StatusCode;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};
use tower_lro::{LroError, LroInfo, LroLayer, PollSchedule};

#[tokio::test(start_paused = true)]
async fn the_first_response_is_kept_in_lro_info() {
    let (svc, _log) = server(|n, _| match n {
        0 => respond(
            201,
            &[
                ("azure-asyncoperation", "https://management.azure.com/ops/1"),
                ("x-ms-request-id", "req-42"),
            ],
            body(&[br#"{"properties":{"provisioningState":"Creating"}}"#]),
        ),
        1 => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
        _ => respond(200, &[], body(&[br#"{"name":"t1"}"#])),
    });
    let response = LroLayer::new()
        .layer(svc)
        .oneshot(call("PUT", "/things/t1"))
        .await
        .unwrap();
    let info = response.extensions().get::<LroInfo>().unwrap();
    assert_eq!(info.initial_status(), Some(StatusCode::CREATED));
    let initial = info.initial_headers().unwrap();
    assert_eq!(initial["x-ms-request-id"], "req-42");
    assert!(initial.contains_key("azure-asyncoperation"));
}

/// When each of `k` operations (POST 202 with a monitor, no hint) made its first poll, as
/// offsets from the start, in operation order.
async fn first_polls(schedule: PollSchedule, seed: u64, k: usize) -> Vec<Duration> {
    let (svc, log) = server(|_, req| {
        if req.method() == "POST" {
            let id = req.uri().path().trim_start_matches("/act/").to_owned();
            let monitor = format!("https://management.azure.com/ops/{id}");
            respond(
                202,
                &[("azure-asyncoperation", monitor.as_str())],
                body(&[]),
            )
        } else {
            respond(200, &[], body(&[br#"{"status":"Succeeded"}"#]))
        }
    });
    let service = LroLayer::builder()
        .schedule(schedule)
        .jitter_seed(seed)
        .build()
        .unwrap()
        .layer(svc);
    let start = Instant::now();
    // Started one after another, so that operation n draws the same jitter in every run.
    let mut calls = Vec::new();
    for i in 0..k {
        let call = service.clone().oneshot(call("POST", &format!("/act/{i}")));
        calls.push(tokio::spawn(call));
        tokio::task::yield_now().await;
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let log = log.lock().unwrap();
    (0..k)
        .map(|i| {
            let path = format!("/ops/{i}");
            let poll = log.iter().find(|r| r.uri.path() == path).expect("a poll");
            poll.at - start
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_operations_started_together_and_repeats_under_a_seed() {
    let lockstep = first_polls(PollSchedule::default(), 1, 50).await;
    assert!(lockstep.iter().all(|d| *d == Duration::from_secs(1)));

    let jittered = PollSchedule::default().with_jitter(0.5).unwrap();
    let spread = first_polls(jittered, 1, 50).await;
    let distinct: BTreeSet<_> = spread.iter().collect();
    assert!(
        distinct.len() >= 45,
        "{} distinct first polls",
        distinct.len()
    );
    assert!(spread
        .iter()
        .all(|d| *d >= Duration::from_millis(500) && *d <= Duration::from_secs(1)));
    assert_eq!(
        spread,
        first_polls(jittered, 1, 50).await,
        "same seed, same waits"
    );
    assert_ne!(spread, first_polls(jittered, 2, 50).await);
}

#[tokio::test(start_paused = true)]
async fn server_hints_are_never_jittered() {
    let (svc, log) = server(|n, _| match n {
        0 => respond(
            202,
            &[
                ("azure-asyncoperation", "https://management.azure.com/ops/1"),
                ("retry-after", "7"),
            ],
            body(&[]),
        ),
        _ => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
    });
    let service = LroLayer::builder()
        .schedule(PollSchedule::default().with_jitter(1.0).unwrap())
        .build()
        .unwrap()
        .layer(svc);
    let start = Instant::now();
    service.oneshot(call("POST", "/act")).await.unwrap();
    assert_eq!(log.lock().unwrap()[1].at - start, Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn an_error_says_what_the_layer_added() {
    let (svc, _log) = server(|n, _| match n {
        0 => respond(
            202,
            &[("azure-asyncoperation", "https://management.azure.com/ops/1")],
            body(&[]),
        ),
        _ => respond(503, &[], body(&[])),
    });
    let service = LroLayer::builder()
        .max_transient_retries(1)
        .build()
        .unwrap()
        .layer(svc);
    let Err(e) = service.oneshot(call("POST", "/act")).await else {
        panic!("expected an error")
    };
    let lro = e.downcast_ref::<LroError>().unwrap();
    assert_eq!(lro.detail(), Some("2 transient answers in a row"));
}

/// A TypeSpec data-plane action: POST 202 with an Operation-Location whose last answer holds
/// the result.
fn action_server(last: &'static [u8]) -> (Server, Log) {
    server(move |n, _| match n {
        0 => respond(
            202,
            &[("operation-location", "https://management.azure.com/ops/7")],
            body(&[]),
        ),
        1 => respond(200, &[], body(&[br#"{"status":"Running"}"#])),
        _ => respond(
            200,
            &[
                ("content-type", "application/json"),
                ("x-ms-request-id", "r7"),
            ],
            body(&[last]),
        ),
    })
}

async fn text(response: http::Response<tower_lro::LroBody<TestBody>>) -> String {
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn inline_results_hand_over_the_monitors_result_member() {
    use tower_lro::{FinalStateVia, LroOptions};
    let done = br#"{"id":"7","status":"Succeeded","result":{"text":"hola","n":[1,2]}}"#;

    // Default: the whole monitor body.
    let (svc, _log) = action_server(done);
    let layer = LroLayer::builder()
        .final_state_via(FinalStateVia::OperationLocation)
        .build()
        .unwrap();
    let response = layer
        .layer(svc)
        .oneshot(call("POST", "/translate"))
        .await
        .unwrap();
    assert_eq!(text(response).await.as_bytes(), done);

    // Layer-wide: the member as it was written, as JSON.
    let (svc, _log) = action_server(done);
    let layer = LroLayer::builder()
        .final_state_via(FinalStateVia::OperationLocation)
        .inline_result(true)
        .build()
        .unwrap();
    let response = layer
        .layer(svc)
        .oneshot(call("POST", "/translate"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["content-length"], "25");
    assert_eq!(response.headers()["x-ms-request-id"], "r7");
    assert!(response.extensions().get::<LroInfo>().is_some());
    assert_eq!(text(response).await, r#"{"text":"hola","n":[1,2]}"#);

    // Per request, and an operation without a result: 204.
    let (svc, _log) = action_server(br#"{"status":"Succeeded"}"#);
    let mut request = call("POST", "/translate");
    request.extensions_mut().insert(
        LroOptions::new()
            .final_state_via(FinalStateVia::OperationLocation)
            .inline_result(true),
    );
    let response = LroLayer::new().layer(svc).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(response).await, "");
}

// ---- behaviour §8.7: the generic asynchronous request-reply pattern ----

const ACCEPTOR: &str = "https://fn.example/api/AsyncProcessingWorkAcceptor";
const STATUS: &str = "https://fn.example/api/RequestStatus/7f";
const BLOB: &str = "https://acct.blob.core.windows.net/data/7f.blobdata?sv=2024&sig=SECRET";

/// The Architecture Center's sample: 202 + Location, 200 "In progress", then a 302 to a SAS URL.
fn request_reply_server(redirect: &'static str) -> (Server, Log) {
    server(move |n, _| match n {
        0 => respond(202, &[("location", STATUS)], body(&[])),
        1 => respond(
            200,
            &[("content-type", "application/json")],
            body(&[
                br#"{"status":"In progress","Location":"https://fn.example/api/RequestStatus/7f"}"#,
            ]),
        ),
        2 => respond(
            302,
            &[("location", redirect), ("retry-after", "2")],
            body(&[]),
        ),
        _ => respond(
            200,
            &[("content-type", "application/octet-stream")],
            body(&[b"BLOB"]),
        ),
    })
}

fn fn_call() -> http::Request<String> {
    http::Request::post(ACCEPTOR)
        .header("authorization", "Bearer SECRET")
        .body(String::new())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_redirect_from_the_status_endpoint_is_completion_and_its_target_the_result() {
    let (svc, log) = request_reply_server(BLOB);
    let layer = LroLayer::builder()
        .generic_vocabulary(true)
        .allow_origin(tower_lro::AllowedOrigin::parse("https://*.blob.core.windows.net").unwrap())
        .build()
        .unwrap();
    let response = layer.layer(svc).oneshot(fn_call()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = response.extensions().get::<LroInfo>().unwrap().clone();
    // Requested without credentials, so shown redacted: the SAS signature stays out of it.
    assert_eq!(
        info.final_url().unwrap(),
        "https://acct.blob.core.windows.net/data/7f.blobdata?sv=REDACTED&sig=REDACTED"
    );
    assert_eq!(text(response).await, "BLOB");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(log[3].uri, BLOB);
    assert!(
        log[3].headers.get("authorization").is_none(),
        "no credentials to the SAS URL"
    );
    assert_eq!(
        log[3].at - log[2].at,
        Duration::from_secs(2),
        "the redirect's Retry-After"
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_generic_vocabulary_in_progress_is_a_resource_property() {
    let (svc, log) = request_reply_server(BLOB);
    let response = LroLayer::new().layer(svc).oneshot(fn_call()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(response).await.contains("In progress"));
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_redirect_elsewhere_or_without_a_target_sends_nothing_more() {
    // Not allow-listed: refused, nothing sent, the SAS signature not shown.
    let (svc, log) = request_reply_server(BLOB);
    let layer = LroLayer::builder()
        .generic_vocabulary(true)
        .build()
        .unwrap();
    let Err(e) = layer.layer(svc).oneshot(fn_call()).await else {
        panic!("expected an error")
    };
    let lro = e.downcast_ref::<LroError>().unwrap();
    assert_eq!(lro.kind(), tower_lro::ErrorKind::CrossOriginPollingUrl);
    assert_eq!(lro.status(), Some(StatusCode::FOUND));
    assert!(!format!("{lro} {lro:?}").contains("SECRET"));
    assert_eq!(log.lock().unwrap().len(), 3);
    // A 303 without a Location.
    let (svc, _log) = server(|n, _| match n {
        0 => respond(202, &[("location", STATUS)], body(&[])),
        _ => respond(303, &[], body(&[])),
    });
    let Err(e) = LroLayer::new().layer(svc).oneshot(fn_call()).await else {
        panic!("expected an error")
    };
    let lro = e.downcast_ref::<LroError>().unwrap();
    assert_eq!(lro.kind(), tower_lro::ErrorKind::InvalidPollingUrl);
}
