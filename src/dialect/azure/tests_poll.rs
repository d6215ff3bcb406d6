//! Azure's §3a–§4 rules fed into the machine: status monitors, Location and provisioningState
//! polls, and the final result.

use std::time::Duration;

use http::{Response, StatusCode};

use crate::config::Config;
use crate::dialect::FinalStateVia;
use crate::error_kind::ErrorKind;
use crate::operation::tests::*;
use crate::operation::Next;
use crate::options::LroOptions;

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
