//! `cargo run --example demo`
//!
//! Plays the three operations of Microsoft's "Track asynchronous Azure operations" page
//! against an embedded, simulated Azure Resource Manager, through a hyper-util client wrapped
//! in `LroLayer`. A logging service below the layer prints every request the layer sends, so
//! each poll shows up. Retry hints are scaled down from seconds to a few hundred milliseconds.
//!
//! 1. Start a VM: `POST .../start` → `202` with `Azure-AsyncOperation` and `Location`.
//! 2. Deploy a template: `PUT .../deployments/d1` → `201` with `Azure-AsyncOperation`.
//! 3. Create a storage account: `PUT .../storageAccounts/sa1` → `202` with `Location`.
//!
//! The process exits non-zero when any operation does not end as the server scripted it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
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
    let started = Instant::now();
    let addr = match start_arm().await {
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

/// The path and query, shortened for the table: the subscription and resource-group prefixes
/// become `{sub}` and `{rg}`, GUIDs keep their first block, and `api-version` is left out.
fn short_path(uri: &http::Uri) -> String {
    let path = uri
        .path()
        .replacen(&format!("{SUB}{RG}/providers"), "{rg}", 1)
        .replacen(&format!("{SUB}/providers"), "{sub}", 1);
    let path: Vec<String> = path.split('/').map(short_guid).collect();
    let path = path.join("/");
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

/// How many times each monitor has been polled.
#[derive(Default)]
struct Arm {
    base: String,
    vm_polls: AtomicU32,
    deploy_polls: AtomicU32,
    storage_polls: AtomicU32,
}

const VM_OP: &str = "/providers/Microsoft.Compute/locations/westeurope/operations/9de2077e-d2e1-4cfa-a6de-a1a9a7c55a14";
const DEPLOY_OP: &str =
    "/providers/Microsoft.Resources/deployments/d1/operationStatuses/08584996562463462045";
const STORAGE_OP: &str = "/providers/Microsoft.Storage/locations/westeurope/asyncoperations/5e2d6a4f-b3c1-4bd2-8f0a-0c1e0d8a9b77";

/// Binds 127.0.0.1:0 and serves the simulated ARM until the process ends.
async fn start_arm() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let arm = Arc::new(Arm {
        base: format!("http://{addr}"),
        ..Arm::default()
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let arm = arm.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let arm = arm.clone();
                    async move { Ok::<_, Infallible>(arm.route(req.method(), req.uri())) }
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

impl Arm {
    fn route(&self, method: &Method, uri: &http::Uri) -> Response<Full<Bytes>> {
        let base = &self.base;
        let path = uri.path();
        let monitor_query = uri.query().is_some_and(|q| q.contains("monitor=true"));
        let vm = format!("{SUB}{RG}/providers/Microsoft.Compute/virtualMachines/vm1");
        let deployment = format!("{SUB}{RG}/providers/Microsoft.Resources/deployments/d1");
        let account = format!("{SUB}{RG}/providers/Microsoft.Storage/storageAccounts/sa1");

        let response = match (method.as_str(), path) {
            // a. Start VM: 202 with both a status monitor and a Location.
            ("POST", p) if p == format!("{vm}/start") => reply(202)
                .header("azure-asyncoperation", format!("{base}{SUB}{VM_OP}?api-version=2024-07-01"))
                .header("location", format!("{base}{SUB}{VM_OP}?monitor=true&api-version=2024-07-01"))
                .header("retry-after-ms", "300")
                .body(Full::default()),
            ("GET", p) if p == format!("{SUB}{VM_OP}") && !monitor_query => {
                let n = self.vm_polls.fetch_add(1, Ordering::SeqCst);
                let status = match n {
                    0 => json!({"status": "InProgress", "percentComplete": 35}),
                    1 => json!({"status": "InProgress", "percentComplete": 80}),
                    _ => json!({"status": "Succeeded", "percentComplete": 100, "endTime": "2024-11-04T09:41:07Z"}),
                };
                let mut status = status;
                status["name"] = json!("9de2077e-d2e1-4cfa-a6de-a1a9a7c55a14");
                status["startTime"] = json!("2024-11-04T09:41:05Z");
                reply(200).header("retry-after-ms", "300").json(&status)
            }
            // The Location of an action without a result: empty once the monitor says done.
            ("GET", p) if p == format!("{SUB}{VM_OP}") => {
                if self.vm_polls.load(Ordering::SeqCst) >= 3 {
                    reply(200).body(Full::default())
                } else {
                    reply(202).header("retry-after-ms", "300").body(Full::default())
                }
            }

            // b. Deployment: 201 with a status monitor, then a GET of the deployment itself.
            ("PUT", p) if p == deployment => reply(201)
                .header("azure-asyncoperation", format!("{base}{SUB}{RG}{DEPLOY_OP}?api-version=2020-06-01"))
                .header("retry-after-ms", "400")
                .json(&self.deployment("Accepted")),
            ("GET", p) if p == format!("{SUB}{RG}{DEPLOY_OP}") => {
                let n = self.deploy_polls.fetch_add(1, Ordering::SeqCst);
                let status = match n {
                    0 => json!({"status": "Running", "percentComplete": 20}),
                    1 => json!({"status": "Running", "percentComplete": 65}),
                    _ => json!({"status": "Succeeded", "percentComplete": 100}),
                };
                reply(200).header("retry-after-ms", "400").json(&status)
            }
            ("GET", p) if p == deployment => {
                let done = self.deploy_polls.load(Ordering::SeqCst) >= 3;
                reply(200).json(&self.deployment(if done { "Succeeded" } else { "Running" }))
            }

            // c. Storage account: 202 with Location and Retry-After (in seconds, as ARM sends).
            ("PUT", p) if p == account => reply(202)
                .header("location", format!("{base}{SUB}{STORAGE_OP}?monitor=true&api-version=2023-05-01"))
                .header("retry-after", "1")
                .body(Full::default()),
            ("GET", p) if p == format!("{SUB}{STORAGE_OP}") => {
                if self.storage_polls.fetch_add(1, Ordering::SeqCst) < 2 {
                    reply(202)
                        .header("location", format!("{base}{SUB}{STORAGE_OP}?monitor=true&api-version=2023-05-01"))
                        .header("retry-after-ms", "250")
                        .body(Full::default())
                } else {
                    reply(200).json(&json!({
                        "id": account,
                        "name": "sa1",
                        "type": "Microsoft.Storage/storageAccounts",
                        "location": "westeurope",
                        "kind": "StorageV2",
                        "sku": {"name": "Standard_LRS", "tier": "Standard"},
                        "properties": {
                            "provisioningState": "Succeeded",
                            "primaryEndpoints": {"blob": "https://sa1.blob.core.windows.net/"}
                        }
                    }))
                }
            }
            _ => reply(404).json(&json!({"error": {"code": "NotFound", "message": format!("no route for {method} {path}")}})),
        };
        // Every header above is valid; an empty 200 keeps the server up regardless.
        response.unwrap_or_else(|_| Response::new(Full::default()))
    }

    fn deployment(&self, state: &str) -> Value {
        json!({
            "id": format!("{SUB}{RG}/providers/Microsoft.Resources/deployments/d1"),
            "name": "d1",
            "properties": {
                "provisioningState": state,
                "mode": "Incremental",
                "correlationId": "2e8e6a1c-8b1d-4f7e-9a35-8f7b5f4c1d20"
            }
        })
    }
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
