//! Microsoft Graph's operations end to end (behaviour §8.4): each example exchange through
//! hyper-util's client against a loopback server that answers for Graph's and OneDrive's hosts.

mod support;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::{Layer, ServiceExt};
use tower_lro::{ErrorKind, LroDialect, MonitorKind};

fn post(url: &str, body: &'static str) -> Request<Full<Bytes>> {
    request(Method::POST, url)
        .header("authorization", "Bearer graph-token")
        .header("content-type", "application/json")
        .body(Full::from(body))
        .unwrap()
}

async fn run(
    server: &TestServer,
    req: Request<Full<Bytes>>,
) -> Result<ClientResponse, tower::BoxError> {
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    fast().build().unwrap().layer(client).oneshot(req).await
}

const MONITOR: &str = "https://api.onedrive.com/monitor/4A3407B5?tempauth=eyJ.SECRET";

/// Drive copy: the monitor is on another host and answers 202 until "completed".
async fn drive_copy(monitor: &'static str) -> TestServer {
    TestServer::start(move |hit| {
        let on = hit.host();
        if on == "graph.microsoft.com" && hit.is("POST", "/beta/me/drive/items/X/copy") {
            return at(202).header("location", monitor).empty();
        }
        if on != "graph.microsoft.com" && hit.path.ends_with("/monitor/4A3407B5") {
            let body = if hit.n == 0 {
                json!({"operation": "ItemCopy", "percentageComplete": 27.8, "status": "inProgress"})
            } else {
                json!({"percentageComplete": 100.0, "resourceId": "01MOWKYV", "status": "completed"})
            };
            return at(202).json(body);
        }
        not_found(hit)
    })
    .await
}

#[tokio::test]
async fn drive_copy_polls_its_monitor_host_without_credentials() {
    let server = drive_copy(MONITOR).await;
    let url = "https://graph.microsoft.com/beta/me/drive/items/X/copy";
    let response = run(&server, post(url, r#"{"name":"Copy"}"#)).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a 202 completed is the result, as 200"
    );
    let info = info_of(&response);
    assert_eq!(info.dialect(), LroDialect::Graph);
    assert_eq!(info.monitor_kind(), MonitorKind::GraphMonitor);
    assert_eq!(info.percent_complete(), Some(100.0));
    assert_eq!(
        info.monitor_url().to_string(),
        "https://api.onedrive.com/monitor/4A3407B5?tempauth=REDACTED",
        "the tempauth token is never shown"
    );
    assert_eq!(json_body(response).await["resourceId"], "01MOWKYV");
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    for monitor in &hits[1..] {
        assert_eq!(monitor.host(), "api.onedrive.com");
        assert_eq!(
            monitor.credentials(),
            0,
            "no Graph token to the monitor host"
        );
    }
}

#[tokio::test]
async fn a_monitor_host_off_the_list_or_not_https_is_refused() {
    for monitor in [
        "https://evil.example/monitor/4A3407B5?tempauth=eyJ.SECRET",
        "http://contoso.sharepoint.com/_api/v2.0/monitor/4A3407B5",
    ] {
        let server = drive_copy(monitor).await;
        let url = "https://graph.microsoft.com/beta/me/drive/items/X/copy";
        let error = lro_error(run(&server, post(url, "{}")).await);
        assert_eq!(error.kind(), ErrorKind::CrossOriginPollingUrl, "{monitor}");
        assert!(!format!("{error} {error:?}").contains("SECRET"));
        assert_eq!(server.hit_count(), 1, "nothing sent to {monitor}");
    }
    // A SharePoint monitor is on the list.
    let server = drive_copy("https://contoso.sharepoint.com/_api/v2.0/monitor/4A3407B5").await;
    let url = "https://graph.microsoft.com/beta/me/drive/items/X/copy";
    assert!(run(&server, post(url, "{}")).await.is_ok());
}

#[tokio::test]
async fn teams_clone_polls_its_version_relative_location_then_the_team() {
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/v1.0/teams/T/clone") => at(202)
            .header("location", "/teams('79af')/operations('8ad1')")
            .empty(),
        ("GET", "/v1.0/teams('79af')/operations('8ad1')") if hit.n == 0 => {
            at(200).json(json!({"status": "inProgress"}))
        }
        ("GET", "/v1.0/teams('79af')/operations('8ad1')") => at(200).json(json!({
            "status": "succeeded", "targetResourceLocation": "/teams('79af')"
        })),
        ("GET", "/v1.0/teams('79af')") => {
            at(200).json(json!({"id": "79af", "displayName": "Clone"}))
        }
        _ => not_found(hit),
    })
    .await;
    let url = "https://graph.microsoft.com/v1.0/teams/T/clone";
    let response = run(&server, post(url, r#"{"displayName":"Clone"}"#))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["displayName"], "Clone");
    let hits = server.hits();
    assert_eq!(hits.len(), 4);
    assert!(hits
        .iter()
        .all(|h| h.headers["authorization"] == "Bearer graph-token"));
}

#[tokio::test]
async fn stepwise_operations_fetch_their_resource_location() {
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/v1.0/storage/archives") => at(202)
            .header(
                "location",
                "https://graph.microsoft.com/v1.0/storage/operations/123",
            )
            .empty(),
        ("GET", "/v1.0/storage/operations/123") if hit.n == 0 => at(200)
            .header("retry-after-ms", "5")
            .json(json!({"status": "running"})),
        ("GET", "/v1.0/storage/operations/123") => at(200).json(json!({
            "status": "succeeded",
            "resourceLocation": "https://graph.microsoft.com/v1.0/storage/archives/987"
        })),
        ("GET", "/v1.0/storage/archives/987") => at(201).json(json!({"id": "987"})),
        _ => not_found(hit),
    })
    .await;
    let url = "https://graph.microsoft.com/v1.0/storage/archives";
    let response = run(&server, post(url, "{}")).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the resource's 2xx as 200"
    );
    assert!(info_of(&response)
        .final_url()
        .unwrap()
        .to_string()
        .ends_with("/archives/987"));
    assert_eq!(json_body(response).await["id"], "987");
}

#[tokio::test]
async fn the_first_responses_body_is_the_result_where_it_holds_one() {
    // resetPassword puts the new password only in the 202's body.
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/v1.0/users/U/authentication/methods/M/resetPassword") => at(202)
            .header(
                "location",
                "https://graph.microsoft.com/v1.0/users/U/authentication/operations/9",
            )
            .json(json!({"newPassword": "Cuyo5459"})),
        ("GET", "/v1.0/users/U/authentication/operations/9") => {
            at(200).json(json!({"status": "succeeded"}))
        }
        _ => not_found(hit),
    })
    .await;
    let url = "https://graph.microsoft.com/v1.0/users/U/authentication/methods/M/resetPassword";
    let response = run(&server, post(url, "{}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json_body(response).await,
        json!({"newPassword": "Cuyo5459"})
    );
}

#[tokio::test]
async fn see_other_is_completion_never_followed_and_failures_carry_the_description() {
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/v1.0/me/drive/items/A/copy") => at(202)
            .header("location", "https://graph.microsoft.com/v1.0/monitor/A")
            .empty(),
        ("GET", "/v1.0/monitor/A") => at(303)
            .header("location", "/v1.0/drives('me')/items('')")
            .empty(),
        ("POST", "/v1.0/me/drive/items/B/copy") => at(202)
            .header("location", "https://graph.microsoft.com/v1.0/monitor/B")
            .empty(),
        ("GET", "/v1.0/monitor/B") => at(202).json(json!({
            "status": "failed", "statusDescription": "Name conflict"
        })),
        _ => not_found(hit),
    })
    .await;
    let response = run(
        &server,
        post(
            "https://graph.microsoft.com/v1.0/me/drive/items/A/copy",
            "{}",
        ),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        server.lines().iter().all(|l| !l.contains("drives('me')")),
        "never followed"
    );
    let error = lro_error(
        run(
            &server,
            post(
                "https://graph.microsoft.com/v1.0/me/drive/items/B/copy",
                "{}",
            ),
        )
        .await,
    );
    assert_eq!(error.kind(), ErrorKind::OperationFailed);
    assert_eq!(error.message(), Some("Name conflict"));
}

#[tokio::test]
async fn graph_is_on_by_default_and_can_be_turned_off() {
    // A copy monitor that answers 202 "completed", as OneDrive documents.
    let server = TestServer::start(|hit| match (hit.method.as_str(), hit.path.as_str()) {
        ("POST", "/v1.0/me/drive/items/X/copy") => at(202)
            .header("location", "https://graph.microsoft.com/v1.0/monitor/X")
            .empty(),
        ("GET", "/v1.0/monitor/X") => at(202).json(json!({"status": "completed"})),
        _ => not_found(hit),
    })
    .await;
    let url = "https://graph.microsoft.com/v1.0/me/drive/items/X/copy";
    let response = run(&server, post(url, "{}")).await.unwrap();
    assert_eq!(info_of(&response).dialect(), LroDialect::Graph);
    assert_eq!(server.hit_count(), 2);
    // Off: the Azure rules read the 202 as running and poll until a limit.
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    let layer = fast()
        .disable(LroDialect::Graph)
        .max_polls(3)
        .build()
        .unwrap();
    let error = lro_error(layer.layer(client).oneshot(post(url, "{}")).await);
    assert_eq!(error.kind(), ErrorKind::TimedOut);
}
