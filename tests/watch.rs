//! Watching and resuming operations: progress hooks, tracing output, resume tokens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};
use tower_lro::{
    ErrorKind, LroError, LroLayer, LroOptions, MonitorKind, OnProgress, Progress, ResumeToken,
};
use tower_test::mock;

mod scripted;
use scripted::{answer, response, Handle, ARM};

fn put(path: &str) -> Request<String> {
    Request::put(format!("{ARM}{path}"))
        .body("{}".to_owned())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn progress_reaches_the_request_hook_and_the_layer_hook() {
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let layer_count = Arc::new(Mutex::new(0u32));
    let counter = layer_count.clone();
    let layer = LroLayer::builder()
        .on_progress(OnProgress::new(move |_| *counter.lock().unwrap() += 1))
        .build()
        .unwrap();
    let (mock, mut handle) = mock::pair();
    let sink = seen.clone();
    let mut req = put("/vm");
    req.extensions_mut()
        .insert(LroOptions::new().on_progress(OnProgress::new(move |p| {
            sink.lock().unwrap().push(p.clone())
        })));
    let call = tokio::spawn(layer.layer(mock).oneshot(req));
    let op = format!("{ARM}/ops/1");
    answer(
        &mut handle,
        &format!("{ARM}/vm"),
        response(
            201,
            &[("azure-asyncoperation", &op), ("retry-after", "4")],
            "",
        ),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"InProgress","percentComplete":30}"#),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded","percentComplete":100}"#),
    )
    .await;
    answer(
        &mut handle,
        &format!("{ARM}/vm"),
        response(200, &[], r#"{"name":"vm"}"#),
    )
    .await;
    assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);

    let seen = seen.lock().unwrap();
    let summary: Vec<_> = seen
        .iter()
        .map(|p| {
            (
                p.status().map(str::to_owned),
                p.percent_complete(),
                p.polls(),
                p.next_wait(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (None, None, 1, Duration::from_secs(4)),
            (
                Some("InProgress".to_owned()),
                Some(30.0),
                2,
                Duration::from_secs(1)
            ),
            (Some("Succeeded".to_owned()), Some(100.0), 2, Duration::ZERO),
        ]
    );
    assert_eq!(seen[0].monitor_kind(), MonitorKind::AzureAsyncOperation);
    assert_eq!(seen[0].monitor_url().to_string(), op);
    assert!(seen[2].resume_token().is_final_get());
    assert_eq!(*layer_count.lock().unwrap(), 3);
}

/// Plays one operation: 202 + Location, two 202s, then the account.
async fn storage_server(handle: &mut Handle, first: bool) {
    let loc = format!("{ARM}/operationResults/sa1");
    let accepted = || response(202, &[("location", &loc), ("retry-after", "10")], "");
    if first {
        answer(handle, &format!("{ARM}/sa1"), accepted()).await;
        answer(handle, &loc, accepted()).await;
    }
    answer(handle, &loc, accepted()).await;
    answer(
        handle,
        &loc,
        response(
            200,
            &[],
            r#"{"name":"sa1","properties":{"provisioningState":"Succeeded"}}"#,
        ),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn resume_after_drop_gives_the_same_response() {
    // The uninterrupted run.
    let (mock, mut handle) = mock::pair();
    let call = tokio::spawn(LroLayer::new().layer(mock).oneshot(put("/sa1")));
    storage_server(&mut handle, true).await;
    let whole = call.await.unwrap().unwrap();
    let (whole_status, whole_body) = (
        whole.status(),
        whole.into_body().collect().await.unwrap().to_bytes(),
    );

    // Interrupted after the first poll: the token from the progress report survives.
    let token: Arc<Mutex<Option<String>>> = Arc::default();
    let keep = token.clone();
    let (mock, mut handle) = mock::pair::<Request<String>, Response<String>>();
    let mut req = put("/sa1");
    let hook = OnProgress::new(move |p| *keep.lock().unwrap() = Some(p.resume_token().to_string()));
    req.extensions_mut()
        .insert(LroOptions::new().on_progress(hook));
    let call = tokio::spawn(LroLayer::new().layer(mock).oneshot(req));
    let loc = format!("{ARM}/operationResults/sa1");
    answer(
        &mut handle,
        &format!("{ARM}/sa1"),
        response(202, &[("location", &loc), ("retry-after", "10")], ""),
    )
    .await;
    answer(
        &mut handle,
        &loc,
        response(202, &[("location", &loc), ("retry-after", "10")], ""),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    call.abort();
    let _ = call.await;
    assert!(
        handle.next_request().await.is_none(),
        "nothing more after the drop"
    );

    // A restart: a fresh service, the token as text.
    let token: ResumeToken = token.lock().unwrap().clone().unwrap().parse().unwrap();
    assert_eq!(
        (token.monitor(), token.url()),
        (MonitorKind::Location, loc.as_str())
    );
    let (mock, mut handle) = mock::pair();
    let service = LroLayer::new().layer(mock);
    let call = tokio::spawn(service.resume::<String, String>(&token, &arm()).unwrap());
    storage_server(&mut handle, false).await;
    let resumed = call.await.unwrap().unwrap();
    assert_eq!(resumed.status(), whole_status);
    assert_eq!(
        resumed.into_body().collect().await.unwrap().to_bytes(),
        whole_body
    );
}

#[tokio::test(start_paused = true)]
async fn resume_after_timed_out() {
    let layer = LroLayer::builder().max_polls(1).build().unwrap();
    let (mock, mut handle) = mock::pair();
    let call = tokio::spawn(
        layer.layer(mock).oneshot(
            Request::post(format!("{ARM}/act"))
                .body(String::new())
                .unwrap(),
        ),
    );
    let op = format!("{ARM}/ops/9");
    answer(
        &mut handle,
        &format!("{ARM}/act"),
        response(202, &[("operation-location", &op)], ""),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Running"}"#),
    )
    .await;
    let err = call.await.unwrap().unwrap_err();
    let lro = err.downcast_ref::<LroError>().unwrap();
    assert_eq!(lro.kind(), ErrorKind::TimedOut);
    let token = lro.resume_token().unwrap().clone();

    let (mock, mut handle) = mock::pair();
    let call = tokio::spawn(
        LroLayer::new()
            .layer(mock)
            .resume::<String, String>(&token, &arm())
            .unwrap(),
    );
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded","result":7}"#),
    )
    .await;
    let done = call.await.unwrap().unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        done.into_body().collect().await.unwrap().to_bytes(),
        r#"{"status":"Succeeded","result":7}"#
    );
}

#[test]
fn tampered_tokens_are_refused_before_sending() {
    let (mock, _handle) = mock::pair::<Request<String>, Response<String>>();
    let service = LroLayer::new().layer(mock);
    let text = r#"{"version":1,"method":"PUT","original_uri":"https://management.azure.com/x","monitor":"location",
                   "url":"https://evil.example/steal","location":null,"final_get":false,"polls":0}"#;
    let token: ResumeToken = text.parse().unwrap();
    let err = service
        .resume::<String, String>(&token, &arm())
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::CrossOriginPollingUrl);
    let bad_method = text
        .replace("\"PUT\"", "\"GET\"")
        .replace("evil.example", "management.azure.com");
    let token: ResumeToken = bad_method.parse().unwrap();
    assert_eq!(
        service
            .resume::<String, String>(&token, &arm())
            .err()
            .unwrap()
            .kind(),
        ErrorKind::InvalidResumeToken
    );
    assert!("{}".parse::<ResumeToken>().is_err());
}

/// The origin the tests expect their operations on.
fn arm() -> http::Uri {
    http::Uri::from_static(ARM)
}
