//! tracing output: a span per operation, an event per poll, URLs redacted, no header values.
//!
//! Alone in its own test binary: tracing caches callsite interest process-wide, and a test on
//! another thread reaching the same callsites without a subscriber could race the cache.

use std::sync::{Arc, Mutex};

use http::Request;
use tower::{Layer, ServiceExt};
use tower_lro::{LroLayer, LroOptions};
use tower_test::mock;

mod scripted;
use scripted::{answer, response, ARM};

/// Collects what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Polls and the final GET run inside the operation's span: a layer below sees it as current.
#[tokio::test(start_paused = true)]
async fn polls_run_inside_the_operation_span() {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::sink)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // (path, name of the span current when the request reached the service below)
    type Seen = Vec<(String, Option<&'static str>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (mock, mut handle) = mock::pair::<Request<String>, http::Response<String>>();
    let record = seen.clone();
    let below = tower::ServiceBuilder::new()
        .map_request(move |req: Request<String>| {
            let span = tracing::Span::current();
            let name = span.metadata().map(|m| m.name());
            record
                .lock()
                .unwrap()
                .push((req.uri().path().to_owned(), name));
            req
        })
        .service(mock);
    let req = Request::put(format!("{ARM}/things/t1"))
        .body(String::new())
        .unwrap();
    let call = tokio::spawn(LroLayer::new().layer(below).oneshot(req));
    let op = format!("{ARM}/ops/1");
    answer(
        &mut handle,
        &format!("{ARM}/things/t1"),
        response(201, &[("azure-asyncoperation", &op)], "{}"),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded"}"#),
    )
    .await;
    answer(
        &mut handle,
        &format!("{ARM}/things/t1"),
        response(200, &[], "{}"),
    )
    .await;
    call.await.unwrap().unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("/things/t1".to_owned(), None),
            ("/ops/1".to_owned(), Some("lro")),
            ("/things/t1".to_owned(), Some("lro")),
        ],
        "the original request runs in the caller's span; the poll and the final GET in the operation's"
    );
}

/// DEBUG output of this thread's subscriber, captured while the guard lives.
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test(start_paused = true)]
async fn tracing_records_polls_without_secrets() {
    let (captured, _guard) = capture();

    let (mock, mut handle) = mock::pair();
    let mut req = Request::post(format!("{ARM}/act?api-version=2024-01-01&sig=topsecret"))
        .header("authorization", "Bearer hush-hush")
        .body(String::new())
        .unwrap();
    req.extensions_mut().insert(LroOptions::new());
    let call = tokio::spawn(LroLayer::new().layer(mock).oneshot(req));
    let op = format!("{ARM}/ops/1?api-version=2024-01-01&token=alsosecret");
    answer(
        &mut handle,
        &format!("{ARM}/act?api-version=2024-01-01&sig=topsecret"),
        response(202, &[("azure-asyncoperation", &op)], ""),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Running"}"#),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded"}"#),
    )
    .await;
    call.await.unwrap().unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("lro poll scheduled").count(), 2, "{text}");
    assert!(text.contains("lro resolved"), "{text}");
    assert!(
        text.contains("delay_ms=1000")
            && text.contains("attempt=2")
            && text.contains("word=\"Running\""),
        "{text}"
    );
    assert!(
        text.contains("api-version=2024-01-01") && text.contains("token=REDACTED"),
        "{text}"
    );
    for secret in ["topsecret", "alsosecret", "hush-hush", "Bearer"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_final_get_is_named_as_such() {
    let (captured, _guard) = capture();

    let (mock, mut handle) = mock::pair();
    let url = format!("{ARM}/things/t1?api-version=2024-01-01");
    let req = Request::put(url.as_str()).body(String::new()).unwrap();
    let call = tokio::spawn(LroLayer::new().layer(mock).oneshot(req));
    let op = format!("{ARM}/ops/1?api-version=2024-01-01");
    answer(
        &mut handle,
        &url,
        response(201, &[("azure-asyncoperation", &op)], "{}"),
    )
    .await;
    answer(
        &mut handle,
        &op,
        response(200, &[], r#"{"status":"Succeeded"}"#),
    )
    .await;
    answer(&mut handle, &url, response(200, &[], r#"{"id":"t1"}"#)).await;
    call.await.unwrap().unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("lro poll scheduled").count(), 1, "{text}");
    assert_eq!(text.matches("lro final get scheduled").count(), 1, "{text}");
}
