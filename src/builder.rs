//! `LroLayerBuilder`: every setting of the layer, checked by `build`.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::config_error::ConfigError;
use crate::dialect::FinalStateVia;
use crate::info::LroDialect;
use crate::layer::LroLayer;
use crate::progress::OnProgress;
use crate::wire::retry_after::PollSchedule;
use crate::wire::url::AllowedOrigin;

impl LroLayer {
    /// Starts a configuration; [`LroLayerBuilder::build`] checks it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = tower_lro::LroLayer::builder()
    ///     .max_duration(Duration::from_secs(3600))
    ///     .max_transient_retries(0) // a retry layer sits below
    ///     .build()
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn builder() -> LroLayerBuilder {
        LroLayerBuilder {
            config: Config::default(),
        }
    }
}

/// Configuration of an [`LroLayer`]; every setter has a default from the behaviour page.
///
/// ```
/// use std::time::Duration;
/// use tower_lro::{AllowedOrigin, FinalStateVia, LroLayer, PollSchedule};
///
/// let layer = LroLayer::builder()
///     .schedule(PollSchedule::exponential(Duration::from_secs(2), 2, Duration::from_secs(60)).unwrap())
///     .max_interval(Duration::from_secs(120))
///     .max_polls(500)
///     .final_state_via(FinalStateVia::Location)
///     .inspection_cap(64 * 1024)
///     .require_monitor_on_202(true)
///     .allow_origin(AllowedOrigin::parse("https://ops.example.net").unwrap())
///     .build()
///     .unwrap();
/// # let _ = layer;
/// assert!(LroLayer::builder().max_interval(Duration::ZERO).build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct LroLayerBuilder {
    config: Config,
}

impl LroLayerBuilder {
    /// Adds a dialect of your own, asked before the built-in ones (see
    /// [`dialect::Dialect`](crate::dialect::Dialect) for the order of its calls). Names must
    /// be unique in a layer.
    ///
    /// ```
    /// # use tower_lro::dialect::{Claim, Dialect, Exchange, Step};
    /// # struct Jobs;
    /// # impl Dialect for Jobs {
    /// #     fn name(&self) -> &'static str { "jobs" }
    /// #     fn claim(&self, _: &http::Method, _: &http::Uri, _: &http::response::Parts) -> Claim { Claim::No }
    /// #     fn start(&self, _: &Exchange<'_>) -> Step { Step::pass_through() }
    /// #     fn read(&self, _: &Exchange<'_>) -> Step { Step::succeeded() }
    /// # }
    /// let layer = tower_lro::LroLayer::builder().with_dialect(Jobs).build().unwrap();
    /// # let _ = layer;
    /// assert!(tower_lro::LroLayer::builder().with_dialect(Jobs).with_dialect(Jobs).build().is_err());
    /// ```
    pub fn with_dialect(mut self, dialect: impl crate::dialect::Dialect) -> Self {
        Arc::make_mut(&mut self.config.hosts)
            .custom
            .push(crate::dialect::Registered(Arc::new(dialect)));
        self
    }

    /// Waits used when a response carries no retry hint (default 1 s doubling to 30 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = tower_lro::LroLayer::builder().schedule(tower_lro::PollSchedule::fixed(Duration::from_secs(5)).unwrap());
    /// # let _ = b;
    /// ```
    pub fn schedule(mut self, schedule: PollSchedule) -> Self {
        self.config.schedule = Some(schedule);
        self
    }

    /// The longest a server's retry hint may make the layer wait (default 10 minutes).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().max_interval(std::time::Duration::from_secs(60));
    /// # let _ = b;
    /// ```
    pub fn max_interval(mut self, cap: Duration) -> Self {
        self.config.max_interval = cap;
        self
    }

    /// A deadline for each operation, counted from the call (default: none). Once the first
    /// response has arrived, no wait, poll, body read or final GET runs past it: the result is
    /// `TimedOut` with the last response and a resume token. The original request itself is
    /// bounded by a timeout layer, as without this layer.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().max_duration(std::time::Duration::from_secs(1800));
    /// # let _ = b;
    /// ```
    pub fn max_duration(mut self, limit: Duration) -> Self {
        self.config.max_duration = Some(limit);
        self
    }

    /// End an operation with `TimedOut` rather than send more poll requests (default: no limit).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().max_polls(1000);
    /// # let _ = b;
    /// ```
    pub fn max_polls(mut self, polls: u32) -> Self {
        self.config.max_polls = Some(polls);
        self
    }

    /// Transient answers (408, 429, 500, 502, 503, 504) retried in a row before the poll fails
    /// (default 3; set 0 when a retry layer sits below).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().max_transient_retries(0);
    /// # let _ = b;
    /// ```
    pub fn max_transient_retries(mut self, retries: u32) -> Self {
        self.config.max_transient_retries = retries;
        self
    }

    /// Where the final result is when a status monitor reports success (default: the
    /// contract's per-method rules).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().final_state_via(tower_lro::FinalStateVia::Location);
    /// # let _ = b;
    /// ```
    pub fn final_state_via(mut self, via: FinalStateVia) -> Self {
        self.config.final_state_via = Some(via);
        self
    }

    /// How much of a 200/201/202 body is read to look for a status (default 1 MiB). A larger
    /// body is not inspected and reaches the caller whole.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().inspection_cap(256 * 1024);
    /// # let _ = b;
    /// ```
    pub fn inspection_cap(mut self, bytes: usize) -> Self {
        self.config.inspect_cap = bytes;
        self
    }

    /// The largest status-monitor body accepted (default 1 MiB); a larger one is `BodyTooLarge`.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().monitor_body_cap(64 * 1024);
    /// # let _ = b;
    /// ```
    pub fn monitor_body_cap(mut self, bytes: usize) -> Self {
        self.config.body_cap = bytes;
        self
    }

    /// Make a `202 Accepted` without any monitor header (and without a running
    /// provisioningState) a `MissingPollingUrl` error instead of handing it over as done
    /// (default off: Azure Storage and ADLS data-plane writes answer such a 202 when they are
    /// done). The decision is made on the head: the body is not read.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().require_monitor_on_202(true);
    /// # let _ = b;
    /// ```
    pub fn require_monitor_on_202(mut self, yes: bool) -> Self {
        self.config.require_monitor_on_202 = yes;
        self
    }

    /// Admit another origin for monitor and result URLs. Credential headers are stripped for
    /// it unless [`AllowedOrigin::with_credentials`] says otherwise.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder()
    ///     .allow_origin(tower_lro::AllowedOrigin::parse("https://ops.example.net").unwrap());
    /// # let _ = b;
    /// ```
    pub fn allow_origin(mut self, origin: AllowedOrigin) -> Self {
        self.config.allowed.push(origin);
        self
    }

    /// Treat any 404 from a Location poll after a DELETE as "deleted" (default: only a 404 from
    /// the deleted resource's own path).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().any_404_after_delete(true);
    /// # let _ = b;
    /// ```
    pub fn any_404_after_delete(mut self, yes: bool) -> Self {
        self.config.any_404_after_delete = yes;
        self
    }

    /// Add the original request's `api-version` to monitor and result URLs that lack one, as
    /// Azure data-plane services expect (default off: URLs are used exactly as given).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().add_api_version(true);
    /// # let _ = b;
    /// ```
    pub fn add_api_version(mut self, yes: bool) -> Self {
        self.config.add_api_version = yes;
        self
    }

    /// When the result is a status monitor's own last response (a POST with
    /// `final-state-via: operation-location`, as Azure data-plane actions defined with TypeSpec
    /// finish), hand over its `result` member as the body of a `200 OK` with
    /// `Content-Type: application/json`; without a `result` member, a `204 No Content`
    /// (default off: the whole monitor body). Go's SDK calls this the result path.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().inline_result(true);
    /// # let _ = b;
    /// ```
    pub fn inline_result(mut self, yes: bool) -> Self {
        self.config.inline_result = yes;
        self
    }

    /// On Location polls, read a `200`'s top-level `status` by the generic vocabulary of
    /// asynchronous request-reply endpoints (lowercased, spaces, `_` and `-` removed):
    /// notstarted, pending, queued, accepted, running, inprogress, processing: running;
    /// succeeded, completed: done; failed; canceled, cancelled (default off: the word is then a
    /// resource property unless it is one of Azure's).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().generic_vocabulary(true);
    /// # let _ = b;
    /// ```
    pub fn generic_vocabulary(mut self, yes: bool) -> Self {
        self.config.generic_vocabulary = yes;
        self
    }

    /// Google's settings (hosts, `unwrap_response`, `fetch_target`, `compute_wait`); the
    /// dialects themselves are turned on with [`enable`](LroLayerBuilder::enable).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder()
    ///     .google(tower_lro::GoogleOptions::new().compute_wait(true));
    /// # let _ = b;
    /// ```
    pub fn google(mut self, options: crate::GoogleOptions) -> Self {
        Arc::make_mut(&mut self.config.hosts).google = options;
        self
    }

    /// Microsoft Graph's settings (its hosts and its drive monitors' hosts).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder()
    ///     .graph(tower_lro::GraphOptions::new().hosts(["graph.microsoft.com"]));
    /// # let _ = b;
    /// ```
    pub fn graph(mut self, options: crate::GraphOptions) -> Self {
        Arc::make_mut(&mut self.config.hosts).graph = options;
        self
    }

    /// Microsoft Fabric's settings (its hosts, `follow_location`).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder()
    ///     .fabric(tower_lro::FabricOptions::new().follow_location(true));
    /// # let _ = b;
    /// ```
    pub fn fabric(mut self, options: crate::FabricOptions) -> Self {
        Arc::make_mut(&mut self.config.hosts).fabric = options;
        self
    }

    /// Turns a dialect on for every request (Google's are off by default).
    ///
    /// ```
    /// use tower_lro::{LroDialect, LroLayer};
    /// let layer = LroLayer::builder()
    ///     .enable(LroDialect::GoogleAip151)
    ///     .enable(LroDialect::GoogleDiscovery)
    ///     .build()
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn enable(mut self, dialect: LroDialect) -> Self {
        self.config.dialects = self.config.dialects.with(dialect, true);
        self
    }

    /// Turns a dialect off for every request (`LroOptions::enable` turns it on for one).
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().disable(tower_lro::LroDialect::Azure);
    /// # let _ = b;
    /// ```
    pub fn disable(mut self, dialect: LroDialect) -> Self {
        self.config.dialects = self.config.dialects.with(dialect, false);
        self
    }

    /// Makes the schedule's jitter ([`PollSchedule::with_jitter`]) repeatable: operation *n*
    /// through this layer draws from `seed` and *n* (default: a fresh seed per operation).
    ///
    /// ```
    /// use tower_lro::{LroLayer, PollSchedule};
    /// let layer = LroLayer::builder()
    ///     .schedule(PollSchedule::default().with_jitter(0.3).unwrap())
    ///     .jitter_seed(7)
    ///     .build()
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.config.jitter_seed = Some(seed);
        self
    }

    /// Resolve operations of origin-form requests too: a URI with a path but no scheme or
    /// authority, as hyper's connection-level `SendRequest` takes, is read as
    /// `scheme://<Host header><path>`. Its polls go out the same way (the path, and the
    /// authority in `Host`), and only to its own origin, since such a service is bound to one
    /// connection. Without this setting (the default), or without a `Host` header, such requests
    /// pass through untouched: the layer has no origin to hold polls to.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder().origin_form_scheme(http::uri::Scheme::HTTPS);
    /// # let _ = b;
    /// ```
    pub fn origin_form_scheme(mut self, scheme: http::uri::Scheme) -> Self {
        self.config.origin_form_scheme = Some(scheme);
        self
    }

    /// Report every operation's progress to `hook` before each wait.
    ///
    /// ```
    /// let b = tower_lro::LroLayer::builder()
    ///     .on_progress(tower_lro::OnProgress::new(|p| eprintln!("{:?} {:?}", p.status(), p.percent_complete())));
    /// # let _ = b;
    /// ```
    pub fn on_progress(mut self, hook: OnProgress) -> Self {
        self.config.on_progress = Some(hook);
        self
    }

    /// Checks the configuration and makes the layer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_lro::LroLayer;
    /// assert!(LroLayer::builder().monitor_body_cap(0).build().is_err());
    /// assert!(LroLayer::builder().inspection_cap(0).build().is_err());
    /// assert!(LroLayer::builder().max_polls(0).build().is_err());
    /// assert!(LroLayer::builder().max_duration(Duration::ZERO).build().is_err());
    /// // Huge values are fine: every wait and count saturates.
    /// assert!(LroLayer::builder().max_interval(Duration::MAX).max_duration(Duration::MAX).build().is_ok());
    /// ```
    pub fn build(self) -> Result<LroLayer, ConfigError> {
        let c = &self.config;
        if c.max_interval.is_zero() {
            return Err(ConfigError::new("max_interval must be above zero"));
        }
        if c.body_cap == 0 {
            return Err(ConfigError::new("the monitor body cap must be above zero"));
        }
        if c.inspect_cap == 0 {
            return Err(ConfigError::new(
                "the inspection cap must be above zero (no provisioningState could be read)",
            ));
        }
        if c.max_polls == Some(0) {
            return Err(ConfigError::new(
                "max_polls must be at least 1 (use LroOptions::opt_out to never poll)",
            ));
        }
        if c.hosts.google.scope.is_empty() {
            return Err(ConfigError::new("the Google host scope names no host"));
        }
        if c.max_duration.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::new("max_duration must be above zero"));
        }
        let names: Vec<&str> = c.hosts.custom.iter().map(|d| d.0.name()).collect();
        if names
            .iter()
            .enumerate()
            .any(|(i, n)| names.get(..i).is_some_and(|before| before.contains(n)))
        {
            return Err(ConfigError::new(
                "two dialects share a name (tokens name their dialect)",
            ));
        }
        Ok(LroLayer {
            config: Arc::new(self.config),
        })
    }
}
