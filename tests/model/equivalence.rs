//! Invariant 9, resume equivalence (behaviour §7: "A resumed operation resolves exactly as the
//! uninterrupted one would: the same requests, waits, outcome and result bytes"). A case that
//! resolves (`Ok`, or an `LroError` other than a limit's `TimedOut`) is stopped at a point its
//! input chooses: after the report before request `j + 1` (that report's token), or by running
//! it again with `max_polls(k)` (the `TimedOut` error's token). The token goes through its text
//! form, is resumed by a fresh layer of the same configuration over a server that goes on with
//! the script where the first run stopped, and the resumed run must match the uninterrupted
//! one from there: each request's method, URL, body and `LroPoll` marker (credentials compared
//! through the marker: a resumed run carries none of the caller's headers), each wait, and the
//! outcome.
//!
//! A resumed run has its own `max_polls` and `max_duration` (behaviour §7): its deadline is
//! later than the uninterrupted run's, so a run that ended within its limits ends the same way
//! resumed, and one that ended in `TimedOut` is skipped.

use std::time::Duration;

use tower_lro::{ErrorKind, ResumeToken};

use super::check::{count, enabled, strict};
use super::server::{Received, Served};
use super::{execute, guarded, Case, Ending, Outcome, Plan, Returned, Start};

fn fail(what: String, context: &str) -> ! {
    panic!("invariant 9 (resume equivalence) violated: {what}\n{context}")
}

pub fn check(case: &Case, reference: &Outcome, context: &str) {
    if case.token.is_some() || !enabled(case, "9") {
        return;
    }
    let Ending::Returned { result, .. } = &reference.ending else {
        return;
    };
    match result {
        Returned::Ok { .. } => {}
        Returned::Lro(e) if e.kind != ErrorKind::TimedOut => {}
        _ => return,
    }
    let sent = reference.received.len();
    if sent < 2 {
        return;
    }
    // Behaviour §7 (a token from each progress report): one report before each request the
    // layer made.
    if reference.progress.len() != sent - 1 {
        let what = format!(
            "{sent} requests but {} progress reports\n{}",
            reference.progress.len(),
            reference.describe()
        );
        fail(what, context);
    }
    let polls = reference.received[1..]
        .iter()
        .filter(|r| r.poll.is_some_and(|p| !p.final_get()))
        .count();
    let (offset, token, stopped_at, how) = if case.stop_by_polls && polls >= 2 {
        // Polls come before any final GET: the (k + 1)-th poll is request k + 1.
        let k = 1 + usize::from(case.stop) % (polls - 1);
        let mut plan = Plan::of(case);
        plan.config.max_polls = Some(u32::try_from(k).expect("a few polls"));
        plan.drop_after = None;
        plan.follow_errors = false;
        let Some(stop) = guarded(case, context, || execute(case, &plan)) else {
            return;
        };
        let cut = k + 1;
        if stop.received.len() != cut
            || (0..cut).any(|i| {
                !same_request(&stop.received[i], &reference.received[i])
                    || stop.received[i].at - stop.start
                        != reference.received[i].at - reference.start
            })
        {
            let what = format!(
                "with max_polls({k}) the run did not send the first {cut} requests of the uninterrupted one\nstopped:\n{}\nuninterrupted:\n{}",
                stop.describe(),
                reference.describe()
            );
            fail(what, context);
        }
        let (at, token) = match &stop.ending {
            Ending::Returned {
                at,
                result: Returned::Lro(e),
            } if e.kind == ErrorKind::TimedOut && e.token.is_some() => (*at, e.token.clone()),
            _ => {
                let what = format!(
                    "with max_polls({k}) the run did not end in TimedOut with a token\n{}",
                    stop.describe()
                );
                fail(what, context);
            }
        };
        let token = token.expect("checked above");
        (cut, token, at - stop.start, format!("max_polls({k})"))
    } else {
        let j = usize::from(case.stop) % reference.progress.len();
        let report = &reference.progress[j];
        let how = format!("progress report {j}");
        (
            j + 1,
            report.token.clone(),
            report.at - reference.start,
            how,
        )
    };
    // Open finding B: a token does not carry the transient answers in a row before it, so a
    // run resumed among them gets a fresh `max_transient_retries`.
    let transient = |i: usize| {
        matches!(reference.served.get(i), Some(Served::Response { status, .. })
            if matches!(status, 408 | 429 | 500 | 502 | 503 | 504))
    };
    if !strict("B") && offset >= 2 && transient(offset - 1) {
        count("9: skipped, stopped among transient answers (finding B)");
        return;
    }
    // Through the text form, as a caller stores it.
    let text = token.to_string();
    let parsed: ResumeToken = match text.parse() {
        Ok(parsed) => parsed,
        Err(e) => fail(
            format!("the token of {how} does not parse back: {e}\n{text}"),
            context,
        ),
    };
    if parsed != token {
        fail(
            format!("the token of {how} changed through its text: {text}"),
            context,
        );
    }
    let mut plan = Plan::of(case);
    plan.start = Start::Token(Box::new(parsed));
    plan.offset = offset;
    plan.drop_after = None;
    plan.follow_errors = false;
    let Some(resumed) = guarded(case, context, || execute(case, &plan)) else {
        return;
    };
    count(if case.stop_by_polls && how.starts_with("max_polls") {
        "9: resumed from a max_polls stop"
    } else {
        "9: resumed from a progress report"
    });
    let differs = |what: String| -> ! {
        let what = format!(
            "resumed from {how} (token {token:?}), {what}\nuninterrupted:\n{}\nresumed (its requests numbered from 0):\n{}",
            reference.describe(),
            resumed.describe()
        );
        fail(what, context)
    };
    let expected = &reference.received[offset..];
    if let Ending::Refused(refusal) = &resumed.ending {
        let why = refusal.as_ref().map_or("", |r| r.display.as_str());
        differs(format!("the token was refused: {why}"));
    }
    // Each request, and the wait before it (from the stop, then from the request before).
    let mut before = (stopped_at, Duration::ZERO);
    for (i, (want, got)) in expected.iter().zip(&resumed.received).enumerate() {
        if !same_request(want, got) {
            differs(format!(
                "request {} is {} {} {:?} rather than {} {} {:?}",
                offset + i,
                got.method,
                got.uri,
                got.poll,
                want.method,
                want.uri,
                want.poll
            ));
        }
        let waits = (
            want.at - reference.start - before.0,
            got.at - resumed.start - before.1,
        );
        // Open finding A: resuming caps the token's wait at `max_interval`, which caps only
        // hints in a live run, never the schedule's steps.
        let capped = i == 0 && !strict("A") && waits.1 == waits.0.min(case.config.max_interval);
        if waits.0 != waits.1 && !capped {
            differs(format!(
                "request {} came {:?} after the one before rather than {:?}",
                offset + i,
                waits.1,
                waits.0
            ));
        }
        before = (want.at - reference.start, got.at - resumed.start);
    }
    if expected.len() != resumed.received.len() {
        differs(format!(
            "{} requests rather than {}",
            resumed.received.len(),
            expected.len()
        ));
    }
    let (
        Ending::Returned {
            at: want_at,
            result: want,
        },
        Ending::Returned {
            at: got_at,
            result: got,
        },
    ) = (&reference.ending, &resumed.ending)
    else {
        differs("the resumed run did not return".into());
    };
    let waits = (
        *want_at - reference.start - before.0,
        *got_at - resumed.start - before.1,
    );
    if waits.0 != waits.1 {
        differs(format!(
            "it ended {:?} after its last request rather than {:?}",
            waits.1, waits.0
        ));
    }
    let same = match (want, got) {
        (
            Returned::Ok {
                status,
                seq,
                body,
                end,
                ..
            },
            Returned::Ok {
                status: s,
                seq: q,
                body: b,
                end: e,
                ..
            },
        ) => status == s && seq == q && body == b && end == e,
        (Returned::Lro(want), Returned::Lro(got)) => {
            want.kind == got.kind
                && want.code == got.code
                && want.status == got.status
                && want.seq == got.seq
                && want.body == got.body
        }
        _ => false,
    };
    if !same {
        differs(format!(
            "it ended {} rather than {}",
            summary(got),
            summary(want)
        ));
    }
}

/// Method, URL, body and marker (but its attempt number: each run counts its own polls).
fn same_request(a: &Received, b: &Received) -> bool {
    let marker = |r: &Received| {
        r.poll
            .map(|p| (p.same_origin(), p.credentials_allowed(), p.final_get()))
    };
    a.method == b.method && a.uri == b.uri && a.body_len == b.body_len && marker(a) == marker(b)
}

fn summary(result: &Returned) -> String {
    match result {
        Returned::Ok {
            status,
            seq,
            body,
            end,
            ..
        } => format!(
            "Ok {status} (response {seq:?}, {} bytes then {end:?})",
            body.len()
        ),
        Returned::Lro(e) => format!(
            "{:?} {:?} (HTTP {:?}, response {:?}, {} body bytes): {}",
            e.kind,
            e.code,
            e.status,
            e.seq,
            e.body.len(),
            e.text
        ),
        Returned::Other(text) => format!("an inner error: {text}"),
    }
}
