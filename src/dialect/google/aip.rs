//! Google AIP-151: a `200` whose body is a `google.longrunning.Operation`, polled at
//! `{version prefix}/{name}` on the original origin until `done` (behaviour §8.2).

use std::borrow::Cow;

use bytes::Bytes;
use http::Uri;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::{Facts, Reply, Rules, Verdict};
use super::version_prefix;
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::url::Target;

/// The Operation shape of §2a, borrowed from the body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Operation<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
    #[serde(default)]
    done: Option<bool>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
}

/// The rpc code of an error that omits it: ProtoJSON leaves out a zero `code`, and Google's
/// Python client fails such an operation as `UNKNOWN`.
pub(crate) const UNKNOWN: i64 = 2;

/// The rpc code of an Operation's `error` (a `google.rpc.Status`): `None` for an empty `{}`,
/// which counts as absent; [`UNKNOWN`] when the object has no `code`. `Err` when it is no
/// Status at all (not an object, or a `code` that is not an integer).
fn status_code(raw: &RawValue) -> Result<Option<i64>, ()> {
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(raw.get()).map_err(|_| ())?;
    if fields.is_empty() {
        return Ok(None);
    }
    match fields.get("code") {
        None | Some(serde_json::Value::Null) => Ok(Some(UNKNOWN)),
        Some(code) => code.as_i64().map(Some).ok_or(()),
    }
}

/// Only an Any's `@type`.
#[derive(Deserialize)]
struct Any<'a> {
    #[serde(borrow, default, rename = "@type")]
    kind: Option<Cow<'a, str>>,
}

/// Where the operation stands (§2c).
enum State {
    Running,
    Canceled,
    Failed,
    Succeeded,
}

/// A body that passes §2a, with its name.
struct Recognized<'a> {
    op: Operation<'a>,
    name: Cow<'a, str>,
    /// The error's rpc code; `None` without an error (or with an empty one).
    error_code: Option<i64>,
}

fn is_object(raw: Option<&RawValue>) -> bool {
    raw.is_none_or(|r| r.get().trim_start().starts_with('{'))
}

/// §2a tests 2–4 on a body (the host scope and status are the caller's).
fn recognize(bytes: &[u8]) -> Option<Recognized<'_>> {
    // serde's derive would also take the fields as a JSON array.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let op: Operation<'_> = serde_json::from_slice(bytes).ok()?;
    let name = op.name.clone()?;
    if !is_operation_name(&name) || !is_object(op.metadata) || !is_object(op.response) {
        return None;
    }
    let error_code = match op.error {
        Some(raw) => status_code(raw).ok()?,
        None => None,
    };
    if error_code.is_some() && op.response.is_some() {
        return None;
    }
    Some(Recognized {
        op,
        name,
        error_code,
    })
}

/// A resource name with an `operations` segment followed by at least one more; relative, with
/// no query, fragment, dot segments or scheme.
fn is_operation_name(name: &str) -> bool {
    if name.is_empty() || name.starts_with('/') || name.contains(['?', '#']) || name.contains("://")
    {
        return false;
    }
    let segments: Vec<&str> = name.split('/').collect();
    if segments
        .iter()
        .any(|s| *s == ".." || *s == "." || s.is_empty())
    {
        return false;
    }
    segments
        .iter()
        .position(|s| *s == "operations")
        .is_some_and(|at| at.saturating_add(1) < segments.len())
}

fn state(r: &Recognized<'_>) -> State {
    let done =
        r.op.done
            .unwrap_or(r.op.response.is_some() || r.error_code.is_some());
    match (done, r.error_code) {
        (false, _) => State::Running,
        (true, Some(1)) => State::Canceled,
        (true, Some(_)) => State::Failed,
        (true, None) => State::Succeeded,
    }
}

fn any_type(raw: Option<&RawValue>) -> Option<String> {
    let any: Any<'_> = serde_json::from_str(raw?.get()).ok()?;
    any.kind.map(Cow::into_owned)
}

/// `{orig origin}{version prefix}/{name}`, carrying only `alt`/`$alt` and `key` (§2b).
fn poll_url(orig: &Uri, name: &str) -> Option<Target> {
    let prefix = version_prefix(orig)?;
    let mut url = format!(
        "{}://{}{prefix}/{}",
        orig.scheme_str()?,
        orig.authority()?,
        encode_name(name)
    );
    let kept: Vec<&str> = orig
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            matches!(key, "alt" | "$alt" | "%24alt" | "key")
        })
        .collect();
    if !kept.is_empty() {
        url.push('?');
        url.push_str(&kept.join("&"));
    }
    Target::resolve(orig, &url)
}

/// The name as path segments: every character outside RFC 3986 `pchar` but `/` escaped.
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let bytes = name.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let escape_ok = b == b'%'
            && bytes
                .get(i.saturating_add(1))
                .is_some_and(u8::is_ascii_hexdigit)
            && bytes
                .get(i.saturating_add(2))
                .is_some_and(u8::is_ascii_hexdigit);
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) || escape_ok;
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the Operation says, for the first response and every poll alike (§2c, §2d).
fn judge(rules: &Rules, facts: &mut Facts, r: &Recognized<'_>) -> Verdict {
    let google = facts.state.google_mut();
    google.metadata_type = any_type(r.op.metadata).or(google.metadata_type.take());
    match state(r) {
        State::Running => {
            let word = if r.op.done == Some(false) {
                "done: false"
            } else {
                "running"
            };
            facts.note(Some(word), &Default::default());
            Verdict::Poll
        }
        State::Canceled => Verdict::fail_because(ErrorKind::OperationCanceled, "rpc code 1"),
        State::Failed => Verdict::fail_because(
            ErrorKind::OperationFailed,
            format!("rpc code {}", r.error_code.unwrap_or_default()),
        ),
        State::Succeeded => {
            facts.note(Some("done"), &Default::default());
            let google = facts.state.google_mut();
            google.response_type = any_type(r.op.response);
            google.result_missing = r.op.response.is_none();
            if rules.hosts.google.unwrap_response {
                return unwrap(r.op.response);
            }
            Verdict::Result { status: None }
        }
    }
}

/// `response` without its `@type`, as JSON; `google.protobuf.Empty` or none: no content.
fn unwrap(response: Option<&RawValue>) -> Verdict {
    let Some(raw) = response else {
        return Verdict::NoContent;
    };
    let Ok(mut object) =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get())
    else {
        return Verdict::NoContent;
    };
    let kind = object.remove("@type");
    if kind.as_ref().and_then(|k| k.as_str()) == Some("type.googleapis.com/google.protobuf.Empty") {
        return Verdict::NoContent;
    }
    match serde_json::to_vec(&object) {
        Ok(json) => Verdict::Json(Bytes::from(json)),
        Err(_) => Verdict::NoContent,
    }
}

/// The first response: an Operation starts one (§2a), polled at its name (§2b).
pub(crate) fn start(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Some(bytes) = reply.body.whole() else {
        return Verdict::PassThrough;
    };
    let Some(r) = recognize(bytes) else {
        return Verdict::PassThrough;
    };
    facts.matched_by = "google.longrunning.Operation body";
    facts.state.google_mut().name = Some(r.name.clone().into_owned());
    let Some(target) = poll_url(&facts.orig.uri, &r.name) else {
        return Verdict::fail_because(
            ErrorKind::InvalidPollingUrl,
            "no version segment in the original URL, or an unusable operation name",
        );
    };
    facts.watch(MonitorKind::GoogleOperation, target, rules);
    judge(rules, facts, &r)
}

/// A poll of the Operation.
pub(crate) fn read(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    if !reply.head.status.is_success() {
        return Verdict::fail(ErrorKind::PollFailed);
    }
    let Some(bytes) = reply.body.within_cap() else {
        return Verdict::too_large(rules);
    };
    let Some(r) = recognize(bytes) else {
        return Verdict::fail_because(
            ErrorKind::InvalidStatusBody,
            "not a google.longrunning.Operation",
        );
    };
    if facts.state.name() != Some(&*r.name) {
        return Verdict::fail_because(ErrorKind::InvalidStatusBody, "another operation's name");
    }
    judge(rules, facts, &r)
}

#[cfg(test)]
pub(super) fn recognizes(bytes: &[u8]) -> bool {
    recognize(bytes).is_some()
}

#[cfg(test)]
pub(super) fn poll_url_for(orig: &str, name: &str) -> Option<String> {
    poll_url(&orig.parse().ok()?, name).map(|t| t.uri.to_string())
}
