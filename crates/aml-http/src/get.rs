//! A GET for the CI systems' REST APIs (who approved a run), through the same pipeline as
//! every other call. Header values may be secrets: they never appear in an error, and
//! neither does the URL's query or user info.

use std::time::Duration;

use bytes::Bytes;

use crate::client::{Client, HttpMethod, Response};
use crate::pipeline::Retry;
use crate::transport::TransportOptions;
use aml_core::error::{Error, Result};
use aml_core::settings::Settings;

/// GET `url` with `headers`; any answer (4xx, 5xx included) is returned, only a failure to
/// get one (after retries) is an error.
pub async fn get(settings: &Settings, url: &str, headers: &[(&str, &str)], timeout: Duration) -> Result<Response> {
    let shown = crate::url::shown(url);
    let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(Error::usage(
            format!("`{shown}` is not an http(s) URL"),
            "check the CI variables it was built from",
        ));
    }
    let client = Client::new(TransportOptions::service(timeout), Retry::service(settings))?;
    client.send(HttpMethod::Get, url, headers, Bytes::new(), timeout).await
}
