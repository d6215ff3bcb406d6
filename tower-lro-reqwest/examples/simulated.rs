//! A `ClientWithMiddleware` (what openapi-generator's Rust clients take) resolving one Azure
//! long-running operation against a small simulated service on loopback.
//!
//! ```sh
//! cargo run -p tower-lro-reqwest --example simulated
//! ```

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use http::Extensions;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, Middleware, Next};
use tower_lro::{AllowedOrigin, LroInfo, LroLayer, LroPoll};
use tower_lro_reqwest::{CredentialScopeMiddleware, LroMiddleware};

/// The simulated service: a storage account PUT answered `201` + `Azure-AsyncOperation`, a
/// monitor that says `InProgress` twice then `Succeeded`, and the created resource.
async fn simulated_arm(
    req: http::Request<Incoming>,
    base: String,
    polls: Arc<AtomicU32>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let auth = req.headers().contains_key("authorization");
    println!("  server: {} {} (token: {auth})", req.method(), req.uri());
    let response = match (req.method().as_str(), req.uri().path()) {
        ("PUT", "/accounts/sa1") => http::Response::builder()
            .status(201)
            .header("azure-asyncoperation", format!("{base}/operations/op1"))
            .header("retry-after-ms", "200")
            .body(r#"{"properties":{"provisioningState":"Creating"}}"#.into()),
        ("GET", "/operations/op1") if polls.fetch_add(1, Ordering::SeqCst) < 2 => {
            http::Response::builder()
                .header("retry-after-ms", "200")
                .body(r#"{"status":"InProgress","percentComplete":50}"#.into())
        }
        ("GET", "/operations/op1") => {
            http::Response::builder().body(r#"{"status":"Succeeded","percentComplete":100}"#.into())
        }
        ("GET", "/accounts/sa1") => http::Response::builder()
            .header("content-type", "application/json")
            .body(r#"{"name":"sa1","properties":{"provisioningState":"Succeeded"}}"#.into()),
        _ => http::Response::builder().status(404).body(Full::default()),
    };
    Ok(response.expect("a valid response"))
}

/// An auth middleware: a token on every request the `LroPoll` marker allows it on.
struct BearerToken(&'static str);

#[async_trait::async_trait]
impl Middleware for BearerToken {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let poll = extensions.get::<LroPoll>();
        if poll.is_none_or(|p| p.credentials_allowed()) {
            let value = format!("Bearer {}", self.0);
            req.headers_mut()
                .insert("authorization", value.parse().expect("a header value"));
        }
        next.run(req, extensions).await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let polls = Arc::new(AtomicU32::new(0));
    {
        let base = base.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (base, polls) = (base.clone(), polls.clone());
                let service = hyper::service::service_fn(move |req| {
                    simulated_arm(req, base.clone(), polls.clone())
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
    }

    // The chain: LroMiddleware first, then auth, then the scope that keeps the token on the
    // service's own origin whatever happens in between.
    let client = ClientBuilder::new(reqwest::Client::builder().no_proxy().build()?)
        .with(LroMiddleware::new(LroLayer::new()))
        .with(BearerToken("t0ken"))
        .with(CredentialScopeMiddleware::new([AllowedOrigin::parse(
            &base,
        )?]))
        .build();

    println!("PUT {base}/accounts/sa1");
    let response = client
        .put(format!("{base}/accounts/sa1"))
        .header("content-type", "application/json")
        .body(r#"{"location":"eastus","sku":{"name":"Standard_LRS"}}"#)
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            match tower_lro_reqwest::lro_error(&e) {
                Some(lro) => eprintln!("operation failed: {lro}"),
                None => eprintln!("transport: {e}"),
            }
            return Err(e.into());
        }
    };
    let info = response.extensions().get::<LroInfo>().cloned();
    println!(
        "{} from {} after {} polls ({:?} waited)",
        response.status(),
        response.url(),
        info.as_ref().map_or(0, |i| i.polls()),
        info.as_ref().map(|i| i.total_wait()).unwrap_or_default(),
    );
    println!("{}", response.text().await?);
    Ok(())
}
