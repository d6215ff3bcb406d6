//! `GoogleOperation`: what a Google operation's own documents said of it.

/// A Google operation as its own documents describe it: the Google dialects' whole state,
/// and what [`LroInfo::google`](crate::LroInfo::google) shows.
///
/// ```
/// # fn f(info: &tower_lro::LroInfo) {
/// if let Some(op) = info.google() {
///     println!("{:?} {:?}", op.metadata_type(), op.target_link());
/// }
/// # }
/// ```
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleOperation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metadata_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) response_type: Option<String>,
    /// Done with neither `response` nor `error`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) result_missing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_link: Option<String>,
    /// Compute's `…/wait` POSTs (only when the layer turns `compute_wait` on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
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

/// The target link redacted (query values but `api-version`, userinfo): `Debug` ends up in logs.
impl std::fmt::Debug for GoogleOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::wire::redact::redact_raw;
        f.debug_struct("GoogleOperation")
            .field("name", &self.name)
            .field("metadata_type", &self.metadata_type)
            .field("response_type", &self.response_type)
            .field("result_missing", &self.result_missing)
            .field("target_link", &self.target_link.as_deref().map(redact_raw))
            .field("poll_post", &self.poll_post)
            .finish()
    }
}
