//! The serialized form of a resume token: JSON with a format `version`. Everything here is
//! data from outside: it is parsed strictly (unknown members are errors) and checked again
//! against the layer on resume.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{ResumeToken, TokenState};
use crate::dialect::state::{CustomState, DialectState, FabricState, GraphState, Kept, ODataState};
use crate::dialect::GoogleOperation;
use crate::info::{LroDialect, MonitorKind};

/// The token format this build writes. Version 1 tokens (without `state`) are still read.
pub(super) const FORMAT_VERSION: u32 = 2;

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
    location_unusable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    final_state_via: Option<crate::FinalStateVia>,
    #[serde(default, skip_serializing_if = "is_default")]
    inline_result: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    /// The dialect's own state, whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dialect_state: Option<WireDialect>,
}

impl WireState {
    fn is_empty(&self) -> bool {
        *self == WireState::default()
    }
}

#[derive(PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
enum WireDialect {
    Google {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_type: Option<String>,
        #[serde(default, skip_serializing_if = "is_default")]
        result_missing: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target_link: Option<String>,
        #[serde(default, skip_serializing_if = "is_default")]
        poll_post: bool,
    },
    Graph {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first: Option<WireKept>,
    },
    Fabric {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        succeeded: Option<WireKept>,
    },
    #[serde(rename = "odata")]
    OData { dataverse: bool },
    Custom {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
}

/// Bytes as JSON: text when they are UTF-8 (bodies and headers almost always are), else an
/// array of numbers; either way nothing is lost.
#[derive(PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum WireBytes {
    Text(String),
    Raw(Vec<u8>),
}

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

#[derive(PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireKept {
    headers: Vec<(String, WireBytes)>,
    body: WireBytes,
}

impl WireKept {
    fn of(kept: &Kept) -> WireKept {
        WireKept {
            headers: kept
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), WireBytes::of(v.as_bytes())))
                .collect(),
            body: WireBytes::of(&kept.body),
        }
    }

    fn kept(self) -> Result<Kept, String> {
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| "resume token: a kept header name is invalid".to_owned())?;
            let value = HeaderValue::from_bytes(&value.into_bytes())
                .map_err(|_| format!("resume token: kept header {name} has an invalid value"))?;
            headers.append(name, value);
        }
        Ok(Kept {
            headers,
            body: Bytes::from(self.body.into_bytes()),
        })
    }
}

impl WireDialect {
    fn of(state: &DialectState) -> Option<WireDialect> {
        Some(match state {
            DialectState::None => return None,
            DialectState::Google(g) => WireDialect::Google {
                name: g.name.clone(),
                metadata_type: g.metadata_type.clone(),
                response_type: g.response_type.clone(),
                result_missing: g.result_missing,
                target_link: g.target_link.clone(),
                poll_post: g.poll_post,
            },
            DialectState::Graph(g) => WireDialect::Graph {
                first: g.first.as_deref().map(WireKept::of),
            },
            DialectState::Fabric(f) => WireDialect::Fabric {
                id: f.id.clone(),
                succeeded: f.succeeded.as_ref().map(WireKept::of),
            },
            DialectState::OData(o) => WireDialect::OData {
                dataverse: o.dataverse,
            },
            DialectState::Custom(c) => WireDialect::Custom {
                name: c.name.clone(),
                state: c.state.clone(),
            },
        })
    }

    fn state(self) -> Result<DialectState, String> {
        Ok(match self {
            WireDialect::Google {
                name,
                metadata_type,
                response_type,
                result_missing,
                target_link,
                poll_post,
            } => DialectState::Google(Box::new(GoogleOperation {
                name,
                metadata_type,
                response_type,
                result_missing,
                target_link,
                poll_post,
            })),
            WireDialect::Graph { first } => DialectState::Graph(GraphState {
                first: first.map(WireKept::kept).transpose()?.map(Box::new),
            }),
            WireDialect::Fabric { id, succeeded } => DialectState::Fabric(Box::new(FabricState {
                id,
                succeeded: succeeded.map(WireKept::kept).transpose()?,
            })),
            WireDialect::OData { dataverse } => DialectState::OData(ODataState { dataverse }),
            WireDialect::Custom { name, state } => DialectState::Custom(Box::new(CustomState {
                name,
                state,
                hint: None,
            })),
        })
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
        let mut dialect = match w.state.dialect_state {
            Some(state) => state.state()?,
            None => DialectState::None,
        };
        if v1 && (w.operation_name.is_some() || w.poll_post) {
            // Version 1 held a Google name (or Fabric id) and the `…/wait` flag at the top.
            dialect = match w.dialect {
                LroDialect::Fabric => DialectState::Fabric(Box::new(FabricState {
                    id: w.operation_name.unwrap_or_default(),
                    succeeded: None,
                })),
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
                location_unusable: t.state.location_unusable,
                final_state_via: t.state.final_state_via,
                inline_result: t.state.inline_result,
                status: t.state.status,
                dialect_state: WireDialect::of(&t.state.dialect),
            },
        }
    }
}
