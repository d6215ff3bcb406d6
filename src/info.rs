//! The response extension that says what the layer did.

use std::time::Duration;

use std::sync::OnceLock;

use http::{HeaderMap, StatusCode, Uri};

pub use crate::google_operation::GoogleOperation;
use crate::wire::headers::PackedHeaders;

/// How an operation was watched.
///
/// ```
/// assert_eq!(tower_lro::MonitorKind::Location.header_name(), Some("location"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MonitorKind {
    /// An `Azure-AsyncOperation` status monitor.
    AzureAsyncOperation,
    /// An `Operation-Location` status monitor.
    OperationLocation,
    /// The `Location` URL, which answers 202 until it answers with the result.
    Location,
    /// The original URL, polled for its `provisioningState`.
    ProvisioningState,
    /// A Google AIP-151 Operation, polled at `{version}/{name}`.
    GoogleOperation,
    /// A Google discovery-style operation (Compute, GKE, Cloud SQL), polled on the original
    /// host.
    GoogleDiscoveryOperation,
    /// A Microsoft Graph monitor (`Location` of a `202`): the body decides.
    GraphMonitor,
    /// A Microsoft Fabric operation, `/{version}/operations/{id}`.
    FabricOperation,
    /// An OData status monitor (`Location` of a `202`).
    ODataMonitor,
    /// A URL a user's own dialect polls.
    Custom,
}

impl MonitorKind {
    /// The response header that names this monitor (none for provisioningState polling).
    ///
    /// ```
    /// assert_eq!(tower_lro::MonitorKind::ProvisioningState.header_name(), None);
    /// ```
    pub fn header_name(self) -> Option<&'static str> {
        match self {
            MonitorKind::AzureAsyncOperation => Some("azure-asyncoperation"),
            MonitorKind::OperationLocation => Some("operation-location"),
            MonitorKind::Location => Some("location"),
            MonitorKind::ProvisioningState
            | MonitorKind::GoogleOperation
            | MonitorKind::GoogleDiscoveryOperation => None,
            MonitorKind::GraphMonitor => Some("location"),
            MonitorKind::FabricOperation => Some("x-ms-operation-id"),
            MonitorKind::ODataMonitor => Some("location"),
            MonitorKind::Custom => None,
        }
    }
}

/// The REST dialects of long-running operations the layer resolves.
///
/// Azure is on by default; Google's two dialects are opt-in (they would otherwise make plain
/// `200` answers of Google APIs block until their operation is done, and generated Google
/// clients already poll). Turn one on for a layer ([`LroLayerBuilder::enable`]) or a request
/// ([`LroOptions::enable`]), or force one for a request ([`LroOptions::dialect`]).
///
/// [`LroLayerBuilder::enable`]: crate::LroLayerBuilder::enable
/// [`LroOptions::enable`]: crate::LroOptions::enable
/// [`LroOptions::dialect`]: crate::LroOptions::dialect
///
/// ```
/// use tower_lro::LroDialect;
/// assert_eq!(LroDialect::GoogleAip151.as_str(), "google-aip-151");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LroDialect {
    /// Azure Resource Manager and Azure-style REST APIs (on by default).
    Azure,
    /// Google's `google.longrunning.Operation` over REST (AIP-151): a `200` whose body is an
    /// Operation, polled at `{version}/{name}`.
    #[serde(rename = "google-aip-151")]
    GoogleAip151,
    /// Google's discovery-style operations: Compute, GKE and Cloud SQL.
    GoogleDiscovery,
    /// Microsoft Graph's `202 Accepted` + `Location` operations (on by default).
    Graph,
    /// Microsoft Fabric's `202` + `x-ms-operation-id` operations (on by default).
    Fabric,
    /// OData asynchronous requests: the caller sent `Prefer: respond-async` (on by default).
    #[serde(rename = "odata")]
    OData,
    /// A dialect of the user's own ([`crate::dialect::Dialect`]), registered with
    /// [`LroLayerBuilder::with_dialect`](crate::LroLayerBuilder::with_dialect); its name is in
    /// `LroInfo::matched_by` and the resume token.
    Custom,
}

impl LroDialect {
    /// The dialect's name, as tokens and `LroInfo` spell it.
    ///
    /// ```
    /// assert_eq!(tower_lro::LroDialect::Azure.as_str(), "azure");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            LroDialect::Azure => "azure",
            LroDialect::GoogleAip151 => "google-aip-151",
            LroDialect::GoogleDiscovery => "google-discovery",
            LroDialect::Graph => "graph",
            LroDialect::Fabric => "fabric",
            LroDialect::OData => "odata",
            LroDialect::Custom => "custom",
        }
    }

    fn bit(self) -> u8 {
        match self {
            LroDialect::Azure => 1,
            LroDialect::GoogleAip151 => 2,
            LroDialect::GoogleDiscovery => 4,
            LroDialect::Graph => 8,
            LroDialect::Fabric => 16,
            LroDialect::OData => 32,
            LroDialect::Custom => 64,
        }
    }
}

/// Which dialects are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DialectSet(u8);

impl Default for DialectSet {
    /// Azure, Graph, Fabric and OData: their markers are protocol-level (behaviour §8.1).
    fn default() -> Self {
        DialectSet(
            LroDialect::Azure.bit()
                | LroDialect::Graph.bit()
                | LroDialect::Fabric.bit()
                | LroDialect::OData.bit(),
        )
    }
}

impl DialectSet {
    pub(crate) fn with(self, dialect: LroDialect, on: bool) -> DialectSet {
        if on {
            DialectSet(self.0 | dialect.bit())
        } else {
            DialectSet(self.0 & !dialect.bit())
        }
    }

    pub(crate) fn has(self, dialect: LroDialect) -> bool {
        self.0 & dialect.bit() != 0
    }
}

/// What happened to a long-running operation: in the extensions of every response the layer
/// resolved (never on responses it passed through).
///
/// ```
/// # fn f<B>(response: http::Response<B>) {
/// if let Some(info) = response.extensions().get::<tower_lro::LroInfo>() {
///     println!("{:?} {} after {} polls", info.monitor_kind(), info.monitor_url(), info.polls());
/// }
/// # }
/// ```
#[derive(Clone, PartialEq)]
pub struct LroInfo {
    pub(crate) monitor_kind: MonitorKind,
    pub(crate) monitor_url: Uri,
    pub(crate) polls: u32,
    pub(crate) transient_retries: u32,
    pub(crate) total_wait: Duration,
    // Common words are borrowed, as the operation keeps them: no allocation per result.
    pub(crate) status: Option<std::borrow::Cow<'static, str>>,
    pub(crate) percent_complete: Option<f64>,
    pub(crate) final_url: Option<Uri>,
    pub(crate) gone_on_404: bool,
    pub(crate) initial: Option<Initial>,
    pub(crate) dialect: LroDialect,
    pub(crate) matched_by: &'static str,
    /// The operation's own name or id (Google's name, Fabric's id).
    pub(crate) operation_name: Option<String>,
    pub(crate) google: Option<Box<GoogleOperation>>,
    /// Set when the operation was handed over before its end (start now, check later).
    pub(crate) resume_token: Option<Box<crate::ResumeToken>>,
}

/// The status and headers of the response that started an operation. The packed headers are
/// shared with the operation, not copied; held inline, so a result's `LroInfo` costs no block
/// of its own for them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Initial {
    pub(crate) status: StatusCode,
    pub(crate) headers: InitialHeaders,
}

/// The first response's headers as the operation kept them, packed; made a map only when
/// someone asks (most callers never do), and then once.
#[derive(Clone)]
pub(crate) struct InitialHeaders {
    packed: PackedHeaders,
    map: OnceLock<HeaderMap>,
}

impl InitialHeaders {
    pub(crate) fn new(packed: PackedHeaders) -> InitialHeaders {
        InitialHeaders {
            packed,
            map: OnceLock::new(),
        }
    }

    fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| self.packed.unpack())
    }

    /// The header names, for `Debug` (values can hold secrets: Graph's `tempauth=`).
    fn packed_names(&self) -> Vec<&str> {
        self.map().keys().map(http::HeaderName::as_str).collect()
    }
}

impl std::fmt::Debug for InitialHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.packed_names()).finish()
    }
}

impl PartialEq for InitialHeaders {
    fn eq(&self, other: &Self) -> bool {
        self.packed == other.packed
    }
}

/// URLs redacted (query values but `api-version`, userinfo), the first response's headers by
/// name only: `Debug` output ends up in logs.
impl std::fmt::Debug for LroInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::wire::redact::Redacted;
        let initial = self.initial.as_ref().map(|i| {
            let names: Vec<&str> = i.headers.packed_names();
            (i.status, names)
        });
        f.debug_struct("LroInfo")
            .field("monitor_kind", &self.monitor_kind)
            .field("monitor_url", &Redacted(&self.monitor_url).to_string())
            .field("polls", &self.polls)
            .field("transient_retries", &self.transient_retries)
            .field("total_wait", &self.total_wait)
            .field("status", &self.status)
            .field("percent_complete", &self.percent_complete)
            .field(
                "final_url",
                &self.final_url.as_ref().map(|u| Redacted(u).to_string()),
            )
            .field("gone_on_404", &self.gone_on_404)
            .field("initial_status_and_header_names", &initial)
            .field("dialect", &self.dialect)
            .field("matched_by", &self.matched_by)
            .field("handed_over", &self.resume_token.is_some())
            .finish_non_exhaustive()
    }
}

impl LroInfo {
    /// Which monitor the operation was watched through.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _k = i.monitor_kind(); }
    /// ```
    pub fn monitor_kind(&self) -> MonitorKind {
        self.monitor_kind
    }

    /// The last monitor URL polled (or that would have been, when none was needed).
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { println!("{}", i.monitor_url()); }
    /// ```
    pub fn monitor_url(&self) -> &Uri {
        &self.monitor_url
    }

    /// Poll requests sent (transient retries included, the final GET not).
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _n = i.polls(); }
    /// ```
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// Requests repeated after a transient answer (408, 429, 500, 502, 503, 504).
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _n = i.transient_retries(); }
    /// ```
    pub fn transient_retries(&self) -> u32 {
        self.transient_retries
    }

    /// Total time spent waiting between requests.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _t = i.total_wait(); }
    /// ```
    pub fn total_wait(&self) -> Duration {
        self.total_wait
    }

    /// The last status or provisioningState word the service sent.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { assert!(i.status().is_none_or(|s| !s.is_empty())); }
    /// ```
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// The last `percentComplete` the service sent.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _p: Option<f64> = i.percent_complete(); }
    /// ```
    pub fn percent_complete(&self) -> Option<f64> {
        self.percent_complete
    }

    /// The status of the response that started the operation (`None` after a resume).
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { if let Some(s) = i.initial_status() { println!("{s}"); } }
    /// ```
    pub fn initial_status(&self) -> Option<StatusCode> {
        self.initial.as_ref().map(|i| i.status)
    }

    /// The headers of the response that started the operation (`None` after a resume): its
    /// `x-ms-request-id`, its monitor headers, what a support ticket asks for.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) {
    /// let request_id = i.initial_headers().and_then(|h| h.get("x-ms-request-id"));
    /// # let _ = request_id;
    /// # }
    /// ```
    pub fn initial_headers(&self) -> Option<&HeaderMap> {
        self.initial.as_ref().map(|i| i.headers.map())
    }

    /// The dialect that resolved the operation.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _d: tower_lro::LroDialect = i.dialect(); }
    /// ```
    pub fn dialect(&self) -> LroDialect {
        self.dialect
    }

    /// What in the first response chose the dialect (a header, a body shape and a host).
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { println!("{}", i.matched_by()); }
    /// ```
    pub fn matched_by(&self) -> &'static str {
        self.matched_by
    }

    /// The operation's own name or id: a Google Operation's `name`, a Fabric operation id.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _n: Option<&str> = i.operation_name(); }
    /// ```
    pub fn operation_name(&self) -> Option<&str> {
        self.operation_name.as_deref()
    }

    /// The token to check on or resume the operation later, when the response was handed over
    /// before the operation ended ([`LroOptions::hand_over`](crate::LroOptions::hand_over), or a
    /// [`check`](crate::LroOptions::check) that found it still running); `None` on a final
    /// result.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) {
    /// if let Some(token) = i.resume_token() {
    ///     println!("still running; check again later with {}", token.url());
    /// }
    /// # }
    /// ```
    pub fn resume_token(&self) -> Option<&crate::ResumeToken> {
        self.resume_token.as_deref()
    }

    /// What a Google operation's documents said of it (its types, target link), when a Google
    /// dialect resolved it.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) {
    /// let response_type = i.google().and_then(|g| g.response_type());
    /// # let _ = response_type;
    /// # }
    /// ```
    pub fn google(&self) -> Option<&GoogleOperation> {
        self.google.as_deref()
    }

    /// The URL of the final GET, when one was made.
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _u = i.final_url(); }
    /// ```
    pub fn final_url(&self) -> Option<&Uri> {
        self.final_url.as_ref()
    }

    /// True when a DELETE was reported done because its resource answered 404 (the response
    /// is then a synthesized `204 No Content`).
    ///
    /// ```
    /// # fn f(i: &tower_lro::LroInfo) { let _g = i.gone_on_404(); }
    /// ```
    pub fn gone_on_404(&self) -> bool {
        self.gone_on_404
    }
}
