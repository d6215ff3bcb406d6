//! Google AIP-151 rules, table by table (the behaviour page's Google section).

use http::StatusCode;

use super::super::dispatch::Dialect;
use super::super::{Facts, Rules, Verb, Verdict};
use super::tests::*;
use super::{addresses_operation, aip, code_and_message, discovery, retry_delay};
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::info::{DialectSet, LroDialect};

// ---- §2a recognition ----

#[test]
fn aip_operations_are_recognized_by_their_exact_shape() {
    for body in [
        r#"{"name":"projects/P/instances/I/operations/OP"}"#,
        r#"{"name":"projects/P/operations/OP","metadata":{"@type":"t"},"done":false}"#,
        r#"{"name":"operations/OP","done":true,"response":{"@type":"t","x":1}}"#,
        r#"{"name":"p/operations/OP","done":true,"error":{"code":5,"message":"gone"}}"#,
        r#"{"name":"projects/P/databases/(default)/operations/OP","response":{}}"#,
        // ProtoJSON omits a zero code; an empty error is no error, beside a response too.
        r#"{"name":"p/operations/OP","done":true,"error":{"message":"no code"}}"#,
        r#"{"name":"p/operations/OP","done":true,"error":{},"response":{"@type":"t"}}"#,
    ] {
        assert!(aip::recognizes(body.as_bytes()), "{body}");
    }
    for look_alike in [
        r#"{"name":"projects/P/instances/I","state":"READY"}"#,
        r#"{"name":"x","done":true}"#,
        r#"{"name":"projects/P/operations/"}"#,
        r#"{"name":"projects/P/operations"}"#,
        r#"{"name":"/projects/P/operations/OP"}"#,
        r#"{"name":"projects/P/operations/OP?x=1"}"#,
        r#"{"name":"https://evil.example/operations/OP"}"#,
        r#"{"name":"projects/../operations/OP"}"#,
        r#"{"name":"p/operations/OP","done":"true"}"#,
        r#"{"name":"p/operations/OP","metadata":[1]}"#,
        r#"{"name":"p/operations/OP","done":true,"error":{"code":"5"}}"#,
        r#"{"name":"p/operations/OP","done":true,"error":{"code":2.5}}"#,
        r#"{"name":"p/operations/OP","done":true,"error":"failed"}"#,
        r#"{"name":"p/operations/OP","done":true,"error":[{"code":2}]}"#,
        r#"{"name":"p/operations/OP","error":{"code":2},"response":{}}"#,
        r#"{"name":"p/operations/OP","error":{"message":"m"},"response":{}}"#,
        r#"{"name":"p/operations/OP","kind":"compute#operation"}"#,
        r#"{"name":"p/operations/OP","name":"p/operations/OTHER"}"#,
        r#"{"name":7}"#,
        r#"["p/operations/OP"]"#,
        r#"{"status":"Success","kind":"Status","apiVersion":"v1"}"#,
    ] {
        assert!(!aip::recognizes(look_alike.as_bytes()), "{look_alike}");
    }
}

#[test]
fn google_dialects_are_off_by_default_and_scoped_to_google_hosts() {
    let body = r#"{"name":"projects/P/instances/I/operations/OP"}"#;
    let mut off = rules();
    off.dialects = DialectSet::default();
    let (dialect, verdict) = start(&off, &mut facts(Verb::Post, SPANNER), 200, body);
    assert!(dialect.is_none() && matches!(verdict, Verdict::PassThrough));
    // Databricks' and World Labs' operations: the same shape on other hosts.
    for other in [
        "https://dbc-1.cloud.databricks.com/api/2.0/postgres/v1/x",
        "https://api.worldlabs.ai/marble/v1/worlds",
        "https://googleapis.com.evil.example/v1/x",
    ] {
        let (dialect, _) = start(&rules(), &mut facts(Verb::Post, other), 200, body);
        assert!(dialect.is_none(), "{other}");
    }
    // Forced per request: any host.
    let mut forced = rules();
    forced.forced = Some(LroDialect::GoogleAip151);
    let other = "https://dbc-1.cloud.databricks.com/api/2.0/postgres/v1/x";
    let (dialect, _) = start(&forced, &mut facts(Verb::Post, other), 200, body);
    assert_eq!(dialect, Dialect::of(LroDialect::GoogleAip151));
    // Regional hosts are in scope; a request addressing an operation never starts one.
    let regional = "https://run.us-central1.rep.googleapis.com/v2/projects/P/services";
    let (dialect, _) = start(&rules(), &mut facts(Verb::Post, regional), 200, body);
    assert_eq!(dialect, Dialect::of(LroDialect::GoogleAip151));
    let wait = "https://spanner.googleapis.com/v1/projects/P/instances/I/operations/OP:wait";
    assert!(addresses_operation(&wait.parse().unwrap()));
    let (dialect, _) = start(&rules(), &mut facts(Verb::Post, wait), 200, body);
    assert!(dialect.is_none());
    // Not a 200: Azure's rules.
    let (dialect, _) = start(&rules(), &mut facts(Verb::Post, SPANNER), 202, body);
    assert!(dialect.is_none());
}

// ---- §2b the poll URL ----

#[test]
fn aip_polls_the_name_under_the_original_version_prefix() {
    assert_eq!(
        aip::poll_url_for(SPANNER, OP).as_deref(),
        Some("https://spanner.googleapis.com/v1/projects/P/instances/I/operations/OP?alt=json")
    );
    for (orig, expected) in [
        (
            "https://x.googleapis.com/v1beta1/projects/P/things?$alt=json;enum-encoding=int&key=K&updateMask=a&fields=b&validateOnly=true",
            "https://x.googleapis.com/v1beta1/projects/P/operations/O?$alt=json;enum-encoding=int&key=K",
        ),
        (
            "https://compute.googleapis.com/compute/v1/projects/P/x",
            "https://compute.googleapis.com/compute/v1/projects/P/operations/O",
        ),
        (
            "https://x.googleapis.com/v1p1beta1/projects/P/x",
            "https://x.googleapis.com/v1p1beta1/projects/P/operations/O",
        ),
    ] {
        assert_eq!(
            aip::poll_url_for(orig, "projects/P/operations/O").as_deref(),
            Some(expected)
        );
    }
    assert_eq!(
        aip::poll_url_for(SPANNER, "projects/P/databases/a b/operations/O").as_deref(),
        Some("https://spanner.googleapis.com/v1/projects/P/databases/a%20b/operations/O?alt=json")
    );
    assert!(aip::poll_url_for("https://x.googleapis.com/projects/P/x", OP).is_none());
    let body = r#"{"name":"projects/P/operations/OP"}"#;
    let no_version = "https://x.googleapis.com/projects/P/things";
    let (_, verdict) = start(&rules(), &mut facts(Verb::Post, no_version), 200, body);
    assert_eq!(kind_of(&verdict), Some(ErrorKind::InvalidPollingUrl));
}

// ---- §2c terminal rules, §2d result ----

fn started_aip() -> (Rules, Facts) {
    let rules = rules();
    let mut f = facts(Verb::Post, SPANNER);
    let (dialect, verdict) = start(&rules, &mut f, 200, &format!(r#"{{"name":"{OP}"}}"#));
    assert_eq!(dialect, Dialect::of(LroDialect::GoogleAip151));
    assert!(matches!(verdict, Verdict::Poll));
    assert_eq!(f.monitor, MonitorKind::GoogleOperation);
    assert_eq!(f.state.google().unwrap().name.as_deref(), Some(OP));
    (rules, f)
}

#[test]
fn aip_terminal_table() {
    let d = Dialect::of(LroDialect::GoogleAip151).unwrap();
    let op = |rest: &str| format!(r#"{{"name":"{OP}"{rest}}}"#);
    // 1. Not the shape, or another name.
    let (r, mut f) = started_aip();
    let verdict = read(d, &r, &mut f, 200, r#"{"name":"projects/P/instances/I"}"#);
    assert_eq!(kind_of(&verdict), Some(ErrorKind::InvalidStatusBody));
    let verdict = read(
        d,
        &r,
        &mut f,
        200,
        r#"{"name":"projects/P/operations/OTHER","done":false}"#,
    );
    assert_eq!(kind_of(&verdict), Some(ErrorKind::InvalidStatusBody));
    // 2. Running: done false (an error beside it ignored), or absent with neither.
    for body in [
        op(r#","done":false"#),
        op(r#","done":false,"error":{"code":2}"#),
        op(""),
    ] {
        assert!(
            matches!(read(d, &r, &mut f, 200, &body), Verdict::Poll),
            "{body}"
        );
    }
    // 3. Canceled: rpc code 1, done true or absent beside the error.
    for body in [
        op(r#","done":true,"error":{"code":1}"#),
        op(r#","error":{"code":1}"#),
    ] {
        let verdict = read(d, &r, &mut f, 200, &body);
        assert_eq!(
            kind_of(&verdict),
            Some(ErrorKind::OperationCanceled),
            "{body}"
        );
    }
    // 4. Failed.
    let verdict = read(
        d,
        &r,
        &mut f,
        200,
        &op(r#","done":true,"error":{"code":7}"#),
    );
    assert_eq!(kind_of(&verdict), Some(ErrorKind::OperationFailed));
    // 4, added rows: an error without `code` (ProtoJSON omits a zero) is rpc code 2, UNKNOWN.
    for body in [
        op(r#","done":true,"error":{"message":"quota"}"#),
        op(r#","error":{"message":"quota","details":[]}"#),
        op(r#","done":true,"error":{"code":null,"message":"quota"}"#),
    ] {
        match read(d, &r, &mut f, 200, &body) {
            Verdict::Fail { kind, detail } => {
                assert_eq!(kind, ErrorKind::OperationFailed, "{body}");
                assert_eq!(detail.as_deref(), Some("rpc code 2"), "{body}");
            }
            other => panic!("{body}: {other:?}"),
        }
        assert_eq!(
            d.code_and_message(StatusCode::OK, body.as_bytes())
                .0
                .as_deref(),
            Some("UNKNOWN"),
            "{body}"
        );
    }
    // An empty `{}` error counts as absent: running without `done`, else by `response`.
    assert!(matches!(
        read(d, &r, &mut f, 200, &op(r#","error":{}"#)),
        Verdict::Poll
    ));
    for (body, missing) in [
        (op(r#","done":true,"error":{}"#), true),
        (op(r#","error":{},"response":{"@type":"t.I"}"#), false),
    ] {
        let (r, mut f) = started_aip();
        let verdict = read(d, &r, &mut f, 200, &body);
        assert!(
            matches!(verdict, Verdict::Result { .. }),
            "{body}: {verdict:?}"
        );
        assert_eq!(f.state.google().unwrap().result_missing, missing, "{body}");
        assert_eq!(d.code_and_message(StatusCode::OK, body.as_bytes()).0, None);
    }
    // 5. Success with a response, done true or absent (Firestore).
    for body in [
        op(r#","done":true,"response":{"@type":"type.googleapis.com/x.Instance","state":"READY"}"#),
        op(r#","response":{"@type":"type.googleapis.com/x.Instance"}"#),
    ] {
        let (r, mut f) = started_aip();
        let verdict = read(d, &r, &mut f, 200, &body);
        assert!(
            matches!(verdict, Verdict::Result { status: None }),
            "{body}"
        );
        assert_eq!(
            f.state.google().unwrap().response_type.as_deref(),
            Some("type.googleapis.com/x.Instance")
        );
        assert!(!f.state.google().unwrap().result_missing);
    }
    // 6. Done with neither: success, the result missing.
    let (r, mut f) = started_aip();
    let verdict = read(
        d,
        &r,
        &mut f,
        200,
        &op(r#","done":true,"metadata":{"@type":"m.T"}"#),
    );
    assert!(matches!(verdict, Verdict::Result { .. }));
    assert!(f.state.google().unwrap().result_missing);
    assert_eq!(
        f.state.google().unwrap().metadata_type.as_deref(),
        Some("m.T")
    );
    // A non-2xx poll.
    let (r, mut f) = started_aip();
    let verdict = read(
        d,
        &r,
        &mut f,
        404,
        r#"{"error":{"code":404,"status":"NOT_FOUND"}}"#,
    );
    assert_eq!(kind_of(&verdict), Some(ErrorKind::PollFailed));
}

#[test]
fn aip_done_on_the_first_response_needs_no_poll() {
    let body = format!(r#"{{"name":"{OP}","done":true,"response":{{"@type":"t.I"}}}}"#);
    let (dialect, verdict) = start(&rules(), &mut facts(Verb::Post, SPANNER), 200, &body);
    assert_eq!(dialect, Dialect::of(LroDialect::GoogleAip151));
    assert!(matches!(verdict, Verdict::Result { status: None }));
}

#[test]
fn aip_unwrap_response_hands_over_the_response_without_its_type() {
    let mut r = rules();
    std::sync::Arc::make_mut(&mut r.hosts)
        .google
        .unwrap_response = true;
    let mut f = facts(Verb::Post, SPANNER);
    let body =
        format!(r#"{{"name":"{OP}","done":true,"response":{{"@type":"t.I","state":"READY"}}}}"#);
    let (_, verdict) = start(&r, &mut f, 200, &body);
    match verdict {
        Verdict::Json(json) => assert_eq!(&json[..], br#"{"state":"READY"}"#),
        other => panic!("{other:?}"),
    }
    let empty = format!(
        r#"{{"name":"{OP}","done":true,"response":{{"@type":"type.googleapis.com/google.protobuf.Empty"}}}}"#
    );
    let (_, verdict) = start(&r, &mut facts(Verb::Delete, SPANNER), 200, &empty);
    assert!(matches!(verdict, Verdict::NoContent));
}

// ---- §2e errors and hints ----

#[test]
fn google_error_codes_and_retry_delays() {
    let ok = StatusCode::OK;
    let done = br#"{"name":"p/operations/O","done":true,"error":{"code":1,"message":"CANCELLED by user"}}"#;
    assert_eq!(
        code_and_message(ok, done),
        (Some("CANCELLED".into()), Some("CANCELLED by user".into()))
    );
    let http = br#"{"error":{"code":404,"message":"not here","status":"NOT_FOUND"}}"#;
    assert_eq!(
        code_and_message(StatusCode::NOT_FOUND, http),
        (Some("NOT_FOUND".into()), Some("not here".into()))
    );
    let compute = br#"{"status":"DONE","error":{"errors":[{"code":"QUOTA_EXCEEDED","message":"Quota 'CPUS' exceeded"}]},"httpErrorStatusCode":403}"#;
    assert_eq!(
        code_and_message(ok, compute),
        (
            Some("QUOTA_EXCEEDED".into()),
            Some("Quota 'CPUS' exceeded".into())
        )
    );
    let busy = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"53s"}]}}"#;
    assert_eq!(retry_delay(busy), Some(std::time::Duration::from_secs(53)));
    let half = br#"{"error":{"details":[{"retryDelay":"1.5s"}]}}"#;
    assert_eq!(
        retry_delay(half),
        Some(std::time::Duration::from_millis(1500))
    );
    for bad in [
        &br#"{"error":{"details":[{"retryDelay":"soon"}]}}"#[..],
        b"{}",
        b"x",
        br#"{"error":{"details":[{"retryDelay":"0s"}]}}"#,
    ] {
        assert_eq!(retry_delay(bad), None);
    }
}

#[test]
fn discovery_http_error_status_is_an_http_error_status_or_none() {
    let body = |value: &str| format!(r#"{{"status":"DONE","httpErrorStatusCode":{value}}}"#);
    for (value, want) in [
        ("403", Some(403)),
        ("400", Some(400)),
        ("499", Some(499)),
        ("599", Some(599)),
        ("399", None),
        ("200", None),
        ("600", None),
        ("0", None),
        ("-403", None),
        ("70403", None),
        ("4294967699", None),
        ("403.5", None),
        (r#""403""#, None),
        ("null", None),
    ] {
        let got = discovery::http_error_status(body(value).as_bytes()).map(|s| s.as_u16());
        assert_eq!(got, want, "{value}");
    }
    assert_eq!(discovery::http_error_status(br#"{"status":"DONE"}"#), None);
    assert_eq!(discovery::http_error_status(b"not json"), None);
}
