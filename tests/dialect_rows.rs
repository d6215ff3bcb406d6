//! The ending rules of the Graph, Fabric, OData and Google discovery dialects (behaviour page,
//! "Dialects") that the example exchanges do not reach, one scripted server per row, under
//! paused time.

mod attack;

use attack::*;
use http::{Request, StatusCode};
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{ErrorKind, LroDialect, LroError, LroInfo, LroLayer};

const GRAPH: &str = "https://graph.microsoft.com/v1.0/me/drive/items/X/copy";
const MONITOR: &str = "https://graph.microsoft.com/v1.0/monitor/X";

fn request(method: &str, url: &str, prefer: Option<&str>) -> Request<String> {
    let mut builder = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", "Bearer SECRET");
    if let Some(prefer) = prefer {
        builder = builder.header("prefer", prefer);
    }
    builder.body(String::new()).unwrap()
}

/// The first answer, then `answers` for the polls, through a default layer.
async fn resolve(
    req: Request<String>,
    first: fn() -> Answer,
    answers: &'static [(u16, &'static str, &'static str)],
) -> (
    Result<http::Response<tower_lro::LroBody<TestBody>>, BoxError>,
    Log,
) {
    let (svc, log) = server(move |n, _| match n {
        0 => first(),
        n => {
            let (status, header, text) = answers[(n - 1).min(answers.len() - 1)];
            let headers: Vec<(&str, &str)> = header
                .split_once(": ")
                .map(|(k, v)| vec![(k, v)])
                .unwrap_or_default();
            respond(status, &headers, body(&[text.as_bytes()]))
        }
    });
    let layer = LroLayer::builder().max_polls(5).build().unwrap();
    (layer.layer(svc).oneshot(req).await, log)
}

/// The result record of a resolved response.
fn info<B>(response: &http::Response<B>) -> &LroInfo {
    response.extensions().get::<LroInfo>().expect("LroInfo")
}

fn kind<T>(result: Result<T, BoxError>) -> ErrorKind {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.downcast_ref::<LroError>().expect("an LroError").kind(),
    }
}

/// The kind and service code of an LRO error.
fn kind_and_code<T>(result: Result<T, BoxError>) -> (ErrorKind, Option<String>) {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            let e = e.downcast_ref::<LroError>().expect("an LroError");
            (e.kind(), e.code().map(str::to_owned))
        }
    }
}

fn graph_202() -> Answer {
    respond(202, &[("location", MONITOR)], body(&[]))
}

#[tokio::test(start_paused = true)]
async fn graph_rows() {
    // Row 2: deleteFailed is a failure too.
    let (result, _) = resolve(
        request("POST", GRAPH, None),
        graph_202,
        &[(200, "", r#"{"status":"deleteFailed"}"#)],
    )
    .await;
    assert_eq!(kind(result), ErrorKind::OperationFailed);
    // Row 2b: cancelled or canceled, on a 2xx or a 303, is a cancellation.
    for answers in [
        &[(200, "", r#"{"status":"cancelled"}"#)][..],
        &[(
            303,
            "location: /v1.0/me/drive/items/Y",
            r#"{"status":"canceled"}"#,
        )][..],
    ] {
        let (result, log) = resolve(request("POST", GRAPH, None), graph_202, answers).await;
        assert_eq!(kind(result), ErrorKind::OperationCanceled);
        assert_eq!(log.lock().unwrap().len(), 2);
    }
    // Row 3: any other word is running (here until max_polls).
    let (result, log) = resolve(
        request("POST", GRAPH, None),
        graph_202,
        &[(200, "", r#"{"status":"waiting"}"#)],
    )
    .await;
    assert_eq!(kind(result), ErrorKind::TimedOut);
    assert_eq!(log.lock().unwrap().len(), 6);
    // A percentage of the wrong type is absent, not a broken monitor.
    let (result, _) = resolve(
        request("POST", GRAPH, None),
        graph_202,
        &[(
            202,
            "",
            r#"{"status":"completed","percentageComplete":"most"}"#,
        )],
    )
    .await;
    let response = result.unwrap();
    assert_eq!(info(&response).percent_complete(), None);
    // Row 5: a 2xx without a string status.
    let (result, _) = resolve(
        request("POST", GRAPH, None),
        graph_202,
        &[(200, "", r#"{"status":7}"#)],
    )
    .await;
    assert_eq!(kind(result), ErrorKind::MissingStatus);
    // Row 6: another status, after transient retries.
    let (result, _) = resolve(
        request("POST", GRAPH, None),
        graph_202,
        &[(404, "", r#"{"error":{"code":"operationNotFound"}}"#)],
    )
    .await;
    assert_eq!(kind(result), ErrorKind::PollFailed);
    let (result, log) = resolve(request("POST", GRAPH, None), graph_202, &[(500, "", "{}")]).await;
    assert_eq!(kind(result), ErrorKind::PollFailed);
    assert_eq!(
        log.lock().unwrap().len(),
        5,
        "the first poll and three retries"
    );
    // §1.2: a request that addresses an operation is not a Graph start.
    let cancel = "https://graph.microsoft.com/v1.0/storage/operations/123:cancel";
    let (result, _) = resolve(
        request("POST", cancel, None),
        graph_202,
        &[(200, "", r#"{"status":"completed"}"#)],
    )
    .await;
    let response = result.unwrap();
    assert_eq!(info(&response).dialect(), LroDialect::Azure);
}

const FABRIC: &str = "https://api.fabric.microsoft.com/v1/workspaces/W/notebooks";

fn fabric_202() -> Answer {
    respond(
        202,
        &[("x-ms-operation-id", "0acd697c-1550-43cd-b998-91bfbfbd47c6")],
        body(&[]),
    )
}

#[tokio::test(start_paused = true)]
async fn fabric_rows() {
    // Canceled, in both spellings: outside the documented enum, as fabric-cli handles them.
    const CANCELLED: &[(u16, &str, &str)] = &[(200, "", r#"{"status":"Cancelled"}"#)];
    const CANCELED: &[(u16, &str, &str)] = &[(200, "", r#"{"status":"Canceled"}"#)];
    for answers in [CANCELLED, CANCELED] {
        let (result, _) = resolve(request("POST", FABRIC, None), fabric_202, answers).await;
        assert_eq!(kind(result), ErrorKind::OperationCanceled);
    }
    // Unknown words are running; `Completed` is success.
    let (result, log) = resolve(
        request("POST", FABRIC, None),
        fabric_202,
        &[
            (200, "", r#"{"status":"NotStarted"}"#),
            (200, "", r#"{"status":"Deduplicating"}"#),
            (200, "", r#"{"status":"Completed"}"#),
        ],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::OK);
    assert_eq!(log.lock().unwrap().len(), 4);
    // `Undefined` is a failure with the code `Undefined` (it used to poll until a limit).
    let (result, log) = resolve(
        request("POST", FABRIC, None),
        fabric_202,
        &[(200, "", r#"{"status":"Undefined"}"#)],
    )
    .await;
    assert_eq!(
        kind_and_code(result),
        (ErrorKind::OperationFailed, Some("Undefined".into()))
    );
    assert_eq!(log.lock().unwrap().len(), 2);
    // A percentage of the wrong type is absent.
    let (result, _) = resolve(
        request("POST", FABRIC, None),
        fabric_202,
        &[(200, "", r#"{"status":"Succeeded","percentComplete":"x"}"#)],
    )
    .await;
    let response = result.unwrap();
    assert_eq!(info(&response).percent_complete(), None);
    // A non-2xx poll.
    let (result, _) = resolve(
        request("POST", FABRIC, None),
        fabric_202,
        &[(404, "", "{}")],
    )
    .await;
    assert_eq!(kind(result), ErrorKind::PollFailed);
}

const ODATA: &str = "https://services.example/service/Customers";

fn odata_202() -> Answer {
    respond(202, &[("location", "/service/$async/1")], body(&[]))
}

/// A Dataverse background operation's first answer.
fn dataverse_202() -> Answer {
    respond(
        202,
        &[
            ("location", "/api/backgroundoperation/110eaa68"),
            ("x-ms-dyn-backgroundoperationid", "110eaa68"),
        ],
        body(&[]),
    )
}

#[tokio::test(start_paused = true)]
async fn odata_rows() {
    // Row 5: a 4.0 service's 200 with neither AsyncResult nor application/http.
    let (result, _) = resolve(
        request("POST", ODATA, Some("respond-async")),
        odata_202,
        &[(200, "", r#"{"ID":1}"#)],
    )
    .await;
    let response = result.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(info(&response).dialect(), LroDialect::OData);
    // Row 6: the 4.02 draft's 204.
    let (result, _) = resolve(
        request("DELETE", ODATA, Some("respond-async")),
        odata_202,
        &[(204, "", "")],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::NO_CONTENT);
    // Row 8: transient answers are retried like every poll's.
    let (result, log) = resolve(
        request("POST", ODATA, Some("respond-async")),
        odata_202,
        &[(503, "", ""), (200, "asyncresult: 204", "")],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(log.lock().unwrap().len(), 3);
    // Row 2: a Dataverse failure's code and message are `backgroundOperationError…`.
    let (result, _) = resolve(
        request("POST", ODATA, Some("respond-async")),
        dataverse_202,
        &[(
            200,
            "",
            r#"{"backgroundOperationStateCode":3,"backgroundOperationStatusCode":31,"backgroundOperationErrorCode":-2147220891,"backgroundOperationErrorMessage":"Plugin failed"}"#,
        )],
    )
    .await;
    assert_eq!(
        kind_and_code(result),
        (ErrorKind::OperationFailed, Some("-2147220891".into()))
    );
    // An unusable AsyncResult.
    let (result, _) = resolve(
        request("POST", ODATA, Some("respond-async")),
        odata_202,
        &[(200, "asyncresult: soon", "")],
    )
    .await;
    assert_eq!(kind(result), ErrorKind::InvalidStatusBody);
}

const COMPUTE: &str =
    "https://compute.googleapis.com/compute/v1/projects/P/regions/us-central1/addresses";

/// A finished Compute operation with `httpErrorStatusCode` `status`.
fn compute_done(status: &str) -> String {
    format!(
        r#"{{"kind":"compute#operation","name":"OP","status":"DONE","selfLink":"https://www.googleapis.com/compute/v1/projects/P/regions/us-central1/operations/OP","httpErrorStatusCode":{status}}}"#
    )
}

#[tokio::test(start_paused = true)]
async fn compute_failures_name_their_http_status() {
    // Behaviour page, "Google discovery operations": the failure's status is
    // `httpErrorStatusCode`, apart from the `200` that carried it; only 400 to 599 is one.
    for (value, kind, want) in [
        (
            "403",
            ErrorKind::OperationFailed,
            Some(StatusCode::FORBIDDEN),
        ),
        (
            "499",
            ErrorKind::OperationCanceled,
            Some(StatusCode::from_u16(499).unwrap()),
        ),
        ("700", ErrorKind::OperationFailed, None),
    ] {
        let first = compute_done(value);
        let (svc, _log) = server(move |_, _| respond(200, &[], body(&[first.as_bytes()])));
        let layer = LroLayer::builder()
            .enable(LroDialect::GoogleDiscovery)
            .build()
            .unwrap();
        let result = layer
            .layer(svc)
            .oneshot(request("POST", COMPUTE, None))
            .await;
        let Err(error) = result else {
            panic!("{value}: expected an error")
        };
        let error = error.downcast_ref::<LroError>().expect("an LroError");
        assert_eq!(error.kind(), kind, "{value}");
        assert_eq!(error.status(), Some(StatusCode::OK), "{value}");
        assert_eq!(error.service_status(), want, "{value}");
    }
    // Other dialects' failures name none: their status is the response's own.
    let (result, _) = resolve(
        request("POST", FABRIC, None),
        fabric_202,
        &[(200, "", r#"{"status":"Failed","httpErrorStatusCode":403}"#)],
    )
    .await;
    let Err(error) = result else {
        panic!("expected an error")
    };
    let error = error.downcast_ref::<LroError>().expect("an LroError");
    assert_eq!(error.service_status(), None);
}
