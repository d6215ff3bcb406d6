//! The invariants every run is held to (numbered as in the harness's brief; 5b is the README's
//! "every LroError keeps the last status, headers and body"; 9 to 13 came with resume tokens
//! that carry the whole operation: 9, resume equivalence, lives in `equivalence.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use http::{Method, Uri};
use tower_lro::{ErrorKind, LroDialect};

use super::script::{secrets_in, Allow, Answer, Case, End, ALLOWED, ORIGINAL};
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

/// How often each check found something to hold a run to (`MODEL_STATS`): the decoder's
/// palettes are tuned so that none is idle.
pub static STATS: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

pub fn count(what: &'static str) {
    if std::env::var_os("MODEL_STATS").is_some() {
        *STATS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(what)
            .or_default() += 1;
    }
}

thread_local! {
    static STRICT: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` holding the runs to the strict readings named in `which` (`A`, `B`, `12`, or
/// `all`): the readings the default leaves out because `src/` does not keep them today (the
/// open findings of `tests/model.rs`). `MODEL_STRICT=A,12` does the same for every run.
pub fn strictly<T>(which: &str, f: impl FnOnce() -> T) -> T {
    let names = which.split(',').map(|n| n.trim().to_owned()).collect();
    let before = STRICT.with(|s| s.replace(names));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    STRICT.with(|s| s.replace(before));
    result.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// Whether the strict reading `name` is checked (see [`strictly`]). The readings of the four
/// findings of 2026-12-07 (`A`, `B`, `12`, `D`) are the default now that `src/` keeps them.
pub fn strict(name: &str) -> bool {
    matches!(name, "A" | "B" | "12" | "D")
        || STRICT.with(|s| s.borrow().iter().any(|n| n == name || n == "all"))
}

fn fail(name: &str, what: String, context: &str) -> ! {
    panic!("invariant {name} violated: {what}\n{context}")
}

pub fn all(case: &Case, out: &Outcome, context: &str) {
    let forged = case.token.is_some();
    count(if forged {
        "runs: forged token"
    } else {
        "runs: original request"
    });
    if let Some(report) = out.progress.first() {
        count(match report.token.dialect() {
            LroDialect::Azure => "dialect polled: azure",
            LroDialect::GoogleAip151 => "dialect polled: google-aip-151",
            LroDialect::GoogleDiscovery => "dialect polled: google-discovery",
            LroDialect::Graph => "dialect polled: graph",
            LroDialect::Fabric => "dialect polled: fabric",
            LroDialect::OData => "dialect polled: odata",
            _ => "dialect polled: other",
        });
    }
    if forged {
        count(match &out.ending {
            Ending::Refused(None) => "7: token refused as text",
            Ending::Refused(Some(_)) => "7: token refused by resume",
            _ => "7: token resumed",
        });
    }
    let origins = if forged { "7" } else { "2" };
    if enabled(case, origins) || enabled(case, "11") {
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
                ..
            } if enabled(case, "4") => match seq.map(|n| out.served.get(n)) {
                Some(Some(Served::Response {
                    delivered, end: e, ..
                })) => {
                    let expected = match e {
                        End::Complete => ReadEnd::Complete,
                        End::ErrorAt(_) => ReadEnd::Error,
                        End::StallAt(_) => ReadEnd::Stalled,
                    };
                    // `inline_result`: a monitor's `result` member as the body of a 200, or a
                    // 204 without one (the monitor's own head, re-described).
                    let inline = case.options.is_some_and(|(_, inline)| inline)
                        || case
                            .token
                            .as_deref()
                            .is_some_and(|t| t.contains(r#""inline_result":true"#));
                    let member = inline
                        && *end == ReadEnd::Complete
                        && (body.is_empty()
                            || delivered.windows(body.len()).any(|w| w == &body[..]));
                    if (body != delivered || *end != expected) && !member {
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
                // An OData result embedded as `application/http` (dialects, OData): its own
                // status, headers and body, the end of the served body.
                None if odata_embedded(case, out)
                    .is_some_and(|served| served.ends_with(body) && *end == ReadEnd::Complete) => {}
                // A forged token's kept response (Graph's first response, Fabric's state):
                // the result when nothing replaces it (behaviour §7).
                None if case
                    .token
                    .as_deref()
                    .is_some_and(|t| t.contains(r#""kept":"#))
                    && [
                        &br#"{"newPassword":"SEKRET4"}"#[..],
                        br#"{"status":"Succeeded"}"#,
                        b"{}",
                    ]
                    .contains(&body.as_slice()) => {}
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
    if enabled(case, "10") {
        redaction(out, "", context);
    }
    if enabled(case, "12") {
        event_streams(case, out, context);
    }
    if enabled(case, "13") {
        success_stays_success(case, out, context);
    }
    if forged && enabled(case, "7") {
        forged_tokens(case, out, context);
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

/// Where `uri` is, for a request made under `dialect`: the original origin, the allow-list,
/// or a host the dialect admits (Graph's drive monitors without credentials, Fabric's cluster
/// hosts with them when the case follows Fabric's `Location`: dialects §§ Graph, Fabric).
fn place(case: &Case, uri: &Uri, dialect: Option<LroDialect>) -> Place {
    let of = |text: &str| origin(&text.parse().expect("a constant URI"));
    let here = origin(uri);
    if here.is_some() && here == of(ORIGINAL) {
        return Place::Original;
    }
    if case.config.allow != Allow::None && here.is_some() && here == of(ALLOWED) {
        return Place::Allowed {
            credentials: case.config.allow == Allow::WithCredentials,
        };
    }
    let https = uri.scheme_str() == Some("https");
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let under = |domain: &str| host.ends_with(&format!(".{domain}"));
    match dialect {
        Some(LroDialect::Graph)
            if https
                && (host == "api.onedrive.com"
                    || host == "drive.example.org"
                    || under("sharepoint.com")) =>
        {
            Place::Allowed { credentials: false }
        }
        Some(LroDialect::Fabric)
            if https
                && case.config.fabric_follow
                && (host == "analysis.windows.net"
                    || under("analysis.windows.net")
                    || host == "fabric.microsoft.com"
                    || under("fabric.microsoft.com")) =>
        {
            Place::Allowed { credentials: true }
        }
        _ => Place::Foreign,
    }
}

/// Where request `r` went (`Received::target`), counted when it went origin-form.
fn target(r: &super::server::Received) -> Uri {
    if r.uri.authority().is_none() {
        count("7: origin-form request");
    }
    r.target()
}

/// Invariants 2 and 7: origins, credentials and the request's own extensions; 11: every
/// request after the caller's is a GET with an empty body (behaviour §3), but Compute's
/// `…/wait` POST where the layer turns `google_compute_wait` on.
fn trust(case: &Case, out: &Outcome, name: &str, context: &str) {
    let forged = case.token.is_some();
    let origins = enabled(case, name);
    let fail = |name: &str, what: String, context: &str| {
        if origins || name.starts_with("11") {
            fail(name, what, context);
        }
    };
    for (i, r) in out.received.iter().enumerate() {
        let dialect = out.dialect_of(i);
        let uri = target(r);
        let here = place(case, &uri, dialect);
        if here == Place::Foreign {
            fail(name, format!("request {i} went to {uri}"), context);
        }
        if here != Place::Original && place(case, &uri, None) == Place::Foreign {
            count("2: request to a host the dialect admits");
        }
        if i == 0 && !forged {
            continue; // The caller's own request.
        }
        let Some(poll) = r.poll else {
            fail(name, format!("request {i} has no LroPoll"), context);
            continue;
        };
        if enabled(case, "11") {
            let get_only = if forged {
                "11/7 (polls are GETs)"
            } else {
                "11 (polls are GETs)"
            };
            let compute_wait = r.method == Method::POST
                && case.config.compute_wait
                && dialect == Some(LroDialect::GoogleDiscovery)
                && !poll.final_get()
                && r.uri.path().ends_with("/wait")
                && r.uri.path().contains("/operations/");
            if compute_wait {
                count("11: compute wait POST");
            }
            if r.method != Method::GET && !compute_wait {
                let what = format!("request {i} to {} is a {} ({dialect:?})", r.uri, r.method);
                fail(get_only, what, context);
            }
            if r.body_len != 0 {
                let what = format!("request {i} to {} has a {}-byte body", r.uri, r.body_len);
                fail(get_only, what, context);
            }
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
        Ending::Refused(_) => return,
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
        let dialect = Some(token.dialect());
        let usable = token
            .url()
            .parse::<Uri>()
            .is_ok_and(|uri| match place(case, &uri, dialect) {
                // An origin-form operation's service reaches only its own origin.
                Place::Allowed { .. } => !token.is_origin_form(),
                here => here != Place::Foreign,
            });
        match &e.resumed {
            Some(Resumed::Sent { first: Some(first) }) => {
                if *first != *token.url() || place(case, first, dialect) == Place::Foreign {
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
            // The wait the token owes (behaviour §7) reaches the resumed run's own deadline,
            // or outlasts the harness's patience.
            _ if case
                .config
                .max_duration
                .is_some_and(|limit| token.next_wait() >= limit)
                || token.next_wait().min(case.config.max_interval) >= super::PATIENCE => {}
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
            // An OData result that failed is the operation's own response (dialects, OData):
            // the status `AsyncResult` names, or the embedded `application/http` message's
            // status and body.
            let reply = last
                .and_then(|i| case.script.get(i))
                .or(Some(&case.fallback))
                .and_then(|a| match a {
                    Answer::Respond(reply) => Some(reply),
                    _ => None,
                });
            let odata = last.is_some_and(|i| out.dialect_of(i) == Some(LroDialect::OData))
                && *status == 200;
            let async_result = reply
                .and_then(|r| r.header("asyncresult"))
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse::<u16>().ok());
            let embedded = reply
                .and_then(|r| r.header("content-type"))
                .is_some_and(|t| t.to_ascii_lowercase().starts_with(b"application/http"));
            let contains =
                |body: &[u8]| body.is_empty() || delivered.windows(body.len()).any(|w| w == body);
            let own = odata
                && ((async_result.is_some()
                    && e.status.map(|s| s.as_u16()) == async_result
                    && delivered.starts_with(&e.body))
                    || (async_result.is_none() && embedded && contains(&e.body)));
            let kept = (e.status.map(|s| s.as_u16()) == Some(*status) || own)
                && (e.seq == last || (own && embedded))
                && (delivered.starts_with(&e.body) || own);
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

/// A redirect that completes an operation (behaviour, "Redirects from a status endpoint").
fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Invariant 10: no shown text holds a secret (behaviour, "Secrets in URLs", and §5: an
/// error's `Display` quotes only an error answer's body). `Display` and `Debug` of every
/// `LroError` (and of a refused resume's), `Debug` of its token, of each progress report and
/// of `LroInfo`; and `LroInfo::monitor_url()`/`final_url()` and `Progress::monitor_url()`
/// show a URL raw only if it went with credentials (a redirect target: never).
pub fn redaction(out: &Outcome, run: &str, context: &str) {
    let name = "10 (secrets stay out of shown text)";
    let mut shown: Vec<(String, String)> = Vec::new();
    for (j, p) in out.progress.iter().enumerate() {
        shown.push((format!("Debug of progress report {j}"), p.debug.clone()));
    }
    match &out.ending {
        Ending::Refused(Some(refusal)) => {
            shown.push((
                "Display of the resume's error".into(),
                refusal.display.clone(),
            ));
            shown.push(("Debug of the resume's error".into(), refusal.debug.clone()));
        }
        Ending::Returned {
            result: Returned::Lro(e),
            ..
        } => {
            shown.push(("Display of the LroError".into(), without_excerpt(e)));
            shown.push(("Debug of the LroError".into(), e.debug.clone()));
            if let Some(token) = &e.token {
                shown.push(("Debug of its token".into(), format!("{token:?}")));
            }
        }
        Ending::Returned {
            result: Returned::Ok {
                info: Some(info), ..
            },
            ..
        } => shown.push(("Debug of LroInfo".into(), format!("{info:?}"))),
        _ => {}
    }
    for (what, text) in &shown {
        if let Some(secret) = secrets_in(text).first() {
            let what = format!("{run}{what} shows {secret}: {text}");
            fail(name, what, context);
        }
    }
    // The URLs requested without credentials are shown redacted in the role they were
    // requested in (a monitor's by `monitor_url()`, the result's by `final_url()`; unless the
    // same URL also went with credentials). The strict reading `D` holds every URL shown to
    // the secrets that went without credentials, whichever URL and role they went in (open
    // finding D: a status monitor on an origin allowed without credentials that was never
    // polled is shown raw, though the same URL, or its userinfo, went bare as the result's).
    let mut bare = BTreeSet::new();
    let mut credentialed = BTreeSet::new();
    let mut bare_urls = BTreeSet::new();
    let mut credentialed_urls = BTreeSet::new();
    let mut redirected = false;
    for (i, r) in out.received.iter().enumerate() {
        let Some(poll) = r.poll else { continue };
        let text = r.uri.to_string();
        let (into, urls) = if poll.credentials_allowed() {
            (&mut credentialed, &mut credentialed_urls)
        } else {
            (&mut bare, &mut bare_urls)
        };
        into.extend(secrets_in(&text).into_iter().map(str::to_owned));
        // The role the URL was requested in: a monitor, or the result.
        urls.insert((poll.final_get(), text));
        let after_redirect = i
            .checked_sub(1)
            .and_then(|j| out.served.get(j))
            .is_some_and(|s| matches!(s, Served::Response { status, .. } if is_redirect(*status)));
        redirected |= poll.final_get() && after_redirect;
    }
    let raw: Vec<&String> = bare.difference(&credentialed).collect();
    count("10: runs checked");
    if !raw.is_empty() {
        count("10: runs with secrets sent without credentials");
    }
    let mut urls: Vec<(String, (bool, String))> = out
        .progress
        .iter()
        .enumerate()
        .map(|(j, p)| {
            (
                format!("progress report {j}'s monitor_url()"),
                (false, p.monitor_url.to_string()),
            )
        })
        .collect();
    if let Ending::Returned {
        result: Returned::Ok {
            info: Some(info), ..
        },
        ..
    } = &out.ending
    {
        urls.push((
            "LroInfo::monitor_url()".into(),
            (false, info.monitor_url().to_string()),
        ));
        if let Some(url) = info.final_url() {
            let url = url.to_string();
            if redirected {
                count("10: final_url() of a redirect target checked");
            }
            if redirected && !secrets_in(&url).is_empty() {
                let what = format!("{run}LroInfo::final_url() of a redirect target is {url}");
                fail(name, what, context);
            }
            urls.push(("LroInfo::final_url()".into(), (true, url)));
        }
    }
    if !raw.is_empty() && urls.iter().any(|(w, _)| w.starts_with("LroInfo")) {
        count("10: LroInfo URLs checked against secrets sent without credentials");
    }
    for (what, shown) in urls {
        let bare_url = bare_urls.contains(&shown) && !credentialed_urls.contains(&shown);
        let url = shown.1;
        if let Some(secret) = secrets_in(&url)
            .into_iter()
            .find(|s| (bare_url || strict("D")) && raw.iter().any(|r| r == s))
        {
            let what = format!("{run}{what} is {url}, whose {secret} went without credentials");
            fail(name, what, context);
        }
    }
}

/// The error's `Display` without the excerpt of an error answer's body it may end with
/// (behaviour §5: shown when there is no service code or message; a 2xx body never).
fn without_excerpt(e: &LroSummary) -> String {
    let failure = e.status.is_some_and(|s| !s.is_success());
    if failure && e.code.is_none() && !e.has_message && !e.body.is_empty() {
        let excerpt = String::from_utf8_lossy(&e.body[..e.body.len().min(1024)]);
        if let Some(text) = e.text.strip_suffix(&format!(": {excerpt}")) {
            return text.to_owned();
        }
    }
    e.text.clone()
}

/// Invariant 12: a first response whose type is `text/event-stream` is never read by the layer
/// and reaches the caller at once, as it came (behaviour §5, "Bodies that cannot hold a
/// dialect's shape are not held"), whatever dialects are on.
///
/// The layer still decides such a response on its head where its head alone starts an
/// operation (a 202 with `Azure-AsyncOperation` polls; a monitor on another origin is
/// `CrossOriginPollingUrl`; `require_monitor_on_202` fails a bare 202): the reading checked
/// by default leaves those out; the strict reading `12` checks every event stream (open
/// finding C).
fn event_streams(case: &Case, out: &Outcome, context: &str) {
    let name = "12 (event streams are not held)";
    let Some(Answer::Respond(first)) = case.script.first() else {
        return;
    };
    if case.token.is_some() || !is_event_stream(first.header("content-type")) {
        return;
    }
    count("12: event streams");
    if out.first_touched {
        fail(
            name,
            "the layer read the event stream's body".into(),
            context,
        );
    }
    let on_head = [
        "azure-asyncoperation",
        "operation-location",
        "location",
        "x-ms-operation-id",
    ]
    .iter()
    .any(|h| first.header(h).is_some())
        || (first.status == 202 && case.config.strict);
    if on_head && !strict("12") {
        count("12: event streams decided on their head (strict reading only)");
        return;
    }
    match &out.ending {
        Ending::Returned { at, result } => {
            let handed = matches!(
                result,
                Returned::Ok {
                    seq: Some(0),
                    info: None,
                    ..
                }
            );
            if !handed || out.received.len() != 1 || *at != out.start {
                let how = match result {
                    Returned::Ok { seq, info, .. } => {
                        format!("Ok (response {seq:?}, LroInfo {info:?})")
                    }
                    Returned::Lro(e) => format!("{:?}: {}", e.kind, e.text),
                    Returned::Other(text) => text.clone(),
                };
                let what = format!(
                    "a {} event stream was not handed over at once as it came: {} requests, {:?} later, {how}\n{}",
                    first.status,
                    out.received.len(),
                    *at - out.start,
                    out.describe()
                );
                fail(name, what, context);
            }
        }
        Ending::Dropped { sent_before, .. } if *sent_before > 1 => {
            fail(
                name,
                format!("{sent_before} requests for an event stream"),
                context,
            );
        }
        _ => {}
    }
}

fn is_event_stream(value: Option<&[u8]>) -> bool {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Invariant 13: a success is never turned into an error (behaviour §5): a final GET's
/// complete 2xx, and an OData monitor's 200 that is the result (no `AsyncResult`, no
/// `application/http`; or an `AsyncResult` that is a 2xx), whatever its size, come back `Ok`
/// (and invariant 4 holds them to the bytes served).
fn success_stays_success(case: &Case, out: &Outcome, context: &str) {
    let name = "13 (a success is never an error)";
    let Some(last) = out.served.len().checked_sub(1) else {
        return;
    };
    let Some(Served::Response {
        status,
        end: End::Complete,
        ..
    }) = out.served.get(last)
    else {
        return;
    };
    let Some(poll) = out.received.get(last).and_then(|r| r.poll) else {
        return;
    };
    let Some(Answer::Respond(reply)) = case.script.get(last).or(Some(&case.fallback)) else {
        return;
    };
    let header = |n: &str| {
        reply
            .header(n)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
    };
    let result = if poll.final_get() {
        (200..300).contains(status)
    } else if out.dialect_of(last) == Some(LroDialect::OData)
        && !case
            .token
            .as_deref()
            .is_some_and(|t| t.contains(r#""dataverse":true"#))
    {
        let embedded = header("content-type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/http"));
        match (*status, header("asyncresult")) {
            (204, _) => true,
            (200, Some(result)) => result.parse::<u16>().is_ok_and(|s| (200..300).contains(&s)),
            (200, None) => !embedded,
            _ => false,
        }
    } else {
        false
    };
    if !result {
        return;
    }
    count("13: 2xx results");
    let ok = match &out.ending {
        Ending::Returned { result, .. } => {
            matches!(result, Returned::Ok { seq: Some(seq), .. } if *seq == last)
        }
        Ending::Dropped { .. } => true,
        _ => false,
    };
    if !ok {
        let what = format!(
            "the {status} result of request {last} ({}) did not come back Ok\n{}",
            out.received[last].uri,
            out.describe()
        );
        fail(name, what, context);
    }
}

/// Invariant 7 for the tokens' other fields (behaviour §7): a resume is refused only as
/// `InvalidResumeToken` or `CrossOriginPollingUrl`, with nothing sent; a token asking for POST
/// polls resumes only as Compute's `…/wait` with `google_compute_wait` on.
fn forged_tokens(case: &Case, out: &Outcome, context: &str) {
    let name = "7 (forged tokens)";
    if let Ending::Refused(Some(refusal)) = &out.ending {
        let allowed = [
            ErrorKind::InvalidResumeToken,
            ErrorKind::CrossOriginPollingUrl,
        ];
        if !allowed.contains(&refusal.kind) || !out.received.is_empty() {
            let what = format!(
                "resume refused as {:?} after {} requests: {}",
                refusal.kind,
                out.received.len(),
                refusal.display
            );
            fail(name, what, context);
        }
        return;
    }
    let Some(token) = &out.resumed_token else {
        return;
    };
    if token.polls_by_post() {
        let first = out.received.first().map(|r| r.uri.path().to_owned());
        let wait = first
            .as_deref()
            .is_none_or(|p| p.ends_with("/wait") && p.contains("/operations/"));
        let admitted = case.config.compute_wait
            && token.dialect() == LroDialect::GoogleDiscovery
            && !token.is_final_get()
            && wait;
        if !admitted {
            let what = format!("a token asking for POST polls was resumed: {token:?}");
            fail(name, what, context);
        }
    }
}

/// The bytes of the last response, when it is an OData monitor's `200` carrying its result as
/// an embedded `application/http` message.
fn odata_embedded<'a>(case: &'a Case, out: &'a Outcome) -> Option<&'a [u8]> {
    let last = out.served.len().checked_sub(1)?;
    let Served::Response {
        status: 200,
        delivered,
        end: End::Complete,
    } = out.served.get(last)?
    else {
        return None;
    };
    let Answer::Respond(reply) = case.script.get(last).unwrap_or(&case.fallback) else {
        return None;
    };
    let embedded = reply
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with(b"application/http"));
    (out.dialect_of(last) == Some(LroDialect::OData) && embedded).then_some(delivered)
}
