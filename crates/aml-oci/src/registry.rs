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
use std::sync::Arc;

use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::policies::Policy;
use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, PipelineStreamOptions, Request, Url};
use bytes::Bytes;
use futures::StreamExt;

use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::progress::Progress;
use aml_core::settings::Settings;
use aml_http::pipeline::{Retry, pipeline};
use aml_http::transport::{TransportOptions, transport};

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

/// A Distribution registry: plain http for one on this machine, https with registry
/// tokens (Azure Container Registry's exchange, as a pipeline policy) for every other.
pub struct RegistryClient {
    pipeline: Pipeline,
    base: String,
    settings: Settings,
}

struct Answer {
    status: u16,
    headers: Headers,
    body: Bytes,
}

impl RegistryClient {
    pub async fn new(registry: &str, settings: &Settings) -> Result<RegistryClient> {
        let host = registry.split(':').next().unwrap_or(registry);
        let transport = transport(TransportOptions::service(std::time::Duration::from_secs(300)))?;
        if host == "localhost" || host == "127.0.0.1" || host == "[::1]" {
            let pipeline = pipeline(&transport, Retry::service(settings), Vec::new());
            return Ok(RegistryClient { pipeline, base: format!("http://{registry}"), settings: settings.clone() });
        }
        let auth = Arc::new(super::acr::RegistryAuth::new(registry, settings, &transport)?);
        // Wrong credentials are found before any layer is built or sent.
        auth.sign_in().await?;
        let tokens: Arc<dyn Policy> = Arc::new(super::acr::RegistryTokens(auth));
        let pipeline = pipeline(&transport, Retry::service(settings), vec![tokens]);
        Ok(RegistryClient { pipeline, base: format!("https://{registry}"), settings: settings.clone() })
    }

    fn request(&self, method: Method, url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Request> {
        let parsed = Url::parse(url)
            .map_err(|_| Error::service(format!("`{}` is not a URL", aml_http::url::shown(url)), None))?;
        let mut request = Request::new(parsed, method);
        for (name, value) in headers {
            request.insert_header(name.to_ascii_lowercase(), value.to_string());
        }
        request.set_body(body);
        Ok(request)
    }

    fn unanswered(&self, method: Method, url: &str, e: &azure_core::Error) -> Error {
        Error::service(
            format!(
                "the registry at {} did not answer {method} {}: {}",
                self.base,
                aml_http::url::shown(url),
                aml_http::error_chain(e)
            ),
            Some("check the registry's name, that it runs, and the network".into()),
        )
    }

    async fn send(&self, method: Method, url: &str, headers: &[(&str, &str)], body: Bytes) -> Result<Answer> {
        let mut request = self.request(method, url, headers, body)?;
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await
            .map_err(|e| self.unanswered(method, url, &e))?;
        let status = u16::from(response.status());
        let headers = response.headers().clone();
        Ok(Answer { status, headers, body: Bytes::from(response.into_body().to_vec()) })
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

    pub async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<bool> {
        let answer = self
            .send(Method::Head, &format!("{}/v2/{repository}/blobs/{digest}", self.base), &[], Bytes::new())
            .await?;
        match answer.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failure(&format!("checking blob {digest}"), &answer)),
        }
    }

    /// Upload a file as a blob, in chunks; the registry checks the digest at the end.
    pub async fn upload_blob(&self, repository: &str, digest: &Digest, path: &Path) -> Result<()> {
        let answer = self
            .send(Method::Post, &format!("{}/v2/{repository}/blobs/uploads/", self.base), &[], Bytes::new())
            .await?;
        if answer.status != 202 {
            return Err(self.failure("starting an upload", &answer));
        }
        let mut location = self.location(&answer)?;
        let mut file = File::open(path).with_path("cannot open", path)?;
        let size = file.metadata().with_path("cannot read", path)?.len();
        let progress = Progress::bytes(format!("pushing {digest}"), size, &self.settings);
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
            let answer = self
                .send(
                    Method::Patch,
                    &location,
                    &[("content-type", "application/octet-stream"), ("content-range", &range)],
                    Bytes::copy_from_slice(&buffer[..filled]),
                )
                .await?;
            if answer.status != 202 {
                return Err(self.failure(&format!("uploading bytes {range} of {digest}"), &answer));
            }
            location = self.location(&answer)?;
            offset += filled as u64;
            progress.add(filled as u64);
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let answer =
            self.send(Method::Put, &format!("{location}{separator}digest={digest}"), &[], Bytes::new()).await?;
        if answer.status != 201 {
            return Err(self.failure(&format!("finishing the upload of {digest}"), &answer));
        }
        Ok(())
    }

    fn location(&self, answer: &Answer) -> Result<String> {
        let location = answer
            .headers
            .get_optional_str(&HeaderName::from_static("location"))
            .ok_or_else(|| Error::service("the registry gave no upload location", None))?;
        Ok(if location.starts_with("http") { location.to_string() } else { format!("{}{location}", self.base) })
    }

    pub async fn put_manifest(&self, repository: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Result<()> {
        let answer = self
            .send(
                Method::Put,
                &format!("{}/v2/{repository}/manifests/{reference}", self.base),
                &[("content-type", media_type)],
                Bytes::copy_from_slice(bytes),
            )
            .await?;
        if answer.status != 201 {
            return Err(self.failure(&format!("putting the manifest {repository}:{reference}"), &answer));
        }
        Ok(())
    }

    /// A manifest and its media type; an index answers too (for base images).
    pub async fn get_manifest(&self, repository: &str, reference: &str) -> Result<(String, Bytes)> {
        let accept = [super::MANIFEST, super::INDEX, super::DOCKER_MANIFEST, super::DOCKER_MANIFEST_LIST].join(", ");
        let answer = self
            .send(
                Method::Get,
                &format!("{}/v2/{repository}/manifests/{reference}", self.base),
                &[("accept", &accept)],
                Bytes::new(),
            )
            .await?;
        if answer.status != 200 {
            return Err(self.failure(&format!("getting the manifest {repository}:{reference}"), &answer));
        }
        let media_type = answer
            .headers
            .get_optional_str(&HeaderName::from_static("content-type"))
            .unwrap_or(super::MANIFEST)
            .to_string();
        Ok((media_type, answer.body))
    }

    /// Download a blob to a file, checking its digest. The body is hashed and written as it
    /// arrives, so a base layer of any size takes a few frames of memory, not its size.
    pub async fn get_blob(&self, repository: &str, digest: &Digest, to: &Path) -> Result<()> {
        use sha2::Digest as _;
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        let mut file = std::io::BufWriter::with_capacity(1 << 20, File::create(to).with_path("cannot create", to)?);
        let received = async {
            let mut request = self.request(Method::Get, &url, &[], Bytes::new())?;
            let options = PipelineStreamOptions { skip_checks: true, ..Default::default() };
            let response = self
                .pipeline
                .stream(&Context::new(), &mut request, Some(options))
                .await
                .map_err(|e| self.unanswered(Method::Get, &url, &e))?;
            let (status, headers, mut body) = response.deconstruct();
            if u16::from(status) != 200 {
                let body = body.collect().await.unwrap_or_default();
                let answer = Answer { status: u16::from(status), headers, body };
                return Err(self.failure(&format!("getting blob {digest}"), &answer));
            }
            let mut hasher = sha2::Sha256::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    Error::service(
                        format!(
                            "the registry's answer to {} broke off: {}",
                            aml_http::url::shown(&url),
                            aml_http::error_chain(&e)
                        ),
                        None,
                    )
                })?;
                hasher.update(&chunk);
                file.write_all(&chunk).with_path("cannot write", to)?;
            }
            Ok(Digest::of_hash(hasher.finalize().into()))
        }
        .await;
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
        assert_eq!(crate::acr::repository_of("/v2/team/diabetes/blobs/uploads/"), "team/diabetes");
        assert_eq!(crate::acr::repository_of("/v2/diabetes/manifests/3"), "diabetes");
    }
}
