//! Behaviour §1: does the first response start an Azure operation, and which monitor watches it.

use http::header::{HeaderMap, HeaderName};
use http::Uri;
use http::{response, StatusCode};

use super::super::{Facts, Reply, Rules, Seen, Verb, Verdict};
use super::{ended, final_result};
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::status::{is_running_word, State, StatusDoc};
use crate::wire::url::Target;

const AAO: HeaderName = HeaderName::from_static("azure-asyncoperation");
const OL: HeaderName = HeaderName::from_static("operation-location");

fn may_start(status: StatusCode) -> bool {
    matches!(status.as_u16(), 200..=202)
}

/// Whether an Azure status monitor header is present (behaviour §8.1).
pub(crate) fn has_status_monitor(headers: &HeaderMap) -> bool {
    headers.contains_key(AAO) || headers.contains_key(OL)
}

/// The original body is read only where a rule needs it (behaviour §3): a POST or DELETE whose
/// status and headers alone decide is handed over unbuffered, so streams reach the caller.
pub(crate) fn body_cap(rules: &Rules, facts: &Facts, head: &response::Parts) -> Option<usize> {
    let status = head.status.as_u16();
    if !may_start(head.status) {
        return None;
    }
    let needed = if facts.verb.writes_resource() {
        // provisioningState (rows 3, 6, 7) and row 2's status.
        true
    } else if has_status_monitor(&head.headers) {
        // Row 5 polls whatever the body says.
        false
    } else if head.headers.contains_key(http::header::LOCATION) {
        // Row 6: a 200's state word, a DELETE 201's emptiness; a 202 polls, a POST 201 passes.
        status == 200 || (status == 201 && facts.verb == Verb::Delete)
    } else {
        // Rows 4, 8 and 9 decide on the head.
        false
    };
    needed.then_some(rules.inspect_cap)
}

/// A 201 body that is no representation of the created thing: empty, or `{}`.
fn no_representation(body: Seen<'_>) -> bool {
    let Some(bytes) = body.whole() else {
        return false;
    };
    crate::dialect::is_empty_body(bytes)
}

/// The first usable status monitor, Azure-AsyncOperation before Operation-Location; a
/// malformed value is skipped. `None` when there is no such header, `Some(None)` when none
/// of them is usable.
pub(crate) fn status_monitor(
    base: &Uri,
    headers: &HeaderMap,
) -> Option<Option<(MonitorKind, Target)>> {
    if !has_status_monitor(headers) {
        return None;
    }
    let candidates = [
        (AAO, MonitorKind::AzureAsyncOperation),
        (OL, MonitorKind::OperationLocation),
    ];
    let found = candidates
        .iter()
        .find_map(|(name, kind)| Some((*kind, Target::first_in(base, headers, name)?)));
    Some(found)
}

/// What the original response means.
enum Detected {
    PassThrough,
    /// Row 3: the write finished synchronously.
    Done,
    /// Row 2: a status monitor body already says Succeeded.
    Resolved,
    /// Rows 2 and 3: already Failed or Canceled.
    Ended(State),
    /// Rows 5-7: poll the monitor returned beside this.
    Poll,
    Invalid(ErrorKind, &'static str),
}

/// What the first response means, and the monitor to poll.
pub(crate) fn start(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Reply { head, body, .. } = reply;
    let doc = body.doc();
    let (detected, monitor) = detect(rules, facts, head, body, &doc);
    if !matches!(detected, Detected::PassThrough) {
        facts.note_location(&head.headers, rules);
        let word = doc.status.as_deref().or(doc.provisioning_state.as_deref());
        facts.note(word, &doc);
    }
    if let Some((kind, target)) = monitor {
        facts.watch(kind, target, rules);
    }
    facts.matched_by = match facts.monitor {
        MonitorKind::AzureAsyncOperation => "Azure-AsyncOperation header",
        MonitorKind::OperationLocation => "Operation-Location header",
        MonitorKind::Location => "Location header",
        _ => "provisioningState",
    };
    match detected {
        Detected::PassThrough => Verdict::PassThrough,
        Detected::Done => Verdict::Result { status: None },
        Detected::Resolved => final_result::succeeded(rules, facts, Some(&doc), reply),
        Detected::Ended(state) => ended(state),
        Detected::Poll => Verdict::Poll,
        Detected::Invalid(kind, why) => Verdict::fail_because(kind, why),
    }
}

/// The table of behaviour §1, with the monitor to poll (or, for row 2, the usable status
/// monitor, if any).
fn detect(
    rules: &Rules,
    facts: &Facts,
    head: &response::Parts,
    body: Seen<'_>,
    doc: &StatusDoc<'_>,
) -> (Detected, Option<(MonitorKind, Target)>) {
    let status = head.status.as_u16();
    if !may_start(head.status) {
        return (Detected::PassThrough, None);
    }
    let st = doc.status.as_deref();
    let ps = doc.provisioning_state.as_deref().map(State::of);
    let monitor = status_monitor(&facts.orig.uri, &head.headers);
    let has_monitor = monitor.is_some();
    let has_location = head.headers.contains_key(http::header::LOCATION);
    let ps_running = ps == Some(State::Running);

    // Row 2.
    if let (true, Some(state)) = (has_monitor, st.map(State::of).filter(|s| s.is_terminal())) {
        let done = if state == State::Succeeded {
            Detected::Resolved
        } else {
            Detected::Ended(state)
        };
        return (done, monitor.flatten());
    }
    // Row 3.
    if let (true, Some(state)) = (
        facts.verb.writes_resource() && status != 202,
        ps.filter(|s| s.is_terminal()),
    ) {
        let done = if state == State::Succeeded {
            Detected::Done
        } else {
            Detected::Ended(state)
        };
        return (done, None);
    }
    // Row 4.
    if status == 200 && !has_monitor && ps.is_none() && st.is_none() {
        return (Detected::PassThrough, None);
    }
    // Row 5.
    if let Some(usable) = monitor {
        return match usable {
            Some(monitor) => (Detected::Poll, Some(monitor)),
            None => (
                Detected::Invalid(
                    ErrorKind::InvalidPollingUrl,
                    "no usable Azure-AsyncOperation or Operation-Location",
                ),
                None,
            ),
        };
    }
    // Row 6.
    let created_empty = status == 201 && facts.verb != Verb::Post && no_representation(body);
    if has_location
        && (status == 202 || ps_running || st.is_some_and(is_running_word) || created_empty)
    {
        let location = Target::first_in(&facts.orig.uri, &head.headers, http::header::LOCATION);
        return match location {
            Some(target) => (Detected::Poll, Some((MonitorKind::Location, target))),
            None => (
                Detected::Invalid(ErrorKind::InvalidPollingUrl, "unusable Location"),
                None,
            ),
        };
    }
    if !has_location {
        // Row 7.
        if facts.verb.writes_resource() && ps_running {
            let orig = facts.orig.clone();
            return (Detected::Poll, Some((MonitorKind::ProvisioningState, orig)));
        }
        // Row 8.
        if status == 202 && rules.require_monitor_on_202 {
            return (
                Detected::Invalid(
                    ErrorKind::MissingPollingUrl,
                    "require_monitor_on_202: a 202 without a monitor header and not running",
                ),
                None,
            );
        }
    }
    // Rows 8 and 9.
    (Detected::PassThrough, None)
}
