//! Picking an operation up from a resume token: data from outside, checked before anything is
//! sent. A token never chooses a method, a host or a dialect rule that the layer's own
//! configuration does not allow (behaviour §7).

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tokio::time::Instant;

use super::{Operation, Phase};
use crate::config::Config;
use crate::dialect::dispatch::Dialect;
use crate::dialect::DialectState;
use crate::dialect::Verb;
use crate::error::LroError;
use crate::error_kind::ErrorKind;
use crate::info::{LroDialect, MonitorKind};
use crate::resume::ResumeToken;
use crate::wire::url::{Origin, Target};

/// The most earlier polls a resume token may claim; more is clamped (it is only reported).
const MAX_EARLIER_POLLS: u32 = 1 << 24;

impl Operation {
    /// An operation picked up from a [`ResumeToken`]; the first request goes to its URL,
    /// after the wait the token says was due.
    ///
    /// The token is data from outside: its original URI must be on `origin` (the origin the
    /// caller expects), its next URL on that origin, the layer's allow-list or a host the
    /// layer lets its dialect admit, its dialect on in this layer, and its state consistent
    /// with that dialect; else nothing is sent. Its Location meets the origin rule when a
    /// final GET needs it, as in the uninterrupted run. Its poll count is clamped and only
    /// reported; this run gets its own budget.
    pub(crate) fn resume(
        token: &ResumeToken,
        origin: &http::Uri,
        config: &Arc<Config>,
        now: Instant,
    ) -> Result<Operation, LroError> {
        Operation::resume_with::<()>(token, origin, config, None, now)
    }

    /// [`Operation::resume`] through a request that carries the token: its headers and
    /// extensions go along as the original request's would, and `once` checks instead of
    /// polling to the end.
    pub(crate) fn resume_request<B>(
        req: &http::Request<B>,
        token: &ResumeToken,
        once: bool,
        config: &Arc<Config>,
        now: Instant,
    ) -> Result<Operation, LroError> {
        let mut op = Operation::resume_with(token, req.uri(), config, Some(req), now)?;
        if once {
            op.mode = super::Mode::CheckOnce;
            // A check asks now: no wait first.
            op.next_wait = 0;
        }
        Ok(op)
    }

    fn resume_with<B>(
        token: &ResumeToken,
        origin: &http::Uri,
        config: &Arc<Config>,
        req: Option<&http::Request<B>>,
        now: Instant,
    ) -> Result<Operation, LroError> {
        let bad = |what: &str| {
            LroError::new(ErrorKind::InvalidResumeToken)
                .with_detail(format!("resume token: {what}"))
        };
        let expected =
            Origin::of(origin).ok_or_else(|| bad("the expected origin is not absolute http(s)"))?;
        let method =
            Method::from_bytes(token.method.as_bytes()).map_err(|_| bad("unknown method"))?;
        let verb = Verb::of(&method).ok_or_else(|| bad("not a PUT, PATCH, POST or DELETE"))?;
        let orig = token
            .original_uri
            .parse()
            .ok()
            .and_then(|uri| Target::from_request(&uri))
            .ok_or_else(|| bad("unusable original URI"))?;
        // The next URL is the original one (a resource poll or its final GET), taken as the
        // caller sent it, or one a response named, which must be a valid reference.
        let target = if token.url == token.original_uri {
            orig.clone()
        } else {
            Target::resolve(&orig.uri, &token.url).ok_or_else(|| bad("unusable URL"))?
        };
        let state = &token.state;
        let location = match &token.location {
            // An unusable value is kept as it was: an error only if a rule needs it.
            Some(raw) if state.location_unusable => Some(Err(raw.clone())),
            Some(raw) => Some(Ok(
                Target::resolve(&orig.uri, raw).ok_or_else(|| bad("unusable Location"))?
            )),
            None if state.location_unusable => {
                return Err(bad("an unusable Location without a value"))
            }
            None => None,
        };
        let dialect = token.dialect;
        let custom = match (dialect, &state.dialect) {
            (LroDialect::Custom, DialectState::Custom(c)) => {
                let name = &c.name;
                let at = config.hosts.custom.iter().position(|d| d.0.name() == name);
                let at = at.and_then(|i| u16::try_from(i).ok()).ok_or_else(|| {
                    bad(&format!(
                        "no dialect named {name:?} is registered in this layer"
                    ))
                })?;
                Some(Dialect::Custom(at))
            }
            (LroDialect::Custom, _) => return Err(bad("a custom dialect without a name")),
            _ => None,
        };
        if custom.is_none() && !config.dialects.has(dialect) {
            let what = format!("the {} dialect is off in this layer", dialect.as_str());
            return Err(bad(&what));
        }
        // Before its dialect watched anything, an operation's URL is the original one.
        let unwatched =
            token.monitor == MonitorKind::ProvisioningState && token.url == token.original_uri;
        let machine = custom
            .or_else(|| Dialect::of(dialect))
            .ok_or_else(|| bad("an unknown dialect"))?;
        if !machine.watches(token.monitor) && !unwatched {
            let what = format!(
                "{} does not watch through {:?}",
                dialect.as_str(),
                token.monitor
            );
            return Err(bad(&what));
        }
        // The state is the dialect's own, or none (an error before its dialect kept any).
        let consistent = match &state.dialect {
            DialectState::None => true,
            DialectState::Google(_) => matches!(
                dialect,
                LroDialect::GoogleAip151 | LroDialect::GoogleDiscovery
            ),
            DialectState::Graph(_) => dialect == LroDialect::Graph,
            DialectState::Fabric(_) => dialect == LroDialect::Fabric,
            DialectState::OData(_) => dialect == LroDialect::OData,
            DialectState::Custom(_) => dialect == LroDialect::Custom,
        };
        if !consistent {
            return Err(bad("its state does not belong to its dialect"));
        }
        // Behaviour §3: polls are GETs; only Compute's `…/wait`, when this layer turns
        // `compute_wait` on, is a POST. The token's word alone never makes one.
        if token.polls_by_post()
            && !(dialect == LroDialect::GoogleDiscovery
                && config.hosts.google.compute_wait
                && !token.final_get
                && target.uri.path().ends_with("/wait")
                && target.uri.path().contains("/operations/"))
        {
            return Err(bad(
                "polls by POST: only a Compute operation's `…/wait` with GoogleOptions::compute_wait on",
            ));
        }
        if !expected.matches(&orig.uri) {
            return Err(cross_origin(&expected));
        }
        let mut op = Operation::new(verb, orig, config, None, now);
        let dialect = machine;
        op.dialect = Some(dialect);
        op.rules.final_state_via = state.final_state_via;
        op.rules.inline_result = state.inline_result;
        {
            let facts = &mut op.facts;
            facts.state = state.dialect.clone();
            facts.location = location.map(Box::new);
            facts.monitor = token.monitor;
            facts.status_word = state.status.clone().map(std::borrow::Cow::Owned);
            facts.matched_by = dialect.custom_name(&op.rules).unwrap_or("resume token");
            // What OData's start learned from the request.
            facts.asks_async = dialect.public() == LroDialect::OData;
        }
        if let Some(req) = req {
            // Same-origin requests carry these; the origin rule strips credentials per request.
            op.version = req.version();
            op.headers = super::PollHeaders::new(crate::wire::url::poll_headers(req.headers()));
            let mut extensions = req.extensions().clone();
            extensions.remove::<crate::options::LroOptions>();
            op.extensions = extensions;
        }
        op.headers.edit(|h| dialect.edit_poll_headers(h));
        // Whether the result's URL came from a redirect (which may carry its credential in its
        // query) is not in the token: shown redacted, failing closed.
        op.final_bare = token.final_get;
        op.earlier_polls = token.polls.min(MAX_EARLIER_POLLS);
        op.origin_form = token.origin_form;
        op.phase = if token.final_get {
            Phase::Final
        } else {
            Phase::Polling
        };
        // The dialect's hosts are admitted as in the live run (Graph's drive monitors, Fabric's
        // cluster hosts when this layer follows them); the layer's allow-list likewise.
        op.aim(target, None, now).map_err(|e| {
            if e.kind() == ErrorKind::CrossOriginPollingUrl {
                cross_origin(&expected)
            } else {
                e
            }
        })?;
        if !op.explicit_schedule {
            // After `aim`: Teams' floor reads the monitor's URL.
            op.schedule = dialect.default_schedule(&op.rules, &op.facts);
        }
        op.unhinted_waits = state.schedule_step;
        // A live run's waits are hints (capped at `max_interval`) or the schedule's steps (up to
        // its ceiling): a token's wait is held to the larger of the two, never shortened below.
        let longest = config.max_interval.max(op.schedule.ceiling());
        op.next_wait = super::nanos(Duration::from_millis(state.wait_ms).min(longest));
        op.transient_in_row = state.transient_in_row.min(config.max_transient_retries);
        // The first request follows the wait; a poll of the monitor counts against this run.
        if op.phase == Phase::Polling {
            op.polls = 1;
        }
        Ok(op)
    }
}

fn cross_origin(expected: &Origin) -> LroError {
    LroError::new(ErrorKind::CrossOriginPollingUrl).with_detail(format!(
        "resume token: a URL is not on {expected} or an allowed origin"
    ))
}
