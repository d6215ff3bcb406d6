//! The operation: a synchronous state machine that reads responses and says what to do next.
//!
//! It never touches a socket or a timer. The response future feeds it each response head (and
//! the body when [`Operation::body_cap`] asks for it) and carries out the [`Next`] step. What a
//! response means is its dialect's to say (`crate::dialect`); the machine keeps what every
//! dialect shares: phases, waits, limits and the deadline, the origin rule and credentials,
//! transient retries, errors, progress, resume tokens and `LroInfo`.

mod errors;
mod resume;
mod steps;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderMap;
use http::{response, Extensions, Method, Request, StatusCode, Version};
use tokio::time::Instant;

use crate::config::Config;
use crate::dialect::dispatch::Dialect;
use crate::dialect::{Facts, Rules, Verb};
use crate::info::{Initial, InitialHeaders, LroInfo};
use crate::options::LroOptions;
use crate::poll::LroPoll;
use crate::progress::{OnProgress, Progress};
use crate::resume::{ResumeToken, TokenState};
use crate::wire::headers::PackedHeaders;
use crate::wire::retry_after::{Jitter, PollSchedule};
use crate::wire::url::{self, Target};

pub(crate) use crate::dialect::{Reply, Seen};

/// What the driver does next: the one outcome of the machine. The driver moves bytes and time
/// and applies it; every rule about which response the caller gets lives here.
#[derive(Debug)]
pub(crate) enum Next {
    /// Not a long-running operation: hand the response over untouched.
    PassThrough,
    /// Wait, then send [`Operation::request`].
    Get {
        delay: Duration,
    },
    /// The caller's response: the one just fed, changed as this says.
    Respond(Respond),
    Fail(crate::LroError),
}

/// How the response just fed becomes the caller's.
#[derive(Debug, Default)]
pub(crate) struct Respond {
    /// `None`: the response's own.
    pub(crate) status: Option<StatusCode>,
    /// `Some`: these headers instead of the response's (and none of its extensions).
    pub(crate) headers: Option<HeaderMap>,
    /// A header of the response that is the monitor's own, not the result's.
    pub(crate) remove: Option<http::HeaderName>,
    /// Drop the response's extensions: the result is a response the machine made.
    pub(crate) fresh: bool,
    pub(crate) body: ResultBody,
}

/// The result's body.
#[derive(Debug, Default)]
pub(crate) enum ResultBody {
    /// The response's own body (replayed where it was read, then its unread rest).
    #[default]
    Keep,
    Bytes(Bytes),
    Empty,
}

impl Respond {
    /// The response just fed, with this status when it changes.
    pub(crate) fn this(status: Option<StatusCode>) -> Respond {
        Respond {
            status,
            ..Respond::default()
        }
    }

    /// A response the machine made whole.
    pub(super) fn made(status: StatusCode, headers: HeaderMap, body: ResultBody) -> Respond {
        Respond {
            status: Some(status),
            headers: Some(headers),
            remove: None,
            fresh: true,
            body,
        }
    }
}

/// Whether the caller waits for the end, or checks now and later (behaviour §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Poll to the end.
    ToTheEnd,
    /// Hand the first response over with a token instead of polling.
    HandOver,
    /// One poll (and the final GET it may lead to), then hand over while still running.
    CheckOnce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Initial,
    Polling,
    Final,
}

/// The caller's headers that go with the polls. Boxed: most requests reach the layer with
/// none it keeps (credentials are added below it), and every waiting operation holds the field.
#[derive(Debug, Default)]
struct PollHeaders(Option<Box<HeaderMap>>);

impl PollHeaders {
    fn new(map: HeaderMap) -> Self {
        PollHeaders((!map.is_empty()).then(|| Box::new(map)))
    }

    fn edit(&mut self, edit: impl FnOnce(&mut HeaderMap)) {
        match &mut self.0 {
            Some(map) => {
                edit(map);
                if map.is_empty() {
                    self.0 = None;
                }
            }
            None => {
                let mut map = HeaderMap::new();
                edit(&mut map);
                *self = PollHeaders::new(map);
            }
        }
    }

    fn get(&self) -> HeaderMap {
        self.0.as_deref().cloned().unwrap_or_default()
    }
}

/// One long-running operation, from its original request to its result.
#[derive(Debug)]
pub(crate) struct Operation {
    config: Arc<Config>,
    rules: Rules,
    /// What the dialect knows; `None` until the first response chose one.
    dialect: Option<Dialect>,
    pub(crate) facts: Facts,
    version: Version,
    headers: PollHeaders,
    extensions: Extensions,
    same_origin: bool,
    /// Whether the next request may carry the caller's credentials: decided for each request
    /// by its own origin (the caller's, or an allowed one `with_credentials()`).
    credentials_ok: bool,
    /// The monitor, and the result's URL, were requested without credentials: they may carry
    /// one in their query (SAS `sig=`, OneDrive `tempauth=`), so they are shown redacted.
    monitor_bare: bool,
    final_bare: bool,
    /// The caller sent origin-form (path only, authority in `Host`): so do its polls, and its
    /// service is bound to one origin.
    origin_form: bool,
    schedule: PollSchedule,
    /// The caller named a schedule: the dialect's own does not replace it.
    explicit_schedule: bool,
    jitter: Jitter,
    max_polls: Option<u32>,
    max_duration: Option<Duration>,
    started: Instant,
    /// `started + max_duration`: nothing runs past it once the first response arrived.
    deadline: Option<Instant>,
    phase: Phase,
    /// Polls of this run: `max_polls` is a budget per run (a resumed operation gets its own).
    polls: u32,
    /// Polls of earlier runs, from a resume token (clamped), reported onward in tokens.
    earlier_polls: u32,
    transient_in_row: u32,
    transient_total: u32,
    unhinted_waits: u32,
    total_wait: Duration,
    /// The wait before the next request: a token carries it to the resumed run.
    // Nanoseconds, saturating: a `Duration` would cost every waiting operation 8 more bytes.
    next_wait: u64,
    mode: Mode,
    /// The response goes to the caller before the end: `LroInfo` carries a token.
    handed_over: bool,
    /// The status and headers of the response that started the operation, for `LroInfo`.
    initial: Option<(StatusCode, PackedHeaders)>,
    /// The layer's and the request's progress hooks; boxed, as most operations have none.
    hooks: Option<Box<[Option<OnProgress>; 2]>>,
}

impl Operation {
    /// An operation for a request that may start one; `None` when it cannot (its method, an
    /// opt-out, or a URI that gives no origin to poll).
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
        op.facts.asks_async = crate::dialect::odata::asks_async(req.headers());
        op.origin_form = origin_form;
        op.version = req.version();
        op.headers = PollHeaders::new(url::poll_headers(req.headers()));
        op.extensions = req.extensions().clone();
        Some(op)
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
        // The dialect's own schedule applies when neither the request nor the layer names one.
        let explicit = options.schedule.or(config.schedule);
        let schedule = explicit.unwrap_or_default();
        // Drawn only when needed: a fresh seed costs a hash.
        let seed = if schedule.is_jittered() {
            config.next_jitter_seed()
        } else {
            0
        };
        let max_duration = options.max_duration.or(config.max_duration);
        Operation {
            rules: Rules {
                dialects: options.dialects_over(config.dialects),
                forced: options.dialect,
                hosts: options.hosts_over(&config.hosts),
                inspect_cap: config.inspect_cap,
                body_cap: config.body_cap,
                require_monitor_on_202: config.require_monitor_on_202,
                any_404_after_delete: config.any_404_after_delete,
                add_api_version: config.add_api_version,
                final_state_via: options.final_state_via.or(config.final_state_via),
                inline_result: options.inline_result.unwrap_or(config.inline_result),
                generic_vocabulary: config.generic_vocabulary,
            },
            dialect: None,
            facts: Facts::new(verb, orig),
            version: Version::HTTP_11,
            headers: PollHeaders::default(),
            extensions: Extensions::new(),
            same_origin: true,
            credentials_ok: true,
            monitor_bare: false,
            final_bare: false,
            origin_form: false,
            schedule,
            explicit_schedule: explicit.is_some(),
            jitter: Jitter::seeded(seed),
            max_polls: options.max_polls.or(config.max_polls),
            max_duration,
            hooks: (config.on_progress.is_some() || options.on_progress.is_some())
                .then(|| Box::new([config.on_progress.clone(), options.on_progress.clone()])),
            config: config.clone(),
            started: now,
            deadline: max_duration.and_then(|max| now.checked_add(max)),
            phase: Phase::Initial,
            polls: 0,
            earlier_polls: 0,
            transient_in_row: 0,
            transient_total: 0,
            unhinted_waits: 0,
            total_wait: Duration::ZERO,
            next_wait: 0,
            mode: if options.hand_over {
                Mode::HandOver
            } else {
                Mode::ToTheEnd
            },
            handed_over: false,
            initial: None,
        }
    }

    /// How much of this response's body to read before [`Operation::on_response`]; `None`
    /// leaves it unread.
    pub(crate) fn body_cap(&self, head: &response::Parts) -> Option<usize> {
        match (self.phase, self.dialect) {
            (Phase::Initial, _) | (_, None) => Dialect::body_cap(&self.rules, &self.facts, head),
            // Poll bodies are always read: to decide, and so the connection can be reused.
            (Phase::Polling, Some(dialect)) => {
                Some(dialect.poll_body_cap(&self.rules, &self.facts))
            }
            (Phase::Final, _) => (!head.status.is_success()).then_some(self.rules.body_cap),
        }
    }

    /// The GET to send for [`Next::Get`].
    pub(crate) fn request<B: Default>(&self) -> Request<B> {
        let target = &self.facts.target.uri;
        let mut req = Request::new(B::default());
        let post = self.facts.state.google().is_some_and(|g| g.poll_post);
        *req.method_mut() = if post && self.phase != Phase::Final {
            Method::POST
        } else {
            Method::GET
        };
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.get();
        if !self.credentials_ok {
            url::strip_credentials(req.headers_mut());
        }
        if self.origin_form {
            // As the caller's request was: the path here, the authority in `Host`.
            let path = target.path_and_query();
            *req.uri_mut() = path.map_or_else(http::Uri::default, |p| http::Uri::from(p.clone()));
            if let Some(authority) = target.authority() {
                if let Ok(host) = http::HeaderValue::from_str(authority.as_str()) {
                    req.headers_mut().insert(http::header::HOST, host);
                }
            }
        } else {
            *req.uri_mut() = target.clone();
        }
        let marker = LroPoll {
            attempt: self.polls,
            same_origin: self.same_origin,
            credentials_allowed: self.credentials_ok,
            final_get: self.phase == Phase::Final,
        };
        if self.same_origin {
            *req.extensions_mut() = self.extensions.clone();
        }
        req.extensions_mut().insert(marker);
        req
    }

    /// What happened, for the response extension.
    pub(crate) fn info(&self) -> LroInfo {
        LroInfo {
            monitor_kind: self.facts.monitor,
            monitor_url: self.shown_monitor(),
            polls: self.polls,
            transient_retries: self.transient_total,
            total_wait: self.total_wait,
            status: self.facts.status_word.clone(),
            percent_complete: self.facts.percent_complete,
            // In the final phase the target is the result's URL (and a final GET was made).
            final_url: (self.phase == Phase::Final)
                .then(|| self.shown(&self.facts.target.uri, self.final_bare)),
            gone_on_404: self.facts.gone_on_404,
            initial: self.initial.as_ref().map(|(status, headers)| Initial {
                status: *status,
                headers: InitialHeaders::new(headers.clone()),
            }),
            dialect: self
                .dialect
                .map_or(crate::LroDialect::Azure, Dialect::public),
            matched_by: self.facts.matched_by,
            operation_name: self.facts.state.name().map(str::to_owned),
            google: self.facts.state.google().cloned().map(Box::new),
            resume_token: self.handed_over.then(|| Box::new(self.token())),
        }
    }

    /// Where the operation stands, to resume it.
    pub(crate) fn token(&self) -> ResumeToken {
        let facts = &self.facts;
        ResumeToken {
            method: facts.verb.as_str().to_owned(),
            original_uri: facts.orig.uri.to_string(),
            monitor: facts.monitor,
            url: facts.target.uri.to_string(),
            location: facts.location.as_deref().map(|l| match l {
                Ok(t) => t.uri.to_string(),
                Err(raw) => raw.clone(),
            }),
            final_get: self.phase == Phase::Final,
            polls: self.earlier_polls.saturating_add(self.polls),
            origin_form: self.origin_form,
            dialect: self
                .dialect
                .map_or(crate::LroDialect::Azure, Dialect::public),
            state: self.token_state(),
        }
    }

    /// What the token carries beside the URLs: the dialect's facts and the operation's
    /// options, whole.
    fn token_state(&self) -> TokenState {
        let facts = &self.facts;
        TokenState {
            wait_ms: self.next_wait / 1_000_000,
            schedule_step: self.unhinted_waits,
            transient_in_row: self.transient_in_row,
            location_unusable: matches!(facts.location.as_deref(), Some(Err(_))),
            final_state_via: self.rules.final_state_via,
            inline_result: self.rules.inline_result,
            status: facts.status_word.as_deref().map(str::to_owned),
            dialect: facts.state.clone(),
        }
    }

    /// The wait a resumed operation owes before its first request, within its deadline.
    pub(crate) fn resumed_wait(&self) -> Duration {
        Duration::from_nanos(self.next_wait)
    }

    /// When the operation must have ended, if `max_duration` is set.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Tells the progress hooks, if any, that the next request comes after `next_wait`.
    pub(crate) fn report(&self, next_wait: Duration) {
        let Some(hooks) = &self.hooks else {
            return;
        };
        let progress = Progress {
            status: self.facts.status_word.clone(),
            percent_complete: self.facts.percent_complete,
            polls: self.polls,
            next_wait,
            monitor_kind: self.facts.monitor,
            monitor_url: self.shown_monitor(),
            token: self.token(),
        };
        for hook in hooks.iter().flatten() {
            hook.call(&progress);
        }
    }

    /// The monitor's URL as it may be shown: redacted when it went without credentials.
    pub(crate) fn shown_monitor(&self) -> http::Uri {
        self.shown(self.facts.monitor_uri(), self.monitor_bare)
    }

    /// A URL as `LroInfo` and progress show it: redacted when it went (or would go) without
    /// credentials, or is off the original origin (failing closed for one never requested).
    fn shown(&self, uri: &http::Uri, bare: bool) -> http::Uri {
        let own = url::admit(&self.facts.orig.uri, &[], uri) == url::Admission::SameOrigin;
        if bare || !own {
            redacted_uri(uri)
        } else {
            uri.clone()
        }
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn original_uri(&self) -> &http::Uri {
        &self.facts.orig.uri
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn target_uri(&self) -> &http::Uri {
        &self.facts.target.uri
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn status_word(&self) -> Option<&str> {
        self.facts.status_word.as_deref()
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn is_final_get(&self) -> bool {
        self.phase == Phase::Final
    }

    #[cfg(feature = "tracing")]
    pub(crate) fn polls(&self) -> u32 {
        self.polls
    }
}

use crate::wire::redact::redacted_uri;

/// `d` in nanoseconds, saturating at `u64::MAX` (584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_hardened;
#[cfg(test)]
mod tests_promises;
#[cfg(test)]
mod tests_resume;
