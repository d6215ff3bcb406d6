//! Load: thousands of concurrent operations against one loopback server that answers at random
//! (seeded) times, with injected 503s and dropped connections. Every operation must end with the
//! outcome a model of the server predicts, no request may follow an operation's end, and nothing
//! may be left running. Also: sequential operations reuse their connections.

mod support;

use std::collections::{HashMap, HashSet};
use std::future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use support::*;
use tower::{BoxError, Layer, ServiceBuilder, ServiceExt};
use tower_lro::{ErrorKind, LroError, LroInfo};

const OPERATIONS: u64 = 2_000;
const SEED: u64 = 0x1ab5_eed5_2024;
/// Transport failures the retry layer below the LroLayer absorbs per request.
const TRANSPORT_RETRIES: usize = 4;
/// 503s in a row the LroLayer absorbs.
const TRANSIENT_RETRIES: u32 = 5;

/// splitmix64 of (seed, id, salt): the same answer for the same question, every run.
fn roll(id: u64, salt: u64) -> u64 {
    let mut z =
        SEED ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Status polls until the operation is terminal (1..=4).
fn polls_needed(id: u64) -> u64 {
    1 + roll(id, 1) % 4
}

/// One operation in ten fails, with its own code.
fn fails(id: u64) -> bool {
    roll(id, 2) % 10 == 0
}

/// Even ids are POSTs whose result is the monitor's answer; odd ids are PUTs with a final GET.
fn is_put(id: u64) -> bool {
    id % 2 == 1
}

fn wait_ms(id: u64, attempt: u64) -> u64 {
    1 + roll(id, 1_000 + attempt) % 20
}

/// What the server does with the `attempt`-th GET of an operation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    HangUp,
    Unavailable,
    Answer,
}

fn fate(id: u64, attempt: u64) -> Fate {
    match roll(id, 10_000 + attempt) % 100 {
        0..2 => Fate::HangUp,
        2..12 => Fate::Unavailable,
        _ => Fate::Answer,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Succeeded,
    Failed(String),
    /// Injected failures beyond what the stack absorbs: the test parameters must avoid these.
    GaveUp,
}

/// What the client must end with, by replaying the server's dice for one operation: the
/// outcome, and the 503s the layer retried (hang-ups are retried below it, unseen).
fn expected(id: u64) -> (Outcome, u32) {
    let mut attempt = 0;
    let (mut drops, mut unavailable, mut retried) = (0, 0, 0);
    let mut answered = 0;
    loop {
        let fate = fate(id, attempt);
        attempt += 1;
        match fate {
            Fate::HangUp => {
                drops += 1;
                if drops > TRANSPORT_RETRIES {
                    return (Outcome::GaveUp, retried);
                }
                continue;
            }
            Fate::Unavailable => {
                drops = 0;
                unavailable += 1;
                if unavailable > TRANSIENT_RETRIES {
                    return (Outcome::GaveUp, retried);
                }
                retried += 1;
                continue;
            }
            Fate::Answer => (drops, unavailable) = (0, 0),
        }
        answered += 1;
        if answered < polls_needed(id) {
            continue;
        }
        if fails(id) {
            return (Outcome::Failed(format!("E{id}")), retried);
        }
        // A PUT's final GET rolls the same dice.
        if is_put(id) && answered == polls_needed(id) {
            continue;
        }
        return (Outcome::Succeeded, retried);
    }
}

/// Per operation: GETs seen, and GETs answered normally (status polls, then the final GET).
#[derive(Default)]
struct Op {
    attempts: u64,
    answered: u64,
}

struct Server {
    ops: Mutex<HashMap<u64, Op>>,
    /// Operations whose client future has completed (recorded by the client).
    done: Mutex<HashSet<u64>>,
    late: Mutex<Vec<String>>,
    /// Injected failures: hang-ups and 503s.
    injected: Mutex<(usize, usize)>,
}

fn id_of(path: &str) -> Option<u64> {
    path.rsplit('/').next()?.parse().ok()
}

fn route(state: &Server, hit: &Hit) -> Answer {
    let Some(id) = id_of(&hit.path) else {
        return not_found(hit);
    };
    if state.done.lock().unwrap().contains(&id) {
        state
            .late
            .lock()
            .unwrap()
            .push(format!("{} {}", hit.method, hit.target));
    }
    let monitor = hit.url(&format!("/operations/{id}"));
    match hit.method.as_str() {
        "POST" | "PUT" => {
            return at(if is_put(id) { 201 } else { 202 })
                .header("azure-asyncoperation", monitor)
                .header("retry-after-ms", wait_ms(id, 0).to_string())
                .empty();
        }
        "GET" => {}
        _ => return not_found(hit),
    }
    let (attempt, answered) = {
        let mut ops = state.ops.lock().unwrap();
        let op = ops.entry(id).or_default();
        let attempt = op.attempts;
        op.attempts += 1;
        if fate(id, attempt) == Fate::Answer {
            op.answered += 1;
        }
        (attempt, op.answered)
    };
    let wait = wait_ms(id, attempt + 1).to_string();
    match fate(id, attempt) {
        Fate::HangUp => {
            state.injected.lock().unwrap().0 += 1;
            return Answer::HangUp;
        }
        Fate::Unavailable => {
            state.injected.lock().unwrap().1 += 1;
            return at(503)
                .header("retry-after-ms", wait)
                .json(json!({"error": {"code": "ServerBusy"}}));
        }
        Fate::Answer => {}
    }
    let needed = polls_needed(id);
    if hit.path.starts_with("/items/") {
        // The PUT's final GET.
        return at(200).json(json!({"id": id, "properties": {"provisioningState": "Succeeded"}}));
    }
    if answered < needed {
        at(200)
            .header("retry-after-ms", wait)
            .json(json!({"status": "InProgress"}))
    } else if fails(id) {
        at(200).json(json!({
            "status": "Failed",
            "error": {"code": format!("E{id}"), "message": "injected"},
        }))
    } else {
        at(200).json(json!({"status": "Succeeded", "id": id}))
    }
}

/// Retries transport errors of GETs (never of the original write) a few times.
#[derive(Clone)]
struct RetryDroppedGets {
    left: usize,
}

impl<Res, E> tower::retry::Policy<Request<Full<Bytes>>, Res, E> for RetryDroppedGets {
    type Future = future::Ready<()>;

    fn retry(
        &mut self,
        req: &mut Request<Full<Bytes>>,
        result: &mut Result<Res, E>,
    ) -> Option<Self::Future> {
        if result.is_err() && req.method() == Method::GET && self.left > 0 {
            self.left -= 1;
            Some(future::ready(()))
        } else {
            None
        }
    }

    fn clone_request(&mut self, req: &Request<Full<Bytes>>) -> Option<Request<Full<Bytes>>> {
        let mut clone = Request::new(req.body().clone());
        *clone.method_mut() = req.method().clone();
        *clone.uri_mut() = req.uri().clone();
        *clone.version_mut() = req.version();
        *clone.headers_mut() = req.headers().clone();
        *clone.extensions_mut() = req.extensions().clone();
        Some(clone)
    }
}

/// The outcome, and the layer's count of transient retries when it succeeded.
async fn outcome_of(id: u64, result: Result<ClientResponse, BoxError>) -> (Outcome, Option<u32>) {
    match result {
        Ok(response) => {
            assert_eq!(response.status(), StatusCode::OK, "operation {id}");
            let retried = response
                .extensions()
                .get::<LroInfo>()
                .unwrap()
                .transient_retries();
            let body: Value = serde_json::from_slice(&body_of(response).await).unwrap();
            assert_eq!(body["id"], id, "operation {id}: {body}");
            (Outcome::Succeeded, Some(retried))
        }
        Err(e) => match e.downcast::<LroError>() {
            Ok(e) if e.kind() == ErrorKind::OperationFailed => (
                Outcome::Failed(e.code().unwrap_or_default().to_owned()),
                None,
            ),
            Ok(e) => panic!("operation {id}: {e}"),
            Err(e) => panic!("operation {id}: not an LroError: {e}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_operations_end_correctly_and_leave_nothing_behind() {
    let started = Instant::now();
    let want: HashMap<u64, (Outcome, u32)> = (0..OPERATIONS).map(|id| (id, expected(id))).collect();
    // The dice must leave every operation survivable, and exercise both outcomes.
    assert!(want.values().all(|(o, _)| *o != Outcome::GaveUp));
    let failures = want
        .values()
        .filter(|(o, _)| *o != Outcome::Succeeded)
        .count();
    assert!((100..400).contains(&failures), "{failures} failures");

    let state = Arc::new(Server {
        ops: Mutex::default(),
        done: Mutex::default(),
        late: Mutex::default(),
        injected: Mutex::default(),
    });
    let routed = state.clone();
    // A deep backlog: thousands of connections arrive at once.
    let server = TestServer::start_with("127.0.0.1", 4096, move |hit| route(&routed, hit)).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();

    // Every clone of the inner service holds `token`: its count shows leaked clones.
    let token = Arc::new(());
    let held = token.clone();
    let client = ServiceBuilder::new()
        .layer(
            fast()
                .max_transient_retries(TRANSIENT_RETRIES)
                .build()
                .unwrap(),
        )
        .retry(RetryDroppedGets {
            left: TRANSPORT_RETRIES,
        })
        .map_request(move |req: Request<Full<Bytes>>| {
            let _ = &held;
            req
        })
        .service(http_client());

    let mut tasks = Vec::new();
    for id in 0..OPERATIONS {
        let (client, state) = (client.clone(), state.clone());
        let path = if is_put(id) {
            format!("/items/{id}")
        } else {
            format!("/jobs/{id}")
        };
        let method = if is_put(id) {
            Method::PUT
        } else {
            Method::POST
        };
        let req = request(method, &server.url(&path))
            .body(Full::from("{}"))
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let result = client.oneshot(req).await;
            // Recorded before anything else: any request for `id` from now on is a stray.
            state.done.lock().unwrap().insert(id);
            (id, outcome_of(id, result).await)
        }));
    }
    let all = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(tasks))
        .await
        .expect("every operation ends");
    let elapsed = started.elapsed();

    let mut got = HashMap::new();
    for joined in all {
        let (id, outcome) = joined.expect("no operation task panicked");
        got.insert(id, outcome);
    }
    for id in 0..OPERATIONS {
        let ((outcome, retried), (want_outcome, want_retried)) = (&got[&id], &want[&id]);
        assert_eq!(outcome, want_outcome, "operation {id}");
        if let Some(retried) = retried {
            assert_eq!(retried, want_retried, "503s retried by operation {id}");
        }
    }

    // Quiet after the end: no stray poll arrives later either.
    let requests = server.hit_count();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server.hit_count(),
        requests,
        "requests after every operation ended"
    );
    let late = state.late.lock().unwrap().clone();
    assert!(
        late.is_empty(),
        "requests after their operation ended: {late:?}"
    );
    // The injections did happen.
    let (hangups, unavailable) = *state.injected.lock().unwrap();
    assert!(
        hangups >= 50 && unavailable >= 500,
        "{hangups} hang-ups, {unavailable} 503s"
    );
    let hits = server.hits();

    drop(client);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "service clones outlived their operations"
    );
    // Pooled connections close once the client is gone; then only the server's loop is left.
    let deadline = Instant::now() + Duration::from_secs(5);
    while metrics.num_alive_tasks() > tasks_before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        metrics.num_alive_tasks(),
        tasks_before,
        "tasks left running"
    );
    eprintln!(
        "{OPERATIONS} operations, {} requests ({hangups} hung up, {unavailable} 503s), {} connections, {failures} failed as scripted, in {elapsed:?}",
        hits.len(),
        server.connections()
    );
}

#[tokio::test]
async fn sequential_operations_reuse_connections() {
    let server = TestServer::start(|hit| {
        if hit.method == "POST" {
            let id = hit.path.trim_start_matches("/jobs/");
            at(202)
                .header(
                    "azure-asyncoperation",
                    hit.url(&format!("/operations/{id}")),
                )
                .header("retry-after-ms", "1")
                .empty()
        } else if hit.method == "GET" && hit.n < 2 {
            at(200)
                .header("retry-after-ms", "1")
                .json(json!({"status": "InProgress", "padding": "x".repeat(512)}))
        } else if hit.method == "GET" {
            at(200).json(json!({"status": "Succeeded"}))
        } else {
            not_found(hit)
        }
    })
    .await;
    let client = fast().build().unwrap().layer(http_client());
    for k in 0..50 {
        let post = request(Method::POST, &server.url(&format!("/jobs/{k}")))
            .body(Full::default())
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(10), client.clone().oneshot(post))
            .await
            .expect("bounded")
            .unwrap();
        assert_eq!(response.extensions().get::<LroInfo>().unwrap().polls(), 3);
        assert_eq!(body_of(response).await, r#"{"status":"Succeeded"}"#);
    }
    assert_eq!(server.hit_count(), 50 * 4);
    // Poll bodies are drained, so each connection goes back to the pool.
    assert!(
        server.connections() <= 4,
        "{} connections",
        server.connections()
    );
}
