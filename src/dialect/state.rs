//! Each dialect's own facts about one operation, whole. The operation holds one
//! [`DialectState`]; a resume token carries it as it is, so neither a token nor a retry path can
//! forget a part of a dialect.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;

/// What the operation's dialect keeps about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum DialectState {
    /// Azure's rules keep nothing of their own (and no dialect is chosen yet).
    #[default]
    None,
    Google(Box<GoogleOperation>),
    Graph(GraphState),
    Fabric(Box<FabricState>),
    OData(ODataState),
    Custom(Box<CustomState>),
}

/// A Google operation as its own documents describe it.
///
/// ```
/// # fn f(info: &tower_lro::LroInfo) {
/// if let Some(op) = info.google() {
///     println!("{:?} {:?}", op.metadata_type(), op.target_link());
/// }
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoogleOperation {
    pub(crate) name: Option<String>,
    pub(crate) metadata_type: Option<String>,
    pub(crate) response_type: Option<String>,
    /// Done with neither `response` nor `error`.
    pub(crate) result_missing: bool,
    pub(crate) target_link: Option<String>,
    /// Compute's `…/wait` POSTs (only when the layer turns `compute_wait` on).
    pub(crate) poll_post: bool,
}

impl GoogleOperation {
    /// The Operation's `name` (AIP-151), or the discovery operation's `name`.
    ///
    /// ```
    /// # fn f(op: &tower_lro::GoogleOperation) { let _n: Option<&str> = op.name(); }
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The `@type` of the Operation's `metadata`.
    ///
    /// ```
    /// # fn f(op: &tower_lro::GoogleOperation) { let _t: Option<&str> = op.metadata_type(); }
    /// ```
    pub fn metadata_type(&self) -> Option<&str> {
        self.metadata_type.as_deref()
    }

    /// The `@type` of the Operation's `response`.
    ///
    /// ```
    /// # fn f(op: &tower_lro::GoogleOperation) { let _t: Option<&str> = op.response_type(); }
    /// ```
    pub fn response_type(&self) -> Option<&str> {
        self.response_type.as_deref()
    }

    /// True when the Operation ended done with neither `response` nor `error` (some services
    /// provide no result: GET the resource if you need it).
    ///
    /// ```
    /// # fn f(op: &tower_lro::GoogleOperation) { let _m: bool = op.result_missing(); }
    /// ```
    pub fn result_missing(&self) -> bool {
        self.result_missing
    }

    /// A discovery operation's `targetLink`: the resource it acted on.
    ///
    /// ```
    /// # fn f(op: &tower_lro::GoogleOperation) { let _t: Option<&str> = op.target_link(); }
    /// ```
    pub fn target_link(&self) -> Option<&str> {
        self.target_link.as_deref()
    }
}

/// Graph: the first response, when its body may become the result (`resetPassword`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GraphState {
    pub(crate) first: Option<Box<Kept>>,
}

/// Fabric: the operation id, and the succeeded state (the result if `/result` has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FabricState {
    pub(crate) id: String,
    pub(crate) succeeded: Option<Kept>,
}

/// OData: whether the monitor is a Dataverse background operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ODataState {
    pub(crate) dataverse: bool,
}

/// A user's dialect: its name and the state its steps keep. The body's hint lives for one
/// wait only and is never carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CustomState {
    pub(crate) name: String,
    pub(crate) state: Option<String>,
    pub(crate) hint: Option<Duration>,
}

/// A response kept because it may become the result. It can hold the caller's secrets (a new
/// password): `Debug` shows its size only.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
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
