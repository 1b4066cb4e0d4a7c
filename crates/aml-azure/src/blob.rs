//! Blob storage for a datastore: uploads as Put Block / Put Block List with a bounded
//! number of blocks in flight (memory is blocks × block size, whatever the file's size),
//! each block retried alone by the pipeline; folders with bounded concurrency; listing and
//! streaming downloads. Requests are signed per try (SharedKey with the account key the
//! datastore's listSecrets gives), or carry a SAS, through the same azure_core pipeline.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use azure_core::credentials::Secret;
use azure_core::http::headers::HeaderName;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, Request, Url};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use hmac::{Hmac, KeyInit, Mac};
use md5::Digest as _;
use sha2::Sha256;

use aml_core::error::{Error, IoContext, Result};
use aml_core::settings::{EnvVars, Settings};
use aml_http::pipeline::Retry;

const STORAGE_VERSION: &str = "2021-08-06";
/// 4 MiB blocks, 4 in flight: 16 MiB of buffers at most, and enough requests in the air
/// to keep one storage account busy.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;
pub const BLOCKS_IN_FLIGHT: usize = 4;

/// How a container's requests are retried and its uploads cut.
#[derive(Debug, Clone, Copy)]
pub struct BlobOptions {
    pub retry: Retry,
    pub block_size: usize,
    pub blocks_in_flight: usize,
}

impl BlobOptions {
    /// The defaults above, or AML_BLOB_BLOCK_MIB and AML_BLOB_BLOCKS_IN_FLIGHT (memory is
    /// their product); retries as every service call.
    pub fn from_settings(settings: &Settings) -> BlobOptions {
        let positive = |name: &str| settings.number::<usize>(name, 0);
        let mib = positive(EnvVars::AML_BLOB_BLOCK_MIB);
        let in_flight = positive(EnvVars::AML_BLOB_BLOCKS_IN_FLIGHT);
        BlobOptions {
            retry: Retry::service(settings),
            block_size: if mib > 0 { mib.min(256) << 20 } else { BLOCK_SIZE },
            blocks_in_flight: if in_flight > 0 { in_flight } else { BLOCKS_IN_FLIGHT },
        }
    }
}
/// Files at most this big go up in one Put Blob.
const SINGLE_PUT_MAX: u64 = BLOCK_SIZE as u64;
pub const FILES_IN_FLIGHT: usize = 16;

/// How requests to the account are authorized.
#[derive(Clone)]
pub enum StorageAuth {
    /// SharedKey: `Authorization: SharedKey account:signature`, signed per try.
    AccountKey(Secret),
    /// A SAS query string (without `?`) appended to every URL.
    Sas(Secret),
    /// An Entra token for Azure Storage from this identity (an identity-based datastore),
    /// asked again as it nears expiry.
    Token(Arc<dyn azure_core::credentials::TokenCredential>),
}

/// Entra's scope for Azure Storage.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

#[derive(Clone)]
pub struct Container {
    pipeline: Pipeline,
    /// `https://account.blob.core.windows.net/container`, no trailing slash.
    url: String,
    sas: Option<Secret>,
    options: BlobOptions,
}

#[derive(Debug)]
struct SharedKeyPolicy {
    account: String,
    key: Vec<u8>,
}

type HmacSha256 = Hmac<Sha256>;

#[async_trait::async_trait]
impl Policy for SharedKeyPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let now = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
        request.insert_header("x-ms-date", now);
        let signature = self.sign(request);
        request.insert_header("authorization", format!("SharedKey {}:{signature}", self.account));
        next[0].send(ctx, request, &next[1..]).await
    }
}

impl SharedKeyPolicy {
    /// The Shared Key string-to-sign for the Blob service (version 2009-09-19 and later).
    fn sign(&self, request: &Request) -> String {
        let header = |name: &str| {
            request.headers().get_optional_str(&HeaderName::from(name.to_string())).unwrap_or("").to_string()
        };
        let length = request.body().len().filter(|n| *n > 0).map(|n| n.to_string()).unwrap_or_default();
        let mut canonical_headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("x-ms-"))
            .map(|(name, value)| (name.as_str().to_string(), value.as_str().trim().to_string()))
            .collect();
        canonical_headers.sort();
        let url = request.url();
        let mut resource = format!("/{}{}", self.account, url.path());
        let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in url.query_pairs() {
            query.entry(name.to_lowercase()).or_default().push(value.into_owned());
        }
        for (name, mut values) in query {
            values.sort();
            resource.push_str(&format!("\n{name}:{}", values.join(",")));
        }
        let mut text = format!(
            "{}\n{}\n{}\n{length}\n{}\n{}\n\n{}\n{}\n{}\n{}\n{}\n",
            request.method(),
            header("content-encoding"),
            header("content-language"),
            header("content-md5"),
            header("content-type"),
            header("if-modified-since"),
            header("if-match"),
            header("if-none-match"),
            header("if-unmodified-since"),
            header("range"),
        );
        for (name, value) in canonical_headers {
            text.push_str(&format!("{name}:{value}\n"));
        }
        text.push_str(&resource);
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else { return String::new() };
        mac.update(text.as_bytes());
        BASE64.encode(mac.finalize().into_bytes())
    }
}

/// A blob's name as a URL path: each segment percent-encoded.
fn encode_path(name: &str) -> String {
    name.split('/').map(aml_http::url::encode_component).collect::<Vec<_>>().join("/")
}

/// When `put_bytes` may write.
pub enum Condition {
    Any,
    /// Only if no blob has the name yet (`If-None-Match: *`).
    Absent,
    /// Only if the blob still has this ETag (`If-Match`).
    Unchanged(String),
}

pub struct Upload {
    pub bytes: u64,
    pub files: u64,
}

impl Container {
    pub fn new(
        account: &str,
        container_url: &str,
        auth: StorageAuth,
        transport: &azure_core::http::Transport,
        options: BlobOptions,
    ) -> Result<Container> {
        let (per_try, sas): (Vec<Arc<dyn Policy>>, Option<Secret>) = match auth {
            StorageAuth::AccountKey(key) => {
                let key = BASE64
                    .decode(key.secret().trim())
                    .map_err(|_| Error::service("the datastore's account key is not base64", None))?;
                (vec![Arc::new(SharedKeyPolicy { account: account.to_string(), key })], None)
            }
            StorageAuth::Sas(token) => (Vec::new(), Some(token)),
            StorageAuth::Token(credential) => {
                let policy: Arc<dyn Policy> =
                    Arc::new(azure_core::http::policies::auth::BearerTokenAuthorizationPolicy::new(
                        credential,
                        [STORAGE_SCOPE.to_string()],
                    ));
                (vec![policy], None)
            }
        };
        let pipeline = aml_http::pipeline::pipeline(transport, options.retry, per_try);
        Ok(Container { pipeline, url: container_url.trim_end_matches('/').to_string(), sas, options })
    }

    fn blob_url(&self, name: &str, query: &str) -> Result<Url> {
        let mut text = format!("{}/{}", self.url, encode_path(name));
        let mut parts: Vec<String> = Vec::new();
        if !query.is_empty() {
            parts.push(query.to_string());
        }
        if let Some(sas) = &self.sas {
            parts.push(sas.secret().trim_start_matches('?').to_string());
        }
        if !parts.is_empty() {
            text.push('?');
            text.push_str(&parts.join("&"));
        }
        Url::parse(&text).map_err(|_| Error::service(format!("blob `{name}` gives no valid URL"), None))
    }

    async fn send(&self, mut request: Request, what: &str) -> Result<azure_core::http::RawResponse> {
        request.insert_header("x-ms-version", STORAGE_VERSION);
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let shown = format!("{} {}", request.method(), aml_http::strip_query(request.url().as_str()));
        let response = self.pipeline.send(&Context::new(), &mut request, Some(options)).await.map_err(|e| {
            Error::service(
                format!("{what}: {shown} failed: {}", aml_http::error_chain(&e)),
                Some("transient faults were retried; is the storage account reachable?".into()),
            )
        })?;
        Ok(response)
    }

    async fn send_expecting(&self, request: Request, what: &str, ok: &[u16]) -> Result<azure_core::http::RawResponse> {
        let shown = format!("{} {}", request.method(), aml_http::strip_query(request.url().as_str()));
        let response = self.send(request, what).await?;
        let status = u16::from(response.status());
        if ok.contains(&status) {
            return Ok(response);
        }
        let code =
            response.headers().get_optional_str(&HeaderName::from_static("x-ms-error-code")).unwrap_or("").to_string();
        let body = String::from_utf8_lossy(response.body().as_ref()).to_string();
        let message = body
            .split("<Message>")
            .nth(1)
            .and_then(|m| m.split("</Message>").next())
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        Err(Error::service(
            format!("{what}: {shown}: HTTP {status} {code} {message}").trim_end().to_string(),
            refusal_hint(&code),
        ))
    }

    /// Metadata of a blob, or `None` when it does not exist.
    pub async fn metadata(&self, name: &str) -> Result<Option<BTreeMap<String, String>>> {
        let request = Request::new(self.blob_url(name, "")?, Method::Head);
        let response = self.send(request, "reading blob properties").await?;
        match u16::from(response.status()) {
            404 => Ok(None),
            200 => Ok(Some(
                response
                    .headers()
                    .iter()
                    .filter_map(|(k, v)| {
                        k.as_str().strip_prefix("x-ms-meta-").map(|k| (k.to_string(), v.as_str().to_string()))
                    })
                    .collect(),
            )),
            status => Err(Error::service(
                format!("HEAD {}: HTTP {status}", aml_http::strip_query(self.blob_url(name, "")?.as_str())),
                None,
            )),
        }
    }

    pub async fn set_metadata(&self, name: &str, metadata: &BTreeMap<String, String>) -> Result<()> {
        let mut request = Request::new(self.blob_url(name, "comp=metadata")?, Method::Put);
        for (key, value) in metadata {
            request.insert_header(format!("x-ms-meta-{key}"), value.clone());
        }
        request.set_body(Vec::new());
        self.send_expecting(request, "setting blob metadata", &[200]).await?;
        Ok(())
    }

    /// Write a small blob whole, if `condition` holds; `false` when it did not (another
    /// writer was first). How records shared by several processes are changed safely.
    pub async fn put_bytes(&self, name: &str, bytes: Vec<u8>, condition: Condition) -> Result<bool> {
        let mut request = Request::new(self.blob_url(name, "")?, Method::Put);
        request.insert_header("x-ms-blob-type", "BlockBlob");
        request.insert_header("content-type", "application/json");
        match condition {
            Condition::Any => {}
            Condition::Absent => request.insert_header("if-none-match", "*"),
            Condition::Unchanged(etag) => request.insert_header("if-match", etag),
        }
        request.set_body(bytes);
        let response = self.send_expecting(request, "writing a blob", &[201, 409, 412]).await?;
        Ok(u16::from(response.status()) == 201)
    }

    /// A small blob's bytes and its ETag, or `None` when it does not exist.
    pub async fn read_tagged(&self, name: &str) -> Result<Option<(Vec<u8>, String)>> {
        let request = Request::new(self.blob_url(name, "")?, Method::Get);
        let response = self.send_expecting(request, "reading a blob", &[200, 404]).await?;
        if u16::from(response.status()) == 404 {
            return Ok(None);
        }
        let etag = response.headers().get_optional_str(&HeaderName::from_static("etag")).unwrap_or("").to_string();
        Ok(Some((response.into_body().to_vec(), etag)))
    }

    /// Upload one file; `on_bytes` is told of each block that landed.
    pub async fn upload_file(&self, path: &Path, name: &str, on_bytes: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let mut file = std::fs::File::open(path).with_path("cannot read", path)?;
        let size = file.metadata().with_path("cannot read", path)?.len();
        let BlobOptions { block_size, blocks_in_flight, .. } = self.options;
        if size <= SINGLE_PUT_MAX {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).with_path("cannot read", path)?;
            let mut request = Request::new(self.blob_url(name, "")?, Method::Put);
            request.insert_header("x-ms-blob-type", "BlockBlob");
            request.insert_header("content-type", "application/octet-stream");
            // Checked by the service as each block's is: bytes changed on the way are refused.
            request.insert_header("content-md5", BASE64.encode(md5::Md5::digest(&bytes)));
            let length = bytes.len() as u64;
            request.set_body(bytes);
            self.send_expecting(request, &format!("uploading `{}`", path.display()), &[201]).await?;
            on_bytes(length);
            return Ok(length);
        }
        let mut ids = Vec::new();
        let mut in_flight = FuturesUnordered::new();
        let mut sent = 0u64;
        let mut index = 0u32;
        loop {
            let mut block = vec![0u8; block_size];
            let mut filled = 0;
            while filled < block_size {
                let n = file.read(&mut block[filled..]).with_path("cannot read", path)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            block.truncate(filled);
            // Same-length ids, as the service requires of one blob's blocks.
            let id = BASE64.encode(format!("block-{index:08}"));
            index += 1;
            ids.push(id.clone());
            let mut request = Request::new(
                self.blob_url(name, &format!("comp=block&blockid={}", aml_http::url::encode_component(&id)))?,
                Method::Put,
            );
            request.insert_header("content-type", "application/octet-stream");
            // The service checks each block against it (a corrupted block fails alone and
            // is sent again); without it, Azurite computes a CRC64 in JavaScript instead.
            request.insert_header("content-md5", BASE64.encode(md5::Md5::digest(&block)));
            request.set_body(block);
            let what = format!("uploading `{}`", path.display());
            in_flight.push(async move { self.send_expecting(request, &what, &[201]).await.map(|_| filled as u64) });
            sent += filled as u64;
            if in_flight.len() >= blocks_in_flight
                && let Some(done) = in_flight.next().await
            {
                on_bytes(done?);
            }
            if filled < block_size {
                break;
            }
        }
        while let Some(done) = in_flight.next().await {
            on_bytes(done?);
        }
        if sent != size {
            return Err(Error::failed(
                format!("`{}` changed size while it was uploaded", path.display()),
                Some("upload it again once whatever writes it has finished".into()),
            ));
        }
        let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &ids {
            list.push_str(&format!("<Latest>{id}</Latest>"));
        }
        list.push_str("</BlockList>");
        let mut request = Request::new(self.blob_url(name, "comp=blocklist")?, Method::Put);
        request.insert_header("content-type", "application/xml");
        request.set_body(list.into_bytes());
        self.send_expecting(request, &format!("committing `{}`", path.display()), &[201]).await?;
        Ok(size)
    }

    /// Upload files (local path, blob name) with bounded concurrency.
    pub async fn upload_files(&self, files: &[(PathBuf, String)], on_bytes: &(dyn Fn(u64) + Sync)) -> Result<Upload> {
        let mut total = 0u64;
        let mut in_flight = FuturesUnordered::new();
        for (path, name) in files {
            in_flight.push(self.upload_file(path, name, on_bytes));
            if in_flight.len() >= FILES_IN_FLIGHT
                && let Some(done) = in_flight.next().await
            {
                total += done?;
            }
        }
        while let Some(done) = in_flight.next().await {
            total += done?;
        }
        Ok(Upload { bytes: total, files: files.len() as u64 })
    }

    /// Names of the blobs under `prefix`, following `NextMarker`.
    /// The names of the blobs under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.list_sized(prefix).await?.into_iter().map(|(name, _)| name).collect())
    }

    /// The blobs under `prefix` with their sizes.
    pub async fn list_sized(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let mut names = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query = format!("restype=container&comp=list&prefix={}", aml_http::url::encode_component(prefix));
            if !marker.is_empty() {
                query.push_str(&format!("&marker={}", aml_http::url::encode_component(&marker)));
            }
            let mut text = format!("{}?{query}", self.url);
            if let Some(sas) = &self.sas {
                text.push('&');
                text.push_str(sas.secret().trim_start_matches('?'));
            }
            let url = Url::parse(&text).map_err(|_| Error::service("the container gives no valid URL", None))?;
            let response = self.send_expecting(Request::new(url, Method::Get), "listing blobs", &[200]).await?;
            let body = String::from_utf8_lossy(response.body().as_ref()).to_string();
            for blob in body.split("<Blob>").skip(1) {
                if let Some(name) = blob.split("<Name>").nth(1).and_then(|n| n.split("</Name>").next()) {
                    let size = blob
                        .split("<Content-Length>")
                        .nth(1)
                        .and_then(|n| n.split("</Content-Length>").next())
                        .and_then(|n| n.trim().parse().ok())
                        .unwrap_or(0);
                    names.push((xml_unescape(name), size));
                }
            }
            marker = body
                .split("<NextMarker>")
                .nth(1)
                .and_then(|m| m.split("</NextMarker>").next())
                .map(xml_unescape)
                .unwrap_or_default();
            if marker.is_empty() {
                return Ok(names);
            }
        }
    }

    /// A small blob's bytes (a log), or `None` when it does not exist.
    pub async fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let request = Request::new(self.blob_url(name, "")?, Method::Get);
        let response = self.send_expecting(request, "reading a blob", &[200, 404]).await?;
        if u16::from(response.status()) == 404 {
            return Ok(None);
        }
        Ok(Some(response.into_body().to_vec()))
    }

    /// Stream a blob into `target`.
    /// Stream a blob to a file; `on_bytes` is told of each chunk written.
    pub async fn download(&self, name: &str, target: &Path, on_bytes: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let request = Request::new(self.blob_url(name, "")?, Method::Get);
        let mut request = request;
        request.insert_header("x-ms-version", STORAGE_VERSION);
        let options = azure_core::http::PipelineStreamOptions { skip_checks: true, ..Default::default() };
        let response = self
            .pipeline
            .stream(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|e| Error::service(format!("downloading `{name}`: {}", aml_http::error_chain(&e)), None))?;
        let status = u16::from(response.status());
        if status != 200 {
            return Err(Error::service(format!("downloading `{name}`: HTTP {status}"), None));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_path("cannot create", parent)?;
        }
        let mut file = std::fs::File::create(target).with_path("cannot write", target)?;
        let mut body = response.into_body();
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| Error::service(format!("downloading `{name}`: {}", aml_http::error_chain(&e)), None))?;
            std::io::Write::write_all(&mut file, &chunk).with_path("cannot write", target)?;
            written += chunk.len() as u64;
            on_bytes(chunk.len() as u64);
        }
        Ok(written)
    }
}

/// What to do about a storage error code that is the caller's to fix.
fn refusal_hint(code: &str) -> Option<String> {
    match code {
        "AuthenticationFailed" | "AuthorizationFailure" => {
            Some("the datastore's credentials were refused; check its account key or SAS".into())
        }
        "KeyBasedAuthenticationNotPermitted" => {
            Some("the account refuses account keys; use an identity-based datastore".into())
        }
        _ => None,
    }
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

impl Container {
    /// Create the container (an existing one is fine): for test fixtures and benchmarks;
    /// workspaces come with theirs.
    pub async fn create(&self) -> Result<()> {
        let mut text = format!("{}?restype=container", self.url);
        if let Some(sas) = &self.sas {
            text.push('&');
            text.push_str(sas.secret().trim_start_matches('?'));
        }
        let url = Url::parse(&text).map_err(|_| Error::service("the container gives no valid URL", None))?;
        let mut request = Request::new(url, Method::Put);
        request.set_body(Vec::new());
        self.send_expecting(request, "creating the container", &[201, 409]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
