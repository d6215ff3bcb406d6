//! The Google dialects rule by rule, fed as bytes (dialects §2 and §3).

use http::{Response, StatusCode};
use tokio::time::Instant;

use super::super::dispatch::Dialect;
use super::super::{Facts, Reply, Rules, Seen, Verb, Verdict};
use super::{addresses_operation, aip, code_and_message, discovery, retry_delay};
use crate::error::ErrorKind;
use crate::info::MonitorKind;
use crate::info::{DialectSet, LroDialect};
use crate::wire::url::Target;

const SPANNER: &str = "https://spanner.googleapis.com/v1/projects/P/instances?alt=json";
const OP: &str = "projects/P/instances/I/operations/OP";

fn rules() -> Rules {
    Rules {
        dialects: DialectSet::default()
            .with(LroDialect::GoogleAip151, true)
            .with(LroDialect::GoogleDiscovery, true),
        forced: None,
        hosts: Default::default(),
        inspect_cap: 1 << 20,
        body_cap: 1 << 20,
        require_monitor_on_202: false,
        any_404_after_delete: false,
        add_api_version: false,
        final_state_via: None,
        inline_result: false,
        generic_vocabulary: false,
    }
}

fn facts(method: Verb, url: &str) -> Facts {
    Facts::new(method, Target::from_request(&url.parse().unwrap()).unwrap())
}

/// Feeds a first response through dialect choice; returns the dialect and verdict.
fn start(rules: &Rules, facts: &mut Facts, status: u16, body: &str) -> (Option<Dialect>, Verdict) {
    let (head, ()) = Response::builder()
        .status(status)
        .body(())
        .unwrap()
        .into_parts();
    let seen = match Dialect::body_cap(rules, facts, &head) {
        Some(_) => Seen::Whole(body.as_bytes()),
        None => Seen::Unread,
    };
    let reply = Reply {
        head: &head,
        body: seen,
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    };
    Dialect::start(rules, facts, reply)
}

fn read(dialect: Dialect, rules: &Rules, facts: &mut Facts, status: u16, body: &str) -> Verdict {
    let (head, ()) = Response::builder()
        .status(status)
        .body(())
        .unwrap()
        .into_parts();
    let reply = Reply {
        head: &head,
        body: Seen::Whole(body.as_bytes()),
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    };
    dialect.read(rules, facts, reply)
}

fn kind_of(verdict: &Verdict) -> Option<ErrorKind> {
    match verdict {
        Verdict::Fail { kind, .. } => Some(*kind),
        _ => None,
    }
}

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
    assert_eq!(dialect, Some(Dialect::GoogleAip151));
    // Regional hosts are in scope; a request addressing an operation never starts one.
    let regional = "https://run.us-central1.rep.googleapis.com/v2/projects/P/services";
    let (dialect, _) = start(&rules(), &mut facts(Verb::Post, regional), 200, body);
    assert_eq!(dialect, Some(Dialect::GoogleAip151));
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
    assert_eq!(dialect, Some(Dialect::GoogleAip151));
    assert!(matches!(verdict, Verdict::Poll));
    assert_eq!(f.monitor, MonitorKind::GoogleOperation);
    assert_eq!(f.state.google().unwrap().name.as_deref(), Some(OP));
    (rules, f)
}

#[test]
fn aip_terminal_table() {
    let d = Dialect::GoogleAip151;
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
    assert_eq!(dialect, Some(Dialect::GoogleAip151));
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

// ---- §3 discovery operations ----

const COMPUTE: &str =
    "https://compute.googleapis.com/compute/v1/projects/P/regions/us-central1/addresses?alt=json";
const COMPUTE_RUNNING: &str = r#"{"kind":"compute#operation","name":"OP","operationType":"insert","status":"RUNNING","selfLink":"https://www.googleapis.com/compute/v1/projects/P/regions/us-central1/operations/OP","targetLink":"https://www.googleapis.com/compute/v1/projects/P/regions/us-central1/addresses/A"}"#;
const GKE: &str =
    "https://container.googleapis.com/v1/projects/P/locations/us-central1-a/clusters?alt=json";
const GKE_RUNNING: &str = r#"{"name":"OP","operationType":"CREATE_CLUSTER","status":"RUNNING","selfLink":"https://container.googleapis.com/v1/projects/123/zones/us-central1-a/operations/OP","targetLink":"https://container.googleapis.com/v1/projects/123/zones/us-central1-a/clusters/c"}"#;

#[test]
fn discovery_operations_are_recognized_by_kind_or_gke_host() {
    assert!(discovery::recognizes(COMPUTE, COMPUTE_RUNNING.as_bytes()));
    assert!(discovery::recognizes(GKE, GKE_RUNNING.as_bytes()));
    let sql = r#"{"kind":"sql#operation","status":"PENDING","selfLink":"https://sqladmin.googleapis.com/v1/projects/P/operations/OP","name":"OP"}"#;
    assert!(discovery::recognizes(
        "https://sqladmin.googleapis.com/v1/projects/P/instances",
        sql.as_bytes()
    ));
    for (orig, look_alike) in [
        // Cloud Run v1 answers a DELETE with a Kubernetes Status.
        (
            "https://run.googleapis.com/apis/serving.knative.dev/v1/namespaces/P/services/s",
            r#"{"status":"Success","kind":"Status","apiVersion":"v1"}"#,
        ),
        (
            COMPUTE,
            &COMPUTE_RUNNING.replace("compute#operation", "compute#address"),
        ),
        (
            COMPUTE,
            &COMPUTE_RUNNING.replace("https://www.", "http://www."),
        ),
        (
            COMPUTE,
            &COMPUTE_RUNNING.replace("/operations/OP", "/jobs/OP"),
        ),
        (
            COMPUTE,
            r#"{"kind":"compute#operation","name":"OP","selfLink":"https://www.googleapis.com/compute/v1/projects/P/operations/OP"}"#,
        ),
        // The GKE shape on another host.
        (
            "https://other.googleapis.com/v1/projects/P/locations/l/x",
            GKE_RUNNING,
        ),
    ] {
        assert!(
            !discovery::recognizes(orig, look_alike.as_bytes()),
            "{look_alike}"
        );
    }
}

fn started(orig: &str, body: &str, rules: &Rules) -> Facts {
    let mut f = facts(Verb::Post, orig);
    let (dialect, verdict) = start(rules, &mut f, 200, body);
    assert_eq!(dialect, Some(Dialect::GoogleDiscovery));
    assert!(matches!(verdict, Verdict::Poll), "{verdict:?}");
    f
}

#[test]
fn discovery_poll_urls() {
    // Compute: the selfLink's path on the original host, not www.googleapis.com.
    let f = started(COMPUTE, COMPUTE_RUNNING, &rules());
    assert_eq!(
        f.target.uri,
        "https://compute.googleapis.com/compute/v1/projects/P/regions/us-central1/operations/OP"
    );
    assert_eq!(
        f.state.google().unwrap().target_link.as_deref(),
        Some("https://www.googleapis.com/compute/v1/projects/P/regions/us-central1/addresses/A")
    );
    // GKE: by project and location from the original URL, never the selfLink.
    let f = started(GKE, GKE_RUNNING, &rules());
    assert_eq!(
        f.target.uri,
        "https://container.googleapis.com/v1/projects/P/locations/us-central1-a/operations/OP"
    );
    let zonal = "https://container.googleapis.com/v1/projects/P/zones/europe-west1-b/clusters";
    let f = started(zonal, GKE_RUNNING, &rules());
    assert_eq!(
        f.target.uri.path(),
        "/v1/projects/P/locations/europe-west1-b/operations/OP"
    );
    // A selfLink outside the original API's prefix, or off googleapis.com: refused.
    for link in [
        "https://www.googleapis.com/compute/beta/projects/P/operations/OP",
        "https://evil.example/compute/v1/projects/P/operations/OP",
    ] {
        let body = COMPUTE_RUNNING.replace(
            "https://www.googleapis.com/compute/v1/projects/P/regions/us-central1/operations/OP",
            link,
        );
        let (_, verdict) = start(&rules(), &mut facts(Verb::Post, COMPUTE), 200, &body);
        assert_eq!(
            kind_of(&verdict),
            Some(ErrorKind::InvalidPollingUrl),
            "{link}"
        );
    }
    // Compute's `…/wait`, opt-in: a POST.
    let mut r = rules();
    std::sync::Arc::make_mut(&mut r.hosts).google.compute_wait = true;
    let f = started(COMPUTE, COMPUTE_RUNNING, &r);
    assert!(f.state.google().unwrap().poll_post);
    assert!(f.target.uri.path().ends_with("/operations/OP/wait"));
}

#[test]
fn discovery_terminal_table() {
    let d = Dialect::GoogleDiscovery;
    let compute = |rest: &str| COMPUTE_RUNNING.replace(r#""status":"RUNNING""#, rest);
    let r = rules();
    // 1. Not DONE (numbers too): running.
    for status in [
        r#""status":"PENDING""#,
        r#""status":35394935"#,
        r#""status":121282975"#,
    ] {
        let mut f = started(COMPUTE, COMPUTE_RUNNING, &r);
        assert!(matches!(
            read(d, &r, &mut f, 200, &compute(status)),
            Verdict::Poll
        ));
    }
    // 2. Canceled: 499, or GKE rpc code 1.
    let mut f = started(COMPUTE, COMPUTE_RUNNING, &r);
    let verdict = read(
        d,
        &r,
        &mut f,
        200,
        &compute(r#""status":"DONE","httpErrorStatusCode":499"#),
    );
    assert_eq!(kind_of(&verdict), Some(ErrorKind::OperationCanceled));
    let gke = |rest: &str| GKE_RUNNING.replace(r#""status":"RUNNING""#, rest);
    let mut f = started(GKE, GKE_RUNNING, &r);
    let verdict = read(
        d,
        &r,
        &mut f,
        200,
        &gke(r#""status":"DONE","error":{"code":1}"#),
    );
    assert_eq!(kind_of(&verdict), Some(ErrorKind::OperationCanceled));
    // 3. Failed: errors, an HTTP error status, a GKE error code.
    for body in [
        compute(r#""status":"DONE","error":{"errors":[{"code":"QUOTA_EXCEEDED"}]}"#),
        compute(r#""status":2104194,"httpErrorStatusCode":403"#),
    ] {
        let mut f = started(COMPUTE, COMPUTE_RUNNING, &r);
        assert_eq!(
            kind_of(&read(d, &r, &mut f, 200, &body)),
            Some(ErrorKind::OperationFailed)
        );
    }
    let mut f = started(GKE, GKE_RUNNING, &r);
    let verdict = read(d, &r, &mut f, 200, &gke(r#""status":3,"error":{"code":9}"#));
    assert_eq!(kind_of(&verdict), Some(ErrorKind::OperationFailed));
    // GKE's error is a google.rpc.Status, read as AIP-151's: without `code` it is UNKNOWN.
    let no_code = gke(r#""status":"DONE","error":{"message":"node pool failed"}"#);
    let mut f = started(GKE, GKE_RUNNING, &r);
    let verdict = read(d, &r, &mut f, 200, &no_code);
    assert_eq!(kind_of(&verdict), Some(ErrorKind::OperationFailed));
    assert_eq!(
        d.code_and_message(StatusCode::OK, no_code.as_bytes()),
        (Some("UNKNOWN".into()), Some("node pool failed".into()))
    );
    // Compute's error holds `errors[]`: its code is the first one's, never an invented UNKNOWN.
    let compute_failed = compute(
        r#""status":"DONE","error":{"errors":[{"message":"m"}]},"httpErrorStatusCode":400"#,
    );
    let mut f = started(COMPUTE, COMPUTE_RUNNING, &r);
    let verdict = read(d, &r, &mut f, 200, &compute_failed);
    assert_eq!(kind_of(&verdict), Some(ErrorKind::OperationFailed));
    assert_eq!(
        d.code_and_message(StatusCode::OK, compute_failed.as_bytes()),
        (None, Some("m".into()))
    );
    // An empty `{}` error is no error, for GKE and Compute alike.
    for (orig, running, body) in [
        (GKE, GKE_RUNNING, gke(r#""status":"DONE","error":{}"#)),
        (
            COMPUTE,
            COMPUTE_RUNNING,
            compute(r#""status":"DONE","error":{}"#),
        ),
    ] {
        let mut f = started(orig, running, &r);
        let verdict = read(d, &r, &mut f, 200, &body);
        assert!(
            matches!(verdict, Verdict::Result { status: None }),
            "{body}: {verdict:?}"
        );
        assert_eq!(d.code_and_message(StatusCode::OK, body.as_bytes()).0, None);
    }
    // 4. Done otherwise (warnings are no failure): the DONE body is the result.
    let mut f = started(COMPUTE, COMPUTE_RUNNING, &r);
    let body = compute(r#""status":"DONE","warnings":[{"code":"X"}],"progress":100"#);
    assert!(matches!(
        read(d, &r, &mut f, 200, &body),
        Verdict::Result { status: None }
    ));
    // Opt-in: GET the targetLink, re-rooted, except after a DELETE.
    let mut r2 = rules();
    std::sync::Arc::make_mut(&mut r2.hosts).google.fetch_target = true;
    let mut f = started(COMPUTE, COMPUTE_RUNNING, &r2);
    match read(d, &r2, &mut f, 200, &compute(r#""status":"DONE""#)) {
        Verdict::Fetch(target) => assert_eq!(
            target.uri,
            "https://compute.googleapis.com/compute/v1/projects/P/regions/us-central1/addresses/A"
        ),
        other => panic!("{other:?}"),
    }
}
