//! Azure Resource Manager and Azure-style REST APIs: the behaviour page's §1–§4.

mod detect;
mod final_result;

pub use final_result::FinalStateVia;
mod monitor;

use http::response;

use super::builtin::Builtin;
use super::{Facts, Reply, Rules, Verdict};
use crate::error_kind::ErrorKind;
use crate::info::{LroDialect, MonitorKind};
use crate::wire::status::State;

/// Azure Resource Manager and Azure-style REST APIs.
pub(crate) struct Azure;

impl Builtin for Azure {
    fn public(&self) -> LroDialect {
        LroDialect::Azure
    }

    /// Every response its rules see is a candidate; the rows decide (§1).
    fn claim(
        &self,
        rules: &Rules,
        facts: &Facts,
        head: &response::Parts,
        _forced: bool,
    ) -> Option<Option<usize>> {
        Some(detect::body_cap(rules, facts, head))
    }

    fn start(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        detect::start(rules, facts, reply)
    }

    fn read(&self, rules: &Rules, facts: &mut Facts, reply: Reply<'_>) -> Verdict {
        monitor::read(rules, facts, reply)
    }

    fn watches(&self, kind: MonitorKind) -> bool {
        matches!(
            kind,
            MonitorKind::AzureAsyncOperation
                | MonitorKind::OperationLocation
                | MonitorKind::Location
                | MonitorKind::ProvisioningState
        )
    }

    /// A status monitor header makes Azure the only candidate (behaviour §8.1).
    fn preempts(&self, head: &response::Parts) -> bool {
        detect::has_status_monitor(&head.headers)
    }

    fn poll_body_cap(&self, rules: &Rules, facts: &Facts) -> usize {
        monitor::poll_body_cap(rules, facts)
    }
}

/// A terminal Failed or Canceled word: the operation's own failure.
fn ended(state: State) -> Verdict {
    Verdict::fail(if state == State::Canceled {
        ErrorKind::OperationCanceled
    } else {
        ErrorKind::OperationFailed
    })
}

#[cfg(test)]
mod tests_poll;
#[cfg(test)]
mod tests_start;
