//! `CredentialScope`: credentials fail closed below the layer (behaviour §3).
//!
//! An auth layer below [`Lro`](crate::Lro) that decides from [`LroPoll`] fails open when a
//! layer in between rebuilds requests without their extensions (a retry policy's
//! `clone_request`): the foreign poll then looks like the caller's own request. This layer
//! sits below the auth layer and decides from what cannot be lost: the request's own origin.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderName, Request};
use tower::{Layer, Service};

use crate::poll::LroPoll;
use crate::wire::url::{AllowedOrigin, CREDENTIALS};

/// Strips credential headers from every request that is not to one of its origins, or whose
/// [`LroPoll`] marker says credentials may not go; place it below your auth layer.
///
/// The recommended stack, top to bottom: `LroLayer` → retry → auth → `CredentialScopeLayer` →
/// the HTTP client. Whatever the layers in between keep or drop, no request leaves with the
/// caller's credentials for an origin outside the scope (an allow-listed monitor, Graph's
/// drive monitors, a redirect target). The stripped headers are the layer's own credential
/// list (`Authorization`, `Cookie`, `Proxy-Authorization`, `api-key`,
/// `Ocp-Apim-Subscription-Key`, `x-ms-authorization-auxiliary`, `x-goog-api-key`) and any
/// added with [`also_strip`](CredentialScopeLayer::also_strip).
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_lro::{AllowedOrigin, CredentialScopeLayer, LroLayer};
///
/// # let client = tower::service_fn(|_: http::Request<String>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// # });
/// let arm = AllowedOrigin::parse("https://management.azure.com").unwrap();
/// let service = ServiceBuilder::new()
///     .layer(LroLayer::new())
///     // .layer(retry)
///     .map_request(|mut req: http::Request<String>| {
///         // An auth layer as simple as this is safe above the scope.
///         req.headers_mut().insert("authorization", "Bearer token".parse().unwrap());
///         req
///     })
///     .layer(CredentialScopeLayer::new([arm]))
///     .service(client);
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct CredentialScopeLayer {
    scope: Arc<Scope>,
}

#[derive(Debug, Clone)]
struct Scope {
    origins: Vec<AllowedOrigin>,
    extra: Vec<HeaderName>,
}

impl CredentialScopeLayer {
    /// A scope of these origins (`AllowedOrigin::parse`, wildcards included; whether an
    /// origin was made `with_credentials` does not matter here: every origin of a scope
    /// receives them).
    ///
    /// ```
    /// let scope = tower_lro::CredentialScopeLayer::new([
    ///     tower_lro::AllowedOrigin::parse("https://graph.microsoft.com").unwrap(),
    /// ]);
    /// # let _ = scope;
    /// ```
    pub fn new(origins: impl IntoIterator<Item = AllowedOrigin>) -> Self {
        CredentialScopeLayer {
            scope: Arc::new(Scope {
                origins: origins.into_iter().collect(),
                extra: Vec::new(),
            }),
        }
    }

    /// Strips `name` too (a service's own key header).
    ///
    /// ```
    /// let scope = tower_lro::CredentialScopeLayer::new([])
    ///     .also_strip(http::HeaderName::from_static("x-functions-key"));
    /// # let _ = scope;
    /// ```
    pub fn also_strip(mut self, name: HeaderName) -> Self {
        Arc::make_mut(&mut self.scope).extra.push(name);
        self
    }
}

impl Scope {
    fn allows<B>(&self, req: &Request<B>) -> bool {
        let marked_no = req
            .extensions()
            .get::<LroPoll>()
            .is_some_and(|poll| !poll.credentials_allowed());
        !marked_no
            && self
                .origins
                .iter()
                .any(|o| o.covers(req.uri(), req.headers().get(http::header::HOST)))
    }
}

impl<S> Layer<S> for CredentialScopeLayer {
    type Service = CredentialScope<S>;

    fn layer(&self, inner: S) -> CredentialScope<S> {
        CredentialScope {
            inner,
            scope: self.scope.clone(),
        }
    }
}

/// The service of [`CredentialScopeLayer`].
///
/// ```
/// # let client = tower::service_fn(|_: http::Request<String>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// # });
/// use tower::Layer;
/// let scoped: tower_lro::CredentialScope<_> = tower_lro::CredentialScopeLayer::new([]).layer(client);
/// # let _ = scoped;
/// ```
#[derive(Debug, Clone)]
pub struct CredentialScope<S> {
    inner: S,
    scope: Arc<Scope>,
}

impl<S, B> Service<Request<B>> for CredentialScope<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        if !self.scope.allows(&req) {
            let headers = req.headers_mut();
            for name in CREDENTIALS {
                headers.remove(name);
            }
            for name in &self.scope.extra {
                headers.remove(name);
            }
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            origins: vec![
                AllowedOrigin::parse("https://management.azure.com").unwrap(),
                AllowedOrigin::parse("https://*.vault.azure.net").unwrap(),
            ],
            extra: Vec::new(),
        }
    }

    fn req(uri: &str) -> Request<()> {
        Request::get(uri).body(()).unwrap()
    }

    #[test]
    fn only_requests_to_the_scope_keep_credentials() {
        let s = scope();
        assert!(s.allows(&req("https://management.azure.com/x")));
        assert!(s.allows(&req("https://MANAGEMENT.azure.com:443/x")));
        assert!(s.allows(&req("https://kv1.vault.azure.net/keys")));
        for other in [
            "http://management.azure.com/x",
            "https://management.azure.com:8443/x",
            "https://evil.example/x",
            "https://management.azure.com.evil.example/x",
            "https://vault.azure.net/x",
            "/relative",
        ] {
            assert!(!s.allows(&req(other)), "{other}");
        }
        // Origin-form: the Host header names the origin.
        let mut own = req("/x");
        own.headers_mut()
            .insert("host", "management.azure.com".parse().unwrap());
        assert!(s.allows(&own));
        let mut foreign = req("/x");
        foreign
            .headers_mut()
            .insert("host", "evil.example".parse().unwrap());
        assert!(!s.allows(&foreign));
    }

    #[test]
    fn a_marker_that_refuses_credentials_wins_inside_the_scope() {
        let s = scope();
        let mut r = req("https://management.azure.com/x");
        r.extensions_mut()
            .insert(LroPoll::new(1).on_other_origin(false));
        assert!(!s.allows(&r));
    }
}
