//! OData asynchronous requests (behaviour §8.6): the caller asked `Prefer: respond-async`, the
//! service answered `202` + `Location`; the monitor answers `202` until the result, whose own
//! status is in `AsyncResult` or in an embedded `application/http` message.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::builtin::Builtin;
use super::{Facts, Reply, Rules, Verdict};
use crate::error_kind::ErrorKind;
use crate::info::LroDialect;
use crate::info::MonitorKind;
use crate::wire::url::Target;

pub(crate) const ASYNC_RESULT: HeaderName = HeaderName::from_static("asyncresult");
const DATAVERSE_ID: &str = "x-ms-dyn-backgroundoperationid";

/// Whether a request's `Prefer` asks for `respond-async`.
pub(crate) fn asks_async(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| {
            p.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("respond-async"))
        })
}

/// OData: whether the monitor is a Dataverse background operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ODataState {
    pub(crate) dataverse: bool,
}

/// Whether the first response starts an OData operation (§6a).
pub(crate) fn applies(facts: &Facts, head: &http::response::Parts) -> bool {
    facts.asks_async && head.status == StatusCode::ACCEPTED && head.headers.contains_key(LOCATION)
}

/// Polls ask for the `AsyncResult` form and never repeat the preference (§6b).
pub(crate) fn edit_poll_headers(headers: &mut HeaderMap) {
    headers.remove(HeaderName::from_static("prefer"));
    let kept: Vec<String> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.to_ascii_lowercase().starts_with("application/http") && !t.is_empty())
        .map(str::to_owned)
        .collect();
    let accept = if kept.is_empty() {
        "application/json".to_owned()
    } else {
        kept.join(", ")
    };
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(ACCEPT, value);
    }
}

/// The first response: poll its monitor.
pub(crate) fn start(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let headers = &reply.head.headers;
    let dataverse = headers.contains_key(DATAVERSE_ID);
    facts.state.odata_mut().dataverse = dataverse;
    facts.matched_by = if dataverse {
        "Prefer: respond-async, 202 + Location (Dataverse background operation)"
    } else {
        "Prefer: respond-async, 202 + Location"
    };
    let orig = facts.orig.uri.clone();
    let Some(target) = Target::first_in(&orig, headers, LOCATION) else {
        return Verdict::fail_because(ErrorKind::InvalidPollingUrl, "unusable Location");
    };
    facts.watch(MonitorKind::ODataMonitor, target, rules);
    Verdict::Poll
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Background {
    background_operation_state_code: Option<i64>,
    background_operation_status_code: Option<i64>,
}

/// A monitor answer (§6c).
pub(crate) fn read(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let head = reply.head;
    match head.status.as_u16() {
        202 => {
            if let Some(target) = Target::first_in(&facts.target.uri, &head.headers, LOCATION) {
                facts.watch(MonitorKind::ODataMonitor, target, rules);
            }
            return Verdict::Poll;
        }
        204 => return Verdict::Result { status: None },
        200 => {}
        _ => return Verdict::fail(ErrorKind::PollFailed),
    }
    if let Some(value) = head.headers.get(ASYNC_RESULT) {
        let Some(status) = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u16>().ok())
            .and_then(|n| StatusCode::from_u16(n).ok())
        else {
            return Verdict::fail_because(ErrorKind::InvalidStatusBody, "an unusable AsyncResult");
        };
        // A result of any size streams back; an error keeps what was read of it.
        let bytes = Bytes::copy_from_slice(reply.body.bytes());
        return outcome(status, head.headers.clone(), bytes, true);
    }
    let is_http = head
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/http")
        });
    let dataverse = facts.state.odata().dataverse;
    if !is_http && !dataverse {
        // A 4.0 service that sends neither: the monitor's 200 is the result, whatever its
        // size (a success is never turned into `BodyTooLarge`).
        return Verdict::Result { status: None };
    }
    let Some(bytes) = reply.body.within_cap() else {
        return Verdict::too_large(rules);
    };
    if dataverse {
        return self::dataverse(facts, bytes);
    }
    if is_http {
        return match parse_http(bytes) {
            Some((status, headers, body)) => outcome(status, headers, body, false),
            None => Verdict::fail_because(
                ErrorKind::InvalidStatusBody,
                "the application/http body is not an HTTP/1.1 response",
            ),
        };
    }
    // A 4.0 service that sends neither: the monitor's 200 is the result.
    Verdict::Result { status: None }
}

/// The operation's own status decides; its response is the caller's (§6d).
fn outcome(status: StatusCode, mut headers: HeaderMap, body: Bytes, own: bool) -> Verdict {
    if status.is_success() {
        if own {
            // The monitor's response carries the result: only its status changes.
            return Verdict::Result {
                status: Some(status),
            };
        }
        headers.remove(ASYNC_RESULT);
        return Verdict::Synthesized {
            status,
            headers,
            body,
        };
    }
    headers.remove(ASYNC_RESULT);
    Verdict::FailWith {
        kind: ErrorKind::OperationFailed,
        status,
        headers,
        body,
    }
}

/// Dataverse answers 200 with state and status codes (§6c row 2).
fn dataverse(facts: &mut Facts, bytes: &[u8]) -> Verdict {
    let Ok(state) = serde_json::from_slice::<Background>(bytes) else {
        return Verdict::fail(ErrorKind::InvalidStatusBody);
    };
    let word = match (
        state.background_operation_state_code,
        state.background_operation_status_code,
    ) {
        (Some(3), Some(30)) => return Verdict::Result { status: None },
        (Some(3), Some(31)) => return Verdict::fail(ErrorKind::OperationFailed),
        (Some(3), Some(32)) => return Verdict::fail(ErrorKind::OperationCanceled),
        (Some(0), _) => "Ready",
        (Some(2), _) => "Locked",
        _ => "Running",
    };
    facts.note(Some(word), &Default::default());
    Verdict::Poll
}

/// One HTTP/1.1 response message: status line, headers, an empty line, the body.
fn parse_http(bytes: &[u8]) -> Option<(StatusCode, HeaderMap, Bytes)> {
    let (head, body) = split_head(bytes)?;
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    let mut headers = HeaderMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        let value = HeaderValue::from_str(value.trim()).ok()?;
        headers.append(name, value);
    }
    Some((status, headers, Bytes::copy_from_slice(body)))
}

/// The message's head and body, split at the first empty line (CRLF or LF).
fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    let (at, len) = match (crlf, lf) {
        (Some(c), Some(l)) if l < c => (l, 2),
        (Some(c), _) => (c, 4),
        (None, Some(l)) => (l, 2),
        (None, None) => return None,
    };
    Some((bytes.get(..at)?, bytes.get(at.checked_add(len)?..)?))
}

/// OData asynchronous requests (`Prefer: respond-async`).
pub(crate) struct OData;

impl Builtin for OData {
    fn public(&self) -> LroDialect {
        LroDialect::OData
    }

    fn claim(
        &self,
        _rules: &Rules,
        facts: &Facts,
        head: &http::response::Parts,
        forced: bool,
    ) -> Option<Option<usize>> {
        ((applies(facts, head) || (forced && facts.asks_async))
            && super::starts_operations(forced, facts))
        .then_some(None)
    }

    fn start(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        start(rules, facts, reply)
    }

    fn read(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        read(rules, facts, reply)
    }

    fn watches(&self, kind: MonitorKind) -> bool {
        kind == MonitorKind::ODataMonitor
    }

    fn monitor_header(&self) -> Option<HeaderName> {
        Some(ASYNC_RESULT)
    }

    fn edit_poll_headers(&self, headers: &mut HeaderMap) {
        edit_poll_headers(headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::dispatch::Dialect;
    use crate::dialect::Verb;

    /// Behaviour page, "OData asynchronous requests", Ending (Dataverse): the state and
    /// status codes decide; a failure's code and message are `backgroundOperationError…`.
    #[test]
    fn dataverse_outcomes_and_their_codes() {
        let orig = "https://org.crm.dynamics.com/api/data/v9.2/sample_Export";
        let orig = Target::from_request(&orig.parse().unwrap()).unwrap();
        for (body, kind, code, message) in [
            (
                r#"{"backgroundOperationStateCode":3,"backgroundOperationStatusCode":31,"backgroundOperationErrorCode":-2147220891,"backgroundOperationErrorMessage":"Plugin failed"}"#,
                ErrorKind::OperationFailed,
                Some("-2147220891"),
                Some("Plugin failed"),
            ),
            (
                r#"{"backgroundOperationStateCode":3,"backgroundOperationStatusCode":32,"backgroundOperationErrorCode":-2147088227}"#,
                ErrorKind::OperationCanceled,
                Some("-2147088227"),
                None,
            ),
            (
                r#"{"backgroundOperationStateCode":3,"backgroundOperationStatusCode":31}"#,
                ErrorKind::OperationFailed,
                None,
                None,
            ),
        ] {
            let mut facts = Facts::new(Verb::Post, orig.clone());
            match dataverse(&mut facts, body.as_bytes()) {
                Verdict::Fail { kind: got, .. } => assert_eq!(got, kind, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
            let (got_code, got_message) = Dialect::of(LroDialect::OData)
                .unwrap()
                .code_and_message(StatusCode::OK, body.as_bytes());
            assert_eq!(got_code.as_deref(), code, "{body}");
            assert_eq!(got_message.as_deref(), message, "{body}");
        }
        let mut facts = Facts::new(Verb::Post, orig);
        let running = br#"{"backgroundOperationStateCode":2,"backgroundOperationStatusCode":0}"#;
        assert!(matches!(dataverse(&mut facts, running), Verdict::Poll));
    }

    #[test]
    fn respond_async_among_other_preferences() {
        let mut h = HeaderMap::new();
        h.append(
            "prefer",
            HeaderValue::from_static("return=minimal, Respond-Async; wait=10"),
        );
        assert!(asks_async(&h));
        let mut h = HeaderMap::new();
        h.append("prefer", HeaderValue::from_static("respond-asynchronously"));
        assert!(!asks_async(&h));
    }

    #[test]
    fn embedded_responses_parse_or_are_refused() {
        let message = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"error\":{\"code\":\"E\",\"message\":\"m\"}}";
        let (status, headers, body) = parse_http(message).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(&body[..], br#"{"error":{"code":"E","message":"m"}}"#);
        let lf = b"HTTP/1.1 201 Created\nLocation: /Customers(42)\n\n{}";
        assert_eq!(parse_http(lf).unwrap().0, StatusCode::CREATED);
        for bad in [
            &b"HTTP/1.1 400 Bad"[..],
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
        ] {
            assert!(parse_http(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn polls_drop_the_preference_and_ask_for_async_result() {
        let mut h = HeaderMap::new();
        h.insert("prefer", HeaderValue::from_static("respond-async"));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/http, application/json;odata.metadata=minimal"),
        );
        edit_poll_headers(&mut h);
        assert!(h.get("prefer").is_none());
        assert_eq!(h[ACCEPT], "application/json;odata.metadata=minimal");
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static("application/http"));
        edit_poll_headers(&mut h);
        assert_eq!(h[ACCEPT], "application/json");
    }
}
