//! `Lro<S>`: the service that passes ordinary responses through and resolves operations.

use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use tower::{BoxError, Service};

use crate::config::Config;
use crate::error::LroError;
use crate::future::ResponseFuture;
use crate::operation::Operation;
use crate::options::{LroOptions, Resume};
use crate::resume::ResumeToken;
use crate::LroBody;

/// The service made by [`LroLayer`](crate::LroLayer): passes ordinary responses through and
/// resolves long-running operations.
///
/// ```
/// use tower_lro::Lro;
/// # let client = tower::service_fn(|_: http::Request<String>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// # });
/// let service = Lro::new(client); // the same as LroLayer::new().layer(client)
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct Lro<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Lro<S> {
    pub(crate) fn with_config(inner: S, config: Arc<Config>) -> Self {
        Lro { inner, config }
    }

    /// Wraps `inner` with the default settings.
    ///
    /// ```
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let service = tower_lro::Lro::new(client);
    /// # let _ = service;
    /// ```
    pub fn new(inner: S) -> Self
    where
        S: Clone,
    {
        Lro::with_config(inner, Arc::default())
    }

    /// The inner service.
    ///
    /// ```
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let service = tower_lro::Lro::new(client);
    /// let _inner = service.get_ref();
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let mut service = tower_lro::Lro::new(client);
    /// let _inner = service.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Goes on polling the operation a [`ResumeToken`] describes, through a clone of the inner
    /// service; the future resolves as the original call would have.
    ///
    /// A token is data from outside (a file, a queue, another process), so it never decides
    /// its own trust: `origin` is the origin the caller expects the operation on (any absolute
    /// URI; its scheme, host and port count). The token's original URI must be on it, and the
    /// URL it polls next on it or on the layer's allow-list; otherwise the error is
    /// `CrossOriginPollingUrl` and nothing is sent. Its Location, which only a final GET may
    /// need, meets the same rule when it is needed (nothing is ever sent off the origin), as in
    /// the uninterrupted operation. A malformed token is `InvalidResumeToken`. The resumed run has its own `max_polls` and `max_duration`,
    /// counted from this call.
    ///
    /// The polls carry no headers of the original request: credentials come from the layers
    /// below, which see [`LroPoll::credentials_allowed`](crate::LroPoll::credentials_allowed).
    ///
    /// ```
    /// # async fn run(token: tower_lro::ResumeToken) -> Result<(), tower::BoxError> {
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let service = tower_lro::Lro::new(client);
    /// let arm = http::Uri::from_static("https://management.azure.com");
    /// let response = service.resume::<String, String>(&token, &arm)?.await?;
    /// # let _ = response;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume<ReqBody, ResBody>(
        &self,
        token: &ResumeToken,
        origin: &http::Uri,
    ) -> Result<ResponseFuture<S, ReqBody, ResBody>, LroError>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        ReqBody: Default,
    {
        let operation =
            Operation::resume(token, origin, &self.config, tokio::time::Instant::now())?;
        Ok(ResponseFuture::resumed(self.inner.clone(), operation))
    }

    /// Names the request body type the stack serves, and checks it there: a stack that cannot
    /// serve `http::Request<B>` fails to compile on this line with the bound that is missing
    /// (`B: Default`: polls are sent with an empty body; the inner error `Into<BoxError>`; the
    /// response body `http_body::Body<Data = Bytes>`), where `ServiceExt::oneshot` only says
    /// "`Lro<…>: Service<_>` is not satisfied" (the request type is inferred after method
    /// resolution). It changes nothing at run time. `docs/compile-errors.md` shows each message and its fix.
    ///
    /// ```
    /// # use tower::ServiceExt;
    /// # async fn run() -> Result<(), tower::BoxError> {
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let service = tower_lro::Lro::new(client).for_body::<String>();
    /// let _ = service.oneshot(http::Request::new(String::new())).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// A body without `Default` (here hyper's `Incoming`) is named in the error:
    ///
    /// ```compile_fail
    /// # let client = tower::service_fn(|_: http::Request<hyper::body::Incoming>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let service = tower_lro::Lro::new(client).for_body::<hyper::body::Incoming>();
    /// ```
    pub fn for_body<B>(self) -> Self
    where
        Self: Service<Request<B>>,
    {
        self
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let inner = tower_lro::Lro::new(client).into_inner();
    /// # let _ = inner;
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Methods that can start an operation.
fn may_start(method: &Method) -> bool {
    matches!(
        *method,
        Method::PUT | Method::PATCH | Method::POST | Method::DELETE
    )
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Lro<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: http_body::Body<Data = bytes::Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<LroBody<ResBody>>;
    type Error = BoxError;
    type Future = ResponseFuture<S, ReqBody, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    // Small and inlined: a request that cannot start an operation (a GET) costs the caller a
    // method check; the rest is out of line.
    #[inline]
    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if req
            .extensions()
            .get::<LroOptions>()
            .is_some_and(|o| o.resume.is_some())
        {
            return self.call_resume(req);
        }
        if !may_start(req.method()) {
            return ResponseFuture::pass_through(self.inner.call(req));
        }
        self.call_writing(req)
    }
}

impl<S> Lro<S> {
    /// A request that carries a token (`LroOptions::check` / `resume`): it is not sent; its
    /// URI names the expected origin, its headers and extensions go along with the polls.
    #[inline(never)]
    fn call_resume<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        ReqBody: Default,
    {
        let Some(carried) = req
            .extensions()
            .get::<LroOptions>()
            .and_then(|o| o.resume.clone())
        else {
            return ResponseFuture::pass_through(self.inner.call(req));
        };
        let (token, how) = &*carried;
        let once = *how == Resume::Once;
        let now = tokio::time::Instant::now();
        match Operation::resume_request(&req, token, once, &self.config, now) {
            Ok(operation) => ResponseFuture::resumed(self.inner.clone(), operation),
            Err(error) => ResponseFuture::refused(error),
        }
    }

    /// A request whose method may start an operation.
    #[inline(never)]
    fn call_writing<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    {
        let Some(operation) = Operation::start(&req, &self.config, tokio::time::Instant::now())
        else {
            return ResponseFuture::pass_through(self.inner.call(req));
        };
        // The readied service makes this call; its clone stays behind for the next one.
        let clone = self.inner.clone();
        let mut ready = mem::replace(&mut self.inner, clone);
        let future = ready.call(req);
        ResponseFuture::operation(future, ready, operation)
    }
}
