//! Start now, check later (behaviour §7), through a type-erased stack: the request carries the
//! wish (`LroOptions::hand_over`, `check`, `resume`), not a method of the concrete `Lro`.

mod attack;

use std::time::Duration;

use attack::*;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{ErrorKind, LroBody, LroError, LroInfo, LroLayer, LroOptions, ResumeToken};

const MONITOR: &str = "https://management.azure.com/ops/1";

type Erased = BoxCloneSyncService<Request<String>, http::Response<LroBody<TestBody>>, BoxError>;

fn erased(svc: Server) -> Erased {
    BoxCloneSyncService::new(LroLayer::new().layer(svc))
}

fn with(mut req: Request<String>, options: LroOptions) -> Request<String> {
    req.extensions_mut().insert(options);
    req
}

/// A request to the operation's origin that carries `options`.
fn carrying(options: LroOptions) -> Request<String> {
    let mut req = Request::get(ARM)
        .header("authorization", "Bearer caller")
        .body(String::new())
        .unwrap();
    req.extensions_mut().insert(options);
    req
}

fn info<B>(response: &http::Response<B>) -> &LroInfo {
    response.extensions().get::<LroInfo>().expect("LroInfo")
}

async fn handed_over_token() -> ResumeToken {
    let (svc, log) = server(|_, _| {
        respond(
            201,
            &[("azure-asyncoperation", MONITOR), ("retry-after", "5")],
            body(&[br#"{"name":"vm1"}"#]),
        )
    });
    let start = Instant::now();
    let response = erased(svc)
        .oneshot(with(call("PUT", "/vm1"), LroOptions::new().hand_over()))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "nothing waited");
    assert_eq!(log.lock().unwrap().len(), 1, "nothing polled");
    assert_eq!(response.status(), StatusCode::CREATED);
    let token = info(&response).resume_token().expect("a token").clone();
    assert_eq!(token.url(), MONITOR);
    assert_eq!(
        token.next_wait(),
        Duration::from_secs(5),
        "the hint is owed"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"name":"vm1"}"#, "the first body, whole");
    token
}

#[tokio::test(start_paused = true)]
async fn hand_over_returns_the_first_response_with_a_token_and_polls_nothing() {
    handed_over_token().await;
}

#[tokio::test(start_paused = true)]
async fn a_check_polls_once_without_waiting_and_returns_a_fresh_token_while_running() {
    let token = handed_over_token().await;
    let (svc, log) = server(|_, _| {
        respond(
            200,
            &[("retry-after", "7")],
            body(&[br#"{"status":"Running","percentComplete":40}"#]),
        )
    });
    let start = Instant::now();
    let response = erased(svc)
        .oneshot(carrying(LroOptions::new().check(token)))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "a check does not wait");
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "exactly one poll");
    assert_eq!(log[0].uri, MONITOR);
    assert_eq!(log[0].method, http::Method::GET);
    // The carrying request's headers go along, as the original request's would.
    assert_eq!(log[0].headers["authorization"], "Bearer caller");
    assert_eq!(response.status(), StatusCode::OK);
    let info = info(&response);
    assert_eq!(info.status(), Some("Running"));
    assert_eq!(info.percent_complete(), Some(40.0));
    let fresh = info.resume_token().expect("a fresh token");
    assert_eq!(fresh.next_wait(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn a_check_of_a_finished_operation_returns_its_result() {
    let token = handed_over_token().await;
    let (svc, log) = server(|n, _| match n {
        0 => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
        _ => respond(
            200,
            &[],
            body(&[br#"{"name":"vm1","properties":{"provisioningState":"Succeeded"}}"#]),
        ),
    });
    let response = erased(svc)
        .oneshot(carrying(LroOptions::new().check(token)))
        .await
        .unwrap();
    // The poll, then the PUT's final GET of the resource at once.
    let uris: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.uri.to_string())
        .collect();
    assert_eq!(uris, [MONITOR, "https://management.azure.com/vm1"]);
    assert_eq!(response.status(), StatusCode::OK);
    assert!(info(&response).resume_token().is_none(), "done: no token");
}

#[tokio::test(start_paused = true)]
async fn a_check_of_a_failed_operation_is_its_error() {
    let token = handed_over_token().await;
    let (svc, _) = server(|_, _| {
        respond(
            200,
            &[],
            body(&[br#"{"status":"Failed","error":{"code":"Quota","message":"no"}}"#]),
        )
    });
    let e = erased(svc)
        .oneshot(carrying(LroOptions::new().check(token)))
        .await
        .err()
        .expect("an error")
        .downcast::<LroError>()
        .unwrap();
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::OperationFailed, Some("Quota"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_resume_carried_by_a_request_polls_to_the_end_after_the_owed_wait() {
    let token = handed_over_token().await;
    let (svc, log) = server(|n, _| match n {
        0 | 1 => respond(
            200,
            &[("retry-after", "2")],
            body(&[br#"{"status":"Running"}"#]),
        ),
        2 => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
        _ => respond(200, &[], body(&[br#"{"name":"vm1"}"#])),
    });
    let start = Instant::now();
    let response = erased(svc)
        .oneshot(carrying(LroOptions::new().resume(token)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(log.lock().unwrap().len(), 4);
    // The owed 5 s, then 2 s twice.
    assert_eq!(start.elapsed(), Duration::from_secs(9));
}

#[tokio::test(start_paused = true)]
async fn a_carried_token_is_held_to_the_carrying_requests_origin() {
    let token = handed_over_token().await;
    let (svc, log) = server(|_, _| respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])));
    let mut req = carrying(LroOptions::new().check(token));
    *req.uri_mut() = "https://evil.example/".parse().unwrap();
    let e = erased(svc)
        .oneshot(req)
        .await
        .err()
        .expect("an error")
        .downcast::<LroError>()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::CrossOriginPollingUrl);
    assert!(log.lock().unwrap().is_empty(), "nothing sent");
}
