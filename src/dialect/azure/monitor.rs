//! Behaviour §3: what a poll response of each Azure monitor kind says (transient answers are
//! the machine's).

use http::response;
use serde::de::IgnoredAny;

use super::super::{Facts, Reply, Rules, Verb, Verdict};
use super::{detect, ended, final_result};
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::status::{is_running_word, State, StatusDoc};
use crate::wire::url::Target;

/// How much of a poll response to read. A status monitor's body must fit its cap; a Location
/// or resource poll may answer with the result itself, which is only inspected.
pub(crate) fn poll_body_cap(rules: &Rules, facts: &Facts) -> usize {
    match facts.monitor {
        MonitorKind::AzureAsyncOperation | MonitorKind::OperationLocation => rules.body_cap,
        _ => rules.inspect_cap,
    }
}

/// What a poll response says.
pub(crate) fn read(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    match facts.monitor {
        MonitorKind::Location => location(rules, facts, reply),
        MonitorKind::ProvisioningState => resource(facts, reply),
        _ => status_monitor(rules, facts, reply),
    }
}

/// §3a: Azure-AsyncOperation / Operation-Location.
fn status_monitor(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Reply { head, body, .. } = reply;
    let status = head.status;
    if !status.is_success() {
        return Verdict::fail(ErrorKind::PollFailed);
    }
    if !matches!(status.as_u16(), 200..=202) {
        return Verdict::fail_because(
            ErrorKind::MissingStatus,
            format!("a status monitor answered {status}"),
        );
    }
    let Some(bytes) = body.within_cap() else {
        return Verdict::too_large(rules);
    };
    let doc = match StatusDoc::parse(bytes) {
        Ok(doc) => doc,
        Err(_) => {
            // serde_json skips over ignored strings without checking their UTF-8.
            let is_json = std::str::from_utf8(bytes).is_ok()
                && serde_json::from_slice::<IgnoredAny>(bytes).is_ok();
            let kind = if bytes.iter().all(u8::is_ascii_whitespace) || is_json {
                ErrorKind::MissingStatus
            } else {
                ErrorKind::InvalidStatusBody
            };
            return Verdict::fail(kind);
        }
    };
    // A refreshed monitor URL replaces the old one (relative to the URL that answered); an
    // unusable one is ignored.
    facts.note_location(&head.headers, rules);
    if let Some(Some((kind, target))) = detect::status_monitor(&facts.target.uri, &head.headers) {
        facts.watch(kind, target, rules);
    }
    let Some(word) = doc.status.as_deref() else {
        return Verdict::fail_because(ErrorKind::MissingStatus, "no string `status` in the body");
    };
    facts.note(Some(word), &doc);
    match State::of(word) {
        State::Running => Verdict::Poll,
        State::Succeeded => final_result::succeeded(rules, facts, Some(&doc), reply),
        state => ended(state),
    }
}

/// §3b: the Location URL answers 202 until it answers with the result.
fn location(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Reply { head, body, .. } = reply;
    let status = head.status;
    if status.as_u16() == 202 {
        refresh_location(rules, facts, head);
        if let Some(doc) = body.whole().and_then(|b| StatusDoc::parse(b).ok()) {
            let word = doc.status.as_deref().or(doc.provisioning_state.as_deref());
            facts.note(word, &doc);
        }
        return Verdict::Poll;
    }
    if crate::dialect::is_redirect(status) {
        // Behaviour §8.7: a redirect from the status endpoint is its completion; the result is a
        // GET of its target (through the origin rule, after its Retry-After).
        return match Target::first_in(&facts.target.uri, &head.headers, http::header::LOCATION) {
            Some(target) => Verdict::Fetch(facts.for_request(target, rules)),
            None => Verdict::fail_because(
                ErrorKind::InvalidPollingUrl,
                format!("a {status} from the Location monitor without a usable Location"),
            ),
        };
    }
    if status.is_success() {
        let doc = body.doc();
        let generic = rules
            .generic_vocabulary
            .then(|| doc.status.as_deref().and_then(generic_state))
            .flatten();
        let state = if let Some(ps) = doc.provisioning_state.as_deref() {
            facts.note(Some(ps), &doc);
            State::of(ps)
        } else if let (Some(state), Some(st)) = (generic, doc.status.as_deref()) {
            facts.note(Some(st), &doc);
            state
        } else if let Some(st) = doc.status.as_deref() {
            let state = State::of(st);
            if state.is_terminal() || is_running_word(st) {
                facts.note(Some(st), &doc);
                state
            } else {
                // A resource property called `status`, not an operation state.
                State::Succeeded
            }
        } else {
            State::Succeeded
        };
        return match state {
            State::Succeeded => Verdict::Result { status: None },
            State::Running => {
                refresh_location(rules, facts, head);
                Verdict::Poll
            }
            state => ended(state),
        };
    }
    if status.as_u16() == 404
        && facts.verb == Verb::Delete
        && (rules.any_404_after_delete || facts.target.same_path(&facts.orig))
    {
        facts.gone_on_404 = true;
        return Verdict::NoContent;
    }
    // The Location answers what the operation would have answered synchronously.
    Verdict::fail(ErrorKind::OperationFailed)
}

/// The opt-in generic vocabulary (behaviour §8.7): a status word lowercased, with spaces, `_` and
/// `-` removed, as asynchronous request-reply endpoints spell them ("In progress").
fn generic_state(word: &str) -> Option<State> {
    let folded: String = word
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    match folded.as_str() {
        "notstarted" | "pending" | "queued" | "accepted" | "running" | "inprogress"
        | "processing" => Some(State::Running),
        "succeeded" | "completed" => Some(State::Succeeded),
        "failed" => Some(State::Failed),
        "canceled" | "cancelled" => Some(State::Canceled),
        _ => None,
    }
}

/// A Location poll follows only `Location`, relative to the URL that answered.
fn refresh_location(rules: &Rules, facts: &mut Facts, head: &response::Parts) {
    if let Some(target) = Target::first_in(&facts.target.uri, &head.headers, http::header::LOCATION)
    {
        facts.watch(MonitorKind::Location, target, rules);
    }
}

/// §3c: the original URL's provisioningState.
fn resource(facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Reply { head, body, .. } = reply;
    match head.status.as_u16() {
        202 => Verdict::Poll,
        200 | 201 => {
            let doc = body.doc();
            let Some(ps) = doc.provisioning_state.as_deref() else {
                return Verdict::Result { status: None };
            };
            facts.note(Some(ps), &doc);
            match State::of(ps) {
                State::Succeeded => Verdict::Result { status: None },
                State::Running => Verdict::Poll,
                state => ended(state),
            }
        }
        _ if head.status.is_success() => Verdict::Result { status: None },
        _ => Verdict::fail(ErrorKind::PollFailed),
    }
}
