//! Behaviour §7: a resumed operation resolves exactly as the uninterrupted one would. Each
//! script is run whole, then stopped after every request it makes; the token (through its JSON
//! text) resumes a fresh operation of the same configuration, which is fed the rest of the
//! script. Requests (method, URL, credentials, wait) and the outcome must be the same.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use tokio::time::Instant;

use super::{Next, Operation, Reply, Seen};
use crate::config::Config;
use crate::dialect::FinalStateVia;
use crate::info::LroDialect;
use crate::options::LroOptions;
use crate::poll::LroPoll;
use crate::resume::ResumeToken;

/// Status, headers and body of one response.
type Scripted = (u16, Vec<(&'static str, &'static str)>, &'static str);

struct Script {
    name: &'static str,
    method: &'static str,
    url: &'static str,
    headers: &'static [(&'static str, &'static str)],
    config: fn() -> Config,
    options: Option<LroOptions>,
    /// Status, headers, body of each response in turn.
    replies: Vec<Scripted>,
    /// A word the uninterrupted outcome must contain, so that each script reaches its path.
    expect: &'static str,
}

fn feed(op: &mut Operation, reply: &Scripted, now: Instant) -> Next {
    let (status, headers, body) = reply;
    let mut builder = Response::builder().status(*status);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let (head, ()) = builder.body(()).unwrap().into_parts();
    let seen = match op.body_cap(&head) {
        None => Seen::Unread,
        Some(cap) if body.len() > cap => Seen::Partial(&body.as_bytes()[..cap]),
        Some(_) => Seen::Whole(body.as_bytes()),
    };
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    op.on_response(Reply {
        head: &head,
        body: seen,
        now,
        wall: &|| wall,
    })
}

/// A request as layers below see it: what must match between the runs.
fn request_line(op: &Operation, delay: Duration) -> String {
    let req = op.request::<()>();
    let poll = req.extensions().get::<LroPoll>().expect("a marker");
    format!(
        "{} {} after {delay:?} credentials={} same_origin={} final={} prefer={:?}",
        req.method(),
        req.uri(),
        poll.credentials_allowed(),
        poll.same_origin(),
        poll.final_get(),
        req.headers().get("prefer"),
    )
}

fn outcome(next: &Next) -> String {
    match next {
        Next::Fail(e) => format!(
            "fail {:?} code={:?} message={:?} status={:?} body={:?}",
            e.kind(),
            e.code(),
            e.message(),
            e.status(),
            String::from_utf8_lossy(e.body())
        ),
        Next::Respond(r) => format!(
            "respond {:?} {:?} {:?} {:?}",
            r.status, r.headers, r.remove, r.body
        ),
        other => format!("{other:?}"),
    }
}

/// Runs `script` from response `from` on, after `op` made its request; returns the log.
fn run_on(op: &mut Operation, script: &Script, from: usize, now: Instant) -> Vec<String> {
    let mut log = Vec::new();
    for reply in &script.replies[from..] {
        let next = feed(op, reply, now);
        match next {
            Next::Get { delay } => log.push(request_line(op, delay)),
            other => {
                log.push(outcome(&other));
                return log;
            }
        }
    }
    log.push("script ran out".to_owned());
    log
}

fn start(script: &Script, now: Instant) -> Operation {
    let mut req = Request::builder().method(script.method).uri(script.url);
    for (k, v) in script.headers {
        req = req.header(*k, *v);
    }
    let mut req = req
        .header("authorization", "Bearer secret")
        .body(())
        .unwrap();
    if let Some(options) = &script.options {
        req.extensions_mut().insert(options.clone());
    }
    Operation::start(&req, &Arc::new((script.config)()), now).expect("a candidate")
}

fn check(script: &Script) {
    let now = Instant::now();
    let mut whole = start(script, now);
    let log = run_on(&mut whole, script, 0, now);
    let last = log.last().unwrap();
    assert!(last.contains(script.expect), "{}: {log:#?}", script.name);
    // Stop after each request (response `k` led to it), resume from the token's text.
    for k in 1..log.len() {
        let mut op = start(script, now);
        let mut upto = Vec::new();
        for reply in &script.replies[..k] {
            if let Next::Get { delay } = feed(&mut op, reply, now) {
                upto.push(request_line(&op, delay));
            }
        }
        let text = op.token().to_string();
        let token: ResumeToken = text.parse().expect("the token's own text parses");
        let origin: http::Uri = script.url.parse().unwrap();
        let config = Arc::new((script.config)());
        let mut resumed = Operation::resume(&token, &origin, &config, now)
            .unwrap_or_else(|e| panic!("{}: stop {k}: {e}\n{text}", script.name));
        // The resumed run's first request is the one the stop interrupted.
        let first = request_line(&resumed, resumed.resumed_wait());
        assert_eq!(
            Some(&first),
            upto.last(),
            "{}: stop {k}\n{text}",
            script.name
        );
        upto.extend(run_on(&mut resumed, script, k, now));
        assert_eq!(
            upto, log,
            "{}: stopped after request {k}\n{text}",
            script.name
        );
    }
}

fn google() -> Config {
    let mut config = Config::default();
    config.dialects = crate::options::LroOptions::new()
        .enable(LroDialect::GoogleAip151)
        .dialects_over(config.dialects);
    config
}

#[test]
fn every_dialect_resumes_to_the_same_requests_and_outcome() {
    let scripts = [
        Script {
            name: "azure put, hint kept across the stop",
            method: "PUT",
            url: "https://management.azure.com/things/t1?api-version=1",
            headers: &[],
            config: Config::default,
            options: None,
            replies: vec![
                (201, vec![("azure-asyncoperation", "/ops/1?api-version=1"), ("retry-after", "7")], "{}"),
                (200, vec![("retry-after", "3")], r#"{"status":"Running"}"#),
                (200, vec![], r#"{"status":"Running"}"#),
                (200, vec![], r#"{"status":"Running"}"#),
                (200, vec![], r#"{"status":"Succeeded"}"#),
                (200, vec![], r#"{"id":"t1"}"#),
            ],
            expect: "respond",
        },
        Script {
            name: "azure post with a per-request final_state_via",
            method: "POST",
            url: "https://management.azure.com/things/t1/act?api-version=1",
            headers: &[],
            config: Config::default,
            options: Some(LroOptions::new().final_state_via(FinalStateVia::AzureAsyncOperation)),
            replies: vec![
                (202, vec![("azure-asyncoperation", "/ops/1"), ("location", "/results/1")], ""),
                (200, vec![], r#"{"status":"Running"}"#),
                (200, vec![], r#"{"status":"Succeeded","properties":{"x":1}}"#),
            ],
            expect: "respond",
        },
        Script {
            name: "azure post whose Location is malformed",
            method: "POST",
            url: "https://management.azure.com/things/t1/act?api-version=1",
            headers: &[],
            config: Config::default,
            options: None,
            replies: vec![
                (202, vec![("azure-asyncoperation", "/ops/1"), ("location", "http://[::1")], ""),
                (200, vec![], r#"{"status":"Running"}"#),
                (200, vec![], r#"{"status":"Succeeded"}"#),
            ],
            expect: "InvalidPollingUrl",
        },
        Script {
            name: "graph resetPassword: the first body is the result",
            method: "POST",
            url: "https://graph.microsoft.com/v1.0/users/u/authentication/methods/m/resetPassword",
            headers: &[],
            config: Config::default,
            options: None,
            replies: vec![
                (
                    202,
                    vec![("location", "https://graph.microsoft.com/v1.0/users/u/authentication/operations/o1"), ("content-type", "application/json")],
                    r#"{"newPassword":"S3cret-pass"}"#,
                ),
                (200, vec![("retry-after", "2")], r#"{"status":"running"}"#),
                (200, vec![], r#"{"status":"succeeded"}"#),
            ],
            expect: "S3cret-pass",
        },
        Script {
            name: "graph drive copy: credential-free monitor, then the item with credentials",
            method: "POST",
            url: "https://graph.microsoft.com/v1.0/drives/d/items/i/copy",
            headers: &[],
            config: Config::default,
            options: None,
            replies: vec![
                (202, vec![("location", "https://contoso.sharepoint.com/_api/v2.0/monitor/m1?tempauth=SECRET")], ""),
                (202, vec![], r#"{"status":"inProgress","percentageComplete":20}"#),
                (
                    200,
                    vec![],
                    r#"{"status":"completed","resourceLocation":"https://graph.microsoft.com/v1.0/drives/d/items/x"}"#,
                ),
                (200, vec![], r#"{"id":"x"}"#),
            ],
            expect: "respond",
        },
        Script {
            name: "teams clone: the 5 s floor",
            method: "POST",
            url: "https://graph.microsoft.com/v1.0/teams/t/clone",
            headers: &[],
            config: Config::default,
            options: None,
            replies: vec![
                (202, vec![("location", "/teams('t2')/operations('o1')")], ""),
                (200, vec![], r#"{"status":"inProgress"}"#),
                (200, vec![], r#"{"status":"inProgress"}"#),
                (200, vec![], r#"{"status":"succeeded","targetResourceLocation":"/teams('t2')"}"#),
                (200, vec![], r#"{"id":"t2"}"#),
            ],
            expect: "respond",
        },
        Script {
            name: "fabric: OperationHasNoResult falls back to the kept state",
            method: "POST",
            url: "https://api.fabric.microsoft.com/v1/workspaces/w/items",
            headers: &[],
            config: Config::default,
            options: None,
            replies: vec![
                (
                    202,
                    vec![("x-ms-operation-id", "0acd697c-1550-43cd-b998-91bfbfbd47c6"), ("retry-after", "20")],
                    "",
                ),
                (200, vec![("retry-after", "20")], r#"{"status":"Running"}"#),
                (
                    200,
                    vec![("location", "https://api.fabric.microsoft.com/v1/operations/0acd697c-1550-43cd-b998-91bfbfbd47c6/result")],
                    r#"{"status":"Succeeded","percentComplete":100}"#,
                ),
                (400, vec![], r#"{"errorCode":"OperationHasNoResult","message":"none"}"#),
            ],
            expect: "Succeeded",
        },
        Script {
            name: "odata respond-async",
            method: "POST",
            url: "https://service.example.com/odata/Products",
            headers: &[("prefer", "respond-async"), ("accept", "application/json")],
            config: Config::default,
            options: None,
            replies: vec![
                (202, vec![("location", "https://service.example.com/odata/$monitor/1"), ("retry-after", "4")], ""),
                (202, vec![], ""),
                (
                    200,
                    vec![("asyncresult", "201"), ("content-type", "application/json")],
                    r#"{"id":1}"#,
                ),
            ],
            expect: "respond Some(201)",
        },
        Script {
            name: "google aip-151",
            method: "POST",
            url: "https://example.googleapis.com/v1/projects/p/instances",
            headers: &[],
            config: google,
            options: None,
            replies: vec![
                (200, vec![("content-type", "application/json")], r#"{"name":"projects/p/operations/o1","done":false}"#),
                (200, vec![], r#"{"name":"projects/p/operations/o1","done":false}"#),
                (200, vec![], r#"{"name":"projects/p/operations/o1","done":true,"response":{"@type":"type.googleapis.com/x.Instance","name":"i"}}"#),
            ],
            expect: "respond",
        },
    ];
    for script in &scripts {
        check(script);
    }
}
