//! Microsoft Fabric: a `202` with `x-ms-operation-id`, polled at `/{v}/operations/{id}` on the
//! original origin; the result at `…/result` (behaviour §8.5).

use std::sync::Arc;

use bytes::Bytes;
use http::{StatusCode, Uri};
use serde::Deserialize;

use super::builtin::Builtin;
use super::kept::Kept;
use super::{Facts, Reply, Rules, Verdict};
use crate::error_kind::ErrorKind;
use crate::info::LroDialect;
use crate::info::MonitorKind;
use crate::wire::host;
use crate::wire::url::Target;

const OPERATION_ID: &str = "x-ms-operation-id";

/// Microsoft Fabric's settings, on the layer
/// ([`LroLayerBuilder::fabric`](crate::LroLayerBuilder::fabric)) or for one request
/// ([`LroOptions::fabric`](crate::LroOptions::fabric)).
///
/// ```
/// use tower_lro::{FabricOptions, LroLayer};
/// let fabric = FabricOptions::new()
///     .hosts(["api.fabric.microsoft.com", "api.powerbi.com", "fabric.contoso.example"]);
/// let layer = LroLayer::builder().fabric(fabric).build().unwrap();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricOptions {
    pub(crate) hosts: Arc<[Box<str>]>,
    /// Poll the `Location` itself on Fabric's cluster hosts, with credentials (opt-in).
    pub(crate) follow_location: bool,
}

impl Default for FabricOptions {
    fn default() -> Self {
        FabricOptions {
            hosts: host::list(["api.fabric.microsoft.com", "api.powerbi.com"]),
            follow_location: false,
        }
    }
}

impl FabricOptions {
    /// The defaults: `api.fabric.microsoft.com` and `api.powerbi.com`, operations polled on
    /// the original host.
    ///
    /// ```
    /// let _ = tower_lro::FabricOptions::new();
    /// ```
    pub fn new() -> Self {
        FabricOptions::default()
    }

    /// The hosts whose `202` + `x-ms-operation-id` are Fabric operations (add private-link
    /// hosts here).
    ///
    /// ```
    /// let _ = tower_lro::FabricOptions::new().hosts(["api.fabric.microsoft.com"]);
    /// ```
    pub fn hosts<'a>(mut self, hosts: impl IntoIterator<Item = &'a str>) -> Self {
        self.hosts = host::list(hosts);
        self
    }

    /// Poll the `Location` of Fabric's `202`s (its regional cluster hosts under
    /// `analysis.windows.net` or `fabric.microsoft.com`, https only) with the credentials, as
    /// Microsoft's own client does, rather than `/{v}/operations/{id}` on the original host
    /// (default off: it sends the token off the original origin).
    ///
    /// ```
    /// let _ = tower_lro::FabricOptions::new().follow_location(true);
    /// ```
    pub fn follow_location(mut self, yes: bool) -> Self {
        self.follow_location = yes;
        self
    }
}

/// Fabric: the operation id, and the succeeded state (the result if `/result` has none).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FabricState {
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) succeeded: Option<Kept>,
}

/// Whether the original URL is on a Fabric host and the first response a 202.
pub(crate) fn applies(rules: &Rules, facts: &Facts, head: &http::response::Parts) -> bool {
    head.status == StatusCode::ACCEPTED
        && facts.orig.uri.host().is_some_and(|h| {
            rules
                .hosts
                .fabric
                .hosts
                .iter()
                .any(|f| h.eq_ignore_ascii_case(f))
        })
}

/// A UUID, as Fabric's operation ids are.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn version(uri: &Uri) -> Option<&str> {
    super::version_segment(uri)
}

/// `{origin of base}/{v}/operations/{id}{suffix}`.
fn operation_url(orig: &Uri, base: &Uri, id: &str, suffix: &str) -> Option<Target> {
    let v = version(orig)?;
    let url = format!(
        "{}://{}/{v}/operations/{id}{suffix}",
        base.scheme_str()?,
        base.authority()?
    );
    Target::resolve(base, &url)
}

/// Fabric's regional cluster hosts, for `follow_location`: https only.
pub(crate) fn admits(rules: &Rules, uri: &Uri) -> bool {
    let under = |domain: &str| uri.host().is_some_and(|h| host::is_or_below(h, domain));
    rules.hosts.fabric.follow_location
        && uri.scheme_str() == Some("https")
        && (under("analysis.windows.net") || under("fabric.microsoft.com"))
}

/// The first response: with an operation id, poll the operation; without one (a job
/// instance), hand the 202 over.
pub(crate) fn start(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let headers = &reply.head.headers;
    let id = headers
        .get(OPERATION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| is_uuid(id));
    let Some(id) = id else {
        return Verdict::PassThrough;
    };
    facts.matched_by = "202 + x-ms-operation-id from Microsoft Fabric";
    facts.state.fabric_mut().id = id.to_owned();
    let orig = facts.orig.uri.clone();
    let location = headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|raw| Target::resolve(&orig, raw));
    let target = match location {
        Some(location) if rules.hosts.fabric.follow_location => Some(location),
        _ => operation_url(&orig, &orig, id, ""),
    };
    let Some(target) = target else {
        return Verdict::fail_because(ErrorKind::InvalidPollingUrl, "no version segment");
    };
    facts.watch(MonitorKind::FabricOperation, target, rules);
    Verdict::Poll
}

#[derive(Deserialize)]
struct State {
    #[serde(default)]
    status: Option<serde_json::Value>,
    #[serde(default, rename = "percentComplete")]
    percent_complete: Option<serde_json::Value>,
}

/// A state response (§5c), and the result's place once it succeeded (§5d).
pub(crate) fn read(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    if !reply.head.status.is_success() {
        return Verdict::fail(ErrorKind::PollFailed);
    }
    let Some(bytes) = reply.body.within_cap() else {
        return Verdict::too_large(rules);
    };
    let Ok(state) = serde_json::from_slice::<State>(bytes) else {
        return Verdict::fail(ErrorKind::InvalidStatusBody);
    };
    facts.note_percent(state.percent_complete.as_ref());
    let Some(word) = state.status.as_ref().and_then(serde_json::Value::as_str) else {
        return Verdict::fail_because(ErrorKind::MissingStatus, "no string `status` in the body");
    };
    facts.note(Some(word), &Default::default());
    match word.to_ascii_lowercase().as_str() {
        // `Completed` is outside the documented enum; Fabric's Go SDK takes it as success.
        "succeeded" | "completed" => succeeded(rules, facts, reply, bytes),
        "failed" => Verdict::fail(ErrorKind::OperationFailed),
        "cancelled" | "canceled" => Verdict::fail(ErrorKind::OperationCanceled),
        // Documented, but no state an operation comes back from: Fabric's own clients fail it
        // (its code is `Undefined`, see `code_and_message`).
        "undefined" => Verdict::fail_because(
            ErrorKind::OperationFailed,
            "the operation's state is Undefined",
        ),
        // NotStarted, Running and words added later.
        _ => Verdict::Poll,
    }
}

/// With a `Location`, the result is at `…/result` on the host that was polled, else the state.
fn succeeded(rules: &Rules, facts: &mut Facts, reply: Reply<'_>, bytes: &[u8]) -> Verdict {
    let polled = facts.target.uri.clone();
    let orig = facts.orig.uri.clone();
    let id = facts.state.fabric_mut().id.clone();
    let as_ok = (reply.head.status != StatusCode::OK).then_some(StatusCode::OK);
    if !reply.head.headers.contains_key(http::header::LOCATION) {
        return Verdict::Result { status: as_ok };
    }
    match operation_url(&orig, &polled, &id, "/result") {
        Some(result) => {
            // Kept for `OperationHasNoResult`: then the state is the result.
            facts.state.fabric_mut().succeeded = Some(Kept {
                headers: reply.head.headers.clone(),
                body: Bytes::copy_from_slice(bytes),
            });
            Verdict::Fetch(facts.for_request(result, rules))
        }
        None => Verdict::Result { status: as_ok },
    }
}

/// The final GET's error: `OperationHasNoResult` means the kept state is the result.
pub(crate) fn final_error(facts: &mut Facts, body: &[u8]) -> Option<Verdict> {
    let (code, _) = code_and_message(body);
    if code.as_deref() != Some("OperationHasNoResult") {
        return None;
    }
    let Kept { headers, body } = facts.state.fabric_mut().succeeded.take()?;
    Some(Verdict::Synthesized {
        status: StatusCode::OK,
        headers,
        body,
    })
}

/// `errorCode` and `message`, at the top (a `/result` error) or in `error` (a failed state).
/// An `Undefined` state without an `errorCode` has the code `Undefined`.
pub(crate) fn code_and_message(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Error {
        #[serde(default)]
        error_code: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        error: Option<Box<Error>>,
        /// Any JSON: only a string `Undefined` is read.
        #[serde(default)]
        status: Option<serde_json::Value>,
    }
    let parsed: Error = serde_json::from_slice(body).unwrap_or_default();
    let undefined = parsed
        .status
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("undefined"));
    let (code, message) = match parsed.error {
        Some(inner) if inner.error_code.is_some() || inner.message.is_some() => {
            (inner.error_code, inner.message)
        }
        _ => (parsed.error_code, parsed.message),
    };
    let code = code.or_else(|| undefined.then(|| "Undefined".to_owned()));
    (code, message)
}

/// Microsoft Fabric's `202` + `x-ms-operation-id` operations.
pub(crate) struct Fabric;

impl Builtin for Fabric {
    fn public(&self) -> LroDialect {
        LroDialect::Fabric
    }

    fn claim(
        &self,
        rules: &Rules,
        facts: &Facts,
        head: &http::response::Parts,
        forced: bool,
    ) -> Option<Option<usize>> {
        ((forced || applies(rules, facts, head)) && super::starts_operations(forced, facts))
            .then_some(None)
    }

    /// A Fabric 202 without an operation id is a job start: handed over as it is.
    fn start(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        match start(rules, facts, reply) {
            Verdict::PassThrough => Verdict::HandOver,
            verdict => verdict,
        }
    }

    fn read(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        read(rules, facts, reply)
    }

    fn watches(&self, kind: MonitorKind) -> bool {
        kind == MonitorKind::FabricOperation
    }

    fn code_and_message(
        &self,
        _status: StatusCode,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        code_and_message(body)
    }

    /// Its cluster hosts, with credentials, when told to follow its `Location`s.
    fn admits(&self, rules: &Rules, _facts: &Facts, uri: &Uri) -> Option<bool> {
        admits(rules, uri).then_some(true)
    }

    fn final_error(&self, facts: &mut Facts, body: &[u8]) -> Option<Verdict> {
        final_error(facts, body)
    }

    fn final_as_ok(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{Seen, Verb};

    const ORIG: &str = "https://api.fabric.microsoft.com/v1/workspaces/W/notebooks";
    const ID: &str = "0acd697c-1550-43cd-b998-91bfbfbd47c6";

    fn rules() -> Rules {
        Rules::for_tests()
    }

    /// A Fabric operation started by a 202, then one state response read.
    fn read_state(headers: &[(&str, &str)], body: &str) -> Verdict {
        let rules = rules();
        let orig = Target::from_request(&ORIG.parse().unwrap()).unwrap();
        let mut facts = Facts::new(Verb::Post, orig);
        let (start_head, ()) = http::Response::builder()
            .status(202)
            .header(OPERATION_ID, ID)
            .body(())
            .unwrap()
            .into_parts();
        let verdict = start(
            &rules,
            &mut facts,
            Reply {
                head: &start_head,
                body: Seen::Whole(b""),
                now: tokio::time::Instant::now(),
                wall: &std::time::SystemTime::now,
            },
        );
        assert!(matches!(verdict, Verdict::Poll), "{verdict:?}");
        let mut head = http::Response::builder().status(200);
        for (name, value) in headers {
            head = head.header(*name, *value);
        }
        let (head, ()) = head.body(()).unwrap().into_parts();
        read(
            &rules,
            &mut facts,
            Reply {
                head: &head,
                body: Seen::Whole(body.as_bytes()),
                now: tokio::time::Instant::now(),
                wall: &std::time::SystemTime::now,
            },
        )
    }

    /// Behaviour page, "Microsoft Fabric", Ending: every state word, in any case.
    #[test]
    fn state_words_end_or_keep_polling() {
        for word in ["Succeeded", "Completed", "completed", "SUCCEEDED"] {
            let verdict = read_state(&[], &format!(r#"{{"status":"{word}"}}"#));
            assert!(
                matches!(verdict, Verdict::Result { status: None }),
                "{word}: {verdict:?}"
            );
        }
        for (word, want) in [
            ("Failed", ErrorKind::OperationFailed),
            ("Undefined", ErrorKind::OperationFailed),
            ("undefined", ErrorKind::OperationFailed),
            ("Cancelled", ErrorKind::OperationCanceled),
            ("Canceled", ErrorKind::OperationCanceled),
        ] {
            match read_state(&[], &format!(r#"{{"status":"{word}"}}"#)) {
                Verdict::Fail { kind, .. } => assert_eq!(kind, want, "{word}"),
                other => panic!("{word}: {other:?}"),
            }
        }
        for word in ["NotStarted", "Running", "Deduplicating"] {
            let verdict = read_state(&[], &format!(r#"{{"status":"{word}"}}"#));
            assert!(matches!(verdict, Verdict::Poll), "{word}: {verdict:?}");
        }
        // `Completed` with a Location: the result is at `…/result`, as for `Succeeded`.
        let location = format!("https://api.fabric.microsoft.com/v1/operations/{ID}/result");
        match read_state(&[("location", &location)], r#"{"status":"Completed"}"#) {
            Verdict::Fetch(target) => assert_eq!(target.uri, location.as_str()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_undefined_state_has_the_code_undefined() {
        let undefined = br#"{"status":"Undefined","percentComplete":null}"#;
        assert_eq!(
            code_and_message(undefined),
            (Some("Undefined".into()), None)
        );
        // The service's own code, when it names one, wins.
        let named = br#"{"status":"Undefined","error":{"errorCode":"Broken","message":"m"}}"#;
        assert_eq!(
            code_and_message(named),
            (Some("Broken".into()), Some("m".into()))
        );
        // Other states get no invented code.
        assert_eq!(code_and_message(br#"{"status":"Failed"}"#), (None, None));
    }

    #[test]
    fn operation_ids_are_uuids() {
        assert!(is_uuid("0acd697c-1550-43cd-b998-91bfbfbd47c6"));
        for bad in [
            "",
            "0acd697c",
            "0acd697c-1550-43cd-b998-91bfbfbd47cz",
            "a-b-c-d-e",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn errors_come_from_either_place() {
        let result = br#"{"requestId":"r","errorCode":"OperationHasNoResult","message":"none"}"#;
        assert_eq!(
            code_and_message(result).0.as_deref(),
            Some("OperationHasNoResult")
        );
        let failed = br#"{"status":"Failed","error":{"errorCode":"ItemDisplayNameAlreadyInUse","message":"taken"}}"#;
        assert_eq!(
            code_and_message(failed),
            (
                Some("ItemDisplayNameAlreadyInUse".into()),
                Some("taken".into())
            )
        );
    }
}
