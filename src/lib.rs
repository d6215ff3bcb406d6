//! A Tower layer that resolves long-running operations (LROs) of REST APIs: Azure's (Resource
//! Manager and data-plane services), Microsoft Graph's, Microsoft Fabric's, OData's
//! asynchronous requests (`Prefer: respond-async`), status endpoints that redirect to their
//! result, and, opted in, Google's AIP-151 `google.longrunning.Operation` and discovery-style
//! operations (Compute, GKE, Cloud SQL); your own API's through the [`dialect`] interface
//! ([`LroLayerBuilder::with_dialect`]). [`LroDialect`] names them; the [`behaviour`] page's §8
//! has each one's rules.
//!
//! Azure Resource Manager and Azure-style REST APIs answer slow writes with `201 Created` or
//! `202 Accepted` and a status monitor (`Azure-AsyncOperation`, `Operation-Location` or
//! `Location`), or with a body whose `provisioningState` is not final yet. [`LroLayer`] sees such
//! a response, polls the monitor **through the inner service** (so the auth, retry and tracing
//! layers below it apply to every poll), honours `Retry-After`, and hands the caller the final
//! `200`/`204` response. Every other response passes through untouched and unread. A failed or
//! canceled operation is an [`LroError`] carrying the service's code and message.
//!
//! ```text
//! request ──► Lro::call ──► inner.call(req) ──► response
//!                                                 │
//!               operation (sans-IO state machine): does it start an LRO? which monitor?
//!               is it done? where is the result?
//!                                                 │
//!     read body (bounded) · wait (Retry-After) · GET monitor via a ready clone · return
//! ```
//!
//! # Quickstart
//!
//! ```
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_lro::{LroInfo, LroLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower::BoxError> {
//! # tokio::time::pause();
//! // Any `Service<http::Request<B>>` works: a hyper-util `Client`, a generated SDK's transport...
//! // This one plays an operation that is done on its second poll.
//! let polls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
//! let client = service_fn(move |req: Request<String>| {
//!     let polls = polls.clone();
//!     async move {
//!         let response = match (req.method().as_str(), req.uri().path()) {
//!             ("POST", "/vm/start") => Response::builder()
//!                 .status(202)
//!                 .header("azure-asyncoperation", "https://management.azure.com/ops/1")
//!                 .header("retry-after", "2")
//!                 .body(String::new()),
//!             ("GET", "/ops/1") if polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
//!                 Response::builder().body(r#"{"status":"InProgress"}"#.to_string())
//!             }
//!             ("GET", "/ops/1") => Response::builder().body(r#"{"status":"Succeeded"}"#.to_string()),
//!             _ => Response::builder().status(404).body(String::new()),
//!         };
//!         Ok::<_, std::convert::Infallible>(response.unwrap())
//!     }
//! });
//!
//! let service = ServiceBuilder::new().layer(LroLayer::new()).service(client);
//! let request = Request::post("https://management.azure.com/vm/start").body(String::new())?;
//! let response = service.oneshot(request).await?;
//!
//! assert_eq!(response.status(), 200);
//! let info = response.extensions().get::<LroInfo>().unwrap();
//! assert_eq!(info.polls(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # Where it goes in a stack
//!
//! Outermost first; every layer below `LroLayer` sees every poll and the final GET:
//!
//! 1. a `Timeout` for the **whole operation** (above: it bounds every wait, poll and the final
//!    GET; dropping the future stops polling, the operation goes on at the server);
//! 2. a redirect-following layer (above: `LroLayer` then sees a status endpoint's redirects and
//!    holds their targets to the origin rule; below, give it tower-http's `SameOrigin` policy,
//!    since the layer cannot see where a redirect below it leads);
//! 3. **`LroLayer`**;
//! 4. tracing (each poll traced as its own request, inside the operation's span);
//! 5. retry (it retries each poll; set [`LroLayerBuilder::max_transient_retries`] to 0);
//! 6. auth, adding credentials only where [`LroPoll::credentials_allowed`] says so (every
//!    request the layer makes carries an [`LroPoll`] extension), with a
//!    [`CredentialScopeLayer`] below it that strips credentials from every request off your
//!    origins, whatever a layer in between lost;
//! 7. decompression (tower-http's `DecompressionLayer`: polls carry the original request's
//!    `Accept-Encoding`, so a service may answer them compressed; without it a compressed
//!    status body is `InvalidStatusBody`);
//! 8. a `Timeout` **per request** (each poll);
//! 9. the HTTP client.
//!
//! Layers between this one and auth must keep request extensions. Never put `LroLayer` below a
//! concurrency limit (one permit would be held for the whole operation): put the limit below.
//!
//! # Start now, check later
//!
//! [`LroOptions::hand_over`] hands the first response over at once, its [`LroInfo`] carrying a
//! [`ResumeToken`] (which serializes with the default `serde` feature: `Display` / `FromStr`);
//! later, in this process or another, a request carrying [`LroOptions::check`] polls once
//! without waiting, and one carrying [`LroOptions::resume`] polls to the end. Such a request is
//! not sent: its URI names the origin the operation must be on. This works through any stack,
//! a type-erased one too ([`behaviour`] §7; `examples/resume.rs` stores the token in a file).
//!
//! ```
//! use http::{Request, Response};
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::sync::Arc;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_lro::{LroInfo, LroLayer, LroOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower::BoxError> {
//! # tokio::time::pause();
//! // An operation that runs for two polls, then succeeds.
//! let polls = Arc::new(AtomicU32::new(0));
//! let client = service_fn(move |req: Request<String>| {
//!     let polls = polls.clone();
//!     async move {
//!         let response = match (req.method().as_str(), req.uri().path()) {
//!             ("POST", "/vm/start") => Response::builder()
//!                 .status(202)
//!                 .header("azure-asyncoperation", "https://management.azure.com/ops/1")
//!                 .header("retry-after", "2")
//!                 .body(String::new()),
//!             ("GET", "/ops/1") if polls.fetch_add(1, Ordering::SeqCst) < 2 => {
//!                 Response::builder().body(r#"{"status":"Running","percentComplete":50}"#.into())
//!             }
//!             ("GET", "/ops/1") => Response::builder().body(r#"{"status":"Succeeded"}"#.into()),
//!             _ => Response::builder().status(404).body(String::new()),
//!         };
//!         Ok::<_, std::convert::Infallible>(response.unwrap())
//!     }
//! });
//! let service = ServiceBuilder::new().layer(LroLayer::new()).service(client);
//!
//! // Now: the first response at once, nothing polled, and a token to come back with.
//! let start = Request::post("https://management.azure.com/vm/start")
//!     .extension(LroOptions::new().hand_over())
//!     .body(String::new())?;
//! let first = service.clone().oneshot(start).await?;
//! assert_eq!(first.status(), 202);
//! let token = first.extensions().get::<LroInfo>().and_then(LroInfo::resume_token);
//! let token = token.expect("an operation").clone();
//!
//! // Later: one poll, no wait; the request is not sent, its URI names the origin.
//! let check = Request::get("https://management.azure.com/")
//!     .extension(LroOptions::new().check(token))
//!     .body(String::new())?;
//! let checked = service.clone().oneshot(check).await?;
//! let info = checked.extensions().get::<LroInfo>().expect("the operation's progress");
//! assert_eq!(info.status(), Some("Running"));
//! let fresh = info.resume_token().expect("still running: a fresh token").clone();
//!
//! // Then to the end.
//! let resume = Request::get("https://management.azure.com/")
//!     .extension(LroOptions::new().resume(fresh))
//!     .body(String::new())?;
//! let done = service.oneshot(resume).await?;
//! assert_eq!(done.status(), 200);
//! assert_eq!(done.extensions().get::<LroInfo>().map(LroInfo::status), Some(Some("Succeeded")));
//! # Ok(())
//! # }
//! ```
//!
//! # Requirements
//!
//! - **A Tokio runtime with the time driver** (`#[tokio::main]`, or a runtime built with
//!   `enable_time()`): every wait is a `tokio::time` timer. Without the time driver, Tokio
//!   panics at the first wait.
//! - **The inner service is `Clone`**: each poll goes through a clone readied for it. A service
//!   that cannot be cloned is named where the stack is built; wrap it in
//!   `tower::buffer::Buffer`:
//!
//! ```compile_fail,E0277
//! use tower::Layer;
//! // A service holding a lock is not `Clone`...
//! let lock = std::sync::Mutex::new(());
//! let client = tower::service_fn(move |_: http::Request<String>| {
//!     let _held = &lock;
//!     async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }
//! });
//! // ...error[E0277]: the trait bound `ServiceFn<..>: Clone` is not satisfied
//! let service = tower_lro::LroLayer::new().layer(client);
//! ```
//!
//! - **The request body is `Default`**: polls are GETs with an empty body. With a body type
//!   without `Default` (a hand-written stream), `service.oneshot(req)` fails with rustc's
//!   E0599, "`Lro<..>: Service<_>` is not satisfied", because the request type is inferred only
//!   after the method is chosen; naming the request type shows the reason:
//!
//! ```compile_fail,E0277
//! use tower::{Layer, ServiceExt};
//! struct Stream; // a request body with no empty value
//! let client = tower::service_fn(|_: http::Request<Stream>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//! });
//! let service = tower_lro::LroLayer::new().layer(client);
//! // error[E0277]: the trait bound `Stream: Default` is not satisfied
//! let call = ServiceExt::<http::Request<Stream>>::oneshot(service, http::Request::new(Stream));
//! ```
//!
//! - **The response body is an `http_body::Body<Data = Bytes>`**, as hyper's and
//!   http-body-util's are.
//!
//! The rules it follows, refined from the Azure Resource Manager async-operation contract after
//! real traffic, are written down in [`behaviour`], numbered (§1 to §7 the Azure rules, waits,
//! polls, results, limits and resuming; §8 the other dialects), with the reason for each
//! choice where the Azure SDKs disagree.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

pub mod behaviour;
mod body;
mod builder;
mod config;
mod config_error;
pub mod dialect;
mod error;
mod error_kind;
mod future;
mod google_operation;
mod info;
mod layer;
mod operation;
mod options;
mod poll;
mod progress;
mod resume;
mod scope;
mod service;
mod trace;
mod wire;

pub use body::LroBody;
pub use builder::LroLayerBuilder;
pub use config_error::ConfigError;
pub use dialect::FinalStateVia;
pub use dialect::{FabricOptions, GoogleOptions, GraphOptions};
pub use error::LroError;
pub use error_kind::ErrorKind;
pub use future::ResponseFuture;
pub use info::{GoogleOperation, LroDialect, LroInfo, MonitorKind};
pub use layer::LroLayer;
pub use options::LroOptions;
pub use poll::LroPoll;
pub use progress::{OnProgress, Progress};
pub use resume::{ResumeToken, TokenError};
pub use scope::{CredentialScope, CredentialScopeLayer};
pub use service::Lro;
pub use wire::retry_after::PollSchedule;
pub use wire::url::AllowedOrigin;

/// Entry points for the fuzz targets in `fuzz/` (built only by `cargo fuzz`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::time::{Duration, SystemTime};

    /// Parses every retry hint header of `headers`.
    pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
        crate::wire::retry_after::hint(headers, || {
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
        })
    }

    /// Parses a status, provisioningState or error body and classifies its words.
    pub fn status_body(body: &[u8]) {
        if let Ok(doc) = crate::wire::status::StatusDoc::parse(body) {
            for word in [doc.status.as_deref(), doc.provisioning_state.as_deref()]
                .into_iter()
                .flatten()
            {
                let _ = crate::wire::status::State::of(word);
                let _ = crate::wire::status::is_running_word(word);
            }
            let _ = doc.code_and_message();
        }
    }

    /// Resolves `raw` against `base` and applies the origin rule.
    pub fn resolve(base: &str, raw: &str) {
        let Ok(uri) = base.parse::<http::Uri>() else {
            return;
        };
        let Some(orig) = crate::wire::url::Target::from_request(&uri) else {
            return;
        };
        if let Some(target) = crate::wire::url::Target::resolve(&orig.uri, raw) {
            let _ = crate::wire::url::admit(&orig.uri, &[], &target.uri);
            let _ = target.with_api_version_of(&orig.uri).same_path(&orig);
        }
    }
}
