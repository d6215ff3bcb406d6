//! `tracing` output (feature `tracing`): one span per operation, a DEBUG event per step.
//!
//! URLs are recorded with query values redacted except `api-version` (they can hold SAS
//! signatures); header values are never recorded.

use http::StatusCode;

use crate::operation::{Next, Operation};
#[cfg(feature = "tracing")]
use crate::wire::redact::Redacted;

/// The operation's span, entered while this lives (nothing without the `tracing` feature).
pub(crate) struct Entered {
    #[cfg(feature = "tracing")]
    _span: tracing::span::EnteredSpan,
}

/// The span of one operation, opened at its first poll so that pass-through costs nothing.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
}

impl Trace {
    /// Records what the operation decided about a response with `status`.
    #[cfg(feature = "tracing")]
    pub(crate) fn step(&mut self, op: &Operation, status: StatusCode, next: &Next) {
        let status = status.as_u16();
        match next {
            Next::PassThrough => {}
            // The final GET is named as such: it is no poll of the monitor.
            Next::Get { delay } if op.is_final_get() => {
                tracing::debug!(
                    parent: self.span(op),
                    status,
                    word = op.status_word(),
                    delay_ms = delay.as_millis() as u64,
                    url = %Redacted(op.target_uri()),
                    "lro final get scheduled"
                );
            }
            Next::Get { delay } => {
                tracing::debug!(
                    parent: self.span(op),
                    status,
                    word = op.status_word(),
                    delay_ms = delay.as_millis() as u64,
                    attempt = op.polls(),
                    url = %Redacted(op.target_uri()),
                    "lro poll scheduled"
                );
            }
            Next::Respond(_) => {
                if let Some(span) = &self.span {
                    tracing::debug!(parent: span, status, word = op.status_word(), polls = op.polls(), "lro resolved");
                }
            }
            Next::Fail(error) => {
                tracing::debug!(parent: self.span(op), status, kind = error.kind().as_str(), polls = op.polls(), "lro failed");
            }
        }
    }

    /// The operation's span, opened on first use.
    #[cfg(feature = "tracing")]
    fn span(&mut self, op: &Operation) -> &tracing::Span {
        self.span
            .get_or_insert_with(|| tracing::debug_span!("lro", url = %Redacted(op.original_uri())))
    }

    #[cfg(not(feature = "tracing"))]
    pub(crate) fn step(&mut self, _: &Operation, _: StatusCode, _: &Next) {}

    /// Enters the operation's span while a poll or the final GET is polled, so that the inner
    /// service's `call` and future run inside it: a tracing layer below gets it as parent.
    #[cfg(feature = "tracing")]
    pub(crate) fn enter(&mut self, op: &Operation) -> Entered {
        Entered {
            _span: self.span(op).clone().entered(),
        }
    }

    #[cfg(not(feature = "tracing"))]
    pub(crate) fn enter(&mut self, _: &Operation) -> Entered {
        Entered {}
    }
}
