//! The invariants every run is held to (numbered as in the harness's brief; 5b is the README's
//! "every LroError keeps the last status, headers and body").

use std::sync::OnceLock;
use std::time::Duration;

use http::{Method, Uri};

use super::script::{Allow, Case, End, ALLOWED, ORIGINAL};
use super::server::Served;
use super::{Ending, LroSummary, Outcome, ReadEnd, Resumed, Returned};

// Restated rather than shared with the library: the oracle must still hold the line if the
// library ever drops a header from its own list.
const CREDENTIALS: [&str; 7] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "api-key",
    "ocp-apim-subscription-key",
    "x-ms-authorization-auxiliary",
    "x-goog-api-key",
];

/// Whether invariant `name` is checked: all of them unless `MODEL_ONLY` lists some. Forged
/// token cases go by `f<name>` (`f1`, `f3`...), and all of them by `7`.
pub fn enabled(case: &Case, name: &str) -> bool {
    static ONLY: OnceLock<Option<Vec<String>>> = OnceLock::new();
    let only = ONLY.get_or_init(|| {
        let list = std::env::var("MODEL_ONLY").ok()?;
        Some(list.split(',').map(|s| s.trim().to_owned()).collect())
    });
    let Some(list) = only else {
        return true;
    };
    let listed = |n: &str| list.iter().any(|l| l == n);
    match case.token {
        Some(_) => listed("7") || listed(&format!("f{name}")),
        None => listed(name),
    }
}

fn fail(name: &str, what: String, context: &str) -> ! {
    panic!("invariant {name} violated: {what}\n{context}")
}

pub fn all(case: &Case, out: &Outcome, context: &str) {
    let forged = case.token.is_some();
    let origins = if forged { "7" } else { "2" };
    if enabled(case, origins) {
        trust(case, out, origins, context);
    }
    if enabled(case, "3") {
        budgets(case, out, context);
    }
    if let Ending::Returned { result, .. } = &out.ending {
        match result {
            Returned::Ok {
                status,
                seq,
                body,
                end,
            } if enabled(case, "4") => match seq.map(|n| out.served.get(n)) {
                Some(Some(Served::Response {
                    delivered, end: e, ..
                })) => {
                    let expected = match e {
                        End::Complete => ReadEnd::Complete,
                        End::ErrorAt(_) => ReadEnd::Error,
                        End::StallAt(_) => ReadEnd::Stalled,
                    };
                    if body != delivered || *end != expected {
                        let what = format!(
                            "the Ok body of response {} is {} bytes then {end:?}; served {} bytes then {expected:?}",
                            seq.unwrap_or_default(), body.len(), delivered.len()
                        );
                        fail("4 (Ok body is what was served)", what, context);
                    }
                }
                Some(_) => fail(
                    "4 (Ok body is what was served)",
                    format!("x-model-seq {seq:?} names no served response"),
                    context,
                ),
                None if *status != 204 || !body.is_empty() || *end != ReadEnd::Complete => fail(
                    "4 (Ok body is what was served)",
                    format!(
                        "an unstamped (synthesized) {status} with {} bytes then {end:?}",
                        body.len()
                    ),
                    context,
                ),
                None => {}
            },
            Returned::Lro(summary) => errors(case, out, summary, context),
            // Only the original exchange's own failures pass through untyped.
            Returned::Other(text) if enabled(case, "5") && (forged || out.received.len() > 1) => {
                let what = format!("an error after polling started is not an LroError: {text}");
                fail("5 (errors carry a resume token)", what, context);
            }
            _ => {}
        }
    }
    if let Ending::Dropped {
        at,
        sent_before,
        sent_after,
    } = out.ending
    {
        let late = out.received.iter().any(|r| r.at > at);
        if enabled(case, "6") && (sent_after != sent_before || late) {
            let what = format!(
                "{} requests sent after the future was dropped",
                sent_after - sent_before
            );
            fail("6 (nothing sent after drop)", what, context);
        }
    }
}

/// Where a request may go, and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Original,
    Allowed { credentials: bool },
    Foreign,
}

/// Scheme, host and effective port, compared case-insensitively.
fn origin(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

fn place(case: &Case, uri: &Uri) -> Place {
    let of = |text: &str| origin(&text.parse().expect("a constant URI"));
    let here = origin(uri);
    if here.is_some() && here == of(ORIGINAL) {
        return Place::Original;
    }
    match case.config.allow {
        Allow::None => Place::Foreign,
        _ if here.is_none() || here != of(ALLOWED) => Place::Foreign,
        allow => Place::Allowed {
            credentials: allow == Allow::WithCredentials,
        },
    }
}

/// Invariants 2 and 7: origins, credentials and the request's own extensions.
fn trust(case: &Case, out: &Outcome, name: &str, context: &str) {
    let forged = case.token.is_some();
    for (i, r) in out.received.iter().enumerate() {
        let here = place(case, &r.uri);
        if here == Place::Foreign {
            fail(name, format!("request {i} went to {}", r.uri), context);
        }
        if i == 0 && !forged {
            continue; // The caller's own request.
        }
        let Some(poll) = r.poll else {
            fail(name, format!("request {i} has no LroPoll"), context);
        };
        if r.method != Method::GET {
            fail(name, format!("request {i} is a {}", r.method), context);
        }
        // Credentials follow each request's own origin (behaviour §3): none to an origin
        // allowed without them; the caller's to its own origin, also after such a poll.
        let sent: Vec<_> = CREDENTIALS
            .iter()
            .filter(|h| r.headers.contains_key(**h))
            .collect();
        let expected = match here {
            Place::Allowed { credentials } => credentials,
            _ => true,
        };
        if poll.credentials_allowed() != expected || (!expected && !sent.is_empty()) {
            let what = format!(
                "request {i} to {} carries {sent:?}, credentials_allowed {}, expected {expected}",
                r.uri,
                poll.credentials_allowed()
            );
            fail(name, what, context);
        }
        if expected && !forged && !r.headers.contains_key("authorization") {
            let what = format!("request {i} to {} lost credentials: {sent:?}", r.uri);
            fail(name, what, context);
        }
        if here != Place::Original && r.marker {
            let what = format!("request {i} to {} carries the caller's extension", r.uri);
            fail(name, what, context);
        }
    }
}

/// Invariant 3: polls, transient retries in a row, and `max_duration`.
fn budgets(case: &Case, out: &Outcome, context: &str) {
    let name = "3 (ends within budgets)";
    let forged = case.token.is_some();
    // Each run has its own budget, a resumed one too (whatever its token counted); a resumed
    // run has no original request to skip.
    if let Some(max) = case.config.max_polls {
        let polls = out
            .received
            .iter()
            .skip(usize::from(!forged))
            .filter(|r| r.poll.is_none_or(|p| !p.final_get()))
            .count();
        if polls > max as usize {
            fail(name, format!("{polls} polls, max_polls {max}"), context);
        }
    }
    let mut in_row = 0;
    for served in out.served.iter().skip(usize::from(!forged)) {
        let transient = matches!(served, Served::Response { status, .. }
            if matches!(status, 408 | 429 | 500 | 502 | 503 | 504));
        in_row = if transient { in_row + 1 } else { 0 };
        let max = case.config.max_transient_retries;
        if in_row > max + 1 {
            let what = format!("{in_row} transient answers in a row, max_transient_retries {max}");
            fail(name, what, context);
        }
    }
    let Some(limit) = case.config.max_duration else {
        return;
    };
    let deadline = out.start + limit + Duration::from_millis(1);
    if let Some((i, r)) = out
        .received
        .iter()
        .enumerate()
        .find(|(_, r)| r.at > deadline)
    {
        let what = format!(
            "request {i} sent {:?} after the start, max_duration {limit:?}",
            r.at - out.start
        );
        fail(name, what, context);
    }
    let (at, hung) = match out.ending {
        Ending::Returned { at, .. } => (at, false),
        // A drop can fall due only when the harness's patience wakes the future: that is a hang.
        Ending::Dropped { at, .. } => (at, at - out.start >= super::PATIENCE),
        Ending::Hung { at } => (at, true),
        Ending::Refused => return,
    };
    // A stalled original exchange is the caller's; once polling started, the deadline is ours.
    let polling = forged || out.received.len() > 1;
    if at > deadline && (!hung || polling) {
        let what = format!(
            "still running {:?} after the start, max_duration {limit:?}{}",
            at - out.start,
            if hung { " (hung)" } else { "" }
        );
        fail(name, what, context);
    }
}

/// Invariants 5 and 5b: the error's token resumes where it says; the last response is kept.
fn errors(case: &Case, out: &Outcome, e: &LroSummary, context: &str) {
    if enabled(case, "5") {
        let name = "5 (errors carry a resume token)";
        let Some(token) = &e.token else {
            fail(
                name,
                format!("{:?} without a token: {}", e.kind, e.text),
                context,
            );
        };
        let usable = token
            .url()
            .parse::<Uri>()
            .is_ok_and(|uri| place(case, &uri) != Place::Foreign);
        match &e.resumed {
            Some(Resumed::Sent { first: Some(first) }) => {
                if *first != *token.url() || place(case, first) == Place::Foreign {
                    let what = format!("resuming {token} first requested {first}");
                    fail(name, what, context);
                }
            }
            Some(Resumed::Refused(why)) if usable => {
                fail(
                    name,
                    format!("resuming {token} was refused: {why}"),
                    context,
                );
            }
            Some(Resumed::Refused(_)) => {}
            // The wait the token owes (behaviour §7) reaches the resumed run's own deadline.
            _ if case
                .config
                .max_duration
                .is_some_and(|limit| token.next_wait() >= limit) => {}
            _ => fail(name, format!("resuming {token} sent nothing"), context),
        }
    }
    if enabled(case, "5b") {
        let last = out.served.len().checked_sub(1);
        if let Some(Served::Response {
            status,
            delivered,
            end: End::Complete,
        }) = out.served.last()
        {
            let kept = e.status.map(|s| s.as_u16()) == Some(*status)
                && e.seq == last
                && delivered.starts_with(&e.body);
            if !kept {
                let what = format!(
                    "{:?} after a complete {status} (response {last:?}) keeps status {:?}, response {:?}, {} body bytes",
                    e.kind, e.status, e.seq, e.body.len()
                );
                fail("5b (an error keeps the last response)", what, context);
            }
        }
    }
}
