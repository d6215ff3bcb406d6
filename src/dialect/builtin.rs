//! The interface between the machine and a built-in dialect. Each built-in dialect implements
//! it in its own file and is registered by one line in `dispatch::BUILTINS`.
//!
//! It is the public [`Dialect`](super::Dialect) interface with the powers users must not
//! have: admitting hosts of its own (with or without credentials), POST polls, keeping a
//! response to return later, changing its polls' headers, and reading the machine's facts
//! directly. User dialects reach the machine through `user.rs`, which adapts the public
//! trait to this one's questions.

use std::time::Duration;

use http::{response, HeaderMap, HeaderName, StatusCode, Uri};

use super::{Facts, Reply, Rules, Verdict};
use crate::info::{LroDialect, MonitorKind};
use crate::wire::retry_after::PollSchedule;
use crate::wire::status::StatusDoc;

/// One built-in dialect: the same questions as the public interface (claim, start, read),
/// then hooks with defaults.
pub(crate) trait Builtin: Sync {
    /// Its public name.
    fn public(&self) -> LroDialect;

    /// The one "is this mine, and how much body do I need?": `None`, not mine (its markers are
    /// not there, or §1.2 rules it out); `Some(None)`, mine on the head alone; `Some(Some(n))`,
    /// read up to `n` bytes first. `forced`: the request named this dialect.
    fn claim(
        &self,
        rules: &Rules,
        facts: &Facts,
        head: &response::Parts,
        forced: bool,
    ) -> Option<Option<usize>>;

    /// What the claimed first response means.
    fn start(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict;

    /// What a poll response (never a transient one) means.
    fn read(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict;

    /// Whether the dialect watches operations through `kind` (a token naming another is
    /// forged).
    fn watches(&self, kind: MonitorKind) -> bool;

    /// A header on the first response that makes this dialect the only candidate (Azure's
    /// status monitors).
    fn preempts(&self, _head: &response::Parts) -> bool {
        false
    }

    /// How much of a poll response's body to read.
    fn poll_body_cap(&self, rules: &Rules, _facts: &Facts) -> usize {
        rules.body_cap
    }

    /// The service's error code and message in a response body (default: Azure's `error`).
    fn code_and_message(
        &self,
        _status: StatusCode,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        let doc = StatusDoc::parse(body).unwrap_or_default();
        let (code, message) = doc.code_and_message();
        (code.map(str::to_owned), message.map(str::to_owned))
    }

    /// The HTTP status the service gives a failure apart from the response.
    fn service_status(&self, _body: &[u8]) -> Option<StatusCode> {
        None
    }

    /// Sealed power: a host of the dialect's own, off the original origin and the allow-list,
    /// and whether credentials may go there.
    fn admits(&self, _rules: &Rules, _facts: &Facts, _uri: &Uri) -> Option<bool> {
        None
    }

    /// A final GET's error the dialect turns into a result.
    fn final_error(&self, _facts: &mut Facts, _body: &[u8]) -> Option<Verdict> {
        None
    }

    /// A wait the body asks for, where the headers name none.
    fn body_hint(&self, _body: &[u8]) -> Option<Duration> {
        None
    }

    /// The no-hint schedule when the caller set none.
    fn schedule(&self, _rules: &Rules, _facts: &Facts) -> PollSchedule {
        PollSchedule::default()
    }

    /// The final GET's 2xx is the result as `200`, not with its own status.
    fn final_as_ok(&self) -> bool {
        false
    }

    /// A header of the result that is the monitor's own: dropped.
    fn monitor_header(&self) -> Option<HeaderName> {
        None
    }

    /// Sealed power: changes to the headers its polls carry.
    fn edit_poll_headers(&self, _headers: &mut HeaderMap) {}
}
