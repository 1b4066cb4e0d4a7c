//! A client for an online endpoint's scoring URI: pooled keep-alive connections, the key as
//! `Authorization: Bearer`, and optionally `azureml-model-deployment` to pin a deployment.
//! What `smoke-test` drives, under load if asked. Each request is tried once: a failed
//! answer is what a smoke test reports, not something to hide behind a retry.

use std::time::{Duration, Instant};

use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, Request, Url};
pub use bytes::Bytes;

use crate::pipeline::{Retry, pipeline};
use crate::transport::{TransportOptions, transport};
use aml_core::error::{Error, Result};
use aml_core::online::EndpointAccess;

#[derive(Clone)]
pub struct ScoringClient {
    pipeline: std::sync::Arc<Pipeline>,
    url: Url,
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
        let shown = crate::url::shown(&access.scoring_uri);
        let url = Url::parse(&access.scoring_uri).map_err(|_| {
            Error::usage(format!("`{shown}` is not a URL"), "give the scoring URI, e.g. `http://127.0.0.1:8080/score`")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::usage(
                format!("`{shown}` is not an http:// or https:// URL"),
                "give the endpoint's scoring URI",
            ));
        }
        // Enough idle connections for the highest concurrency a load test or profile uses.
        let options = TransportOptions { read_timeout: timeout, idle_per_host: 1024 };
        let pipeline = pipeline(&transport(options)?, Retry::Never, Vec::new());
        Ok(ScoringClient {
            pipeline: std::sync::Arc::new(pipeline),
            url,
            authorization: (!access.key.is_empty()).then(|| format!("Bearer {}", access.key)),
            deployment,
            timeout,
        })
    }

    pub async fn score(&self, body: Bytes) -> Answer {
        let start = Instant::now();
        let mut request = Request::new(self.url.clone(), Method::Post);
        request.insert_header("content-type", "application/json");
        if let Some(authorization) = &self.authorization {
            request.insert_header("authorization", authorization.clone());
        }
        if let Some(deployment) = &self.deployment {
            request.insert_header(aml_core::online::DEPLOYMENT_HEADER, deployment.clone());
        }
        request.set_body(body);
        let exchange = async {
            let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
            let response = self
                .pipeline
                .send(&Context::new(), &mut request, Some(options))
                .await
                .map_err(|e| crate::error_chain(&e))?;
            let status = u16::from(response.status());
            Ok::<_, String>((status, Bytes::from(response.into_body().to_vec())))
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
}
