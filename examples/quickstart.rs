// cargo run --example demo -- serve     # terminal 1: a simulated Azure Resource Manager
// cargo run --example quickstart        # terminal 2 ([BASE_URL] or $LRO_BASE_URL;
//                                       #   default http://127.0.0.1:8080)
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tower::{ServiceBuilder, ServiceExt};
use tower_lro::{LroError, LroInfo, LroLayer};

#[tokio::main]
async fn main() -> Result<(), tower::BoxError> {
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("LRO_BASE_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());

    // An HTTP client wrapped in LroLayer: a request that starts a long-running operation
    // comes back when the operation has ended, its monitor polled through the client.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let service = ServiceBuilder::new().layer(LroLayer::new()).service(client);

    let account =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sa1";
    let request = http::Request::put(format!("{base}{account}?api-version=2023-05-01"))
        .header("content-type", "application/json")
        .body(Full::from(
            r#"{"location":"westeurope","sku":{"name":"Standard_LRS"}}"#,
        ))?;

    match service.oneshot(request).await {
        Ok(response) => {
            let status = response.status();
            let polls = response.extensions().get::<LroInfo>().map(LroInfo::polls);
            let body = response.into_body().collect().await?.to_bytes();
            println!(
                "{status} after {polls:?} polls: {}",
                String::from_utf8_lossy(&body)
            );
            Ok(())
        }
        Err(e) => {
            match e.downcast_ref::<LroError>() {
                // The service's own failure: its code and message, and a token to resume with.
                Some(lro) => eprintln!("{:?}: {:?} {:?}", lro.kind(), lro.code(), lro.message()),
                None => eprintln!("no answer from {base} (is the demo serving?)"),
            }
            Err(e)
        }
    }
}
