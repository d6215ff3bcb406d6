//! The promises of behaviour §3, §5 and §7 on every dialect: polls are GETs whatever a token
//! says, secrets are never shown, a success is never turned into an error, bodies that cannot
//! hold a dialect's shape are not held back.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tokio::time::Instant;

use super::tests::{expect_fail, expect_pass, expect_return, start_with};
use super::tests_hardened::{feed_200, resume, token};
use super::{Next, Operation};
use crate::config::Config;
use crate::dialect::DialectState;
use crate::error_kind::ErrorKind;
use crate::info::{LroDialect, MonitorKind};
use crate::options::LroOptions;

const COMPUTE: &str = "https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances";
const WAIT: &str =
    "https://compute.googleapis.com/compute/v1/projects/p/zones/z/operations/op1/wait";

fn compute_config(compute_wait: bool) -> Config {
    let mut config = Config::default();
    config.dialects = LroOptions::new()
        .enable(LroDialect::GoogleDiscovery)
        .dialects_over(config.dialects);
    Arc::make_mut(&mut config.hosts).google.compute_wait = compute_wait;
    config
}

fn compute_token(url: &str) -> crate::ResumeToken {
    let mut t = token(COMPUTE, url, None, 1);
    t.method = "POST".to_owned();
    t.monitor = MonitorKind::GoogleDiscoveryOperation;
    t.dialect = LroDialect::GoogleDiscovery;
    t.state.dialect = DialectState::Google(Box::new(crate::GoogleOperation {
        poll_post: true,
        ..Default::default()
    }));
    t
}

fn set_post(t: &mut crate::ResumeToken, post: bool) {
    t.state.dialect = DialectState::Google(Box::new(crate::GoogleOperation {
        poll_post: post,
        ..Default::default()
    }));
}

fn resume_at(
    t: &crate::ResumeToken,
    origin: &str,
    config: Config,
) -> Result<Operation, crate::LroError> {
    let origin: http::Uri = origin.parse().unwrap();
    Operation::resume(t, &origin, &Arc::new(config), Instant::now())
}

#[test]
fn a_token_never_makes_a_poll_a_post() {
    // An Azure token asking for POSTs to an action on the origin: refused, nothing sent.
    let mut t = token(
        super::tests::ORIG,
        "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/P/virtualMachines/vm1/powerOff",
        None,
        0,
    );
    set_post(&mut t, true);
    let e = resume(&t, Config::default()).expect_err("a POST token");
    assert_eq!(e.kind(), ErrorKind::InvalidResumeToken, "{e}");

    // Google's `…/wait` POST only where this layer turns compute_wait on.
    let e = resume_at(&compute_token(WAIT), COMPUTE, compute_config(false)).expect_err("off");
    assert_eq!(e.kind(), ErrorKind::InvalidResumeToken, "{e}");
    let elsewhere = "https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances/i/stop";
    let e = resume_at(&compute_token(elsewhere), COMPUTE, compute_config(true))
        .expect_err("not an operation's wait");
    assert_eq!(e.kind(), ErrorKind::InvalidResumeToken, "{e}");
    let mut final_post = compute_token(WAIT);
    final_post.final_get = true;
    assert!(resume_at(&final_post, COMPUTE, compute_config(true)).is_err());

    let op = resume_at(&compute_token(WAIT), COMPUTE, compute_config(true)).expect("allowed");
    assert_eq!(op.request::<()>().method(), http::Method::POST);
    // Without the word, a GET.
    let mut get = compute_token(WAIT.trim_end_matches("/wait"));
    set_post(&mut get, false);
    let op = resume_at(&get, COMPUTE, compute_config(true)).expect("a GET token");
    assert_eq!(op.request::<()>().method(), http::Method::GET);
}

#[test]
fn a_token_never_turns_on_a_dialect_or_a_state_its_dialect_lacks() {
    // Google is off by default: its token is refused, not resolved by its rules.
    let mut t = compute_token(WAIT);
    set_post(&mut t, false);
    let e = resume_at(&t, COMPUTE, Config::default()).expect_err("off");
    assert!(e.to_string().contains("off in this layer"), "{e}");

    let base = || token(super::tests::ORIG, super::tests::AAO, None, 0);
    let mut graph_monitor = base();
    graph_monitor.monitor = MonitorKind::GraphMonitor;
    let mut dataverse = base();
    dataverse.state.dialect = DialectState::OData(Default::default());
    let mut kept = base();
    kept.state.dialect = DialectState::Graph(Default::default());
    let mut named = base();
    set_post(&mut named, false);
    let mut custom = base();
    custom.state.dialect = DialectState::Custom(Default::default());
    for t in [graph_monitor, dataverse, kept, named, custom] {
        let e = resume(&t, Config::default()).expect_err("inconsistent");
        assert_eq!(e.kind(), ErrorKind::InvalidResumeToken, "{t:?}");
    }
}

#[test]
fn an_odata_result_of_any_size_is_a_success() {
    let config = Config {
        body_cap: 64,
        ..Config::default()
    };
    let mut h = start_with("POST", config, None);
    // Stand-in for the OData request: the preference and a 202 + Location.
    h.op.facts.asks_async = true;
    let monitor = "https://management.azure.com/$monitor/1";
    let next = h.feed(202, &[("location", monitor)], "");
    assert!(matches!(next, Next::Get { .. }), "{next:?}");
    let big = format!(r#"{{"value":"{}"}}"#, "x".repeat(500));
    let next = h.feed(200, &[("content-type", "application/json")], &big);
    expect_return(next, None);
}

#[test]
fn a_graph_first_body_past_the_cap_is_handed_over_not_replaced() {
    let config = Config {
        inspect_cap: 32,
        ..Config::default()
    };
    let mut req = http::Request::post(
        "https://graph.microsoft.com/v1.0/users/u/authentication/methods/m/resetPassword",
    )
    .body(())
    .unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer t".parse().unwrap());
    let mut op = Operation::start(&req, &Arc::new(config), Instant::now()).unwrap();
    let (head, ()) = http::Response::builder()
        .status(202)
        .header("location", "https://graph.microsoft.com/v1.0/operations/o1")
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(op.body_cap(&head), Some(32));
    let body = format!(r#"{{"newPassword":"{}"}}"#, "p".repeat(64));
    let next = op.on_response(super::Reply {
        head: &head,
        body: super::Seen::Partial(&body.as_bytes()[..32]),
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    });
    expect_pass(next);
}

#[test]
fn a_body_that_cannot_hold_json_is_never_read_first() {
    let mut config = Config::default();
    config.dialects = LroOptions::new()
        .enable(LroDialect::GoogleAip151)
        .dialects_over(config.dialects);
    let config = Arc::new(config);
    for (method, url) in [
        (
            "POST",
            "https://aiplatform.googleapis.com/v1/projects/p/models/m:streamGenerateContent",
        ),
        ("PUT", super::tests::ORIG),
        ("POST", "https://graph.microsoft.com/v1.0/me/stream"),
    ] {
        let req = http::Request::builder()
            .method(method)
            .uri(url)
            .body(())
            .unwrap();
        let op = Operation::start(&req, &config, Instant::now()).unwrap();
        for status in [200, 201, 202] {
            let (head, ()) = http::Response::builder()
                .status(status)
                .header("content-type", "text/event-stream")
                .header("location", "https://graph.microsoft.com/v1.0/operations/o1")
                .body(())
                .unwrap()
                .into_parts();
            assert_eq!(op.body_cap(&head), None, "{method} {url} {status}");
        }
    }
}

#[test]
fn a_redirect_target_stays_redacted_through_its_retries() {
    let mut h = start_with("POST", Config::default(), None);
    let target = "https://management.azure.com/results/1?sig=SECRET&api-version=1";
    let next = h.feed(
        202,
        &[("location", "https://management.azure.com/ops/1")],
        "",
    );
    assert!(matches!(next, Next::Get { .. }), "{next:?}");
    let next = h.feed(303, &[("location", target)], "");
    assert!(matches!(next, Next::Get { .. }), "{next:?}");
    let next = h.feed(503, &[("retry-after", "1")], "");
    assert!(
        matches!(next, Next::Get { delay } if delay == Duration::from_secs(1)),
        "{next:?}"
    );
    let info = h.op.info();
    let shown = format!("{:?} {}", info, info.final_url().unwrap());
    assert!(!shown.contains("SECRET"), "{shown}");
    // The request itself goes to the URL as given.
    assert_eq!(h.op.request::<()>().uri().to_string(), target);
}

#[test]
fn nothing_shown_holds_a_first_responses_secrets() {
    let mut req = http::Request::post("https://graph.microsoft.com/v1.0/drives/d/items/i/copy")
        .body(())
        .unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer t".parse().unwrap());
    let config = Config {
        max_polls: Some(1),
        ..Config::default()
    };
    let mut op = Operation::start(&req, &Arc::new(config), Instant::now()).unwrap();
    let monitor = "https://contoso.sharepoint.com/_api/v2.0/monitor/m1?tempauth=SECRET1";
    let (head, ()) = http::Response::builder()
        .status(202)
        .header("location", monitor)
        .header("content-type", "application/json")
        .body(())
        .unwrap()
        .into_parts();
    let body = br#"{"newPassword":"SECRET2"}"#;
    let next = op.on_response(super::Reply {
        head: &head,
        body: super::Seen::Whole(body),
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    });
    assert!(matches!(next, Next::Get { .. }), "{next:?}");
    let info = op.info();
    let _ = info.initial_headers();
    let next = feed_200(&mut op, Some(br#"{"status":"inProgress"}"#));
    let e = expect_fail(next, ErrorKind::TimedOut);
    let shown = format!("{info:?} {e} {e:?} {:?}", e.resume_token().unwrap());
    for secret in ["SECRET1", "SECRET2"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    // The first body itself is still there for the caller, and in the token.
    assert_eq!(e.status(), Some(StatusCode::OK));
    let token = e.resume_token().unwrap();
    let DialectState::Graph(graph) = &token.state.dialect else {
        panic!("a Graph state: {token:?}");
    };
    assert!(graph.first.as_ref().is_some_and(|k| &k.body[..] == body));
}

#[test]
fn a_refused_first_response_is_not_quoted() {
    let req = http::Request::post(
        "https://graph.microsoft.com/v1.0/users/u/authentication/methods/m/resetPassword",
    )
    .body(())
    .unwrap();
    let mut op = Operation::start(&req, &Arc::new(Config::default()), Instant::now()).unwrap();
    let (head, ()) = http::Response::builder()
        .status(202)
        .header("location", "https://evil.example/operations/o1")
        .header("content-type", "application/json")
        .body(())
        .unwrap()
        .into_parts();
    let next = op.on_response(super::Reply {
        head: &head,
        body: super::Seen::Whole(br#"{"newPassword":"SECRET3"}"#),
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    });
    let e = expect_fail(next, ErrorKind::CrossOriginPollingUrl);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("SECRET3"), "{shown}");
    assert_eq!(e.body(), br#"{"newPassword":"SECRET3"}"#);
}

#[test]
fn graph_drive_monitors_never_get_credentials_and_the_copied_item_does() {
    let req = http::Request::post("https://graph.microsoft.com/v1.0/drives/d/items/i/copy")
        .header("authorization", "Bearer t")
        .header("cookie", "c=1")
        .body(())
        .unwrap();
    let mut op = Operation::start(&req, &Arc::new(Config::default()), Instant::now()).unwrap();
    let reply = |op: &mut Operation, status: u16, headers: &[(&str, &str)], body: &[u8]| {
        let mut b = http::Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let (head, ()) = b.body(()).unwrap().into_parts();
        op.on_response(super::Reply {
            head: &head,
            body: super::Seen::Whole(body),
            now: Instant::now(),
            wall: &std::time::SystemTime::now,
        })
    };
    let monitor = "https://contoso.sharepoint.com/_api/v2.0/monitor/m1?tempauth=T";
    let next = reply(&mut op, 202, &[("location", monitor)], b"");
    assert!(matches!(next, Next::Get { .. }), "{next:?}");
    let poll = op.request::<()>();
    assert_eq!(poll.uri().to_string(), monitor);
    assert!(poll.headers().get("authorization").is_none());
    assert!(poll.headers().get("cookie").is_none());
    let marker = poll.extensions().get::<crate::LroPoll>().unwrap();
    assert!(!marker.credentials_allowed() && !marker.same_origin());

    let done = br#"{"status":"completed","resourceLocation":"https://graph.microsoft.com/v1.0/drives/d/items/x"}"#;
    let next = reply(&mut op, 200, &[], done);
    assert!(matches!(next, Next::Get { .. }), "{next:?}");
    let item = op.request::<()>();
    assert_eq!(
        item.uri().to_string(),
        "https://graph.microsoft.com/v1.0/drives/d/items/x"
    );
    assert_eq!(item.headers()["authorization"], "Bearer t");
    let marker = item.extensions().get::<crate::LroPoll>().unwrap();
    assert!(marker.credentials_allowed() && marker.same_origin() && marker.final_get());
}

#[test]
fn only_the_five_redirects_complete_a_location_poll() {
    let target = "https://management.azure.com/results/1";
    for status in [301, 302, 303, 307, 308] {
        let mut h = start_with("POST", Config::default(), None);
        let next = h.feed(
            202,
            &[("location", "https://management.azure.com/ops/1")],
            "",
        );
        assert!(matches!(next, Next::Get { .. }), "{next:?}");
        let next = h.feed(status, &[("location", target)], "");
        assert!(matches!(next, Next::Get { .. }), "{status}: {next:?}");
        assert_eq!(h.op.request::<()>().uri().to_string(), target, "{status}");
    }
    for status in [300, 304, 305] {
        let mut h = start_with("POST", Config::default(), None);
        let next = h.feed(
            202,
            &[("location", "https://management.azure.com/ops/1")],
            "",
        );
        assert!(matches!(next, Next::Get { .. }), "{next:?}");
        let next = h.feed(status, &[("location", target)], "");
        assert!(
            matches!(next, Next::Fail(_)),
            "{status} completed: {next:?}"
        );
    }
}
