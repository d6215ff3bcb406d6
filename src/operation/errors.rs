//! Errors that keep what the operation knew: the last response, progress and a resume token.

use std::time::SystemTime;

use bytes::Bytes;
use http::response;
use tokio::time::Instant;

use super::{Operation, Phase};
use crate::dialect::dispatch::Dialect;
use crate::dialect::{Reply, Seen};
use crate::error::LroError;
use crate::error_kind::ErrorKind;

impl Operation {
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

    /// The deadline passed while `reading` (or, with none, after the last response that led
    /// to a wait). The original response is the caller's until a rule made it an operation:
    /// handed over as it came (behaviour §6); otherwise `TimedOut`.
    pub(crate) fn on_deadline(
        &self,
        reading: Option<(&response::Parts, &[u8])>,
        now: Instant,
    ) -> super::Next {
        if reading.is_some() && self.phase == Phase::Initial {
            return super::Next::PassThrough;
        }
        super::Next::Fail(self.deadline_passed(reading, now))
    }

    /// Whether a body error now is the caller's: on the original response it is met where
    /// the caller reads the body (behaviour §5); once polling started it ends the operation.
    pub(crate) fn body_error_is_callers(&self) -> bool {
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

    /// An error at the current URL, with the progress made so far.
    pub(super) fn error(&self, kind: ErrorKind, now: Instant) -> LroError {
        LroError::new(kind)
            .with_progress(
                Some(self.shown_monitor()),
                self.polls,
                now.saturating_duration_since(self.started),
            )
            .with_resume(self.token())
    }

    /// An error with a response a dialect unwrapped, and the service's code and message in it.
    pub(super) fn error_with(
        &self,
        kind: ErrorKind,
        status: http::StatusCode,
        headers: http::HeaderMap,
        body: Bytes,
        now: Instant,
    ) -> LroError {
        let dialect = self.dialect.unwrap_or_else(Dialect::azure);
        let (code, message) = dialect.code_and_message(status, &body);
        self.error(kind, now)
            .with_service_error(code.as_deref(), message.as_deref())
            .with_response(status, headers, body)
    }

    /// An error that keeps the response it came from, with the service's code and message.
    pub(super) fn response_error(&self, kind: ErrorKind, reply: Reply<'_>) -> LroError {
        let Reply {
            head, body, now, ..
        } = reply;
        let bytes = body.bytes();
        let dialect = self.dialect.unwrap_or_else(Dialect::azure);
        let (code, message) = dialect.code_and_message(head.status, bytes);
        let ended = matches!(
            kind,
            ErrorKind::OperationFailed | ErrorKind::OperationCanceled
        );
        self.error(kind, now)
            .with_service_error(code.as_deref(), message.as_deref())
            .with_service_status(ended.then(|| dialect.service_status(bytes)).flatten())
            .with_response(
                head.status,
                head.headers.clone(),
                Bytes::copy_from_slice(bytes),
            )
    }
}
