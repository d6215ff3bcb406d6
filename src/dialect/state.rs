//! Each dialect's own facts about one operation, whole. The operation holds one
//! [`DialectState`]; a resume token carries it as it is, so neither a token nor a retry path can
//! forget a part of a dialect.

use std::fmt;

use bytes::Bytes;
use http::HeaderMap;

use super::fabric::FabricState;
use super::google::GoogleOperation;
use super::graph::GraphState;
use super::odata::ODataState;
use super::user::CustomState;

/// What the operation's dialect keeps about it: one variant a dialect, its type in the
/// dialect's own file. Tokens carry it as serde writes it (`{"graph": {...}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case", deny_unknown_fields)
)]
pub(crate) enum DialectState {
    /// Azure's rules keep nothing of their own (and no dialect is chosen yet).
    #[default]
    None,
    Google(Box<GoogleOperation>),
    Graph(GraphState),
    Fabric(Box<FabricState>),
    #[cfg_attr(feature = "serde", serde(rename = "odata"))]
    OData(ODataState),
    Custom(Box<CustomState>),
}

/// A response kept because it may become the result. It can hold the caller's secrets (a new
/// password): `Debug` shows its size only.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// As JSON: headers as `[name, value]` pairs and the body, each text when it is UTF-8 (they
/// almost always are), else an array of numbers; either way nothing is lost.
#[cfg(feature = "serde")]
mod kept_wire {
    use super::Kept;

    #[derive(serde::Serialize, serde::Deserialize)]
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

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        headers: Vec<(String, WireBytes)>,
        body: WireBytes,
    }

    impl serde::Serialize for Kept {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Wire {
                headers: self
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), WireBytes::of(v.as_bytes())))
                    .collect(),
                body: WireBytes::of(&self.body),
            }
            .serialize(s)
        }
    }

    impl<'de> serde::Deserialize<'de> for Kept {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kept, D::Error> {
            use serde::de::Error;
            let wire = Wire::deserialize(d)?;
            let mut headers = http::HeaderMap::with_capacity(wire.headers.len());
            for (name, value) in wire.headers {
                let name = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| D::Error::custom("a kept header name is invalid"))?;
                let value = http::HeaderValue::from_bytes(&value.into_bytes())
                    .map_err(|_| D::Error::custom(format!("kept header {name} is invalid")))?;
                headers.append(name, value);
            }
            Ok(Kept {
                headers,
                body: bytes::Bytes::from(wire.body.into_bytes()),
            })
        }
    }
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kept")
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
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
