//! Azure Resource Manager calls for one workspace: azure_core's pipeline (retries with
//! exponential backoff and jitter, Retry-After on 429/503, the bearer token refreshed per
//! try), long-running operations followed to the end, `nextLink` pages, and ARM's error
//! envelope turned into one message (code, message, target, request id).

use std::sync::Arc;
use std::time::Duration;

use azure_core::http::headers::HeaderName;
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, Request, Transport, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use aml_auth::Identity;
use aml_core::error::{Error, Result};
use aml_http::pipeline::Retry;

pub const API_VERSION: &str = "2025-12-01";

pub struct Arm {
    pipeline: Pipeline,
    endpoint: String,
    identity: String,
}

/// What a call answered, any status.
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub async_operation: Option<String>,
    pub retry_after: Option<u64>,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::service(format!("{what}: the answer is not what the API describes: {e}"), None))
    }
}

#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

/// One line for an ARM error: what was asked, the service's code and message, and the
/// request id support will ask for.
pub fn describe_error(method: &str, what: &str, reply: &Reply) -> String {
    let envelope: Envelope = serde_json::from_slice(&reply.body).unwrap_or_default();
    let detail = envelope.error.unwrap_or_default();
    let mut text = format!("{method} {what}: HTTP {}", reply.status);
    if let Some(code) = detail.code {
        text.push_str(&format!(" {code}"));
    }
    if let Some(message) = detail.message {
        text.push_str(&format!(": {message}"));
    }
    if let Some(target) = detail.target {
        text.push_str(&format!(" (target `{target}`)"));
    }
    if let Some(id) = &reply.request_id {
        text.push_str(&format!(" [request id {id}]"));
    }
    text
}

fn header(response: &azure_core::http::RawResponse, name: &'static str) -> Option<String> {
    response.headers().get_optional_str(&HeaderName::from_static(name)).map(str::to_owned)
}

impl Arm {
    pub fn new(endpoint: &str, scope: &str, identity: &Identity, transport: &Transport, retry: Retry) -> Arm {
        let auth: Arc<dyn Policy> =
            Arc::new(BearerTokenAuthorizationPolicy::new(identity.credential.clone(), [scope.to_string()]));
        let pipeline = aml_http::pipeline::pipeline(transport, retry, vec![auth]);
        Arm { pipeline, endpoint: endpoint.trim_end_matches('/').to_string(), identity: identity.describe() }
    }

    /// An absolute URL for an ARM path, with the api-version.
    pub fn url(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{separator}api-version={API_VERSION}", self.endpoint)
    }

    /// An absolute URL for a path of another resource provider under ARM (Azure Monitor's
    /// `providers/Microsoft.Insights/…` on a workspace's resource), with that provider's
    /// api-version.
    pub fn url_with_version(&self, path: &str, api_version: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{separator}api-version={api_version}", self.endpoint)
    }

    /// Send and return the answer whatever its status; only a failure to get one (after
    /// retries) or a token that cannot be had is an error.
    pub async fn send(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Reply> {
        let parsed = Url::parse(url).map_err(|_| Error::service(format!("`{url}` is not a URL"), None))?;
        let mut request = Request::new(parsed, method);
        request.insert_header("accept", "application/json");
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(serde_json::to_vec(body).unwrap_or_default());
        } else if matches!(method, Method::Post | Method::Put | Method::Patch) {
            request.set_body(Vec::new());
        }
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|e| self.transport_error(&method, url, &e))?;
        Ok(Reply {
            status: u16::from(response.status()),
            location: header(&response, "location"),
            async_operation: header(&response, "azure-asyncoperation"),
            retry_after: header(&response, "retry-after").and_then(|v| v.trim().parse().ok()),
            request_id: header(&response, "x-ms-request-id")
                .or_else(|| header(&response, "x-ms-correlation-request-id")),
            body: response.into_body().to_vec(),
        })
    }

    fn transport_error(&self, method: &Method, url: &str, e: &azure_core::Error) -> Error {
        let path = aml_http::strip_query(url);
        if matches!(e.kind(), azure_core::error::ErrorKind::Credential) {
            return Error::service(
                format!("cannot get a token as {}: {}", self.identity, aml_http::error_chain(e)),
                Some(
                    "check the credential's settings (and AZURE_TENANT_ID); `--auth` picks another identity source"
                        .into(),
                ),
            );
        }
        Error::service(
            format!("{method} {path} failed: {}", aml_http::error_chain(e)),
            Some("is the network up and the endpoint right? transient faults were retried".into()),
        )
    }

    /// A call that must succeed: non-2xx is an error naming the call and ARM's message.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let url =
            if path.starts_with("https://") || path.starts_with("http://") { path.to_string() } else { self.url(path) };
        let reply = self.send(method, &url, body).await?;
        if (200..300).contains(&reply.status) {
            return Ok(reply);
        }
        Err(self.status_error(&method, &url, &reply))
    }

    pub fn status_error(&self, method: &Method, url: &str, reply: &Reply) -> Error {
        let message = describe_error(method.as_ref(), &aml_http::strip_query(url), reply);
        let hint = match reply.status {
            401 | 403 => Some(format!(
                "acting as {}: does it have a role on the workspace (e.g. AzureML Data Scientist)?",
                self.identity
            )),
            404 => Some("check the subscription, resource group and workspace names in `--workspace`".into()),
            _ => None,
        };
        Error::service(message, hint)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::Get, path, None).await?.json(path)
    }

    /// GET that tells a missing resource (404) from a failure.
    pub async fn get_optional<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let url = self.url(path);
        let reply = self.send(Method::Get, &url, None).await?;
        match reply.status {
            404 => Ok(None),
            200..=299 => reply.json(path).map(Some),
            _ => Err(self.status_error(&Method::Get, &url, &reply)),
        }
    }

    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.call(Method::Put, path, Some(body)).await?.json(path)
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: Option<&Value>) -> Result<T> {
        self.call(Method::Post, path, body).await?.json(path)
    }

    /// Every item of a pageable ARM list, following `nextLink` as given.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        self.list_from(&self.url(path), path).await
    }

    /// Every item of a pageable list that starts at an absolute URL (a data-plane API such
    /// as run history's, reached with the same token), following `nextLink`.
    pub async fn list_from<T: DeserializeOwned>(&self, first: &str, what: &str) -> Result<Vec<T>> {
        #[derive(Deserialize)]
        struct Page<T> {
            value: Vec<T>,
            #[serde(rename = "nextLink", default)]
            next_link: Option<String>,
        }
        let mut items = Vec::new();
        let mut next = Some(first.to_string());
        while let Some(url) = next.take() {
            let page: Page<T> = self.call(Method::Get, &url, None).await?.json(what)?;
            items.extend(page.value);
            next = page.next_link.filter(|l| !l.is_empty());
        }
        Ok(items)
    }

    /// Follow a long-running operation started by `reply` to its end: Azure-AsyncOperation
    /// (its `status`) or Location (202 until done), honouring Retry-After; `on_status` sees
    /// the status at every poll. Fails with the operation's error.
    pub async fn wait(
        &self,
        what: &str,
        reply: &Reply,
        timeout: Duration,
        on_status: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let started = std::time::Instant::now();
        let mut delay = reply.retry_after.unwrap_or(1);
        if let Some(url) = reply.async_operation.clone() {
            loop {
                let status = self.call(Method::Get, &url, None).await?;
                let body: Value = status.json(what)?;
                let state = body.get("status").and_then(Value::as_str).unwrap_or("InProgress").to_string();
                tracing::debug!(
                    "{what}: operation {state} after {:.0?} (Azure-AsyncOperation; next poll in {}s)",
                    started.elapsed(),
                    status.retry_after.unwrap_or(delay).clamp(1, 60)
                );
                on_status(&state);
                match state.as_str() {
                    "Succeeded" => return Ok(()),
                    "Failed" | "Canceled" => {
                        let error = body.get("error").cloned().unwrap_or(Value::Null);
                        let code = error.get("code").and_then(Value::as_str).unwrap_or("");
                        let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
                        return Err(Error::failed(format!("{what} {}: {code} {message}", state.to_lowercase()), None));
                    }
                    _ => {}
                }
                if started.elapsed() > timeout {
                    return Err(Error::service(
                        format!("{what} still {state} after {}s", timeout.as_secs()),
                        Some("it goes on in Azure; look at it there or wait longer (`--timeout`)".into()),
                    ));
                }
                delay = status.retry_after.unwrap_or(delay).clamp(1, 60);
                tokio::time::sleep(Duration::from_secs(delay)).await;
            }
        }
        if let Some(url) = reply.location.clone()
            && reply.status == 202
        {
            loop {
                let status = self.send(Method::Get, &url, None).await?;
                tracing::debug!(
                    "{what}: operation answered {} after {:.0?} (Location; next poll in {}s)",
                    status.status,
                    started.elapsed(),
                    status.retry_after.unwrap_or(delay).clamp(1, 60)
                );
                on_status(if status.status == 202 { "InProgress" } else { "Succeeded" });
                match status.status {
                    202 => {}
                    200..=299 => return Ok(()),
                    _ => return Err(self.status_error(&Method::Get, &url, &status)),
                }
                if started.elapsed() > timeout {
                    return Err(Error::service(format!("{what} still running after {}s", timeout.as_secs()), None));
                }
                delay = status.retry_after.unwrap_or(delay).clamp(1, 60);
                tokio::time::sleep(Duration::from_secs(delay)).await;
            }
        }
        Ok(())
    }
}
