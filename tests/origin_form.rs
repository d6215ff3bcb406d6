//! Origin-form requests (a path, the authority in `Host`), as hyper's connection-level
//! `SendRequest` takes them: resolved when the layer is told the scheme, polled the same way,
//! and held to their own origin.

mod support;

use std::sync::Arc;

use bytes::Bytes;
use http::uri::Scheme;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::json;
use support::*;
use tokio::sync::Mutex;
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{AllowedOrigin, ErrorKind, LroError, LroInfo, LroLayer};

/// One HTTP/1 connection to `server`, as a cloneable service sending what it is given.
async fn connection(
    server: &TestServer,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = http::Response<Incoming>,
    Error = BoxError,
    Future = impl Send,
> + Clone {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let send = Arc::new(Mutex::new(send));
    tower::service_fn(move |req: Request<Full<Bytes>>| {
        let send = send.clone();
        async move {
            let mut send = send.lock().await;
            send.ready().await?;
            Ok::<_, BoxError>(send.send_request(req).await?)
        }
    })
}

fn origin_form_post(server: &TestServer, path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", format!("127.0.0.1:{}", server.port()))
        .header("authorization", "Bearer SECRET")
        .body(Full::default())
        .unwrap()
}

/// `POST /jobs` answers 202 with an absolute monitor, which answers Running, then Succeeded.
async fn job_server(monitor_host: Option<&'static str>) -> TestServer {
    TestServer::start(move |hit| {
        if hit.is("POST", "/jobs") {
            let monitor = match monitor_host {
                Some(host) => format!("http://{host}/ops/1?api-version=1"),
                None => hit.url("/ops/1?api-version=1"),
            };
            at(202).header("azure-asyncoperation", monitor).empty()
        } else if hit.is("GET", "/ops/1") {
            let status = if hit.n == 0 { "Running" } else { "Succeeded" };
            at(200).json(json!({ "status": status, "id": "op1" }))
        } else {
            not_found(hit)
        }
    })
    .await
}

#[tokio::test]
async fn an_origin_form_operation_polls_origin_form_over_its_connection() {
    let server = job_server(None).await;
    let service = LroLayer::builder()
        .origin_form_scheme(Scheme::HTTP)
        .schedule(tower_lro::PollSchedule::fixed(std::time::Duration::from_millis(5)).unwrap())
        .build()
        .unwrap()
        .layer(connection(&server).await);
    let response = service
        .oneshot(origin_form_post(&server, "/jobs"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info = response.extensions().get::<LroInfo>().unwrap().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, r#"{"id":"op1","status":"Succeeded"}"#);
    assert_eq!(info.polls(), 2);
    assert_eq!(info.monitor_url().path(), "/ops/1");

    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    for poll in &hits[1..] {
        assert_eq!(poll.target, "/ops/1?api-version=1");
        let host = format!("127.0.0.1:{}", server.port());
        assert_eq!(poll.headers["host"], host.as_str());
        assert_eq!(poll.headers["authorization"], "Bearer SECRET");
    }
}

#[tokio::test]
async fn without_the_scheme_an_origin_form_request_passes_through() {
    let server = job_server(None).await;
    let service = LroLayer::new().layer(connection(&server).await);
    let response = service
        .oneshot(origin_form_post(&server, "/jobs"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.extensions().get::<LroInfo>().is_none());
    assert_eq!(server.hit_count(), 1);
}

#[tokio::test]
async fn an_origin_form_operation_reaches_no_other_origin_even_allow_listed() {
    let server = job_server(Some("ops.example.net")).await;
    let service = LroLayer::builder()
        .origin_form_scheme(Scheme::HTTP)
        .allow_origin(AllowedOrigin::parse("http://ops.example.net").unwrap())
        .build()
        .unwrap()
        .layer(connection(&server).await);
    let result = service.oneshot(origin_form_post(&server, "/jobs")).await;
    let error = match result {
        Ok(_) => panic!("the monitor is on another origin"),
        Err(e) => e.downcast::<LroError>().unwrap(),
    };
    assert_eq!(error.kind(), ErrorKind::CrossOriginPollingUrl);
    assert_eq!(error.status(), Some(StatusCode::ACCEPTED));
    assert_eq!(server.hit_count(), 1, "nothing sent over the connection");
}
