//! End-to-end tests: `LroLayer` over hyper-util's legacy client, against real hyper servers on
//! loopback, with real timers. Waits are kept to tens of milliseconds with `retry-after-ms` and a
//! 10 ms schedule, so the whole file runs in about a second.

mod support;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use support::*;
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{ErrorKind, Lro, LroInfo, LroLayer, MonitorKind, PollSchedule};

// ---------------------------------------------------------------------------------------------
// The client under test.

/// The layer with 10 ms waits wherever the server gives no hint.
fn client() -> Lro<HttpClient> {
    let layer = LroLayer::builder()
        .schedule(PollSchedule::fixed(Duration::from_millis(10)).unwrap())
        .build()
        .unwrap();
    layer.layer(http_client())
}

async fn send(request: Request<Full<Bytes>>) -> Result<ClientResponse, BoxError> {
    client().oneshot(request).await
}

/// Sends `method url` with `body` and no extra headers.
fn send_to(
    method: Method,
    url: &str,
    body: &'static str,
) -> impl Future<Output = Result<ClientResponse, BoxError>> {
    send(request(method, url).body(Full::from(body)).unwrap())
}

// ---------------------------------------------------------------------------------------------
// The three operations of "Track asynchronous Azure operations".

#[tokio::test]
async fn start_vm_polls_the_async_operation_then_gets_the_location() {
    let server = TestServer::start(|hit| {
        if hit.is("POST", "/vms/vm1/start") {
            at(202)
                .header(
                    "azure-asyncoperation",
                    hit.url("/operations/op1?api-version=1"),
                )
                .header("location", hit.url("/operationResults/op1?api-version=1"))
                .header("retry-after-ms", "10")
                .empty()
        } else if hit.is("GET", "/operations/op1") {
            let status = match hit.n {
                0 => json!({"status": "InProgress", "percentComplete": 40}),
                1 => json!({"status": "InProgress", "percentComplete": 90}),
                _ => json!({"status": "Succeeded"}),
            };
            at(200).header("retry-after-ms", "10").json(status)
        } else if hit.is("GET", "/operationResults/op1") {
            at(200).empty()
        } else {
            not_found(hit)
        }
    })
    .await;

    let response = send_to(
        Method::POST,
        &server.url("/vms/vm1/start?api-version=1"),
        "",
    )
    .await
    .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    assert_eq!(info.monitor_kind(), MonitorKind::AzureAsyncOperation);
    assert_eq!(info.polls(), 3);
    assert_eq!(info.status(), Some("Succeeded"));
    // The last percentComplete sent, not reset by the Succeeded body that has none.
    assert_eq!(info.percent_complete(), Some(90.0));
    assert_eq!(
        info.final_url().map(ToString::to_string),
        Some(server.url("/operationResults/op1?api-version=1"))
    );
    assert!(body_of(response).await.is_empty());
    assert_eq!(
        server.lines(),
        [
            "POST /vms/vm1/start?api-version=1",
            "GET /operations/op1?api-version=1",
            "GET /operations/op1?api-version=1",
            "GET /operations/op1?api-version=1",
            "GET /operationResults/op1?api-version=1",
        ]
    );
}

/// The deployment's resource, in the provisioning state given.
fn deployment(state: &str) -> Value {
    json!({"id": "/deployments/d1", "name": "d1", "properties": {"provisioningState": state, "mode": "Incremental"}})
}

#[tokio::test]
async fn deployment_put_201_polls_the_monitor_then_gets_the_original_uri() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/deployments/d1") {
            at(201)
                .header(
                    "azure-asyncoperation",
                    hit.url("/deployments/d1/operationStatuses/7?api-version=1"),
                )
                .header("retry-after-ms", "10")
                .json(deployment("Accepted"))
        } else if hit.is("GET", "/deployments/d1/operationStatuses/7") {
            let word = if hit.n < 2 { "Running" } else { "Succeeded" };
            at(200).json(json!({"status": word}))
        } else if hit.is("GET", "/deployments/d1") {
            at(200).json(deployment("Succeeded"))
        } else {
            not_found(hit)
        }
    })
    .await;

    let orig = server.url("/deployments/d1?api-version=1");
    let put = request(Method::PUT, &orig)
        .header("content-type", "application/json")
        .body(Full::from(r#"{"properties":{"mode":"Incremental"}}"#))
        .unwrap();
    let response = send(put).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    assert_eq!(info.monitor_kind(), MonitorKind::AzureAsyncOperation);
    assert_eq!(info.polls(), 3);
    assert_eq!(info.status(), Some("Succeeded"));
    assert_eq!(info.final_url().map(ToString::to_string), Some(orig));
    let body: Value = serde_json::from_slice(&body_of(response).await).unwrap();
    assert_eq!(body, deployment("Succeeded"));
    assert_eq!(
        server.lines(),
        [
            "PUT /deployments/d1?api-version=1",
            "GET /deployments/d1/operationStatuses/7?api-version=1",
            "GET /deployments/d1/operationStatuses/7?api-version=1",
            "GET /deployments/d1/operationStatuses/7?api-version=1",
            "GET /deployments/d1?api-version=1",
        ]
    );
}

fn storage_account() -> Value {
    json!({
        "name": "sa1",
        "kind": "StorageV2",
        "properties": {"provisioningState": "Succeeded", "primaryEndpoints": {"blob": "https://sa1.blob.core.windows.net/"}}
    })
}

#[tokio::test]
async fn storage_account_polls_location_until_it_answers_200() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/storageAccounts/sa1") {
            at(202)
                .header("location", hit.url("/operations/s1?monitor=true"))
                .header("retry-after-ms", "150")
                .empty()
        } else if hit.is("GET", "/operations/s1") && hit.n < 2 {
            at(202)
                .header("location", hit.url("/operations/s1?monitor=true"))
                .header("retry-after-ms", "10")
                .empty()
        } else if hit.is("GET", "/operations/s1") {
            at(200).json(storage_account())
        } else {
            not_found(hit)
        }
    })
    .await;

    let put = request(
        Method::PUT,
        &server.url("/storageAccounts/sa1?api-version=1"),
    )
    .body(Full::from(r#"{"location":"westeurope"}"#))
    .unwrap();
    let response = send(put).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    assert_eq!(info.monitor_kind(), MonitorKind::Location);
    assert_eq!(
        info.monitor_url().to_string(),
        server.url("/operations/s1?monitor=true")
    );
    assert_eq!(info.polls(), 3);
    assert_eq!(
        info.final_url(),
        None,
        "the Location's 200 is the result itself"
    );
    assert!(
        info.total_wait() >= Duration::from_millis(170),
        "{:?}",
        info.total_wait()
    );
    let body: Value = serde_json::from_slice(&body_of(response).await).unwrap();
    assert_eq!(body, storage_account());

    let hits = server.hits();
    assert_eq!(
        server.lines(),
        [
            "PUT /storageAccounts/sa1?api-version=1",
            "GET /operations/s1?monitor=true",
            "GET /operations/s1?monitor=true",
            "GET /operations/s1?monitor=true",
        ]
    );
    // The initial response's hint delays the first poll.
    let first_wait = hits[1].at - hits[0].at;
    assert!(
        first_wait >= Duration::from_millis(150),
        "first poll after {first_wait:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Failures.

#[tokio::test]
async fn failed_operation_is_operation_failed_with_the_service_code_and_message() {
    let server = TestServer::start(|hit| {
        if hit.is("POST", "/vms/vm1/start") {
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/op1"))
                .header("retry-after-ms", "10")
                .empty()
        } else if hit.is("GET", "/operations/op1") && hit.n == 0 {
            at(200).json(json!({"status": "InProgress", "error": {"code": "None"}}))
        } else if hit.is("GET", "/operations/op1") {
            at(200).json(json!({
                "status": "Failed",
                "error": {"code": "AllocationFailed", "message": "Allocation failed in westeurope."}
            }))
        } else {
            not_found(hit)
        }
    })
    .await;

    let err = lro_error(send_to(Method::POST, &server.url("/vms/vm1/start"), "").await);

    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(err.code(), Some("AllocationFailed"));
    assert_eq!(err.message(), Some("Allocation failed in westeurope."));
    assert_eq!(err.polls(), 2);
    assert_eq!(err.status(), Some(StatusCode::OK));
    assert_eq!(
        err.monitor_url().map(ToString::to_string),
        Some(server.url("/operations/op1"))
    );
    assert!(err.to_string().contains("AllocationFailed"), "{err}");
    assert_eq!(
        server.lines().len(),
        3,
        "no final GET after a failure: {:?}",
        server.lines()
    );
}

#[tokio::test]
async fn location_answering_409_is_the_operations_failure() {
    let server = TestServer::start(|hit| {
        if hit.is("DELETE", "/resourceGroups/rg1") {
            at(202)
                .header("location", hit.url("/operationResults/rg1"))
                .empty()
        } else if hit.is("GET", "/operationResults/rg1") && hit.n == 0 {
            at(202).empty()
        } else if hit.is("GET", "/operationResults/rg1") {
            at(409).json(
                json!({"error": {"code": "ResourceGroupDeletionBlocked", "message": "locked"}}),
            )
        } else {
            not_found(hit)
        }
    })
    .await;

    let err = lro_error(send_to(Method::DELETE, &server.url("/resourceGroups/rg1"), "").await);

    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(err.status(), Some(StatusCode::CONFLICT));
    assert_eq!(err.code(), Some("ResourceGroupDeletionBlocked"));
    assert_eq!(err.message(), Some("locked"));
    assert_eq!(err.polls(), 2);
}

// ---------------------------------------------------------------------------------------------
// What passes through untouched.

#[tokio::test]
async fn get_passes_through_untouched_even_when_it_looks_like_an_lro() {
    // A GET is never a candidate, whatever its response says.
    const BODY: &[u8] = b"{\"status\" : \"InProgress\"}\n  ";
    let server = TestServer::single("GET", "/things/1", |hit| {
        at(202)
            .header("azure-asyncoperation", hit.url("/operations/op1"))
            .header("x-custom", "kept")
            .bytes(BODY)
    })
    .await;

    let response = send_to(Method::GET, &server.url("/things/1"), "")
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["x-custom"], "kept");
    assert!(response.extensions().get::<LroInfo>().is_none());
    assert_eq!(body_of(response).await, BODY);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.lines(), ["GET /things/1"]);
}

#[tokio::test]
async fn put_200_without_provisioning_state_passes_through_byte_identical() {
    // Odd spacing and key order: a re-serialized body would differ.
    const BODY: &[u8] =
        b"{ \"name\":\"kv1\",\n  \"properties\" : {\"sku\": {\"name\":\"standard\"}} }";
    let server = TestServer::single("PUT", "/vaults/kv1", |_| {
        at(200).header("etag", "\"1\"").bytes(BODY)
    })
    .await;

    let response = send_to(Method::PUT, &server.url("/vaults/kv1"), "{}")
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert!(response.extensions().get::<LroInfo>().is_none());
    assert_eq!(body_of(response).await, BODY);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.lines(), ["PUT /vaults/kv1"]);
}

#[tokio::test]
async fn large_put_200_body_above_the_inspection_cap_arrives_intact() {
    // 3 MiB of a non-repeating-per-KiB pattern, so a lost or reordered chunk shows.
    let big: Bytes = (0..3 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8 ^ (i >> 10) as u8)
        .collect();
    let served = big.clone();
    let server =
        TestServer::single("PUT", "/blobs/big", move |_| at(200).bytes(served.clone())).await;

    let response = send_to(Method::PUT, &server.url("/blobs/big"), "")
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<LroInfo>().is_none());
    let body = body_of(response).await;
    assert_eq!(body.len(), big.len());
    assert!(body == big, "the body changed on the way through");
    assert_eq!(server.lines(), ["PUT /blobs/big"]);
}

// ---------------------------------------------------------------------------------------------
// Headers on polls.

#[tokio::test]
async fn credentials_go_along_on_same_origin_polls() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/vaults/kv1") {
            // A relative Location is resolved against the original URL.
            at(202).header("location", "/operationResults/kv1").empty()
        } else if hit.is("GET", "/operationResults/kv1") && hit.n < 2 {
            at(202).empty()
        } else if hit.is("GET", "/operationResults/kv1") {
            at(200).json(json!({"name": "kv1"}))
        } else {
            not_found(hit)
        }
    })
    .await;

    let put = request(Method::PUT, &server.url("/vaults/kv1"))
        .header("authorization", "Bearer secret-token")
        .header("x-ms-client-request-id", "req-42")
        .body(Full::from("{}"))
        .unwrap();
    let response = send(put).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let polls: Vec<Hit> = server
        .hits()
        .into_iter()
        .filter(|h| h.method == Method::GET)
        .collect();
    assert_eq!(polls.len(), 3);
    for poll in &polls {
        assert_eq!(poll.path, "/operationResults/kv1");
        assert_eq!(
            poll.headers.get("authorization").map(|v| v.as_bytes()),
            Some(&b"Bearer secret-token"[..])
        );
        assert_eq!(
            poll.headers
                .get("x-ms-client-request-id")
                .map(|v| v.as_bytes()),
            Some(&b"req-42"[..])
        );
    }
}

#[tokio::test]
async fn body_and_conditional_headers_are_not_sent_on_polls() {
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/sites/s1") {
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/op1"))
                .header("retry-after-ms", "10")
                .empty()
        } else if hit.is("GET", "/operations/op1") && hit.n == 0 {
            at(200).json(json!({"status": "Running"}))
        } else if hit.is("GET", "/operations/op1") {
            at(200).json(json!({"status": "Succeeded"}))
        } else if hit.is("GET", "/sites/s1") {
            at(200).json(json!({"name": "s1", "properties": {"provisioningState": "Succeeded"}}))
        } else {
            not_found(hit)
        }
    })
    .await;

    let put = request(Method::PUT, &server.url("/sites/s1"))
        .header("content-type", "application/json")
        .header("content-language", "en")
        .header("if-match", "\"etag-7\"")
        .header("if-none-match", "*")
        .header("x-ms-client-request-id", "req-7")
        .body(Full::from(r#"{"location":"westeurope"}"#))
        .unwrap();
    let response = send(put).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let hits = server.hits();
    assert_eq!(hits.len(), 4, "{:?}", server.lines());
    // The server does see these headers when the caller sends them.
    assert_eq!(hits[0].headers["content-type"], "application/json");
    assert_eq!(hits[0].headers["if-match"], "\"etag-7\"");
    for get in &hits[1..] {
        assert_eq!(get.method, Method::GET);
        assert!(get.body.is_empty());
        for name in [
            "content-type",
            "content-language",
            "if-match",
            "if-none-match",
        ] {
            assert!(
                !get.headers.contains_key(name),
                "{name} sent on GET {}",
                get.target
            );
        }
        assert_eq!(get.headers["x-ms-client-request-id"], "req-7");
    }
}

// ---------------------------------------------------------------------------------------------
// The origin rule.

#[tokio::test]
async fn monitor_on_another_origin_is_refused_and_never_contacted() {
    let elsewhere = elsewhere().await;
    let monitor = elsewhere.url("/operations/op1");
    let server = TestServer::single("PUT", "/vaults/kv1", move |_| {
        at(202)
            .header("azure-asyncoperation", monitor.as_str())
            .header("retry-after-ms", "10")
            .empty()
    })
    .await;

    let put = request(Method::PUT, &server.url("/vaults/kv1"))
        .header("authorization", "Bearer secret-token")
        .body(Full::from("{}"))
        .unwrap();
    let err = lro_error(send(put).await);

    assert_eq!(err.kind(), ErrorKind::CrossOriginPollingUrl);
    assert_eq!(err.polls(), 0);
    assert_eq!(
        err.monitor_url().map(ToString::to_string),
        Some(elsewhere.url("/operations/op1"))
    );
    assert_untouched(&elsewhere, Duration::from_millis(100)).await;
    assert_eq!(server.lines(), ["PUT /vaults/kv1"]);
}

#[tokio::test]
async fn resource_location_on_another_origin_is_refused_and_never_contacted() {
    let elsewhere = elsewhere().await;
    let result = elsewhere.url("/results/r1");
    let server = TestServer::start(move |hit| {
        if hit.is("POST", "/jobs/run") {
            at(202)
                .header("operation-location", hit.url("/operations/j1"))
                .empty()
        } else if hit.is("GET", "/operations/j1") {
            at(200).json(json!({"status": "Succeeded", "resourceLocation": result}))
        } else {
            not_found(hit)
        }
    })
    .await;

    let err = lro_error(send_to(Method::POST, &server.url("/jobs/run"), "").await);

    assert_eq!(err.kind(), ErrorKind::CrossOriginPollingUrl);
    assert_untouched(&elsewhere, Duration::from_millis(100)).await;
    assert_eq!(server.lines(), ["POST /jobs/run", "GET /operations/j1"]);
}

// ---------------------------------------------------------------------------------------------
// Transient answers, cancellation, and the info extension.

#[tokio::test]
async fn transient_503_while_polling_is_retried() {
    let server = TestServer::start(|hit| {
        if hit.is("POST", "/jobs/run") {
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/j1"))
                .empty()
        } else if hit.is("GET", "/operations/j1") {
            match hit.n {
                0 => at(200).json(json!({"status": "InProgress"})),
                1 => at(503)
                    .header("retry-after-ms", "10")
                    .json(json!({"error": {"code": "ServerBusy"}})),
                _ => at(200).json(json!({"status": "Succeeded", "properties": {"output": 7}})),
            }
        } else {
            not_found(hit)
        }
    })
    .await;

    let response = send_to(Method::POST, &server.url("/jobs/run"), "")
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    assert_eq!(info.transient_retries(), 1);
    assert_eq!(info.polls(), 3);
    assert_eq!(
        info.final_url(),
        None,
        "a POST without Location ends with the monitor's body"
    );
    let body: Value = serde_json::from_slice(&body_of(response).await).unwrap();
    assert_eq!(body["properties"]["output"], 7);
    assert_eq!(
        server.lines(),
        [
            "POST /jobs/run",
            "GET /operations/j1",
            "GET /operations/j1",
            "GET /operations/j1"
        ]
    );
}

#[tokio::test]
async fn dropping_the_future_stops_polling() {
    let server = TestServer::start(|hit| {
        if hit.is("POST", "/jobs/forever") {
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/f1"))
                .header("retry-after-ms", "10")
                .empty()
        } else if hit.is("GET", "/operations/f1") {
            at(200)
                .header("retry-after-ms", "10")
                .json(json!({"status": "InProgress"}))
        } else {
            not_found(hit)
        }
    })
    .await;

    let call = send_to(Method::POST, &server.url("/jobs/forever"), "");
    // The timeout drops the future once it expires.
    let outcome = tokio::time::timeout(Duration::from_millis(200), call).await;
    assert!(
        outcome.is_err(),
        "the operation never ends, so the timeout must fire"
    );

    // Let a request already handed to the connection land, then watch for more.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let polled = server.hits().len();
    assert!(
        polled >= 5,
        "polling should have been under way: {polled} requests"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.hits().len(),
        polled,
        "requests kept coming after the drop"
    );
}

#[tokio::test]
async fn lro_info_keeps_the_status_monitor_url_after_the_final_get() {
    // Contract §5: the extension describes the monitor; the final GET has its own field.
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/deployments/d2") {
            at(201)
                .header("azure-asyncoperation", hit.url("/operationStatuses/d2"))
                .json(deployment("Accepted"))
        } else if hit.is("GET", "/operationStatuses/d2") {
            at(200).json(json!({"status": "Succeeded"}))
        } else if hit.is("GET", "/deployments/d2") {
            at(200).json(deployment("Succeeded"))
        } else {
            not_found(hit)
        }
    })
    .await;

    let response = send_to(Method::PUT, &server.url("/deployments/d2"), "{}")
        .await
        .unwrap();

    let info = info_of(&response);
    assert_eq!(
        info.final_url().map(ToString::to_string),
        Some(server.url("/deployments/d2"))
    );
    assert_eq!(
        info.monitor_url().to_string(),
        server.url("/operationStatuses/d2"),
        "monitor_url() should name the Azure-AsyncOperation monitor that was polled"
    );
}
