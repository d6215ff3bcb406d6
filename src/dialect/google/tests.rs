//! The Google dialects rule by rule, fed as bytes (behaviour §8.2 and §8.3).

use http::Response;
use tokio::time::Instant;

use super::super::dispatch::Dialect;
use super::super::{Facts, Reply, Rules, Seen, Verb, Verdict};
use crate::error_kind::ErrorKind;
use crate::info::{DialectSet, LroDialect};
use crate::wire::url::Target;

pub(super) const SPANNER: &str = "https://spanner.googleapis.com/v1/projects/P/instances?alt=json";
pub(super) const OP: &str = "projects/P/instances/I/operations/OP";

pub(super) fn rules() -> Rules {
    Rules {
        dialects: DialectSet::default()
            .with(LroDialect::GoogleAip151, true)
            .with(LroDialect::GoogleDiscovery, true),
        ..Rules::for_tests()
    }
}

pub(super) fn facts(method: Verb, url: &str) -> Facts {
    Facts::new(method, Target::from_request(&url.parse().unwrap()).unwrap())
}

/// Feeds a first response through dialect choice; returns the dialect and verdict.
pub(super) fn start(
    rules: &Rules,
    facts: &mut Facts,
    status: u16,
    body: &str,
) -> (Option<Dialect>, Verdict) {
    let (head, ()) = Response::builder()
        .status(status)
        .body(())
        .unwrap()
        .into_parts();
    let seen = match Dialect::body_cap(rules, facts, &head) {
        Some(_) => Seen::Whole(body.as_bytes()),
        None => Seen::Unread,
    };
    let reply = Reply {
        head: &head,
        body: seen,
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    };
    Dialect::start(rules, facts, reply)
}

pub(super) fn read(
    dialect: Dialect,
    rules: &Rules,
    facts: &mut Facts,
    status: u16,
    body: &str,
) -> Verdict {
    let (head, ()) = Response::builder()
        .status(status)
        .body(())
        .unwrap()
        .into_parts();
    let reply = Reply {
        head: &head,
        body: Seen::Whole(body.as_bytes()),
        now: Instant::now(),
        wall: &std::time::SystemTime::now,
    };
    dialect.read(rules, facts, reply)
}

pub(super) fn kind_of(verdict: &Verdict) -> Option<ErrorKind> {
    match verdict {
        Verdict::Fail { kind, .. } => Some(*kind),
        _ => None,
    }
}
