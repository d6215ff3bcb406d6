//! Resume tokens: what it takes to go on polling an operation after a restart or an error.

#[cfg(feature = "serde")]
use std::fmt;

use crate::info::MonitorKind;

/// Where an operation stood: enough to go on polling it with a fresh service through
/// [`Lro::resume`](crate::Lro::resume).
///
/// Taken from any [`LroError`](crate::LroError) (`resume_token()`) and from every
/// [`Progress`](crate::Progress) report. With the default `serde` feature it serializes, and
/// `Display` / `FromStr` give it a JSON text form.
///
/// Tokens hold URLs only, never headers: credentials come from the service that resumes.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let text = r#"{"method":"PUT","original_uri":"https://management.azure.com/x?api-version=1",
///               "monitor":"azure-async-operation","url":"https://management.azure.com/ops/1",
///               "location":null,"final_get":false,"polls":3}"#;
/// let token: tower_lro::ResumeToken = text.parse().unwrap();
/// assert_eq!(token.url(), "https://management.azure.com/ops/1");
/// assert_eq!(token.to_string().parse::<tower_lro::ResumeToken>().unwrap(), token);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResumeToken {
    pub(crate) method: String,
    pub(crate) original_uri: String,
    pub(crate) monitor: MonitorKind,
    pub(crate) url: String,
    pub(crate) location: Option<String>,
    pub(crate) final_get: bool,
    pub(crate) polls: u32,
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

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(s).map_err(|_| crate::ConfigError::new("not a resume token"))
    }
}
