//! Choosing an operation's dialect (dialects §1.1) and calling its rules.

use std::time::Duration;

use http::{response, StatusCode, Uri};

use super::{azure, fabric, google, graph, odata, user, Facts, Reply, Rules, Seen, Verdict};
use crate::info::{LroDialect, MonitorKind};
use crate::wire::retry_after::PollSchedule;
use crate::wire::status::StatusDoc;

/// The built-in dialects. An operation's dialect is chosen once, on its first response, by the
/// first row of dialects §1.1 that matches, and never revisited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Azure Resource Manager and Azure-style REST APIs (the behaviour page, §1–§4).
    Azure,
    GoogleAip151,
    GoogleDiscovery,
    Graph,
    Fabric,
    OData,
    /// The user's dialect registered at this index.
    Custom(u16),
}

impl Dialect {
    /// A built-in dialect; a user's is found by its name (`Dialect::named`).
    pub(crate) fn of(public: LroDialect) -> Option<Dialect> {
        Some(match public {
            LroDialect::Azure => Dialect::Azure,
            LroDialect::GoogleAip151 => Dialect::GoogleAip151,
            LroDialect::GoogleDiscovery => Dialect::GoogleDiscovery,
            LroDialect::Graph => Dialect::Graph,
            LroDialect::Fabric => Dialect::Fabric,
            LroDialect::OData => Dialect::OData,
            _ => return None,
        })
    }

    /// A user's dialect's name.
    pub(crate) fn custom_name(self, rules: &Rules) -> Option<&'static str> {
        match self {
            Dialect::Custom(i) => rules.hosts.custom.get(usize::from(i)).map(|d| d.0.name()),
            _ => None,
        }
    }

    pub(crate) fn public(self) -> LroDialect {
        match self {
            Dialect::Azure => LroDialect::Azure,
            Dialect::GoogleAip151 => LroDialect::GoogleAip151,
            Dialect::GoogleDiscovery => LroDialect::GoogleDiscovery,
            Dialect::Graph => LroDialect::Graph,
            Dialect::Fabric => LroDialect::Fabric,
            Dialect::OData => LroDialect::OData,
            Dialect::Custom(_) => LroDialect::Custom,
        }
    }

    /// Whether a Google dialect may read this first response's body.
    fn google_may_start(rules: &Rules, facts: &Facts, head: &response::Parts) -> bool {
        let forced = matches!(
            rules.forced,
            Some(LroDialect::GoogleAip151 | LroDialect::GoogleDiscovery)
        );
        let on = rules.dialects.has(LroDialect::GoogleAip151)
            || rules.dialects.has(LroDialect::GoogleDiscovery);
        // Cheapest first: most first responses are no Google operation.
        head.status == StatusCode::OK
            && (forced || (on && rules.hosts.google.in_scope(&facts.orig.uri)))
            && !google::addresses_operation(&facts.orig.uri)
    }

    /// The built-in dialects that may start an operation from this head, in dialects §1.1's
    /// order: the forced one; Azure alone when a status monitor header names it; else all.
    fn candidates(rules: &Rules, head: &response::Parts) -> &'static [Dialect] {
        const ALL: [Dialect; 6] = [
            Dialect::OData,
            Dialect::Fabric,
            Dialect::Graph,
            Dialect::GoogleAip151,
            Dialect::GoogleDiscovery,
            Dialect::Azure,
        ];
        match rules.forced {
            Some(forced) => match ALL.iter().position(|d| d.public() == forced) {
                Some(at) => ALL.get(at..=at).unwrap_or_default(),
                None => &[],
            },
            None if azure::names_status_monitor(&head.headers)
                && rules.dialects.has(LroDialect::Azure) =>
            {
                &[Dialect::Azure]
            }
            None => &ALL,
        }
    }

    /// The one "is this mine, and how much body do I need?" of a built-in dialect: `None`,
    /// not mine; `Some(None)`, mine on the head alone; `Some(Some(n))`, read `n` bytes.
    fn claim(self, rules: &Rules, facts: &Facts, head: &response::Parts) -> Option<Option<usize>> {
        let forced = rules.forced.is_some();
        if !forced && !rules.dialects.has(self.public()) {
            return None;
        }
        // Dialects §1.2: a request that addresses an operation (`…/operations/{id}`, `…:wait`)
        // starts none but Azure's.
        let free = forced || !google::addresses_operation(&facts.orig.uri);
        let inspect = Some(rules.inspect_cap);
        match self {
            Dialect::Azure => Some(azure::body_cap(rules, facts, head)),
            Dialect::Graph => {
                ((forced || graph::applies(rules, facts, head)) && free).then_some(inspect)
            }
            Dialect::OData => ((odata::applies(facts, head) || (forced && facts.asks_async))
                && free)
                .then_some(None),
            Dialect::Fabric => {
                ((forced || fabric::applies(rules, facts, head)) && free).then_some(None)
            }
            Dialect::GoogleAip151 | Dialect::GoogleDiscovery => {
                Dialect::google_may_start(rules, facts, head).then_some(inspect)
            }
            Dialect::Custom(_) => None,
        }
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
            .iter()
            .filter_map(|d| d.claim(rules, facts, head))
            .max()
            .flatten()
    }

    /// The dialect of an operation, and what its first response means (dialects §1.1): the
    /// first dialect that claims it and does not hand it over.
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
        for &dialect in Dialect::candidates(rules, head) {
            if dialect.claim(rules, facts, head).is_none() {
                continue;
            }
            let verdict = match dialect {
                Dialect::Azure => azure::start(rules, facts, reply),
                // A first body past the inspection cap may be the result (resetPassword's new
                // password): the 202 is handed over whole rather than the body lost.
                Dialect::Graph if matches!(reply.body, Seen::Partial(b) if !b.is_empty()) => {
                    return (None, Verdict::PassThrough)
                }
                Dialect::Graph => graph::start(rules, facts, reply),
                Dialect::OData => odata::start(rules, facts, reply),
                // A Fabric 202 without an operation id is a job start: handed over as it is.
                Dialect::Fabric => match fabric::start(rules, facts, reply) {
                    Verdict::PassThrough => return (None, Verdict::PassThrough),
                    verdict => verdict,
                },
                Dialect::GoogleAip151 => google::aip::start(rules, facts, reply),
                Dialect::GoogleDiscovery => google::discovery::start(rules, facts, reply),
                Dialect::Custom(_) => continue,
            };
            if !matches!(verdict, Verdict::PassThrough) {
                return (Some(dialect), verdict);
            }
        }
        (None, Verdict::PassThrough)
    }

    /// How much of a poll response's body to read.
    pub(crate) fn poll_body_cap(self, rules: &Rules, facts: &Facts) -> usize {
        match self {
            Dialect::Azure => azure::poll_body_cap(rules, facts),
            Dialect::GoogleAip151
            | Dialect::GoogleDiscovery
            | Dialect::Graph
            | Dialect::Fabric
            | Dialect::OData
            | Dialect::Custom(_) => rules.body_cap,
        }
    }

    /// What a poll response (not a transient one) says.
    pub(crate) fn read(self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        match self {
            Dialect::Azure => azure::read(rules, facts, reply),
            Dialect::GoogleAip151 => google::aip::read(rules, facts, reply),
            Dialect::GoogleDiscovery => google::discovery::read(rules, facts, reply),
            Dialect::Graph => graph::read(rules, facts, reply),
            Dialect::Fabric => fabric::read(rules, facts, reply),
            Dialect::OData => odata::read(rules, facts, reply),
            Dialect::Custom(i) => user::read(i, rules, facts, reply),
        }
    }

    /// The service's error code and message in a response body.
    pub(crate) fn code_and_message(
        self,
        status: StatusCode,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        match self {
            Dialect::Azure => {
                let doc = StatusDoc::parse(body).unwrap_or_default();
                let (code, message) = doc.code_and_message();
                (code.map(str::to_owned), message.map(str::to_owned))
            }
            Dialect::GoogleAip151 | Dialect::GoogleDiscovery => {
                google::code_and_message(status, body)
            }
            Dialect::Graph => graph::code_and_message(body),
            Dialect::Fabric => fabric::code_and_message(body),
            Dialect::OData => Dialect::Azure.code_and_message(status, body),
            // A user's dialect names them in its step.
            Dialect::Custom(_) => (None, None),
        }
    }

    /// The HTTP status the service gives an operation's failure apart from the response
    /// (Compute's `httpErrorStatusCode`).
    pub(crate) fn service_status(self, body: &[u8]) -> Option<StatusCode> {
        match self {
            Dialect::GoogleDiscovery => google::discovery::http_error_status(body),
            _ => None,
        }
    }

    /// Whether the dialect admits `uri`, off the original origin and the allow-list, as a
    /// host of its own, and with credentials or not: Graph's drive monitors (never),
    /// Fabric's cluster hosts when told to follow its `Location`s (with).
    pub(crate) fn admits(self, rules: &Rules, facts: &Facts, uri: &Uri) -> Option<bool> {
        match self {
            Dialect::Graph => (facts.monitor == MonitorKind::GraphMonitor
                && graph::admits(rules, uri))
            .then_some(false),
            Dialect::Fabric => fabric::admits(rules, uri).then_some(true),
            _ => None,
        }
    }

    /// A final GET's error that a dialect turns into a result.
    pub(crate) fn final_error(self, facts: &mut Facts, body: &[u8]) -> Option<Verdict> {
        match self {
            Dialect::Fabric => fabric::final_error(facts, body),
            _ => None,
        }
    }

    /// A wait the response's body asks for, where its headers name none.
    pub(crate) fn body_hint(self, facts: &mut Facts, body: &[u8]) -> Option<Duration> {
        match self {
            Dialect::Azure | Dialect::Graph | Dialect::Fabric | Dialect::OData => None,
            Dialect::GoogleAip151 | Dialect::GoogleDiscovery => google::retry_delay(body),
            Dialect::Custom(_) => facts.state.custom_mut().hint.take(),
        }
    }

    /// The no-hint schedule when the caller set none.
    pub(crate) fn default_schedule(self, rules: &Rules, facts: &Facts) -> PollSchedule {
        match self {
            Dialect::Azure => PollSchedule::default(),
            Dialect::GoogleAip151 | Dialect::GoogleDiscovery => google::schedule(),
            Dialect::Graph => graph::schedule(facts),
            Dialect::Fabric | Dialect::OData => PollSchedule::default(),
            Dialect::Custom(i) => rules
                .hosts
                .custom
                .get(usize::from(i))
                .and_then(|d| d.0.schedule())
                .unwrap_or_default(),
        }
    }

    /// The final GET's 2xx is the result as `200` (Graph, Fabric), not with its own status.
    pub(crate) fn final_as_ok(self) -> bool {
        matches!(self, Dialect::Graph | Dialect::Fabric)
    }

    /// A header of the result that is the monitor's own (OData's `AsyncResult`): dropped.
    pub(crate) fn monitor_header(self) -> Option<http::HeaderName> {
        (self == Dialect::OData).then_some(odata::ASYNC_RESULT)
    }

    /// Changes a dialect makes to the headers its polls carry.
    pub(crate) fn edit_poll_headers(self, headers: &mut http::HeaderMap) {
        if self == Dialect::OData {
            odata::edit_poll_headers(headers);
        }
    }
}
