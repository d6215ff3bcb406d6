//! Microsoft Graph: a `202 Accepted` with a `Location` monitor, in three shapes (drive copy on
//! another host, Teams' version-relative operations, stepwise operations); the body decides
//! (behaviour §8.4).

use std::sync::Arc;

use bytes::Bytes;
use http::{StatusCode, Uri};
use serde::Deserialize;

use super::builtin::Builtin;
use super::kept::Kept;
use super::{Facts, Reply, Rules, Seen, Verdict};
use crate::error_kind::ErrorKind;
use crate::info::LroDialect;
use crate::info::MonitorKind;
use crate::wire::host;
use crate::wire::retry_after::PollSchedule;
use crate::wire::status::StatusDoc;
use crate::wire::url::Target;

/// Microsoft Graph's settings (dialects: Graph), on the layer
/// ([`LroLayerBuilder::graph`](crate::LroLayerBuilder::graph)) or for one request
/// ([`LroOptions::graph`](crate::LroOptions::graph)).
///
/// ```
/// use tower_lro::{GraphOptions, LroLayer};
/// let graph = GraphOptions::new()
///     .hosts(["graph.microsoft.com", "graph.contoso.example"])
///     .monitor_hosts(["api.onedrive.com", "*.sharepoint.com"]);
/// let layer = LroLayer::builder().graph(graph).build().unwrap();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphOptions {
    pub(crate) hosts: Arc<[Box<str>]>,
    /// `host` or `*.domain`: admitted over https only, never with credentials.
    pub(crate) monitor_hosts: Arc<[Box<str>]>,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            hosts: host::list([
                "graph.microsoft.com",
                "graph.microsoft.us",
                "dod-graph.microsoft.us",
                "microsoftgraph.chinacloudapi.cn",
            ]),
            monitor_hosts: host::list(["api.onedrive.com", "*.sharepoint.com"]),
        }
    }
}

impl GraphOptions {
    /// The defaults: Graph's global and national-cloud hosts, drive monitors on
    /// `api.onedrive.com` and `*.sharepoint.com`.
    ///
    /// ```
    /// let _ = tower_lro::GraphOptions::new();
    /// ```
    pub fn new() -> Self {
        GraphOptions::default()
    }

    /// The hosts whose `202` + `Location` are Graph operations.
    ///
    /// ```
    /// let _ = tower_lro::GraphOptions::new().hosts(["graph.microsoft.com"]);
    /// ```
    pub fn hosts<'a>(mut self, hosts: impl IntoIterator<Item = &'a str>) -> Self {
        self.hosts = host::list(hosts);
        self
    }

    /// The hosts drive-copy monitors may live on, `host` or `*.domain`: polled over https,
    /// never with credentials.
    ///
    /// ```
    /// let _ = tower_lro::GraphOptions::new().monitor_hosts(["*.sharepoint.com"]);
    /// ```
    pub fn monitor_hosts<'a>(mut self, hosts: impl IntoIterator<Item = &'a str>) -> Self {
        self.monitor_hosts = host::list(hosts);
        self
    }
}

/// Graph: the first response, when its body may become the result (`resetPassword`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GraphState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) first: Option<Box<Kept>>,
}

/// Whether the first response starts a Graph operation: a 202 with `Location` from Graph.
pub(crate) fn applies(rules: &Rules, facts: &Facts, head: &http::response::Parts) -> bool {
    head.status == StatusCode::ACCEPTED
        && head.headers.contains_key(http::header::LOCATION)
        && facts.orig.uri.host().is_some_and(|h| {
            rules
                .hosts
                .graph
                .hosts
                .iter()
                .any(|g| h.eq_ignore_ascii_case(g))
        })
}

/// A drive monitor on another host: admitted over https, without credentials.
pub(crate) fn admits(rules: &Rules, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https")
        && uri.host().is_some_and(|h| {
            rules
                .hosts
                .graph
                .monitor_hosts
                .iter()
                .any(|pattern| host::matches(h, pattern))
        })
}

/// The version segment (`v1.0`, `beta`) of the original URL.
fn version(orig: &Uri) -> Option<&str> {
    super::version_segment(orig)
}

/// §4b: a `Location` starting with `/` but not with `/{version}/` is version-relative (Teams'
/// `/teams('…')/operations('…')`); anything else resolves as usual.
fn resolve(orig: &Uri, base: &Uri, raw: &str) -> Option<Target> {
    if let (Some(v), Some(rest)) = (version(orig), raw.strip_prefix('/')) {
        let versioned = rest.starts_with(&format!("{v}/")) || rest.starts_with('/');
        if !versioned {
            let absolute = format!("{}://{}/{v}/{rest}", orig.scheme_str()?, orig.authority()?);
            return Target::resolve(orig, &absolute);
        }
    }
    Target::resolve(base, raw)
}

/// The first response: remember its body (a result for some actions), poll its Location.
pub(crate) fn start(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    facts.matched_by = "202 + Location from Microsoft Graph";
    if let Seen::Whole(body) = reply.body {
        let trimmed = body.trim_ascii();
        let is_object = trimmed.starts_with(b"{") && StatusDoc::parse(trimmed).is_ok();
        if is_object && !super::is_empty_body(trimmed) {
            // Kept with its own headers but the monitor's Location: it may be the result.
            let mut headers = reply.head.headers.clone();
            headers.remove(http::header::LOCATION);
            facts.state.graph_mut().first = Some(Box::new(Kept {
                headers,
                body: Bytes::copy_from_slice(body),
            }));
        }
    }
    let raw = reply
        .head
        .headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let orig = facts.orig.uri.clone();
    let Some(target) = resolve(&orig, &orig, raw) else {
        return Verdict::fail_because(ErrorKind::InvalidPollingUrl, "unusable Location");
    };
    facts.watch(MonitorKind::GraphMonitor, target, rules);
    facts.state.graph_mut();
    Verdict::Poll
}

/// The fields of Graph's three monitor shapes that the rules read.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Monitor {
    #[serde(default)]
    status: Option<serde_json::Value>,
    /// Any JSON: a wrong type counts as absent, never as a broken monitor.
    #[serde(default)]
    percentage_complete: Option<serde_json::Value>,
    #[serde(default)]
    resource_location: Option<serde_json::Value>,
    #[serde(default)]
    target_resource_location: Option<serde_json::Value>,
}

fn string(value: Option<&serde_json::Value>) -> Option<&str> {
    value
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A monitor's answer (§4c).
pub(crate) fn read(rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
    let status = reply.head.status;
    let see_other = status == StatusCode::SEE_OTHER;
    if !status.is_success() && !see_other {
        return Verdict::fail(ErrorKind::PollFailed);
    }
    let Some(bytes) = reply.body.within_cap() else {
        return Verdict::too_large(rules);
    };
    let monitor: Option<Monitor> = serde_json::from_slice(bytes).ok();
    facts.note_percent(
        monitor
            .as_ref()
            .and_then(|m| m.percentage_complete.as_ref()),
    );
    let word = monitor.as_ref().and_then(|m| string(m.status.as_ref()));
    if let Some(word) = word {
        facts.note(Some(word), &StatusDoc::default());
    }
    let folded = word.map(str::to_ascii_lowercase);
    match (folded.as_deref(), see_other) {
        (Some("completed" | "succeeded"), _) => done(rules, facts, monitor.as_ref(), reply),
        (Some("failed" | "deletefailed"), _) => Verdict::fail(ErrorKind::OperationFailed),
        // Outside Graph's documented enums, but terminal for Microsoft's own .NET monitor.
        (Some("cancelled" | "canceled"), _) => Verdict::fail(ErrorKind::OperationCanceled),
        // Row 4: a 303 says done; its Location is recorded, never followed.
        (_, true) => {
            facts.note_location(&reply.head.headers, rules);
            done(rules, facts, monitor.as_ref(), reply)
        }
        (Some(_), false) => Verdict::Poll,
        (None, false) => {
            Verdict::fail_because(ErrorKind::MissingStatus, "no string `status` in the body")
        }
    }
}

/// §4d: the resource the monitor names, else the first response's body, else the monitor's.
fn done(rules: &Rules, facts: &mut Facts, monitor: Option<&Monitor>, reply: Reply<'_>) -> Verdict {
    let orig = facts.orig.uri.clone();
    let resource = monitor.and_then(|m| {
        string(m.resource_location.as_ref())
            .and_then(|raw| Target::resolve(facts.monitor_uri(), raw))
            .or_else(|| {
                string(m.target_resource_location.as_ref())
                    .and_then(|raw| resolve(&orig, facts.monitor_uri(), raw))
            })
    });
    if let Some(target) = resource {
        return Verdict::Fetch(facts.for_request(target, rules));
    }
    if let Some(kept) = facts.state.graph_mut().first.take() {
        let Kept { headers, body } = *kept;
        return Verdict::Synthesized {
            status: StatusCode::OK,
            headers,
            body,
        };
    }
    let status = (reply.head.status != StatusCode::OK).then_some(StatusCode::OK);
    Verdict::Result { status }
}

/// The error's text: `error.code`/`message`, else `statusDescription` or `statusDetail`.
pub(crate) fn code_and_message(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Text {
        #[serde(default)]
        status_description: Option<String>,
        #[serde(default)]
        status_detail: Option<String>,
    }
    let doc = StatusDoc::parse(body).unwrap_or_default();
    let (code, message) = doc.code_and_message();
    let (code, message) = (code.map(str::to_owned), message.map(str::to_owned));
    if message.is_some() {
        return (code, message);
    }
    let text: Option<Text> = serde_json::from_slice(body).ok();
    let fallback = text.and_then(|t| t.status_description.or(t.status_detail));
    (code, fallback)
}

/// Teams asks for at least 5 s between checks; the other shapes take the usual schedule.
pub(crate) fn schedule(facts: &Facts) -> PollSchedule {
    if facts.monitor_uri().path().contains("/operations('") {
        PollSchedule::exponential(
            std::time::Duration::from_secs(5),
            2,
            std::time::Duration::from_secs(30),
        )
        .unwrap_or_default()
    } else {
        PollSchedule::default()
    }
}

/// Microsoft Graph's `202` + `Location` operations.
pub(crate) struct Graph;

impl Builtin for Graph {
    fn public(&self) -> LroDialect {
        LroDialect::Graph
    }

    /// A 202 + Location from a Graph host: its body may be the result, read it.
    fn claim(
        &self,
        rules: &Rules,
        facts: &Facts,
        head: &http::response::Parts,
        forced: bool,
    ) -> Option<Option<usize>> {
        ((forced || applies(rules, facts, head)) && super::starts_operations(forced, facts))
            .then_some(Some(rules.inspect_cap))
    }

    fn start(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        // A first body past the inspection cap may be the result (resetPassword's new
        // password): the 202 is handed over whole rather than the body lost.
        if matches!(reply.body, Seen::Partial(b) if !b.is_empty()) {
            return Verdict::HandOver;
        }
        start(rules, facts, reply)
    }

    fn read(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        read(rules, facts, reply)
    }

    fn watches(&self, kind: MonitorKind) -> bool {
        kind == MonitorKind::GraphMonitor
    }

    fn code_and_message(
        &self,
        _status: StatusCode,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        code_and_message(body)
    }

    /// Drive monitors on their own hosts, never with credentials.
    fn admits(&self, rules: &Rules, facts: &Facts, uri: &Uri) -> Option<bool> {
        (facts.monitor == MonitorKind::GraphMonitor && admits(rules, uri)).then_some(false)
    }

    fn schedule(&self, _rules: &Rules, facts: &Facts) -> PollSchedule {
        schedule(facts)
    }

    fn final_as_ok(&self) -> bool {
        true
    }
}

#[cfg(test)]
pub(super) fn resolve_for(orig: &str, raw: &str) -> Option<String> {
    let orig: Uri = orig.parse().ok()?;
    resolve(&orig, &orig, raw).map(|t| t.uri.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Verb;

    const ORIG: &str = "https://graph.microsoft.com/v1.0/me/drive/items/X/copy";
    const MONITOR: &str = "https://graph.microsoft.com/v1.0/monitor/X";

    fn rules() -> Rules {
        Rules::for_tests()
    }

    /// A copy started by a 202, then one monitor answer read.
    fn read_monitor(status: u16, body: &str) -> Verdict {
        let rules = rules();
        let orig = Target::from_request(&ORIG.parse().unwrap()).unwrap();
        let mut facts = Facts::new(Verb::Post, orig);
        let now = tokio::time::Instant::now();
        let (first, ()) = http::Response::builder()
            .status(202)
            .header(http::header::LOCATION, MONITOR)
            .body(())
            .unwrap()
            .into_parts();
        let reply = |head, body| Reply {
            head,
            body: Seen::Whole(body),
            now,
            wall: &std::time::SystemTime::now,
        };
        assert!(matches!(
            start(&rules, &mut facts, reply(&first, b"")),
            Verdict::Poll
        ));
        let (head, ()) = http::Response::builder()
            .status(status)
            .body(())
            .unwrap()
            .into_parts();
        read(&rules, &mut facts, reply(&head, body.as_bytes()))
    }

    /// Behaviour page, "Microsoft Graph", Ending: the body's word decides on a 2xx or a 303.
    #[test]
    fn monitor_words_on_a_2xx_or_a_303() {
        for status in [200, 202, 303] {
            for (word, want) in [
                ("cancelled", Some(ErrorKind::OperationCanceled)),
                ("canceled", Some(ErrorKind::OperationCanceled)),
                ("Cancelled", Some(ErrorKind::OperationCanceled)),
                ("failed", Some(ErrorKind::OperationFailed)),
                ("deleteFailed", Some(ErrorKind::OperationFailed)),
                ("completed", None),
                ("succeeded", None),
            ] {
                let verdict = read_monitor(status, &format!(r#"{{"status":"{word}"}}"#));
                let kind = match verdict {
                    Verdict::Fail { kind, .. } => Some(kind),
                    Verdict::Result { .. } => None,
                    other => panic!("{status} {word}: {other:?}"),
                };
                assert_eq!(kind, want, "{status} {word}");
            }
        }
        for word in ["inProgress", "waiting", "cancelling"] {
            let verdict = read_monitor(202, &format!(r#"{{"status":"{word}"}}"#));
            assert!(matches!(verdict, Verdict::Poll), "{word}: {verdict:?}");
        }
    }

    #[test]
    fn version_relative_locations_keep_the_version() {
        let orig = "https://graph.microsoft.com/v1.0/teams/T/clone";
        for (raw, expected) in [
            (
                "/teams('79af')/operations('8ad1')",
                "https://graph.microsoft.com/v1.0/teams('79af')/operations('8ad1')",
            ),
            (
                "/v1.0/storage/operations/1",
                "https://graph.microsoft.com/v1.0/storage/operations/1",
            ),
            (
                "https://api.onedrive.com/monitor/1",
                "https://api.onedrive.com/monitor/1",
            ),
        ] {
            assert_eq!(resolve_for(orig, raw).as_deref(), Some(expected), "{raw}");
        }
        assert_eq!(
            resolve_for("https://graph.microsoft.com/beta/x", "/teams('1')").as_deref(),
            Some("https://graph.microsoft.com/beta/teams('1')")
        );
    }

    #[test]
    fn monitor_hosts_match_exactly_or_below_a_domain() {
        for (host, pattern, matches) in [
            ("api.onedrive.com", "api.onedrive.com", true),
            ("contoso.sharepoint.com", "*.sharepoint.com", true),
            ("contoso-my.sharepoint.com", "*.sharepoint.com", true),
            ("sharepoint.com", "*.sharepoint.com", false),
            ("evilsharepoint.com", "*.sharepoint.com", false),
            ("sharepoint.com.evil.example", "*.sharepoint.com", false),
        ] {
            assert_eq!(host::matches(host, pattern), matches, "{host} {pattern}");
        }
    }
}
