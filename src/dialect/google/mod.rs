//! Google's operation dialects: AIP-151 `google.longrunning.Operation` and the discovery-style
//! operations of Compute, GKE and Cloud SQL (the behaviour page's "Google" section).

pub(crate) mod aip;
pub(crate) mod discovery;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{StatusCode, Uri};

use super::builtin::Builtin;
use super::{Facts, Reply, Rules, Verdict};
use crate::info::{LroDialect, MonitorKind};
use crate::wire::host;
use crate::wire::retry_after::PollSchedule;

/// The Google dialects' settings, on the layer
/// ([`LroLayerBuilder::google`](crate::LroLayerBuilder::google)) or for one request
/// ([`LroOptions::google`](crate::LroOptions::google)). The dialects themselves are off by
/// default: turn them on with `enable`.
///
/// ```
/// use tower_lro::{GoogleOptions, LroDialect, LroLayer};
/// let layer = LroLayer::builder()
///     .enable(LroDialect::GoogleAip151)
///     .google(GoogleOptions::new().hosts(["googleapis.com", "example-gateway.net"]).unwrap_response(true))
///     .build()
///     .unwrap();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleOptions {
    /// Hosts (and their subdomains) whose `200` bodies may be operations.
    pub(crate) scope: Arc<[Box<str>]>,
    /// AIP-151: hand over `response` without `@type` rather than the Operation.
    pub(crate) unwrap_response: bool,
    /// Discovery: GET `targetLink` once the operation is done.
    pub(crate) fetch_target: bool,
    /// Compute: poll `POST …/operations/{name}/wait` rather than GET the operation.
    pub(crate) compute_wait: bool,
}

impl Default for GoogleOptions {
    fn default() -> Self {
        GoogleOptions {
            scope: host::list(["googleapis.com"]),
            unwrap_response: false,
            fetch_target: false,
            compute_wait: false,
        }
    }
}

impl GoogleOptions {
    /// The defaults: `googleapis.com` and its subdomains, whole Operations handed over, GETs.
    ///
    /// ```
    /// let _ = tower_lro::GoogleOptions::new();
    /// ```
    pub fn new() -> Self {
        GoogleOptions::default()
    }

    /// The hosts (each with its subdomains) whose `200` answers may be read as operations
    /// (default `googleapis.com`, regional `*.rep.googleapis.com` included).
    ///
    /// ```
    /// let _ = tower_lro::GoogleOptions::new().hosts(["googleapis.com", "example-gateway.net"]);
    /// ```
    pub fn hosts<'a>(mut self, hosts: impl IntoIterator<Item = &'a str>) -> Self {
        self.scope = host::list(hosts);
        self
    }

    /// AIP-151: hand over the done Operation's `response` without its `@type` as a `200` JSON
    /// body (a `204` for `google.protobuf.Empty` or none), rather than the whole Operation.
    ///
    /// ```
    /// let _ = tower_lro::GoogleOptions::new().unwrap_response(true);
    /// ```
    pub fn unwrap_response(mut self, yes: bool) -> Self {
        self.unwrap_response = yes;
        self
    }

    /// Discovery operations: once done, GET the resource their `targetLink` names (re-rooted
    /// on the original host; not after a DELETE), rather than hand over the operation.
    ///
    /// ```
    /// let _ = tower_lro::GoogleOptions::new().fetch_target(true);
    /// ```
    pub fn fetch_target(mut self, yes: bool) -> Self {
        self.fetch_target = yes;
        self
    }

    /// Compute: poll with `POST …/operations/{name}/wait`, which answers when the operation
    /// is done or after up to 2 minutes, rather than GET the operation (default off: it holds
    /// a connection that long). The only request the layer ever sends that is not a GET.
    ///
    /// ```
    /// let _ = tower_lro::GoogleOptions::new().compute_wait(true);
    /// ```
    pub fn compute_wait(mut self, yes: bool) -> Self {
        self.compute_wait = yes;
        self
    }
}

impl GoogleOptions {
    /// Whether `uri`'s host is a scope host or below one.
    pub(crate) fn in_scope(&self, uri: &Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        self.scope
            .iter()
            .any(|scope| host::is_or_below(host, scope))
    }
}

/// The no-hint schedule of both Google dialects: 1 s doubling to 60 s, as google-cloud-rust's
/// polling policy.
pub(crate) fn schedule() -> PollSchedule {
    PollSchedule::exponential(Duration::from_secs(1), 2, Duration::from_secs(60))
        .unwrap_or_default()
}

/// The path of `uri` through its first version segment (`/v1`, `/v1beta1`, `/compute/v1`,
/// `/v1p1beta1`): where an API's `operations.get` lives.
pub(crate) fn version_prefix(uri: &Uri) -> Option<&str> {
    let path = uri.path();
    let mut end = 0usize;
    for segment in path.split('/') {
        end = end.saturating_add(segment.len());
        if is_version(segment) {
            return path.get(..end);
        }
        end = end.saturating_add(1);
    }
    None
}

/// `v\d+`, optionally followed by `alpha`, `beta` or `p\d+beta`, and digits.
fn is_version(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = rest.get(digits..).unwrap_or_default();
    let rest = if let Some(r) = rest.strip_prefix("alpha") {
        r
    } else if let Some(r) = rest.strip_prefix("beta") {
        r
    } else if let Some(r) = rest.strip_prefix('p') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        match r.get(n..).and_then(|r| r.strip_prefix("beta")) {
            Some(r) if n > 0 => r,
            _ => return false,
        }
    } else {
        rest
    };
    rest.bytes().all(|b| b.is_ascii_digit())
}

/// The name of an rpc status code (google.rpc.Code).
pub(crate) fn rpc_name(code: i64) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

pub(crate) use super::addresses_operation;

/// Whether a Google dialect may read this first response's body: a `200` from a scope host
/// (or forced) to a request that addresses no operation (behaviour §8.1).
fn may_start(
    rules: &super::Rules,
    facts: &super::Facts,
    head: &http::response::Parts,
    forced: bool,
) -> bool {
    // Cheapest first: most first responses are no Google operation.
    head.status == StatusCode::OK
        && (forced || rules.hosts.google.in_scope(&facts.orig.uri))
        && !addresses_operation(&facts.orig.uri)
}

/// A Google error body's code and message: `error.status` (the rpc name, AIP-193), else
/// `error.errors[0].code` (discovery APIs), else `error.code` (an rpc code in a 2xx
/// Operation, the HTTP status otherwise); the message likewise. In a 2xx, a non-empty
/// `google.rpc.Status` without a `code` (ProtoJSON omits a zero) is `UNKNOWN`.
pub(crate) fn code_and_message(
    status: StatusCode,
    body: &[u8],
) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        error: Option<&'a serde_json::value::RawValue>,
        #[serde(default, rename = "httpErrorMessage")]
        http_error_message: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Error<'a> {
        #[serde(default)]
        code: Option<i64>,
        #[serde(borrow, default)]
        message: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        status: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        errors: Option<Vec<Item<'a>>>,
    }
    #[derive(serde::Deserialize)]
    struct Item<'a> {
        #[serde(borrow, default)]
        code: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        message: Option<Cow<'a, str>>,
    }
    let Ok(parsed) = serde_json::from_slice::<Body<'_>>(body) else {
        return (None, None);
    };
    let error = parsed
        .error
        .and_then(|raw| serde_json::from_str::<Error<'_>>(raw.get()).ok());
    let Some(error) = error else {
        return (None, parsed.http_error_message);
    };
    // A Status that says something but omits its code: no key the code could come from.
    let unknown = status.is_success()
        && error.status.is_none()
        && error.errors.is_none()
        && parsed.error.is_some_and(|raw| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get())
                .is_ok_and(|fields| !fields.is_empty())
        });
    let first = error.errors.as_ref().and_then(|e| e.first());
    let code = error
        .status
        .as_deref()
        .map(str::to_owned)
        .or_else(|| first.and_then(|f| f.code.as_deref()).map(str::to_owned))
        .or_else(|| {
            error.code.map(|c| {
                if status.is_success() {
                    rpc_name(c).to_owned()
                } else {
                    c.to_string()
                }
            })
        })
        .or_else(|| unknown.then(|| rpc_name(aip::UNKNOWN).to_owned()));
    let message = error
        .message
        .as_deref()
        .or_else(|| first.and_then(|f| f.message.as_deref()))
        .map(str::to_owned)
        .or(parsed.http_error_message);
    (code, message)
}

/// `google.rpc.RetryInfo.retryDelay` ("53s", "1.5s") in an error body's details: the wait the
/// service asks for where no header names one.
pub(crate) fn retry_delay(body: &[u8]) -> Option<Duration> {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        error: Error<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Error<'a> {
        #[serde(borrow, default)]
        details: Vec<Detail<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Detail<'a> {
        #[serde(borrow, default, rename = "retryDelay")]
        retry_delay: Option<Cow<'a, str>>,
    }
    let parsed: Body<'_> = serde_json::from_slice(body).ok()?;
    parsed
        .error
        .details
        .iter()
        .find_map(|d| d.retry_delay.as_deref().and_then(proto_duration))
        .filter(|d| !d.is_zero())
}

/// A protobuf JSON Duration: decimal seconds with an `s` suffix.
fn proto_duration(text: &str) -> Option<Duration> {
    let secs = text.trim().strip_suffix('s')?;
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let nanos: u32 = format!("{frac:0<9}").parse().ok()?;
    Some(Duration::new(whole, nanos))
}

/// One of Google's two dialects: they share their claim (a `200` from a Google host), their
/// errors, hints and schedule, and differ in their rules and monitor.
pub(crate) struct Google {
    public: LroDialect,
    kind: MonitorKind,
    start: fn(&Rules, &mut Facts, Reply<'_>) -> Verdict,
    read: fn(&Rules, &mut Facts, Reply<'_>) -> Verdict,
    service_status: fn(&[u8]) -> Option<StatusCode>,
}

/// Google's `google.longrunning.Operation` over REST (AIP-151).
pub(crate) static AIP_151: Google = Google {
    public: LroDialect::GoogleAip151,
    kind: MonitorKind::GoogleOperation,
    start: aip::start,
    read: aip::read,
    service_status: |_| None,
};

/// Google's discovery-style operations (Compute, GKE, Cloud SQL).
pub(crate) static DISCOVERY: Google = Google {
    public: LroDialect::GoogleDiscovery,
    kind: MonitorKind::GoogleDiscoveryOperation,
    start: discovery::start,
    read: discovery::read,
    service_status: discovery::http_error_status,
};

impl Builtin for Google {
    fn public(&self) -> LroDialect {
        self.public
    }

    /// A `200` from a Google host (or forced): its body is read for an operation's shape.
    fn claim(
        &self,
        rules: &Rules,
        facts: &Facts,
        head: &http::response::Parts,
        forced: bool,
    ) -> Option<Option<usize>> {
        may_start(rules, facts, head, forced).then_some(Some(rules.inspect_cap))
    }

    fn start(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        (self.start)(rules, facts, reply)
    }

    fn read(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        (self.read)(rules, facts, reply)
    }

    fn watches(&self, kind: MonitorKind) -> bool {
        kind == self.kind
    }

    fn code_and_message(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        code_and_message(status, body)
    }

    fn service_status(&self, body: &[u8]) -> Option<StatusCode> {
        (self.service_status)(body)
    }

    fn body_hint(&self, body: &[u8]) -> Option<Duration> {
        retry_delay(body)
    }

    fn schedule(&self, _rules: &Rules, _facts: &Facts) -> PollSchedule {
        schedule()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_aip;
#[cfg(test)]
mod tests_discovery;
