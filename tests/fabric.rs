//! Microsoft Fabric's operations end to end (behaviour §8.5) through hyper-util's client against a
//! loopback server that answers for Fabric's hosts.

mod support;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::{Layer, ServiceExt};
use tower_lro::{ErrorKind, LroDialect, LroLayerBuilder, MonitorKind};

const ID: &str = "0acd697c-1550-43cd-b998-91bfbfbd47c6";

fn post(url: &str) -> Request<Full<Bytes>> {
    request(Method::POST, url)
        .header("authorization", "Bearer fabric-token")
        .body(Full::from(r#"{"displayName":"Notebook 1"}"#))
        .unwrap()
}

async fn run(
    server: &TestServer,
    layer: LroLayerBuilder,
    url: &str,
) -> Result<ClientResponse, tower::BoxError> {
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    layer
        .build()
        .unwrap()
        .layer(client)
        .oneshot(post(url))
        .await
}

/// The contract's example: 202 with an operation id, Running, Succeeded with a Location, then
/// `…/result`, which answers with `result`.
async fn notebook(location_host: &'static str, result: fn(&Hit) -> Answer) -> TestServer {
    TestServer::start(move |hit| {
        let location = format!("https://{location_host}/v1/operations/{ID}");
        match (hit.method.as_str(), hit.path.as_str()) {
            ("POST", "/v1/workspaces/W/notebooks") => at(202)
                .header("location", location)
                .header("x-ms-operation-id", ID)
                .empty(),
            ("GET", p) if p == format!("/v1/operations/{ID}") && hit.n == 0 => {
                at(200).json(json!({"status": "Running", "percentComplete": 25}))
            }
            ("GET", p) if p == format!("/v1/operations/{ID}") => at(200)
                .header("location", format!("{location}/result"))
                .json(json!({"status": "Succeeded", "percentComplete": 100})),
            ("GET", p) if p == format!("/v1/operations/{ID}/result") => result(hit),
            _ => not_found(hit),
        }
    })
    .await
}

fn item(_: &Hit) -> Answer {
    at(200).json(json!({"id": "5b21", "type": "Notebook", "displayName": "Notebook 1"}))
}

const CREATE: &str = "https://api.fabric.microsoft.com/v1/workspaces/W/notebooks";

#[tokio::test]
async fn a_create_resolves_to_its_result() {
    let server = notebook("api.fabric.microsoft.com", item).await;
    let response = run(&server, fast(), CREATE).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    assert_eq!(info.dialect(), LroDialect::Fabric);
    assert_eq!(info.monitor_kind(), MonitorKind::FabricOperation);
    assert_eq!(info.operation_name(), Some(ID));
    assert_eq!(info.percent_complete(), Some(100.0));
    assert_eq!(json_body(response).await["type"], "Notebook");
    let hits = server.hits();
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|h| h.host() == "api.fabric.microsoft.com"
        && h.headers["authorization"] == "Bearer fabric-token"));
}

#[tokio::test]
async fn operation_has_no_result_returns_the_state() {
    let server = notebook("api.fabric.microsoft.com", |_| {
        at(400)
            .json(json!({"requestId": "r", "errorCode": "OperationHasNoResult", "message": "none"}))
    })
    .await;
    let response = run(&server, fast(), CREATE).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["status"], "Succeeded");
    // Any other error of `/result` is the final GET's failure.
    let server = notebook("api.fabric.microsoft.com", |_| {
        at(403).json(json!({"errorCode": "InsufficientPrivileges", "message": "no"}))
    })
    .await;
    let error = lro_error(run(&server, fast(), CREATE).await);
    assert_eq!(error.kind(), ErrorKind::FinalGetFailed);
    assert_eq!(error.code(), Some("InsufficientPrivileges"));
}

#[tokio::test]
async fn the_regional_location_is_polled_only_when_told() {
    let regional = "wabi-west-us-redirect.analysis.windows.net";
    // By default: the documented API on the original host.
    let server = notebook(regional, item).await;
    run(&server, fast(), CREATE).await.unwrap();
    assert!(server
        .hits()
        .iter()
        .all(|h| h.host() == "api.fabric.microsoft.com"));
    // Told to follow: the regional host, with the token, result included.
    let server = notebook(regional, item).await;
    let response = run(
        &server,
        fast().fabric(tower_lro::FabricOptions::new().follow_location(true)),
        CREATE,
    )
    .await
    .unwrap();
    assert_eq!(json_body(response).await["displayName"], "Notebook 1");
    let hits = server.hits();
    assert!(hits[1..]
        .iter()
        .all(|h| h.host() == regional && h.headers["authorization"] == "Bearer fabric-token"));
    // Any other host stays refused.
    let server = notebook("evil.example", item).await;
    let error = lro_error(
        run(
            &server,
            fast().fabric(tower_lro::FabricOptions::new().follow_location(true)),
            CREATE,
        )
        .await,
    );
    assert_eq!(error.kind(), ErrorKind::CrossOriginPollingUrl);
    assert_eq!(server.hit_count(), 1);
}

#[tokio::test]
async fn job_starts_pass_through_and_failures_carry_the_error_code() {
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/v1/workspaces/W/items/I/jobs/instances") => at(202)
            .header(
                "location",
                "https://api.fabric.microsoft.com/v1/workspaces/W/items/I/jobs/instances/J",
            )
            .empty(),
        ("POST", "/v1/workspaces/W/notebooks") => at(202).header("x-ms-operation-id", ID).empty(),
        ("GET", _) => at(200).json(json!({
            "status": "Failed",
            "error": {"errorCode": "ItemDisplayNameAlreadyInUse", "message": "taken"}
        })),
        _ => not_found(hit),
    })
    .await;
    let job = "https://api.fabric.microsoft.com/v1/workspaces/W/items/I/jobs/instances?jobType=x";
    let response = run(&server, fast(), job).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "a job instance is its own resource"
    );
    assert_eq!(server.hit_count(), 1);
    let error = lro_error(run(&server, fast(), CREATE).await);
    assert_eq!(error.kind(), ErrorKind::OperationFailed);
    assert_eq!(error.code(), Some("ItemDisplayNameAlreadyInUse"));
    assert_eq!(error.message(), Some("taken"));
}
