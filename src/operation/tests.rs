//! The contract, rule by rule, fed straight into the state machine: no runtime, no I/O.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use super::{Next, Operation, Reply, Seen};
use crate::config::Config;
use crate::error::ErrorKind;
use crate::info::{LroPoll, MonitorKind};
use crate::options::{FinalStateVia, LroOptions};
use crate::wire::url::AllowedOrigin;

pub(super) const ORIG: &str = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/P/things/t1?api-version=2024-01-01";
pub(super) const AAO: &str = "https://management.azure.com/subscriptions/s/providers/P/locations/l/operations/op1?api-version=2024-01-01";
pub(super) const LOC: &str = "https://management.azure.com/subscriptions/s/providers/P/locations/l/operationResults/op1?api-version=2024-01-01";

pub(super) struct Harness {
    pub(super) op: Operation,
    pub(super) now: Instant,
    pub(super) wall: SystemTime,
}

pub(super) fn start(method: &str) -> Harness {
    start_with(method, Config::default(), None)
}

pub(super) fn start_with(method: &str, config: Config, options: Option<LroOptions>) -> Harness {
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
    pub(super) fn feed(&mut self, status: u16, headers: &[(&str, &str)], body: &str) -> Next {
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
    pub(super) fn poll_ok(
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

    pub(super) fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Asserts a GET of `url` after `delay`, and that it carries the right headers.
    pub(super) fn expect_get(&self, next: Next, url: &str, delay: Duration) {
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

pub(super) fn expect_return(next: Next, status: Option<StatusCode>) {
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

pub(super) fn expect_fail(next: Next, kind: ErrorKind) -> crate::LroError {
    match next {
        Next::Fail(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            e
        }
        other => panic!("expected {kind:?}, got {other:?}"),
    }
}

pub(super) fn expect_pass(next: Next) {
    assert!(
        matches!(next, Next::PassThrough),
        "expected PassThrough, got {next:?}"
    );
}

pub(super) const S1: Duration = Duration::from_secs(1);

// ---- §1: which responses start an LRO ----

#[test]
fn only_write_methods_with_absolute_uris_are_candidates() {
    let config = Arc::new(Config::default());
    for method in ["GET", "HEAD", "OPTIONS"] {
        let req = Request::builder()
            .method(method)
            .uri(ORIG)
            .body(())
            .unwrap();
        assert!(Operation::start(&req, &config, Instant::now()).is_none());
    }
    let relative = Request::builder()
        .method("PUT")
        .uri("/things/t1")
        .body(())
        .unwrap();
    assert!(Operation::start(&relative, &config, Instant::now()).is_none());
    let mut opted_out = Request::builder().method("PUT").uri(ORIG).body(()).unwrap();
    opted_out
        .extensions_mut()
        .insert(LroOptions::new().opt_out());
    assert!(Operation::start(&opted_out, &config, Instant::now()).is_none());
}

#[test]
fn row1_other_statuses_pass_through_unread() {
    for status in [204, 203, 400, 404, 409, 500] {
        let mut h = start("PUT");
        let next = h.feed(
            status,
            &[("azure-asyncoperation", AAO)],
            r#"{"status":"InProgress"}"#,
        );
        expect_pass(next);
    }
    let h = start("PUT");
    let (head, ()) = Response::builder()
        .status(204)
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(h.op.body_cap(&head), None);
}

#[test]
fn row2_terminal_status_on_the_initial_response_resolves_without_polling() {
    // PUT: Succeeded → final GET of orig; 202 or 201 alike.
    for status in [201, 202] {
        let mut h = start("PUT");
        let next = h.feed(
            status,
            &[("operation-location", AAO)],
            r#"{"status":"succeeded"}"#,
        );
        h.expect_get(next, ORIG, Duration::ZERO);
    }
    // Failed / Canceled are errors with the service's code.
    let mut h = start("PATCH");
    let body = r#"{"status":"Failed","error":{"code":"Boom","message":"went wrong"}}"#;
    let e = expect_fail(
        h.feed(202, &[("azure-asyncoperation", AAO)], body),
        ErrorKind::OperationFailed,
    );
    assert_eq!((e.code(), e.message()), (Some("Boom"), Some("went wrong")));
    let mut h = start("PUT");
    let next = h.feed(
        200,
        &[("azure-asyncoperation", AAO)],
        r#"{"status":"Cancelled"}"#,
    );
    expect_fail(next, ErrorKind::OperationCanceled);
}

#[test]
fn post_and_delete_with_a_status_monitor_are_decided_on_the_head() {
    // §3: their body is never read, so a stream reaches the caller at once; the monitor decides.
    for method in ["POST", "DELETE"] {
        for status in [200, 201, 202] {
            let mut h = start(method);
            let (head, ()) = Response::builder()
                .status(status)
                .header("azure-asyncoperation", AAO)
                .body(())
                .unwrap()
                .into_parts();
            assert_eq!(h.op.body_cap(&head), None, "{method} {status}");
            let next = h.feed(
                status,
                &[("azure-asyncoperation", AAO)],
                r#"{"status":"Succeeded"}"#,
            );
            h.expect_get(next, AAO, S1);
        }
    }
}

#[test]
fn row3_put_patch_with_terminal_ps_are_done_even_with_headers() {
    let mut h = start("PUT");
    let body = r#"{"properties":{"provisioningState":"Succeeded"}}"#;
    let next = h.feed(
        201,
        &[("azure-asyncoperation", AAO), ("location", LOC)],
        body,
    );
    expect_return(next, None);
    let mut h = start("PATCH");
    let body = r#"{"properties":{"provisioningState":"Failed"},"error":{"code":"Bad"}}"#;
    let e = expect_fail(h.feed(200, &[], body), ErrorKind::OperationFailed);
    assert_eq!(e.code(), Some("Bad"));
    let mut h = start("PUT");
    let next = h.feed(200, &[], r#"{"provisioningState":"Canceled"}"#);
    expect_fail(next, ErrorKind::OperationCanceled);
}

#[test]
fn row4_plain_200_is_synchronous_success() {
    for method in ["PUT", "PATCH", "POST", "DELETE"] {
        let mut h = start(method);
        expect_pass(h.feed(200, &[], r#"{"name":"x"}"#));
    }
    let mut h = start("PUT");
    expect_pass(h.feed(200, &[], ""));
    let mut h = start("PUT");
    expect_pass(h.feed(200, &[], "<html>not json</html>"));
}

#[test]
fn row5_a_200_naming_a_status_monitor_is_polled() {
    // As every Azure SDK does (operationalinsights-delete200-aao-1), unless rows 2-3 resolve it.
    for method in ["PUT", "PATCH", "POST", "DELETE"] {
        let mut h = start(method);
        let next = h.feed(200, &[("azure-asyncoperation", AAO)], r#"{"name":"x"}"#);
        h.expect_get(next, AAO, S1);
    }
    let mut h = start("PUT");
    let next = h.feed(200, &[("operation-location", AAO)], "");
    h.expect_get(next, AAO, S1);
}

#[test]
fn row5_status_monitor_aao_before_ol_and_malformed_skipped() {
    let mut h = start("PUT");
    let ol = "https://management.azure.com/ol/1";
    let next = h.feed(
        201,
        &[("operation-location", ol), ("azure-asyncoperation", AAO)],
        "",
    );
    h.expect_get(next, AAO, S1);
    assert_eq!(h.op.facts.monitor, MonitorKind::AzureAsyncOperation);

    let mut h = start("POST");
    let next = h.feed(
        202,
        &[
            ("azure-asyncoperation", "ftp://nope"),
            ("operation-location", ol),
        ],
        "",
    );
    h.expect_get(next, ol, S1);
    assert_eq!(h.op.facts.monitor, MonitorKind::OperationLocation);

    let mut h = start("POST");
    let next = h.feed(
        202,
        &[
            ("azure-asyncoperation", "http://[broken"),
            ("location", LOC),
        ],
        "",
    );
    expect_fail(next, ErrorKind::InvalidPollingUrl);

    // 200 with a running PS or ST polls too.
    let mut h = start("PUT");
    let next = h.feed(
        200,
        &[("azure-asyncoperation", AAO)],
        r#"{"properties":{"provisioningState":"Updating"}}"#,
    );
    h.expect_get(next, AAO, S1);
    let mut h = start("POST");
    let next = h.feed(
        200,
        &[("azure-asyncoperation", AAO)],
        r#"{"status":"Running"}"#,
    );
    h.expect_get(next, AAO, S1);
}

#[test]
fn row5_relative_monitor_urls_resolve_against_orig() {
    let mut h = start("POST");
    let next = h.feed(202, &[("operation-location", "/ops/7?x=1")], "");
    h.expect_get(next, "https://management.azure.com/ops/7?x=1", S1);
}

#[test]
fn row6_location_only() {
    let mut h = start("DELETE");
    let next = h.feed(202, &[("location", LOC), ("retry-after", "17")], "");
    h.expect_get(next, LOC, Duration::from_secs(17));
    assert_eq!(h.op.facts.monitor, MonitorKind::Location);
    // A 201 without PS polls its Location; with a running PS too.
    let mut h = start("PUT");
    h.poll_ok(201, &[("location", LOC)], "", LOC, S1);
    let mut h = start("PUT");
    let next = h.feed(
        200,
        &[("location", LOC)],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    h.expect_get(next, LOC, S1);
    // Unusable Location where it is the monitor.
    let mut h = start("POST");
    expect_fail(
        h.feed(202, &[("location", "gopher://x")], ""),
        ErrorKind::InvalidPollingUrl,
    );
}

#[test]
fn row7_put_patch_without_headers_poll_orig() {
    let mut h = start("PUT");
    let next = h.feed(
        201,
        &[],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    h.expect_get(next, ORIG, S1);
    assert_eq!(h.op.facts.monitor, MonitorKind::ProvisioningState);
    let mut h = start("PATCH");
    h.poll_ok(202, &[], r#"{"provisioningState":"Updating"}"#, ORIG, S1);
    let mut h = start("PUT");
    h.poll_ok(200, &[], r#"{"provisioningState":"Accepted"}"#, ORIG, S1);
}

#[test]
fn row8_a_202_without_monitor_or_running_state_is_final_whatever_the_method() {
    // Azure Storage / ADLS data-plane writes answer 202 when they are done.
    for method in ["PUT", "PATCH", "POST", "DELETE"] {
        for body in ["", "{}", r#"{"provisioningState":"Succeeded"}"#, "not json"] {
            let mut h = start(method);
            expect_pass(h.feed(202, &[], body));
        }
    }
    // POST / DELETE: decided on the head, never buffered, strict or not.
    let strict = Config {
        require_monitor_on_202: true,
        ..Config::default()
    };
    let mut h = start_with("POST", strict.clone(), None);
    let (head, ()) = Response::builder()
        .status(202)
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(h.op.body_cap(&head), None);
    expect_fail(
        h.feed(202, &[], "data: event\n\n"),
        ErrorKind::MissingPollingUrl,
    );
    let mut h = start_with("PUT", strict, None);
    let e = expect_fail(
        h.feed(202, &[("x-ms-request-id", "r1")], "{}"),
        ErrorKind::MissingPollingUrl,
    );
    assert_eq!(e.status(), Some(StatusCode::ACCEPTED));
    assert_eq!(e.headers()["x-ms-request-id"], "r1");
}

#[test]
fn row8_post_delete_202_without_headers() {
    let mut h = start("POST");
    expect_pass(h.feed(202, &[], ""));
    let config = Config {
        require_monitor_on_202: true,
        ..Config::default()
    };
    let mut h = start_with("DELETE", config, None);
    expect_fail(h.feed(202, &[], "accepted"), ErrorKind::MissingPollingUrl);
}

#[test]
fn row9_everything_else_passes() {
    // POST 201 with no headers, POST 200 with a running PS: not LROs by the contract.
    let mut h = start("POST");
    expect_pass(h.feed(201, &[], r#"{"provisioningState":"Creating"}"#));
    let mut h = start("POST");
    expect_pass(h.feed(200, &[], r#"{"provisioningState":"Creating"}"#));
}

#[test]
fn inspection_cap_leaves_large_bodies_uninspected() {
    let config = Config {
        inspect_cap: 16,
        ..Config::default()
    };
    let mut h = start_with("PUT", config, None);
    let body = r#"{"properties":{"provisioningState":"Failed"}}"#;
    // Too large to inspect: treated as no PS, a 200 passes through.
    expect_pass(h.feed(200, &[], body));
}

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
fn status_monitor_bodies() {
    let cases: &[(u16, &str, ErrorKind)] = &[
        (200, "not json", ErrorKind::InvalidStatusBody),
        (200, "{\"status\":", ErrorKind::InvalidStatusBody),
        (
            200,
            "{\"status\":\"Succeeded\u{fffd}\"",
            ErrorKind::InvalidStatusBody,
        ),
        (200, "", ErrorKind::MissingStatus),
        (200, "[1,2]", ErrorKind::MissingStatus),
        (200, r#"{"status":42}"#, ErrorKind::MissingStatus),
        (
            200,
            r#"{"properties":{"provisioningState":"Succeeded"}}"#,
            ErrorKind::MissingStatus,
        ),
        (204, "", ErrorKind::MissingStatus),
        (
            400,
            r#"{"error":{"code":"BadRequest","message":"no"}}"#,
            ErrorKind::PollFailed,
        ),
        (404, "", ErrorKind::PollFailed),
    ];
    for (status, body, kind) in cases {
        let mut h = start("POST");
        h.feed(202, &[("azure-asyncoperation", AAO)], "");
        let e = expect_fail(h.feed(*status, &[], body), *kind);
        assert_eq!(e.status().map(|s| s.as_u16()), Some(*status));
        assert_eq!(e.polls(), 1);
        assert_eq!(e.body(), body.as_bytes());
    }
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    let e = expect_fail(
        h.feed(
            400,
            &[],
            r#"{"error":{"code":"BadRequest","message":"no"}}"#,
        ),
        ErrorKind::PollFailed,
    );
    assert_eq!((e.code(), e.message()), (Some("BadRequest"), Some("no")));
}

#[test]
fn monitor_body_cap() {
    let config = Config {
        body_cap: 32,
        inspect_cap: 8,
        ..Config::default()
    };
    let mut h = start_with("POST", config, None);
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    let fits = r#"{"status":"InProgress"}   "#;
    assert_eq!(fits.len(), 26);
    h.poll_ok(200, &[], fits, AAO, Duration::from_secs(2));
    let big = format!(r#"{{"status":"InProgress","pad":"{}"}}"#, "x".repeat(40));
    expect_fail(h.feed(200, &[], &big), ErrorKind::BodyTooLarge);
}

#[test]
fn error_code_none_on_running_polls_is_not_a_failure() {
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    let body = r#"{"status":"InProgress","error":{"code":"None","message":null}}"#;
    h.poll_ok(200, &[], body, AAO, Duration::from_secs(2));
}

#[test]
fn status_monitor_refreshes_urls_and_location() {
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO), ("location", LOC)], "");
    let moved = "https://management.azure.com/ops/moved";
    let loc2 = "https://management.azure.com/results/2";
    let next = h.feed(
        200,
        &[("azure-asyncoperation", moved), ("location", loc2)],
        r#"{"status":"Running"}"#,
    );
    h.expect_get(next, moved, Duration::from_secs(2));
    // POST with a known Location: the final GET goes to the latest one.
    let next = h.feed(200, &[], r#"{"status":"Succeeded"}"#);
    h.expect_get(next, loc2, Duration::ZERO);
    let next = h.feed(200, &[], r#"{"result":1}"#);
    expect_return(next, None);
    let info = h.op.info();
    assert_eq!(info.final_url().unwrap(), loc2);
    assert_eq!(
        info.monitor_url(),
        moved,
        "the monitor, not the result's URL"
    );
    assert_eq!(info.status(), Some("Succeeded"));
}

#[test]
fn percent_complete_is_tracked() {
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    h.feed(200, &[], r#"{"status":"InProgress","percentComplete":40}"#);
    assert_eq!(h.op.info().percent_complete(), Some(40.0));
    assert_eq!(h.op.info().status(), Some("InProgress"));
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

// ---- §3b: Location ----

#[test]
fn location_202_then_resource() {
    let mut h = start("PUT");
    h.feed(202, &[("location", LOC), ("retry-after", "17")], "");
    let loc2 = "https://management.azure.com/operationResults/op1b";
    let next = h.feed(202, &[("location", loc2), ("retry-after", "17")], "");
    h.expect_get(next, loc2, Duration::from_secs(17));
    expect_return(h.feed(200, &[], r#"{"name":"sa1"}"#), None);
    // Any other 2xx keeps its own status.
    let mut h = start("POST");
    h.feed(202, &[("location", LOC)], "");
    expect_return(h.feed(201, &[], ""), None);
    let mut h = start("POST");
    h.feed(202, &[("location", LOC)], "");
    expect_return(h.feed(204, &[], ""), None);
}

#[test]
fn location_body_states_decide() {
    let mut h = start("PUT");
    h.feed(202, &[("location", LOC)], "");
    let next = h.feed(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Deleting"}}"#,
    );
    h.expect_get(next, LOC, Duration::from_secs(2));
    let next = h.feed(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Failed"},"error":{"code":"E"}}"#,
    );
    assert_eq!(
        expect_fail(next, ErrorKind::OperationFailed).code(),
        Some("E")
    );
    // Key Vault certificates: top-level status words.
    let mut h = start("POST");
    h.feed(202, &[("location", LOC)], "");
    h.poll_ok(
        200,
        &[],
        r#"{"status":"inProgress"}"#,
        LOC,
        Duration::from_secs(2),
    );
    expect_return(h.feed(200, &[], r#"{"status":"completed"}"#), None);
    // Other status values are resource properties.
    let mut h = start("POST");
    h.feed(202, &[("location", LOC)], "");
    expect_return(h.feed(200, &[], r#"{"status":"ready"}"#), None);
}

#[test]
fn location_errors_are_the_operations_failure() {
    let mut h = start("DELETE");
    h.feed(202, &[("location", LOC)], "");
    let body = r#"{"Error":{"Code":"ResourceGroupDeletionBlocked","Message":"blocked"}}"#;
    let e = expect_fail(h.feed(409, &[], body), ErrorKind::OperationFailed);
    assert_eq!(e.code(), Some("ResourceGroupDeletionBlocked"));
    assert_eq!(e.status(), Some(StatusCode::CONFLICT));
}

#[test]
fn delete_404_on_the_resource_path_means_gone() {
    let mut h = start("DELETE");
    let own = "https://management.azure.com/Subscriptions/S/resourceGroups/RG/providers/P/things/t1?kv-operation=1";
    h.feed(202, &[("location", own)], "");
    assert!(
        matches!(h.feed(404, &[], ""), Next::Respond(r) if r.status == Some(StatusCode::NO_CONTENT))
    );
    assert!(h.op.info().gone_on_404());
    // A 404 elsewhere is a failure, unless opted in.
    let mut h = start("DELETE");
    h.feed(202, &[("location", LOC)], "");
    expect_fail(h.feed(404, &[], ""), ErrorKind::OperationFailed);
    let config = Config {
        any_404_after_delete: true,
        ..Config::default()
    };
    let mut h = start_with("DELETE", config, None);
    h.feed(202, &[("location", LOC)], "");
    assert!(
        matches!(h.feed(404, &[], ""), Next::Respond(r) if r.status == Some(StatusCode::NO_CONTENT))
    );
    // Not for other methods.
    let mut h = start("POST");
    h.feed(202, &[("location", ORIG)], "");
    expect_fail(h.feed(404, &[], ""), ErrorKind::OperationFailed);
}

// ---- §3c: provisioningState of orig ----

#[test]
fn resource_polling() {
    let mut h = start("PUT");
    h.feed(
        201,
        &[],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    h.poll_ok(202, &[], "", ORIG, Duration::from_secs(2));
    let next = h.feed(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Updating"}}"#,
    );
    h.expect_get(next, ORIG, Duration::from_secs(4));
    expect_return(
        h.feed(
            200,
            &[],
            r#"{"properties":{"provisioningState":"Succeeded"}}"#,
        ),
        None,
    );

    let running = r#"{"provisioningState":"Accepted"}"#;
    let mut h = start("PUT");
    h.feed(202, &[], running);
    expect_return(h.feed(200, &[], ""), None);
    let mut h = start("PUT");
    h.feed(202, &[], running);
    expect_return(h.feed(204, &[], ""), None);
    let mut h = start("PUT");
    h.feed(202, &[], running);
    expect_fail(
        h.feed(200, &[], r#"{"provisioningState":"canceled"}"#),
        ErrorKind::OperationCanceled,
    );
    let mut h = start("PUT");
    h.feed(202, &[], running);
    expect_fail(h.feed(404, &[], ""), ErrorKind::PollFailed);
}

// ---- §4: the final result ----

fn succeed(
    method: &str,
    via: Option<FinalStateVia>,
    initial: &[(&str, &str)],
    body: &str,
) -> (Harness, Next) {
    let mut h = start_with(
        method,
        Config::default(),
        via.map(|v| LroOptions::new().final_state_via(v)),
    );
    h.feed(202, initial, "");
    let next = h.feed(200, &[], body);
    (h, next)
}

#[test]
fn final_url_rules() {
    let aao_loc = [("azure-asyncoperation", AAO), ("location", LOC)];
    let done = r#"{"status":"Succeeded"}"#;
    // 1. final-state-via.
    let (h, next) = succeed("PUT", Some(FinalStateVia::Location), &aao_loc, done);
    h.expect_get(next, LOC, Duration::ZERO);
    let (h, next) = succeed("POST", Some(FinalStateVia::OriginalUri), &aao_loc, done);
    h.expect_get(next, ORIG, Duration::ZERO);
    let (_, next) = succeed(
        "POST",
        Some(FinalStateVia::AzureAsyncOperation),
        &aao_loc,
        done,
    );
    expect_return(next, None);
    let (h, next) = succeed(
        "PUT",
        Some(FinalStateVia::OperationLocation),
        &aao_loc,
        done,
    );
    h.expect_get(next, ORIG, Duration::ZERO);
    let (h, next) = succeed(
        "PUT",
        Some(FinalStateVia::Location),
        &[("azure-asyncoperation", AAO)],
        done,
    );
    h.expect_get(next, ORIG, Duration::ZERO);
    // 2. DELETE: none.
    let (_, next) = succeed("DELETE", None, &aao_loc, done);
    expect_return(next, None);
    // 3. resourceLocation.
    let res = r#"{"status":"Succeeded","resourceLocation":"https://management.azure.com/made/1"}"#;
    let (h, next) = succeed("POST", None, &aao_loc, res);
    h.expect_get(next, "https://management.azure.com/made/1", Duration::ZERO);
    let res = r#"{"status":"Succeeded","resourceLocation":"https://elsewhere.example/made/1"}"#;
    let (_, next) = succeed("PUT", None, &aao_loc, res);
    expect_fail(next, ErrorKind::CrossOriginPollingUrl);
    // 4. PUT/PATCH: orig. 5. POST: Location. 6. POST without: the monitor response.
    let (h, next) = succeed("PATCH", None, &aao_loc, done);
    h.expect_get(next, ORIG, Duration::ZERO);
    let (h, next) = succeed("POST", None, &aao_loc, done);
    h.expect_get(next, LOC, Duration::ZERO);
    let (_, next) = succeed("POST", None, &[("azure-asyncoperation", AAO)], done);
    expect_return(next, None);
}

#[test]
fn an_unusable_location_fails_only_when_it_is_needed() {
    let bad = [
        ("azure-asyncoperation", AAO),
        ("location", "somethingBad://"),
    ];
    let (h, next) = succeed("PUT", None, &bad, r#"{"status":"Succeeded"}"#);
    h.expect_get(next, ORIG, Duration::ZERO);
    let (_, next) = succeed("POST", None, &bad, r#"{"status":"Succeeded"}"#);
    expect_fail(next, ErrorKind::InvalidPollingUrl);
}

#[test]
fn terminal_202_monitor_response_becomes_200() {
    let mut h = start("POST");
    h.feed(202, &[("azure-asyncoperation", AAO)], "");
    expect_return(
        h.feed(202, &[], r#"{"status":"Succeeded"}"#),
        Some(StatusCode::OK),
    );
}

#[test]
fn final_get_answers() {
    let (mut h, _) = succeed(
        "PUT",
        None,
        &[("azure-asyncoperation", AAO)],
        r#"{"status":"Succeeded"}"#,
    );
    let (head, ()) = Response::builder()
        .status(200)
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(h.op.body_cap(&head), None, "a final 2xx streams unread");
    h.poll_ok(503, &[], "", ORIG, Duration::from_secs(2));
    expect_return(h.feed(200, &[], r#"{"name":"t1"}"#), None);
    let info = h.op.info();
    assert_eq!(
        (info.polls(), info.transient_retries()),
        (1, 1),
        "a final GET retry is not a poll"
    );
    assert_eq!(info.monitor_url(), AAO);

    let (mut h, _) = succeed(
        "PUT",
        None,
        &[("azure-asyncoperation", AAO)],
        r#"{"status":"Succeeded"}"#,
    );
    let e = expect_fail(
        h.feed(404, &[], r#"{"error":{"code":"NotFound"}}"#),
        ErrorKind::FinalGetFailed,
    );
    assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
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
