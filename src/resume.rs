//! Resume tokens: what it takes to go on polling an operation after a restart or an error.

use std::fmt;

use crate::dialect::DialectState;
use crate::info::LroDialect;
use crate::info::MonitorKind;
use crate::wire::redact::redact_raw;

/// Where an operation stood: enough to go on polling it with a fresh service through
/// [`Lro::resume`](crate::Lro::resume).
///
/// Taken from any [`LroError`](crate::LroError) (`resume_token()`) and from every
/// [`Progress`](crate::Progress) report. It serializes with serde (with a
/// format `version`, so that a token from another release is refused clearly, not misread),
/// and `Display` / `FromStr` give it a JSON text form.
///
/// Tokens hold URLs only, never headers: credentials come from the service that resumes. A
/// token is data from outside: resuming checks its URLs against the origin the caller names.
/// Its `Display` is the full token (URLs with their query, which may hold signatures): store
/// it as you would a credential. `Debug` redacts query values but `api-version`.
///
/// ```
/// let text = r#"{"version":1,"method":"PUT","original_uri":"https://management.azure.com/x?api-version=1",
///               "monitor":"azure-async-operation","url":"https://management.azure.com/ops/1",
///               "location":null,"final_get":false,"polls":3}"#;
/// let token: tower_lro::ResumeToken = text.parse().unwrap();
/// assert_eq!(token.url(), "https://management.azure.com/ops/1");
/// assert_eq!(token.to_string().parse::<tower_lro::ResumeToken>().unwrap(), token);
/// assert!(text.replace(r#""version":1"#, r#""version":3"#).parse::<tower_lro::ResumeToken>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub struct ResumeToken {
    pub(crate) method: String,
    pub(crate) original_uri: String,
    pub(crate) monitor: MonitorKind,
    pub(crate) url: String,
    pub(crate) location: Option<String>,
    pub(crate) final_get: bool,
    pub(crate) polls: u32,
    pub(crate) origin_form: bool,
    pub(crate) dialect: LroDialect,
    /// What the rest of the operation needs, whole: a resumed run resolves as the
    /// uninterrupted one would.
    pub(crate) state: TokenState,
}

/// The part of a token beside its URLs. Everything here is data from outside on resume: it
/// is checked against the token's dialect and the layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenState {
    /// The wait due before the next request (the last hint, or the schedule's step).
    pub(crate) wait_ms: u64,
    /// Waits taken from the schedule so far (the next unhinted wait is its step after these).
    pub(crate) schedule_step: u32,
    /// Transient answers in a row before the stop: they count against `max_transient_retries`.
    pub(crate) transient_in_row: u32,
    /// `location` holds a value that was no usable URL (an error if a rule needs it).
    pub(crate) location_unusable: bool,
    /// The per-request (or layer) `final_state_via` the operation started with.
    pub(crate) final_state_via: Option<crate::FinalStateVia>,
    /// The per-request (or layer) `inline_result` the operation started with.
    pub(crate) inline_result: bool,
    /// The last status word, for `LroInfo` and progress.
    pub(crate) status: Option<String>,
    /// The dialect's own facts, whole (they may hold the caller's result: never shown).
    pub(crate) dialect: DialectState,
}

mod wire;
use wire::Wire;

impl fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResumeToken")
            .field("method", &self.method)
            .field("original_uri", &redact_raw(&self.original_uri))
            .field("monitor", &self.monitor)
            .field("url", &redact_raw(&self.url))
            .field("location", &self.location.as_deref().map(redact_raw))
            .field("final_get", &self.final_get)
            .field("polls", &self.polls)
            .field("origin_form", &self.origin_form)
            .field("dialect", &self.dialect)
            .field("operation_name", &self.operation_name())
            .field("poll_post", &self.polls_by_post())
            .field("wait_ms", &self.state.wait_ms)
            .field("status", &self.state.status)
            // A kept response may be the caller's result (a reset password): never shown.
            .field("dialect_state", &self.state.dialect)
            .finish_non_exhaustive()
    }
}

impl ResumeToken {
    /// The original request's method.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _m: &str = t.method(); }
    /// ```
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The original request's URI.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _u: &str = t.original_uri(); }
    /// ```
    pub fn original_uri(&self) -> &str {
        &self.original_uri
    }

    /// The URL the next request goes to: the monitor, or the final result's URL.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _u: &str = t.url(); }
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The latest `Location` seen, a candidate for the final result's URL.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _l: Option<&str> = t.location(); }
    /// ```
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// How the operation is watched.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _k = t.monitor(); }
    /// ```
    pub fn monitor(&self) -> MonitorKind {
        self.monitor
    }

    /// True when the operation had finished and only its result was still to be fetched.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _f: bool = t.is_final_get(); }
    /// ```
    pub fn is_final_get(&self) -> bool {
        self.final_get
    }

    /// True when the operation's requests go out origin-form (see
    /// [`LroLayerBuilder::origin_form_scheme`](crate::LroLayerBuilder::origin_form_scheme)).
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _o: bool = t.is_origin_form(); }
    /// ```
    pub fn is_origin_form(&self) -> bool {
        self.origin_form
    }

    /// The dialect whose rules resolve the operation.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _d: tower_lro::LroDialect = t.dialect(); }
    /// ```
    pub fn dialect(&self) -> LroDialect {
        self.dialect
    }

    /// The operation's name, when its dialect has one (Google).
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _n: Option<&str> = t.operation_name(); }
    /// ```
    pub fn operation_name(&self) -> Option<&str> {
        self.state.dialect.name()
    }

    /// True when polls are `POST`s (Compute's `…/wait`, opt-in).
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _p: bool = t.polls_by_post(); }
    /// ```
    pub fn polls_by_post(&self) -> bool {
        self.state.dialect.google().is_some_and(|g| g.poll_post)
    }

    /// The wait due before the next request: the last `Retry-After` (or the schedule's step)
    /// that the interrupted run was honouring. A resumed run waits it before its first request.
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _w: std::time::Duration = t.next_wait(); }
    /// ```
    pub fn next_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.state.wait_ms)
    }

    /// Polls made by every run so far (reported only: a resumed run has its own `max_polls`).
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _n: u32 = t.polls(); }
    /// ```
    pub fn polls(&self) -> u32 {
        self.polls
    }
}

impl fmt::Display for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl std::str::FromStr for ResumeToken {
    type Err = TokenError;

    /// Parses the JSON text form; a malformed token or one of another format version is an
    /// error that says which.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(s).map_err(|e| {
            let version = serde_json::from_str::<serde_json::Value>(s)
                .ok()
                .and_then(|v| v.get("version")?.as_u64())
                .and_then(|v| u32::try_from(v).ok())
                .filter(|v| !wire::reads(*v));
            TokenError {
                reason: e.to_string(),
                version,
            }
        })
    }
}

/// A resume token's text that could not be read: not JSON, a missing or unknown member (named
/// in the message), a value of the wrong type, or a format version this build does not read.
///
/// ```
/// let e = "{}".parse::<tower_lro::ResumeToken>().unwrap_err();
/// assert!(e.to_string().contains("missing field"), "{e}");
/// let old = r#"{"version":9,"method":"PUT","original_uri":"https://h/x","monitor":"location",
///               "url":"https://h/o","location":null,"final_get":false,"polls":0}"#;
/// assert_eq!(old.parse::<tower_lro::ResumeToken>().unwrap_err().version(), Some(9));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    reason: String,
    version: Option<u32>,
}

impl TokenError {
    /// The token's format version, when it is one this build does not read.
    ///
    /// ```
    /// let e = "not json".parse::<tower_lro::ResumeToken>().unwrap_err();
    /// assert_eq!(e.version(), None);
    /// ```
    pub fn version(&self) -> Option<u32> {
        self.version
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a usable resume token: {}", self.reason)
    }
}

impl std::error::Error for TokenError {}
