//! The layer's settings, read by the operation machine and shared by every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::dialect::FinalStateVia;
use crate::dialect::HostRules;
use crate::info::DialectSet;
use crate::progress::OnProgress;
use crate::wire::retry_after::{Jitter, PollSchedule};
use crate::wire::url::AllowedOrigin;

/// The layer's settings, shared by every request through an `Arc`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The no-hint schedule; `None`: each dialect's own (Azure 1 s to 30 s, Google to 60 s).
    pub(crate) schedule: Option<PollSchedule>,
    pub(crate) dialects: DialectSet,
    pub(crate) hosts: Arc<HostRules>,
    pub(crate) max_interval: Duration,
    pub(crate) max_duration: Option<Duration>,
    pub(crate) max_polls: Option<u32>,
    pub(crate) max_transient_retries: u32,
    pub(crate) final_state_via: Option<FinalStateVia>,
    pub(crate) inspect_cap: usize,
    pub(crate) body_cap: usize,
    pub(crate) require_monitor_on_202: bool,
    pub(crate) allowed: Vec<AllowedOrigin>,
    pub(crate) any_404_after_delete: bool,
    pub(crate) add_api_version: bool,
    pub(crate) on_progress: Option<OnProgress>,
    /// With a seed, each operation's jitter draws follow from it and the operation's number.
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) operations: Arc<AtomicU64>,
    pub(crate) origin_form_scheme: Option<http::uri::Scheme>,
    pub(crate) inline_result: bool,
    pub(crate) generic_vocabulary: bool,
}

impl Config {
    /// The jitter seed of the next operation.
    pub(crate) fn next_jitter_seed(&self) -> u64 {
        match self.jitter_seed {
            Some(seed) => {
                let n = self.operations.fetch_add(1, Ordering::Relaxed);
                seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            }
            None => Jitter::fresh_seed(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            schedule: None,
            dialects: DialectSet::default(),
            hosts: Arc::default(),
            max_interval: Duration::from_secs(600),
            max_duration: None,
            max_polls: None,
            max_transient_retries: 3,
            final_state_via: None,
            inspect_cap: 1 << 20,
            body_cap: 1 << 20,
            require_monitor_on_202: false,
            allowed: Vec::new(),
            any_404_after_delete: false,
            add_api_version: false,
            on_progress: None,
            jitter_seed: None,
            operations: Arc::default(),
            origin_form_scheme: None,
            inline_result: false,
            generic_vocabulary: false,
        }
    }
}
