//! `ConfigError`: a configuration the layer refuses.

use std::fmt;

/// A configuration that the layer refuses (for example a zero poll interval).
///
/// ```
/// let err = tower_lro::PollSchedule::fixed(std::time::Duration::ZERO).unwrap_err();
/// assert!(err.to_string().contains("above zero"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    reason: std::borrow::Cow<'static, str>,
}

impl ConfigError {
    pub(crate) fn new(reason: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        ConfigError {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid LRO configuration: {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}
