//! Azure Resource Manager and Azure-style REST APIs: the behaviour page's §1–§4.

mod detect;
mod final_result;
mod monitor;

pub(crate) use detect::{body_cap, has_status_monitor as names_status_monitor, start};
pub(crate) use monitor::{poll_body_cap, read};

use crate::error::ErrorKind;
use crate::wire::status::State;

use super::Verdict;

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
