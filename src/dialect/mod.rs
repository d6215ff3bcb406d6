//! Dialects: the rules of one family of APIs, answering three questions about a response.
//!
//! - **start**: does this first response start an operation of mine, and what is polled?
//! - **read**: what does this poll response say: running, done, failed?
//! - **result**: after success, which response is the caller's?
//!
//! Your own API's operations plug in through the [`Dialect`] trait (registered with
//! [`LroLayerBuilder::with_dialect`](crate::LroLayerBuilder::with_dialect)): it answers
//! [`claim`](Dialect::claim), [`start`](Dialect::start) and [`read`](Dialect::read) with a
//! [`Step`]; the layer keeps everything dialects share (waits and hints, limits and the
//! deadline, the origin rule and credentials, transient retries, progress, resume tokens,
//! `LroInfo`). `examples/actions.rs` resolves a cloud provider's "actions" API this way.
//!
//! ```
//! use tower_lro::dialect::{Claim, Dialect, Exchange, Step};
//! # struct Mine;
//! # impl Dialect for Mine {
//! #     fn name(&self) -> &'static str { "mine" }
//! #     fn claim(&self, _: &http::Method, _: &http::Uri, _: &http::response::Parts) -> Claim { Claim::No }
//! #     fn start(&self, _: &Exchange<'_>) -> Step { Step::pass_through() }
//! #     fn read(&self, _: &Exchange<'_>) -> Step { Step::succeeded() }
//! # }
//! let layer = tower_lro::LroLayer::builder().with_dialect(Mine).build().unwrap();
//! # let _ = layer;
//! ```
//!
//! Inside the crate, a built-in dialect reads plain data (`Reply`, `Facts`, `Rules`) and returns
//! a `Verdict`; the operation machine turns verdicts into waits, requests and errors. Dialects
//! import only this module and `wire/`.

pub(crate) mod azure;
pub(crate) mod builtin;
mod custom;
pub(crate) mod dispatch;
pub(crate) mod fabric;
mod facts;
pub(crate) mod google;
pub(crate) mod graph;
pub(crate) mod kept;
pub(crate) mod odata;
pub(crate) mod user;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{response, Method, StatusCode, Uri};
use tokio::time::Instant;

pub use azure::FinalStateVia;
pub use custom::{Claim, Dialect, Exchange, Step};
pub use fabric::FabricOptions;
pub use google::GoogleOptions;
pub use graph::GraphOptions;

pub(crate) use custom::StepKind;
pub(crate) use facts::Facts;

use crate::error_kind::ErrorKind;
use crate::info::{DialectSet, GoogleOperation, LroDialect};
use crate::wire::status::StatusDoc;
use crate::wire::url::Target;
use fabric::FabricState;
use graph::GraphState;
use odata::ODataState;
use user::CustomState;

/// The wall clock, read only for an HTTP-date `Retry-After`.
pub(crate) type Wall<'a> = &'a dyn Fn() -> SystemTime;

/// One response, as the driver feeds it to the operation.
#[derive(Clone, Copy)]
pub(crate) struct Reply<'a> {
    pub(crate) head: &'a response::Parts,
    pub(crate) body: Seen<'a>,
    pub(crate) now: Instant,
    pub(crate) wall: Wall<'a>,
}

/// A response body as far as the driver read it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seen<'a> {
    /// Not read (no rule needed it).
    Unread,
    /// The whole body.
    Whole(&'a [u8]),
    /// The body is longer than the cap (or failed); these are its first bytes.
    Partial(&'a [u8]),
}

impl<'a> Seen<'a> {
    pub(crate) fn whole(self) -> Option<&'a [u8]> {
        match self {
            Seen::Whole(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Seen::Whole(b) | Seen::Partial(b) => b,
            Seen::Unread => &[],
        }
    }

    /// A monitor body the rules read whole: its bytes (none if unread), `None` past the cap.
    pub(crate) fn within_cap(self) -> Option<&'a [u8]> {
        match self {
            Seen::Whole(b) => Some(b),
            Seen::Partial(_) => None,
            Seen::Unread => Some(&[]),
        }
    }

    /// The body's JSON status document, when it was read whole and is a JSON object.
    pub(crate) fn doc(self) -> StatusDoc<'a> {
        self.whole()
            .and_then(|b| StatusDoc::parse(b).ok())
            .unwrap_or_default()
    }
}

/// The methods that can start an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Put,
    Patch,
    Post,
    Delete,
}

impl Verb {
    pub(crate) fn of(method: &Method) -> Option<Verb> {
        match *method {
            Method::PUT => Some(Verb::Put),
            Method::PATCH => Some(Verb::Patch),
            Method::POST => Some(Verb::Post),
            Method::DELETE => Some(Verb::Delete),
            _ => None,
        }
    }

    pub(crate) fn method(self) -> &'static Method {
        match self {
            Verb::Put => &Method::PUT,
            Verb::Patch => &Method::PATCH,
            Verb::Post => &Method::POST,
            Verb::Delete => &Method::DELETE,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Post => "POST",
            Verb::Delete => "DELETE",
        }
    }

    pub(crate) fn writes_resource(self) -> bool {
        matches!(self, Verb::Put | Verb::Patch)
    }
}

/// A request that addresses an operation rather than starting one (`…/operations/{id}`,
/// `…:wait`, `…:cancel`, `…/wait`): starts no dialect's operation but Azure's (behaviour §8.1).
pub(crate) fn addresses_operation(uri: &Uri) -> bool {
    let path = uri.path().trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.ends_with(":wait") || last.ends_with(":cancel") || last == "wait" {
        return true;
    }
    let mut segments = path.split('/').skip_while(|s| *s != "operations");
    segments.next().is_some() && segments.next().is_some_and(|id| !id.is_empty())
}

/// Behaviour §8.1 for a built-in dialect's claim: a forced dialect, or a request that does not
/// address an operation.
pub(crate) fn starts_operations(forced: bool, facts: &Facts) -> bool {
    forced || !addresses_operation(&facts.orig.uri)
}

/// A `text/event-stream` response: a stream the caller reads as it comes.
pub(crate) fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Whether a body with these headers may be JSON: no `Content-Type`, `application/json`,
/// `text/json` or any `+json` type.
pub(crate) fn may_hold_json(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let media = value.split(';').next().unwrap_or_default().trim();
    let is = |t: &str| media.eq_ignore_ascii_case(t);
    is("application/json")
        || is("text/json")
        || media
            .len()
            .checked_sub(5)
            .and_then(|at| media.get(at..))
            .is_some_and(|end| end.eq_ignore_ascii_case("+json"))
}

/// The redirects that complete an operation (behaviour, "Redirects from a status endpoint"):
/// 301, 302, 303, 307 and 308. 300 (a choice), 304 (a cache answer) and 305 are none.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A body that is empty or the empty JSON object `{}` (white space aside): no representation.
pub(crate) fn is_empty_body(bytes: &[u8]) -> bool {
    let t = bytes.trim_ascii();
    t.is_empty()
        || t.strip_prefix(b"{")
            .and_then(|t| t.strip_suffix(b"}"))
            .is_some_and(|inside| inside.trim_ascii().is_empty())
}

/// The first path segment of `uri` (`v1`, `v1.0`, `beta`): the version Graph and Fabric
/// build their operation URLs under.
pub(crate) fn version_segment(uri: &Uri) -> Option<&str> {
    uri.path().split('/').nth(1).filter(|v| !v.is_empty())
}

/// Statuses worth the same request again after a wait.
pub(crate) fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The latest `Location` header seen: usable, or present but unusable (an error only if a
/// rule needs it).
// Boxed: most operations never see one, and every waiting operation holds the field.
pub(crate) type SeenLocation = Option<Box<Result<Target, String>>>;

/// The settings of the dialects other than Azure's, and the user's own dialects.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostRules {
    pub(crate) google: GoogleOptions,
    pub(crate) graph: GraphOptions,
    pub(crate) fabric: FabricOptions,
    pub(crate) custom: Vec<Registered>,
}

/// A user's dialect, as the layer holds it.
#[derive(Clone)]
pub(crate) struct Registered(pub(crate) Arc<dyn Dialect>);

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

/// The settings the rules read, copied from the layer's configuration and the request's
/// options when the operation starts.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) dialects: DialectSet,
    /// A dialect the request forces.
    pub(crate) forced: Option<LroDialect>,
    /// The dialects' hosts and switches, shared by every operation of a layer.
    pub(crate) hosts: Arc<HostRules>,
    pub(crate) inspect_cap: usize,
    pub(crate) body_cap: usize,
    pub(crate) require_monitor_on_202: bool,
    pub(crate) any_404_after_delete: bool,
    pub(crate) add_api_version: bool,
    pub(crate) final_state_via: Option<FinalStateVia>,
    pub(crate) inline_result: bool,
    /// Behaviour §8.7: normalized status words on Location polls.
    pub(crate) generic_vocabulary: bool,
}

#[cfg(test)]
impl Rules {
    /// The default layer's rules, for the dialects' table tests.
    pub(crate) fn for_tests() -> Rules {
        Rules {
            dialects: DialectSet::default(),
            forced: None,
            hosts: Default::default(),
            inspect_cap: 1 << 20,
            body_cap: 1 << 20,
            require_monitor_on_202: false,
            any_404_after_delete: false,
            add_api_version: false,
            final_state_via: None,
            inline_result: false,
            generic_vocabulary: false,
        }
    }
}

/// What the operation's dialect keeps about it: one variant a dialect, its type in the
/// dialect's own file. Tokens carry it as serde writes it (`{"graph": {...}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum DialectState {
    /// Azure's rules keep nothing of their own (and no dialect is chosen yet).
    #[default]
    None,
    Google(Box<GoogleOperation>),
    Graph(GraphState),
    Fabric(Box<FabricState>),
    #[serde(rename = "odata")]
    OData(ODataState),
    Custom(Box<CustomState>),
}

impl DialectState {
    /// The operation's own name or id (Google's name, Fabric's id).
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            DialectState::Google(g) => g.name.as_deref(),
            DialectState::Fabric(f) => Some(&f.id),
            _ => None,
        }
    }

    pub(crate) fn google(&self) -> Option<&GoogleOperation> {
        match self {
            DialectState::Google(g) => Some(g),
            _ => None,
        }
    }

    /// Google's facts, made on first use.
    pub(crate) fn google_mut(&mut self) -> &mut GoogleOperation {
        if !matches!(self, DialectState::Google(_)) {
            *self = DialectState::Google(Box::default());
        }
        match self {
            DialectState::Google(g) => g,
            _ => unreachable!("set above"),
        }
    }

    pub(crate) fn graph_mut(&mut self) -> &mut GraphState {
        if !matches!(self, DialectState::Graph(_)) {
            *self = DialectState::Graph(GraphState::default());
        }
        match self {
            DialectState::Graph(g) => g,
            _ => unreachable!("set above"),
        }
    }

    pub(crate) fn fabric_mut(&mut self) -> &mut FabricState {
        if !matches!(self, DialectState::Fabric(_)) {
            *self = DialectState::Fabric(Box::default());
        }
        match self {
            DialectState::Fabric(f) => f,
            _ => unreachable!("set above"),
        }
    }

    pub(crate) fn odata(&self) -> ODataState {
        match self {
            DialectState::OData(o) => *o,
            _ => ODataState::default(),
        }
    }

    pub(crate) fn odata_mut(&mut self) -> &mut ODataState {
        if !matches!(self, DialectState::OData(_)) {
            *self = DialectState::OData(ODataState::default());
        }
        match self {
            DialectState::OData(o) => o,
            _ => unreachable!("set above"),
        }
    }

    pub(crate) fn custom(&self) -> Option<&CustomState> {
        match self {
            DialectState::Custom(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn custom_mut(&mut self) -> &mut CustomState {
        if !matches!(self, DialectState::Custom(_)) {
            *self = DialectState::Custom(Box::default());
        }
        match self {
            DialectState::Custom(c) => c,
            _ => unreachable!("set above"),
        }
    }
}

/// What a dialect makes of a response.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Not an operation (of this dialect): hand the response over untouched.
    PassThrough,
    /// Hand the response over untouched, and let no other dialect claim it.
    HandOver,
    /// Running: wait, then GET `Facts::target` (which the dialect may have moved).
    Poll,
    /// Done: this response is the result, with this status when it changes.
    Result { status: Option<StatusCode> },
    /// Done: the result is a GET of this URL.
    Fetch(Target),
    /// Done: the result is a synthesized `204 No Content`.
    NoContent,
    /// Done: the result is this JSON as a `200 OK`.
    Json(Bytes),
    /// Done: the result is this response, built by the dialect (a body it kept or unwrapped).
    Synthesized {
        status: StatusCode,
        headers: http::HeaderMap,
        body: Bytes,
    },
    /// An error, with the response it came from.
    Fail {
        kind: ErrorKind,
        detail: Option<String>,
    },
    /// An error with the service's code and message, as the dialect read them.
    FailService {
        kind: ErrorKind,
        code: Option<String>,
        message: Option<String>,
    },
    /// An error with a response the dialect unwrapped (OData's embedded result).
    FailWith {
        kind: ErrorKind,
        status: StatusCode,
        headers: http::HeaderMap,
        body: Bytes,
    },
}

impl Verdict {
    pub(crate) fn fail(kind: ErrorKind) -> Verdict {
        Verdict::Fail { kind, detail: None }
    }

    /// A monitor body over the cap.
    pub(crate) fn too_large(rules: &Rules) -> Verdict {
        Verdict::fail_because(
            ErrorKind::BodyTooLarge,
            format!("over {} bytes", rules.body_cap),
        )
    }

    pub(crate) fn fail_because(kind: ErrorKind, detail: impl Into<String>) -> Verdict {
        Verdict::Fail {
            kind,
            detail: Some(detail.into()),
        }
    }
}

/// `word` borrowed from the status words the dialects use most, else copied.
fn known_word(word: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 24] = [
        "NotStarted",
        "Running",
        "InProgress",
        "Succeeded",
        "Failed",
        "Canceled",
        "Cancelled",
        "Accepted",
        "Creating",
        "Updating",
        "Deleting",
        "Provisioning",
        "Waiting",
        "notStarted",
        "running",
        "inProgress",
        "completed",
        "succeeded",
        "failed",
        "waiting",
        "PENDING",
        "RUNNING",
        "DONE",
        "Undefined",
    ];
    match KNOWN.iter().find(|known| **known == word) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(word.to_owned()),
    }
}

#[cfg(test)]
mod tests;
