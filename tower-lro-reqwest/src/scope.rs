//! `CredentialScopeMiddleware`: `tower_lro::CredentialScopeLayer` for reqwest-middleware.

use std::convert::Infallible;
use std::future::{ready, Ready};

use http::{Extensions, HeaderName};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tower::{Layer, Service};
use tower_lro::{AllowedOrigin, CredentialScopeLayer, LroPoll};

/// Strips credential headers from every request that is not to one of its origins, or whose
/// [`LroPoll`] marker (in the middleware extensions) says credentials may not go: the reqwest
/// form of [`tower_lro::CredentialScopeLayer`], with the same rule and header list
/// (`Authorization`, `Cookie`, `Proxy-Authorization`, `api-key`, `Ocp-Apim-Subscription-Key`,
/// `x-ms-authorization-auxiliary`, `x-goog-api-key`, and any added with
/// [`also_strip`](CredentialScopeMiddleware::also_strip)).
///
/// Place it **after** your auth middleware in the chain: whatever a middleware in between keeps
/// or drops, no request leaves with the caller's credentials for an origin outside the scope
/// (an allow-listed monitor, Graph's drive monitors, a redirect target).
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use tower_lro::{AllowedOrigin, LroLayer};
/// use tower_lro_reqwest::{CredentialScopeMiddleware, LroMiddleware};
///
/// # fn main() -> Result<(), tower_lro::ConfigError> {
/// let arm = AllowedOrigin::parse("https://management.azure.com")?;
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(LroMiddleware::new(LroLayer::new()))
///     // .with(retry)
///     // .with(auth): adds the token to every request
///     .with(CredentialScopeMiddleware::new([arm]))
///     .build();
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CredentialScopeMiddleware {
    layer: CredentialScopeLayer,
}

impl CredentialScopeMiddleware {
    /// A scope of these origins (`AllowedOrigin::parse`, wildcards included; every origin of a
    /// scope receives credentials).
    ///
    /// ```
    /// let scope = tower_lro_reqwest::CredentialScopeMiddleware::new([
    ///     tower_lro::AllowedOrigin::parse("https://graph.microsoft.com").unwrap(),
    /// ]);
    /// # let _ = scope;
    /// ```
    pub fn new(origins: impl IntoIterator<Item = AllowedOrigin>) -> Self {
        CredentialScopeMiddleware {
            layer: CredentialScopeLayer::new(origins),
        }
    }

    /// Strips `name` too (a service's own key header).
    ///
    /// ```
    /// let scope = tower_lro_reqwest::CredentialScopeMiddleware::new([])
    ///     .also_strip(http::HeaderName::from_static("x-functions-key"));
    /// # let _ = scope;
    /// ```
    pub fn also_strip(self, name: HeaderName) -> Self {
        CredentialScopeMiddleware {
            layer: self.layer.also_strip(name),
        }
    }

    /// Applies the scope to a request and its middleware extensions, as the middleware does.
    fn apply(&self, req: &mut Request, extensions: &Extensions) {
        // The tower layer decides and strips, over an `http::Request` holding the headers; a URL
        // that is no `http::Uri` becomes `/`, which no scope covers: everything is stripped.
        let mut probe = http::Request::new(());
        *probe.uri_mut() = req.url().as_str().parse().unwrap_or_default();
        *probe.headers_mut() = std::mem::take(req.headers_mut());
        if let Some(poll) = extensions.get::<LroPoll>() {
            probe.extensions_mut().insert(*poll);
        }
        let mut scope = self.layer.layer(Echo);
        let Ok(probe) = scope.call(probe).into_inner();
        *req.headers_mut() = probe.into_parts().0.headers;
    }
}

impl From<CredentialScopeLayer> for CredentialScopeMiddleware {
    /// The middleware of a scope built for a tower stack.
    ///
    /// ```
    /// let layer = tower_lro::CredentialScopeLayer::new([]);
    /// let middleware = tower_lro_reqwest::CredentialScopeMiddleware::from(layer);
    /// # let _ = middleware;
    /// ```
    fn from(layer: CredentialScopeLayer) -> Self {
        CredentialScopeMiddleware { layer }
    }
}

/// Hands back the request the scope let through.
#[derive(Clone, Copy)]
struct Echo;

impl Service<http::Request<()>> for Echo {
    type Response = http::Request<()>;
    type Error = Infallible;
    type Future = Ready<Result<http::Request<()>, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<()>) -> Self::Future {
        ready(Ok(req))
    }
}

#[async_trait::async_trait]
impl Middleware for CredentialScopeMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.apply(&mut req, extensions);
        next.run(req, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> Request {
        let mut req = Request::new(reqwest::Method::GET, url.parse().unwrap());
        req.headers_mut()
            .insert("authorization", "Bearer t".parse().unwrap());
        req.headers_mut()
            .insert("x-goog-api-key", "k".parse().unwrap());
        req.headers_mut().insert("accept", "*/*".parse().unwrap());
        req
    }

    fn scope() -> CredentialScopeMiddleware {
        CredentialScopeMiddleware::new([
            AllowedOrigin::parse("https://management.azure.com").unwrap()
        ])
        .also_strip(HeaderName::from_static("x-functions-key"))
    }

    #[test]
    fn the_own_origin_keeps_credentials_others_lose_them() {
        let s = scope();
        let mut own = request("https://management.azure.com/x?api-version=1");
        s.apply(&mut own, &Extensions::new());
        assert!(own.headers().contains_key("authorization"));
        assert!(own.headers().contains_key("x-goog-api-key"));

        for other in [
            "https://evil.example/x",
            "http://management.azure.com/x",
            "https://management.azure.com:8443/x",
        ] {
            let mut req = request(other);
            req.headers_mut()
                .insert("x-functions-key", "f".parse().unwrap());
            s.apply(&mut req, &Extensions::new());
            assert!(!req.headers().contains_key("authorization"), "{other}");
            assert!(!req.headers().contains_key("x-goog-api-key"), "{other}");
            assert!(!req.headers().contains_key("x-functions-key"), "{other}");
            assert!(req.headers().contains_key("accept"), "{other}");
        }
    }

    #[test]
    fn a_marker_that_refuses_credentials_wins_inside_the_scope() {
        let s = scope();
        let mut req = request("https://management.azure.com/x");
        let mut extensions = Extensions::new();
        extensions.insert(LroPoll::new(1).on_other_origin(false));
        s.apply(&mut req, &extensions);
        assert!(!req.headers().contains_key("authorization"));
        let mut allowed = Extensions::new();
        allowed.insert(LroPoll::new(1));
        let mut req = request("https://management.azure.com/x");
        s.apply(&mut req, &allowed);
        assert!(req.headers().contains_key("authorization"));
    }
}
