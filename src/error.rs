//! The typed error of a long-running operation, and configuration errors.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};

use crate::error_kind::ErrorKind;
use crate::resume::ResumeToken;
use crate::wire::redact::{redact, Redacted};

/// A long-running operation that did not succeed.
///
/// The layer's errors are `tower::BoxError`s; LRO failures downcast to this type, while errors of
/// the inner service pass through unchanged. Everything the server said last is kept, and the
/// monitor URL lets a caller look the operation up again.
///
/// ```
/// # async fn run(err: tower::BoxError) {
/// use tower_lro::{ErrorKind, LroError};
/// if let Some(lro) = err.downcast_ref::<LroError>() {
///     if lro.kind() == ErrorKind::OperationFailed {
///         eprintln!("{} ({:?})", lro.message().unwrap_or("-"), lro.code());
///     }
/// }
/// # }
/// ```
pub struct LroError {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    code: Option<String>,
    message: Option<String>,
    detail: Option<String>,
    monitor_url: Option<Uri>,
    polls: u32,
    elapsed: Duration,
    status: Option<StatusCode>,
    service_status: Option<StatusCode>,
    headers: HeaderMap,
    body: Bytes,
    resume: Option<ResumeToken>,
    source: Option<tower::BoxError>,
}

/// How much of a body the `Display` of an error without code and message shows.
const BODY_EXCERPT: usize = 1024;

impl LroError {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        LroError {
            inner: Box::new(Inner {
                kind,
                code: None,
                message: None,
                detail: None,
                monitor_url: None,
                polls: 0,
                elapsed: Duration::ZERO,
                status: None,
                service_status: None,
                headers: HeaderMap::new(),
                body: Bytes::new(),
                resume: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_service_error(mut self, code: Option<&str>, message: Option<&str>) -> Self {
        self.inner.code = code.map(str::to_owned);
        self.inner.message = message.map(str::to_owned);
        self
    }

    /// The failure's own HTTP status, where the dialect names one apart from the response.
    pub(crate) fn with_service_status(mut self, status: Option<StatusCode>) -> Self {
        self.inner.service_status = status;
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_progress(
        mut self,
        monitor_url: Option<Uri>,
        polls: u32,
        elapsed: Duration,
    ) -> Self {
        self.inner.monitor_url = monitor_url;
        self.inner.polls = polls;
        self.inner.elapsed = elapsed;
        self
    }

    pub(crate) fn with_response(
        mut self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        self.inner.status = Some(status);
        self.inner.headers = headers;
        self.inner.body = body;
        self
    }

    pub(crate) fn with_source(mut self, source: tower::BoxError) -> Self {
        self.inner.source = Some(source);
        self
    }

    pub(crate) fn with_resume(mut self, token: ResumeToken) -> Self {
        self.inner.resume = Some(token);
        self
    }

    /// Where the operation stood, to go on polling it with [`Lro::resume`](crate::Lro::resume)
    /// (after a `TimedOut`, a `PollFailed` on a flaky network, or a restart).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) {
    /// if let Some(token) = e.resume_token() {
    ///     println!("resume later from {}", token.url());
    /// }
    /// # }
    /// ```
    pub fn resume_token(&self) -> Option<&ResumeToken> {
        self.inner.resume.as_ref()
    }

    /// What went wrong.
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) {
    /// match e.kind() {
    ///     tower_lro::ErrorKind::TimedOut => { /* resume later from e.monitor_url() */ }
    ///     _ => {}
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The service's error code (`error.code`, `Error.Code`, else a top-level `code`).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _code: Option<&str> = e.code(); }
    /// ```
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The service's error message (`error.message`, `Error.Message`, else a top-level `message`).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _msg: Option<&str> = e.message(); }
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// The status-monitor (or Location, or resource) URL being polled, when there was one.
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { if let Some(url) = e.monitor_url() { println!("{url}"); } }
    /// ```
    pub fn monitor_url(&self) -> Option<&Uri> {
        self.inner.monitor_url.as_ref()
    }

    /// How many poll requests this run sent (transient retries included; a resumed run counts
    /// its own).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _n: u32 = e.polls(); }
    /// ```
    pub fn polls(&self) -> u32 {
        self.inner.polls
    }

    /// Time from the call (or from [`Lro::resume`](crate::Lro::resume)) to the error: the
    /// clock that `max_duration` counts against.
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _t: std::time::Duration = e.elapsed(); }
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.inner.elapsed
    }

    /// The HTTP status of the last response, when the error came from one.
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _s: Option<http::StatusCode> = e.status(); }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The HTTP status the service gives the operation's failure, where it names one apart
    /// from the response that reported it: Google Compute's `httpErrorStatusCode` on a `DONE`
    /// operation, which arrives in a `200` (behaviour page, "Google discovery operations").
    /// `None` for other dialects and for errors other than `OperationFailed` and
    /// `OperationCanceled`, and when the number is outside 400..=599 (no HTTP error status).
    ///
    /// ```
    /// use http::{Request, Response};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_lro::{ErrorKind, LroDialect, LroError, LroLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tower::BoxError> {
    /// // Compute answers a refused insert with a finished operation that carries the failure.
    /// let client = service_fn(|_: Request<String>| async {
    ///     let done = r#"{"kind":"compute#operation","name":"OP","status":"DONE",
    ///         "selfLink":"https://www.googleapis.com/compute/v1/projects/P/global/operations/OP",
    ///         "error":{"errors":[{"code":"QUOTA_EXCEEDED","message":"Quota exceeded"}]},
    ///         "httpErrorStatusCode":403,"httpErrorMessage":"FORBIDDEN"}"#;
    ///     Ok::<_, std::convert::Infallible>(Response::new(done.to_string()))
    /// });
    /// let layer = LroLayer::builder().enable(LroDialect::GoogleDiscovery).build()?;
    /// let url = "https://compute.googleapis.com/compute/v1/projects/P/global/addresses";
    /// let request = Request::post(url).body(String::new())?;
    /// let error = layer.layer(client).oneshot(request).await.unwrap_err();
    /// let error = error.downcast_ref::<LroError>().unwrap();
    ///
    /// assert_eq!(error.kind(), ErrorKind::OperationFailed);
    /// assert_eq!(error.status(), Some(http::StatusCode::OK));
    /// assert_eq!(error.service_status(), Some(http::StatusCode::FORBIDDEN));
    /// // The status the service gives the failure, wherever it put it:
    /// let failure_status = error.service_status().or(error.status());
    /// # assert_eq!(failure_status, Some(http::StatusCode::FORBIDDEN));
    /// # Ok(())
    /// # }
    /// ```
    pub fn service_status(&self) -> Option<StatusCode> {
        self.inner.service_status
    }

    /// The headers of the last response (empty when there was none).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _h: &http::HeaderMap = e.headers(); }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// What the layer adds to the kind: which limit was reached, which URL was refused and
    /// why, how many transient answers came in a row (URLs redacted).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { if let Some(d) = e.detail() { eprintln!("{d}"); } }
    /// ```
    pub fn detail(&self) -> Option<&str> {
        self.inner.detail.as_deref()
    }

    /// The body of the last response, as far as it was read (bounded by the body cap).
    ///
    /// ```
    /// # fn f(e: &tower_lro::LroError) { let _b: &[u8] = e.body(); }
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }
}

impl fmt::Debug for LroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("LroError")
            .field("kind", &i.kind)
            .field("code", &i.code)
            .field("message", &i.message)
            .field("detail", &i.detail)
            .field("monitor_url", &i.monitor_url.as_ref().map(redact))
            .field("polls", &i.polls)
            .field("elapsed", &i.elapsed)
            .field("status", &i.status)
            .field("body_len", &i.body.len())
            .field("source", &i.source)
            .finish()
    }
}

impl fmt::Display for LroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.write_str(i.kind.phrase())?;
        if let Some(detail) = &i.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(code) = &i.code {
            write!(f, ": {code}")?;
        }
        if let Some(message) = &i.message {
            write!(f, ": {message}")?;
        }
        let mut context = Vec::with_capacity(4);
        if let Some(status) = i.status {
            context.push(format!("HTTP {}", status.as_u16()));
        }
        context.push(match &i.monitor_url {
            Some(url) => format!("monitor {}", Redacted(url)),
            None => "no monitor".to_owned(),
        });
        context.push(format!("{} polls", i.polls));
        context.push(format!("{:?}", i.elapsed));
        write!(f, " ({})", context.join(", "))?;
        // Only an error answer is quoted: a 2xx body is the caller's data (a first response
        // that holds a new password, a resource with its keys), never shown.
        let failure = i.status.is_some_and(|s| !s.is_success());
        if failure && i.code.is_none() && i.message.is_none() && !i.body.is_empty() {
            let excerpt = i.body.get(..BODY_EXCERPT).unwrap_or(&i.body);
            write!(f, ": {}", String::from_utf8_lossy(excerpt))?;
        }
        Ok(())
    }
}

impl std::error::Error for LroError {
    /// The inner service's error, when a poll or the final GET failed in transport.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_message_and_context() {
        let e = LroError::new(ErrorKind::OperationFailed)
            .with_service_error(Some("Conflict"), Some("in use"))
            .with_progress(
                Some(Uri::from_static("https://h/op")),
                3,
                Duration::from_secs(2),
            )
            .with_response(StatusCode::OK, HeaderMap::new(), Bytes::from_static(b"{}"));
        let s = e.to_string();
        assert!(s.contains("Conflict: in use"), "{s}");
        assert!(
            s.contains("https://h/op") && s.contains("3 polls") && s.contains("HTTP 200"),
            "{s}"
        );
        assert!(!s.contains("{}"), "{s}");
    }

    #[test]
    fn display_shows_a_bounded_body_without_code() {
        let body = Bytes::from(vec![b'x'; 5000]);
        let e = LroError::new(ErrorKind::PollFailed).with_response(
            StatusCode::BAD_REQUEST,
            HeaderMap::new(),
            body,
        );
        let s = e.to_string();
        assert_eq!(s.matches('x').count(), BODY_EXCERPT);
        assert_eq!(e.body().len(), 5000);
    }
}
