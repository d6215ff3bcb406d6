//! Google discovery operations (Compute, GKE, Cloud SQL), table by table.

use http::StatusCode;

use super::super::dispatch::Dialect;
use super::super::{Facts, Rules, Verb, Verdict};
use super::discovery;
use super::tests::*;
use crate::error_kind::ErrorKind;
use crate::info::LroDialect;

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
    assert_eq!(dialect, Dialect::of(LroDialect::GoogleDiscovery));
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
    let d = Dialect::of(LroDialect::GoogleDiscovery).unwrap();
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
