//! `LroMiddleware` and `CredentialScopeMiddleware` in a `ClientWithMiddleware` over loopback.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Extensions;
use http_body_util::{BodyExt, StreamBody};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use support::{answer, reqwest_client, Server};
use tower_lro::{AllowedOrigin, ErrorKind, LroError, LroInfo, LroLayer, LroOptions, LroPoll};
use tower_lro_reqwest::{lro_error, CredentialScopeMiddleware, LroMiddleware};

const PUT_PATH: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1?api-version=2023-01-01";

fn client(layer: LroLayer) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::new(layer))
        .build()
}

/// Bounds every test: a hang is a failure, not a stuck CI.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test took over 20 s")
}

/// ARM's storage account PUT: 201 + Azure-AsyncOperation, two polls, then the final GET of the
/// resource.
fn arm(hit: &support::Hit) -> http::Response<support::Body> {
    let monitor = format!("{}/ops/1?api-version=2023-01-01", hit.base);
    match (hit.method.as_str(), hit.target.as_str()) {
        ("PUT", PUT_PATH) => answer(
            201,
            &[
                ("azure-asyncoperation", &monitor),
                ("retry-after-ms", "5"),
                ("content-type", "application/json"),
            ],
            r#"{"properties":{"provisioningState":"Creating"}}"#,
        ),
        ("GET", "/ops/1?api-version=2023-01-01") if hit.n == 0 => answer(
            200,
            &[("retry-after-ms", "5")],
            r#"{"status":"InProgress"}"#,
        ),
        ("GET", "/ops/1?api-version=2023-01-01") => answer(200, &[], r#"{"status":"Succeeded"}"#),
        ("GET", PUT_PATH) => answer(
            200,
            &[("content-type", "application/json")],
            r#"{"name":"sa1","properties":{"provisioningState":"Succeeded"}}"#,
        ),
        _ => answer(404, &[], ""),
    }
}

/// An Azure PUT resolves to the final GET's 200: two polls of the monitor, then the resource,
/// with `LroInfo` in the response extensions and the final GET's URL as the response URL.
#[tokio::test]
async fn azure_put_is_polled_to_succeeded_then_the_final_get() {
    within(async {
        let server = Server::start("127.0.0.1", arm).await;
        let url = format!("{}{PUT_PATH}", server.base);
        let response = client(LroLayer::new())
            .put(&url)
            .header("content-type", "application/json")
            .body(r#"{"location":"eastus"}"#)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 200);
        assert_eq!(response.url().as_str(), url);
        let info = response.extensions().get::<LroInfo>().unwrap().clone();
        assert_eq!(info.polls(), 2);
        assert_eq!(info.status(), Some("Succeeded"));
        assert_eq!(info.initial_status(), Some(http::StatusCode::CREATED));
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"name":"sa1","properties":{"provisioningState":"Succeeded"}}"#
        );
        assert_eq!(
            server.log(),
            [
                format!("PUT {PUT_PATH}"),
                "GET /ops/1?api-version=2023-01-01".to_string(),
                "GET /ops/1?api-version=2023-01-01".to_string(),
                format!("GET {PUT_PATH}"),
            ]
        );
    })
    .await
}

/// A failed operation is `reqwest_middleware::Error::Middleware` whose `anyhow::Error`
/// downcasts to `LroError`, with the service's code and message.
#[tokio::test]
async fn a_failed_operation_downcasts_to_lro_error_with_its_code() {
    within(async {
        let server = Server::start("127.0.0.1", |hit| match hit.target.as_str() {
            "/vm/start" => answer(
                202,
                &[
                    ("azure-asyncoperation", &format!("{}/ops/2", hit.base)),
                    ("retry-after-ms", "5"),
                ],
                "",
            ),
            "/ops/2" => answer(
                200,
                &[],
                r#"{"status":"Failed","error":{"code":"QuotaExceeded","message":"Not enough cores"}}"#,
            ),
            _ => answer(404, &[], ""),
        })
        .await;
        let err = client(LroLayer::new())
            .post(format!("{}/vm/start", server.base))
            .send()
            .await
            .unwrap_err();

        let reqwest_middleware::Error::Middleware(anyhow) = &err else {
            panic!("not a middleware error: {err:?}");
        };
        let lro = anyhow.downcast_ref::<LroError>().expect("an LroError");
        assert_eq!(lro.kind(), ErrorKind::OperationFailed);
        assert_eq!(lro.code(), Some("QuotaExceeded"));
        assert_eq!(lro.message(), Some("Not enough cores"));
        assert_eq!(
            lro.monitor_url().map(|u| u.path()),
            Some("/ops/2"),
            "the monitor URL is kept"
        );
        assert!(lro.resume_token().is_some());
        assert!(std::ptr::eq(lro_error(&err).unwrap(), lro));
    })
    .await
}

/// An error of the chain on the original request is reqwest's own, unchanged.
#[tokio::test]
async fn a_transport_error_stays_a_reqwest_error() {
    within(async {
        // A port nobody listens on: bind, note it, close.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = client(LroLayer::new())
            .put(format!("http://127.0.0.1:{port}/x"))
            .body("{}")
            .send()
            .await
            .unwrap_err();
        match &err {
            reqwest_middleware::Error::Reqwest(e) => assert!(e.is_connect(), "{e:?}"),
            other => panic!("not a reqwest error: {other:?}"),
        }
        assert!(lro_error(&err).is_none());
    })
    .await
}

/// A streaming server body: `first` at once, then whatever the test sends, then the end.
fn streaming(
    first: &'static str,
    rest: Arc<Mutex<Option<tokio::sync::mpsc::Receiver<Bytes>>>>,
) -> support::Body {
    let rx = rest.lock().unwrap().take().expect("one streaming response");
    let head = futures_util::stream::iter([Bytes::from_static(first.as_bytes())]);
    let tail = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let frames = futures_util::StreamExt::map(futures_util::StreamExt::chain(head, tail), |b| {
        Ok::<_, Infallible>(hyper::body::Frame::data(b))
    });
    StreamBody::new(frames).boxed()
}

async fn check_streams(mut response: Response, tx: tokio::sync::mpsc::Sender<Bytes>) {
    assert_eq!(response.status(), 200);
    assert!(response.extensions().get::<LroInfo>().is_none());
    // The head and the first chunk arrived while the server still holds the rest back.
    assert_eq!(response.chunk().await.unwrap().unwrap(), "first");
    tx.send(Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(response.chunk().await.unwrap().unwrap(), "second");
    drop(tx);
    assert!(response.chunk().await.unwrap().is_none());
}

/// A GET passes straight through: its response arrives before the server has sent the whole
/// body, and the body streams chunk by chunk; likewise a POST whose 200 starts no operation.
#[tokio::test]
async fn pass_through_responses_stream() {
    within(async {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let rx = Arc::new(Mutex::new(Some(rx)));
            let server = Server::start("127.0.0.1", move |_| {
                let mut response = http::Response::new(streaming("first", rx.clone()));
                response
                    .headers_mut()
                    .insert("content-type", "text/event-stream".parse().unwrap());
                response
            })
            .await;
            let url = format!("{}/events", server.base);
            let response = client(LroLayer::new())
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            assert_eq!(response.url().as_str(), url, "{method}");
            check_streams(response, tx).await;
        }
    })
    .await
}

/// A monitor on another origin is `CrossOriginPollingUrl`, and nothing is sent there.
#[tokio::test]
async fn a_monitor_on_another_origin_is_refused_and_never_requested() {
    within(async {
        let elsewhere = Server::start("127.0.0.2", |_| {
            answer(200, &[], r#"{"status":"Succeeded"}"#)
        })
        .await;
        let monitor = format!("{}/ops/9", elsewhere.base);
        let server = Server::start("127.0.0.1", move |_| {
            answer(201, &[("azure-asyncoperation", &monitor)], "{}")
        })
        .await;
        let err = client(LroLayer::new())
            .put(format!("{}{PUT_PATH}", server.base))
            .body("{}")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            lro_error(&err).unwrap().kind(),
            ErrorKind::CrossOriginPollingUrl
        );
        assert!(elsewhere.hits().is_empty());
        assert_eq!(server.hits().len(), 1);
    })
    .await
}

/// Adds `Authorization: Bearer secret` to every request, blind to `LroPoll`.
struct NaiveAuth;

#[async_trait::async_trait]
impl Middleware for NaiveAuth {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        req.headers_mut()
            .insert("authorization", "Bearer secret".parse().unwrap());
        next.run(req, extensions).await
    }
}

/// Adds the token only where `LroPoll::credentials_allowed()` says so, and records the markers.
#[derive(Clone, Default)]
struct PollAwareAuth {
    seen: Arc<Mutex<Vec<Option<LroPoll>>>>,
}

#[async_trait::async_trait]
impl Middleware for PollAwareAuth {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let poll = extensions.get::<LroPoll>().copied();
        self.seen.lock().unwrap().push(poll);
        if poll.is_none_or(|p| p.credentials_allowed()) {
            req.headers_mut()
                .insert("authorization", "Bearer secret".parse().unwrap());
        }
        next.run(req, extensions).await
    }
}

/// The caller's origin A starts an operation whose monitor is on the allow-listed origin B
/// (127.0.0.2, without credentials); the result is fetched back on A.
async fn two_origins() -> (Server, Server, LroLayer) {
    let b = Server::start("127.0.0.2", |hit| match hit.n {
        0 => answer(
            200,
            &[("retry-after-ms", "5")],
            r#"{"status":"InProgress"}"#,
        ),
        _ => answer(200, &[], r#"{"status":"Succeeded"}"#),
    })
    .await;
    let monitor = format!("{}/ops/3", b.base);
    let a = Server::start("127.0.0.1", move |hit| match hit.method.as_str() {
        "PUT" => answer(
            201,
            &[("azure-asyncoperation", &monitor), ("retry-after-ms", "5")],
            "{}",
        ),
        _ => answer(200, &[], r#"{"name":"sa1"}"#),
    })
    .await;
    let layer = LroLayer::builder()
        .allow_origin(AllowedOrigin::parse(&b.base).unwrap())
        .build()
        .unwrap();
    (a, b, layer)
}

fn authorization(hit: &support::Hit) -> Option<&str> {
    hit.headers
        .get("authorization")
        .map(|v| v.to_str().unwrap())
}

/// A naive auth middleware followed by `CredentialScopeMiddleware`: the allow-listed other
/// origin never gets the token; the caller's origin gets it on the PUT and the final GET.
#[tokio::test]
async fn credential_scope_keeps_the_token_off_an_allowed_other_origin() {
    within(async {
        let (a, b, layer) = two_origins().await;
        let client = ClientBuilder::new(reqwest_client())
            .with(LroMiddleware::new(layer))
            .with(NaiveAuth)
            .with(CredentialScopeMiddleware::new([AllowedOrigin::parse(
                &a.base,
            )
            .unwrap()]))
            .build();
        let url = format!("{}{PUT_PATH}", a.base);
        let response = client.put(&url).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.url().as_str(), url);

        assert_eq!(b.hits().len(), 2);
        for hit in b.hits() {
            assert_eq!(authorization(&hit), None, "{} {}", hit.method, hit.target);
        }
        assert_eq!(
            a.log(),
            [format!("PUT {PUT_PATH}"), format!("GET {PUT_PATH}")]
        );
        for hit in a.hits() {
            assert_eq!(authorization(&hit), Some("Bearer secret"), "{}", hit.method);
        }
    })
    .await
}

/// Without the scope, an auth middleware that reads `LroPoll` from its middleware extensions
/// decides alone: the markers arrive (polls on B refuse credentials, the final GET on A allows
/// them), and the caller's own request has none.
#[tokio::test]
async fn an_auth_middleware_sees_lro_poll_on_every_poll() {
    within(async {
        let (a, b, layer) = two_origins().await;
        let auth = PollAwareAuth::default();
        let client = ClientBuilder::new(reqwest_client())
            .with(LroMiddleware::new(layer))
            .with(auth.clone())
            .build();
        let response = client
            .put(format!("{}{PUT_PATH}", a.base))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);

        let seen = auth.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(seen[0].is_none(), "the caller's request has no marker");
        for (i, poll) in seen[1..3].iter().enumerate() {
            let poll = poll.expect("a poll carries LroPoll");
            assert_eq!(poll.attempt(), i as u32 + 1);
            assert!(!poll.same_origin() && !poll.credentials_allowed() && !poll.final_get());
        }
        let last = seen[3].expect("the final GET carries LroPoll");
        assert!(last.final_get() && last.same_origin() && last.credentials_allowed());

        assert!(b.hits().iter().all(|h| authorization(h).is_none()));
        assert!(a
            .hits()
            .iter()
            .all(|h| authorization(h) == Some("Bearer secret")));
    })
    .await
}

/// A POST whose monitor succeeds is resolved by a GET of its latest `Location`: the response's
/// URL is that final GET's.
#[tokio::test]
async fn the_response_url_is_the_final_gets() {
    within(async {
        let server = Server::start("127.0.0.1", |hit| match hit.target.as_str() {
            "/export" => answer(
                202,
                &[
                    ("azure-asyncoperation", &format!("{}/ops/5", hit.base)),
                    ("location", "/results/5"),
                    ("retry-after-ms", "5"),
                ],
                "",
            ),
            "/ops/5" => answer(200, &[], r#"{"status":"Succeeded"}"#),
            "/results/5" => answer(200, &[], "exported"),
            _ => answer(404, &[], ""),
        })
        .await;
        let response = client(LroLayer::new())
            .post(format!("{}/export", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.url().as_str(),
            format!("{}/results/5", server.base)
        );
        assert_eq!(response.text().await.unwrap(), "exported");
    })
    .await
}

/// A write that starts no operation keeps the URL reqwest reported after its own redirects;
/// an operation resolved without a final GET keeps the request's URL.
#[tokio::test]
async fn the_response_url_of_other_responses() {
    within(async {
        let server = Server::start("127.0.0.1", |hit| match hit.target.as_str() {
            "/submit" => answer(303, &[("location", "/done")], ""),
            "/done" => answer(200, &[], "done"),
            "/action" => answer(
                202,
                &[
                    ("operation-location", &format!("{}/ops/6", hit.base)),
                    ("retry-after-ms", "5"),
                ],
                "",
            ),
            "/ops/6" => answer(200, &[], r#"{"status":"Succeeded"}"#),
            _ => answer(404, &[], ""),
        })
        .await;
        let client = client(LroLayer::new());
        let redirected = client
            .post(format!("{}/submit", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(redirected.url().as_str(), format!("{}/done", server.base));
        assert_eq!(redirected.text().await.unwrap(), "done");

        let action = format!("{}/action", server.base);
        let resolved = client.post(&action).send().await.unwrap();
        assert_eq!(resolved.status(), 200);
        assert!(resolved.extensions().get::<LroInfo>().is_some());
        assert_eq!(resolved.url().as_str(), action);
    })
    .await
}

/// A per-request `LroOptions` set with `with_extension` reaches the engine: an opt-out hands
/// the 202 back unpolled.
#[tokio::test]
async fn per_request_options_ride_in_the_middleware_extensions() {
    within(async {
        let server = Server::start("127.0.0.1", |hit| match hit.target.as_str() {
            "/vm/start" => answer(
                202,
                &[("azure-asyncoperation", &format!("{}/ops/7", hit.base))],
                "",
            ),
            _ => answer(200, &[], r#"{"status":"Succeeded"}"#),
        })
        .await;
        let response = client(LroLayer::new())
            .post(format!("{}/vm/start", server.base))
            .with_extension(LroOptions::new().opt_out())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        assert_eq!(server.hits().len(), 1);
    })
    .await
}
