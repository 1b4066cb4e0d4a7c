//! A small blocking GET for the CI systems' REST APIs (who approved a run). Plain http
//! only in this build: the TLS transport comes with the azure backend's HTTP pipeline
//! (reqwest + rustls), and this function will move onto it. Header values may be secrets:
//! they never appear in an error.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::{Error, Result};

pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

/// GET `url` with `headers`; any answer (4xx, 5xx included) is returned, only a failure
/// to get one is an error.
pub fn get(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Response> {
    let uri: Uri = url.parse().map_err(|_| Error::usage(format!("`{url}` is not a URL"), "check the CI variables it was built from"))?;
    if uri.scheme_str() != Some("http") {
        return Err(Error::service(
            format!("cannot reach `{}://{}`: this build speaks plain http only", uri.scheme_str().unwrap_or("?"), uri.authority().map(|a| a.as_str()).unwrap_or("?")),
            Some("TLS arrives with the azure backend's HTTP pipeline; until then this command works against http servers (tests, proxies)".into()),
        ));
    }
    let mut request = Request::builder().method("GET").uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Empty::<Bytes>::new()).map_err(|_| Error::usage(format!("cannot build a request for `{url}`"), "a header holds a character HTTP does not allow"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::storage("cannot start the async runtime", e))?;
    runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let exchange = async {
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>(Response { status, body })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(cause)) => Err(Error::service(format!("GET {url} failed: {cause}"), Some("is the server up, and the URL right?".into()))),
            Err(_) => Err(Error::service(format!("GET {url}: no answer within {}s", timeout.as_secs()), None)),
        }
    })
}
