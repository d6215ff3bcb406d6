//! Behaviour §4: where the result is once a status monitor reports success.

use bytes::Bytes;
use http::StatusCode;

use super::super::{Facts, Reply, Rules, Seen, Verb, Verdict};
use crate::error_kind::ErrorKind;
use crate::wire::redact::redact_raw;
use crate::wire::status::StatusDoc;
use crate::wire::url::Target;

/// Which URL holds an operation's final result once its status monitor reports success
/// (the OpenAPI `x-ms-long-running-operation-options.final-state-via`).
///
/// ```
/// use tower_lro::FinalStateVia;
/// assert_eq!("original-uri".parse::<FinalStateVia>(), Ok(FinalStateVia::OriginalUri));
/// assert!("elsewhere".parse::<FinalStateVia>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinalStateVia {
    /// GET the latest `Location` header value.
    Location,
    /// GET the original request's URI.
    OriginalUri,
    /// For POST: the terminal `Azure-AsyncOperation` response is the result.
    AzureAsyncOperation,
    /// For POST: the terminal `Operation-Location` response is the result.
    OperationLocation,
}

impl std::str::FromStr for FinalStateVia {
    type Err = crate::ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "location" => Ok(FinalStateVia::Location),
            "original-uri" => Ok(FinalStateVia::OriginalUri),
            "azure-async-operation" => Ok(FinalStateVia::AzureAsyncOperation),
            "operation-location" => Ok(FinalStateVia::OperationLocation),
            _ => Err(crate::ConfigError::new("unknown final-state-via")),
        }
    }
}

/// Where the result is.
enum Pick {
    /// The terminal monitor response is the result.
    ThisResponse,
    Get(Target),
    /// The URL that holds the result is unusable.
    Unusable(String),
}

/// The status monitor said Succeeded: fetch the result, or return the monitor response.
pub(super) fn succeeded(
    rules: &Rules,
    facts: &Facts,
    doc: Option<&StatusDoc<'_>>,
    reply: Reply<'_>,
) -> Verdict {
    match pick(rules, facts, doc) {
        Pick::ThisResponse if rules.inline_result => match result_member(reply.body) {
            Some(json) => Verdict::Json(Bytes::copy_from_slice(json.as_bytes())),
            None => Verdict::NoContent,
        },
        Pick::ThisResponse => {
            // The caller asked for synchronous semantics: no 201/202 as the result.
            let status = matches!(reply.head.status.as_u16(), 201 | 202).then_some(StatusCode::OK);
            Verdict::Result { status }
        }
        Pick::Get(target) => Verdict::Fetch(facts.for_request(target, rules)),
        Pick::Unusable(raw) => Verdict::fail_because(
            ErrorKind::InvalidPollingUrl,
            format!("the result URL {:?} is unusable", redact_raw(&raw)),
        ),
    }
}

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

/// The first rule of §4 that matches.
fn pick(rules: &Rules, facts: &Facts, doc: Option<&StatusDoc<'_>>) -> Pick {
    let location = || match facts.location.as_deref() {
        Some(Ok(target)) => Some(Pick::Get(target.clone())),
        Some(Err(raw)) => Some(Pick::Unusable(raw.clone())),
        None => None,
    };
    // 1. final-state-via.
    match rules.final_state_via {
        Some(FinalStateVia::Location) => {
            if let Some(pick) = location() {
                return pick;
            }
        }
        Some(FinalStateVia::OriginalUri) => return Pick::Get(facts.orig.clone()),
        Some(FinalStateVia::AzureAsyncOperation | FinalStateVia::OperationLocation)
            if facts.verb == Verb::Post =>
        {
            return Pick::ThisResponse
        }
        _ => {}
    }
    // 2. DELETE.
    if facts.verb == Verb::Delete {
        return Pick::ThisResponse;
    }
    // 3. resourceLocation: a relative one resolves against the monitor that named it.
    if let Some(raw) = doc.and_then(|d| d.resource_location.as_deref()) {
        return match Target::resolve(facts.monitor_uri(), raw) {
            Some(target) => Pick::Get(target),
            None => Pick::Unusable(raw.to_owned()),
        };
    }
    // 4. PUT / PATCH.
    if facts.verb.writes_resource() {
        return Pick::Get(facts.orig.clone());
    }
    // 5. POST with a Location.
    location().unwrap_or(Pick::ThisResponse)
}
