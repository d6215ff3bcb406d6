//! Choosing an operation's dialect (behaviour §8.1) and calling its rules: the registry of the
//! built-in dialects, and the user's dialects after them in the layer's configuration.

use std::time::Duration;

use http::{response, StatusCode, Uri};

use super::builtin::Builtin;
use super::{azure, fabric, google, graph, odata, user, Facts, Reply, Rules, Verdict};
use crate::info::LroDialect;
use crate::wire::retry_after::PollSchedule;

/// The built-in dialects, in behaviour §8.1's order of trial. A new one is its own file and a
/// line here.
static BUILTINS: [&dyn Builtin; 6] = [
    &odata::OData,
    &fabric::Fabric,
    &graph::Graph,
    &google::AIP_151,
    &google::DISCOVERY,
    &azure::Azure,
];

/// An operation's dialect, chosen once, on its first response, and never revisited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// The built-in dialect at this place of `BUILTINS`.
    Builtin(u8),
    /// The user's dialect registered at this index.
    Custom(u16),
}

impl Dialect {
    /// A built-in dialect by its public name.
    pub(crate) fn of(public: LroDialect) -> Option<Dialect> {
        let at = BUILTINS.iter().position(|b| b.public() == public)?;
        u8::try_from(at).ok().map(Dialect::Builtin)
    }

    /// Azure's rules: what reads an error before any dialect was chosen.
    pub(crate) fn azure() -> Dialect {
        Dialect::of(LroDialect::Azure).unwrap_or(Dialect::Builtin(0))
    }

    fn builtin(self) -> Option<&'static dyn Builtin> {
        match self {
            Dialect::Builtin(at) => BUILTINS.get(usize::from(at)).copied(),
            Dialect::Custom(_) => None,
        }
    }

    /// A user's dialect's name.
    pub(crate) fn custom_name(self, rules: &Rules) -> Option<&'static str> {
        match self {
            Dialect::Custom(i) => rules.hosts.custom.get(usize::from(i)).map(|d| d.0.name()),
            Dialect::Builtin(_) => None,
        }
    }

    pub(crate) fn public(self) -> LroDialect {
        self.builtin().map_or(LroDialect::Custom, |b| b.public())
    }

    /// The built-in dialects that may start an operation from this head, in order: the forced
    /// one; the one a header makes the only candidate (Azure's status monitors); else all.
    fn candidates(rules: &Rules, head: &response::Parts) -> impl Iterator<Item = Dialect> {
        let forced = rules.forced.and_then(Dialect::of);
        let preempting = BUILTINS
            .iter()
            .position(|b| rules.dialects.has(b.public()) && b.preempts(head));
        let only = forced
            .or_else(|| preempting.and_then(|at| u8::try_from(at).ok().map(Dialect::Builtin)));
        let all = only.is_none() && rules.forced.is_none();
        let count = u8::try_from(BUILTINS.len()).unwrap_or(u8::MAX);
        only.into_iter()
            .chain((0..count).filter(move |_| all).map(Dialect::Builtin))
    }

    /// The dialect's "is this mine, and how much body do I need?", when it is on.
    fn claim(self, rules: &Rules, facts: &Facts, head: &response::Parts) -> Option<Option<usize>> {
        let builtin = self.builtin()?;
        let forced = rules.forced.is_some();
        if !forced && !rules.dialects.has(builtin.public()) {
            return None;
        }
        builtin.claim(rules, facts, head, forced)
    }

    /// How much of the first response's body to read; `None` leaves it unread.
    pub(crate) fn body_cap(rules: &Rules, facts: &Facts, head: &response::Parts) -> Option<usize> {
        // The user's dialects first: they claim what they know, on the head.
        if let Some((_, read)) = user::claim(rules, facts, head) {
            return (read > 0).then(|| read.min(rules.inspect_cap));
        }
        // Behaviour §5: a body that cannot hold any dialect's JSON (an event stream, a file)
        // reaches the caller at once, whatever built-in dialects are on.
        if !super::may_hold_json(&head.headers) {
            return None;
        }
        Dialect::candidates(rules, head)
            .filter_map(|d| d.claim(rules, facts, head))
            .max()
            .flatten()
    }

    /// The dialect of an operation, and what its first response means (behaviour §8.1): the
    /// first dialect that claims it and does not pass it on.
    pub(crate) fn start(
        rules: &Rules,
        facts: &mut Facts,
        reply: Reply<'_>,
    ) -> (Option<Dialect>, Verdict) {
        let head = reply.head;
        if let Some((index, _)) = user::claim(rules, facts, head) {
            let verdict = user::start(index, rules, facts, reply);
            return match verdict {
                Verdict::PassThrough => (None, verdict),
                verdict => (Some(Dialect::Custom(index)), verdict),
            };
        }
        // Behaviour §5: an event stream reaches the caller at once, whatever its headers say.
        if super::is_event_stream(&head.headers) {
            return (None, Verdict::PassThrough);
        }
        for dialect in Dialect::candidates(rules, head) {
            if dialect.claim(rules, facts, head).is_none() {
                continue;
            }
            let Some(builtin) = dialect.builtin() else {
                continue;
            };
            match builtin.start(rules, facts, reply) {
                Verdict::PassThrough => continue,
                Verdict::HandOver => return (None, Verdict::PassThrough),
                verdict => return (Some(dialect), verdict),
            }
        }
        (None, Verdict::PassThrough)
    }

    /// How much of a poll response's body to read.
    pub(crate) fn poll_body_cap(self, rules: &Rules, facts: &Facts) -> usize {
        self.builtin()
            .map_or(rules.body_cap, |b| b.poll_body_cap(rules, facts))
    }

    /// What a poll response (not a transient one) says.
    pub(crate) fn read(self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        match (self, self.builtin()) {
            (_, Some(builtin)) => builtin.read(rules, facts, reply),
            (Dialect::Custom(i), None) => user::read(i, rules, facts, reply),
            (Dialect::Builtin(_), None) => {
                Verdict::fail(crate::error_kind::ErrorKind::InvalidResumeToken)
            }
        }
    }

    /// Whether the dialect watches through `kind`.
    pub(crate) fn watches(self, kind: crate::info::MonitorKind) -> bool {
        self.builtin()
            .map_or(kind == crate::info::MonitorKind::Custom, |b| {
                b.watches(kind)
            })
    }

    /// The service's error code and message in a response body (a user's dialect names
    /// them in its step).
    pub(crate) fn code_and_message(
        self,
        status: StatusCode,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        self.builtin()
            .map_or((None, None), |b| b.code_and_message(status, body))
    }

    /// The HTTP status the service gives an operation's failure apart from the response.
    pub(crate) fn service_status(self, body: &[u8]) -> Option<StatusCode> {
        self.builtin()?.service_status(body)
    }

    /// Whether the dialect admits `uri`, off the original origin and the allow-list, as a
    /// host of its own, and with credentials or not (a sealed power: built-ins only).
    pub(crate) fn admits(self, rules: &Rules, facts: &Facts, uri: &Uri) -> Option<bool> {
        self.builtin()?.admits(rules, facts, uri)
    }

    /// A final GET's error that a dialect turns into a result.
    pub(crate) fn final_error(self, facts: &mut Facts, body: &[u8]) -> Option<Verdict> {
        self.builtin()?.final_error(facts, body)
    }

    /// A wait the response's body asks for, where its headers name none.
    pub(crate) fn body_hint(self, facts: &mut Facts, body: &[u8]) -> Option<Duration> {
        match self.builtin() {
            Some(builtin) => builtin.body_hint(body),
            None => facts.state.custom_mut().hint.take(),
        }
    }

    /// The no-hint schedule when the caller set none.
    pub(crate) fn default_schedule(self, rules: &Rules, facts: &Facts) -> PollSchedule {
        match (self, self.builtin()) {
            (_, Some(builtin)) => builtin.schedule(rules, facts),
            (Dialect::Custom(i), None) => rules
                .hosts
                .custom
                .get(usize::from(i))
                .and_then(|d| d.0.schedule())
                .unwrap_or_default(),
            (Dialect::Builtin(_), None) => PollSchedule::default(),
        }
    }

    /// The final GET's 2xx is the result as `200`, not with its own status.
    pub(crate) fn final_as_ok(self) -> bool {
        self.builtin().is_some_and(|b| b.final_as_ok())
    }

    /// A header of the result that is the monitor's own: dropped.
    pub(crate) fn monitor_header(self) -> Option<http::HeaderName> {
        self.builtin()?.monitor_header()
    }

    /// Changes a dialect makes to the headers its polls carry (a sealed power).
    pub(crate) fn edit_poll_headers(self, headers: &mut http::HeaderMap) {
        if let Some(builtin) = self.builtin() {
            builtin.edit_poll_headers(headers);
        }
    }
}
