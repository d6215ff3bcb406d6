//! The machine's shared rules (waits, origins and credentials, transient retries, limits) fed
//! straight into it: no runtime, no I/O. The harness serves every dialect's table tests; Azure's
//! rules are tested beside them in `dialect/azure`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use super::{Next, Operation, Reply, Seen};
use crate::config::Config;
use crate::error_kind::ErrorKind;
use crate::options::LroOptions;
use crate::poll::LroPoll;
use crate::wire::url::AllowedOrigin;

pub(crate) const ORIG: &str = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/P/things/t1?api-version=2024-01-01";
pub(crate) const AAO: &str = "https://management.azure.com/subscriptions/s/providers/P/locations/l/operations/op1?api-version=2024-01-01";
pub(crate) const LOC: &str = "https://management.azure.com/subscriptions/s/providers/P/locations/l/operationResults/op1?api-version=2024-01-01";

pub(crate) struct Harness {
    pub(crate) op: Operation,
    pub(crate) now: Instant,
    pub(crate) wall: SystemTime,
}

pub(crate) fn start(method: &str) -> Harness {
    start_with(method, Config::default(), None)
}

pub(crate) fn start_with(method: &str, config: Config, options: Option<LroOptions>) -> Harness {
    let mut req = Request::builder()
        .method(method)
        .uri(ORIG)
        .header("authorization", "Bearer secret")
        .header("content-type", "application/json")
        .header("if-match", "*")
        .header("x-ms-client-request-id", "req-1")
        .body(())
        .unwrap();
    if let Some(options) = options {
        req.extensions_mut().insert(options);
    }
    let now = Instant::now();
    let op = Operation::start(&req, &Arc::new(config), now).expect("an LRO candidate");
    Harness {
        op,
        now,
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}

impl Harness {
    /// Feeds a response; the body is read only if the machine asks, up to its cap.
    pub(crate) fn feed(&mut self, status: u16, headers: &[(&str, &str)], body: &str) -> Next {
        let mut builder = Response::builder().status(status);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let (head, ()) = builder.body(()).unwrap().into_parts();
        let seen = match self.op.body_cap(&head) {
            None => Seen::Unread,
            Some(cap) if body.len() > cap => Seen::Partial(&body.as_bytes()[..cap + 1]),
            Some(_) => Seen::Whole(body.as_bytes()),
        };
        let wall = self.wall;
        self.op.on_response(Reply {
            head: &head,
            body: seen,
            now: self.now,
            wall: &|| wall,
        })
    }

    /// Feeds a response and asserts the GET that follows.
    pub(crate) fn poll_ok(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        url: &str,
        delay: Duration,
    ) {
        let next = self.feed(status, headers, body);
        self.expect_get(next, url, delay);
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Asserts a GET of `url` after `delay`, and that it carries the right headers.
    pub(crate) fn expect_get(&self, next: Next, url: &str, delay: Duration) {
        match next {
            Next::Get { delay: d } => assert_eq!(d, delay, "delay before GET {url}"),
            other => panic!("expected GET {url}, got {other:?}"),
        }
        let req = self.op.request::<()>();
        assert_eq!(req.method(), "GET");
        assert_eq!(req.uri().to_string(), url);
        assert!(req.headers().get("content-type").is_none());
        assert!(req.headers().get("if-match").is_none());
        assert_eq!(req.headers()["x-ms-client-request-id"], "req-1");
    }
}

pub(crate) fn expect_return(next: Next, status: Option<StatusCode>) {
    match next {
        Next::Respond(super::Respond {
            status: s,
            headers: None,
            body: super::ResultBody::Keep,
            ..
        }) => assert_eq!(s, status),
        other => panic!("expected Return({status:?}), got {other:?}"),
    }
}

pub(crate) fn expect_fail(next: Next, kind: ErrorKind) -> crate::LroError {
    match next {
        Next::Fail(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            e
        }
        other => panic!("expected {kind:?}, got {other:?}"),
    }
}

pub(crate) fn expect_pass(next: Next) {
    assert!(
        matches!(next, Next::PassThrough),
        "expected PassThrough, got {next:?}"
    );
}

pub(crate) const S1: Duration = Duration::from_secs(1);

// ---- §2: waiting ----

#[test]
fn hints_delay_polls_and_are_not_sticky() {
    let mut h = start("POST");
    let next = h.feed(
        202,
        &[("azure-asyncoperation", AAO), ("retry-after", "17")],
        "",
    );
    h.expect_get(next, AAO, Duration::from_secs(17));
    let next = h.feed(
        200,
        &[("retry-after-ms", "250")],
        r#"{"status":"InProgress"}"#,
    );
    h.expect_get(next, AAO, Duration::from_millis(250));
    // No hint: the schedule resumes where it was (1 s, then 2 s...).
    let next = h.feed(200, &[], r#"{"status":"InProgress"}"#);
    h.expect_get(next, AAO, S1);
    let next = h.feed(200, &[("retry-after", "0")], r#"{"status":"InProgress"}"#);
    h.expect_get(next, AAO, Duration::from_secs(2));
    let next = h.feed(
        200,
        &[("retry-after", "100000")],
        r#"{"status":"InProgress"}"#,
    );
    h.expect_get(next, AAO, Duration::from_secs(600));
    let date = httpdate::fmt_http_date(h.wall + Duration::from_secs(9));
    let next = h.feed(200, &[("retry-after", &date)], r#"{"status":"InProgress"}"#);
    h.expect_get(next, AAO, Duration::from_secs(9));
}

#[test]
fn per_request_schedule_overrides_the_layer() {
    let fast = crate::PollSchedule::fixed(Duration::from_millis(5)).unwrap();
    let mut h = start_with(
        "POST",
        Config::default(),
        Some(LroOptions::new().schedule(fast)),
    );
    let next = h.feed(202, &[("azure-asyncoperation", AAO)], "");
    h.expect_get(next, AAO, Duration::from_millis(5));
}

// ---- §3: polling ----

#[test]
fn poll_headers_follow_the_origin_rule() {
    let mut h = start("POST");
    let next = h.feed(202, &[("azure-asyncoperation", AAO)], "");
    h.expect_get(next, AAO, S1);
    let req = h.op.request::<()>();
    assert_eq!(req.headers()["authorization"], "Bearer secret");

    let mut h = start("POST");
    let other = "https://evil.example.com/ops/1";
    let e = expect_fail(
        h.feed(202, &[("azure-asyncoperation", other)], ""),
        ErrorKind::CrossOriginPollingUrl,
    );
    assert_eq!(e.monitor_url().unwrap(), other);

    let mut h = start("POST");
    let downgrade = "http://management.azure.com/ops/1";
    expect_fail(
        h.feed(202, &[("azure-asyncoperation", downgrade)], ""),
        ErrorKind::CrossOriginPollingUrl,
    );

    let mut h = start("POST");
    let port = "https://management.azure.com:443/ops/1";
    h.poll_ok(202, &[("azure-asyncoperation", port)], "", port, S1);
}

#[test]
fn credentials_follow_each_requests_own_origin() {
    let config = Config {
        allowed: vec![AllowedOrigin::parse("https://ops.example.net").unwrap()],
        ..Config::default()
    };
    let mut h = start_with("POST", config, None);
    let away = "https://ops.example.net/ops/1";
    h.poll_ok(202, &[("azure-asyncoperation", away)], "", away, S1);
    assert!(h
        .op
        .request::<()>()
        .headers()
        .get("authorization")
        .is_none());
    assert!(!h
        .op
        .request::<()>()
        .extensions()
        .get::<LroPoll>()
        .unwrap()
        .credentials_allowed());
    // Back on the original origin (behaviour §3), the caller's credentials go again.
    let next = h.feed(
        200,
        &[("azure-asyncoperation", AAO)],
        r#"{"status":"Running"}"#,
    );
    h.expect_get(next, AAO, Duration::from_secs(2));
    let back = h.op.request::<()>();
    assert!(back.headers().get("authorization").is_some());
    assert!(back
        .extensions()
        .get::<LroPoll>()
        .unwrap()
        .credentials_allowed());
}

#[test]
fn transient_answers_are_retried_then_fail() {
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    for status in [503, 429, 408] {
        h.poll_ok(
            status,
            &[("retry-after", "3")],
            "",
            AAO,
            Duration::from_secs(3),
        );
    }
    let e = expect_fail(h.feed(500, &[], "oops"), ErrorKind::PollFailed);
    assert_eq!(e.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(e.to_string().contains("oops"), "{e}");

    // A good answer resets the count.
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    for _ in 0..3 {
        h.feed(502, &[], "");
    }
    h.feed(200, &[], r#"{"status":"Running"}"#);
    for _ in 0..3 {
        assert!(matches!(h.feed(504, &[], ""), Next::Get { .. }));
    }
    assert_eq!(h.op.info().transient_retries(), 6);
}

#[test]
fn zero_transient_retries_fail_at_once() {
    let config = Config {
        max_transient_retries: 0,
        ..Config::default()
    };
    let mut h = start_with("PUT", config, None);
    h.feed(202, &[("location", LOC)], "");
    expect_fail(h.feed(503, &[], ""), ErrorKind::PollFailed);
}

// ---- §5: limits ----

#[test]
fn max_polls_is_exact() {
    let mut h = start_with(
        "POST",
        Config::default(),
        Some(LroOptions::new().max_polls(2)),
    );
    let running = r#"{"status":"Running"}"#;
    assert!(matches!(
        h.feed(202, &[("azure-asyncoperation", AAO)], ""),
        Next::Get { .. }
    ));
    assert!(matches!(h.feed(200, &[], running), Next::Get { .. }));
    let e = expect_fail(h.feed(200, &[], running), ErrorKind::TimedOut);
    assert_eq!(e.polls(), 2);
    assert_eq!(e.monitor_url().unwrap(), AAO);
}

#[test]
fn max_duration_refuses_a_wait_that_reaches_it() {
    let options = LroOptions::new().max_duration(Duration::from_secs(10));
    let mut h = start_with("POST", Config::default(), Some(options.clone()));
    let next = h.feed(
        202,
        &[("azure-asyncoperation", AAO), ("retry-after", "9")],
        "",
    );
    assert!(
        matches!(next, Next::Get { .. }),
        "a wait ending before the deadline"
    );
    h.advance(Duration::from_secs(9));
    // A request sent at the deadline would run past it: refused now, with the last response.
    let e = expect_fail(
        h.feed(200, &[("retry-after", "1")], r#"{"status":"Running"}"#),
        ErrorKind::TimedOut,
    );
    assert_eq!(e.elapsed(), Duration::from_secs(9));
    assert_eq!(e.status(), Some(StatusCode::OK));
    assert_eq!(e.body(), br#"{"status":"Running"}"#);
    assert!(e.resume_token().is_some());

    // A hint as long as a Duration can be saturates; no overflow.
    let mut h = start_with("POST", Config::default(), Some(options));
    let e = expect_fail(
        h.feed(
            202,
            &[
                ("azure-asyncoperation", AAO),
                ("retry-after", "18446744073709551615"),
            ],
            "",
        ),
        ErrorKind::TimedOut,
    );
    assert_eq!(e.polls(), 0);
}

#[test]
fn no_hint_or_limit_overflows() {
    // max_interval(Duration::MAX) with a 64-bit hint: the waits saturate, nothing panics.
    let config = Config {
        max_interval: Duration::MAX,
        ..Config::default()
    };
    let mut h = start_with("POST", config, None);
    let huge = u64::MAX.to_string();
    let next = h.feed(
        202,
        &[("azure-asyncoperation", AAO), ("retry-after", &huge)],
        "",
    );
    h.expect_get(next, AAO, Duration::from_secs(u64::MAX));
    let next = h.feed(200, &[("retry-after", &huge)], r#"{"status":"Running"}"#);
    h.expect_get(next, AAO, Duration::from_secs(u64::MAX));
    assert_eq!(h.op.info().total_wait(), Duration::MAX);
    // Twenty digits is no hint at all: the schedule decides.
    let next = h.feed(
        200,
        &[("retry-after", "99999999999999999999")],
        r#"{"status":"Running"}"#,
    );
    h.expect_get(next, AAO, S1);
}

#[test]
fn api_version_option() {
    let config = Config {
        add_api_version: true,
        ..Config::default()
    };
    let mut h = start_with("POST", config, None);
    let next = h.feed(
        202,
        &[("operation-location", "https://management.azure.com/ops/9")],
        "",
    );
    h.expect_get(
        next,
        "https://management.azure.com/ops/9?api-version=2024-01-01",
        S1,
    );
}
