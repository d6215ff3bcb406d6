//! Picking an operation up from a resume token: data from outside, checked before anything is
//! sent.

use std::sync::Arc;

use http::Method;
use tokio::time::Instant;

use super::{Operation, Phase};
use crate::config::Config;
use crate::dialect::dispatch::Dialect;
use crate::dialect::Verb;
use crate::error::{ErrorKind, LroError};
use crate::resume::ResumeToken;
use crate::wire::url::{self, Admission, Origin, Target};

/// The most earlier polls a resume token may claim; more is clamped (it is only reported).
const MAX_EARLIER_POLLS: u32 = 1 << 24;

impl Operation {
    /// An operation picked up from a [`ResumeToken`]; the first request goes to its URL.
    ///
    /// The token is data from outside: its original URI must be on `origin` (the origin the
    /// caller expects), and its next URL on that origin or the layer's allow-list, or nothing
    /// is sent. Its Location meets the origin rule when a final GET needs it, as in the
    /// uninterrupted run. Its poll count is clamped and only reported; this run gets its own
    /// budget.
    pub(crate) fn resume(
        token: &ResumeToken,
        origin: &http::Uri,
        config: &Arc<Config>,
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
        let location = match &token.location {
            Some(raw) => {
                Some(Target::resolve(&orig.uri, raw).ok_or_else(|| bad("unusable Location"))?)
            }
            None => None,
        };
        // The Location is only ever a final-result URL: as in the uninterrupted run, the origin
        // rule refuses it when (and if) it is needed, before anything is sent to it.
        if !expected.matches(&orig.uri)
            || url::admit(origin, &config.allowed, &target.uri) == Admission::Refused
        {
            return Err(
                LroError::new(ErrorKind::CrossOriginPollingUrl).with_detail(format!(
                    "resume token: a URL is not on {expected} or an allowed origin"
                )),
            );
        }
        let mut op = Operation::new(verb, orig, config, None, now);
        let dialect = Dialect::of(token.dialect);
        op.dialect = Some(dialect);
        if !op.explicit_schedule {
            op.schedule = dialect.default_schedule(&op.facts);
        }
        if let Some(name) = &token.operation_name {
            op.facts.op_mut().name = Some(name.clone());
        }
        op.facts.poll_post = token.poll_post;
        op.facts.location = location.map(|l| Box::new(Ok(l)));
        op.facts.monitor = token.monitor;
        op.earlier_polls = token.polls.min(MAX_EARLIER_POLLS);
        op.origin_form = token.origin_form;
        op.phase = if token.final_get {
            Phase::Final
        } else {
            Phase::Polling
        };
        op.aim(target, None, now)?;
        // The first request goes out at once; a poll of the monitor counts against this run.
        if op.phase == Phase::Polling {
            op.polls = 1;
        }
        Ok(op)
    }
}
