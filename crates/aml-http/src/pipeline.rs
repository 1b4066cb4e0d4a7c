//! The one way to make an HTTP pipeline: azure_core's `Pipeline` over our reqwest transport,
//! with the retry options set here and every try logged (`--verbose`).
//!
//! Every outgoing request of the tools goes through a pipeline made here: Resource Manager,
//! blob storage, Entra, Databricks, the Distribution registry and Azure Container Registry's
//! token exchange, the CI systems' REST APIs, scoring URIs and the local inference servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientOptions, Context, ExponentialRetryOptions, Pipeline, Request, RetryOptions, Transport};

use aml_core::settings::Settings;

/// How a pipeline retries a failed try (a dropped connection, 408, 429, 500, 502, 503, 504;
/// Retry-After honoured on 429 and 503).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// Each request is tried once: scoring, where every answer is what is measured.
    Never,
    /// Exponential backoff with jitter.
    Backoff { max_retries: u32, initial_delay: Duration, max_delay: Duration, max_total: Duration },
}

impl Retry {
    /// Services (ARM, storage, Databricks, registries): `AML_HTTP_RETRIES` retries (8 by
    /// default) from 200 ms, at most 30 s apart, for at most a minute in all.
    pub fn service(settings: &Settings) -> Retry {
        Retry::Backoff {
            max_retries: settings.http_retries(),
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(60),
        }
    }

    /// Token requests: few and fast, so the request that needed the token (itself retried)
    /// and the user see why it failed.
    pub fn token() -> Retry {
        Retry::Backoff {
            max_retries: 3,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(20),
        }
    }

    fn options(self) -> RetryOptions {
        match self {
            Retry::Never => RetryOptions::none(),
            Retry::Backoff { max_retries, initial_delay, max_delay, max_total } => {
                RetryOptions::exponential(ExponentialRetryOptions {
                    initial_delay: duration(initial_delay),
                    max_retries,
                    max_total_elapsed: duration(max_total),
                    max_delay: duration(max_delay),
                })
            }
        }
    }
}

fn duration(d: Duration) -> azure_core::time::Duration {
    azure_core::time::Duration::milliseconds(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Client options for an SDK type that makes its own pipeline (azure_identity's credentials).
pub fn client_options(transport: &Transport, retry: Retry) -> ClientOptions {
    let per_try: Vec<Arc<dyn Policy>> = vec![Arc::new(RequestLog)];
    ClientOptions {
        transport: Some(transport.clone()),
        retry: retry.options(),
        per_call_policies: vec![Arc::new(CountTries)],
        per_try_policies: per_try,
        ..Default::default()
    }
}

/// A pipeline over `transport`; `per_try` policies (credentials, signatures) run on every try,
/// before the request log.
pub fn pipeline(transport: &Transport, retry: Retry, mut per_try: Vec<Arc<dyn Policy>>) -> Pipeline {
    per_try.push(Arc::new(RequestLog));
    let options = ClientOptions { transport: Some(transport.clone()), retry: retry.options(), ..Default::default() };
    Pipeline::new(
        Some("aml-tools"),
        Some(env!("CARGO_PKG_VERSION")),
        options,
        vec![Arc::new(CountTries)],
        per_try,
        None,
    )
}

/// The tries of one request so far, shared by its per-try policies through the context.
#[derive(Debug, Default)]
struct Tries(AtomicU32);

/// Per call: a fresh try counter for the request log.
#[derive(Debug)]
struct CountTries;

#[async_trait]
impl Policy for CountTries {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let ctx = ctx.clone().with_value(Arc::new(Tries::default()));
        next[0].send(&ctx, request, &next[1..]).await
    }
}

/// Per try: method, URL without query or user info, status, time and which try, at `debug`;
/// a try that will be retried says why.
#[derive(Debug)]
struct RequestLog;

const RETRIED: [u16; 6] = [408, 429, 500, 502, 503, 504];

#[async_trait]
impl Policy for RequestLog {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return next[0].send(ctx, request, &next[1..]).await;
        }
        let attempt = ctx.value::<Arc<Tries>>().map_or(1, |tries| tries.0.fetch_add(1, Ordering::Relaxed) + 1);
        let method = request.method();
        let url = crate::url::SafeUrl::from(request.url().clone());
        let started = Instant::now();
        let result = next[0].send(ctx, request, &next[1..]).await;
        let elapsed = started.elapsed();
        match &result {
            Ok(response) => {
                let status = u16::from(response.status());
                if RETRIED.contains(&status) {
                    let after = response
                        .headers()
                        .get_optional_str(&azure_core::http::headers::RETRY_AFTER)
                        .map(|v| format!(", Retry-After {v}"))
                        .unwrap_or_default();
                    tracing::debug!("{method} {url} → {status} in {elapsed:.1?} (try {attempt}); retryable{after}");
                } else {
                    tracing::debug!("{method} {url} → {status} in {elapsed:.1?} (try {attempt})");
                }
            }
            Err(error) => {
                tracing::debug!(
                    "{method} {url} failed in {elapsed:.1?} (try {attempt}): {}; retryable if the connection broke",
                    crate::error_chain(error)
                );
            }
        }
        result
    }
}
