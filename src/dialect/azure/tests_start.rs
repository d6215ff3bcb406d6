//! Azure's §1 rules, row by row, fed into the machine: which responses start an operation.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use tokio::time::Instant;

use crate::config::Config;
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::operation::tests::*;
use crate::operation::Operation;
use crate::options::LroOptions;

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
    // POST 201 with no headers, POST 200 with a running PS: not LROs (behaviour §1, row 9).
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
