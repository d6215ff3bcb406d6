//! `LroLayer` inside the boxed transport of a generated-style SDK client.
//!
//! Generated Azure clients keep one type-erased transport and build typed calls on top of it.
//! Put the layer in that transport, and an LRO method such as `create_account` is written like
//! any other call: send the PUT, decode the body. The layer turns `202 Accepted` + `Location`
//! into the final `200` with the resource.
//!
//! ```sh
//! cargo run --example sdk_transport
//! ```
//!
//! A loopback server (127.0.0.1, no network needed) plays the storage service.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower::util::{BoxCloneSyncService, MapRequestLayer};
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroBody, LroError, LroLayer};

/// The transport every generated client holds: cheap to clone, `Send + Sync`, type-erased.
type Transport = BoxCloneSyncService<Request<Full<Bytes>>, Response<LroBody<Incoming>>, BoxError>;

const API_VERSION: &str = "2023-01-01";

/// Builds the transport: LRO resolution above auth and a per-request timeout, so that every
/// poll is authenticated and bounded like the original request.
fn transport(token: &str) -> Result<Transport, BoxError> {
    let bearer = HeaderValue::try_from(format!("Bearer {token}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let service = ServiceBuilder::new()
        .boxed_clone_sync()
        .layer(
            LroLayer::builder()
                .max_duration(Duration::from_secs(600))
                .build()?,
        )
        .layer(MapRequestLayer::new(
            move |mut req: Request<Full<Bytes>>| {
                req.headers_mut().insert(AUTHORIZATION, bearer.clone());
                req
            },
        ))
        .timeout(Duration::from_secs(30))
        .service(client);
    Ok(service)
}

// ---------------------------------------------------------------------------------------------
// The generated-style client.

/// What the caller asks for.
#[derive(Debug, Serialize)]
struct AccountSpec {
    location: String,
    sku: Sku,
    kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Sku {
    name: String,
}

/// What the service answers.
#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    name: String,
    location: String,
    sku: Sku,
    properties: AccountProperties,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountProperties {
    provisioning_state: String,
    primary_endpoints: Option<Endpoints>,
}

#[derive(Debug, Deserialize)]
struct Endpoints {
    blob: Option<String>,
}

/// `listKeys`: an ordinary synchronous POST.
#[derive(Debug, Deserialize)]
struct Keys {
    keys: Vec<Key>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Key {
    key_name: String,
    permissions: String,
}

/// The client's error: the SDK's own type, with the LRO failure kept typed.
#[derive(Debug)]
enum Error {
    /// The operation failed, was canceled or could not be followed.
    Operation(Box<LroError>),
    /// The service answered with an error status.
    Service { status: StatusCode, body: String },
    /// The request never got an answer (connection, timeout).
    Transport(BoxError),
    /// A body was not the JSON expected.
    Json(serde_json::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Operation(e) => write!(f, "operation {}: {e}", e.kind()),
            Error::Service { status, body } => write!(f, "service answered {status}: {body}"),
            Error::Transport(e) => write!(f, "transport: {e}"),
            Error::Json(e) => write!(f, "unexpected response body: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<BoxError> for Error {
    fn from(e: BoxError) -> Self {
        match e.downcast::<LroError>() {
            Ok(lro) => Error::Operation(lro),
            Err(e) => Error::Transport(e),
        }
    }
}

/// A storage-management client in the shape generated SDKs have.
#[derive(Clone)]
struct StorageClient {
    transport: Transport,
    endpoint: String,
}

impl StorageClient {
    fn new(endpoint: impl Into<String>, transport: Transport) -> Self {
        StorageClient {
            transport,
            endpoint: endpoint.into(),
        }
    }

    /// Creates an account and waits until it is provisioned (an LRO: PUT → 202 + Location).
    async fn create_account(&self, name: &str, spec: &AccountSpec) -> Result<Account, Error> {
        let body = serde_json::to_vec(spec).map_err(Error::Json)?;
        self.send(Method::PUT, &account_path(name), Bytes::from(body))
            .await
    }

    async fn get_account(&self, name: &str) -> Result<Account, Error> {
        self.send(Method::GET, &account_path(name), Bytes::new())
            .await
    }

    /// A POST that answers at once: the layer lets it through untouched.
    async fn list_keys(&self, name: &str) -> Result<Keys, Error> {
        let path = format!("{}/listKeys", account_path(name));
        self.send(Method::POST, &path, Bytes::new()).await
    }

    /// Every method ends here: build, send, check the status, decode.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<T, Error> {
        let uri = format!("{}{path}?api-version={API_VERSION}", self.endpoint);
        let mut request = Request::builder().method(method).uri(uri);
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Error::Transport(e.into()))?;

        // `oneshot` on a clone: the client stays shareable (`&self`), as generated clients are.
        let response = self.transport.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Error::Transport(e.into()))?
            .to_bytes();
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes).into_owned();
            return Err(Error::Service { status, body });
        }
        serde_json::from_slice(&bytes).map_err(Error::Json)
    }
}

fn account_path(name: &str) -> String {
    format!("/providers/Microsoft.Storage/storageAccounts/{name}")
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let endpoint = serve("example-token").await?;
    let client = StorageClient::new(endpoint, transport("example-token")?);

    let spec = AccountSpec {
        location: "westeurope".into(),
        sku: Sku {
            name: "Standard_LRS".into(),
        },
        kind: "StorageV2".into(),
    };
    println!("create_account(\"sa1\") ...");
    let account = client.create_account("sa1", &spec).await?;
    println!(
        "created {} ({}) in {}, sku {}, state {}, blob endpoint {}",
        account.name,
        account.id,
        account.location,
        account.sku.name,
        account.properties.provisioning_state,
        account
            .properties
            .primary_endpoints
            .and_then(|e| e.blob)
            .unwrap_or_default(),
    );

    let again = client.get_account("sa1").await?;
    println!(
        "get_account(\"sa1\"): {}",
        again.properties.provisioning_state
    );

    for key in client.list_keys("sa1").await?.keys {
        println!("key {} ({})", key.key_name, key.permissions);
    }

    // A failure is typed: the client sees the service's code and message.
    match client.create_account("taken", &spec).await {
        Err(Error::Operation(e)) => println!(
            "create_account(\"taken\") failed: {} {} {}",
            e.kind(),
            e.code().unwrap_or("-"),
            e.message().unwrap_or("-"),
        ),
        other => println!("create_account(\"taken\"): unexpected {other:?}"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The loopback service: `PUT` answers 202 + Location; the Location answers 202 twice, then
// 200 with the account. Requests without the bearer token get 401, polls included.

type Reply = Response<Full<Bytes>>;

#[derive(Default)]
struct Service {
    /// Polls seen per account.
    polls: HashMap<String, u32>,
    created: HashMap<String, String>,
}

async fn serve(token: &'static str) -> std::io::Result<String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = Arc::new(Mutex::new(Service::default()));
    let server_base = base.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (state, base) = (state.clone(), server_base.clone());
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (state, base) = (state.clone(), base.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let expected = format!("Bearer {token}");
                    let authorized = parts
                        .headers
                        .get(AUTHORIZATION)
                        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
                    println!(
                        "  server: {} {}{}",
                        parts.method,
                        parts.uri,
                        if authorized {
                            "  [bearer ok]"
                        } else {
                            "  [no token: 401]"
                        }
                    );
                    let reply = if authorized {
                        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                        route(&mut state, &base, &parts.method, parts.uri.path(), &body)
                    } else {
                        json(
                            StatusCode::UNAUTHORIZED,
                            r#"{"error":{"code":"Unauthorized"}}"#,
                        )
                    };
                    Ok::<_, Infallible>(reply)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(base)
}

fn route(state: &mut Service, base: &str, method: &Method, path: &str, body: &[u8]) -> Reply {
    const ACCOUNTS: &str = "/providers/Microsoft.Storage/storageAccounts/";
    const OPERATIONS: &str = "/providers/Microsoft.Storage/operations/";
    let op_url = |name: &str| format!("{base}{OPERATIONS}{name}?api-version={API_VERSION}");

    if let Some(name) = path.strip_prefix(OPERATIONS) {
        let polls = state.polls.entry(name.to_owned()).or_default();
        *polls += 1;
        return match (name, *polls) {
            (_, 1 | 2) => Response::builder()
                .status(StatusCode::ACCEPTED)
                .header("location", op_url(name))
                .header("retry-after-ms", "300")
                .body(Full::default())
                .expect("a valid response"),
            ("taken", _) => json(
                StatusCode::CONFLICT,
                r#"{"error":{"code":"StorageAccountAlreadyTaken","message":"The storage account named taken is already taken."}}"#,
            ),
            _ => match state.created.get(name) {
                Some(location) => json(StatusCode::OK, &account(name, location, "Succeeded")),
                None => json(StatusCode::NOT_FOUND, r#"{"error":{"code":"NotFound"}}"#),
            },
        };
    }
    let Some(rest) = path.strip_prefix(ACCOUNTS) else {
        return json(StatusCode::NOT_FOUND, r#"{"error":{"code":"NotFound"}}"#);
    };
    match (method, rest.split_once('/')) {
        (&Method::PUT, None) => {
            let location = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["location"].as_str().map(str::to_owned))
                .unwrap_or_default();
            state.created.insert(rest.to_owned(), location);
            Response::builder()
                .status(StatusCode::ACCEPTED)
                .header("location", op_url(rest))
                .header("retry-after-ms", "300")
                .body(Full::default())
                .expect("a valid response")
        }
        (&Method::GET, None) => match state.created.get(rest) {
            Some(location) => json(StatusCode::OK, &account(rest, location, "Succeeded")),
            None => json(StatusCode::NOT_FOUND, r#"{"error":{"code":"NotFound"}}"#),
        },
        (&Method::POST, Some((_, "listKeys"))) => json(
            StatusCode::OK,
            r#"{"keys":[{"keyName":"key1","permissions":"FULL"},{"keyName":"key2","permissions":"FULL"}]}"#,
        ),
        _ => json(StatusCode::NOT_FOUND, r#"{"error":{"code":"NotFound"}}"#),
    }
}

fn account(name: &str, location: &str, state: &str) -> String {
    serde_json::json!({
        "id": format!("/providers/Microsoft.Storage/storageAccounts/{name}"),
        "name": name,
        "location": location,
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "properties": {
            "provisioningState": state,
            "primaryEndpoints": {"blob": format!("https://{name}.blob.core.windows.net/")},
        },
    })
    .to_string()
}

fn json(status: StatusCode, body: &str) -> Reply {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::from(body.to_owned()))
        .expect("a valid response")
}
