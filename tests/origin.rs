//! Contract §3, origin rule: credentials never leave the original origin. Every URL the layer
//! could be told to request (monitor headers, refreshed headers, `resourceLocation`, final URLs)
//! is checked before anything is sent; a server on 127.0.0.2 counts whatever reaches it.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::{Layer, ServiceExt};
use tower_lro::{AllowedOrigin, ErrorKind, FinalStateVia, LroError, LroInfo, LroOptions};

/// A request carrying every credential header of behaviour §3.
fn with_credentials(method: Method, url: &str) -> Request<Full<Bytes>> {
    let mut builder = request(method, url).header("x-ms-client-request-id", "req-1");
    for name in CREDENTIALS {
        builder = builder.header(name, format!("secret-{name}"));
    }
    builder.body(Full::from("{}")).unwrap()
}

/// Sends `req` through a fast layer and expects `CrossOriginPollingUrl`, with nothing sent to
/// `elsewhere` (checked after a pause, in case a stray request were still on its way).
async fn refused(req: Request<Full<Bytes>>, elsewhere: &TestServer) -> Box<LroError> {
    let client = fast().build().unwrap().layer(http_client());
    let err = lro_error(client.oneshot(req).await);
    assert_eq!(err.kind(), ErrorKind::CrossOriginPollingUrl, "{err}");
    assert_untouched(elsewhere, Duration::from_millis(50)).await;
    err
}

/// [`refused`] for `method path` on `server`, sent [`with_credentials`].
async fn refused_at(
    server: &TestServer,
    method: Method,
    path: &str,
    elsewhere: &TestServer,
) -> Box<LroError> {
    refused(with_credentials(method, &server.url(path)), elsewhere).await
}

/// An origin whose `method path` answers 202 with `header: monitor`.
async fn accepted_with(
    method: &'static str,
    path: &'static str,
    header: &'static str,
    monitor: String,
) -> TestServer {
    TestServer::single(method, path, move |_| {
        at(202).header(header, monitor.as_str()).empty()
    })
    .await
}

fn monitor_of(err: &LroError) -> Option<String> {
    err.monitor_url().map(ToString::to_string)
}

#[tokio::test]
async fn azure_async_operation_on_another_host_is_refused() {
    let other = elsewhere().await;
    let monitor = other.url("/operations/op1");
    let server = accepted_with("PUT", "/vaults/v1", "azure-asyncoperation", monitor).await;

    let err = refused_at(&server, Method::PUT, "/vaults/v1", &other).await;
    assert_eq!(err.polls(), 0);
    assert_eq!(monitor_of(&err), Some(other.url("/operations/op1")));
    assert_eq!(server.lines(), ["PUT /vaults/v1"]);
}

#[tokio::test]
async fn operation_location_on_another_host_is_refused() {
    let other = elsewhere().await;
    let monitor = other.url("/operations/op2");
    let server = accepted_with("POST", "/jobs/j1", "operation-location", monitor).await;

    let err = refused_at(&server, Method::POST, "/jobs/j1", &other).await;
    assert_eq!(monitor_of(&err), Some(other.url("/operations/op2")));
    assert_eq!(server.lines(), ["POST /jobs/j1"]);
}

#[tokio::test]
async fn protocol_relative_monitor_on_another_host_is_refused() {
    let other = elsewhere().await;
    let monitor = format!("//{}/operations/op3", other.addr);
    let server = accepted_with("POST", "/jobs/j1", "azure-asyncoperation", monitor).await;

    let err = refused_at(&server, Method::POST, "/jobs/j1", &other).await;
    assert_eq!(monitor_of(&err), Some(other.url("/operations/op3")));
    assert_eq!(server.lines(), ["POST /jobs/j1"]);
}

#[tokio::test]
async fn location_monitor_on_another_host_is_refused() {
    let other = elsewhere().await;
    let location = other.url("/results/r1");
    let server = accepted_with("DELETE", "/vaults/v1", "location", location).await;

    let err = refused_at(&server, Method::DELETE, "/vaults/v1", &other).await;
    assert_eq!(monitor_of(&err), Some(other.url("/results/r1")));
    assert_eq!(server.lines(), ["DELETE /vaults/v1"]);
}

#[tokio::test]
async fn location_beside_a_monitor_is_refused_as_the_post_result_url() {
    let other = elsewhere().await;
    let location = other.url("/results/j1");
    let server = TestServer::start(move |hit| {
        if hit.is("POST", "/jobs/j1") {
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/j1"))
                .header("location", location.as_str())
                .empty()
        } else if hit.is("GET", "/operations/j1") {
            at(200).json(json!({"status": "Succeeded"}))
        } else {
            not_found(hit)
        }
    })
    .await;

    let err = refused_at(&server, Method::POST, "/jobs/j1", &other).await;
    // The same-origin monitor was polled; only the foreign result URL was refused.
    assert_eq!(err.polls(), 1);
    assert_eq!(server.lines(), ["POST /jobs/j1", "GET /operations/j1"]);
}

#[tokio::test]
async fn monitor_refreshed_to_another_host_on_a_later_poll_is_refused() {
    let other = elsewhere().await;
    let moved = other.url("/operations/moved");
    let server = TestServer::start(move |hit| {
        if hit.is("PUT", "/vaults/v1") {
            at(202)
                .header("azure-asyncoperation", hit.url("/operations/op1"))
                .empty()
        } else if hit.is("GET", "/operations/op1") {
            at(200)
                .header("azure-asyncoperation", moved.as_str())
                .json(json!({"status": "InProgress"}))
        } else {
            not_found(hit)
        }
    })
    .await;

    let err = refused_at(&server, Method::PUT, "/vaults/v1", &other).await;
    assert_eq!(err.polls(), 1);
    assert_eq!(monitor_of(&err), Some(other.url("/operations/moved")));
    assert_eq!(server.lines(), ["PUT /vaults/v1", "GET /operations/op1"]);
}

#[tokio::test]
async fn location_refreshed_to_another_host_on_a_202_is_refused() {
    let other = elsewhere().await;
    let moved = other.url("/results/moved");
    let server = TestServer::start(move |hit| {
        if hit.is("POST", "/jobs/j1") {
            at(202).header("location", hit.url("/results/j1")).empty()
        } else if hit.is("GET", "/results/j1") {
            at(202).header("location", moved.as_str()).empty()
        } else {
            not_found(hit)
        }
    })
    .await;

    let err = refused_at(&server, Method::POST, "/jobs/j1", &other).await;
    assert_eq!(err.polls(), 1);
    assert_eq!(monitor_of(&err), Some(other.url("/results/moved")));
    assert_eq!(server.lines(), ["POST /jobs/j1", "GET /results/j1"]);
}

#[tokio::test]
async fn resource_location_on_another_host_is_refused() {
    let other = elsewhere().await;
    let result = other.url("/results/r1");
    let server = TestServer::start(move |hit| {
        if hit.is("POST", "/jobs/j1") {
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

    let err = refused_at(&server, Method::POST, "/jobs/j1", &other).await;
    assert_eq!(err.polls(), 1);
    assert_eq!(server.lines(), ["POST /jobs/j1", "GET /operations/j1"]);
}

#[tokio::test]
async fn final_state_via_location_on_another_host_is_refused() {
    let other = elsewhere().await;
    let location = other.url("/vaults/v1-result");
    let server = TestServer::start(move |hit| {
        if hit.is("PUT", "/vaults/v1") {
            at(201)
                .header("azure-asyncoperation", hit.url("/operations/op1"))
                .header("location", location.as_str())
                .json(json!({"properties": {"provisioningState": "Creating"}}))
        } else if hit.is("GET", "/operations/op1") {
            at(200).json(json!({"status": "Succeeded"}))
        } else {
            // Without the option, a PUT gets its result from the original URL: fine, but
            // this test wants the Location.
            at(200).json(json!({"name": "v1"}))
        }
    })
    .await;

    let mut put = with_credentials(Method::PUT, &server.url("/vaults/v1"));
    put.extensions_mut()
        .insert(LroOptions::new().final_state_via(FinalStateVia::Location));
    let err = refused(put, &other).await;
    assert_eq!(err.polls(), 1);
    assert_eq!(server.lines(), ["PUT /vaults/v1", "GET /operations/op1"]);
}

#[tokio::test]
async fn another_port_on_the_same_host_is_refused() {
    let other = elsewhere().await;
    // Same host as the origin, other port: counts what reaches it, like `other`.
    let same_host = TestServer::start(|_| at(200).json(json!({"status": "Succeeded"}))).await;
    let monitor = same_host.url("/operations/op1");
    let server = accepted_with("PUT", "/vaults/v1", "azure-asyncoperation", monitor).await;

    let err = refused_at(&server, Method::PUT, "/vaults/v1", &other).await;
    assert_eq!(monitor_of(&err), Some(same_host.url("/operations/op1")));
    assert_eq!(same_host.hit_count(), 0, "{:?}", same_host.lines());
    assert_eq!(server.lines(), ["PUT /vaults/v1"]);
}

#[tokio::test]
async fn https_to_http_is_refused_even_on_the_same_host_and_port() {
    let other = elsewhere().await;
    let server = TestServer::start(|hit| {
        if hit.is("PUT", "/vaults/v1") {
            at(202)
                .header(
                    "azure-asyncoperation",
                    "http://vault.test:8443/operations/op1",
                )
                .empty()
        } else {
            at(200).json(json!({"status": "Succeeded"}))
        }
    })
    .await;

    // The pinned connector carries the `https` request (as plain HTTP) to the loopback server,
    // which would also receive the downgraded poll if it were sent.
    let client = fast().build().unwrap().layer(pinned_client(server.addr));
    let put = with_credentials(Method::PUT, "https://vault.test:8443/vaults/v1");
    let err = lro_error(client.oneshot(put).await);
    assert_eq!(err.kind(), ErrorKind::CrossOriginPollingUrl, "{err}");
    assert_eq!(
        monitor_of(&err).as_deref(),
        Some("http://vault.test:8443/operations/op1")
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.lines(), ["PUT /vaults/v1"]);
    assert_eq!(other.hit_count(), 0);
}

#[tokio::test]
async fn an_explicit_default_port_is_the_same_origin() {
    for (orig, monitor) in [
        (
            "http://vault.test/vaults/v1",
            "http://VAULT.test:80/operations/op1",
        ),
        (
            "https://vault.test/vaults/v1",
            "https://vault.test:443/operations/op1",
        ),
    ] {
        let server = TestServer::start(move |hit| {
            if hit.is("POST", "/vaults/v1") {
                at(202).header("azure-asyncoperation", monitor).empty()
            } else if hit.is("GET", "/operations/op1") {
                at(200).json(json!({"status": "Succeeded"}))
            } else {
                not_found(hit)
            }
        })
        .await;

        let client = fast().build().unwrap().layer(pinned_client(server.addr));
        let response = client
            .oneshot(with_credentials(Method::POST, orig))
            .await
            .unwrap_or_else(|e| panic!("{orig} -> {monitor}: {e}"));
        assert_eq!(response.status(), StatusCode::OK);
        let info = response.extensions().get::<LroInfo>().unwrap();
        assert_eq!(info.monitor_url().to_string(), monitor);

        let hits = server.hits();
        assert_eq!(server.lines(), ["POST /vaults/v1", "GET /operations/op1"]);
        // Same origin: the credentials went along.
        assert_eq!(hits[1].credentials(), CREDENTIALS.len(), "{orig}");
    }
}

/// An origin server whose monitor moves to `other` and then back: PUT → AAO on `other` →
/// (`other` answers InProgress and moves the monitor back here) → GET here → final GET here.
async fn round_trip(other_base: Arc<OnceLock<String>>) -> TestServer {
    TestServer::start(move |hit| {
        if hit.is("PUT", "/vaults/v1") {
            let monitor = format!("{}/operations/op1", other_base.get().unwrap());
            at(202)
                .header("azure-asyncoperation", monitor)
                .header("retry-after-ms", "1")
                .empty()
        } else if hit.is("GET", "/operations/op1") {
            at(200).json(json!({"status": "Succeeded"}))
        } else if hit.is("GET", "/vaults/v1") {
            at(200).json(json!({"name": "v1", "properties": {"provisioningState": "Succeeded"}}))
        } else {
            not_found(hit)
        }
    })
    .await
}

/// The allowed other origin: InProgress, with the monitor moved back to `origin_base`.
async fn allowed_other(origin_base: Arc<OnceLock<String>>) -> TestServer {
    TestServer::start_on("127.0.0.2", move |hit| {
        if hit.is("GET", "/operations/op1") {
            let back = format!("{}/operations/op1", origin_base.get().unwrap());
            at(200)
                .header("azure-asyncoperation", back)
                .header("retry-after-ms", "1")
                .json(json!({"status": "InProgress"}))
        } else {
            not_found(hit)
        }
    })
    .await
}

async fn allowed_round_trip(credentials: bool) -> (TestServer, TestServer) {
    let (origin_base, other_base) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
    let other = allowed_other(origin_base.clone()).await;
    let server = round_trip(other_base.clone()).await;
    origin_base.set(server.base.clone()).unwrap();
    other_base.set(other.base.clone()).unwrap();

    let mut allowed = AllowedOrigin::parse(&other.base).unwrap();
    if credentials {
        allowed = allowed.with_credentials();
    }
    let client = fast()
        .allow_origin(allowed)
        .build()
        .unwrap()
        .layer(http_client());
    let response = client
        .oneshot(with_credentials(Method::PUT, &server.url("/vaults/v1")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_of(response).await,
        r#"{"name":"v1","properties":{"provisioningState":"Succeeded"}}"#
    );
    assert_eq!(other.lines(), ["GET /operations/op1"]);
    assert_eq!(
        server.lines(),
        ["PUT /vaults/v1", "GET /operations/op1", "GET /vaults/v1"]
    );
    (server, other)
}

#[tokio::test]
async fn an_allowed_origin_is_polled_without_credentials_and_the_own_origin_with_them() {
    let (server, other) = allowed_round_trip(false).await;

    let other_hits = other.hits();
    assert_eq!(
        other_hits[0].credentials(),
        0,
        "{:?}",
        other_hits[0].headers
    );
    // Behaviour §3: credentials follow each request's own origin. The poll back here and the
    // PUT's final GET carry the caller's credentials (without them the real service answers
    // 401 and the PUT would end in FinalGetFailed).
    for hit in server.hits() {
        assert_eq!(
            hit.credentials(),
            CREDENTIALS.len(),
            "{} {}",
            hit.method,
            hit.target
        );
        assert_eq!(
            hit.headers.get("authorization").unwrap(),
            "secret-authorization"
        );
    }
}

#[tokio::test]
async fn an_allowed_origin_with_credentials_receives_them() {
    let (server, other) = allowed_round_trip(true).await;

    let other_hits = other.hits();
    assert_eq!(other_hits[0].credentials(), CREDENTIALS.len());
    for name in CREDENTIALS {
        assert_eq!(
            other_hits[0].headers.get(name).unwrap(),
            format!("secret-{name}").as_str()
        );
    }
    for hit in server.hits() {
        assert_eq!(hit.credentials(), CREDENTIALS.len(), "{}", hit.target);
    }
}
