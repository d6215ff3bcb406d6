//! Contract §4: where the result is once a status monitor reports success.

use bytes::Bytes;
use http::StatusCode;

use super::{Next, Operation, Phase, Reply, Seen, Verb};
use crate::error::ErrorKind;
use crate::options::FinalStateVia;
use crate::wire::redact::redact_raw;
use crate::wire::status::StatusDoc;
use crate::wire::url::Target;

/// The raw JSON of a status monitor body's `result` member (a TypeSpec action's result).
fn result_member(body: Seen<'_>) -> Option<&str> {
    #[derive(serde::Deserialize)]
    struct Monitor<'a> {
        #[serde(borrow)]
        result: Option<&'a serde_json::value::RawValue>,
    }
    let bytes = body.whole()?;
    let monitor: Monitor<'_> = serde_json::from_slice(bytes).ok()?;
    monitor.result.map(|raw| raw.get())
}

/// Where the result is.
enum Pick {
    /// The terminal monitor response is the result.
    ThisResponse,
    Get(Target),
    /// The URL that holds the result is unusable.
    Unusable(String),
}

impl Operation {
    /// The status monitor said Succeeded: fetch the result, or return the monitor response.
    pub(super) fn succeeded(&mut self, doc: Option<&StatusDoc<'_>>, reply: Reply<'_>) -> Next {
        match self.pick(doc) {
            Pick::ThisResponse if self.inline_result => match result_member(reply.body) {
                Some(json) => Next::ReturnJson(Bytes::copy_from_slice(json.as_bytes())),
                None => Next::ReturnNoContent,
            },
            Pick::ThisResponse => {
                // The caller asked for synchronous semantics: no 201/202 as the result.
                let status =
                    matches!(reply.head.status.as_u16(), 201 | 202).then_some(StatusCode::OK);
                Next::Return { status }
            }
            Pick::Get(target) => {
                let target = self.for_request(target);
                self.final_url = Some(target.uri.clone());
                self.phase = Phase::Final;
                self.transient_in_row = 0;
                match self.aim(target, Some(reply), reply.now) {
                    Ok(()) => Next::Get {
                        delay: std::time::Duration::ZERO,
                    },
                    Err(e) => Next::Fail(e),
                }
            }
            Pick::Unusable(raw) => Next::Fail(
                self.response_error(ErrorKind::InvalidPollingUrl, reply)
                    .with_detail(format!("the result URL {:?} is unusable", redact_raw(&raw))),
            ),
        }
    }

    /// The first rule of §4 that matches.
    fn pick(&self, doc: Option<&StatusDoc<'_>>) -> Pick {
        let location = || match &self.location {
            Some(Ok(target)) => Some(Pick::Get(target.clone())),
            Some(Err(raw)) => Some(Pick::Unusable(raw.clone())),
            None => None,
        };
        // 1. final-state-via.
        match self.final_state_via {
            Some(FinalStateVia::Location) => {
                if let Some(pick) = location() {
                    return pick;
                }
            }
            Some(FinalStateVia::OriginalUri) => return Pick::Get(self.orig.clone()),
            Some(FinalStateVia::AzureAsyncOperation | FinalStateVia::OperationLocation)
                if self.verb == Verb::Post =>
            {
                return Pick::ThisResponse
            }
            _ => {}
        }
        // 2. DELETE.
        if self.verb == Verb::Delete {
            return Pick::ThisResponse;
        }
        // 3. resourceLocation.
        // A relative one resolves against the monitor that named it.
        if let Some(raw) = doc.and_then(|d| d.resource_location.as_deref()) {
            return match Target::resolve(&self.monitor_uri, raw) {
                Some(target) => Pick::Get(target),
                None => Pick::Unusable(raw.to_owned()),
            };
        }
        // 4. PUT / PATCH.
        if self.verb.writes_resource() {
            return Pick::Get(self.orig.clone());
        }
        // 5. POST with a Location.
        location().unwrap_or(Pick::ThisResponse)
    }
}
