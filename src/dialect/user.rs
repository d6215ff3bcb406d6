//! A user's dialect on the machine: its claim, and its steps turned into verdicts.

use http::response;

use super::{Claim, Exchange, Facts, Registered, Reply, Rules, Step, StepKind, Verdict};
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::url::Target;

/// A user's dialect: its name and the state its steps keep. The body's hint lives for one
/// wait only and is never carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomState {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
    #[serde(skip)]
    pub(crate) hint: Option<std::time::Duration>,
}

/// The first registered dialect that claims this first response, and the body it wants.
pub(crate) fn claim(rules: &Rules, facts: &Facts, head: &response::Parts) -> Option<(u16, usize)> {
    let method = facts.verb.method();
    rules
        .hosts
        .custom
        .iter()
        .enumerate()
        .find_map(
            |(i, Registered(d))| match d.claim(method, &facts.orig.uri, head) {
                Claim::No => None,
                Claim::Yes { read } => Some((u16::try_from(i).ok()?, read)),
            },
        )
}

fn exchange<'a>(facts: &'a Facts, url: &'a http::Uri, reply: &Reply<'a>) -> Exchange<'a> {
    Exchange {
        method: facts.verb.method(),
        original: &facts.orig.uri,
        url,
        status: reply.head.status,
        headers: &reply.head.headers,
        body: reply.body.whole(),
        state: facts.state.custom().and_then(|c| c.state.as_deref()),
    }
}

/// The first response of an operation dialect `index` claimed.
pub(crate) fn start(index: u16, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Some(Registered(dialect)) = rules.hosts.custom.get(usize::from(index)) else {
        return Verdict::PassThrough;
    };
    facts.matched_by = dialect.name();
    facts.state.custom_mut().name = dialect.name().to_owned();
    facts.monitor = MonitorKind::Custom;
    let url = facts.orig.uri.clone();
    let step = dialect.start(&exchange(facts, &url, &reply));
    verdict(step, rules, facts, true)
}

/// A poll response of an operation of dialect `index`.
pub(crate) fn read(index: u16, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Some(Registered(dialect)) = rules.hosts.custom.get(usize::from(index)) else {
        return Verdict::fail_because(ErrorKind::InvalidResumeToken, "its dialect is gone");
    };
    let url = facts.target.uri.clone();
    let step = dialect.read(&exchange(facts, &url, &reply));
    verdict(step, rules, facts, false)
}

/// What a step means to the machine. Every URL resolves against the URL that answered; the
/// origin rule meets it before anything is sent.
fn verdict(step: Step, rules: &Rules, facts: &mut Facts, first: bool) -> Verdict {
    if let Some(word) = step.status.as_deref() {
        facts.note(Some(word), &Default::default());
    }
    if step.percent.is_some() {
        facts.percent_complete = step.percent;
    }
    if let Some(state) = step.state {
        facts.state.custom_mut().state = Some(state);
    }
    let resolve = |facts: &Facts, raw: &str| Target::resolve(&facts.target.uri, raw);
    match step.kind {
        StepKind::PassThrough if first => Verdict::PassThrough,
        StepKind::PassThrough => {
            Verdict::fail_because(ErrorKind::InvalidStatusBody, "handed over while polling")
        }
        StepKind::Poll(None) => Verdict::Poll,
        StepKind::Hint(wait) => {
            facts.state.custom_mut().hint = Some(wait);
            Verdict::Poll
        }
        StepKind::Poll(Some(raw)) => match resolve(facts, &raw) {
            Some(target) => {
                facts.watch(MonitorKind::Custom, target, rules);
                Verdict::Poll
            }
            None => Verdict::fail_because(ErrorKind::InvalidPollingUrl, "unusable poll URL"),
        },
        StepKind::Succeeded => Verdict::Result { status: None },
        StepKind::NoContent => Verdict::NoContent,
        StepKind::Fetch(raw) => match resolve(facts, &raw) {
            Some(target) => Verdict::Fetch(target),
            None => Verdict::fail_because(ErrorKind::InvalidPollingUrl, "unusable result URL"),
        },
        StepKind::Failed {
            canceled,
            code,
            message,
        } => Verdict::FailService {
            kind: if canceled {
                ErrorKind::OperationCanceled
            } else {
                ErrorKind::OperationFailed
            },
            code,
            message,
        },
        StepKind::Invalid(detail) => Verdict::fail_because(ErrorKind::InvalidStatusBody, detail),
    }
}
