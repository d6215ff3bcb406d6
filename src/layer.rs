//! `LroLayer`: the layer, holding a checked configuration.

use std::sync::Arc;

use tower::Layer;

use crate::config::Config;
use crate::service::Lro;

/// Resolves long-running operations below a single request.
///
/// Responses that start an operation are polled through clones of the inner service until the
/// operation ends; the caller gets the final response or an [`LroError`](crate::LroError).
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_lro::LroLayer;
/// # let client = tower::service_fn(|_: http::Request<String>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// # });
/// let service = ServiceBuilder::new().layer(LroLayer::new()).service(client);
/// # let _ = service;
/// ```
#[derive(Debug, Clone, Default)]
pub struct LroLayer {
    pub(crate) config: Arc<Config>,
}

impl LroLayer {
    /// A layer with the default settings of the behaviour page.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

// `S: Clone` here, where a stack is built, so that a service that cannot be cloned is named at
// `.layer(..)` / `ServiceBuilder::service(..)`, not at the first call.
impl<S: Clone> Layer<S> for LroLayer {
    type Service = Lro<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Lro::with_config(inner, self.config.clone())
    }
}
