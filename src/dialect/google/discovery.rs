//! Google's discovery-style operations: Compute, GKE and Cloud SQL (behaviour §8.3). Each API has
//! its own Operation type with a `status` that ends at `DONE`.

use std::borrow::Cow;

use http::{StatusCode, Uri};
use serde::Deserialize;

use super::super::{Facts, Reply, Rules, Verb, Verdict};
use super::version_prefix;
use crate::error_kind::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::host;
use crate::wire::url::Target;

/// The fields the rules read; others are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    status: Option<Word>,
    #[serde(borrow, default)]
    self_link: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_link: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    operation_type: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Error>,
    #[serde(default)]
    http_error_status_code: Option<i64>,
}

/// A `status`: an enum word, or its number (int enum encoding).
#[derive(Deserialize)]
#[serde(untagged)]
enum Word {
    Text(String),
    Number(i64),
}

#[derive(Deserialize, Default)]
struct Error {
    /// Compute and Cloud SQL.
    #[serde(default)]
    errors: Vec<serde::de::IgnoredAny>,
    /// GKE: a `google.rpc.Status`.
    #[serde(default)]
    code: Option<i64>,
    /// Whatever else the object holds (a Status's `message`, `details`).
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Error {
    /// GKE's rpc code: an empty `{}` is no error; a Status without `code` (ProtoJSON omits a
    /// zero) is `UNKNOWN`, as for AIP-151 operations.
    fn rpc_code(&self) -> Option<i64> {
        self.code
            .or_else(|| (!self.rest.is_empty()).then_some(super::aip::UNKNOWN))
    }
}

/// Which API the operation is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Compute,
    Sql,
    Gke,
}

const GKE_HOST: &str = "container.googleapis.com";

/// §3a on a body from `orig` (the host scope and status are the caller's).
fn recognize<'a>(orig: &Uri, bytes: &'a [u8]) -> Option<(Api, Operation<'a>)> {
    // serde's derive would also take the fields as a JSON array.
    if !bytes.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let op: Operation<'a> = serde_json::from_slice(bytes).ok()?;
    op.status.as_ref()?;
    let self_link: Uri = op.self_link.as_deref()?.parse().ok()?;
    if self_link.scheme_str() != Some("https") || !self_link.path().contains("/operations/") {
        return None;
    }
    let api = match op.kind.as_deref() {
        Some("compute#operation") => Api::Compute,
        Some("sql#operation") => Api::Sql,
        None if orig
            .host()
            .is_some_and(|h| h.eq_ignore_ascii_case(GKE_HOST))
            && op.operation_type.is_some()
            && op.target_link.is_some() =>
        {
            Api::Gke
        }
        _ => return None,
    };
    Some((api, op))
}

fn is_done(api: Api, status: &Word) -> bool {
    match status {
        Word::Text(word) => word.eq_ignore_ascii_case("DONE"),
        Word::Number(n) => match api {
            Api::Compute => *n == 2_104_194,
            Api::Sql | Api::Gke => *n == 3,
        },
    }
}

/// A link on a googleapis.com host, re-rooted on the original origin: its path, when that
/// starts with the original URL's API prefix (§3b).
fn re_root(orig: &Uri, link: &str) -> Option<Target> {
    let link: Uri = link.parse().ok()?;
    let prefix = version_prefix(orig)?;
    if !link
        .host()
        .is_some_and(|h| host::is_or_below(h, "googleapis.com"))
        || !link.path().starts_with(&format!("{prefix}/"))
    {
        return None;
    }
    let url = format!(
        "{}://{}{}",
        orig.scheme_str()?,
        orig.authority()?,
        link.path()
    );
    Target::resolve(orig, &url)
}

/// GKE: `{prefix}/projects/{project}/locations/{location}/operations/{name}`, from the original
/// URL's `projects/{id}/locations/{loc}` (or `zones/{zone}`), never the `selfLink`.
fn gke_url(orig: &Uri, name: &str) -> Option<Target> {
    let prefix = version_prefix(orig)?;
    let segments: Vec<&str> = orig.path().split('/').collect();
    let after = |key: &str| {
        let at = segments.iter().position(|s| *s == key)?;
        segments
            .get(at.saturating_add(1))
            .copied()
            .filter(|s| !s.is_empty())
    };
    let project = after("projects")?;
    let location = after("locations").or_else(|| after("zones"))?;
    if name.is_empty() || name.contains(['/', '?', '#']) {
        return None;
    }
    let url = format!(
        "{}://{}{prefix}/projects/{project}/locations/{location}/operations/{name}",
        orig.scheme_str()?,
        orig.authority()?,
    );
    Target::resolve(orig, &url)
}

/// §3c and §3d for the first response and every poll.
fn judge(rules: &Rules, facts: &mut Facts, api: Api, op: &Operation<'_>) -> Verdict {
    let Some(status) = &op.status else {
        return Verdict::fail(ErrorKind::InvalidStatusBody);
    };
    if let Word::Text(word) = status {
        facts.note(Some(word), &Default::default());
    }
    if let Some(link) = &op.target_link {
        facts.state.google_mut().target_link = Some(link.clone().into_owned());
    }
    if !is_done(api, status) {
        return Verdict::Poll;
    }
    let error = op.error.as_ref();
    let gke_code = error.and_then(Error::rpc_code).filter(|_| api == Api::Gke);
    if op.http_error_status_code == Some(499) || gke_code == Some(1) {
        return Verdict::fail(ErrorKind::OperationCanceled);
    }
    let failed = error.is_some_and(|e| !e.errors.is_empty())
        || op.http_error_status_code.is_some_and(|s| s >= 400)
        || gke_code.is_some_and(|c| c != 0);
    if failed {
        return Verdict::fail(ErrorKind::OperationFailed);
    }
    let fetch = rules.hosts.google.fetch_target && facts.verb != Verb::Delete;
    match op.target_link.as_deref().filter(|_| fetch) {
        Some(link) => match re_root(&facts.orig.uri, link) {
            Some(target) => Verdict::Fetch(target),
            None => Verdict::Result { status: None },
        },
        None => Verdict::Result { status: None },
    }
}

/// The first response: a discovery Operation starts one, polled on the original host.
pub(crate) fn start(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let Some(bytes) = reply.body.whole() else {
        return Verdict::PassThrough;
    };
    let orig = facts.orig.uri.clone();
    let Some((api, op)) = recognize(&orig, bytes) else {
        return Verdict::PassThrough;
    };
    facts.matched_by = match api {
        Api::Compute => "compute#operation body",
        Api::Sql => "sql#operation body",
        Api::Gke => "GKE Operation body on container.googleapis.com",
    };
    facts.state.google_mut().name = op.name.as_deref().map(str::to_owned);
    let target = match api {
        Api::Gke => op.name.as_deref().and_then(|name| gke_url(&orig, name)),
        Api::Compute | Api::Sql => op.self_link.as_deref().and_then(|l| re_root(&orig, l)),
    };
    let Some(mut target) = target else {
        return Verdict::fail_because(
            ErrorKind::InvalidPollingUrl,
            "the operation's link is not under the original API's prefix on googleapis.com",
        );
    };
    if api == Api::Compute && rules.hosts.google.compute_wait {
        match Target::resolve(&target.uri, &format!("{}/wait", target.uri.path())) {
            Some(wait) => {
                target = wait;
                facts.state.google_mut().poll_post = true;
            }
            None => return Verdict::fail(ErrorKind::InvalidPollingUrl),
        }
    }
    facts.watch(MonitorKind::GoogleDiscoveryOperation, target, rules);
    judge(rules, facts, api, &op)
}

/// `httpErrorStatusCode`: the HTTP status the service gives a failed operation, when it is one
/// (400 to 599; any other number, or a value that is no number, is no status).
pub(crate) fn http_error_status(body: &[u8]) -> Option<StatusCode> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Failure {
        /// Any JSON: a wrong type counts as absent.
        #[serde(default)]
        http_error_status_code: Option<serde_json::Value>,
    }
    let failure: Failure = serde_json::from_slice(body).ok()?;
    let code = u16::try_from(failure.http_error_status_code?.as_u64()?).ok()?;
    if !(400..=599).contains(&code) {
        return None;
    }
    StatusCode::from_u16(code).ok()
}

/// A poll of the operation.
pub(crate) fn read(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    if !reply.head.status.is_success() {
        return Verdict::fail(ErrorKind::PollFailed);
    }
    let Some(bytes) = reply.body.within_cap() else {
        return Verdict::too_large(rules);
    };
    let orig = facts.orig.uri.clone();
    let Some((api, op)) = recognize(&orig, bytes) else {
        return Verdict::fail_because(ErrorKind::InvalidStatusBody, "not the operation's document");
    };
    judge(rules, facts, api, &op)
}

#[cfg(test)]
pub(super) fn recognizes(orig: &str, bytes: &[u8]) -> bool {
    orig.parse()
        .is_ok_and(|orig: Uri| recognize(&orig, bytes).is_some())
}
