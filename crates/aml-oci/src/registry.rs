//! The OCI Distribution API, as much as pushing and pulling images needs: blob existence
//! (HEAD first, so unchanged layers are never sent again), chunked uploads (PATCH, 8 MiB at
//! a time: constant memory), manifests, and blob downloads checked against their digests.
//! Plain HTTP for registries on this machine (127.0.0.1, localhost); HTTPS with registry
//! tokens from the Azure identity (`acr`) for every other host: Azure Container Registry.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};

const CHUNK: usize = 8 << 20;

/// `REGISTRY/REPOSITORY[:TAG|@DIGEST]`, e.g. `127.0.0.1:5000/diabetes:3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    /// A tag or `sha256:…`.
    pub reference: String,
}

impl FromStr for ImageRef {
    type Err = Error;
    fn from_str(text: &str) -> Result<ImageRef> {
        let hint = "write `REGISTRY/REPOSITORY:TAG`, e.g. `127.0.0.1:5000/diabetes:3` (the registry is always named)";
        let (registry, rest) =
            text.split_once('/').ok_or_else(|| Error::usage(format!("`{text}` names no registry"), hint))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(Error::usage(format!("`{registry}` in `{text}` is not a registry host"), hint));
        }
        let (repository, reference) = if let Some((repo, digest)) = rest.split_once('@') {
            (repo, digest.to_string())
        } else {
            match rest.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => (repo, tag.to_string()),
                _ => (rest, "latest".to_string()),
            }
        };
        let valid = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
            });
        if !valid {
            return Err(Error::usage(
                format!("`{repository}` is not a repository name"),
                "repositories are lower case: letters, digits, `.`, `_`, `-`, parts joined by `/`",
            ));
        }
        Ok(ImageRef { registry: registry.into(), repository: repository.into(), reference })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.reference.starts_with("sha256:") { '@' } else { ':' };
        write!(f, "{}/{}{sep}{}", self.registry, self.repository, self.reference)
    }
}

enum Connection {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls { client: reqwest::Client, auth: Box<super::acr::RegistryAuth> },
}

pub struct RegistryClient {
    connection: Connection,
    base: String,
    runtime: tokio::runtime::Runtime,
}

/// `…/v2/<repository>/(blobs|manifests)/…` → the repository a token must cover.
fn repository_of(url: &str) -> String {
    let path = url.split("/v2/").nth(1).unwrap_or("");
    let end = ["/blobs/", "/manifests/", "/tags/"].iter().filter_map(|m| path.find(m)).min().unwrap_or(path.len());
    path[..end].to_string()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Bytes,
}

impl RegistryClient {
    pub fn new(registry: &str) -> Result<RegistryClient> {
        let host = registry.split(':').next().unwrap_or(registry);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::storage("cannot start a runtime", e))?;
        if host == "localhost" || host == "127.0.0.1" || host == "[::1]" {
            let client = Client::builder(TokioExecutor::new()).build_http();
            return Ok(RegistryClient {
                connection: Connection::Plain(client),
                base: format!("http://{registry}"),
                runtime,
            });
        }
        let client = aml_http::transport::client(std::time::Duration::from_secs(300))?;
        let auth = Box::new(super::acr::RegistryAuth::new(registry, client.clone())?);
        runtime.block_on(auth.sign_in())?;
        Ok(RegistryClient {
            connection: Connection::Tls { client, auth },
            base: format!("https://{registry}"),
            runtime,
        })
    }

    /// One request over TLS with the repository's token, asked again once if it expired.
    async fn send_tls(
        &self,
        client: &reqwest::Client,
        auth: &super::acr::RegistryAuth,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<reqwest::Response> {
        let repository = repository_of(url);
        for attempt in 0..2 {
            let mut request = client.request(method.clone(), url).body(body.clone());
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(authorization) = auth.authorization(&repository).await? {
                request = request.header("authorization", authorization);
            }
            let response = request.send().await.map_err(|e| {
                Error::service(
                    format!(
                        "the registry at {} did not answer {method} {url}: {}",
                        self.base,
                        aml_http::error_chain(&e)
                    ),
                    Some("check the registry's name and the network".into()),
                )
            })?;
            if response.status().as_u16() == 401 && attempt == 0 {
                auth.forget(&repository);
                continue;
            }
            return Ok(response);
        }
        Err(Error::service(format!("the registry at {} kept refusing {method} {url}", self.base), None))
    }

    fn send(&self, method: Method, url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Answer> {
        let mut request = Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.clone()))
            .map_err(|e| Error::service(format!("cannot build a request to {url}: {e}"), None))?;
        let client = match &self.connection {
            Connection::Plain(client) => client,
            Connection::Tls { client, auth } => {
                return self.runtime.block_on(async {
                    let response = self.send_tls(client, auth, method, url, headers, body).await?;
                    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                    let headers = response.headers().clone();
                    let body = response.bytes().await.map_err(|e| {
                        Error::service(
                            format!("the registry's answer to {url} broke off: {}", aml_http::error_chain(&e)),
                            None,
                        )
                    })?;
                    Ok(Answer { status, headers, body })
                });
            }
        };
        self.runtime.block_on(async {
            let response = client.request(request).await.map_err(|e| {
                Error::service(
                    format!("the registry at {} did not answer {method} {url}: {e}", self.base),
                    Some("check that the registry runs and the address is right".into()),
                )
            })?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| Error::service(format!("the registry's answer to {url} broke off: {e}"), None))?
                .to_bytes();
            Ok(Answer { status: parts.status, headers: parts.headers, body })
        })
    }

    fn failure(&self, what: &str, answer: &Answer) -> Error {
        // The registry's own words: {"errors": [{"code", "message", "detail"}]}.
        let detail = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v["errors"].as_array().map(|errors| {
                    errors
                        .iter()
                        .map(|e| {
                            format!("{}: {}", e["code"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or(""))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).chars().take(200).collect());
        Error::service(format!("{what}: the registry answered {} ({detail})", answer.status), None)
    }

    pub fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let answer =
            self.send(Method::HEAD, &format!("{}/v2/{repository}/blobs/{digest}", self.base), &[], Bytes::new())?;
        match answer.status {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.failure(&format!("checking blob {digest}"), &answer)),
        }
    }

    /// Upload a file as a blob, in chunks; the registry checks the digest at the end.
    pub fn upload_blob(&self, repository: &str, digest: &Digest, path: &Path) -> Result<()> {
        let answer = self.send(
            Method::POST,
            &format!("{}/v2/{repository}/blobs/uploads/", self.base),
            &[("content-length", "0")],
            Bytes::new(),
        )?;
        if answer.status != StatusCode::ACCEPTED {
            return Err(self.failure("starting an upload", &answer));
        }
        let mut location = self.location(&answer)?;
        let mut file = File::open(path).with_path("cannot open", path)?;
        let mut offset: u64 = 0;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let mut filled = 0;
            while filled < CHUNK {
                let n = file.read(&mut buffer[filled..]).with_path("cannot read", path)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            let range = format!("{offset}-{}", offset + filled as u64 - 1);
            let length = filled.to_string();
            let answer = self.send(
                Method::PATCH,
                &location,
                &[("content-type", "application/octet-stream"), ("content-range", &range), ("content-length", &length)],
                Bytes::copy_from_slice(&buffer[..filled]),
            )?;
            if answer.status != StatusCode::ACCEPTED {
                return Err(self.failure(&format!("uploading bytes {range} of {digest}"), &answer));
            }
            location = self.location(&answer)?;
            offset += filled as u64;
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let answer = self.send(
            Method::PUT,
            &format!("{location}{separator}digest={digest}"),
            &[("content-length", "0")],
            Bytes::new(),
        )?;
        if answer.status != StatusCode::CREATED {
            return Err(self.failure(&format!("finishing the upload of {digest}"), &answer));
        }
        Ok(())
    }

    fn location(&self, answer: &Answer) -> Result<String> {
        let location = answer
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::service("the registry gave no upload location", None))?;
        Ok(if location.starts_with("http") { location.to_string() } else { format!("{}{location}", self.base) })
    }

    pub fn put_manifest(&self, repository: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Result<()> {
        let length = bytes.len().to_string();
        let answer = self.send(
            Method::PUT,
            &format!("{}/v2/{repository}/manifests/{reference}", self.base),
            &[("content-type", media_type), ("content-length", &length)],
            Bytes::copy_from_slice(bytes),
        )?;
        if answer.status != StatusCode::CREATED {
            return Err(self.failure(&format!("putting the manifest {repository}:{reference}"), &answer));
        }
        Ok(())
    }

    /// A manifest and its media type; an index answers too (for base images).
    pub fn get_manifest(&self, repository: &str, reference: &str) -> Result<(String, Bytes)> {
        let accept = [super::MANIFEST, super::INDEX, super::DOCKER_MANIFEST, super::DOCKER_MANIFEST_LIST].join(", ");
        let answer = self.send(
            Method::GET,
            &format!("{}/v2/{repository}/manifests/{reference}", self.base),
            &[("accept", &accept)],
            Bytes::new(),
        )?;
        if answer.status != StatusCode::OK {
            return Err(self.failure(&format!("getting the manifest {repository}:{reference}"), &answer));
        }
        let media_type =
            answer.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or(super::MANIFEST).to_string();
        Ok((media_type, answer.body))
    }

    /// Download a blob to a file, checking its digest. The body is hashed and written as it
    /// arrives, so a base layer of any size takes a few frames of memory, not its size.
    pub fn get_blob(&self, repository: &str, digest: &Digest, to: &Path) -> Result<()> {
        use sha2::Digest as _;
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let request = Request::builder()
            .method(Method::GET)
            .uri(&url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| Error::service(format!("cannot build a request to {url}: {e}"), None))?;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, File::create(to).with_path("cannot create", to)?);
        let received = self.runtime.block_on(async {
            let client = match &self.connection {
                Connection::Plain(client) => client,
                Connection::Tls { client, auth } => {
                    let mut response = self.send_tls(client, auth, Method::GET, &url, &[], Bytes::new()).await?;
                    if response.status().as_u16() != 200 {
                        let status =
                            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                        let headers = response.headers().clone();
                        let body = response.bytes().await.unwrap_or_default();
                        return Err(self.failure(&format!("getting blob {digest}"), &Answer { status, headers, body }));
                    }
                    let mut hasher = sha2::Sha256::new();
                    while let Some(chunk) = response.chunk().await.map_err(|e| {
                        Error::service(
                            format!("the registry's answer to {url} broke off: {}", aml_http::error_chain(&e)),
                            None,
                        )
                    })? {
                        hasher.update(&chunk);
                        file.write_all(&chunk).with_path("cannot write", to)?;
                    }
                    return Ok(Digest::of_hash(hasher.finalize().into()));
                }
            };
            let response = client.request(request).await.map_err(|e| {
                Error::service(
                    format!("the registry at {} did not answer GET {url}: {e}", self.base),
                    Some("check that the registry runs and the address is right".into()),
                )
            })?;
            let (parts, mut body) = response.into_parts();
            if parts.status != StatusCode::OK {
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                return Err(self.failure(
                    &format!("getting blob {digest}"),
                    &Answer { status: parts.status, headers: parts.headers, body },
                ));
            }
            let mut hasher = sha2::Sha256::new();
            while let Some(frame) = body.frame().await {
                let frame = frame
                    .map_err(|e| Error::service(format!("the registry's answer to {url} broke off: {e}"), None))?;
                if let Ok(data) = frame.into_data() {
                    hasher.update(&data);
                    file.write_all(&data).with_path("cannot write", to)?;
                }
            }
            Ok(Digest::of_hash(hasher.finalize().into()))
        });
        let received = match received {
            Ok(received) => received,
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(to);
                return Err(e);
            }
        };
        if received != *digest {
            drop(file);
            let _ = std::fs::remove_file(to);
            return Err(Error::service(
                format!("blob {digest} from the registry does not match its digest (got {received})"),
                None,
            ));
        }
        let file = file
            .into_inner()
            .map_err(|e| Error::storage(format!("cannot write `{}`", to.display()), e.into_error()))?;
        file.sync_all().with_path("cannot fsync", to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r: ImageRef = "127.0.0.1:5000/team/diabetes:3".parse().unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "team/diabetes", "3")
        );
        let r: ImageRef = "localhost:5000/diabetes".parse().unwrap();
        assert_eq!(r.reference, "latest");
        assert!("diabetes:3".parse::<ImageRef>().is_err());
        assert!("127.0.0.1:5000/Diabetes:3".parse::<ImageRef>().is_err());
    }

    #[test]
    fn tokens_are_asked_for_the_repository_a_url_names() {
        assert_eq!(repository_of("https://r.azurecr.io/v2/team/diabetes/blobs/uploads/"), "team/diabetes");
        assert_eq!(repository_of("https://r.azurecr.io/v2/diabetes/manifests/3"), "diabetes");
    }
}
