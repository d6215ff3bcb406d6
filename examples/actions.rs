//! A dialect of your own: a cloud provider's "actions" API, as DigitalOcean, Linode and Hetzner
//! spell it. A POST is answered with an action whose `status` is `in-progress`; the action is
//! polled at `/v2/actions/{id}` until it is `completed` (the result) or `errored`.
//!
//! ```sh
//! cargo run --example actions      # starts a simulated provider on 127.0.0.1, powers a droplet off
//! cargo test --example actions     # the dialect's own tests
//! ```
//!
//! The dialect only reads words and URLs; the layer does the rest (waits, `Retry-After`, the
//! origin rule, credentials, limits, resume tokens).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{BoxError, ServiceExt};
use tower_lro::dialect::{Claim, Dialect, Exchange, Step};
use tower_lro::{LroError, LroInfo, LroLayer, PollSchedule};

/// The "actions" dialect: one file, no other change to the crate.
pub struct Actions;

/// The `action` object of a body, if it is one.
fn action(exchange: &Exchange<'_>) -> Option<(u64, String)> {
    let json = exchange.json()?;
    let action = json.get("action")?;
    Some((
        action.get("id")?.as_u64()?,
        action.get("status")?.as_str()?.to_owned(),
    ))
}

impl Dialect for Actions {
    fn name(&self) -> &'static str {
        "actions"
    }

    /// A POST to `/v2/.../actions` answered 201 or 202 with JSON: read up to 64 KiB of it.
    fn claim(&self, method: &Method, uri: &Uri, head: &http::response::Parts) -> Claim {
        let started = matches!(head.status.as_u16(), 200..=202);
        if *method == Method::POST
            && started
            && uri.path().starts_with("/v2/")
            && uri.path().ends_with("/actions")
        {
            Claim::read(64 * 1024)
        } else {
            Claim::No
        }
    }

    fn start(&self, exchange: &Exchange<'_>) -> Step {
        match action(exchange) {
            Some((_, status)) if status == "completed" => Step::succeeded().with_status(status),
            Some((id, status)) if status == "in-progress" => {
                Step::poll_at(format!("/v2/actions/{id}"))
                    .with_status(status)
                    .with_state(id.to_string())
            }
            // Not an action after all (or already errored: the caller sees the response).
            _ => Step::pass_through(),
        }
    }

    fn read(&self, exchange: &Exchange<'_>) -> Step {
        if !exchange.status().is_success() {
            return Step::failed(Some(exchange.status().as_str().to_owned()), None);
        }
        match action(exchange) {
            Some((_, status)) if status == "completed" => Step::succeeded().with_status(status),
            Some((id, status)) if status == "errored" => Step::failed(
                Some("errored".to_owned()),
                Some(format!("action {id} errored")),
            ),
            Some((_, status)) => Step::poll().with_status(status),
            None => Step::invalid("no action object"),
        }
    }

    /// Providers ask clients to poll every few seconds.
    fn schedule(&self) -> Option<PollSchedule> {
        PollSchedule::fixed(Duration::from_secs(2)).ok()
    }
}

/// A simulated provider: `POST /v2/droplets/{id}/actions` starts an action that completes
/// (or errors, for droplet 666) on its `polls`-th poll.
async fn provider(polls: u32) -> std::io::Result<(String, Arc<AtomicU32>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let seen = Arc::new(AtomicU32::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let path = req.uri().path().to_owned();
                async move {
                    let action = |status: &str, id: u64| {
                        format!(
                            r#"{{"action":{{"id":{id},"status":"{status}","type":"power_off"}}}}"#
                        )
                    };
                    let (status, body) = match (req.method().as_str(), path.as_str()) {
                        ("POST", "/v2/droplets/666/actions") => (201, action("in-progress", 666)),
                        ("POST", p) if p.starts_with("/v2/droplets/") => {
                            (201, action("in-progress", 36804636))
                        }
                        ("GET", "/v2/actions/666") if n >= polls => (200, action("errored", 666)),
                        ("GET", p) if p.starts_with("/v2/actions/") && n >= polls => {
                            (200, action("completed", 36804636))
                        }
                        ("GET", p) if p.starts_with("/v2/actions/") => {
                            (200, action("in-progress", 36804636))
                        }
                        _ => (404, r#"{"id":"not_found"}"#.to_owned()),
                    };
                    let response = Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .header("retry-after", "1")
                        .body(Full::new(Bytes::from(body)))
                        .expect("a valid response");
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((base, seen))
}

/// The client: the layer with the dialect, over hyper-util.
fn client() -> Result<
    impl tower::Service<
            Request<Full<Bytes>>,
            Response = Response<tower_lro::LroBody<Incoming>>,
            Error = BoxError,
        > + Clone,
    BoxError,
> {
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let layer = LroLayer::builder().with_dialect(Actions).build()?;
    Ok(tower::ServiceBuilder::new().layer(layer).service(http))
}

async fn power_off(base: &str, droplet: u32) -> Result<(StatusCode, String, LroInfo), BoxError> {
    let req = Request::post(format!("{base}/v2/droplets/{droplet}/actions"))
        .header("content-type", "application/json")
        .body(Full::from(r#"{"type":"power_off"}"#))?;
    let response = client()?.oneshot(req).await?;
    let status = response.status();
    let info = response
        .extensions()
        .get::<LroInfo>()
        .cloned()
        .ok_or("not an operation")?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned(), info))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (base, _) = provider(2).await?;
    println!("provider on {base}");
    let (status, body, info) = power_off(&base, 1).await?;
    println!(
        "{status} after {} polls ({}): {body}",
        info.polls(),
        info.matched_by()
    );
    match power_off(&base, 666).await {
        Err(e) => match e.downcast_ref::<LroError>() {
            Some(lro) => println!(
                "droplet 666: {} {:?} {:?}",
                lro.kind(),
                lro.code(),
                lro.message()
            ),
            None => println!("droplet 666: {e}"),
        },
        Ok(other) => println!("droplet 666 unexpectedly: {other:?}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lro::ErrorKind;

    #[tokio::test]
    async fn an_action_is_polled_until_completed() {
        let (base, seen) = provider(2).await.unwrap();
        let (status, body, info) = power_off(&base, 1).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#""status":"completed""#), "{body}");
        assert_eq!(info.matched_by(), "actions");
        assert_eq!(info.status(), Some("completed"));
        assert_eq!(info.monitor_url().path(), "/v2/actions/36804636");
        // The POST, then polls up to the second one that completes.
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_errored_action_is_operation_failed() {
        let (base, _) = provider(1).await.unwrap();
        let e = power_off(&base, 666).await.unwrap_err();
        let lro = e.downcast_ref::<LroError>().unwrap();
        assert_eq!(lro.kind(), ErrorKind::OperationFailed);
        assert_eq!(lro.code(), Some("errored"));
        // The token names the dialect and keeps its state.
        let token = lro.resume_token().unwrap();
        assert_eq!(token.dialect(), tower_lro::LroDialect::Custom);
    }

    #[tokio::test]
    async fn other_requests_pass_through() {
        let (base, seen) = provider(1).await.unwrap();
        let req = Request::post(format!("{base}/v1/other"))
            .body(Full::default())
            .unwrap();
        let response = client().unwrap().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.extensions().get::<LroInfo>().is_none());
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stopped_action_resumes_from_its_token() {
        let (base, seen) = provider(3).await.unwrap();
        let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let layer = LroLayer::builder()
            .with_dialect(Actions)
            .max_polls(1)
            .build()
            .unwrap();
        let req = Request::post(format!("{base}/v2/droplets/1/actions"))
            .body(Full::default())
            .unwrap();
        let e = tower::Layer::layer(&layer, http.clone())
            .oneshot(req)
            .await
            .unwrap_err();
        let token = e
            .downcast_ref::<LroError>()
            .unwrap()
            .resume_token()
            .unwrap()
            .clone();
        let text = token.to_string();
        assert!(text.contains(r#""custom":{"name":"actions""#), "{text}");
        let fresh = LroLayer::builder().with_dialect(Actions).build().unwrap();
        let origin: Uri = base.parse().unwrap();
        let resumed = tower::Layer::layer(&fresh, http)
            .resume::<Full<Bytes>, Incoming>(&text.parse().unwrap(), &origin)
            .unwrap()
            .await
            .unwrap();
        assert_eq!(resumed.status(), StatusCode::OK);
        assert!(seen.load(Ordering::SeqCst) >= 4);
        // Without the dialect, the token is refused: nothing else resolves it.
        let bare = LroLayer::new();
        let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let refused =
            tower::Layer::layer(&bare, http).resume::<Full<Bytes>, Incoming>(&token, &origin);
        assert!(refused.is_err());
    }
}
