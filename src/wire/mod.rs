//! What Azure puts on the wire: status bodies, retry hints and URLs.

pub(crate) mod redact;
pub(crate) mod retry_after;
pub(crate) mod status;
pub(crate) mod url;
