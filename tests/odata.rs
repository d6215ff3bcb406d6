//! OData asynchronous requests end to end (behaviour §8.6): the caller asks `Prefer:
//! respond-async`, the monitor answers 202 until the result, whose own status is in
//! `AsyncResult` or in an embedded `application/http` message; and Dataverse's variant.

mod support;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::{Layer, ServiceExt};
use tower_lro::{ErrorKind, LroDialect, MonitorKind};

fn post(url: &str, prefer: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = request(Method::POST, url)
        .header("content-type", "application/json")
        .header("accept", "application/http, application/json");
    if let Some(prefer) = prefer {
        builder = builder.header("prefer", prefer);
    }
    builder.body(Full::from(r#"{"Name":"Ada"}"#)).unwrap()
}

async fn run(req: Request<Full<Bytes>>) -> Result<ClientResponse, tower::BoxError> {
    fast()
        .build()
        .unwrap()
        .layer(http_client())
        .oneshot(req)
        .await
}

/// The 4.01 service of the behaviour page's example (§8.6): 202, 202, then 200 + `AsyncResult`.
async fn service(result: fn(&Hit) -> Answer) -> TestServer {
    TestServer::start(move |hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/service/Customers") => at(202).header("location", "/service/$async/17").empty(),
        ("GET", "/service/$async/17") if hit.n == 0 => {
            at(202).header("location", "/service/$async/17").empty()
        }
        ("GET", "/service/$async/17") => result(hit),
        _ => not_found(hit),
    })
    .await
}

fn created(_: &Hit) -> Answer {
    at(200)
        .header("asyncresult", "201")
        .header("location", "/service/Customers(42)")
        .json(json!({"ID": 42, "Name": "Ada"}))
}

#[tokio::test]
async fn the_result_keeps_the_operations_own_status() {
    let server = service(created).await;
    let url = server.url("/service/Customers");
    let response = run(post(&url, Some("respond-async"))).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "as the synchronous call would"
    );
    assert_eq!(response.headers()["location"], "/service/Customers(42)");
    assert!(
        response.headers().get("asyncresult").is_none(),
        "the monitor's header is dropped"
    );
    let info = info_of(&response);
    assert_eq!(info.dialect(), LroDialect::OData);
    assert_eq!(info.monitor_kind(), MonitorKind::ODataMonitor);
    assert_eq!(json_body(response).await["ID"], 42);
    for poll in &server.hits()[1..] {
        assert!(
            poll.headers.get("prefer").is_none(),
            "polls never repeat the preference"
        );
        assert_eq!(poll.headers["accept"], "application/json");
    }
}

#[tokio::test]
async fn a_failed_result_is_operation_failed_with_its_status_and_error() {
    let server = service(|_| {
        at(200)
            .header("asyncresult", "400")
            .json(json!({"error": {"code": "InvalidName", "message": "no"}}))
    })
    .await;
    let url = server.url("/service/Customers");
    let error = lro_error(run(post(&url, Some("respond-async"))).await);
    assert_eq!(error.kind(), ErrorKind::OperationFailed);
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(
        (error.code(), error.message()),
        (Some("InvalidName"), Some("no"))
    );

    // Without the preference the same 202 is Azure's: it would have reported success.
    let server = service(|_| {
        at(200)
            .header("asyncresult", "400")
            .json(json!({"error": {}}))
    })
    .await;
    let url = server.url("/service/Customers");
    let response = run(post(&url, None)).await.unwrap();
    assert_eq!(info_of(&response).dialect(), LroDialect::Azure);
}

#[tokio::test]
async fn an_embedded_http_response_is_unwrapped() {
    let server = service(|_| {
        at(200)
            .header("content-type", "application/http")
            .bytes("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"error\":{\"code\":\"E1\",\"message\":\"bad\"}}")
    })
    .await;
    let url = server.url("/service/Customers");
    let error = lro_error(run(post(&url, Some("respond-async"))).await);
    assert_eq!(error.kind(), ErrorKind::OperationFailed);
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(error.headers()["content-type"], "application/json");
    assert_eq!(error.code(), Some("E1"));

    let server = service(|_| {
        at(200)
            .header("content-type", "application/http")
            .bytes("HTTP/1.1 201 Created\r\nLocation: /service/Customers(7)\r\n\r\n{\"ID\":7}")
    })
    .await;
    let url = server.url("/service/Customers");
    let response = run(post(&url, Some("respond-async"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], "/service/Customers(7)");
    assert_eq!(json_body(response).await, json!({"ID": 7}));

    let server = service(|_| {
        at(200)
            .header("content-type", "application/http")
            .bytes("garbage")
    })
    .await;
    let url = server.url("/service/Customers");
    let error = lro_error(run(post(&url, Some("respond-async"))).await);
    assert_eq!(error.kind(), ErrorKind::InvalidStatusBody);
}

#[tokio::test]
async fn dataverse_background_operations_end_on_their_codes() {
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/api/data/v9.2/sample_Export") => at(202)
            .header("location", hit.url("/api/backgroundoperation/110eaa68"))
            .header("x-ms-dyn-backgroundoperationid", "110eaa68")
            .header("preference-applied", "respond-async")
            .empty(),
        ("GET", "/api/backgroundoperation/110eaa68") if hit.n == 0 => at(200).json(json!({
            "backgroundOperationStateCode": 0, "backgroundOperationStatusCode": 20
        })),
        ("GET", "/api/backgroundoperation/110eaa68") => at(200).json(json!({
            "backgroundOperationStateCode": 3, "backgroundOperationStatusCode": 30, "outputParam1": "x"
        })),
        _ => not_found(hit),
    })
    .await;
    let url = server.url("/api/data/v9.2/sample_Export");
    let response = run(post(&url, Some("respond-async"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["outputParam1"], "x");
}

#[tokio::test]
async fn an_expired_result_is_poll_failed() {
    let server = service(|_| at(410).empty()).await;
    let url = server.url("/service/Customers");
    let error = lro_error(run(post(&url, Some("return=minimal, respond-async"))).await);
    assert_eq!(error.kind(), ErrorKind::PollFailed);
    assert_eq!(error.status(), Some(StatusCode::GONE));
}
