//! The router's hop to its inference servers on 127.0.0.1: the request as it came (minus the
//! key and hop-by-hop headers) to the chosen deployment's port, its answer back.
//!
//! Two clients can make the hop, picked by `AML_ROUTER_HOP`: a pooled keep-alive hyper
//! client (the default), and the HTTP crate's pipeline (reqwest under azure_core), which
//! every other outgoing call uses. `cargo xtask bench` measures both against the router's
//! latency budget (+0.2 ms at p50); BENCHMARKS.md says which is kept and why.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use aml_core::error::Result;
use aml_core::settings::{EnvVars, Settings};
use aml_http::client::{Client as PipelineClient, HttpMethod};
use aml_http::pipeline::Retry;
use aml_http::transport::TransportOptions;

#[derive(Clone)]
pub enum Hop {
    Hyper(Client<HttpConnector, Full<Bytes>>),
    Pipeline(Arc<PipelineClient>),
}

/// Headers that belong to the connection, or to us (the key), not to the request. The body
/// goes whole, so its length is the hop's to state, never the caller's.
fn forwarded(name: &str) -> bool {
    !matches!(
        name,
        "authorization" | "host" | "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "content-length"
    )
}

impl Hop {
    pub fn new(settings: &Settings) -> Result<Hop> {
        if settings.get(EnvVars::AML_ROUTER_HOP) == Some("pipeline") {
            // Many keep-alive connections, no retries: the router's caller decides.
            let options = TransportOptions { read_timeout: Duration::from_secs(300), idle_per_host: 1024 };
            return Ok(Hop::Pipeline(Arc::new(PipelineClient::new(options, Retry::Never)?)));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Ok(Hop::Hyper(
            Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector),
        ))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Hop::Hyper(_) => "hyper",
            Hop::Pipeline(_) => "pipeline",
        }
    }

    /// Send the request to 127.0.0.1:`port`; `None` when the server does not answer.
    pub async fn send(&self, parts: &Parts, body: Bytes, port: u16) -> Option<Response> {
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let url = format!("http://127.0.0.1:{port}{path}");
        match self {
            Hop::Hyper(client) => {
                let mut builder = axum::http::Request::builder().method(parts.method.clone()).uri(url);
                for (name, value) in &parts.headers {
                    if forwarded(name.as_str()) {
                        builder = builder.header(name, value);
                    }
                }
                let request = builder.body(Full::new(body)).ok()?;
                let response = client.request(request).await.ok()?;
                let (parts, body) = response.into_parts();
                Some(Response::from_parts(parts, Body::new(body)))
            }
            Hop::Pipeline(client) => {
                let method = parts.method.as_str().parse::<HttpMethod>().ok()?;
                let headers: Vec<(&str, &str)> = parts
                    .headers
                    .iter()
                    .filter(|(name, _)| forwarded(name.as_str()))
                    .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
                    .collect();
                let answer = client.send(method, &url, &headers, body, Duration::from_secs(300)).await.ok()?;
                let mut response = Response::new(Body::from(answer.body));
                *response.status_mut() = StatusCode::from_u16(answer.status).ok()?;
                for (name, value) in &answer.headers {
                    if let (Ok(name), Ok(value)) =
                        (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
                    {
                        response.headers_mut().append(name, value);
                    }
                }
                Some(response)
            }
        }
    }
}
