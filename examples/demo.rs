//! The simulated Azure Resource Manager, in two modes:
//!
//! ```sh
//! cargo run --example demo                          # plays three operations against it, then exits
//! cargo run --example demo -- serve [127.0.0.1:8080] # keeps it serving until Ctrl-C
//! ```
//!
//! **Play** (no argument): plays the three operations of Microsoft's "Track asynchronous Azure
//! operations" page against an embedded ARM on a free loopback port, through a hyper-util
//! client wrapped in `LroLayer`. A logging service below the layer prints every request the
//! layer sends, so each poll shows up. Retry hints are scaled down from seconds to a few hundred
//! milliseconds. The process exits non-zero when any operation does not end as the server
//! scripted it.
//!
//! 1. Start a VM: `POST .../start` → `202` with `Azure-AsyncOperation` and `Location`.
//! 2. Deploy a template: `PUT .../deployments/d1` → `201` with `Azure-AsyncOperation`.
//! 3. Create a storage account: `PUT .../storageAccounts/sa1` → `202` with `Location`.
//!
//! **Serve** (`serve [ADDR]`, default `127.0.0.1:8080`): the same ARM on a fixed address until
//! Ctrl-C, printing what it serves and one line per request it answers, for
//! `cargo run --example quickstart`, `cargo run --example resume` or your own client in another
//! terminal. Every operation started has its own id and ends on its third poll; any
//! subscription, resource group and resource names are accepted.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tower::{service_fn, BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroInfo, LroLayer, LroOptions, MonitorKind, OnProgress};

const SUB: &str = "/subscriptions/6a1e3b1c-5d0f-4c38-9f57-2f0c1d9e7a42";
const RG: &str = "/resourceGroups/demo-rg";

/// Which operation a request belongs to. The layer copies the original request's extensions
/// onto its same-origin polls, so the logger below it can label every poll.
#[derive(Debug, Clone, Copy)]
struct Tag(&'static str);

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => play().await,
        (Some("serve"), addr) => serve(addr.as_deref().unwrap_or(DEFAULT_ADDR)).await,
        (Some(other), _) => {
            eprintln!("unknown argument {other:?}; usage: demo [serve [ADDR]]");
            ExitCode::FAILURE
        }
    }
}

/// Plays the three operations against an embedded ARM and checks how each ended.
async fn play() -> ExitCode {
    let started = Instant::now();
    let addr = match start_arm("127.0.0.1:0", None).await {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("could not start the simulated ARM: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = format!("http://{addr}");
    println!("tower-lro demo: simulated Azure Resource Manager at {base}");
    println!("  {{rg}}  = {SUB}{RG}/providers");
    println!("  {{sub}} = {SUB}/providers\n");
    println!(
        "  {:>8}  {:<8}  {:<6}  {:<6}  path",
        "time", "op", "method", "status"
    );

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    // Below the layer: one line per request it sends (initial call, polls, final GET), stamped
    // when sent and printed when answered, so concurrent lines may be a millisecond out of order.
    let logged = service_fn(move |req: Request<Full<Bytes>>| {
        let client = client.clone();
        async move {
            let sent = started.elapsed();
            let tag = req.extensions().get::<Tag>().map_or("?", |t| t.0);
            let method = req.method().as_str().to_owned();
            let path = short_path(req.uri());
            let response = client.request(req).await;
            let status = match &response {
                Ok(r) => r.status().as_u16().to_string(),
                Err(_) => "error".to_owned(),
            };
            println!(
                "  {:>7.3}s  {tag:<8}  {method:<6}  {status:<6}  {path}",
                sent.as_secs_f64()
            );
            response
        }
    });
    let service = ServiceBuilder::new().layer(LroLayer::new()).service(logged);

    let vm = format!("{base}{SUB}{RG}/providers/Microsoft.Compute/virtualMachines/vm1/start?api-version=2024-07-01");
    let deploy = format!(
        "{base}{SUB}{RG}/providers/Microsoft.Resources/deployments/d1?api-version=2020-06-01"
    );
    let storage = format!(
        "{base}{SUB}{RG}/providers/Microsoft.Storage/storageAccounts/sa1?api-version=2023-05-01"
    );
    let template = json!({"properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.com/azuredeploy.json"}}});
    let account =
        json!({"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}});

    // All three run at once, as a portal would; the table above interleaves their requests.
    let (vm_started, deployed, account_created) = tokio::join!(
        run(&service, "start-vm", Method::POST, &vm, None),
        run(&service, "deploy", Method::PUT, &deploy, Some(template)),
        run(&service, "storage", Method::PUT, &storage, Some(account)),
    );

    // What the simulated server scripts: each ends on its third poll; Location gives no progress.
    let aao = MonitorKind::AzureAsyncOperation;
    let ok = [
        report(vm_started, &Expect::new(aao, Some(100.0), None)),
        report(
            deployed,
            &Expect::new(aao, Some(100.0), Some("\"Succeeded\"")),
        ),
        report(
            account_created,
            &Expect::new(MonitorKind::Location, None, Some("sa1.blob.core")),
        ),
    ]
    .into_iter()
    .all(|ok| ok);
    println!(
        "\ntotal {:.3}s: {}",
        started.elapsed().as_secs_f64(),
        if ok {
            "all operations resolved as expected"
        } else {
            "FAILED"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What one operation ended with.
struct Outcome {
    name: &'static str,
    result: Result<(StatusCode, Option<LroInfo>, Bytes), BoxError>,
}

/// What the simulated server scripted for an operation.
struct Expect {
    monitor: MonitorKind,
    polls: u32,
    percent: Option<f64>,
    body_has: Option<&'static str>,
}

impl Expect {
    /// Every simulated operation answers its third poll with the end.
    fn new(monitor: MonitorKind, percent: Option<f64>, body_has: Option<&'static str>) -> Self {
        Expect {
            monitor,
            polls: 3,
            percent,
            body_has,
        }
    }
}

/// Sends one request through the layer and reads the final body.
async fn run<S>(
    service: &S,
    name: &'static str,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Outcome
where
    S: tower::Service<
            Request<Full<Bytes>>,
            Response = Response<tower_lro::LroBody<Incoming>>,
            Error = BoxError,
        > + Clone,
{
    let result = async {
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", "Bearer demo-token")
            .header("x-ms-client-request-id", format!("demo-{name}"));
        let body = match body {
            Some(v) => {
                request = request.header("content-type", "application/json");
                Full::from(v.to_string())
            }
            None => Full::default(),
        };
        let mut request = request.body(body)?;
        request.extensions_mut().insert(Tag(name));
        // A live progress line before every wait, from the layer's progress hook.
        let progress = OnProgress::new(move |p| {
            let percent = p
                .percent_complete()
                .map_or("-".to_owned(), |v| format!("{v:.0}%"));
            println!(
                "            {name:<8}  ..      {:<11} {percent:>4}  poll {}, next in {:.1}s",
                p.status().unwrap_or("(started)"),
                p.polls(),
                p.next_wait().as_secs_f64()
            );
        });
        request
            .extensions_mut()
            .insert(LroOptions::new().on_progress(progress));
        let response = service.clone().oneshot(request).await?;
        let status = response.status();
        let info = response.extensions().get::<LroInfo>().cloned();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, info, bytes))
    }
    .await;
    Outcome { name, result }
}

/// Prints an operation's result and checks it; `false` when it is not what the server scripted.
fn report(outcome: Outcome, expect: &Expect) -> bool {
    println!("\n== {}", outcome.name);
    let (status, info, body) = match outcome.result {
        Ok(parts) => parts,
        Err(e) => {
            println!("   error           {e}");
            return false;
        }
    };
    println!("   final status    {status}");
    let Some(info) = info else {
        println!("   no LroInfo: the layer did not resolve an operation");
        return false;
    };
    println!("   monitor kind    {:?}", info.monitor_kind());
    println!("   monitor URL     {}", short_path(info.monitor_url()));
    println!(
        "   polls           {} ({} transient retries)",
        info.polls(),
        info.transient_retries()
    );
    println!("   total wait      {:.3}s", info.total_wait().as_secs_f64());
    println!("   last status     {}", info.status().unwrap_or("-"));
    match info.percent_complete() {
        Some(p) => println!("   percentComplete {p}%"),
        None => println!("   percentComplete -"),
    }
    if let Some(url) = info.final_url() {
        println!("   final GET       {}", short_path(url));
    }
    println!(
        "   body            {}",
        pretty(&body).replace('\n', "\n                   ")
    );

    let mut problems = Vec::new();
    if status != StatusCode::OK {
        problems.push(format!("status {status}, expected 200"));
    }
    if info.monitor_kind() != expect.monitor {
        problems.push(format!(
            "monitor {:?}, expected {:?}",
            info.monitor_kind(),
            expect.monitor
        ));
    }
    if info.polls() != expect.polls {
        problems.push(format!("{} polls, expected {}", info.polls(), expect.polls));
    }
    if info.status().map(str::to_ascii_lowercase).as_deref() != Some("succeeded") {
        problems.push(format!(
            "last status {:?}, expected Succeeded",
            info.status()
        ));
    }
    if info.percent_complete() != expect.percent {
        problems.push(format!(
            "percentComplete {:?}, expected {:?}",
            info.percent_complete(),
            expect.percent
        ));
    }
    if let Some(needle) = expect.body_has {
        if !String::from_utf8_lossy(&body).contains(needle) {
            problems.push(format!("body lacks {needle}"));
        }
    }
    for p in &problems {
        println!("   UNEXPECTED      {p}");
    }
    problems.is_empty()
}

/// A JSON body indented, anything else as text.
fn pretty(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty)".to_owned();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

/// The path and query, shortened for the table: `/subscriptions/{s}/resourceGroups/{g}/providers`
/// becomes `{rg}` and `/subscriptions/{s}/providers` `{sub}`, GUIDs keep their first block, and
/// `api-version` is left out.
fn short_path(uri: &http::Uri) -> String {
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let (scope, rest) = match segments.as_slice() {
        ["subscriptions", _, "resourceGroups", _, "providers", rest @ ..] => ("{rg}", rest),
        ["subscriptions", _, "providers", rest @ ..] => ("{sub}", rest),
        _ => ("", segments.as_slice()),
    };
    let rest: Vec<String> = rest.iter().map(|s| short_guid(s)).collect();
    let path = if scope.is_empty() {
        format!("/{}", rest.join("/"))
    } else {
        format!("{scope}/{}", rest.join("/"))
    };
    let query: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("api-version="))
        .collect();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `9de2077e-d2e1-4cfa-a6de-a1a9a7c55a14` → `9de2077e…`; other segments unchanged.
fn short_guid(segment: &str) -> String {
    let blocks: Vec<usize> = segment.split('-').map(str::len).collect();
    let is_guid =
        blocks == [8, 4, 4, 4, 12] && segment.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
    match segment.get(..8) {
        Some(head) if is_guid => format!("{head}…"),
        _ => segment.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated Azure Resource Manager.

/// Where `serve` listens without an address.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The simulated ARM: every operation it starts has its own id and ends on its third poll, so
/// it serves any number of operations, one after another or at once.
struct Arm {
    base: String,
    /// Makes this process's operation ids differ from another run's.
    seed: u32,
    /// `serve` prints one line per request it answers.
    log: Option<Instant>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    started: u32,
    /// Operation id → the operation.
    ops: HashMap<String, Op>,
    /// Resource path → its latest operation's id.
    latest: HashMap<String, String>,
}

struct Op {
    /// The deployment or storage account it creates.
    resource: String,
    polls: u32,
}

/// Polls each operation answers "running" before it ends.
const RUNNING_POLLS: u32 = 2;

const VM_OP: &str = "providers/Microsoft.Compute/locations/westeurope/operations";
const STORAGE_OP: &str = "providers/Microsoft.Storage/locations/westeurope/asyncoperations";

/// Binds `addr` and serves the simulated ARM in the background until the process ends.
async fn start_arm(addr: &str, log: Option<Instant>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let arm = Arc::new(Arm {
        base: format!("http://{addr}"),
        seed,
        log,
        state: Mutex::default(),
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let arm = arm.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let arm = arm.clone();
                    async move { Ok::<_, Infallible>(arm.answer(req.method(), req.uri())) }
                });
                // A client that goes away mid-connection is not the demo's concern.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// `demo serve [ADDR]`: the simulated ARM on a fixed address until Ctrl-C, for
/// `examples/quickstart.rs`, `examples/resume.rs` or your own code.
async fn serve(addr: &str) -> ExitCode {
    let started = Instant::now();
    let addr = match start_arm(addr, Some(started)).await {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("could not listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rg = "/subscriptions/{sub}/resourceGroups/{rg}/providers";
    println!("tower-lro demo: simulated Azure Resource Manager serving on http://{addr} (Ctrl-C stops it)");
    println!("each operation ends on its third poll; retry hints are a few hundred milliseconds\n");
    println!("  PUT  {rg}/Microsoft.Storage/storageAccounts/{{name}}");
    println!("       202 + Location; the Location answers 202 twice, then 200 with the account");
    println!("  PUT  {rg}/Microsoft.Resources/deployments/{{name}}");
    println!(
        "       201 + Azure-AsyncOperation (Running 20%, 65%, Succeeded), then the deployment"
    );
    println!("  POST {rg}/Microsoft.Compute/virtualMachines/{{name}}/start");
    println!("       202 + Azure-AsyncOperation and Location (InProgress 35%, 80%, Succeeded)");
    println!("  (any names; anything else is a 404)\n");
    println!("in another terminal: cargo run --example quickstart");
    println!(
        "                 or: cargo run --example resume   (twice: start, then check and resume)\n"
    );
    println!("  {:>8}  {:<6}  {:<6}  path", "time", "method", "status");
    match tokio::signal::ctrl_c().await {
        Ok(()) => {
            println!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot wait for Ctrl-C: {e}");
            ExitCode::FAILURE
        }
    }
}

impl Arm {
    /// Answers one request; `serve` prints it.
    fn answer(&self, method: &Method, uri: &http::Uri) -> Response<Full<Bytes>> {
        // Every header below is valid; an empty 200 keeps the server up regardless.
        let response = self
            .route(method, uri)
            .unwrap_or_else(|_| Response::new(Full::default()));
        if let Some(started) = self.log {
            println!(
                "  {:>7.3}s  {:<6}  {:<6}  {}",
                started.elapsed().as_secs_f64(),
                method.as_str(),
                response.status().as_u16(),
                short_path(uri)
            );
        }
        response
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new operation on `resource`: its id.
    fn start(&self, resource: &str) -> String {
        let mut state = self.state();
        state.started = state.started.wrapping_add(1);
        let n = state.started;
        let id = format!("{:08x}-d2e1-4cfa-a6de-{n:012x}", self.seed.wrapping_add(n));
        state.ops.insert(
            id.clone(),
            Op {
                resource: resource.to_owned(),
                polls: 0,
            },
        );
        state.latest.insert(resource.to_owned(), id.clone());
        id
    }

    /// Counts a poll of operation `id`: which one it is (0 for the first), or `None` for an
    /// operation this server never started.
    fn poll(&self, id: &str) -> Option<u32> {
        let mut state = self.state();
        let op = state.ops.get_mut(id)?;
        op.polls = op.polls.saturating_add(1);
        Some(op.polls - 1)
    }

    /// Whether operation `id` has ended (been polled past its running answers).
    fn done(&self, id: &str) -> Option<bool> {
        self.state().ops.get(id).map(|op| op.polls > RUNNING_POLLS)
    }

    /// Whether the latest operation on `resource` has ended (`None`: never created).
    fn resource_done(&self, resource: &str) -> Option<bool> {
        let state = self.state();
        let id = state.latest.get(resource)?;
        state.ops.get(id).map(|op| op.polls > RUNNING_POLLS)
    }

    fn route(&self, method: &Method, uri: &http::Uri) -> http::Result<Response<Full<Bytes>>> {
        let base = &self.base;
        let path = uri.path();
        let monitor_query = uri.query().is_some_and(|q| q.contains("monitor=true"));
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();

        match (method.as_str(), segments.as_slice()) {
            // a. Start VM: 202 with both a status monitor and a Location.
            ("POST", ["subscriptions", sub, "resourceGroups", _, "providers", "Microsoft.Compute", "virtualMachines", _, "start"]) => {
                let id = self.start(path);
                let monitor = format!("{base}/subscriptions/{sub}/{VM_OP}/{id}");
                reply(202)
                    .header("azure-asyncoperation", format!("{monitor}?api-version=2024-07-01"))
                    .header("location", format!("{monitor}?monitor=true&api-version=2024-07-01"))
                    .header("retry-after-ms", "300")
                    .body(Full::default())
            }
            ("GET", ["subscriptions", _, "providers", "Microsoft.Compute", "locations", _, "operations", id]) if !monitor_query => {
                let status = match self.poll(id) {
                    None => return not_found(method, path),
                    Some(0) => json!({"status": "InProgress", "percentComplete": 35}),
                    Some(1) => json!({"status": "InProgress", "percentComplete": 80}),
                    Some(_) => json!({"status": "Succeeded", "percentComplete": 100, "endTime": "2024-11-04T09:41:07Z"}),
                };
                let mut status = status;
                status["name"] = json!(id);
                status["startTime"] = json!("2024-11-04T09:41:05Z");
                reply(200).header("retry-after-ms", "300").json(&status)
            }
            // The Location of an action without a result: empty once the monitor says done.
            ("GET", ["subscriptions", _, "providers", "Microsoft.Compute", "locations", _, "operations", id]) => {
                match self.done(id) {
                    None => not_found(method, path),
                    Some(true) => reply(200).body(Full::default()),
                    Some(false) => reply(202).header("retry-after-ms", "300").body(Full::default()),
                }
            }

            // b. Deployment: 201 with a status monitor, then a GET of the deployment itself.
            ("PUT", ["subscriptions", _, "resourceGroups", _, "providers", "Microsoft.Resources", "deployments", name]) => {
                let id = self.start(path);
                reply(201)
                    .header("azure-asyncoperation", format!("{base}{path}/operationStatuses/{id}?api-version=2020-06-01"))
                    .header("retry-after-ms", "400")
                    .json(&deployment(path, name, "Accepted"))
            }
            ("GET", ["subscriptions", _, "resourceGroups", _, "providers", "Microsoft.Resources", "deployments", _, "operationStatuses", id]) => {
                let status = match self.poll(id) {
                    None => return not_found(method, path),
                    Some(0) => json!({"status": "Running", "percentComplete": 20}),
                    Some(1) => json!({"status": "Running", "percentComplete": 65}),
                    Some(_) => json!({"status": "Succeeded", "percentComplete": 100}),
                };
                reply(200).header("retry-after-ms", "400").json(&status)
            }
            ("GET", ["subscriptions", _, "resourceGroups", _, "providers", "Microsoft.Resources", "deployments", name]) => {
                match self.resource_done(path) {
                    None => not_found(method, path),
                    Some(done) => reply(200).json(&deployment(path, name, if done { "Succeeded" } else { "Running" })),
                }
            }

            // c. Storage account: 202 with Location and Retry-After (in seconds, as ARM sends).
            ("PUT", ["subscriptions", sub, "resourceGroups", _, "providers", "Microsoft.Storage", "storageAccounts", _]) => {
                let id = self.start(path);
                reply(202)
                    .header("location", format!("{base}/subscriptions/{sub}/{STORAGE_OP}/{id}?monitor=true&api-version=2023-05-01"))
                    .header("retry-after", "1")
                    .body(Full::default())
            }
            ("GET", ["subscriptions", sub, "providers", "Microsoft.Storage", "locations", _, "asyncoperations", id]) => {
                match self.poll(id) {
                    None => not_found(method, path),
                    Some(n) if n < RUNNING_POLLS => reply(202)
                        .header("location", format!("{base}/subscriptions/{sub}/{STORAGE_OP}/{id}?monitor=true&api-version=2023-05-01"))
                        .header("retry-after-ms", "250")
                        .body(Full::default()),
                    Some(_) => {
                        let account = self.state().ops.get(*id).map(|op| op.resource.clone()).unwrap_or_default();
                        reply(200).json(&storage_account(&account))
                    }
                }
            }
            ("GET", ["subscriptions", _, "resourceGroups", _, "providers", "Microsoft.Storage", "storageAccounts", _]) => {
                match self.resource_done(path) {
                    Some(true) => reply(200).json(&storage_account(path)),
                    _ => not_found(method, path),
                }
            }
            _ => not_found(method, path),
        }
    }
}

fn not_found(method: &Method, path: &str) -> http::Result<Response<Full<Bytes>>> {
    reply(404).json(&json!({"error": {"code": "NotFound", "message": format!("no route or operation for {method} {path}")}}))
}

fn deployment(path: &str, name: &str, state: &str) -> Value {
    json!({
        "id": path,
        "name": name,
        "properties": {
            "provisioningState": state,
            "mode": "Incremental",
            "correlationId": "2e8e6a1c-8b1d-4f7e-9a35-8f7b5f4c1d20"
        }
    })
}

fn storage_account(path: &str) -> Value {
    let name = path.rsplit('/').next().unwrap_or_default();
    json!({
        "id": path,
        "name": name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": "westeurope",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "primaryEndpoints": {"blob": format!("https://{name}.blob.core.windows.net/")}
        }
    })
}

/// A response builder with a JSON shortcut.
struct Reply(http::response::Builder);

fn reply(status: u16) -> Reply {
    Reply(Response::builder().status(status))
}

impl Reply {
    fn header(self, name: &str, value: impl AsRef<str>) -> Self {
        Reply(self.0.header(name, value.as_ref()))
    }

    fn body(self, body: Full<Bytes>) -> http::Result<Response<Full<Bytes>>> {
        self.0.body(body)
    }

    fn json(self, value: &Value) -> http::Result<Response<Full<Bytes>>> {
        self.0
            .header("content-type", "application/json")
            .body(Full::from(value.to_string()))
    }
}
