//! Resume tokens: what it takes to go on polling an operation after a restart or an error.

use std::fmt;

use crate::info::LroDialect;
use crate::info::MonitorKind;
use crate::wire::redact::redact_raw;

/// Where an operation stood: enough to go on polling it with a fresh service through
/// [`Lro::resume`](crate::Lro::resume).
///
/// Taken from any [`LroError`](crate::LroError) (`resume_token()`) and from every
/// [`Progress`](crate::Progress) report. With the default `serde` feature it serializes (with a
/// format `version`, so that a token from another release is refused clearly, not misread),
/// and `Display` / `FromStr` give it a JSON text form.
///
/// Tokens hold URLs only, never headers: credentials come from the service that resumes. A
/// token is data from outside: resuming checks its URLs against the origin the caller names.
/// Its `Display` is the full token (URLs with their query, which may hold signatures): store
/// it as you would a credential. `Debug` redacts query values but `api-version`.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let text = r#"{"version":1,"method":"PUT","original_uri":"https://management.azure.com/x?api-version=1",
///               "monitor":"azure-async-operation","url":"https://management.azure.com/ops/1",
///               "location":null,"final_get":false,"polls":3}"#;
/// let token: tower_lro::ResumeToken = text.parse().unwrap();
/// assert_eq!(token.url(), "https://management.azure.com/ops/1");
/// assert_eq!(token.to_string().parse::<tower_lro::ResumeToken>().unwrap(), token);
/// assert!(text.replace(r#""version":1"#, r#""version":3"#).parse::<tower_lro::ResumeToken>().is_err());
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Wire", into = "Wire")
)]
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
    /// The operation's name, which every poll answer must repeat (Google AIP-151).
    pub(crate) operation_name: Option<String>,
    /// Polls are POSTs (Compute's `…/wait`): honoured only where the layer turns
    /// `compute_wait` on.
    pub(crate) poll_post: bool,
    /// What the rest of the operation needs, whole: a resumed run resolves as the
    /// uninterrupted one would.
    pub(crate) state: TokenState,
}

/// The part of a token that only some dialects or paths fill in. Everything here is data
/// from outside on resume: it is checked against the token's dialect and the layer.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenState {
    /// The wait due before the next request (the last hint, or the schedule's step).
    pub(crate) wait_ms: u64,
    /// Waits taken from the schedule so far (the next unhinted wait is its step after these).
    pub(crate) schedule_step: u32,
    /// `location` holds a value that was no usable URL (an error if a rule needs it).
    pub(crate) location_unusable: bool,
    /// A response that may become the result (Graph's first response, Fabric's state).
    /// It can hold secrets (a reset password): never shown.
    pub(crate) kept: Option<Box<(http::HeaderMap, bytes::Bytes)>>,
    pub(crate) metadata_type: Option<String>,
    pub(crate) response_type: Option<String>,
    pub(crate) result_missing: bool,
    pub(crate) target_link: Option<String>,
    /// A Dataverse background operation (OData).
    pub(crate) dataverse: bool,
    /// The per-request (or layer) `final_state_via` the operation started with.
    pub(crate) final_state_via: Option<crate::FinalStateVia>,
    /// The per-request (or layer) `inline_result` the operation started with.
    pub(crate) inline_result: bool,
    /// The last status word, for `LroInfo` and progress.
    pub(crate) status: Option<String>,
    /// A user's dialect: its name and its state.
    pub(crate) custom_dialect: Option<String>,
    pub(crate) custom_state: Option<String>,
}

/// The token format this build writes. Version 1 tokens (no `state`) are still read.
#[cfg(feature = "serde")]
const FORMAT_VERSION: u32 = 2;

/// The serialized form: the token's fields and the format version.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    version: u32,
    method: String,
    original_uri: String,
    monitor: MonitorKind,
    url: String,
    location: Option<String>,
    final_get: bool,
    polls: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    origin_form: bool,
    #[serde(default = "azure")]
    dialect: LroDialect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation_name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    poll_post: bool,
    #[serde(default, skip_serializing_if = "WireState::is_empty")]
    state: WireState,
}

/// [`TokenState`] as JSON: absent members are their defaults.
#[cfg(feature = "serde")]
#[derive(Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireState {
    #[serde(default, skip_serializing_if = "is_zero")]
    wait_ms: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    schedule_step: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    location_unusable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kept: Option<WireKept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_type: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    result_missing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_link: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    dataverse: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    final_state_via: Option<crate::FinalStateVia>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    inline_result: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_dialect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_state: Option<String>,
}

#[cfg(feature = "serde")]
fn is_zero<N: Default + PartialEq>(n: &N) -> bool {
    *n == N::default()
}

#[cfg(feature = "serde")]
impl WireState {
    fn is_empty(&self) -> bool {
        *self == WireState::default()
    }
}

/// Bytes as JSON: text when they are UTF-8 (bodies and headers almost always are), else an
/// array of numbers; either way nothing is lost.
#[cfg(feature = "serde")]
#[derive(PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum WireBytes {
    Text(String),
    Raw(Vec<u8>),
}

#[cfg(feature = "serde")]
impl WireBytes {
    fn of(bytes: &[u8]) -> WireBytes {
        match std::str::from_utf8(bytes) {
            Ok(text) => WireBytes::Text(text.to_owned()),
            Err(_) => WireBytes::Raw(bytes.to_vec()),
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            WireBytes::Text(text) => text.into_bytes(),
            WireBytes::Raw(raw) => raw,
        }
    }
}

#[cfg(feature = "serde")]
#[derive(PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireKept {
    headers: Vec<(String, WireBytes)>,
    body: WireBytes,
}

#[cfg(feature = "serde")]
impl TryFrom<WireKept> for (http::HeaderMap, bytes::Bytes) {
    type Error = String;

    fn try_from(k: WireKept) -> Result<Self, String> {
        let mut headers = http::HeaderMap::with_capacity(k.headers.len());
        for (name, value) in k.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| "resume token: a kept header name is invalid".to_owned())?;
            let value = http::HeaderValue::from_bytes(&value.into_bytes())
                .map_err(|_| format!("resume token: kept header {name} has an invalid value"))?;
            headers.append(name, value);
        }
        Ok((headers, bytes::Bytes::from(k.body.into_bytes())))
    }
}

#[cfg(feature = "serde")]
impl From<TokenState> for WireState {
    fn from(s: TokenState) -> WireState {
        WireState {
            wait_ms: s.wait_ms,
            schedule_step: s.schedule_step,
            location_unusable: s.location_unusable,
            kept: s.kept.map(|kept| WireKept {
                headers: kept
                    .0
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), WireBytes::of(v.as_bytes())))
                    .collect(),
                body: WireBytes::of(&kept.1),
            }),
            metadata_type: s.metadata_type,
            response_type: s.response_type,
            result_missing: s.result_missing,
            target_link: s.target_link,
            dataverse: s.dataverse,
            final_state_via: s.final_state_via,
            inline_result: s.inline_result,
            status: s.status,
            custom_dialect: s.custom_dialect,
            custom_state: s.custom_state,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<WireState> for TokenState {
    type Error = String;

    fn try_from(w: WireState) -> Result<Self, String> {
        Ok(TokenState {
            wait_ms: w.wait_ms,
            schedule_step: w.schedule_step,
            location_unusable: w.location_unusable,
            kept: match w.kept {
                Some(kept) => Some(Box::new(kept.try_into()?)),
                None => None,
            },
            metadata_type: w.metadata_type,
            response_type: w.response_type,
            result_missing: w.result_missing,
            target_link: w.target_link,
            dataverse: w.dataverse,
            final_state_via: w.final_state_via,
            inline_result: w.inline_result,
            status: w.status,
            custom_dialect: w.custom_dialect,
            custom_state: w.custom_state,
        })
    }
}

#[cfg(feature = "serde")]
fn azure() -> LroDialect {
    LroDialect::Azure
}

#[cfg(feature = "serde")]
impl TryFrom<Wire> for ResumeToken {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        if w.version != FORMAT_VERSION && !(w.version == 1 && w.state.is_empty()) {
            return Err(format!(
                "resume token format version {} is not supported (this build reads version {FORMAT_VERSION})",
                w.version
            ));
        }
        Ok(ResumeToken {
            method: w.method,
            original_uri: w.original_uri,
            monitor: w.monitor,
            url: w.url,
            location: w.location,
            final_get: w.final_get,
            polls: w.polls,
            origin_form: w.origin_form,
            dialect: w.dialect,
            operation_name: w.operation_name,
            poll_post: w.poll_post,
            state: w.state.try_into()?,
        })
    }
}

#[cfg(feature = "serde")]
impl From<ResumeToken> for Wire {
    fn from(t: ResumeToken) -> Wire {
        Wire {
            version: FORMAT_VERSION,
            method: t.method,
            original_uri: t.original_uri,
            monitor: t.monitor,
            url: t.url,
            location: t.location,
            final_get: t.final_get,
            polls: t.polls,
            origin_form: t.origin_form,
            dialect: t.dialect,
            operation_name: t.operation_name,
            poll_post: t.poll_post,
            state: t.state.into(),
        }
    }
}

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
            .field("operation_name", &self.operation_name)
            .field("poll_post", &self.poll_post)
            .field("wait_ms", &self.state.wait_ms)
            .field("status", &self.state.status)
            .field("custom_dialect", &self.state.custom_dialect)
            // A kept response may be the caller's result (a reset password): its size only.
            .field(
                "kept_body_len",
                &self.state.kept.as_ref().map(|k| k.1.len()),
            )
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
        self.operation_name.as_deref()
    }

    /// True when polls are `POST`s (Compute's `…/wait`, opt-in).
    ///
    /// ```
    /// # fn f(t: &tower_lro::ResumeToken) { let _p: bool = t.polls_by_post(); }
    /// ```
    pub fn polls_by_post(&self) -> bool {
        self.poll_post
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

#[cfg(feature = "serde")]
impl fmt::Display for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(feature = "serde")]
impl std::str::FromStr for ResumeToken {
    type Err = crate::ConfigError;

    /// Parses the JSON text form; a malformed token or one of another format version is an
    /// error that says which.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(s)
            .map_err(|e| crate::ConfigError::new(format!("not a usable resume token: {e}")))
    }
}
