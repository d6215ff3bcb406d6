//! The README's promises, tried the way a hostile server, a careless configuration and a
//! forged token would, through the whole layer under paused time. Each test failed before the
//! code that keeps its promise.

mod attack;

use std::time::Duration;

use attack::*;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use tokio::time::Instant;
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{AllowedOrigin, ErrorKind, LroError, LroLayer, ResumeToken};

const MONITOR: &str = "https://management.azure.com/ops/1";

fn lro_error<T>(result: Result<T, BoxError>) -> Box<LroError> {
    match result {
        Ok(_) => panic!("expected an LroError, got a response"),
        Err(e) => e.downcast::<LroError>().expect("an LroError"),
    }
}

fn running() -> TestBody {
    body(&[br#"{"status":"Running"}"#])
}

fn arm() -> http::Uri {
    http::Uri::from_static(ARM)
}

// ---- max_duration is a deadline from the call ----

#[tokio::test(start_paused = true)]
async fn a_monitor_that_stalls_its_body_ends_at_the_deadline() {
    let (svc, log) = server(|n, _| match n {
        0 => respond(202, &[("azure-asyncoperation", MONITOR)], body(&[])),
        1 => respond(200, &[("retry-after", "5")], running()),
        _ => respond(200, &[("x-n", "2")], stalls_after(br#"{"sta"#)),
    });
    let layer = LroLayer::builder()
        .max_duration(Duration::from_secs(60))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = lro_error(layer.layer(svc).oneshot(call("POST", "/act")).await);
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(e.elapsed(), Duration::from_secs(60));
    // The response whose body stalled is the last response, as far as it was read.
    assert_eq!(e.status(), Some(StatusCode::OK));
    assert_eq!(e.headers()["x-n"], "2");
    assert_eq!(e.body(), br#"{"sta"#);
    assert_eq!(e.resume_token().unwrap().url(), MONITOR);
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_monitor_that_never_answers_ends_at_the_deadline() {
    let (svc, log) = server(|n, _| match n {
        0 => respond(202, &[("azure-asyncoperation", MONITOR)], body(&[])),
        1 => respond(200, &[("x-n", "1")], running()),
        _ => Answer::Never,
    });
    let layer = LroLayer::builder()
        .max_duration(Duration::from_secs(30))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = lro_error(layer.layer(svc).oneshot(call("POST", "/act")).await);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    // The last response that arrived: the first poll's.
    assert_eq!(&e.headers()["x-n"], "1");
    assert_eq!(e.body(), br#"{"status":"Running"}"#);
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .all(|r| r.at <= start + Duration::from_secs(30)));
}

#[tokio::test(start_paused = true)]
async fn a_final_get_that_stalls_ends_at_the_deadline() {
    let (svc, _log) = server(|n, _| match n {
        0 => respond(201, &[("azure-asyncoperation", MONITOR)], body(&[b"{}"])),
        1 => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
        _ => Answer::Never,
    });
    let layer = LroLayer::builder()
        .max_duration(Duration::from_secs(20))
        .build()
        .unwrap();
    let start = Instant::now();
    let e = lro_error(layer.layer(svc).oneshot(call("PUT", "/things/t1")).await);
    assert_eq!(start.elapsed(), Duration::from_secs(20));
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    let token = e.resume_token().unwrap();
    assert!(token.is_final_get());
    assert_eq!(token.url(), format!("{ARM}/things/t1"));
}

#[tokio::test(start_paused = true)]
async fn a_stalled_original_body_is_handed_over_at_the_deadline() {
    // Not an operation yet: the caller's response, as it would have had it without the layer.
    let (svc, _log) = server(|_, _| respond(200, &[("x-a", "1")], stalls_after(br#"{"id":"#)));
    let layer = LroLayer::builder()
        .max_duration(Duration::from_secs(10))
        .build()
        .unwrap();
    let start = Instant::now();
    let response = layer
        .layer(svc)
        .oneshot(call("PUT", "/things/t1"))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-a"], "1");
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, Bytes::from_static(br#"{"id":"#));
}

// ---- a successful response is never turned into an error ----

#[tokio::test(start_paused = true)]
async fn a_reset_while_inspecting_a_successful_write_reaches_the_caller_as_a_body_error() {
    let (svc, log) = server(|_, _| {
        respond(
            200,
            &[("x-ms-request-id", "r1")],
            fails_after(br#"{"properties":{"provisioningState":"Succ"#),
        )
    });
    let response = LroLayer::new()
        .layer(svc)
        .oneshot(call("PUT", "/things/t1"))
        .await
        .expect("the write's response, not a call error");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-ms-request-id"], "r1");
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(
        first,
        Bytes::from_static(br#"{"properties":{"provisioningState":"Succ"#)
    );
    let error = body.frame().await.unwrap().unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(log.lock().unwrap().len(), 1, "no poll after a broken body");
}

// ---- bodies are read only where a rule needs them ----

#[tokio::test(start_paused = true)]
async fn require_monitor_on_202_leaves_a_post_stream_unread() {
    let (svc, _log) = server(|n, _| match n {
        0 => respond(
            200,
            &[("content-type", "text/event-stream")],
            stalls_after(b"data: 1\n\n"),
        ),
        _ => respond(202, &[], stalls_after(b"data: 2\n\n")),
    });
    let service = LroLayer::builder()
        .require_monitor_on_202(true)
        .build()
        .unwrap()
        .layer(svc);
    let start = Instant::now();
    let response = service
        .clone()
        .oneshot(call("POST", "/chat"))
        .await
        .unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "the head arrives before the stream ends"
    );
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, Bytes::from_static(b"data: 1\n\n"));
    // Its 202 error is decided on the head, too.
    let e = lro_error(service.oneshot(call("POST", "/chat")).await);
    assert_eq!(e.kind(), ErrorKind::MissingPollingUrl);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

// ---- bodies are bounded while they are read ----

#[tokio::test(start_paused = true)]
async fn one_huge_frame_is_bounded_in_the_error() {
    let huge = vec![b'x'; 8 << 20];
    for status in [200, 400] {
        let frame = huge.clone();
        let (svc, _log) = server(move |n, _| match n {
            0 => respond(202, &[("azure-asyncoperation", MONITOR)], body(&[])),
            _ => respond(status, &[], body(&[&frame])),
        });
        let layer = LroLayer::builder()
            .monitor_body_cap(64 << 10)
            .build()
            .unwrap();
        let e = lro_error(layer.layer(svc).oneshot(call("POST", "/act")).await);
        let kind = if status == 200 {
            ErrorKind::BodyTooLarge
        } else {
            ErrorKind::PollFailed
        };
        assert_eq!(e.kind(), kind);
        assert!(e.body().len() <= 64 << 10, "{} bytes kept", e.body().len());
    }
}

// ---- no arithmetic overflows, whatever the server and the configuration say ----

#[tokio::test(start_paused = true)]
async fn absurd_hints_with_an_unbounded_interval_never_panic() {
    let (svc, log) = server(|n, _| match n {
        0 => respond(
            202,
            &[
                ("azure-asyncoperation", MONITOR),
                ("retry-after", "99999999999999999999"),
            ],
            body(&[]),
        ),
        1 => respond(200, &[("retry-after", "18446744073709551615")], running()),
        _ => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
    });
    let service = LroLayer::builder()
        .max_interval(Duration::MAX)
        .build()
        .unwrap()
        .layer(svc);
    let start = Instant::now();
    let task = tokio::spawn(service.oneshot(call("POST", "/act")));
    tokio::time::sleep(Duration::from_secs(3600 * 24 * 365)).await;
    // Twenty digits is no hint: the first poll came after the schedule's 1 s.
    let first_poll = log.lock().unwrap()[1].at;
    assert_eq!(first_poll - start, Duration::from_secs(1));
    assert!(!task.is_finished(), "waiting out u64::MAX seconds");
    task.abort();
    match task.await {
        Err(e) => assert!(e.is_cancelled(), "no panic: {e}"),
        Ok(_) => panic!("the wait cannot have ended"),
    }

    // With a deadline the same hint ends the operation at once, with the hint's response.
    let (svc, _log) = server(|_, _| {
        respond(
            202,
            &[
                ("azure-asyncoperation", MONITOR),
                ("retry-after-ms", "18446744073709551615"),
            ],
            body(&[]),
        )
    });
    let layer = LroLayer::builder()
        .max_interval(Duration::MAX)
        .max_duration(Duration::from_secs(3600))
        .build()
        .unwrap();
    let e = lro_error(layer.layer(svc).oneshot(call("POST", "/act")).await);
    assert_eq!(
        (e.kind(), e.status()),
        (ErrorKind::TimedOut, Some(StatusCode::ACCEPTED))
    );
}

// ---- resume tokens are data from outside ----

fn forged(original: &str, url: &str, polls: u64) -> ResumeToken {
    format!(
        r#"{{"version":1,"method":"PUT","original_uri":"{original}","monitor":"azure-async-operation",
            "url":"{url}","location":null,"final_get":false,"polls":{polls}}}"#
    )
    .parse()
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_forged_token_sends_nothing_off_the_expected_origin() {
    let (svc, log) = server(|_, _| respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])));
    let service = LroLayer::new().layer(svc);
    for token in [
        // Self-consistent, and both on the attacker's host: the token cannot vouch for itself.
        forged("https://evil.example/x", "https://evil.example/ops/1", 0),
        forged(&format!("{ARM}/x"), "https://evil.example/ops/1", 0),
        forged(
            "http://management.azure.com/x",
            "http://management.azure.com/o",
            0,
        ),
    ] {
        let e = service
            .resume::<String, TestBody>(&token, &arm())
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::CrossOriginPollingUrl);
    }
    assert!(log.lock().unwrap().is_empty(), "nothing was sent");

    let v3 = r#"{"version":3,"method":"PUT","original_uri":"https://management.azure.com/x","monitor":"azure-async-operation","url":"https://management.azure.com/o","location":null,"final_get":false,"polls":0}"#;
    let err = v3.parse::<ResumeToken>().unwrap_err().to_string();
    assert!(err.contains("version 3"), "{err}");
    // Version 1 (no state) is still read; with state, it is refused.
    assert!(v3
        .replace(r#""version":3"#, r#""version":1"#)
        .parse::<ResumeToken>()
        .is_ok());
    let v1_with_state = v3
        .replace(r#""version":3"#, r#""version":1"#)
        .replace(r#""polls":0"#, r#""polls":0,"state":{"wait_ms":5}"#);
    assert!(v1_with_state.parse::<ResumeToken>().is_err());
    let unversioned = v3.replace(r#""version":3,"#, "");
    assert!(unversioned.parse::<ResumeToken>().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_resumed_run_has_its_own_poll_budget_whatever_the_token_counts() {
    let (svc, log) = server(|_, _| respond(200, &[], running()));
    let layer = LroLayer::builder().max_polls(3).build().unwrap();
    let token = forged(&format!("{ARM}/x"), MONITOR, u64::from(u32::MAX));
    let e = lro_error(
        layer
            .layer(svc)
            .resume::<String, TestBody>(&token, &arm())
            .unwrap()
            .await,
    );
    assert_eq!((e.kind(), e.polls()), (ErrorKind::TimedOut, 3));
    assert_eq!(log.lock().unwrap().len(), 3);
    assert!(e.resume_token().unwrap().polls() < u32::MAX);
}

// ---- credentials never leave the origin ----

#[tokio::test(start_paused = true)]
async fn a_wildcard_origin_gets_no_credentials_and_its_own_origin_gets_them_back() {
    let account = "https://acct.ops.example.net/ops/1";
    let (svc, log) = server(move |n, _| match n {
        0 => respond(202, &[("azure-asyncoperation", account)], body(&[])),
        1 => respond(200, &[("azure-asyncoperation", MONITOR)], running()),
        _ => respond(200, &[], body(&[br#"{"status":"Succeeded"}"#])),
    });
    let layer = LroLayer::builder()
        .allow_origin(AllowedOrigin::parse("https://*.ops.example.net").unwrap())
        .build()
        .unwrap();
    let response = layer
        .layer(svc)
        .oneshot(call("POST", "/act"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let log = log.lock().unwrap();
    assert_eq!(log[1].uri, account);
    assert_eq!(log[2].uri, MONITOR);
    // Behaviour §3: credentials follow each request's own origin.
    assert!(log[1].headers.get("authorization").is_none());
    assert!(!log[1].poll.unwrap().credentials_allowed());
    assert!(log[2].headers.get("authorization").is_some());
    assert!(log[2].poll.unwrap().credentials_allowed());
}
