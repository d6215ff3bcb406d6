//! `ErrorKind`: what went wrong, as every part of the crate names it (no context, no
//! dependencies: the dialects and the wire readers sit above it).

use std::fmt;

/// What went wrong with a long-running operation.
///
/// ```
/// use tower_lro::ErrorKind;
/// assert_eq!(ErrorKind::OperationFailed.as_str(), "OperationFailed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The service reported the operation `Failed`, or a Location poll answered with an error.
    OperationFailed,
    /// The service reported the operation `Canceled`.
    OperationCanceled,
    /// A status-monitor poll failed (a non-transient error status, or transient ones past the limit).
    PollFailed,
    /// The GET of the final result failed.
    FinalGetFailed,
    /// A status-monitor body was not JSON.
    InvalidStatusBody,
    /// A status-monitor response had no string `status`.
    MissingStatus,
    /// No usable monitor, Location or result URL where one was needed.
    InvalidPollingUrl,
    /// A URL the layer was about to request is not on the original request's origin.
    CrossOriginPollingUrl,
    /// With `require_monitor_on_202`, a `202 Accepted` named no monitor.
    MissingPollingUrl,
    /// `max_polls` or `max_duration` was reached.
    TimedOut,
    /// A status-monitor body was larger than the body cap.
    BodyTooLarge,
    /// A resume token that cannot be used: malformed, of an unknown format version, or naming
    /// a method or URL that cannot be polled.
    InvalidResumeToken,
}

impl ErrorKind {
    /// The kind's name, as the behaviour page uses it.
    ///
    /// ```
    /// assert_eq!(tower_lro::ErrorKind::TimedOut.as_str(), "TimedOut");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::OperationFailed => "OperationFailed",
            ErrorKind::OperationCanceled => "OperationCanceled",
            ErrorKind::PollFailed => "PollFailed",
            ErrorKind::FinalGetFailed => "FinalGetFailed",
            ErrorKind::InvalidStatusBody => "InvalidStatusBody",
            ErrorKind::MissingStatus => "MissingStatus",
            ErrorKind::InvalidPollingUrl => "InvalidPollingUrl",
            ErrorKind::CrossOriginPollingUrl => "CrossOriginPollingUrl",
            ErrorKind::MissingPollingUrl => "MissingPollingUrl",
            ErrorKind::TimedOut => "TimedOut",
            ErrorKind::BodyTooLarge => "BodyTooLarge",
            ErrorKind::InvalidResumeToken => "InvalidResumeToken",
        }
    }

    pub(crate) fn phrase(self) -> &'static str {
        match self {
            ErrorKind::OperationFailed => "long-running operation failed",
            ErrorKind::OperationCanceled => "long-running operation was canceled",
            ErrorKind::PollFailed => "polling the long-running operation failed",
            ErrorKind::FinalGetFailed => "fetching the long-running operation's result failed",
            ErrorKind::InvalidStatusBody => "status monitor answered with a body that is not JSON",
            ErrorKind::MissingStatus => "status monitor answered without a status",
            ErrorKind::InvalidPollingUrl => "no usable polling URL",
            ErrorKind::CrossOriginPollingUrl => "refused a polling URL on another origin",
            ErrorKind::MissingPollingUrl => "202 Accepted without a polling URL",
            ErrorKind::TimedOut => "long-running operation exceeded its limit",
            ErrorKind::BodyTooLarge => "status monitor body exceeds the body cap",
            ErrorKind::InvalidResumeToken => "unusable resume token",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
