//! Microsoft Fabric: a `202` with `x-ms-operation-id`, polled at `/{v}/operations/{id}` on the
//! original origin; the result at `…/result` (dialects §5).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

use super::{Facts, Reply, Rules, Verdict};
use crate::error::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::url::Target;

const OPERATION_ID: &str = "x-ms-operation-id";

/// Fabric's hosts, and whether to poll its regional `Location`s.
#[derive(Debug, Clone)]
pub(crate) struct FabricRules {
    pub(crate) hosts: Arc<[Box<str>]>,
    /// Poll the `Location` itself on Fabric's cluster hosts, with credentials (opt-in).
    pub(crate) follow_location: bool,
}

impl Default for FabricRules {
    fn default() -> Self {
        FabricRules {
            hosts: vec![
                Box::from("api.fabric.microsoft.com"),
                Box::from("api.powerbi.com"),
            ]
            .into(),
            follow_location: false,
        }
    }
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
    uri.path().split('/').nth(1).filter(|v| !v.is_empty())
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
    let under = |domain: &str| {
        uri.host().is_some_and(|h| {
            let h = h.to_ascii_lowercase();
            h == domain || h.ends_with(&format!(".{domain}"))
        })
    };
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
    facts.op_mut().name = Some(id.to_owned());
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
    facts.final_as_ok = true;
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
    let percent = state
        .percent_complete
        .as_ref()
        .and_then(serde_json::Value::as_f64);
    if let Some(percent) = percent.filter(|p| p.is_finite()) {
        facts.percent_complete = Some(percent);
    }
    let Some(word) = state.status.as_ref().and_then(serde_json::Value::as_str) else {
        return Verdict::fail_because(ErrorKind::MissingStatus, "no string `status` in the body");
    };
    facts.note(Some(word), &Default::default());
    match word.to_ascii_lowercase().as_str() {
        "succeeded" => succeeded(rules, facts, reply, bytes),
        "failed" => Verdict::fail(ErrorKind::OperationFailed),
        "cancelled" | "canceled" => Verdict::fail(ErrorKind::OperationCanceled),
        // NotStarted, Running, Undefined and words added later.
        _ => Verdict::Poll,
    }
}

/// With a `Location`, the result is at `…/result` on the host that was polled, else the state.
fn succeeded(rules: &Rules, facts: &mut Facts, reply: Reply<'_>, bytes: &[u8]) -> Verdict {
    let polled = facts.target.uri.clone();
    let orig = facts.orig.uri.clone();
    let id = facts.op().name.clone().unwrap_or_default();
    let as_ok = (reply.head.status != StatusCode::OK).then_some(StatusCode::OK);
    if !reply.head.headers.contains_key(http::header::LOCATION) {
        return Verdict::Result { status: as_ok };
    }
    match operation_url(&orig, &polled, &id, "/result") {
        Some(result) => {
            // Kept for `OperationHasNoResult`: then the state is the result.
            facts.kept = Some(Box::new((
                reply.head.headers.clone(),
                Bytes::copy_from_slice(bytes),
            )));
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
    let (headers, body): (HeaderMap, Bytes) = *facts.kept.take()?;
    Some(Verdict::Synthesized {
        status: StatusCode::OK,
        headers,
        body,
    })
}

/// `errorCode` and `message`, at the top (a `/result` error) or in `error` (a failed state).
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
    }
    let parsed: Error = serde_json::from_slice(body).unwrap_or_default();
    match parsed.error {
        Some(inner) if inner.error_code.is_some() || inner.message.is_some() => {
            (inner.error_code, inner.message)
        }
        _ => (parsed.error_code, parsed.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
