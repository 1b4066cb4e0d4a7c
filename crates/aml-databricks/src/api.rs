//! The Databricks REST calls a job needs — Files API on a volume, Jobs API 2.2 one-time
//! runs, MLflow — through azure_core's pipeline (the retries, backoff, Retry-After and
//! per-try timeouts every Azure call has), authenticated with an Entra token for Databricks'
//! resource or a personal access token. Neither appears in any message.

use std::path::Path;
use std::sync::Arc;

use azure_core::credentials::Secret;
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{Body, Context, Method, Pipeline, PipelineSendOptions, Request, Url};
use azure_core::stream::{SeekableReadStream, SeekableStream};
use serde::Deserialize;
use serde_json::Value;

use crate::compute::{Compute, RESOURCE_SCOPE, TOKEN_VARIABLE};
use aml_core::error::{Error, IoContext, Result};
use aml_core::settings::{EnvVars, Settings};
use aml_http::pipeline::Retry;
use aml_http::transport::TransportOptions;

pub struct Client {
    pipeline: Pipeline,
    pub host: String,
    /// A personal access token, sent as is; None when the pipeline adds an Entra token.
    token: Option<Secret>,
    /// Which credential, for messages.
    pub credential: String,
}

/// What a call answered, any status.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Databricks' error envelope.
#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// One entry of a volume folder.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub path: String,
    #[serde(default)]
    pub is_directory: bool,
    #[serde(default)]
    pub name: Option<String>,
}

/// Each segment percent-encoded, the slashes kept (as the SDK's
/// `_escape_multi_segment_path_parameter`).
fn escape_path(path: &str) -> String {
    path.split('/').map(aml_http::url::encode_component).collect::<Vec<_>>().join("/")
}

impl Client {
    /// A client for `compute`'s workspace: DATABRICKS_TOKEN when set, else the Azure
    /// identity chain (`--auth`) asked for a token for Databricks' resource.
    pub fn new(compute: &Compute, settings: &Settings) -> Result<Client> {
        let transport = aml_http::transport::transport(TransportOptions::service(std::time::Duration::from_secs(120)))?;
        let pat = settings.get(EnvVars::DATABRICKS_TOKEN).map(str::to_owned);
        let (policies, token, credential): (Vec<Arc<dyn Policy>>, _, _) = match pat {
            Some(token) => (
                Vec::new(),
                Some(Secret::new(token.trim().to_string())),
                format!("{TOKEN_VARIABLE} (a personal access token)"),
            ),
            None => {
                let identity = aml_auth::identity(settings, &transport)?;
                let describe = format!("{} for Azure Databricks", identity.describe());
                let policy: Arc<dyn Policy> = Arc::new(BearerTokenAuthorizationPolicy::new(
                    identity.credential.clone(),
                    [RESOURCE_SCOPE.to_string()],
                ));
                (vec![policy], None, describe)
            }
        };
        let pipeline = aml_http::pipeline::pipeline(&transport, Retry::service(settings), policies);
        Ok(Client { pipeline, host: compute.host.clone(), token, credential })
    }

    /// Send and return the answer whatever its status; only a failure to get one (after
    /// retries) or a token that cannot be had is an error.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
        headers: &[(&str, &str)],
    ) -> Result<Reply> {
        let url = format!("{}{path}", self.host);
        let parsed = Url::parse(&url).map_err(|_| Error::service(format!("`{url}` is not a URL"), None))?;
        let mut request = Request::new(parsed, method);
        if let Some(token) = &self.token {
            request.insert_header("authorization", format!("Bearer {}", token.secret()));
        }
        for (name, value) in headers {
            request.insert_header(name.to_string(), value.to_string());
        }
        match body {
            Some(body) => request.set_body(body),
            None if matches!(method, Method::Post | Method::Put) => request.set_body(Vec::new()),
            None => {}
        }
        let shown = path.split('?').next().unwrap_or(path);
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let response = self.pipeline.send(&Context::new(), &mut request, Some(options)).await.map_err(|e| {
            if matches!(e.kind(), azure_core::error::ErrorKind::Credential) {
                return Error::service(
                    format!(
                        "cannot get a token for {} as {}: {}",
                        self.host,
                        self.credential,
                        aml_http::error_chain(&e)
                    ),
                    Some(format!(
                        "set {TOKEN_VARIABLE}, or check the identity's settings (`--auth` picks another source)"
                    )),
                );
            }
            Error::service(
                format!("{method} {}{shown} failed: {}", self.host, aml_http::error_chain(&e)),
                Some("is the workspace URL right and reachable? transient faults were retried".into()),
            )
        })?;
        Ok(Reply { status: u16::from(response.status()), body: response.into_body().to_vec() })
    }

    /// The error for an answer that is not a success: Databricks' code and message, and for
    /// 401/403 the credential that was refused (exit 3); `INVALID_PARAMETER_VALUE` and other
    /// 400s are the caller's input (exit 2).
    pub fn error(&self, method: &Method, path: &str, reply: &Reply) -> Error {
        let envelope: Envelope = serde_json::from_slice(&reply.body).unwrap_or_default();
        let shown = path.split('?').next().unwrap_or(path);
        let mut text = format!("{method} {}{shown}: HTTP {}", self.host, reply.status);
        if let Some(code) = &envelope.error_code {
            text.push_str(&format!(" {code}"));
        }
        if let Some(message) = &envelope.message {
            text.push_str(&format!(": {message}"));
        }
        match reply.status {
            401 | 403 => Error::service(
                format!("{text} (credential: {})", self.credential),
                Some("check the token, or that the identity was added to the Databricks workspace with access to the cluster and volume".into()),
            ),
            400 => Error::usage(text, "fix what Databricks names above and run again"),
            _ => Error::service(text, None),
        }
    }

    /// A JSON call that must succeed.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = body.map(|b| Body::from(serde_json::to_vec(b).unwrap_or_default()));
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", "application/json"), ("accept", "application/json")]
        } else {
            &[("accept", "application/json")]
        };
        let reply = self.send(method, path, bytes, headers).await?;
        if !reply.ok() {
            return Err(self.error(&method, path, &reply));
        }
        if reply.body.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&reply.body)
            .map_err(|e| Error::service(format!("{method} {}{path}: the answer is not JSON: {e}", self.host), None))
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::Get, path, None).await
    }

    /// A GET that tells "there is none" (404) from a failure.
    pub async fn get_optional(&self, path: &str) -> Result<Option<Value>> {
        let reply = self.send(Method::Get, path, None, &[("accept", "application/json")]).await?;
        match reply.status {
            404 => Ok(None),
            200..=299 => serde_json::from_slice(&reply.body)
                .map(Some)
                .map_err(|e| Error::service(format!("GET {}{path}: the answer is not JSON: {e}", self.host), None)),
            _ => Err(self.error(&Method::Get, path, &reply)),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::Post, path, Some(body)).await
    }

    /// `mkdir -p` on a volume.
    pub async fn create_directory(&self, path: &str) -> Result<()> {
        let at = format!("/api/2.0/fs/directories{}", escape_path(path));
        let reply = self.send(Method::Put, &at, None, &[]).await?;
        if reply.ok() { Ok(()) } else { Err(self.volume_error(&Method::Put, &at, &reply)) }
    }

    /// A missing volume is the user's to create (exit 2), said so.
    fn volume_error(&self, method: &Method, path: &str, reply: &Reply) -> Error {
        if reply.status == 404 {
            let envelope: Envelope = serde_json::from_slice(&reply.body).unwrap_or_default();
            return Error::usage(
                format!("{method} {}{}: HTTP 404 {}", self.host, path, envelope.message.unwrap_or_default()),
                "create the volume (`CREATE VOLUME catalog.schema.volume`) or name an existing one with `volume=/Volumes/…` in --compute",
            );
        }
        self.error(method, path, reply)
    }

    pub async fn upload(&self, remote: &str, bytes: Vec<u8>) -> Result<()> {
        let length = bytes.len().to_string();
        self.put_file(remote, Body::from(bytes), &length).await
    }

    /// A local file streamed from disk (64 KiB at a time, whatever its size), rewound when a
    /// retry sends it again.
    pub async fn upload_file(&self, remote: &str, local: &Path) -> Result<()> {
        let file = std::fs::File::open(local).with_path("cannot read", local)?;
        let length = file.metadata().with_path("cannot read", local)?.len();
        let stream: Box<dyn SeekableStream> =
            Box::new(SeekableReadStream::new(futures::io::AllowStdIo::new(file), Some(length)));
        self.put_file(remote, Body::from(stream), &length.to_string()).await
    }

    async fn put_file(&self, remote: &str, body: Body, length: &str) -> Result<()> {
        let at = format!("/api/2.0/fs/files{}?overwrite=true", escape_path(remote));
        let reply = self
            .send(
                Method::Put,
                &at,
                Some(body),
                &[("content-type", "application/octet-stream"), ("content-length", length)],
            )
            .await?;
        if reply.ok() { Ok(()) } else { Err(self.volume_error(&Method::Put, &at, &reply)) }
    }

    /// A file's bytes; None when there is no such file.
    pub async fn download(&self, remote: &str) -> Result<Option<Vec<u8>>> {
        let at = format!("/api/2.0/fs/files{}", escape_path(remote));
        let reply = self.send(Method::Get, &at, None, &[("accept", "application/octet-stream")]).await?;
        match reply.status {
            404 => Ok(None),
            200..=299 => Ok(Some(reply.body)),
            _ => Err(self.error(&Method::Get, &at, &reply)),
        }
    }

    /// A folder's entries, every page; None when there is no such folder.
    pub async fn list(&self, remote: &str) -> Result<Option<Vec<Entry>>> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            contents: Vec<Entry>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        let base = format!("/api/2.0/fs/directories{}", escape_path(remote));
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let at = match &token {
                Some(token) => format!("{base}?page_token={}", aml_http::url::encode_component(token)),
                None => base.clone(),
            };
            let reply = self.send(Method::Get, &at, None, &[("accept", "application/json")]).await?;
            match reply.status {
                404 => return Ok(None),
                200..=299 => {}
                _ => return Err(self.error(&Method::Get, &at, &reply)),
            }
            let page: Page = serde_json::from_slice(&reply.body).map_err(|e| {
                Error::service(format!("GET {}{base}: the answer is not a listing: {e}", self.host), None)
            })?;
            entries.extend(page.contents);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(Some(entries)),
            }
        }
    }

    /// Every file under `remote` into `local`, keeping the layout; the files written.
    pub async fn download_tree(&self, remote: &str, local: &Path) -> Result<Vec<std::path::PathBuf>> {
        let mut written = Vec::new();
        let mut folders = vec![(remote.to_string(), local.to_path_buf())];
        while let Some((folder, into)) = folders.pop() {
            let Some(entries) = self.list(&folder).await? else { continue };
            tokio::fs::create_dir_all(&into).await.with_path("cannot create", &into)?;
            for entry in entries {
                let name =
                    entry.name.clone().unwrap_or_else(|| entry.path.rsplit('/').next().unwrap_or_default().to_string());
                // A listing names entries of this folder: one plain segment, never `..` or a path.
                if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
                    return Err(Error::service(
                        format!("{folder} lists an entry named `{}`", name.escape_debug()),
                        None,
                    ));
                }
                if entry.is_directory {
                    folders.push((entry.path.clone(), into.join(&name)));
                    continue;
                }
                let bytes = self
                    .download(&entry.path)
                    .await?
                    .ok_or_else(|| Error::service(format!("{} vanished while it was downloaded", entry.path), None))?;
                let target = into.join(&name);
                tokio::fs::write(&target, bytes).await.with_path("cannot write", &target)?;
                written.push(target);
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_escaped_per_segment() {
        assert_eq!(
            super::escape_path("/Volumes/main/default/aml/jobs/a b/ü.txt"),
            "/Volumes/main/default/aml/jobs/a%20b/%C3%BC.txt"
        );
    }
}
