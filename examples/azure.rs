//! One request to real Azure through `LroLayer`: prints how the long-running operation ended.
//!
//! ```sh
//! export AZURE_TOKEN=$(az account get-access-token --query accessToken -o tsv)
//! cargo run --example azure -- PUT \
//!     "https://management.azure.com/subscriptions/$SUB/resourceGroups/lro-demo?api-version=2021-04-01" \
//!     rg.json     # {"location": "westeurope"}
//! cargo run --example azure -- DELETE \
//!     "https://management.azure.com/subscriptions/$SUB/resourceGroups/lro-demo?api-version=2021-04-01"
//! ```
//!
//! While the operation runs, a progress line shows the status word, `percentComplete`, the polls
//! made and the next wait. The bearer token is only ever sent over HTTPS.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::watch;
use tower::util::MapRequestLayer;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroError, LroInfo, LroLayer, OnProgress, Progress};

const USAGE: &str = "\
usage: AZURE_TOKEN=<bearer token> cargo run --example azure -- METHOD URL [BODY_JSON_FILE]

  AZURE_TOKEN     an access token, e.g. $(az account get-access-token --query accessToken -o tsv)
  METHOD          PUT, PATCH, POST, DELETE (or GET, which is never polled)
  URL             an https URL, e.g. https://management.azure.com/subscriptions/...?api-version=...
  BODY_JSON_FILE  the JSON request body, if any";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let token = std::env::var("AZURE_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let (Some(token), [method, url, rest @ ..]) = (token, args.as_slice()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if rest.len() > 1 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let request = match request(method, url, rest.first()) {
        Ok(request) => request,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&token, request).await {
        Ok(code) => code,
        Err(e) => {
            report(&*e);
            ExitCode::FAILURE
        }
    }
}

/// Checks the arguments and builds the request (credentials are added by the stack).
fn request(
    method: &str,
    url: &str,
    body: Option<&String>,
) -> Result<Request<Full<Bytes>>, BoxError> {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())?;
    let uri: Uri = url.parse()?;
    if uri.scheme_str() != Some("https") {
        return Err("the URL must be https: the bearer token is never sent in clear".into());
    }
    let mut builder = Request::builder().method(method).uri(uri).header(
        USER_AGENT,
        concat!("tower-lro-example/", env!("CARGO_PKG_VERSION")),
    );
    let body = match body {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            // Fail here rather than with a 400 from the service after a round trip.
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| format!("{path}: not JSON: {e}"))?;
            builder = builder.header(CONTENT_TYPE, "application/json");
            Bytes::from(bytes)
        }
        None => Bytes::new(),
    };
    Ok(builder.body(Full::new(body))?)
}

async fn run(token: &str, request: Request<Full<Bytes>>) -> Result<ExitCode, BoxError> {
    let https = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_only()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build(https);

    // The hook runs inside the response future: hand the report over, print elsewhere.
    let (progress_tx, progress_rx) = watch::channel(None::<Progress>);
    let printer = tokio::spawn(print_progress(progress_rx));

    let bearer = HeaderValue::try_from(format!("Bearer {token}"))?;
    let service = ServiceBuilder::new()
        .layer(
            LroLayer::builder()
                // Some ARM operations take hours; stop waiting after two.
                .max_duration(Duration::from_secs(2 * 3600))
                // Data-plane monitors often omit the api-version they require.
                .add_api_version(true)
                .on_progress(OnProgress::new(move |p| {
                    progress_tx.send_replace(Some(p.clone()));
                }))
                .build()?,
        )
        // Below the layer, so that every poll is authenticated and bounded too.
        .layer(MapRequestLayer::new(
            move |mut req: Request<Full<Bytes>>| {
                req.headers_mut().insert(AUTHORIZATION, bearer.clone());
                req
            },
        ))
        .timeout(Duration::from_secs(100))
        .service(client);

    println!("{} {}", request.method(), request.uri());
    // `oneshot` consumes the service, and with it the hook's sender: the printer then ends.
    let result = service.oneshot(request).await;
    let printed = printer.await.unwrap_or(false);
    if printed && std::io::stderr().is_terminal() {
        eprintln!();
    }
    let response = result?;

    let status = response.status();
    println!("HTTP {status}");
    match response.extensions().get::<LroInfo>() {
        Some(info) => println!("{}", describe(info)),
        None => println!("(no long-running operation: the response passed through)"),
    }
    let body = response.into_body().collect().await?.to_bytes();
    print_body(&body);
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints each progress report: one live line on a terminal, else one line per report.
/// Returns whether anything was printed.
async fn print_progress(mut rx: watch::Receiver<Option<Progress>>) -> bool {
    let live = std::io::stderr().is_terminal();
    let mut printed = false;
    while rx.changed().await.is_ok() {
        let Some(p) = rx.borrow_and_update().clone() else {
            continue;
        };
        let percent = p
            .percent_complete()
            .map_or_else(|| "-".to_owned(), |pc| format!("{pc:.0}%"));
        let line = format!(
            "{} {percent}, {} polls, next in {:.1}s",
            p.status().unwrap_or("(no status yet)"),
            p.polls(),
            p.next_wait().as_secs_f64(),
        );
        if live {
            eprint!("\r{line:<72}");
        } else {
            eprintln!("{line}");
        }
        printed = true;
    }
    printed
}

fn describe(info: &LroInfo) -> String {
    let kind = info
        .monitor_kind()
        .header_name()
        .unwrap_or("provisioningState");
    let mut line = format!(
        "operation: {} via {kind} {}, {} polls, {} transient retries, waited {:.1}s",
        info.status().unwrap_or("done"),
        info.monitor_url(),
        info.polls(),
        info.transient_retries(),
        info.total_wait().as_secs_f64(),
    );
    if let Some(pc) = info.percent_complete() {
        line.push_str(&format!(", last {pc:.0}%"));
    }
    if let Some(url) = info.final_url() {
        line.push_str(&format!(", result from {url}"));
    }
    if info.gone_on_404() {
        line.push_str(", resource gone (404)");
    }
    line
}

fn print_body(body: &[u8]) {
    if body.is_empty() {
        println!("(empty body)");
        return;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => println!("{json:#}"),
        Err(_) => println!("{}", String::from_utf8_lossy(body)),
    }
}

fn report(e: &(dyn std::error::Error + Send + Sync + 'static)) {
    let Some(lro) = e.downcast_ref::<LroError>() else {
        // An error of the transport (connection, TLS, timeout): print its chain.
        eprintln!("error: {e}");
        let mut source = e.source();
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        return;
    };
    eprintln!("operation error: {}", lro.kind());
    eprintln!("  code:    {}", lro.code().unwrap_or("-"));
    eprintln!("  message: {}", lro.message().unwrap_or("-"));
    if let Some(status) = lro.status() {
        eprintln!("  status:  HTTP {status}");
    }
    if let Some(url) = lro.monitor_url() {
        eprintln!("  monitor: {url}");
    }
    eprintln!(
        "  polls:   {} in {:.1}s",
        lro.polls(),
        lro.elapsed().as_secs_f64()
    );
    if let Some(token) = lro.resume_token() {
        eprintln!("  resume:  {token}");
    }
    if !lro.body().is_empty() {
        eprintln!("  body:    {}", String::from_utf8_lossy(lro.body()));
    }
    eprintln!("  ({lro})");
}
