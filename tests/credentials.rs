//! Behaviour §3, "credentials follow each request's own origin, and fail closed below the
//! layer", over loopback: the auth layer the docs show, under a retry policy whose
//! `clone_request` drops extensions, above `CredentialScopeLayer`. A server on 127.0.0.2 (an
//! allowed origin, without credentials) counts every credential that reaches it.

mod support;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::*;
use tower::retry::{Policy, RetryLayer};
use tower::util::BoxCloneService;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{AllowedOrigin, CredentialScopeLayer, LroPoll};

/// A hand-written retry policy as users write them: `clone_request` rebuilds the request from
/// its method, URI and headers, and so loses its extensions (the `LroPoll` marker among them).
#[derive(Clone)]
struct RebuildingRetry;

impl<B, E> Policy<Request<Full<Bytes>>, http::Response<B>, E> for RebuildingRetry {
    type Future = std::future::Ready<()>;

    /// Retries a 503 at once (the other origin answers one first).
    fn retry(
        &mut self,
        _req: &mut Request<Full<Bytes>>,
        result: &mut Result<http::Response<B>, E>,
    ) -> Option<Self::Future> {
        let unavailable = matches!(result, Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE);
        unavailable.then(|| std::future::ready(()))
    }

    fn clone_request(&mut self, req: &Request<Full<Bytes>>) -> Option<Request<Full<Bytes>>> {
        let mut copy = Request::builder()
            .method(req.method().clone())
            .uri(req.uri().clone())
            .body(Full::default())
            .ok()?;
        *copy.headers_mut() = req.headers().clone();
        Some(copy)
    }
}

/// The auth pattern the `LroPoll` docs show: a token where there is no marker or it allows one.
fn add_token(mut req: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let allowed = req
        .extensions()
        .get::<LroPoll>()
        .is_none_or(|poll| poll.credentials_allowed());
    if allowed {
        req.headers_mut()
            .insert("authorization", "Bearer secret-token".parse().unwrap());
    }
    req
}

type Client = BoxCloneService<Request<Full<Bytes>>, ClientResponse, BoxError>;

/// LroLayer → retry that drops extensions → auth → [scope] → hyper-util.
fn stack(other: &str, scope: Option<&str>) -> Client {
    let lro = fast()
        .allow_origin(AllowedOrigin::parse(other).unwrap())
        .build()
        .unwrap();
    let below = ServiceBuilder::new()
        .layer(RetryLayer::new(RebuildingRetry))
        .map_request(add_token)
        .option_layer(
            scope.map(|origin| CredentialScopeLayer::new([AllowedOrigin::parse(origin).unwrap()])),
        )
        .service(http_client())
        .map_err(Into::<BoxError>::into);
    BoxCloneService::new(ServiceBuilder::new().layer(lro).service(below))
}

/// PUT on the origin → a monitor on 127.0.0.2 (allowed, no credentials) → back to the
/// origin's monitor → Succeeded → the PUT's final GET on the origin.
async fn servers() -> (TestServer, TestServer) {
    let (origin_base, other_base) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
    let back = origin_base.clone();
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let other = TestServer::start_on("127.0.0.2", move |hit| {
        let fresh = first.swap(false, std::sync::atomic::Ordering::SeqCst);
        if hit.is("GET", "/operations/op1") && fresh {
            // Retried below the layer by a policy that rebuilds the request.
            at(503).empty()
        } else if hit.is("GET", "/operations/op1") {
            at(200)
                .header(
                    "azure-asyncoperation",
                    format!("{}/operations/op2", back.get().unwrap()),
                )
                .header("retry-after-ms", "1")
                .json(json!({"status": "InProgress"}))
        } else {
            not_found(hit)
        }
    })
    .await;
    let there = other_base.clone();
    let server = TestServer::start(move |hit| {
        if hit.is("PUT", "/vaults/v1") {
            at(202)
                .header(
                    "azure-asyncoperation",
                    format!("{}/operations/op1", there.get().unwrap()),
                )
                .header("retry-after-ms", "1")
                .empty()
        } else if hit.is("GET", "/operations/op2") {
            at(200).json(json!({"status": "Succeeded"}))
        } else if hit.is("GET", "/vaults/v1") {
            at(200).json(json!({"name": "v1"}))
        } else {
            not_found(hit)
        }
    })
    .await;
    origin_base.set(server.base.clone()).unwrap();
    other_base.set(other.base.clone()).unwrap();
    (server, other)
}

async fn run(client: Client, server: &TestServer) -> StatusCode {
    let req = request(Method::PUT, &server.url("/vaults/v1"))
        .body(Full::from("{}"))
        .unwrap();
    client.oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn no_credential_reaches_another_origin_even_when_extensions_are_lost() {
    let (server, other) = servers().await;
    let client = stack(&other.base, Some(&server.base));
    assert_eq!(run(client, &server).await, StatusCode::OK);

    assert_eq!(
        other.lines(),
        ["GET /operations/op1", "GET /operations/op1"]
    );
    for hit in other.hits() {
        assert_eq!(hit.credentials(), 0, "{:?}", hit.headers);
    }
    // Every request to the caller's own origin carries the credential: the PUT, the poll back
    // here after the foreign one, and the PUT's final GET.
    assert_eq!(
        server.lines(),
        ["PUT /vaults/v1", "GET /operations/op2", "GET /vaults/v1"]
    );
    for hit in server.hits() {
        assert_eq!(
            hit.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap()),
            Some("Bearer secret-token"),
            "{} {}",
            hit.method,
            hit.target
        );
    }
}

/// The control: the same stack without the scope leaks the token to the other origin, so the
/// test above fails without the code that keeps it.
#[tokio::test]
async fn without_the_scope_the_documented_auth_pattern_fails_open() {
    let (server, other) = servers().await;
    let client = stack(&other.base, None);
    assert_eq!(run(client, &server).await, StatusCode::OK);
    let hits = other.hits();
    assert!(
        !hits[0].headers.contains_key("authorization"),
        "the marker held"
    );
    assert!(
        hits[1].headers.contains_key("authorization"),
        "the rebuilt retry leaked"
    );
}
