//! The loopback exchange over real transports: TLS (rustls, a certificate made at test time)
//! and HTTP/2 (many operations multiplexed on one connection). The simulated service answers
//! a PUT with `201` + `Azure-AsyncOperation`, the monitor with `Running` then `Succeeded`, and
//! the resource with its representation.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{Layer, ServiceExt};
use tower_lro::{LroInfo, LroLayer, PollSchedule};

/// Polls each operation's monitor has answered so far.
type Polls = Arc<Mutex<HashMap<String, u32>>>;

fn answer(req: &Request<Incoming>, base: &str, polls: &Polls) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let json = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::from(body))
            .expect("a valid response")
    };
    if let Some(id) = path.strip_prefix("/things/") {
        if req.method() == http::Method::PUT {
            let mut response = json(201, format!(r#"{{"name":"{id}"}}"#));
            let monitor = format!("{base}/ops/{id}").parse().expect("a header value");
            response
                .headers_mut()
                .insert("azure-asyncoperation", monitor);
            response
                .headers_mut()
                .insert("retry-after-ms", "1".parse().expect("a value"));
            return response;
        }
        return json(
            200,
            format!(r#"{{"name":"{id}","properties":{{"provisioningState":"Succeeded"}}}}"#),
        );
    }
    if let Some(id) = path.strip_prefix("/ops/") {
        let mut polls = polls.lock().expect("not poisoned");
        let n = polls.entry(id.to_owned()).or_default();
        *n += 1;
        let word = if *n < 2 { "Running" } else { "Succeeded" };
        return json(200, format!(r#"{{"status":"{word}"}}"#));
    }
    json(404, "{}".to_owned())
}

fn layer() -> LroLayer {
    LroLayer::builder()
        .schedule(PollSchedule::fixed(std::time::Duration::from_millis(1)).expect("a schedule"))
        .build()
        .expect("a layer")
}

async fn resolve<S>(client: S, base: &str, id: usize) -> (StatusCode, String, u32)
where
    S: tower::Service<Request<Full<Bytes>>, Response = Response<Incoming>> + Clone + Send + 'static,
    S::Error: Into<tower::BoxError>,
    S::Future: Send,
{
    let req = Request::put(format!("{base}/things/t{id}?api-version=1"))
        .body(Full::from("{}"))
        .expect("a request");
    let response = layer().layer(client).oneshot(req).await.expect("resolved");
    let polls = response
        .extensions()
        .get::<LroInfo>()
        .expect("an operation")
        .polls();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), polls)
}

#[tokio::test]
async fn operations_resolve_over_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a cert");
    let cert_der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let server_config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .expect("a server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!(
        "https://localhost:{}",
        listener.local_addr().expect("an address").port()
    );
    let polls = Polls::default();
    let (b, p) = (base.clone(), polls.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, b, p) = (acceptor.clone(), b.clone(), p.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| {
                    let response = answer(&req, &b, &p);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).expect("our certificate");
    let client_config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_config)
        .https_only()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(https);
    for id in 0..3 {
        let (status, body, polls) = resolve(client.clone(), &base, id).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains(r#""provisioningState":"Succeeded""#),
            "{body}"
        );
        assert_eq!(polls, 2);
    }
}

#[tokio::test]
async fn many_operations_share_one_http2_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let polls = Polls::default();
    let connections = Arc::new(AtomicUsize::new(0));
    let (b, p, c) = (base.clone(), polls.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let (b, p) = (b.clone(), p.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let response = answer(&req, &b, &p);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    // One request first, so that the pool holds the connection the others multiplex on.
    assert_eq!(resolve(client.clone(), &base, 0).await.0, StatusCode::OK);
    let all =
        futures::future::join_all((1..=50).map(|id| resolve(client.clone(), &base, id))).await;
    for (status, body, polls) in all {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(polls, 2);
    }
    assert_eq!(polls.lock().expect("not poisoned").len(), 51);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one HTTP/2 connection for 51 operations"
    );
}
