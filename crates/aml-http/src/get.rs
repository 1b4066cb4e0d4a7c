//! A small blocking GET for the CI systems' REST APIs (who approved a run), over the same
//! transport as every Azure call (`azure::transport`: rustls, the system's roots, no
//! redirects). Header values may be secrets: they never appear in an error, and neither
//! does the URL's query.

use std::time::Duration;

use axum::body::Bytes;

use aml_core::error::{Error, Result};

pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

/// GET `url` with `headers`; any answer (4xx, 5xx included) is returned, only a failure
/// to get one is an error.
pub fn get(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Response> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| Error::usage(format!("`{url}` is not a URL"), "check the CI variables it was built from"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::usage(format!("`{url}` is not an http(s) URL"), "check the CI variables it was built from"));
    }
    let shown = crate::strip_query(url);
    let client = crate::transport::client(timeout)?;
    let mut request = client.get(parsed);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::storage("cannot start the async runtime", e))?;
    runtime.block_on(async {
        let exchange = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Response { status, body })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(cause)) => Err(Error::service(
                format!("GET {shown} failed: {}", crate::error_chain(&cause.without_url())),
                Some("is the server up, and the URL right?".into()),
            )),
            Err(_) => Err(Error::service(format!("GET {shown}: no answer within {}s", timeout.as_secs()), None)),
        }
    })
}
