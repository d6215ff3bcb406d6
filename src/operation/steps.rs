//! From a response to the next step: the dialect's verdict, then the shared rules (waits,
//! limits, the deadline, the origin rule, transient retries).

use std::time::Duration;

use tokio::time::Instant;

use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::{Mode, Next, Operation, Phase, Respond, ResultBody};
use crate::dialect::dispatch::Dialect;
use crate::dialect::{is_transient, Reply, Verdict};
use crate::error::LroError;
use crate::error_kind::ErrorKind;
use crate::wire::headers::PackedHeaders;
use crate::wire::redact::Redacted;
use crate::wire::retry_after;
use crate::wire::url::{self, Admission, Target};

impl Operation {
    /// Reads one response and decides the next step.
    pub(crate) fn on_response(&mut self, reply: Reply<'_>) -> Next {
        let before = self.phase;
        let next = match (self.phase, self.dialect) {
            (Phase::Initial, _) | (_, None) => self.on_initial(reply),
            (Phase::Polling, Some(dialect)) => self.on_poll(dialect, reply),
            (Phase::Final, _) => self.on_final(reply),
        };
        self.maybe_hand_over(before, next)
    }

    /// Start now, check later (behaviour §7): a request to wait for becomes the response just
    /// read, with a token. Handing over the first response polls nothing; a check makes one
    /// poll, and the final GET it leads to at once.
    fn maybe_hand_over(&mut self, before: Phase, next: Next) -> Next {
        let Next::Get { delay } = next else {
            return next;
        };
        let to_result_now =
            before == Phase::Polling && self.phase == Phase::Final && delay.is_zero();
        let hand_over = match self.mode {
            Mode::ToTheEnd => false,
            Mode::HandOver => before == Phase::Initial,
            Mode::CheckOnce => !to_result_now,
        };
        if !hand_over {
            return next;
        }
        // The token says where the next request goes and after which wait; no request of this
        // run is made for it.
        if before != Phase::Final && self.phase != Phase::Final {
            self.polls = self.polls.saturating_sub(1);
        }
        self.handed_over = true;
        self.respond(Respond::this(None))
    }

    fn on_initial(&mut self, reply: Reply<'_>) -> Next {
        let (dialect, verdict) = Dialect::start(&self.rules, &mut self.facts, reply);
        let Some(dialect) = dialect else {
            return Next::PassThrough;
        };
        self.dialect = Some(dialect);
        self.headers.edit(|h| dialect.edit_poll_headers(h));
        if !self.explicit_schedule {
            self.schedule = dialect.default_schedule(&self.rules, &self.facts);
        }
        self.initial = Some((reply.head.status, PackedHeaders::pack(&reply.head.headers)));
        if let Verdict::Poll = verdict {
            self.phase = Phase::Polling;
        }
        self.carry_out(verdict, reply)
    }

    fn on_poll(&mut self, dialect: Dialect, reply: Reply<'_>) -> Next {
        if is_transient(reply.head.status) {
            return self.retry(reply, ErrorKind::PollFailed);
        }
        self.transient_in_row = 0;
        let verdict = dialect.read(&self.rules, &mut self.facts, reply);
        self.carry_out(verdict, reply)
    }

    fn on_final(&mut self, reply: Reply<'_>) -> Next {
        let head = reply.head;
        if head.status.is_success() {
            let status = self
                .dialect
                .is_some_and(|d| d.final_as_ok())
                .then_some(StatusCode::OK);
            return self.respond(Respond::this(status));
        }
        if is_transient(head.status) {
            return self.retry(reply, ErrorKind::FinalGetFailed);
        }
        if let Some(dialect) = self.dialect {
            if let Some(verdict) = dialect.final_error(&mut self.facts, reply.body.bytes()) {
                return self.carry_out(verdict, reply);
            }
        }
        Next::Fail(self.response_error(ErrorKind::FinalGetFailed, reply))
    }

    /// Turns a dialect's verdict about `reply` into the next step.
    fn carry_out(&mut self, verdict: Verdict, reply: Reply<'_>) -> Next {
        match verdict {
            Verdict::PassThrough | Verdict::HandOver => Next::PassThrough,
            Verdict::Poll => self.poll(reply),
            Verdict::Result { status } => self.respond(Respond::this(status)),
            Verdict::NoContent => self.respond(Respond::made(
                StatusCode::NO_CONTENT,
                HeaderMap::new(),
                ResultBody::Empty,
            )),
            Verdict::Json(json) => {
                // The monitor's head, describing its new body: the member, as JSON.
                let mut headers = reply.head.headers.clone();
                for name in [CONTENT_ENCODING, TRANSFER_ENCODING] {
                    headers.remove(name);
                }
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CONTENT_LENGTH, HeaderValue::from(json.len()));
                // Its own extensions stay: it is the monitor's response, re-described.
                self.respond(Respond {
                    fresh: false,
                    ..Respond::made(StatusCode::OK, headers, ResultBody::Bytes(json))
                })
            }
            Verdict::Synthesized {
                status,
                headers,
                body,
            } => self.respond(Respond::made(status, headers, ResultBody::Bytes(body))),
            Verdict::Fetch(target) => {
                self.phase = Phase::Final;
                self.transient_in_row = 0;
                if let Err(e) = self.aim(target, Some(reply), reply.now) {
                    return Next::Fail(e);
                }
                // A redirect's target may carry its credential in its query (behaviour §8.8).
                let redirect = crate::dialect::is_redirect(reply.head.status);
                self.final_bare |= redirect;
                // A redirect's Retry-After is the least wait before its GET (RFC 9110 §10.2.3).
                let delay = if redirect {
                    retry_after::hint(&reply.head.headers, reply.wall)
                        .map_or(Duration::ZERO, |hint| hint.min(self.config.max_interval))
                } else {
                    Duration::ZERO
                };
                if !delay.is_zero() && self.waits_past_deadline(reply.now, delay) {
                    let detail =
                        format!("the result's GET, in {delay:?}, would be past max_duration");
                    return Next::Fail(
                        self.response_error(ErrorKind::TimedOut, reply)
                            .with_detail(detail),
                    );
                }
                self.total_wait = self.total_wait.saturating_add(delay);
                self.next_wait = super::nanos(delay);
                Next::Get { delay }
            }
            Verdict::FailWith {
                kind,
                status,
                headers,
                body,
            } => Next::Fail(self.error_with(kind, status, headers, body, reply.now)),
            Verdict::FailService {
                kind,
                code,
                message,
            } => Next::Fail(
                self.response_error(kind, reply)
                    .with_service_error(code.as_deref(), message.as_deref()),
            ),
            Verdict::Fail { kind, detail } => {
                let error = self.response_error(kind, reply);
                Next::Fail(match detail {
                    Some(detail) => error.with_detail(detail),
                    None => error,
                })
            }
        }
    }

    /// Makes `target` the URL of the next request, if the origin rule admits it. Outside the
    /// final GET, that URL is the monitor.
    pub(super) fn aim(
        &mut self,
        target: Target,
        reply: Option<Reply<'_>>,
        now: Instant,
    ) -> Result<(), LroError> {
        self.facts.aim(target, self.phase == Phase::Final);
        self.check_origin(reply, now)
    }

    /// The origin rule for the URL of the next request; a refusal keeps the response that
    /// named the URL.
    fn check_origin(&mut self, reply: Option<Reply<'_>>, now: Instant) -> Result<(), LroError> {
        let target = &self.facts.target.uri;
        let mut admission = url::admit(&self.facts.orig.uri, &self.config.allowed, target);
        if admission == Admission::Refused {
            // A dialect's own monitor hosts (Graph's drive monitors), never with credentials.
            if let Some(dialect) = self.dialect {
                if let Some(credentials) = dialect.admits(&self.rules, &self.facts, target) {
                    admission = Admission::Allowed { credentials };
                }
            }
        }
        let bare = matches!(admission, Admission::Allowed { credentials: false });
        if self.phase == Phase::Final {
            // Sticky: a redirect's target stays redacted through its transient retries.
            self.final_bare |= bare;
        } else {
            self.monitor_bare = bare;
        }
        let refused = match admission {
            Admission::SameOrigin => {
                // Behaviour §3: credentials follow each request's own origin, also after a
                // poll of another one (a PUT's final GET, Graph's fetch of a copied item).
                self.same_origin = true;
                self.credentials_ok = true;
                return Ok(());
            }
            Admission::Allowed { .. } if self.origin_form => {
                "an origin-form request's service reaches only its own origin".to_owned()
            }
            Admission::Allowed { credentials } => {
                self.credentials_ok = credentials;
                self.same_origin = false;
                return Ok(());
            }
            Admission::Refused => format!(
                "{} is not on the origin of {}",
                Redacted(target),
                Redacted(&self.facts.orig.uri)
            ),
        };
        let kind = ErrorKind::CrossOriginPollingUrl;
        let error = match reply {
            Some(reply) => self.response_error(kind, reply),
            None => self.error(kind, now),
        };
        Err(error.with_detail(refused))
    }

    /// The next request to the current target, after the hint on `reply` or the schedule.
    fn poll(&mut self, reply: Reply<'_>) -> Next {
        let Reply {
            head, now, wall, ..
        } = reply;
        let body_hint = self
            .dialect
            .and_then(|d| d.body_hint(&mut self.facts, reply.body.bytes()));
        let delay = match retry_after::hint(&head.headers, wall).or(body_hint) {
            Some(hint) => hint.min(self.config.max_interval),
            None => {
                let delay = self.schedule.wait(self.unhinted_waits, &mut self.jitter);
                self.unhinted_waits = self.unhinted_waits.saturating_add(1);
                delay
            }
        };
        // Kept even when a limit refuses the wait: a token made now still owes it.
        self.next_wait = super::nanos(delay);
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
        // Fail now rather than sleep into the deadline: no request could follow the wait.
        if self.waits_past_deadline(now, delay) {
            let detail = format!(
                "the next poll, in {delay:?}, would be past max_duration {:?}",
                self.max_duration.unwrap_or_default()
            );
            return Next::Fail(
                self.response_error(ErrorKind::TimedOut, reply)
                    .with_detail(detail),
            );
        }
        if counts {
            self.polls = self.polls.saturating_add(1);
        }
        self.total_wait = self.total_wait.saturating_add(delay);
        Next::Get { delay }
    }

    /// The caller's response: the monitor's own headers dropped, the record attached.
    fn respond(&self, mut respond: Respond) -> Next {
        if let Some(name) = self.dialect.and_then(|d| d.monitor_header()) {
            respond.remove = Some(name);
        }
        Next::Respond(respond)
    }

    /// Whether a wait of `delay` from `now` ends at or past the deadline (no request could
    /// follow it).
    fn waits_past_deadline(&self, now: Instant, delay: Duration) -> bool {
        self.deadline
            .is_some_and(|deadline| now.checked_add(delay).is_none_or(|at| at >= deadline))
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
}
