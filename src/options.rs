//! Per-request overrides, carried in request extensions.

use std::time::Duration;

use crate::dialect::FinalStateVia;
use crate::info::{DialectSet, LroDialect};
use crate::progress::OnProgress;
use crate::wire::retry_after::PollSchedule;

/// Overrides for one request: put it in the request's extensions.
///
/// Every field left unset uses the layer's setting.
///
/// ```
/// use std::time::Duration;
/// use tower_lro::{FinalStateVia, LroOptions};
///
/// let mut request = http::Request::post("https://management.azure.com/x?api-version=1")
///     .body(String::new())
///     .unwrap();
/// request.extensions_mut().insert(
///     LroOptions::new()
///         .final_state_via(FinalStateVia::Location)
///         .max_duration(Duration::from_secs(600)),
/// );
/// // Or leave this request alone entirely:
/// request.extensions_mut().insert(LroOptions::new().opt_out());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LroOptions {
    pub(crate) opt_out: bool,
    pub(crate) final_state_via: Option<FinalStateVia>,
    pub(crate) max_polls: Option<u32>,
    pub(crate) max_duration: Option<Duration>,
    pub(crate) schedule: Option<PollSchedule>,
    pub(crate) on_progress: Option<OnProgress>,
    pub(crate) inline_result: Option<bool>,
    pub(crate) dialect: Option<LroDialect>,
    /// Dialects turned on (`true`) or off for this request.
    pub(crate) dialects: Vec<(LroDialect, bool)>,
    /// Dialect settings for this request, in place of the layer's.
    pub(crate) google: Option<crate::GoogleOptions>,
    pub(crate) graph: Option<crate::GraphOptions>,
    pub(crate) fabric: Option<crate::FabricOptions>,
    /// Hand the first response over with a token instead of polling.
    pub(crate) hand_over: bool,
    /// This request resumes (or checks) the operation of a token instead of being sent.
    pub(crate) resume: Option<std::sync::Arc<(crate::ResumeToken, Resume)>>,
}

/// How a request carrying a token goes on with its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Poll to the end, as the uninterrupted call would have.
    ToTheEnd,
    /// One poll at once: the final response, the error, or the poll's answer with a fresh
    /// token when the operation still runs.
    Once,
}

impl LroOptions {
    /// No overrides.
    ///
    /// ```
    /// assert_eq!(tower_lro::LroOptions::new(), tower_lro::LroOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Pass this request's response through untouched, whatever it says.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().opt_out();
    /// # let _ = o;
    /// ```
    pub fn opt_out(mut self) -> Self {
        self.opt_out = true;
        self
    }

    /// Where the final result is, for this request.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().final_state_via(tower_lro::FinalStateVia::OriginalUri);
    /// # let _ = o;
    /// ```
    pub fn final_state_via(mut self, via: FinalStateVia) -> Self {
        self.final_state_via = Some(via);
        self
    }

    /// At most this many poll requests for this operation, then `TimedOut`.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().max_polls(100);
    /// # let _ = o;
    /// ```
    pub fn max_polls(mut self, polls: u32) -> Self {
        self.max_polls = Some(polls);
        self
    }

    /// A deadline this long after the call, for this request (see
    /// [`LroLayerBuilder::max_duration`](crate::LroLayerBuilder::max_duration)).
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().max_duration(std::time::Duration::from_secs(3600));
    /// # let _ = o;
    /// ```
    pub fn max_duration(mut self, limit: Duration) -> Self {
        self.max_duration = Some(limit);
        self
    }

    /// The waits used when the server gives no retry hint, for this request.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let fast = tower_lro::PollSchedule::fixed(Duration::from_millis(200)).unwrap();
    /// let o = tower_lro::LroOptions::new().schedule(fast);
    /// # let _ = o;
    /// ```
    pub fn schedule(mut self, schedule: PollSchedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// For this request, hand over a terminal status monitor's `result` member rather than the
    /// whole monitor body (see
    /// [`LroLayerBuilder::inline_result`](crate::LroLayerBuilder::inline_result)).
    ///
    /// ```
    /// use tower_lro::{FinalStateVia, LroOptions};
    /// let o = LroOptions::new()
    ///     .final_state_via(FinalStateVia::OperationLocation)
    ///     .inline_result(true);
    /// # let _ = o;
    /// ```
    pub fn inline_result(mut self, yes: bool) -> Self {
        self.inline_result = Some(yes);
        self
    }

    /// Resolve this request's response by `dialect`'s rules, whatever the layer's settings
    /// and the host (its response must still have the dialect's shape, or it passes through).
    ///
    /// ```
    /// use tower_lro::{LroDialect, LroOptions};
    /// let o = LroOptions::new().dialect(LroDialect::GoogleAip151);
    /// # let _ = o;
    /// ```
    pub fn dialect(mut self, dialect: LroDialect) -> Self {
        self.dialect = Some(dialect);
        self
    }

    /// Turn `dialect` on for this request, beside the layer's.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().enable(tower_lro::LroDialect::GoogleDiscovery);
    /// # let _ = o;
    /// ```
    pub fn enable(mut self, dialect: LroDialect) -> Self {
        self.dialects.push((dialect, true));
        self
    }

    /// Turn `dialect` off for this request.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().disable(tower_lro::LroDialect::Azure);
    /// # let _ = o;
    /// ```
    pub fn disable(mut self, dialect: LroDialect) -> Self {
        self.dialects.push((dialect, false));
        self
    }

    /// The layer's dialects with this request's changes.
    pub(crate) fn dialects_over(&self, layer: DialectSet) -> DialectSet {
        self.dialects
            .iter()
            .fold(layer, |set, &(dialect, on)| set.with(dialect, on))
    }

    /// Start now, check later: when the first response starts an operation, hand it over at
    /// once instead of polling. Its [`LroInfo`](crate::LroInfo) carries a
    /// [`resume_token`](crate::LroInfo::resume_token) to [`check`](LroOptions::check) or
    /// [`resume`](LroOptions::resume) it later (in this process or another). Nothing is polled;
    /// an operation already done on its first response resolves as usual.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new().hand_over();
    /// # let _ = o;
    /// ```
    pub fn hand_over(mut self) -> Self {
        self.hand_over = true;
        self
    }

    /// Check once on the operation of `token`: the request that carries these options is not
    /// sent; its URI names the origin the operation must be on (the token is data from outside:
    /// behaviour §7), its headers and extensions go along as the original request's would. The
    /// layer polls once, without waiting: the response is the final result (after the final
    /// GET, if the dialect needs one), or an error, or, while the operation runs, the poll's
    /// own answer whose `LroInfo` has the status, the progress and a fresh token.
    ///
    /// ```
    /// # fn f(token: tower_lro::ResumeToken) {
    /// let request = http::Request::get("https://management.azure.com/")
    ///     .extension(tower_lro::LroOptions::new().check(token))
    ///     .body(String::new())
    ///     .unwrap();
    /// # let _ = request;
    /// # }
    /// ```
    pub fn check(mut self, token: crate::ResumeToken) -> Self {
        self.resume = Some(std::sync::Arc::new((token, Resume::Once)));
        self
    }

    /// Resume the operation of `token` to its end, through any stack (the request-carried form
    /// of [`Lro::resume`](crate::Lro::resume)): the request that carries these options is not
    /// sent; its URI names the origin the operation must be on, its headers and extensions go
    /// along as the original request's would.
    ///
    /// ```
    /// # fn f(token: tower_lro::ResumeToken) {
    /// let request = http::Request::get("https://management.azure.com/")
    ///     .extension(tower_lro::LroOptions::new().resume(token))
    ///     .body(String::new())
    ///     .unwrap();
    /// # let _ = request;
    /// # }
    /// ```
    pub fn resume(mut self, token: crate::ResumeToken) -> Self {
        self.resume = Some(std::sync::Arc::new((token, Resume::ToTheEnd)));
        self
    }

    /// Google's settings for this request, in place of the layer's.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new()
    ///     .google(tower_lro::GoogleOptions::new().unwrap_response(true));
    /// # let _ = o;
    /// ```
    pub fn google(mut self, options: crate::GoogleOptions) -> Self {
        self.google = Some(options);
        self
    }

    /// Microsoft Graph's settings for this request, in place of the layer's.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new()
    ///     .graph(tower_lro::GraphOptions::new().monitor_hosts(["api.onedrive.com"]));
    /// # let _ = o;
    /// ```
    pub fn graph(mut self, options: crate::GraphOptions) -> Self {
        self.graph = Some(options);
        self
    }

    /// Microsoft Fabric's settings for this request, in place of the layer's.
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new()
    ///     .fabric(tower_lro::FabricOptions::new().follow_location(true));
    /// # let _ = o;
    /// ```
    pub fn fabric(mut self, options: crate::FabricOptions) -> Self {
        self.fabric = Some(options);
        self
    }

    /// The layer's dialect settings with this request's in their place (shared, not copied,
    /// when the request changes none).
    pub(crate) fn hosts_over(
        &self,
        layer: &std::sync::Arc<crate::dialect::HostRules>,
    ) -> std::sync::Arc<crate::dialect::HostRules> {
        if self.google.is_none() && self.graph.is_none() && self.fabric.is_none() {
            return layer.clone();
        }
        let mut hosts = (**layer).clone();
        if let Some(google) = &self.google {
            hosts.google = google.clone();
        }
        if let Some(graph) = &self.graph {
            hosts.graph = graph.clone();
        }
        if let Some(fabric) = &self.fabric {
            hosts.fabric = fabric.clone();
        }
        std::sync::Arc::new(hosts)
    }

    /// Report this operation's progress to `hook` before every wait (beside the layer's hook).
    ///
    /// ```
    /// let o = tower_lro::LroOptions::new()
    ///     .on_progress(tower_lro::OnProgress::new(|p| println!("{:?}", p.status())));
    /// # let _ = o;
    /// ```
    pub fn on_progress(mut self, hook: OnProgress) -> Self {
        self.on_progress = Some(hook);
        self
    }
}
