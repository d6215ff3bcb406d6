//! The Tower plumbing, driven through `tower-test` mocks under paused time: waits are exact,
//! every poll readies its own clone, dropping the future stops polling, bodies survive.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::time::Instant;
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_lro::{ErrorKind, Lro, LroBody, LroError, LroInfo, LroLayer, MonitorKind, PollSchedule};
use tower_test::mock;

mod scripted;
use scripted::{response, Handle, Mock, ARM};

fn service() -> (Lro<Mock>, Handle) {
    let (mock, handle) = mock::pair();
    (LroLayer::new().layer(mock), handle)
}

fn request(method: &str, path: &str, body: &str) -> Request<String> {
    Request::builder()
        .method(method)
        .uri(format!("{ARM}{path}"))
        .header("authorization", "Bearer token")
        .header("content-type", "application/json")
        .body(body.to_owned())
        .unwrap()
}

/// Waits for the next request, checks its method and URL, and answers it.
async fn answer(
    handle: &mut Handle,
    method: &str,
    url: &str,
    reply: Response<String>,
) -> Request<String> {
    let req = scripted::answer(handle, url, reply).await;
    assert_eq!(req.method(), method, "method of {url}");
    req
}

/// Waits for the next request and returns how long it took to come.
async fn answer_after(handle: &mut Handle, url: &str, reply: Response<String>) -> Duration {
    let t0 = Instant::now();
    let req = answer(handle, "GET", url, reply).await;
    assert!(req.body().is_empty());
    assert_eq!(req.headers()["authorization"], "Bearer token");
    assert!(req.headers().get("content-type").is_none());
    t0.elapsed()
}

fn close_to(actual: Duration, expected: Duration) -> bool {
    // tokio rounds timer deadlines up to the next millisecond.
    actual >= expected && actual <= expected + Duration::from_millis(2)
}

async fn body_text(response: Response<LroBody<String>>) -> String {
    let bytes: Bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn start_vm_post_202_azure_async_operation() {
    let (svc, mut handle) = service();
    let call =
        tokio::spawn(svc.oneshot(request("POST", "/vms/vm1/start?api-version=2024-07-01", "")));
    let op = format!("{ARM}/locations/westus/operations/op1?api-version=2024-07-01");
    answer(
        &mut handle,
        "POST",
        &format!("{ARM}/vms/vm1/start?api-version=2024-07-01"),
        response(202, &[("azure-asyncoperation", &op)], ""),
    )
    .await;
    // No hint: the schedule's first wait (1 s), then its second (2 s).
    let waited = answer_after(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"InProgress"}"#),
    )
    .await;
    assert!(close_to(waited, Duration::from_secs(1)), "{waited:?}");
    let waited = answer_after(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded","startTime":"x"}"#),
    )
    .await;
    assert!(close_to(waited, Duration::from_secs(2)), "{waited:?}");

    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = response.extensions().get::<LroInfo>().unwrap().clone();
    assert_eq!(info.monitor_kind(), MonitorKind::AzureAsyncOperation);
    assert_eq!((info.polls(), info.final_url()), (2, None));
    assert_eq!(info.total_wait(), Duration::from_secs(3));
    assert_eq!(
        body_text(response).await,
        r#"{"status":"Succeeded","startTime":"x"}"#
    );
    // No final GET.
    assert!(handle.next_request().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn deploy_put_201_then_final_get_of_the_original_url() {
    let (svc, mut handle) = service();
    let path =
        "/resourceGroups/rg/providers/Microsoft.Resources/deployments/d1?api-version=2024-03-01";
    let call = tokio::spawn(svc.oneshot(request("PUT", path, r#"{"properties":{}}"#)));
    let op = format!("{ARM}/deployments/d1/operationStatuses/08585?api-version=2024-03-01");
    let created = response(
        201,
        &[("azure-asyncoperation", &op), ("retry-after", "5")],
        r#"{"properties":{"provisioningState":"Accepted"}}"#,
    );
    let sent = answer(&mut handle, "PUT", &format!("{ARM}{path}"), created).await;
    assert_eq!(sent.body(), r#"{"properties":{}}"#);
    let waited = answer_after(
        &mut handle,
        &op,
        response(200, &[("retry-after", "5")], r#"{"status":"Running"}"#),
    )
    .await;
    assert!(close_to(waited, Duration::from_secs(5)), "{waited:?}");
    let waited = answer_after(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded"}"#),
    )
    .await;
    assert!(close_to(waited, Duration::from_secs(5)), "{waited:?}");
    let resource = r#"{"name":"d1","properties":{"provisioningState":"Succeeded"}}"#;
    let waited = answer_after(
        &mut handle,
        &format!("{ARM}{path}"),
        response(200, &[], resource),
    )
    .await;
    assert_eq!(waited, Duration::ZERO, "the final GET is immediate");

    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = response.extensions().get::<LroInfo>().unwrap();
    assert_eq!(
        info.final_url().unwrap().to_string(),
        format!("{ARM}{path}")
    );
    assert_eq!(body_text(response).await, resource);
}

#[tokio::test(start_paused = true)]
async fn create_storage_account_put_202_location_retry_after_17() {
    let (svc, mut handle) = service();
    let path = "/providers/Microsoft.Storage/storageAccounts/sa1?api-version=2023-01-01";
    let call = tokio::spawn(svc.oneshot(request("PUT", path, "{}")));
    let loc = format!(
        "{ARM}/providers/Microsoft.Storage/locations/eastus/asyncoperations/a1?monitor=true"
    );
    let accepted = || response(202, &[("location", &loc), ("retry-after", "17")], "");
    answer(&mut handle, "PUT", &format!("{ARM}{path}"), accepted()).await;
    let waited = answer_after(&mut handle, &loc, accepted()).await;
    assert!(
        close_to(waited, Duration::from_secs(17)),
        "first poll not before 17 s: {waited:?}"
    );
    let account = r#"{"name":"sa1","properties":{"provisioningState":"Succeeded"}}"#;
    let waited = answer_after(&mut handle, &loc, response(200, &[], account)).await;
    assert!(close_to(waited, Duration::from_secs(17)), "{waited:?}");

    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .extensions()
            .get::<LroInfo>()
            .unwrap()
            .monitor_kind(),
        MonitorKind::Location
    );
    assert_eq!(body_text(response).await, account);
}

#[tokio::test(start_paused = true)]
async fn retry_after_forms_and_non_sticky_hints() {
    let (svc, mut handle) = service();
    let call = tokio::spawn(svc.oneshot(request("POST", "/x/act", "")));
    let op = format!("{ARM}/ops/1");
    answer(
        &mut handle,
        "POST",
        &format!("{ARM}/x/act"),
        response(
            202,
            &[("operation-location", &op), ("retry-after-ms", "1500")],
            "",
        ),
    )
    .await;
    let running = |h: &[(&str, &str)]| response(200, h, r#"{"status":"Running"}"#);
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
    let steps: [(&[(&str, &str)], Duration); 4] = [
        (
            &[("x-ms-retry-after-ms", "700")],
            Duration::from_millis(1500),
        ),
        (
            &[("retry-after", date.as_str())],
            Duration::from_millis(700),
        ),
        (&[("retry-after", "garbage")], Duration::from_secs(29)),
        (&[], Duration::from_secs(1)),
    ];
    for (headers, expected) in steps {
        let waited = answer_after(&mut handle, &op, running(headers)).await;
        // The HTTP-date is measured against the wall clock, which paused time does not stop.
        let exact = close_to(waited, expected)
            || (expected == Duration::from_secs(29) && waited >= expected);
        assert!(exact, "waited {waited:?}, expected {expected:?}");
    }
    // Garbage was no hint (schedule: 1 s), and so is nothing (schedule: 2 s).
    let waited = answer_after(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded"}"#),
    )
    .await;
    assert!(close_to(waited, Duration::from_secs(2)), "{waited:?}");
    assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn failure_is_a_typed_error_with_the_service_code() {
    let (svc, mut handle) = service();
    let call = tokio::spawn(svc.oneshot(request("DELETE", "/things/t1", "")));
    let op = format!("{ARM}/ops/2");
    answer(
        &mut handle,
        "DELETE",
        &format!("{ARM}/things/t1"),
        response(202, &[("azure-asyncoperation", &op)], ""),
    )
    .await;
    let failed = r#"{"status":"Failed","error":{"code":"InUse","message":"still attached"}}"#;
    answer_after(&mut handle, &op, response(200, &[], failed)).await;
    let err: BoxError = call.await.unwrap().unwrap_err();
    let lro = err.downcast_ref::<LroError>().expect("an LroError");
    assert_eq!(lro.kind(), ErrorKind::OperationFailed);
    assert_eq!(
        (lro.code(), lro.message()),
        (Some("InUse"), Some("still attached"))
    );
    assert_eq!(lro.monitor_url().unwrap().to_string(), op);
    assert_eq!((lro.polls(), lro.status()), (1, Some(StatusCode::OK)));
    assert_eq!(lro.body(), failed.as_bytes());
    assert_eq!(lro.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn inner_errors_pass_through_unchanged() {
    #[derive(Debug)]
    struct Refused;
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection refused")
        }
    }
    impl std::error::Error for Refused {}

    let (svc, mut handle) = service();
    let call = tokio::spawn(svc.oneshot(request("PUT", "/t", "")));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(Refused);
    let err = call.await.unwrap().unwrap_err();
    assert!(err.downcast_ref::<Refused>().is_some(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_stops_polling() {
    let (svc, mut handle) = service();
    let call = tokio::spawn(svc.oneshot(request("POST", "/long", "")));
    let op = format!("{ARM}/ops/3");
    answer(
        &mut handle,
        "POST",
        &format!("{ARM}/long"),
        response(
            202,
            &[("azure-asyncoperation", &op), ("retry-after", "5")],
            "",
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    // Every clone of the service went with the future: no request was or will be sent.
    assert!(handle.next_request().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn each_poll_readies_its_own_clone() {
    // A mock clone called without poll_ready panics, so a missing readiness check fails here.
    let (svc, mut handle) = service();
    handle.allow(1);
    let call = tokio::spawn(svc.oneshot(request("POST", "/ready", "")));
    let op = format!("{ARM}/ops/4");
    answer(
        &mut handle,
        "POST",
        &format!("{ARM}/ready"),
        response(202, &[("azure-asyncoperation", &op)], ""),
    )
    .await;
    // The poll waits for readiness: nothing is sent while the mock is not ready.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(futures::FutureExt::now_or_never(handle.next_request()).is_none());
    handle.allow(1);
    answer(
        &mut handle,
        "GET",
        &op,
        response(200, &[], r#"{"status":"Running"}"#),
    )
    .await;
    handle.allow(1);
    answer(
        &mut handle,
        "GET",
        &op,
        response(200, &[], r#"{"status":"Succeeded"}"#),
    )
    .await;
    assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn ordinary_responses_pass_through_untouched() {
    let (mut svc, mut handle) = service();
    for (method, status, body) in [
        ("GET", 202, "{\"status\":\"Running\"}"),
        ("PUT", 200, "{\"name\":\"n\"}"),
        ("POST", 202, ""),
    ] {
        let call = svc.ready().await.unwrap().call(request(method, "/p", ""));
        let call = tokio::spawn(call);
        answer(
            &mut handle,
            method,
            &format!("{ARM}/p"),
            response(status, &[("x-extra", "1")], body),
        )
        .await;
        let response = call.await.unwrap().unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["x-extra"], "1");
        assert!(response.extensions().get::<LroInfo>().is_none());
        assert_eq!(body_text(response).await, body);
    }
}

#[tokio::test(start_paused = true)]
async fn bodies_above_the_inspection_cap_arrive_whole() {
    let layer = LroLayer::builder().inspection_cap(1024).build().unwrap();
    let (mock, mut handle) = mock::pair::<Request<String>, Response<String>>();
    let svc = layer.layer(mock);
    let call = tokio::spawn(svc.oneshot(request("PUT", "/big", "")));
    let big = format!(
        r#"{{"properties":{{"provisioningState":"Failed"}},"pad":"{}"}}"#,
        "x".repeat(100_000)
    );
    answer(
        &mut handle,
        "PUT",
        &format!("{ARM}/big"),
        response(200, &[], &big),
    )
    .await;
    let response = call.await.unwrap().unwrap();
    assert_eq!(body_text(response).await, big);
}

#[tokio::test(start_paused = true)]
async fn max_duration_ends_with_timed_out_at_the_boundary() {
    // Polls at 10 s and 20 s; the next would be at 30 s, past the 25 s deadline: the layer
    // ends at 20 s rather than sleep into a deadline that no request could beat.
    let layer = LroLayer::builder()
        .schedule(PollSchedule::fixed(Duration::from_secs(10)).unwrap())
        .max_duration(Duration::from_secs(25))
        .build()
        .unwrap();
    let (mock, mut handle) = mock::pair::<Request<String>, Response<String>>();
    let call = tokio::spawn(layer.layer(mock).oneshot(request("POST", "/slow", "")));
    let op = format!("{ARM}/ops/5");
    answer(
        &mut handle,
        "POST",
        &format!("{ARM}/slow"),
        response(202, &[("azure-asyncoperation", &op)], ""),
    )
    .await;
    answer_after(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Running"}"#),
    )
    .await;
    answer_after(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Running"}"#),
    )
    .await;
    let err = call.await.unwrap().unwrap_err();
    let lro = err.downcast_ref::<LroError>().unwrap();
    assert_eq!((lro.kind(), lro.polls()), (ErrorKind::TimedOut, 2));
    assert!(
        close_to(lro.elapsed(), Duration::from_secs(20)),
        "{:?}",
        lro.elapsed()
    );
}

#[test]
fn futures_are_send_and_services_sync_over_hyper_util() {
    use http_body_util::Full;
    use hyper_util::client::legacy::{connect::HttpConnector, Client};
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    type C = Client<HttpConnector, Full<Bytes>>;
    send::<<Lro<C> as Service<Request<Full<Bytes>>>>::Future>();
    send::<Lro<C>>();
    sync::<Lro<C>>();
    send::<LroBody<hyper::body::Incoming>>();
    sync::<LroLayer>();
}

/// Runs a POST whose Azure-AsyncOperation monitor answers `polls` in turn, under `layer`.
async fn run_monitor(
    layer: LroLayer,
    polls: Vec<Response<String>>,
) -> Result<Response<LroBody<String>>, BoxError> {
    let (mock, mut handle) = mock::pair::<Request<String>, Response<String>>();
    let call = tokio::spawn(layer.layer(mock).oneshot(request("POST", "/limits", "")));
    let op = format!("{ARM}/ops/limits");
    answer(
        &mut handle,
        "POST",
        &format!("{ARM}/limits"),
        response(202, &[("azure-asyncoperation", &op)], ""),
    )
    .await;
    for reply in polls {
        answer(&mut handle, "GET", &op, reply).await;
    }
    call.await.unwrap()
}

fn kind(result: Result<Response<LroBody<String>>, BoxError>) -> ErrorKind {
    result
        .unwrap_err()
        .downcast_ref::<LroError>()
        .expect("an LroError")
        .kind()
}

#[tokio::test(start_paused = true)]
async fn monitor_body_cap_boundary() {
    let body = |len: usize| {
        let head = r#"{"status":"Succeeded","pad":""#;
        format!("{head}{}\"}}", "x".repeat(len - head.len() - 2))
    };
    let layer = || LroLayer::builder().monitor_body_cap(100).build().unwrap();
    let at_cap = run_monitor(layer(), vec![response(200, &[], &body(100))]).await;
    assert_eq!(body_text(at_cap.unwrap()).await.len(), 100);
    let over = run_monitor(layer(), vec![response(200, &[], &body(101))]).await;
    assert_eq!(kind(over), ErrorKind::BodyTooLarge);
}

#[tokio::test(start_paused = true)]
async fn transient_retry_limit_boundary() {
    let busy = || response(503, &[("retry-after", "1")], "");
    let done = || response(200, &[], r#"{"status":"Succeeded"}"#);
    let layer = || {
        LroLayer::builder()
            .max_transient_retries(2)
            .build()
            .unwrap()
    };
    let survived = run_monitor(layer(), vec![busy(), busy(), done()])
        .await
        .unwrap();
    assert_eq!(
        survived
            .extensions()
            .get::<LroInfo>()
            .unwrap()
            .transient_retries(),
        2
    );
    let failed = run_monitor(layer(), vec![busy(), busy(), busy()]).await;
    assert_eq!(kind(failed), ErrorKind::PollFailed);
}

#[tokio::test(start_paused = true)]
async fn max_polls_boundary() {
    let running = || response(200, &[], r#"{"status":"Running"}"#);
    let done = || response(200, &[], r#"{"status":"Succeeded"}"#);
    let layer = || LroLayer::builder().max_polls(3).build().unwrap();
    let at_limit = run_monitor(layer(), vec![running(), running(), done()])
        .await
        .unwrap();
    assert_eq!(at_limit.extensions().get::<LroInfo>().unwrap().polls(), 3);
    let past = run_monitor(layer(), vec![running(), running(), running()]).await;
    assert_eq!(kind(past), ErrorKind::TimedOut);
}

#[tokio::test(start_paused = true)]
async fn inspection_cap_boundary() {
    let put = |cap: usize, body: String| async move {
        let (mock, mut handle) = mock::pair::<Request<String>, Response<String>>();
        let layer = LroLayer::builder().inspection_cap(cap).build().unwrap();
        let call = tokio::spawn(layer.layer(mock).oneshot(request("PUT", "/cap", "")));
        answer(
            &mut handle,
            "PUT",
            &format!("{ARM}/cap"),
            response(201, &[], &body),
        )
        .await;
        call.await.unwrap()
    };
    let failed = r#"{"properties":{"provisioningState":"Failed"}}"#.to_owned();
    // Exactly at the cap: inspected, so the Failed state is seen.
    assert_eq!(
        kind(put(failed.len(), failed.clone()).await),
        ErrorKind::OperationFailed
    );
    // One byte over: not inspected; a 201 without a known PS and no header is handed over whole.
    let whole = put(failed.len() - 1, failed.clone()).await.unwrap();
    assert_eq!(whole.status(), StatusCode::CREATED);
    assert_eq!(body_text(whole).await, failed);
}

/// hyper's header values are slices of the connection's read buffer: the headers the layer keeps
/// for `LroInfo` (and a deadline's last response) must not pin that buffer while it waits.
#[tokio::test(start_paused = true)]
async fn kept_headers_do_not_pin_the_buffer_they_were_read_into() {
    let (mock, mut handle) = mock::pair();
    let svc = LroLayer::builder()
        .max_duration(Duration::from_secs(600))
        .build()
        .unwrap()
        .layer(mock);
    let url = format!("{ARM}/vms/vm1/start?api-version=2024-07-01");
    let call =
        tokio::spawn(svc.oneshot(request("POST", "/vms/vm1/start?api-version=2024-07-01", "")));
    let op = format!("{ARM}/locations/westus/operations/op1?api-version=2024-07-01");
    let buffer = Bytes::from(format!("{op}req-1InProgress").into_bytes());
    let shared = |range: std::ops::Range<usize>| {
        http::HeaderValue::from_maybe_shared(buffer.slice(range)).unwrap()
    };
    let mut accepted = response(202, &[], "");
    let headers = accepted.headers_mut();
    headers.insert("azure-asyncoperation", shared(0..op.len()));
    headers.insert("x-ms-request-id", shared(op.len()..op.len() + 5));
    answer(&mut handle, "POST", &url, accepted).await;
    let mut in_progress = response(200, &[], r#"{"status":"InProgress"}"#);
    in_progress
        .headers_mut()
        .insert("x-ms-state", shared(op.len() + 5..buffer.len()));
    answer(&mut handle, "GET", &op, in_progress).await;

    // Waiting for the second poll: the layer holds both responses' headers, copied.
    let (req, send) = handle.next_request().await.unwrap();
    assert!(
        buffer.is_unique(),
        "a kept header still pins the read buffer"
    );
    assert_eq!(req.uri().to_string(), op);
    send.send_response(response(200, &[], r#"{"status":"Succeeded"}"#));
    let response = call.await.unwrap().unwrap();
    let info = response.extensions().get::<LroInfo>().unwrap();
    assert_eq!(info.initial_headers().unwrap()["x-ms-request-id"], "req-1");
}
