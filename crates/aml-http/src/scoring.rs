//! A client for an online endpoint's scoring URI: pooled keep-alive connections, the key as
//! `Authorization: Bearer`, and optionally `azureml-model-deployment` to pin a deployment.
//! What `smoke-test` drives, under load if asked.

use std::time::{Duration, Instant};

pub use axum::body::Bytes;
use axum::http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use aml_core::error::{Error, Result};
use aml_core::online::EndpointAccess;

/// Plain http through hyper (the local router, where added latency is measured); https
/// (Azure ML's managed endpoints) through the shared rustls transport.
#[derive(Clone)]
enum Connection {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(reqwest::Client),
}

#[derive(Clone)]
pub struct ScoringClient {
    connection: Connection,
    uri: Uri,
    authorization: Option<String>,
    deployment: Option<String>,
    timeout: Duration,
}

/// One answer: status 0 means no HTTP answer at all (refused, reset, timed out).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
    pub latency: Duration,
    pub error: Option<String>,
}

impl ScoringClient {
    /// `access` from the workspace, or a URL with a key; `deployment` pins one deployment.
    pub fn new(access: &EndpointAccess, deployment: Option<String>, timeout: Duration) -> Result<ScoringClient> {
        let uri: Uri = access.scoring_uri.parse().map_err(|_| {
            Error::usage(
                format!("`{}` is not a URL", access.scoring_uri),
                "give the scoring URI, e.g. `http://127.0.0.1:8080/score`",
            )
        })?;
        let connection = match uri.scheme_str() {
            Some("http") => {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                Connection::Plain(
                    Client::builder(TokioExecutor::new())
                        .pool_idle_timeout(Duration::from_secs(30))
                        .pool_max_idle_per_host(1024)
                        .build(connector),
                )
            }
            Some("https") => Connection::Tls(crate::transport::client(timeout)?),
            _ => {
                return Err(Error::usage(
                    format!("`{}` is not an http:// or https:// URL", access.scoring_uri),
                    "give the endpoint's scoring URI",
                ));
            }
        };
        Ok(ScoringClient {
            connection,
            uri,
            authorization: (!access.key.is_empty()).then(|| format!("Bearer {}", access.key)),
            deployment,
            timeout,
        })
    }

    pub async fn score(&self, body: Bytes) -> Answer {
        let client = match &self.connection {
            Connection::Plain(client) => client,
            Connection::Tls(client) => return self.score_tls(client, body).await,
        };
        let start = Instant::now();
        let mut request =
            Request::builder().method(Method::POST).uri(self.uri.clone()).header("content-type", "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(deployment) = &self.deployment {
            request = request.header(aml_core::online::DEPLOYMENT_HEADER, deployment);
        }
        let request = match request.body(Full::new(body)) {
            Ok(request) => request,
            Err(e) => {
                return Answer { status: 0, body: Bytes::new(), latency: start.elapsed(), error: Some(e.to_string()) };
            }
        };
        let exchange = async {
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((status, body))) => Answer { status, body, latency: start.elapsed(), error: None },
            Ok(Err(error)) => Answer { status: 0, body: Bytes::new(), latency: start.elapsed(), error: Some(error) },
            Err(_) => Answer {
                status: 0,
                body: Bytes::new(),
                latency: start.elapsed(),
                error: Some(format!("no answer within {}s", self.timeout.as_secs_f64())),
            },
        }
    }

    async fn score_tls(&self, client: &reqwest::Client, body: Bytes) -> Answer {
        let start = Instant::now();
        let mut request = client
            .post(self.uri.to_string())
            .header("content-type", "application/json")
            .timeout(self.timeout)
            .body(body);
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(deployment) = &self.deployment {
            request = request.header(aml_core::online::DEPLOYMENT_HEADER, deployment);
        }
        let exchange = async {
            let response = request.send().await.map_err(|e| crate::error_chain(&e))?;
            let status = response.status().as_u16();
            let body = response.bytes().await.map_err(|e| crate::error_chain(&e))?;
            Ok::<_, String>((status, body))
        };
        match exchange.await {
            Ok((status, body)) => Answer { status, body, latency: start.elapsed(), error: None },
            Err(error) => Answer { status: 0, body: Bytes::new(), latency: start.elapsed(), error: Some(error) },
        }
    }
}
