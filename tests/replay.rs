//! Replays real Azure long-running-operation recordings against `LroLayer`.
//!
//! Each recording in `tests/recordings/` (provenance and format in its README), or in the folder
//! `$TOWER_LRO_RECORDINGS` names instead, is served by a loopback hyper server while a real hyper client, wrapped in `LroLayer`, runs the
//! operation. The test compares what the layer returned and which recorded exchanges it asked
//! for with the file's `expect` object, and reports every file that differs, not just the first.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{AllowedOrigin, LroDialect, LroError, LroLayer, PollSchedule};

mod support;
use support::Pinned;

/// Files replayed at once: enough to keep two cores busy, few enough to keep sockets cheap.
const CONCURRENCY: usize = 8;
/// A replay that takes longer than this is hung: every wait is capped at 1 ms.
const FILE_TIMEOUT: Duration = Duration::from_secs(20);
/// The status the replay server answers when no recorded exchange fits a request.
const UNMATCHED: u16 = 599;

#[derive(Deserialize)]
struct Recording {
    exchanges: Vec<Exchange>,
    expect: Expect,
    /// How to set the layer up for this file; without it, the default layer.
    #[serde(default)]
    layer: LayerSpec,
}

/// A file's optional `"layer"` object: the dialects on, an allow-list, and whether the
/// recorded host names stay (the client then connects every host to the replay server) rather
/// than be rewritten to the server's origin, for rules that read host names.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LayerSpec {
    dialects: Option<Vec<LroDialect>>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    keep_hosts: bool,
}

#[derive(Deserialize)]
struct Exchange {
    request: RecordedRequest,
    response: RecordedResponse,
}

#[derive(Deserialize)]
struct RecordedRequest {
    method: String,
    uri: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Value,
}

#[derive(Deserialize)]
struct RecordedResponse {
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Error,
    Incomplete,
}

/// The file's `expect` object; `rule` and `notes` are for humans and not read.
#[derive(Deserialize)]
struct Expect {
    outcome: Outcome,
    status: Option<u16>,
    from_exchange: Option<usize>,
    error_kind: Option<String>,
    error_code: Option<String>,
    http_status: Option<u16>,
    requests: Vec<usize>,
}

/// One recorded exchange with every URL already moved to the replay server's origin.
struct Canned {
    method: Method,
    uri: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Canned {
    fn new(exchange: &Exchange, origin: &str) -> Result<Self, String> {
        let request = &exchange.request;
        let response = &exchange.response;
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|e| format!("bad method {:?}: {e}", request.method))?;
        let status = StatusCode::from_u16(response.status)
            .map_err(|e| format!("bad status {}: {e}", response.status))?;
        Ok(Canned {
            method,
            uri: rewrite_origins(&request.uri, origin),
            status,
            headers: header_map(&response.headers, origin)?,
            body: body_bytes(&response.body, origin),
        })
    }

    fn response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Recorded header names vary in case; `HeaderName` lower-cases them, values get the new origin.
fn header_map(headers: &BTreeMap<String, String>, origin: &str) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("bad header name {name:?}: {e}"))?;
        let value = HeaderValue::from_str(&rewrite_origins(value, origin))
            .map_err(|e| format!("bad value of header {name}: {e}"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// JSON bodies are re-serialized, string bodies are sent as they are, `null` is no body.
fn body_bytes(body: &Value, origin: &str) -> Bytes {
    match body {
        Value::Null => Bytes::new(),
        Value::String(text) => Bytes::from(rewrite_origins(text, origin)),
        json => Bytes::from(serde_json::to_vec(&rewrite_json(json, origin)).unwrap_or_default()),
    }
}

fn rewrite_json(value: &Value, origin: &str) -> Value {
    match value {
        Value::String(text) => Value::String(rewrite_origins(text, origin)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| rewrite_json(v, origin)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), rewrite_json(v, origin)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces every `https://<host>` and `https://<host>:443` by `origin`, so that the layer's
/// same-origin rule sees the replay server wherever the recording named an Azure host. URLs with
/// another explicit port (App Service publishing URLs in bodies) are left alone: they are never
/// requested, and rewriting only their host would break them.
fn rewrite_origins(text: &str, origin: &str) -> String {
    const SCHEME: &str = "https://";
    if origin.is_empty() {
        // `keep_hosts`: the recorded URLs stay as they are.
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest
        .as_bytes()
        .windows(SCHEME.len())
        .position(|w| w.eq_ignore_ascii_case(SCHEME.as_bytes()))
    {
        // The match is ASCII, so both split points are char boundaries.
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let (scheme, after_scheme) = from.split_at(SCHEME.len());
        let host_len = after_scheme
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
            .count();
        let after_host = &after_scheme[host_len..];
        let port_len = after_host
            .strip_prefix(':')
            .map_or(0, |p| 1 + p.bytes().take_while(u8::is_ascii_digit).count());
        let port = &after_host[..port_len];
        if host_len == 0 || !(port.is_empty() || port == ":443") {
            out.push_str(scheme);
            rest = after_scheme;
            continue;
        }
        out.push_str(origin);
        rest = &after_host[port.len()..];
    }
    out.push_str(rest);
    out
}

/// The README's second matching stage: scheme and host case, default port, percent-escape case.
fn normalise(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let scheme = scheme.to_ascii_lowercase();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    if !default_port.is_empty() && authority.ends_with(default_port) {
        authority.truncate(authority.len() - default_port.len());
    }
    let mut out = format!("{scheme}://{authority}");
    let mut chars = tail.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            // Only a complete escape is re-cased; a stray '%' stays as it was.
            let escape: String = chars.clone().take(2).collect();
            if escape.len() == 2 && escape.chars().all(|h| h.is_ascii_hexdigit()) {
                out.push_str(&escape.to_ascii_uppercase());
                chars.nth(1);
            }
        }
    }
    out
}

/// The README's last matching stage, for two documented recorder artifacts: the azure-cli
/// recorder writes `mock-deployment` for deployment names in request URIs (but not in headers),
/// and the Key Vault certificate client polls its Location without `request_id`.
fn loosen(uri: &str) -> String {
    mask_deployment(&drop_query_param(&normalise(uri), "request_id"))
}

fn drop_query_param(uri: &str, param: &str) -> String {
    let Some((base, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            !pair
                .split('=')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case(param)
        })
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

fn mask_deployment(uri: &str) -> String {
    const SEGMENT: &str = "/deployments/";
    let Some(at) = uri.to_ascii_lowercase().find(SEGMENT) else {
        return uri.to_owned();
    };
    let name_start = at + SEGMENT.len();
    let name_end = uri[name_start..]
        .find(['/', '?'])
        .map_or(uri.len(), |end| name_start + end);
    format!("{}mock-deployment{}", &uri[..name_start], &uri[name_end..])
}

/// The replay server's state: the recording, and what it has answered so far.
struct Script {
    exchanges: Vec<Canned>,
    served: Vec<usize>,
    problems: Vec<String>,
}

impl Script {
    fn answer(&mut self, method: &Method, uri: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let index = if self.served.is_empty() {
            let initial = &self.exchanges[0];
            if *method != initial.method || uri != initial.uri {
                self.problems.push(format!(
                    "initial request was {method} {uri}, recorded {} {}",
                    initial.method, initial.uri
                ));
            }
            Some(0)
        } else if *method != Method::GET || !body.is_empty() {
            self.problems.push(format!(
                "{method} {uri} with {} body bytes: polls must be bodiless GETs",
                body.len()
            ));
            None
        } else {
            let found = self.find(uri);
            if found.is_none() {
                self.problems
                    .push(format!("no recorded exchange for GET {uri}"));
            }
            found
        };
        match index {
            Some(i) => {
                self.served.push(i);
                self.exchanges[i].response()
            }
            None => unmatched(),
        }
    }

    /// The first exchange after the initial one, not served yet, whose URI matches: exactly,
    /// then normalised, then loosely.
    fn find(&self, uri: &str) -> Option<usize> {
        let stages: [fn(&str) -> String; 3] = [str::to_owned, normalise, loosen];
        stages.iter().find_map(|key| {
            let wanted = key(uri);
            (1..self.exchanges.len())
                .filter(|i| !self.served.contains(i))
                .find(|&i| key(&self.exchanges[i].uri) == wanted)
        })
    }
}

/// The answer to a request that no recorded exchange fits: a status no Azure service sends, so
/// the layer fails visibly instead of being fed an invented response.
fn unmatched() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(UNMATCHED).unwrap_or(StatusCode::NOT_IMPLEMENTED);
    response
}

/// Answers every connection from `script` until the task is aborted; aborting drops the
/// `JoinSet`, which ends the connections the client's pool still holds open.
async fn serve(listener: TcpListener, origin: String, script: Arc<Mutex<Script>>) {
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let script = script.clone();
        let origin = origin.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let script = script.clone();
            // Requests arrive in origin-form: the recorded URIs are absolute (with kept hosts,
            // `https://` and the `Host` header, as recorded).
            let uri = if origin.is_empty() {
                let host = request
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                format!("https://{host}{}", request.uri())
            } else {
                format!("{origin}{}", request.uri())
            };
            async move {
                let method = request.method().clone();
                let body = request
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let response = script
                    .lock()
                    .map(|mut s| s.answer(&method, &uri, &body))
                    .unwrap_or_else(|_| unmatched());
                Ok::<_, Infallible>(response)
            }
        });
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What the layer returned, reduced to what `expect` talks about.
enum Returned {
    Response { status: StatusCode, body: Bytes },
    Lro(LroError),
    Other(BoxError),
    TimedOut,
}

/// One replay: the layer's result and what the server saw.
struct Replayed {
    returned: Returned,
    /// The body served for each exchange, to compare the result with.
    bodies: Vec<Bytes>,
    /// Indices of the exchanges served, in order (0 is the initial request).
    served: Vec<usize>,
    /// Requests the server could not answer from the recording.
    problems: Vec<String>,
}

/// The verdict on one file.
enum Verdict {
    Passed,
    Incomplete,
    Failed(Vec<String>),
}

async fn replay_file(path: PathBuf) -> Verdict {
    let recording: Recording = match tokio::fs::read(&path)
        .await
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_slice(&text).map_err(|e| e.to_string()))
    {
        Ok(recording) => recording,
        Err(e) => return Verdict::Failed(vec![format!("unreadable recording: {e}")]),
    };
    let replayed = match run(&recording).await {
        Ok(replayed) => replayed,
        Err(e) => return Verdict::Failed(vec![format!("harness: {e}")]),
    };
    let expect = &recording.expect;
    if matches!(expect.outcome, Outcome::Incomplete) {
        // Nothing is asserted for these, but a hang still is a failure.
        return match replayed.returned {
            Returned::TimedOut => {
                Verdict::Failed(vec![format!("hung for more than {FILE_TIMEOUT:?}")])
            }
            _ => Verdict::Incomplete,
        };
    }
    let differences = compare(expect, &replayed);
    if differences.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed(differences)
    }
}

/// Starts the replay server, sends the initial request through the layer and reads the result.
async fn run(recording: &Recording) -> Result<Replayed, String> {
    if recording.exchanges.is_empty() {
        return Err("recording has no exchanges".into());
    }
    // Loopback only: the recordings never leave this machine.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let origin = if recording.layer.keep_hosts {
        String::new()
    } else {
        format!("http://{addr}")
    };
    let exchanges = recording
        .exchanges
        .iter()
        .enumerate()
        .map(|(i, e)| Canned::new(e, &origin).map_err(|err| format!("exchange {i}: {err}")))
        .collect::<Result<Vec<_>, _>>()?;
    let initial = &recording.exchanges[0].request;
    let mut request = Request::new(Full::new(body_bytes(&initial.body, &origin)));
    *request.method_mut() = exchanges[0].method.clone();
    *request.uri_mut() = exchanges[0]
        .uri
        .parse()
        .map_err(|e| format!("initial URI: {e}"))?;
    *request.headers_mut() = header_map(&initial.headers, &origin)?;

    let script = Arc::new(Mutex::new(Script {
        exchanges,
        served: Vec::new(),
        problems: Vec::new(),
    }));
    let server = tokio::spawn(serve(listener, origin, script.clone()));

    // Kept hosts: every host name connects to the replay server, `https` spoken as plain HTTP.
    let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(Pinned(addr));
    // Recorded Retry-After values go up to 61 s: the 1 ms cap keeps the replay fast while the
    // layer still parses every hint.
    let mut layer = LroLayer::builder()
        .schedule(PollSchedule::fixed(Duration::from_millis(1)).map_err(|e| e.to_string())?)
        .max_interval(Duration::from_millis(1));
    if let Some(dialects) = &recording.layer.dialects {
        for dialect in [
            LroDialect::Azure,
            LroDialect::GoogleAip151,
            LroDialect::GoogleDiscovery,
        ] {
            layer = if dialects.contains(&dialect) {
                layer.enable(dialect)
            } else {
                layer.disable(dialect)
            };
        }
    }
    for origin in &recording.layer.allow {
        layer = layer.allow_origin(AllowedOrigin::parse(origin).map_err(|e| e.to_string())?);
    }
    let layer = layer.build().map_err(|e| e.to_string())?;
    let service = ServiceBuilder::new().layer(layer).service(client);
    let exchange = async {
        let response = service.oneshot(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, BoxError>((status, body))
    };
    let returned = match tokio::time::timeout(FILE_TIMEOUT, exchange).await {
        Err(_) => Returned::TimedOut,
        Ok(Ok((status, body))) => Returned::Response { status, body },
        Ok(Err(error)) => match error.downcast::<LroError>() {
            Ok(lro) => Returned::Lro(*lro),
            Err(other) => Returned::Other(other),
        },
    };
    server.abort();

    let mut script = script
        .lock()
        .map_err(|_| "replay server panicked".to_string())?;
    Ok(Replayed {
        returned,
        bodies: script.exchanges.iter().map(|e| e.body.clone()).collect(),
        served: std::mem::take(&mut script.served),
        problems: std::mem::take(&mut script.problems),
    })
}

/// Every way the replay differs from `expect`.
fn compare(expect: &Expect, replayed: &Replayed) -> Vec<String> {
    let mut differences = Vec::new();
    match (&expect.outcome, &replayed.returned) {
        (Outcome::Ok, Returned::Response { status, body }) => {
            if Some(status.as_u16()) != expect.status {
                differences.push(format!(
                    "status: expected {}, got {}",
                    shown(expect.status),
                    status.as_u16()
                ));
            }
            let expected_body = match expect.from_exchange {
                Some(i) => replayed.bodies.get(i).cloned(),
                // The layer's synthesized 204 has no body.
                None => Some(Bytes::new()),
            };
            match expected_body {
                Some(expected) if !same_body(&expected, body) => differences.push(format!(
                    "body: expected that of exchange {} ({}), got {}",
                    shown(expect.from_exchange),
                    excerpt(&expected),
                    excerpt(body)
                )),
                Some(_) => {}
                None => differences.push(format!(
                    "expect names exchange {}, which the recording lacks",
                    shown(expect.from_exchange)
                )),
            }
        }
        (Outcome::Error, Returned::Lro(error)) => {
            let kind = error.kind().as_str();
            if Some(kind) != expect.error_kind.as_deref() {
                differences.push(format!(
                    "error kind: expected {}, got {kind} ({error})",
                    shown(expect.error_kind.as_deref())
                ));
            }
            if let Some(code) = &expect.error_code {
                if error.code() != Some(code.as_str()) {
                    differences.push(format!(
                        "error code: expected {code}, got {} ({error})",
                        shown(error.code())
                    ));
                }
            }
            if let Some(status) = expect.http_status {
                // The status the service gives the failure (Compute's `httpErrorStatusCode`)
                // where it names one, else that of the response that ended the operation.
                let got = error.service_status().or(error.status());
                if got.map(|s| s.as_u16()) != Some(status) {
                    differences.push(format!(
                        "error status: expected {status}, got {}",
                        shown(got.map(|s| s.as_u16()))
                    ));
                }
            }
        }
        (_, got) => differences.push(format!(
            "outcome: expected {}, got {}",
            describe_expected(expect),
            describe(got)
        )),
    }
    if replayed.served != expect.requests {
        differences.push(format!(
            "requests: expected {:?}, got {:?}",
            expect.requests, replayed.served
        ));
    }
    differences.extend(replayed.problems.iter().map(|p| format!("server: {p}")));
    differences
}

fn describe_expected(expect: &Expect) -> String {
    match expect.outcome {
        Outcome::Ok => format!(
            "ok {} with the body of exchange {}",
            shown(expect.status),
            shown(expect.from_exchange)
        ),
        Outcome::Error => format!(
            "error {} code {}",
            shown(expect.error_kind.as_deref()),
            shown(expect.error_code.as_deref())
        ),
        Outcome::Incomplete => "incomplete".into(),
    }
}

fn describe(returned: &Returned) -> String {
    match returned {
        Returned::Response { status, body } => {
            format!("ok {} ({})", status.as_u16(), excerpt(body))
        }
        Returned::Lro(error) => format!(
            "error {} code {}: {error}",
            error.kind().as_str(),
            shown(error.code())
        ),
        Returned::Other(error) => format!("non-LRO error: {error}"),
        Returned::TimedOut => format!("no answer within {FILE_TIMEOUT:?}"),
    }
}

/// An optional value for a report line.
fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// Bodies compare as JSON when both sides are JSON (key order and spacing do not matter),
/// byte for byte otherwise.
fn same_body(expected: &[u8], got: &[u8]) -> bool {
    match (
        serde_json::from_slice::<Value>(expected),
        serde_json::from_slice::<Value>(got),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => expected == got,
    }
}

fn excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 160;
    let text = String::from_utf8_lossy(body);
    if text.is_empty() {
        "empty body".into()
    } else if text.chars().count() > LIMIT {
        format!("{}...", text.chars().take(LIMIT).collect::<String>())
    } else {
        text.into_owned()
    }
}

fn recordings(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .filter(|path| {
            path.as_ref()
                .map_or(true, |p| p.extension().is_some_and(|e| e == "json"))
        })
        .collect::<Result<_, _>>()?;
    files.sort();
    Ok(files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_recorded_azure_operations() {
    let dir = match std::env::var_os("TOWER_LRO_RECORDINGS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings"),
    };
    let files = recordings(&dir)
        .unwrap_or_else(|e| panic!("cannot read the recordings folder {}: {e}", dir.display()));
    assert!(
        !files.is_empty(),
        "no *.json recordings in {}: the replay must replay something",
        dir.display()
    );

    // Each file runs in its own task so that a panic in one is reported, not fatal to all.
    let mut verdicts: Vec<(String, Verdict)> = futures::stream::iter(files)
        .map(|path| async move {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let verdict = match tokio::spawn(replay_file(path)).await {
                Ok(verdict) => verdict,
                Err(e) => Verdict::Failed(vec![format!("replay task failed: {e}")]),
            };
            (name, verdict)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    verdicts.sort_by(|a, b| a.0.cmp(&b.0));

    let count = |wanted: fn(&Verdict) -> bool| verdicts.iter().filter(|(_, v)| wanted(v)).count();
    let passed = count(|v| matches!(v, Verdict::Passed));
    let incomplete = count(|v| matches!(v, Verdict::Incomplete));
    let failures: Vec<String> = verdicts
        .iter()
        .filter_map(|(name, verdict)| match verdict {
            Verdict::Failed(differences) => {
                Some(format!("{name}:\n    {}", differences.join("\n    ")))
            }
            _ => None,
        })
        .collect();
    // Straight to stderr, past the test harness's capture: the count is shown on every run.
    let summary = format!(
        "replay: {} files, {passed} passed, {} failed, {incomplete} incomplete\n",
        verdicts.len(),
        failures.len()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), summary.as_bytes());
    assert!(
        failures.is_empty(),
        "{} recordings differ from expect:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
