//! Google's operation dialects end to end: each example exchange of the dialects contract
//! (§2f, §3f) through hyper-util's client against a loopback server that answers for the
//! Google hosts, the look-alikes that must pass through, and the default schedule under paused
//! time.

mod scripted;
mod support;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::{Layer, ServiceExt};
use tower_lro::{ErrorKind, LroDialect, LroLayer, LroOptions, MonitorKind};

fn post(url: &str) -> Request<Full<Bytes>> {
    request(Method::POST, url)
        .header("authorization", "Bearer ya29.token")
        .body(Full::from("{}"))
        .unwrap()
}

fn google_layer() -> LroLayer {
    fast()
        .enable(LroDialect::GoogleAip151)
        .enable(LroDialect::GoogleDiscovery)
        .build()
        .unwrap()
}

const SPANNER_OP: &str = "projects/P/instances/I/operations/OP";

/// Spanner: the start answers 200 with a running Operation; the poll of `/v1/{name}` is done.
async fn spanner() -> TestServer {
    TestServer::start(|hit| {
        if hit.is("POST", "/v1/projects/P/instances") {
            return at(200).json(json!({
                "metadata": {"@type": "type.googleapis.com/google.spanner.admin.instance.v1.CreateInstanceMetadata"},
                "name": SPANNER_OP,
            }));
        }
        if hit.method == "GET" && hit.path == format!("/v1/{SPANNER_OP}") {
            if hit.n == 0 {
                return at(200).json(json!({"name": SPANNER_OP, "done": false}));
            }
            return at(200).json(json!({
                "done": true,
                "metadata": {"@type": "type.googleapis.com/google.spanner.admin.instance.v1.CreateInstanceMetadata"},
                "name": SPANNER_OP,
                "response": {"@type": "type.googleapis.com/google.spanner.admin.instance.v1.Instance", "state": "READY"},
            }));
        }
        not_found(hit)
    })
    .await
}

#[tokio::test]
async fn aip_spanner_create_instance_resolves_to_the_done_operation() {
    let server = spanner().await;
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    let url = "https://spanner.googleapis.com/v1/projects/P/instances?alt=json";
    let response = google_layer()
        .layer(client)
        .oneshot(post(url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = info_of(&response);
    assert_eq!(info.dialect(), LroDialect::GoogleAip151);
    assert_eq!(info.monitor_kind(), MonitorKind::GoogleOperation);
    assert_eq!(info.operation_name(), Some(SPANNER_OP));
    assert_eq!(info.polls(), 2);
    assert_eq!(
        info.google().and_then(|g| g.response_type()),
        Some("type.googleapis.com/google.spanner.admin.instance.v1.Instance")
    );
    let body = json_body(response).await;
    assert_eq!(body["response"]["state"], "READY");
    assert_eq!(body["done"], true);
    let hits = server.hits();
    assert_eq!(hits[1].target, format!("/v1/{SPANNER_OP}?alt=json"));
    assert!(hits.iter().all(|h| h.host() == "spanner.googleapis.com"
        && h.headers["authorization"] == "Bearer ya29.token"));
}

#[tokio::test]
async fn aip_is_off_by_default_and_per_request_on() {
    let server = spanner().await;
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    let url = "https://spanner.googleapis.com/v1/projects/P/instances?alt=json";
    // Off: the running Operation is handed over as the API answered it.
    let response = LroLayer::new()
        .layer(client.clone())
        .oneshot(post(url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<tower_lro::LroInfo>().is_none());
    assert_eq!(server.hit_count(), 1);
    // On for one request.
    let mut req = post(url);
    req.extensions_mut()
        .insert(LroOptions::new().enable(LroDialect::GoogleAip151));
    let response = fast()
        .build()
        .unwrap()
        .layer(client)
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(json_body(response).await["done"], true);
}

#[tokio::test]
async fn aip_cancelled_operation_is_operation_canceled_with_the_rpc_code() {
    let op = "projects/N/locations/us-central1/datasets/D/operations/OP";
    let server = TestServer::start(move |hit| {
        if hit.method == "POST" {
            return at(200).json(
                json!({"name": op, "metadata": {"@type": "t.CreateDatasetOperationMetadata"}}),
            );
        }
        if hit.path == format!("/v1/{op}") {
            return at(200).json(
                json!({"name": op, "done": true, "error": {"code": 1, "message": "CANCELLED"}}),
            );
        }
        not_found(hit)
    })
    .await;
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    let url = "https://us-central1-aiplatform.googleapis.com/v1/projects/N/locations/us-central1/datasets";
    let error = lro_error(google_layer().layer(client).oneshot(post(url)).await);
    assert_eq!(error.kind(), ErrorKind::OperationCanceled);
    assert_eq!(error.code(), Some("CANCELLED"));
    assert_eq!(
        error.resume_token().unwrap().dialect(),
        LroDialect::GoogleAip151
    );
    assert_eq!(error.resume_token().unwrap().operation_name(), Some(op));
}

#[tokio::test]
async fn compute_polls_its_self_link_on_the_original_host() {
    let base = "/compute/v1/projects/P/regions/us-central1";
    let server = TestServer::start(move |hit| {
        let operation = |status: &str| {
            json!({
                "kind": "compute#operation", "name": "OP", "operationType": "insert", "status": status,
                "selfLink": format!("https://www.googleapis.com{base}/operations/OP"),
                "targetLink": format!("https://www.googleapis.com{base}/addresses/A"),
            })
        };
        if hit.is("POST", &format!("{base}/addresses")) {
            return at(200).json(operation("RUNNING"));
        }
        if hit.is("GET", &format!("{base}/operations/OP")) {
            let mut done = operation("DONE");
            done["progress"] = json!(100);
            return at(200).json(done);
        }
        not_found(hit)
    })
    .await;
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    let url = format!("https://compute.googleapis.com{base}/addresses?alt=json");
    let response = google_layer()
        .layer(client)
        .oneshot(post(&url))
        .await
        .unwrap();
    let info = info_of(&response);
    assert_eq!(info.dialect(), LroDialect::GoogleDiscovery);
    assert_eq!(info.matched_by(), "compute#operation body");
    assert!(info
        .google()
        .unwrap()
        .target_link()
        .unwrap()
        .ends_with("/addresses/A"));
    assert_eq!(json_body(response).await["status"], "DONE");
    assert!(server
        .hits()
        .iter()
        .all(|h| h.host() == "compute.googleapis.com"));
}

#[tokio::test]
async fn gke_polls_by_location_never_its_self_link() {
    let server = TestServer::start(|hit| {
        let operation = |status: &str| {
            json!({
                "name": "OP", "operationType": "CREATE_CLUSTER", "status": status,
                "selfLink": "https://container.googleapis.com/v1/projects/123/zones/us-central1-a/operations/OP",
                "targetLink": "https://container.googleapis.com/v1/projects/123/zones/us-central1-a/clusters/c",
            })
        };
        if hit.is("POST", "/v1/projects/P/locations/us-central1-a/clusters") {
            return at(200).json(operation("RUNNING"));
        }
        if hit.is("GET", "/v1/projects/P/locations/us-central1-a/operations/OP") {
            return at(200).json(operation("DONE"));
        }
        not_found(hit)
    })
    .await;
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    let url =
        "https://container.googleapis.com/v1/projects/P/locations/us-central1-a/clusters?alt=json";
    let response = google_layer()
        .layer(client)
        .oneshot(post(url))
        .await
        .unwrap();
    assert_eq!(json_body(response).await["status"], "DONE");
    assert_eq!(server.hit_count(), 2);
}

#[tokio::test]
async fn look_alikes_pass_through_untouched() {
    let server = TestServer::start(|hit| match hit.path.as_str() {
        // An ordinary resource, a task object, a Kubernetes Status.
        "/v1/projects/P/instances/I" => {
            at(200).json(json!({"name": "projects/P/instances/I", "state": "READY"}))
        }
        "/v1/tasks" => at(200).json(json!({"name": "x", "done": true})),
        _ => at(200).json(json!({"status": "Success", "kind": "Status", "apiVersion": "v1"})),
    })
    .await;
    let client = pinned_client(([127, 0, 0, 1], server.port()).into());
    for url in [
        "https://spanner.googleapis.com/v1/projects/P/instances/I",
        "https://x.googleapis.com/v1/tasks",
        "https://run.googleapis.com/apis/serving.knative.dev/v1/namespaces/P/services/s",
    ] {
        let req = request(Method::PATCH, url).body(Full::default()).unwrap();
        let response = google_layer()
            .layer(client.clone())
            .oneshot(req)
            .await
            .unwrap();
        assert!(
            response.extensions().get::<tower_lro::LroInfo>().is_none(),
            "{url}"
        );
    }
    assert_eq!(server.hit_count(), 3);
}

/// The Google dialects' own schedule without hints: 1 s doubling to 60 s.
#[tokio::test(start_paused = true)]
async fn google_default_schedule_doubles_to_sixty_seconds() {
    use scripted::{answer, response};
    let (mock, mut handle) = tower_test::mock::pair::<Request<String>, Response<String>>();
    let layer = LroLayer::builder()
        .enable(LroDialect::GoogleAip151)
        .build()
        .unwrap();
    let url = "https://spanner.googleapis.com/v1/projects/P/instances";
    let call = tokio::spawn(
        layer
            .layer(mock)
            .oneshot(Request::post(url).body(String::new()).unwrap()),
    );
    let running = format!(r#"{{"name":"{SPANNER_OP}"}}"#);
    answer(&mut handle, url, response(200, &[], &running)).await;
    let poll = format!("https://spanner.googleapis.com/v1/{SPANNER_OP}");
    let mut waits = Vec::new();
    let mut last = tokio::time::Instant::now();
    for _ in 0..8 {
        answer(&mut handle, &poll, response(200, &[], &running)).await;
        waits.push((tokio::time::Instant::now() - last).as_secs());
        last = tokio::time::Instant::now();
    }
    answer(
        &mut handle,
        &poll,
        response(
            200,
            &[],
            &format!(r#"{{"name":"{SPANNER_OP}","done":true}}"#),
        ),
    )
    .await;
    waits.push((tokio::time::Instant::now() - last).as_secs());
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    let response = call.await.unwrap().unwrap();
    let info: &tower_lro::LroInfo = response.extensions().get().unwrap();
    assert!(info.google().unwrap().result_missing());
}
