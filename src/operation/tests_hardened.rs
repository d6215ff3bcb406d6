//! The rules the behaviour page refined after real traffic and an adversarial review (§1, §2, §3,
//! §5), fed straight into the machine. Each of these failed on the machine before them.

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use tokio::time::Instant;

use super::tests::{expect_fail, expect_pass, expect_return, start, AAO, LOC, ORIG, S1};
use super::{Next, Operation};
use crate::config::Config;
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::resume::ResumeToken;
use crate::wire::url::AllowedOrigin;

const ARM: &str = "https://management.azure.com";

// ---- §1: which responses start an operation ----

#[test]
fn row6_a_201_location_is_polled_only_without_a_representation() {
    for (method, body, polls) in [
        ("PUT", "", true),
        ("PATCH", " {  } ", true),
        ("DELETE", "", true),
        ("PUT", r#"{"name":"created"}"#, false),
        ("PUT", "<created/>", false),
        ("POST", "", false),
        ("POST", "{}", false),
    ] {
        let mut h = start(method);
        let next = h.feed(201, &[("location", LOC)], body);
        if polls {
            h.expect_get(next, LOC, S1);
        } else {
            expect_pass(next);
        }
    }
    // A POST 201 is decided on the head: its body is not buffered.
    let h = start("POST");
    let (head, ()) = Response::builder()
        .status(201)
        .header("location", "https://elsewhere.example/created/1")
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(h.op.body_cap(&head), None);
}

#[test]
fn row6_a_200_with_a_running_status_word_polls_its_location() {
    for method in ["PUT", "POST", "DELETE"] {
        let mut h = start(method);
        let next = h.feed(200, &[("location", LOC)], r#"{"status":"inProgress"}"#);
        h.expect_get(next, LOC, S1);
    }
    // Any other top-level status is a resource property.
    let mut h = start("POST");
    expect_pass(h.feed(200, &[("location", LOC)], r#"{"status":"Active"}"#));
}

#[test]
fn empty_state_words_are_absent() {
    let mut h = start("PUT");
    expect_pass(h.feed(200, &[], r#"{"properties":{"provisioningState":""}}"#));
    let mut h = start("PUT");
    let next = h.feed(202, &[("azure-asyncoperation", AAO)], r#"{"status":""}"#);
    h.expect_get(next, AAO, S1);
}

#[test]
fn malformed_header_values_are_skipped_never_repaired() {
    let ol = "https://management.azure.com/ol/1";
    let mut h = start("POST");
    let spaced = "https://management.azure.com/ops/a b";
    let next = h.feed(
        202,
        &[("azure-asyncoperation", spaced), ("operation-location", ol)],
        "",
    );
    h.expect_get(next, ol, S1);
    let mut h = start("POST");
    let e = expect_fail(
        h.feed(202, &[("location", "/ops/a b")], ""),
        ErrorKind::InvalidPollingUrl,
    );
    assert_eq!(e.status(), Some(StatusCode::ACCEPTED));
}

// ---- §3: polling ----

#[test]
fn relative_values_on_a_poll_resolve_against_the_polled_url() {
    let monitor = "https://management.azure.com/ops/a/1";
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", monitor)], "");
    let next = h.feed(
        200,
        &[("azure-asyncoperation", "2"), ("location", "../results/9")],
        r#"{"status":"Running"}"#,
    );
    h.expect_get(
        next,
        "https://management.azure.com/ops/a/2",
        Duration::from_secs(2),
    );
    let next = h.feed(200, &[], r#"{"status":"Succeeded"}"#);
    h.expect_get(
        next,
        "https://management.azure.com/ops/results/9",
        Duration::ZERO,
    );

    // A Location poll: its new Location is relative to the Location that answered.
    let mut h = start("DELETE");
    h.feed(
        202,
        &[("location", "https://management.azure.com/q/r/1")],
        "",
    );
    let next = h.feed(202, &[("location", "next?x=1")], "");
    h.expect_get(
        next,
        "https://management.azure.com/q/r/next?x=1",
        S1.saturating_mul(2),
    );
}

#[test]
fn a_location_poll_follows_only_location() {
    let mut h = start("DELETE");
    h.feed(202, &[("location", LOC)], "");
    let elsewhere = "https://management.azure.com/ops/ignored";
    let next = h.feed(202, &[("azure-asyncoperation", elsewhere)], "");
    h.expect_get(next, LOC, Duration::from_secs(2));
    assert_eq!(h.op.facts.monitor, MonitorKind::Location);
}

#[test]
fn resource_location_is_a_string_resolved_against_the_monitor() {
    let monitor = "https://management.azure.com/ops/x/1";
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", monitor)], "");
    let next = h.feed(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"../res/1"}"#,
    );
    h.expect_get(
        next,
        "https://management.azure.com/ops/res/1",
        Duration::ZERO,
    );
    // Not a string: absent, so the method's rule decides.
    for (method, expected) in [("PUT", Some(ORIG)), ("POST", None)] {
        let mut h = start(method);
        h.feed(202, &[("azure-asyncoperation", AAO)], "");
        let next = h.feed(
            200,
            &[],
            r#"{"status":"Succeeded","resourceLocation":{"href":"https://evil.example/"}}"#,
        );
        match expected {
            Some(url) => h.expect_get(next, url, Duration::ZERO),
            None => expect_return(next, None),
        }
    }
}

// ---- §5: every error keeps the last response ----

#[test]
fn a_cross_origin_refusal_keeps_the_response_that_named_the_url() {
    let mut h = start("POST");
    let e = expect_fail(
        h.feed(
            202,
            &[(
                "azure-asyncoperation",
                "https://evil.example/ops/1?sig=SECRET",
            )],
            "{\"id\":1}",
        ),
        ErrorKind::CrossOriginPollingUrl,
    );
    assert_eq!(e.status(), Some(StatusCode::ACCEPTED));
    assert!(e.headers().contains_key("azure-asyncoperation"));
    assert!(e.resume_token().is_some());

    // On a poll: the refreshed monitor's response.
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    let e = expect_fail(
        h.feed(
            200,
            &[("azure-asyncoperation", "https://evil.example/ops/2")],
            r#"{"status":"Running"}"#,
        ),
        ErrorKind::CrossOriginPollingUrl,
    );
    assert_eq!(e.body(), br#"{"status":"Running"}"#);
}

#[test]
fn an_unusable_result_url_keeps_the_monitor_response() {
    let mut h = start("PUT");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    let body = r#"{"status":"Succeeded","resourceLocation":"/res/a b"}"#;
    let e = expect_fail(
        h.feed(200, &[("x-ms-request-id", "r9")], body),
        ErrorKind::InvalidPollingUrl,
    );
    assert_eq!(e.status(), Some(StatusCode::OK));
    assert_eq!(e.headers()["x-ms-request-id"], "r9");
    assert_eq!(e.body(), body.as_bytes());
}

#[test]
fn error_text_never_shows_query_values_but_api_version() {
    let mut h = start("POST");
    let refused = "https://evil.example/ops/1?api-version=2024-01-01&sig=SECRET&se=2030";
    let e = expect_fail(
        h.feed(202, &[("azure-asyncoperation", refused)], ""),
        ErrorKind::CrossOriginPollingUrl,
    );
    let shown = format!("{e} {e:?} {:?}", e.resume_token().unwrap());
    assert!(
        !shown.contains("SECRET") && !shown.contains("2030"),
        "{shown}"
    );
    assert!(shown.contains("api-version=2024-01-01"), "{shown}");
    // The token itself keeps the URL whole: it must work.
    assert!(e.resume_token().unwrap().url().contains("sig=SECRET"));
}

// ---- §5: resume tokens are data from outside ----

pub(super) fn token(original: &str, url: &str, location: Option<&str>, polls: u32) -> ResumeToken {
    ResumeToken {
        method: "PUT".to_owned(),
        original_uri: original.to_owned(),
        monitor: MonitorKind::AzureAsyncOperation,
        url: url.to_owned(),
        location: location.map(str::to_owned),
        final_get: false,
        polls,
        origin_form: false,
        dialect: crate::LroDialect::Azure,
        state: Default::default(),
    }
}

pub(super) fn resume(token: &ResumeToken, config: Config) -> Result<Operation, crate::LroError> {
    let origin = http::Uri::from_static(ARM);
    Operation::resume(token, &origin, &Arc::new(config), Instant::now())
}

/// Feeds a resumed operation a `200` without headers and with `body` (`None`: unread).
pub(super) fn feed_200(op: &mut Operation, body: Option<&[u8]>) -> Next {
    let (head, ()) = Response::builder()
        .status(200)
        .body(())
        .unwrap()
        .into_parts();
    op.on_response(super::Reply {
        head: &head,
        body: body.map_or(super::Seen::Unread, super::Seen::Whole),
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    })
}

#[test]
fn a_token_never_vouches_for_itself() {
    let evil = "https://evil.example/x";
    for t in [
        // Both of the token's own URLs on another host: today's self-check passes it.
        token(evil, "https://evil.example/ops/1", None, 0),
        token(ORIG, "https://evil.example/ops/1", None, 0),
        token(
            "http://management.azure.com/x",
            "http://management.azure.com/ops",
            None,
            0,
        ),
        token(
            "https://management.azure.com:8443/x",
            "https://management.azure.com:8443/o",
            None,
            0,
        ),
    ] {
        let e = resume(&t, Config::default()).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::CrossOriginPollingUrl, "{t:?}");
    }
    for t in [
        token("not a uri", AAO, None, 0),
        token(ORIG, "gopher://x", None, 0),
        token(ORIG, AAO, Some("/res/a b"), 0),
    ] {
        let e = resume(&t, Config::default()).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidResumeToken, "{t:?}");
    }
    // A foreign Location is refused where a final GET needs it, before anything goes there.
    let mut t = token(ORIG, AAO, Some("https://evil.example/result?sig=S"), 0);
    t.method = "POST".to_owned();
    let mut op = resume(&t, Config::default()).expect("the monitor is on the origin");
    let next = feed_200(&mut op, Some(br#"{"status":"Succeeded"}"#));
    expect_fail(next, ErrorKind::CrossOriginPollingUrl);

    // The original URL is taken as the caller sent it: a token that names it next resumes,
    // even where a response naming it would be malformed (non-ASCII, which `http::Uri` takes).
    let caller_sent = "https://management.azure.com/th\u{e9}/1";
    let t = token(caller_sent, caller_sent, None, 0);
    assert!(resume(&t, Config::default()).is_ok());
    let other = token(
        caller_sent,
        "https://management.azure.com/th\u{e9}/2",
        None,
        0,
    );
    let e = resume(&other, Config::default()).expect_err("a malformed next URL");
    assert_eq!(e.kind(), ErrorKind::InvalidResumeToken);

    // The allow-list admits a monitor elsewhere, without credentials.
    let config = Config {
        allowed: vec![AllowedOrigin::parse("https://*.example.net").unwrap()],
        ..Config::default()
    };
    let op = resume(&token(ORIG, "https://ops.example.net/1", None, 0), config).unwrap();
    let poll = op.request::<()>();
    let marker = poll.extensions().get::<crate::LroPoll>().unwrap();
    assert!(!marker.same_origin() && !marker.credentials_allowed());
}

#[test]
fn token_counters_are_clamped_and_each_run_has_its_own_budget() {
    let config = Config {
        max_polls: Some(2),
        ..Config::default()
    };
    let mut op = resume(&token(ORIG, AAO, None, u32::MAX), config).unwrap();
    let mut polls = 0;
    let next = loop {
        let next = feed_200(&mut op, Some(br#"{"status":"Running"}"#));
        match next {
            Next::Get { .. } => polls += 1,
            other => break other,
        }
        assert!(polls <= 1, "max_polls ignored after a resume");
    };
    // The request sent at resume is the run's first poll; one more fits the budget of two.
    assert_eq!(polls, 1);
    let Next::Fail(e) = next else {
        panic!("expected TimedOut, got {next:?}")
    };
    assert_eq!((e.kind(), e.polls()), (ErrorKind::TimedOut, 2));
    let carried = e.resume_token().unwrap().polls();
    assert!(
        carried > 2 && carried < u32::MAX,
        "clamped, saturating: {carried}"
    );
}

#[test]
fn a_resumed_final_get_is_named_in_the_result_record() {
    let mut t = token(ORIG, ORIG, None, 3);
    t.final_get = true;
    let mut op = resume(&t, Config::default()).unwrap();
    expect_return(feed_200(&mut op, None), None);
    let info = op.info();
    assert_eq!(
        info.final_url().map(ToString::to_string).as_deref(),
        Some(ORIG)
    );
    assert_eq!(info.monitor_url().to_string(), ORIG);
}
