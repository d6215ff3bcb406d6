//! What services put on the wire, read the same way by every dialect: status bodies, retry
//! hints, URLs and their redaction, and the headers kept past their response.

pub(crate) mod headers;
pub(crate) mod host;
pub(crate) mod redact;
pub(crate) mod retry_after;
pub(crate) mod status;
pub(crate) mod url;
