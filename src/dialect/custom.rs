//! The public dialect interface: a user's own API's long-running operations, resolved by the
//! same machine as the built-in dialects.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode, Uri};

/// The long-running-operation rules of one API, answering small questions about its
/// responses; the layer does everything else.
///
/// The layer calls it in this order:
///
/// 1. [`claim`](Dialect::claim) on the head of every response to a PUT, PATCH, POST or DELETE,
///    before any built-in dialect: is this an operation of mine, and how many body bytes do
///    I need? Registered dialects are asked in the order they were added.
/// 2. [`start`](Dialect::start) with that response (and its body, if claimed with `read > 0`
///    and it fits): poll where, or is it already done? [`Step::pass_through`] hands the
///    response over untouched after all.
/// 3. [`read`](Dialect::read) with each poll response that is not transient (408, 429, 500,
///    502, 503 and 504 are retried by the layer and never reach the dialect), until it says
///    the operation succeeded, failed or was canceled.
///
/// What the dialect never decides (sealed in the layer): when and how often to poll
/// (`Retry-After`, the schedule, `max_polls`, `max_duration`), where requests may go (every
/// URL a dialect names meets the origin rule and the allow-list), which credentials go along,
/// and that every poll is a bodiless GET. A URL a dialect returns is resolved against the URL
/// of the response it read. The dialect's `state` string (at most one per operation) is
/// carried by resume tokens, so a resumed operation reads on where it stopped; a token names
/// its dialect, and resuming it needs a layer with a dialect of that name.
///
/// ```
/// use http::{Method, Uri};
/// use tower_lro::dialect::{Claim, Dialect, Exchange, Step};
///
/// /// `202` + `X-Job` → poll `/jobs/{id}` until `"state": "done"`.
/// struct Jobs;
///
/// impl Dialect for Jobs {
///     fn name(&self) -> &'static str {
///         "jobs"
///     }
///     fn claim(&self, _method: &Method, _uri: &Uri, head: &http::response::Parts) -> Claim {
///         if head.status == 202 && head.headers.contains_key("x-job") {
///             Claim::head_only()
///         } else {
///             Claim::No
///         }
///     }
///     fn start(&self, exchange: &Exchange<'_>) -> Step {
///         match exchange.headers().get("x-job").and_then(|v| v.to_str().ok()) {
///             Some(id) => Step::poll_at(format!("/jobs/{id}")),
///             None => Step::pass_through(),
///         }
///     }
///     fn read(&self, exchange: &Exchange<'_>) -> Step {
///         let state = exchange
///             .json()
///             .and_then(|v| v.get("state")?.as_str().map(str::to_owned));
///         match state.as_deref() {
///             Some("done") => Step::succeeded(),
///             Some("failed") => Step::failed(Some("JobFailed".into()), None),
///             Some(word) => Step::poll().with_status(word),
///             None => Step::invalid("no state"),
///         }
///     }
/// }
///
/// let layer = tower_lro::LroLayer::builder().with_dialect(Jobs).build().unwrap();
/// # let _ = layer;
/// ```
pub trait Dialect: Send + Sync + 'static {
    /// The dialect's name, unique in a layer: tokens and `LroInfo::matched_by` carry it.
    fn name(&self) -> &'static str;

    /// Whether the first response to `method uri` starts an operation of this dialect, decided
    /// on its head; and how much of its body [`start`](Dialect::start) needs.
    fn claim(&self, method: &Method, uri: &Uri, head: &http::response::Parts) -> Claim;

    /// What the first response of a claimed operation means.
    fn start(&self, exchange: &Exchange<'_>) -> Step;

    /// What a poll response means.
    fn read(&self, exchange: &Exchange<'_>) -> Step;

    /// The wait between polls when a response names none; `None`: the layer's.
    fn schedule(&self) -> Option<crate::PollSchedule> {
        None
    }
}

/// A dialect's answer to [`Dialect::claim`].
///
/// ```
/// let c = tower_lro::dialect::Claim::read(64 * 1024);
/// assert_ne!(c, tower_lro::dialect::Claim::No);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not an operation of this dialect.
    No,
    /// An operation of this dialect; `start` gets up to `read` body bytes (at most the
    /// layer's inspection cap; a longer body reaches `start` as `None`).
    Yes {
        /// Body bytes wanted (0: the head decides).
        read: usize,
    },
}

impl Claim {
    /// Mine; the head alone decides.
    ///
    /// ```
    /// assert_eq!(tower_lro::dialect::Claim::head_only(), tower_lro::dialect::Claim::Yes { read: 0 });
    /// ```
    pub fn head_only() -> Claim {
        Claim::Yes { read: 0 }
    }

    /// Mine, and `start` reads up to `bytes` of the body.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Claim::read(4096);
    /// ```
    pub fn read(bytes: usize) -> Claim {
        Claim::Yes { read: bytes }
    }
}

/// One response, as a dialect sees it.
///
/// ```
/// fn is_done(exchange: &tower_lro::dialect::Exchange<'_>) -> bool {
///     exchange.status().is_success() && exchange.body().is_some_and(|b| b.ends_with(b"}"))
/// }
/// ```
pub struct Exchange<'a> {
    pub(crate) method: &'a Method,
    pub(crate) original: &'a Uri,
    pub(crate) url: &'a Uri,
    pub(crate) status: StatusCode,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: Option<&'a [u8]>,
    pub(crate) state: Option<&'a str>,
}

impl fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::wire::redact::Redacted;
        f.debug_struct("Exchange")
            .field("method", self.method)
            .field("original", &Redacted(self.original).to_string())
            .field("url", &Redacted(self.url).to_string())
            .field("status", &self.status)
            .field("body_len", &self.body.map(<[u8]>::len))
            .finish_non_exhaustive()
    }
}

impl<'a> Exchange<'a> {
    /// The original request's method.
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _m: &http::Method = e.method(); }
    /// ```
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The original request's URI.
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _u: &http::Uri = e.original_uri(); }
    /// ```
    pub fn original_uri(&self) -> &'a Uri {
        self.original
    }

    /// The URL that gave this response (relative URLs a step names resolve against it).
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _u: &http::Uri = e.url(); }
    /// ```
    pub fn url(&self) -> &'a Uri {
        self.url
    }

    /// The response's status.
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _s = e.status(); }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's headers.
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _h = e.headers().get("retry-after"); }
    /// ```
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The whole body, or `None` when it was not read (a claim with `read: 0`) or is longer
    /// than the cap.
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _b: Option<&[u8]> = e.body(); }
    /// ```
    pub fn body(&self) -> Option<&'a [u8]> {
        self.body
    }

    /// The body as JSON, when it is whole and valid.
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _v = e.json(); }
    /// ```
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(self.body?).ok()
    }

    /// The state the dialect's last step kept (see [`Step::with_state`]).
    ///
    /// ```
    /// # fn f(e: &tower_lro::dialect::Exchange<'_>) { let _s: Option<&str> = e.state(); }
    /// ```
    pub fn state(&self) -> Option<&'a str> {
        self.state
    }
}

/// A dialect's answer about one response.
///
/// ```
/// use tower_lro::dialect::Step;
/// let _ = Step::poll_at("/v2/actions/1").with_status("in-progress").with_state("1");
/// let _ = Step::fetch("/v2/droplets/1");
/// let _ = Step::canceled(None, Some("stopped by a user".into()));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub(crate) kind: StepKind,
    pub(crate) status: Option<String>,
    pub(crate) percent: Option<f64>,
    pub(crate) state: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StepKind {
    PassThrough,
    Poll(Option<String>),
    Succeeded,
    Fetch(String),
    NoContent,
    Failed {
        canceled: bool,
        code: Option<String>,
        message: Option<String>,
    },
    Invalid(String),
    Hint(Duration),
}

impl Step {
    fn of(kind: StepKind) -> Step {
        Step {
            kind,
            status: None,
            percent: None,
            state: None,
        }
    }

    /// Not an operation after all (from [`Dialect::start`]): the response is handed over.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::pass_through();
    /// ```
    pub fn pass_through() -> Step {
        Step::of(StepKind::PassThrough)
    }

    /// Running: poll the same URL again.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::poll();
    /// ```
    pub fn poll() -> Step {
        Step::of(StepKind::Poll(None))
    }

    /// Running: poll `url` from now on (absolute, or relative to the response's URL).
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::poll_at("/v2/actions/7");
    /// ```
    pub fn poll_at(url: impl Into<String>) -> Step {
        Step::of(StepKind::Poll(Some(url.into())))
    }

    /// Done: this response is the result.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::succeeded();
    /// ```
    pub fn succeeded() -> Step {
        Step::of(StepKind::Succeeded)
    }

    /// Done: the result is a GET of `url`.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::fetch("/v2/droplets/1");
    /// ```
    pub fn fetch(url: impl Into<String>) -> Step {
        Step::of(StepKind::Fetch(url.into()))
    }

    /// Done: the result is `204 No Content`.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::no_content();
    /// ```
    pub fn no_content() -> Step {
        Step::of(StepKind::NoContent)
    }

    /// The operation failed: `OperationFailed` with the service's code and message.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::failed(Some("Quota".into()), None);
    /// ```
    pub fn failed(code: Option<String>, message: Option<String>) -> Step {
        Step::of(StepKind::Failed {
            canceled: false,
            code,
            message,
        })
    }

    /// The operation was canceled: `OperationCanceled`.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::canceled(None, None);
    /// ```
    pub fn canceled(code: Option<String>, message: Option<String>) -> Step {
        Step::of(StepKind::Failed {
            canceled: true,
            code,
            message,
        })
    }

    /// The response cannot be read as this dialect's: `InvalidStatusBody` with `detail`.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::invalid("no status");
    /// ```
    pub fn invalid(detail: impl Into<String>) -> Step {
        Step::of(StepKind::Invalid(detail.into()))
    }

    /// Running, and the body asks for this wait before the next poll (a header hint still
    /// wins; `max_interval` caps it).
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::poll_after(std::time::Duration::from_secs(5));
    /// ```
    pub fn poll_after(wait: Duration) -> Step {
        Step::of(StepKind::Hint(wait))
    }

    /// The status word to report (`LroInfo::status`, progress).
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::poll().with_status("in-progress");
    /// ```
    pub fn with_status(mut self, word: impl Into<String>) -> Step {
        self.status = Some(word.into());
        self
    }

    /// The percentage done to report.
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::poll().with_percent(40.0);
    /// ```
    pub fn with_percent(mut self, percent: f64) -> Step {
        self.percent = Some(percent).filter(|p| p.is_finite());
        self
    }

    /// State to keep for the next [`Dialect::read`] (and in resume tokens).
    ///
    /// ```
    /// let _ = tower_lro::dialect::Step::poll().with_state("action 7");
    /// ```
    pub fn with_state(mut self, state: impl Into<String>) -> Step {
        self.state = Some(state.into());
        self
    }
}
