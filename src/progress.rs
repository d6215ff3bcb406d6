//! Watching a running operation: a report before every wait, to a hook.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;

use crate::info::MonitorKind;
use crate::resume::ResumeToken;

/// Where a running operation stands, reported before each wait and before the final GET
/// (whose `next_wait` is zero).
///
/// ```
/// use tower_lro::{LroOptions, OnProgress};
/// let hook = OnProgress::new(|p| {
///     println!("{} {:?}% after {} polls, next in {:?}", p.status().unwrap_or("?"),
///              p.percent_complete(), p.polls(), p.next_wait());
/// });
/// let options = LroOptions::new().on_progress(hook);
/// # let _ = options;
/// ```
#[derive(Clone, PartialEq)]
pub struct Progress {
    pub(crate) status: Option<std::borrow::Cow<'static, str>>,
    pub(crate) percent_complete: Option<f64>,
    pub(crate) polls: u32,
    pub(crate) next_wait: Duration,
    pub(crate) monitor_kind: MonitorKind,
    pub(crate) monitor_url: Uri,
    pub(crate) token: ResumeToken,
}

/// The monitor's URL redacted (query values but `api-version`, userinfo); the token as its
/// own `Debug` shows it.
impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("status", &self.status)
            .field("percent_complete", &self.percent_complete)
            .field("polls", &self.polls)
            .field("next_wait", &self.next_wait)
            .field("monitor_kind", &self.monitor_kind)
            .field(
                "monitor_url",
                &crate::wire::redact::Redacted(&self.monitor_url).to_string(),
            )
            .field("token", &self.token)
            .finish()
    }
}

impl Progress {
    /// The last status or provisioningState word.
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { let _s: Option<&str> = p.status(); }
    /// ```
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// The last `percentComplete`.
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { let _p: Option<f64> = p.percent_complete(); }
    /// ```
    pub fn percent_complete(&self) -> Option<f64> {
        self.percent_complete
    }

    /// Poll requests made, counting the one about to be made (the final GET not counted).
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { let _n: u32 = p.polls(); }
    /// ```
    pub fn polls(&self) -> u32 {
        self.polls
    }

    /// How long until the next request.
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { let _d = p.next_wait(); }
    /// ```
    pub fn next_wait(&self) -> Duration {
        self.next_wait
    }

    /// How the operation is watched.
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { let _k = p.monitor_kind(); }
    /// ```
    pub fn monitor_kind(&self) -> MonitorKind {
        self.monitor_kind
    }

    /// The monitor's URL (the next request may go to the result's URL instead: see the token).
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { println!("{}", p.monitor_url()); }
    /// ```
    pub fn monitor_url(&self) -> &Uri {
        &self.monitor_url
    }

    /// A token to resume from this point, for example after a restart.
    ///
    /// ```
    /// # fn f(p: &tower_lro::Progress) { let _t = p.resume_token().clone(); }
    /// ```
    pub fn resume_token(&self) -> &ResumeToken {
        &self.token
    }
}

/// A progress hook: per request in [`LroOptions`](crate::LroOptions), or for every operation
/// through [`LroLayerBuilder::on_progress`](crate::LroLayerBuilder::on_progress).
///
/// It runs inside the response future's `poll`, so it must be quick: hand the report to a
/// channel (for example a `tokio::sync::watch` sender) rather than do I/O in it.
///
/// ```
/// let (tx, rx) = std::sync::mpsc::channel();
/// let hook = tower_lro::OnProgress::new(move |p| { let _ = tx.send(p.polls()); });
/// # let _ = (hook, rx);
/// ```
#[derive(Clone)]
pub struct OnProgress(Arc<dyn Fn(&Progress) + Send + Sync>);

impl OnProgress {
    /// Wraps a function.
    ///
    /// ```
    /// let hook = tower_lro::OnProgress::new(|_| {});
    /// # let _ = hook;
    /// ```
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        OnProgress(Arc::new(f))
    }

    pub(crate) fn call(&self, progress: &Progress) {
        (self.0)(progress)
    }
}

impl fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnProgress(..)")
    }
}

impl PartialEq for OnProgress {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
