//! One request to real Google Cloud through `LroLayer` with Google's dialects on: prints the
//! operation's progress and the final Operation.
//!
//! ```sh
//! export GOOGLE_TOKEN=$(gcloud auth print-access-token)
//! # AIP-151: Spanner answers 200 with an Operation, polled at /v1/{name} until done.
//! cargo run --example google -- POST \
//!     "https://spanner.googleapis.com/v1/projects/$PROJECT/instances" instance.json
//! # Discovery: Compute answers 200 with a compute#operation, polled on compute.googleapis.com.
//! cargo run --example google -- POST \
//!     "https://compute.googleapis.com/compute/v1/projects/$PROJECT/regions/us-central1/addresses" \
//!     address.json   # {"name": "lro-demo"}
//! ```
//!
//! The bearer token is only ever sent over HTTPS, below the layer, so every poll carries it.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::util::MapRequestLayer;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroDialect, LroError, LroInfo, LroLayer, OnProgress};

const USAGE: &str = "\
usage: GOOGLE_TOKEN=<bearer token> cargo run --example google -- METHOD URL [BODY_JSON_FILE]

  GOOGLE_TOKEN    an access token, e.g. $(gcloud auth print-access-token)
  METHOD          POST, PUT, PATCH or DELETE
  URL             an https URL on a googleapis.com host
  BODY_JSON_FILE  the JSON request body, if any";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let token = std::env::var("GOOGLE_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let (Some(token), [method, url, rest @ ..]) = (token, args.as_slice()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(&token, method, url, rest.first()).await {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<LroError>() {
                Some(lro) => {
                    eprintln!(
                        "operation error: {} {}",
                        lro.kind(),
                        lro.code().unwrap_or("-")
                    );
                    eprintln!("  {lro}");
                    if let Some(token) = lro.resume_token() {
                        eprintln!("  resume with: {token}");
                    }
                }
                None => eprintln!("error: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(
    token: &str,
    method: &str,
    url: &str,
    body: Option<&String>,
) -> Result<ExitCode, BoxError> {
    let uri: Uri = url.parse()?;
    if uri.scheme_str() != Some("https") {
        return Err("the URL must be https: the bearer token is never sent in clear".into());
    }
    let body = match body {
        Some(path) => Bytes::from(std::fs::read(path).map_err(|e| format!("{path}: {e}"))?),
        None => Bytes::new(),
    };
    let request = Request::builder()
        .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes())?)
        .uri(uri)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(body))?;

    let https = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_only()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(https);
    let mut bearer = HeaderValue::try_from(format!("Bearer {token}"))?;
    bearer.set_sensitive(true);
    let service = ServiceBuilder::new()
        .layer(
            LroLayer::builder()
                .enable(LroDialect::GoogleAip151)
                .enable(LroDialect::GoogleDiscovery)
                .max_duration(Duration::from_secs(3600))
                .on_progress(OnProgress::new(|p| {
                    eprintln!(
                        "{} after {} polls, next in {:.0}s",
                        p.status().unwrap_or("running"),
                        p.polls(),
                        p.next_wait().as_secs_f64()
                    );
                }))
                .build()?,
        )
        .layer(MapRequestLayer::new(
            move |mut req: Request<Full<Bytes>>| {
                req.headers_mut().insert(AUTHORIZATION, bearer.clone());
                req
            },
        ))
        .timeout(Duration::from_secs(150))
        .service(client);

    let response = service.oneshot(request).await?;
    let status = response.status();
    println!("HTTP {status}");
    match response.extensions().get::<LroInfo>() {
        Some(info) => println!(
            "{} operation {} ({}), {} polls; response {}",
            info.dialect().as_str(),
            info.operation_name().unwrap_or("-"),
            info.matched_by(),
            info.polls(),
            info.google().and_then(|g| g.response_type()).unwrap_or("-"),
        ),
        None => println!("(no long-running operation: the response passed through)"),
    }
    let body = response.into_body().collect().await?.to_bytes();
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(json) => println!("{json:#}"),
        Err(_) => println!("{}", String::from_utf8_lossy(&body)),
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
