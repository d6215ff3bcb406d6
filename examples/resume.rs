//! Start now, check later, resume in another process.
//!
//! ```sh
//! cargo run --example demo -- serve   # terminal 1: the simulated ARM on 127.0.0.1:8080
//! cargo run --example resume          # terminal 2: starts a deployment, stores its token
//! cargo run --example resume          # again: checks it once, then resumes it to the end
//! ```
//!
//! The first run sends `PUT …/deployments/d1` with `LroOptions::hand_over()`: the layer hands
//! over the service's first answer (`201`) at once, without polling, and its `LroInfo` carries
//! a `ResumeToken`, which this example writes to `lro-token.json` (or the path given as the
//! first argument). The second run reads the file: a request carrying `LroOptions::check(token)`
//! polls once without waiting (the status and percentComplete so far, and a fresh token), then
//! one carrying `LroOptions::resume(token)` polls to the end and returns the deployment. The
//! file is removed when the operation has ended. Neither carrying request is sent: its URI
//! names the origin the operation must be on (a token is data from outside).
//!
//! It needs the demo serving (`LRO_BASE_URL` names another base URL, default
//! `http://127.0.0.1:8080`): an embedded server would end with the first run, and the
//! operation with it. Without an answer it says so and exits non-zero.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroError, LroInfo, LroLayer, LroOptions, ResumeToken};

type Response = http::Response<tower_lro::LroBody<hyper::body::Incoming>>;

#[tokio::main]
async fn main() -> ExitCode {
    let file = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "lro-token.json".to_owned()),
    );
    let base = std::env::var("LRO_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let result = if file.exists() {
        check_and_resume(&base, &file).await
    } else {
        start(&base, &file).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<LroError>() {
                Some(lro) => eprintln!(
                    "the operation failed: {:?} {:?} {:?}",
                    lro.kind(),
                    lro.code(),
                    lro.message()
                ),
                None => eprintln!(
                    "{e}\n(is the simulated service serving at {base}? \
                     `cargo run --example demo -- serve` starts it)"
                ),
            }
            ExitCode::FAILURE
        }
    }
}

/// The client with the layer: the same stack for every run.
async fn send(request: Request<Full<Bytes>>) -> Result<Response, BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let service = ServiceBuilder::new().layer(LroLayer::new()).service(client);
    service.oneshot(request).await
}

/// First run: start the operation, hand it over at once, store its token.
async fn start(base: &str, file: &Path) -> Result<(), BoxError> {
    let deployment =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Resources/deployments/d1";
    let request = Request::put(format!("{base}{deployment}?api-version=2020-06-01"))
        .header("content-type", "application/json")
        .extension(LroOptions::new().hand_over())
        .body(Full::from(r#"{"properties":{"mode":"Incremental"}}"#))?;
    let response = send(request).await?;
    let status = response.status();
    let info = response.extensions().get::<LroInfo>();
    match info.and_then(LroInfo::resume_token) {
        Some(token) => {
            std::fs::write(file, token.to_string())?;
            println!("started: the service answered {status}; nothing polled yet");
            println!("token stored in {}", file.display());
            println!("next wait owed: {:?}", token.next_wait());
            println!("run the example again to check on it and resume it");
        }
        // Done on its first answer (or not an operation at all): nothing to come back to.
        None => println!("done at once: {status}"),
    }
    Ok(())
}

/// Second run: one check, then resume to the end.
async fn check_and_resume(base: &str, file: &Path) -> Result<(), BoxError> {
    let token: ResumeToken = std::fs::read_to_string(file)?.trim().parse()?;
    println!("token from {}: monitor {}", file.display(), token.url());

    // One poll, no wait: the result if it has ended, else its progress and a fresh token.
    let checked = send(carrying(base, LroOptions::new().check(token))?).await?;
    let Some(info) = checked
        .extensions()
        .get::<LroInfo>()
        .filter(|i| i.resume_token().is_some())
        .cloned()
    else {
        println!("checked: it had ended");
        return finish(checked, file).await;
    };
    let Some(fresh) = info.resume_token().cloned() else {
        return Err("a running operation without a token".into());
    };
    println!(
        "checked: {} {}, {} poll(s) so far",
        info.status().unwrap_or("-"),
        info.percent_complete()
            .map_or("-".to_owned(), |p| format!("{p}%")),
        fresh.polls()
    );
    std::fs::write(file, fresh.to_string())?;

    // To the end, from the fresh token (after the wait it owes).
    println!("resuming to the end...");
    let done = send(carrying(base, LroOptions::new().resume(fresh))?).await?;
    finish(done, file).await
}

/// A request that carries a check or a resume: not sent, its URI names the expected origin.
fn carrying(base: &str, options: LroOptions) -> Result<Request<Full<Bytes>>, BoxError> {
    Ok(Request::get(base)
        .extension(options)
        .body(Full::default())?)
}

/// Prints the result and forgets the token.
async fn finish(response: Response, file: &Path) -> Result<(), BoxError> {
    let status = response.status();
    let polls = response.extensions().get::<LroInfo>().map(LroInfo::polls);
    let body = response.into_body().collect().await?.to_bytes();
    println!(
        "done: {status} after {polls:?} polls in this run: {}",
        String::from_utf8_lossy(&body)
    );
    std::fs::remove_file(file)?;
    Ok(())
}
