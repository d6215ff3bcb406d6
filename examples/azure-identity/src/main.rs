//! A real Azure operation with tokens from the Azure CLI login (`az login`), through an auth
//! layer below `LroLayer` that asks `azure_identity`'s `DeveloperToolsCredential` for a token on
//! every request, so an operation that outlives its first token still finishes. The layer adds
//! the token only where `LroPoll::credentials_allowed()` says so.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};

use azure_core::credentials::TokenCredential;
use azure_identity::DeveloperToolsCredential;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, Layer, Service, ServiceBuilder, ServiceExt};
use tower_lro::{LroError, LroInfo, LroLayer, LroPoll};

const SCOPE: &str = "https://management.azure.com/.default";

/// Adds a fresh Entra ID token to every request the credentials may go with.
#[derive(Clone)]
struct EntraAuthLayer {
    credential: Arc<dyn TokenCredential>,
}

impl<S> Layer<S> for EntraAuthLayer {
    type Service = EntraAuth<S>;

    fn layer(&self, inner: S) -> EntraAuth<S> {
        EntraAuth {
            inner,
            credential: self.credential.clone(),
        }
    }
}

#[derive(Clone)]
struct EntraAuth<S> {
    inner: S,
    credential: Arc<dyn TokenCredential>,
}

impl<S, B> Service<Request<B>> for EntraAuth<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The readied service makes this call; its clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let credential = self.credential.clone();
        Box::pin(async move {
            let allowed = req
                .extensions()
                .get::<LroPoll>()
                .is_none_or(|poll| poll.credentials_allowed());
            if allowed {
                // The credential caches its token and renews it before it expires.
                let token = credential.get_token(&[SCOPE], None).await?;
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.token.secret()))?;
                value.set_sensitive(true);
                req.headers_mut().insert(AUTHORIZATION, value);
            } else {
                req.headers_mut().remove(AUTHORIZATION);
            }
            inner.call(req).await.map_err(Into::into)
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [method, url, rest @ ..] = args.as_slice() else {
        eprintln!("usage: cargo run --manifest-path examples/azure-identity/Cargo.toml -- METHOD URL [JSON_BODY]");
        return ExitCode::from(2);
    };
    match run(method, url, rest.first()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<LroError>() {
                Some(lro) => eprintln!("{:?}: {lro}", lro.kind()),
                None => eprintln!("error: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(method: &str, url: &str, body: Option<&String>) -> Result<(), BoxError> {
    let credential: Arc<dyn TokenCredential> = DeveloperToolsCredential::new(None)?;
    let https = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_only()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(https);
    let service = ServiceBuilder::new()
        .layer(LroLayer::new())
        .layer(EntraAuthLayer { credential })
        .service(client);

    let request = Request::builder()
        .method(Method::from_bytes(method.to_ascii_uppercase().as_bytes())?)
        .uri(url)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::from(body.cloned().unwrap_or_default()))?;
    let response = service.oneshot(request).await?;
    let polls = response.extensions().get::<LroInfo>().map(LroInfo::polls);
    println!("{} after {:?} polls", response.status(), polls);
    let bytes = response.into_body().collect().await?.to_bytes();
    println!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}
