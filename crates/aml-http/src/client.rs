//! A pipeline for plain calls that need no credential: send a request, get its status and
//! body. The CI systems' REST APIs and the local inference servers' probes use it.

use std::time::Duration;

use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, Request, Url};
use bytes::Bytes;

use crate::pipeline::{Retry, pipeline};
use crate::transport::{TransportOptions, transport, transport_trusting};
use aml_core::error::{Error, Result};

pub use azure_core::http::Method as HttpMethod;

/// An answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct Client {
    pipeline: Pipeline,
}

impl Client {
    pub fn new(options: TransportOptions, retry: Retry) -> Result<Client> {
        Ok(Client { pipeline: pipeline(&transport(options)?, retry, Vec::new()) })
    }

    /// A client that also trusts `extra_root` (PEM): the test emulator's own calls to a
    /// server presenting its self-signed certificate.
    pub fn trusting(options: TransportOptions, retry: Retry, extra_root: &[u8]) -> Result<Client> {
        Ok(Client { pipeline: pipeline(&transport_trusting(options, extra_root)?, retry, Vec::new()) })
    }

    /// Send and wait at most `timeout` for the whole answer; only getting none is an error,
    /// described without the URL's query or user info.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response> {
        let shown = crate::url::shown(url);
        let parsed = Url::parse(url).map_err(|_| Error::usage(format!("`{shown}` is not a URL"), "check the URL"))?;
        let mut request = Request::new(parsed, method);
        for (name, value) in headers {
            request.insert_header(name.to_ascii_lowercase(), value.to_string());
        }
        request.set_body(body);
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let exchange = async {
            let response = self.pipeline.send(&Context::new(), &mut request, Some(options)).await?;
            let status = u16::from(response.status());
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), value.as_str().to_string()))
                .collect();
            Ok::<_, azure_core::Error>(Response { status, headers, body: Bytes::from(response.into_body().to_vec()) })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(cause)) => Err(Error::service(
                format!("{method} {shown} failed: {}", crate::error_chain(&cause)),
                Some("is the server up, and the URL right?".into()),
            )),
            Err(_) => {
                Err(Error::service(format!("{method} {shown}: no answer within {:.1}s", timeout.as_secs_f64()), None))
            }
        }
    }
}
