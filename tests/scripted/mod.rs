//! Shared by the tower-test suites (tower, watch, trace): a scripted in-memory ARM whose
//! responses the test hands out one request at a time.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use http::{Request, Response};
use tower_test::mock;

pub type Mock = mock::Mock<Request<String>, Response<String>>;
pub type Handle = mock::Handle<Request<String>, Response<String>>;

pub const ARM: &str = "https://management.azure.com";

/// A response with `status`, `headers` and `body`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response<String> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.to_owned()).unwrap()
}

/// Waits for the next request, checks its URL, answers it with `reply`, and returns it.
pub async fn answer(handle: &mut Handle, url: &str, reply: Response<String>) -> Request<String> {
    let (req, send) = handle.next_request().await.expect("a request");
    assert_eq!(req.uri().to_string(), url);
    send.send_response(reply);
    req
}
