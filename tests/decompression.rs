//! Compressed monitors. Polls carry the original request's `Accept-Encoding`, so a service that
//! compresses answers them compressed: a tower-http `DecompressionLayer` below `LroLayer`
//! decodes every poll before the layer reads it.

mod support;

use std::io::Write;

use bytes::Bytes;
use flate2::write::GzEncoder;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::decompression::DecompressionLayer;
use tower_lro::{ErrorKind, LroLayer};

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// `POST /jobs` answers 202 with a monitor that answers gzip whenever the request accepts it.
async fn compressing_server() -> TestServer {
    TestServer::start(|hit| {
        if hit.is("POST", "/jobs") {
            return at(202)
                .header("azure-asyncoperation", hit.url("/ops/1"))
                .header("retry-after-ms", "5")
                .empty();
        }
        if hit.is("GET", "/ops/1") {
            let word = if hit.n == 0 { "Running" } else { "Succeeded" };
            let body = json!({ "status": word, "result": "x".repeat(200) }).to_string();
            let gzip_ok = hit
                .headers
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("gzip"));
            return if gzip_ok {
                at(200)
                    .header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .bytes(gzip(&body))
            } else {
                at(200)
                    .header("content-type", "application/json")
                    .bytes(body)
            };
        }
        not_found(hit)
    })
    .await
}

fn post(server: &TestServer) -> Request<Full<Bytes>> {
    Request::post(server.url("/jobs"))
        .header("accept-encoding", "gzip")
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn decompression_below_the_layer_decodes_every_poll() {
    let server = compressing_server().await;
    let service = ServiceBuilder::new()
        .layer(LroLayer::new())
        .layer(DecompressionLayer::new())
        .service(http_client());
    let response = service.oneshot(post(&server)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(info_of(&response).polls(), 2);
    let body = json_body(response).await;
    assert_eq!(body["status"], "Succeeded");
    let polls = server.hits();
    assert!(polls[1..].iter().all(|h| h.headers["accept-encoding"]
        .to_str()
        .unwrap()
        .contains("gzip")));
}

#[tokio::test]
async fn without_decompression_a_compressed_monitor_is_not_json() {
    // What the layer says when the stack cannot decode what its polls asked for.
    let server = compressing_server().await;
    let service = ServiceBuilder::new()
        .layer(LroLayer::new())
        .service(http_client());
    let error = lro_error(service.oneshot(post(&server)).await);
    assert_eq!(error.kind(), ErrorKind::InvalidStatusBody);
    assert_eq!(error.headers()["content-encoding"], "gzip");
}
