//! The serialized form of a resume token: JSON with a format `version`. Everything here is
//! data from outside: it is parsed strictly (unknown members are errors) and checked again
//! against the layer on resume.

use super::{ResumeToken, TokenState};
use crate::dialect::DialectState;
use crate::info::GoogleOperation;
use crate::info::{LroDialect, MonitorKind};

/// The token format this build writes. Version 1 tokens (without `state`) are still read.
pub(super) const FORMAT_VERSION: u32 = 2;

/// Whether this build reads format `version`.
pub(super) fn reads(version: u32) -> bool {
    version == 1 || version == FORMAT_VERSION
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Wire {
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
    /// Version 1's Google name; version 2 keeps it in `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation_name: Option<String>,
    /// Version 1's Compute `…/wait` flag; version 2 keeps it in `state`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    poll_post: bool,
    #[serde(default, skip_serializing_if = "WireState::is_empty")]
    state: WireState,
}

fn azure() -> LroDialect {
    LroDialect::Azure
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[derive(Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireState {
    #[serde(default, skip_serializing_if = "is_default")]
    wait_ms: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    schedule_step: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    transient_in_row: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    location_unusable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    final_state_via: Option<crate::FinalStateVia>,
    #[serde(default, skip_serializing_if = "is_default")]
    inline_result: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    /// The dialect's own state, whole, as its type writes it.
    #[serde(default, skip_serializing_if = "is_default")]
    dialect_state: DialectState,
}

impl WireState {
    fn is_empty(&self) -> bool {
        *self == WireState::default()
    }
}

impl TryFrom<Wire> for ResumeToken {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        let v1 = w.version == 1 && w.state.is_empty();
        if w.version != FORMAT_VERSION && !v1 {
            return Err(format!(
                "resume token format version {} is not supported (this build reads version {FORMAT_VERSION})",
                w.version
            ));
        }
        if !v1 && (w.operation_name.is_some() || w.poll_post) {
            return Err(
                "resume token: version 2 keeps `operation_name` and `poll_post` in `state`".into(),
            );
        }
        let mut dialect = w.state.dialect_state;
        if v1 && (w.operation_name.is_some() || w.poll_post) {
            // Version 1 held a Google name (or Fabric id) and the `…/wait` flag at the top.
            dialect = match w.dialect {
                LroDialect::Fabric => {
                    let mut state = DialectState::None;
                    state.fabric_mut().id = w.operation_name.unwrap_or_default();
                    state
                }
                _ => DialectState::Google(Box::new(GoogleOperation {
                    name: w.operation_name,
                    poll_post: w.poll_post,
                    ..GoogleOperation::default()
                })),
            };
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
            state: TokenState {
                wait_ms: w.state.wait_ms,
                schedule_step: w.state.schedule_step,
                transient_in_row: w.state.transient_in_row,
                location_unusable: w.state.location_unusable,
                final_state_via: w.state.final_state_via,
                inline_result: w.state.inline_result,
                status: w.state.status,
                dialect,
            },
        })
    }
}

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
            operation_name: None,
            poll_post: false,
            state: WireState {
                wait_ms: t.state.wait_ms,
                schedule_step: t.state.schedule_step,
                transient_in_row: t.state.transient_in_row,
                location_unusable: t.state.location_unusable,
                final_state_via: t.state.final_state_via,
                inline_result: t.state.inline_result,
                status: t.state.status,
                dialect_state: t.state.dialect,
            },
        }
    }
}
