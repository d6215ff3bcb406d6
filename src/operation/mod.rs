//! The operation: a synchronous state machine that reads responses and says what to do next.
//!
//! It never touches a socket or a timer. The response future feeds it each response head (and
//! the body when [`Operation::body_cap`] asks for it) and carries out the [`Next`] step.

mod detect;
mod final_result;
mod monitor;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::HeaderMap;
use http::{response, Extensions, Method, Request, StatusCode, Version};
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{ErrorKind, LroError};
use crate::info::{Initial, LroInfo, LroPoll, MonitorKind};
use crate::options::{FinalStateVia, LroOptions};
use crate::progress::{OnProgress, Progress};
use crate::resume::ResumeToken;
use crate::wire::redact::Redacted;
use crate::wire::retry_after::{self, Jitter, PollSchedule};
use crate::wire::status::{State, StatusDoc};
use crate::wire::url::{self, Admission, Origin, Target};

/// The wall clock, read only for an HTTP-date `Retry-After`.
pub(crate) type Wall<'a> = &'a dyn Fn() -> SystemTime;

/// What the driver does next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Not a long-running operation: hand the response over untouched.
    PassThrough,
    /// Wait, then GET [`Operation::request`].
    Get {
        delay: Duration,
    },
    /// The response just fed is the result (with this status, when it changes).
    Return {
        status: Option<StatusCode>,
    },
    /// The result is a synthesized `204 No Content`.
    ReturnNoContent,
    /// The result is this JSON, a status monitor's `result` member, as a `200 OK`.
    ReturnJson(Bytes),
    Fail(LroError),
}

/// One response, as the driver feeds it to the operation.
#[derive(Clone, Copy)]
pub(crate) struct Reply<'a> {
    pub(crate) head: &'a response::Parts,
    pub(crate) body: Seen<'a>,
    pub(crate) now: Instant,
    pub(crate) wall: Wall<'a>,
}

/// A response body as far as the driver read it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seen<'a> {
    /// Not read (the operation did not ask for it).
    Unread,
    /// The whole body.
    Whole(&'a [u8]),
    /// The body is longer than the cap; these are its first bytes.
    Partial(&'a [u8]),
}

impl<'a> Seen<'a> {
    fn whole(self) -> Option<&'a [u8]> {
        match self {
            Seen::Whole(b) => Some(b),
            _ => None,
        }
    }

    fn bytes(self) -> &'a [u8] {
        match self {
            Seen::Whole(b) | Seen::Partial(b) => b,
            Seen::Unread => &[],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Put,
    Patch,
    Post,
    Delete,
}

impl Verb {
    fn of(method: &Method) -> Option<Verb> {
        match *method {
            Method::PUT => Some(Verb::Put),
            Method::PATCH => Some(Verb::Patch),
            Method::POST => Some(Verb::Post),
            Method::DELETE => Some(Verb::Delete),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Post => "POST",
            Verb::Delete => "DELETE",
        }
    }

    fn writes_resource(self) -> bool {
        matches!(self, Verb::Put | Verb::Patch)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Initial,
    Polling,
    Final,
}

/// The latest `Location` header seen: usable, or present but unusable.
type SeenLocation = Option<Result<Target, String>>;

/// One long-running operation, from its original request to its result.
#[derive(Debug)]
pub(crate) struct Operation {
    config: Arc<Config>,
    verb: Verb,
    orig: Target,
    version: Version,
    headers: HeaderMap,
    extensions: Extensions,
    same_origin: bool,
    /// False for good once credentials were stripped for an allowed foreign origin.
    credentials_ok: bool,
    /// The caller sent origin-form (path only, authority in `Host`): so do its polls, and its
    /// service is bound to one origin.
    origin_form: bool,
    schedule: PollSchedule,
    jitter: Jitter,
    max_polls: Option<u32>,
    max_duration: Option<Duration>,
    final_state_via: Option<FinalStateVia>,
    inline_result: bool,
    started: Instant,
    /// `started + max_duration`: nothing runs past it once the first response arrived.
    deadline: Option<Instant>,
    phase: Phase,
    monitor: MonitorKind,
    /// The monitor's URL; `target` is where the next request goes (the monitor or the result).
    monitor_uri: http::Uri,
    target: Target,
    location: SeenLocation,
    /// Polls of this run: `max_polls` is a budget per run (a resumed operation gets its own).
    polls: u32,
    /// Polls of earlier runs, from a resume token (clamped), reported onward in tokens.
    earlier_polls: u32,
    transient_in_row: u32,
    transient_total: u32,
    unhinted_waits: u32,
    total_wait: Duration,
    status_word: Option<String>,
    percent_complete: Option<f64>,
    final_url: Option<http::Uri>,
    gone_on_404: bool,
    /// The response that started the operation, for `LroInfo`.
    initial: Option<Initial>,
    hooks: [Option<OnProgress>; 2],
}

/// The most earlier polls a resume token may claim; more is clamped (it is only reported).
const MAX_EARLIER_POLLS: u32 = 1 << 24;

/// Statuses worth the same request again after a wait.
fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

impl Operation {
    /// An operation for a request that may start one; `None` when it cannot (its method, an
    /// opt-out, or a URI that is not absolute http(s) and so gives no origin to poll).
    pub(crate) fn start<B>(
        req: &Request<B>,
        config: &Arc<Config>,
        now: Instant,
    ) -> Option<Operation> {
        let verb = Verb::of(req.method())?;
        let options = req.extensions().get::<LroOptions>();
        if options.is_some_and(|o| o.opt_out) {
            return None;
        }
        let (orig, origin_form) = match Target::from_request(req.uri()) {
            Some(orig) => (orig, false),
            None => {
                let scheme = config.origin_form_scheme.as_ref()?;
                let host = req.headers().get(http::header::HOST)?;
                (Target::from_origin_form(req.uri(), host, scheme)?, true)
            }
        };
        let mut op = Operation::new(verb, orig, config, options, now);
        op.origin_form = origin_form;
        op.version = req.version();
        op.headers = url::poll_headers(req.headers());
        op.extensions = req.extensions().clone();
        Some(op)
    }

    /// An operation picked up from a [`ResumeToken`]; the first request goes to its URL.
    ///
    /// The token is data from outside: its original URI must be on `origin` (the origin the
    /// caller expects), and its next URL on that origin or the layer's allow-list, or nothing
    /// is sent. Its Location meets the origin rule when a final GET needs it, as in the
    /// uninterrupted run. Its poll count is clamped and only reported; this run gets its own
    /// budget.
    pub(crate) fn resume(
        token: &ResumeToken,
        origin: &http::Uri,
        config: &Arc<Config>,
        now: Instant,
    ) -> Result<Operation, LroError> {
        let bad = |what: &str| {
            LroError::new(ErrorKind::InvalidResumeToken)
                .with_detail(format!("resume token: {what}"))
        };
        let expected =
            Origin::of(origin).ok_or_else(|| bad("the expected origin is not absolute http(s)"))?;
        let method =
            Method::from_bytes(token.method.as_bytes()).map_err(|_| bad("unknown method"))?;
        let verb = Verb::of(&method).ok_or_else(|| bad("not a PUT, PATCH, POST or DELETE"))?;
        let orig = token
            .original_uri
            .parse()
            .ok()
            .and_then(|uri| Target::from_request(&uri))
            .ok_or_else(|| bad("unusable original URI"))?;
        // The next URL is the original one (a resource poll or its final GET), taken as the
        // caller sent it, or one a response named, which must be a valid reference.
        let target = if token.url == token.original_uri {
            orig.clone()
        } else {
            Target::resolve(&orig.uri, &token.url).ok_or_else(|| bad("unusable URL"))?
        };
        let location = match &token.location {
            Some(raw) => {
                Some(Target::resolve(&orig.uri, raw).ok_or_else(|| bad("unusable Location"))?)
            }
            None => None,
        };
        // The Location is only ever a final-result URL: as in the uninterrupted run, the origin
        // rule refuses it when (and if) it is needed, before anything is sent to it.
        if !expected.matches(&orig.uri)
            || url::admit(origin, &config.allowed, &target.uri) == Admission::Refused
        {
            return Err(
                LroError::new(ErrorKind::CrossOriginPollingUrl).with_detail(format!(
                    "resume token: a URL is not on {expected} or an allowed origin"
                )),
            );
        }
        let mut op = Operation::new(verb, orig, config, None, now);
        op.location = location.map(Ok);
        op.monitor = token.monitor;
        op.earlier_polls = token.polls.min(MAX_EARLIER_POLLS);
        op.origin_form = token.origin_form;
        op.phase = if token.final_get {
            Phase::Final
        } else {
            Phase::Polling
        };
        op.aim(target, None, now)?;
        // The first request goes out at once; a poll of the monitor counts against this run.
        if op.phase == Phase::Polling {
            op.polls = 1;
        }
        Ok(op)
    }

    fn new(
        verb: Verb,
        orig: Target,
        config: &Arc<Config>,
        options: Option<&LroOptions>,
        now: Instant,
    ) -> Operation {
        let none = LroOptions::default();
        let options = options.unwrap_or(&none);
        let schedule = options.schedule.unwrap_or(config.schedule);
        // Drawn only when needed: a fresh seed costs a hash.
        let seed = if schedule.is_jittered() {
            config.next_jitter_seed()
        } else {
            0
        };
        Operation {
            verb,
            target: orig.clone(),
            monitor_uri: orig.uri.clone(),
            orig,
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
            extensions: Extensions::new(),
            same_origin: true,
            credentials_ok: true,
            origin_form: false,
            schedule,
            jitter: Jitter::seeded(seed),
            max_polls: options.max_polls.or(config.max_polls),
            max_duration: options.max_duration.or(config.max_duration),
            final_state_via: options.final_state_via.or(config.final_state_via),
            inline_result: options.inline_result.unwrap_or(config.inline_result),
            hooks: [config.on_progress.clone(), options.on_progress.clone()],
            config: config.clone(),
            started: now,
            deadline: options
                .max_duration
                .or(config.max_duration)
                .and_then(|max| now.checked_add(max)),
            phase: Phase::Initial,
            monitor: MonitorKind::ProvisioningState,
            location: None,
            polls: 0,
            earlier_polls: 0,
            transient_in_row: 0,
            transient_total: 0,
            unhinted_waits: 0,
            total_wait: Duration::ZERO,
            status_word: None,
            percent_complete: None,
            final_url: None,
            gone_on_404: false,
            initial: None,
        }
    }

    /// How much of this response's body to read before [`Operation::on_response`]; `None`
    /// leaves it unread.
    pub(crate) fn body_cap(&self, head: &response::Parts) -> Option<usize> {
        match self.phase {
            Phase::Initial => detect::body_cap(self, head),
            // Poll bodies are always read: to decide, and so the connection can be reused. A
            // status monitor's body must fit its cap; a Location or resource poll may answer
            // with the result itself, which is only inspected.
            Phase::Polling => Some(match self.monitor {
                MonitorKind::AzureAsyncOperation | MonitorKind::OperationLocation => {
                    self.config.body_cap
                }
                _ => self.config.inspect_cap,
            }),
            Phase::Final => (!head.status.is_success()).then_some(self.config.body_cap),
        }
    }

    /// Reads one response and decides the next step.
    pub(crate) fn on_response(&mut self, reply: Reply<'_>) -> Next {
        match self.phase {
            Phase::Initial => self.on_initial(reply),
            Phase::Polling => self.on_poll(reply),
            Phase::Final => self.on_final(reply),
        }
    }

    /// The GET to send for [`Next::Get`].
    pub(crate) fn request<B: Default>(&self) -> Request<B> {
        let mut req = Request::new(B::default());
        *req.method_mut() = Method::GET;
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.clone();
        if self.origin_form {
            // As the caller's request was: the path here, the authority in `Host`.
            let path = self.target.uri.path_and_query();
            *req.uri_mut() = path.map_or_else(http::Uri::default, |p| http::Uri::from(p.clone()));
            if let Some(authority) = self.target.uri.authority() {
                if let Ok(host) = http::HeaderValue::from_str(authority.as_str()) {
                    req.headers_mut().insert(http::header::HOST, host);
                }
            }
        } else {
            *req.uri_mut() = self.target.uri.clone();
        }
        if self.same_origin {
            *req.extensions_mut() = self.extensions.clone();
        }
        req.extensions_mut().insert(LroPoll {
            attempt: self.polls,
            same_origin: self.same_origin,
            credentials_allowed: self.credentials_ok,
            final_get: self.phase == Phase::Final,
        });
        req
    }

    /// What happened, for the response extension.
    pub(crate) fn info(&self) -> LroInfo {
        LroInfo {
            monitor_kind: self.monitor,
            monitor_url: self.monitor_uri.clone(),
            polls: self.polls,
            transient_retries: self.transient_total,
            total_wait: self.total_wait,
            status: self.status_word.clone(),
            percent_complete: self.percent_complete,
            final_url: self.final_url.clone(),
            gone_on_404: self.gone_on_404,
            initial: self.initial.clone(),
        }
    }

    /// Where the operation stands, to resume it.
    pub(crate) fn token(&self) -> ResumeToken {
        ResumeToken {
            method: self.verb.as_str().to_owned(),
            original_uri: self.orig.uri.to_string(),
            monitor: self.monitor,
            url: self.target.uri.to_string(),
            location: self
                .location
                .as_ref()
                .and_then(|l| l.as_ref().ok())
                .map(|t| t.uri.to_string()),
            final_get: self.phase == Phase::Final,
            polls: self.earlier_polls.saturating_add(self.polls),
            origin_form: self.origin_form,
        }
    }

    /// When the operation must have ended, if `max_duration` is set.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// True while the original response is being read: it is the caller's response until a
    /// rule makes it an operation, so a body error there is handed over, not turned into an
    /// error (contract §5).
    pub(crate) fn is_initial(&self) -> bool {
        self.phase == Phase::Initial
    }

    /// The deadline passed: `TimedOut` with the last response received, if any.
    pub(crate) fn deadline_passed(
        &self,
        last: Option<(&response::Parts, &[u8])>,
        now: Instant,
    ) -> LroError {
        let detail = format!(
            "max_duration {:?} reached",
            self.max_duration.unwrap_or_default()
        );
        let error = match last {
            Some((head, body)) => self.response_error(
                ErrorKind::TimedOut,
                Reply {
                    head,
                    body: Seen::Partial(body),
                    now,
                    wall: &SystemTime::now,
                },
            ),
            None => self.error(ErrorKind::TimedOut, now),
        };
        error.with_detail(detail)
    }

    /// Tells the progress hooks, if any, that the next request comes after `next_wait`.
    pub(crate) fn report(&self, next_wait: Duration) {
        if self.hooks.iter().all(Option::is_none) {
            return;
        }
        let progress = Progress {
            status: self.status_word.clone(),
            percent_complete: self.percent_complete,
            polls: self.polls,
            next_wait,
            monitor_kind: self.monitor,
            monitor_url: self.monitor_uri.clone(),
            token: self.token(),
        };
        for hook in self.hooks.iter().flatten() {
            hook.call(&progress);
        }
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn original_uri(&self) -> &http::Uri {
        &self.orig.uri
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn target_uri(&self) -> &http::Uri {
        &self.target.uri
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn status_word(&self) -> Option<&str> {
        self.status_word.as_deref()
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn polls(&self) -> u32 {
        self.polls
    }

    /// Remembers what a status body said, for progress and the extension.
    fn note(&mut self, word: Option<&str>, doc: &StatusDoc<'_>) {
        if let Some(word) = word {
            if self.status_word.as_deref() != Some(word) {
                self.status_word = Some(word.to_owned());
            }
        }
        if doc.percent_complete.is_some() {
            self.percent_complete = doc.percent_complete;
        }
    }

    /// Remembers the latest `Location`, or its unusable value (an error only if it is needed).
    /// A relative value resolves against the URL that answered it (`self.target`).
    fn note_location(&mut self, headers: &HeaderMap) {
        let Some(value) = headers.get(http::header::LOCATION) else {
            return;
        };
        self.location = Some(
            Target::first_in(&self.target.uri, headers, http::header::LOCATION)
                .map(|t| self.for_request(t))
                .ok_or_else(|| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
    }

    /// Applies the api-version option to a monitor or result URL.
    fn for_request(&self, target: Target) -> Target {
        if self.config.add_api_version {
            target.with_api_version_of(&self.orig.uri)
        } else {
            target
        }
    }

    /// Makes `target` the URL of the next request, if the origin rule admits it.
    fn aim(
        &mut self,
        target: Target,
        reply: Option<Reply<'_>>,
        now: Instant,
    ) -> Result<(), LroError> {
        self.set_target(target);
        self.check_origin(reply, now)
    }

    /// The origin rule for the URL of the next request; a refusal keeps the response that
    /// named the URL.
    fn check_origin(&mut self, reply: Option<Reply<'_>>, now: Instant) -> Result<(), LroError> {
        let admission = url::admit(&self.orig.uri, &self.config.allowed, &self.target.uri);
        match admission {
            Admission::SameOrigin => self.same_origin = true,
            Admission::Allowed { .. } if self.origin_form => {
                let detail = "an origin-form request's service reaches only its own origin";
                let kind = ErrorKind::CrossOriginPollingUrl;
                let error = match reply {
                    Some(reply) => self.response_error(kind, reply),
                    None => self.error(kind, now),
                };
                return Err(error.with_detail(detail));
            }
            Admission::Allowed { credentials } => {
                if !credentials {
                    // Stripped for good: a later same-origin poll does not bring them back.
                    url::strip_credentials(&mut self.headers);
                    self.credentials_ok = false;
                }
                self.same_origin = false;
            }
            Admission::Refused => {
                let detail = format!(
                    "{} is not on the origin of {}",
                    Redacted(&self.target.uri),
                    Redacted(&self.orig.uri)
                );
                let kind = ErrorKind::CrossOriginPollingUrl;
                let error = match reply {
                    Some(reply) => self.response_error(kind, reply),
                    None => self.error(kind, now),
                };
                return Err(error.with_detail(detail));
            }
        }
        Ok(())
    }

    /// Aims the next request; outside the final GET, that URL is the monitor.
    fn set_target(&mut self, target: Target) {
        if self.phase != Phase::Final {
            self.monitor_uri = target.uri.clone();
        }
        self.target = target;
    }

    /// The next request to the current target, after the hint on `reply` or the schedule.
    fn poll(&mut self, reply: Reply<'_>) -> Next {
        let Reply {
            head, now, wall, ..
        } = reply;
        let delay = match retry_after::hint(&head.headers, wall) {
            Some(hint) => hint.min(self.config.max_interval),
            None => {
                let delay = self.schedule.wait(self.unhinted_waits, &mut self.jitter);
                self.unhinted_waits = self.unhinted_waits.saturating_add(1);
                delay
            }
        };
        if let Err(e) = self.check_origin(Some(reply), now) {
            return Next::Fail(e);
        }
        // The final GET's transient retries are not polls of the monitor.
        let counts = self.phase != Phase::Final;
        if counts && self.max_polls.is_some_and(|max| self.polls >= max) {
            let detail = format!("{} polls made", self.polls);
            return Next::Fail(
                self.response_error(ErrorKind::TimedOut, reply)
                    .with_detail(detail),
            );
        }
        if let Some(deadline) = self.deadline {
            // Fail now rather than sleep into the deadline: no request could follow the wait.
            if now.checked_add(delay).is_none_or(|at| at >= deadline) {
                let detail = format!(
                    "the next poll, in {delay:?}, would be past max_duration {:?}",
                    self.max_duration.unwrap_or_default()
                );
                return Next::Fail(
                    self.response_error(ErrorKind::TimedOut, reply)
                        .with_detail(detail),
                );
            }
        }
        if counts {
            self.polls = self.polls.saturating_add(1);
        }
        self.total_wait = self.total_wait.saturating_add(delay);
        Next::Get { delay }
    }

    /// A transient answer: the same URL again, up to the retry limit.
    fn retry(&mut self, reply: Reply<'_>, kind: ErrorKind) -> Next {
        if self.transient_in_row >= self.config.max_transient_retries {
            let detail = format!(
                "{} transient answers in a row",
                self.transient_in_row.saturating_add(1)
            );
            return Next::Fail(self.response_error(kind, reply).with_detail(detail));
        }
        self.transient_in_row = self.transient_in_row.saturating_add(1);
        self.transient_total = self.transient_total.saturating_add(1);
        self.poll(reply)
    }

    /// An error of the inner service (or of a body it produced). The original request's own
    /// errors pass through unchanged; once polling started they become `PollFailed` or
    /// `FinalGetFailed` with the inner error as `source()`, so the monitor URL and the resume
    /// token are not lost with them.
    pub(crate) fn service_error(&self, error: tower::BoxError, now: Instant) -> tower::BoxError {
        let kind = match self.phase {
            Phase::Initial => return error,
            Phase::Polling => ErrorKind::PollFailed,
            Phase::Final => ErrorKind::FinalGetFailed,
        };
        let detail = format!("the inner service failed: {error}");
        Box::new(self.error(kind, now).with_detail(detail).with_source(error))
    }

    /// An error at the current URL, with the progress made so far.
    fn error(&self, kind: ErrorKind, now: Instant) -> LroError {
        LroError::new(kind)
            .with_progress(
                Some(self.monitor_uri.clone()),
                self.polls,
                now.saturating_duration_since(self.started),
            )
            .with_resume(self.token())
    }

    /// An error that keeps the response it came from, with the service's code and message.
    fn response_error(&self, kind: ErrorKind, reply: Reply<'_>) -> LroError {
        let Reply {
            head, body, now, ..
        } = reply;
        let bytes = body.bytes();
        let doc = StatusDoc::parse(bytes).unwrap_or_default();
        let (code, message) = doc.code_and_message();
        self.error(kind, now)
            .with_service_error(code, message)
            .with_response(
                head.status,
                head.headers.clone(),
                Bytes::copy_from_slice(bytes),
            )
    }

    /// A terminal Failed/Canceled word.
    fn ended(&self, state: State, reply: Reply<'_>) -> Next {
        let kind = if state == State::Canceled {
            ErrorKind::OperationCanceled
        } else {
            ErrorKind::OperationFailed
        };
        Next::Fail(self.response_error(kind, reply))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hardened;
