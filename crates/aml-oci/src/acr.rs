//! Registry tokens for HTTPS registries, as Azure Container Registry hands them out to an
//! Entra identity (Azure/acr `docs/AAD-OAuth.md`): the registry's `401` challenge names the
//! token realm and service; the identity's Entra token is exchanged for a registry refresh
//! token (`/oauth2/exchange`), which buys an access token per repository
//! (`/oauth2/token`, `repository:<repo>:pull,push`). No `docker login`, no stored password.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use azure_core::credentials::Secret;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Method, Pipeline, PipelineSendOptions, Request, Transport, Url};

use aml_auth::Identity;
use aml_core::error::{Error, Result};
use aml_core::settings::{EnvVars, Settings};
use aml_http::pipeline::{Retry, pipeline};

/// The audience ACR accepts by default: Resource Manager's.
const ARM_SCOPE: &str = "https://management.azure.com/.default";

pub struct RegistryAuth {
    registry: String,
    /// The challenge and the token exchange: retried as any call, no registry token.
    pipeline: Pipeline,
    identity: Identity,
    /// The Entra scope the registry accepts.
    scope: String,
    /// The challenge's realm and service, once asked.
    challenge: Mutex<Option<(String, String)>>,
    refresh: Mutex<Option<Secret>>,
    access: Mutex<BTreeMap<String, Secret>>,
}

/// `Bearer realm="…",service="…",scope="…"` → its parameters.
fn challenge_parameters(header: &str) -> BTreeMap<String, String> {
    let rest = header.trim().strip_prefix("Bearer").or_else(|| header.trim().strip_prefix("bearer")).unwrap_or("");
    rest.split(',')
        .filter_map(|part| {
            let (key, value) = part.trim().split_once('=')?;
            Some((key.trim().to_ascii_lowercase(), value.trim().trim_matches('"').to_string()))
        })
        .collect()
}

impl RegistryAuth {
    pub fn new(registry: &str, settings: &Settings, transport: &Transport) -> Result<RegistryAuth> {
        let identity = aml_auth::identity(settings, transport)?;
        Ok(RegistryAuth {
            registry: registry.to_string(),
            pipeline: pipeline(transport, Retry::service(settings), Vec::new()),
            identity,
            scope: settings.get(EnvVars::AML_ARM_SCOPE).unwrap_or(ARM_SCOPE).to_string(),
            challenge: Mutex::new(None),
            refresh: Mutex::new(None),
            access: Mutex::new(BTreeMap::new()),
        })
    }

    /// One request of the token dance; any status is an answer.
    async fn exchange(
        &self,
        method: Method,
        url: &str,
        form: Option<String>,
        what: &str,
    ) -> Result<(u16, String, String)> {
        let parsed = Url::parse(url).map_err(|_| {
            Error::service(format!("registry {}: `{}` is not a URL", self.registry, aml_http::url::shown(url)), None)
        })?;
        let mut request = Request::new(parsed, method);
        if let Some(form) = form {
            request.insert_header("content-type", "application/x-www-form-urlencoded");
            request.set_body(form);
        }
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        let response = self.pipeline.send(&Context::new(), &mut request, Some(options)).await.map_err(|e| {
            Error::service(
                format!("the registry at {} did not answer {what}: {}", self.registry, aml_http::error_chain(&e)),
                Some("check the registry's name and the network".into()),
            )
        })?;
        let status = u16::from(response.status());
        let challenge = response
            .headers()
            .get_optional_str(&azure_core::http::headers::HeaderName::from_static("www-authenticate"))
            .unwrap_or("")
            .to_string();
        Ok((status, challenge, String::from_utf8_lossy(&response.into_body()).into_owned()))
    }

    fn refused(&self, what: &str, status: u16, body: &str) -> Error {
        let detail: String = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["errors"][0]["message"].as_str().or_else(|| v["message"].as_str()).map(str::to_owned))
            .unwrap_or_default();
        Error::service(
            format!(
                "registry {} refused {what} for {} (HTTP {status}) {detail}",
                self.registry,
                self.identity.describe()
            )
            .trim_end()
            .to_string(),
            Some("the identity needs the AcrPush role on the registry; `--auth` picks another identity".into()),
        )
    }

    /// The registry's realm and service from its `401` on `/v2/`; `None` when it asks for no token.
    async fn challenge(&self) -> Result<Option<(String, String)>> {
        if let Some(known) =
            self.challenge.lock().map_err(|_| Error::service("registry token state is poisoned", None))?.clone()
        {
            return Ok(Some(known));
        }
        let url = format!("https://{}/v2/", self.registry);
        let (status, header, _) = self.exchange(Method::Get, &url, None, "GET /v2/").await?;
        if status != 401 {
            return Ok(None);
        }
        let parameters = challenge_parameters(&header);
        let realm = parameters.get("realm").cloned().ok_or_else(|| {
            Error::service(format!("registry {} asks for a token but names no realm", self.registry), None)
        })?;
        let service = parameters
            .get("service")
            .cloned()
            .unwrap_or_else(|| self.registry.split(':').next().unwrap_or(&self.registry).to_string());
        let found = (realm, service);
        *self.challenge.lock().map_err(|_| Error::service("registry token state is poisoned", None))? =
            Some(found.clone());
        Ok(Some(found))
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)], field: &str, what: &str) -> Result<Secret> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter()).finish();
        let (status, _, text) = self.exchange(Method::Post, url, Some(body), what).await?;
        if status != 200 {
            return Err(self.refused(what, status, &text));
        }
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| Error::service(format!("registry {}: {what} answered no JSON", self.registry), None))?;
        value[field]
            .as_str()
            .map(|t| Secret::new(t.to_string()))
            .ok_or_else(|| Error::service(format!("registry {}: {what} gave no {field}", self.registry), None))
    }

    /// Exchange the identity's Entra token for the registry's refresh token (once): wrong
    /// credentials are found before any work is done. `None`: the registry wants no token.
    pub async fn sign_in(&self) -> Result<Option<Secret>> {
        let Some((realm, service)) = self.challenge().await? else { return Ok(None) };
        if let Some(refresh) =
            self.refresh.lock().map_err(|_| Error::service("registry token state is poisoned", None))?.clone()
        {
            return Ok(Some(refresh));
        }
        let entra = self.identity.token(&self.scope).await?;
        let exchange = realm.replace("/oauth2/token", "/oauth2/exchange");
        let mut form =
            vec![("grant_type", "access_token"), ("service", service.as_str()), ("access_token", entra.token.secret())];
        if let Some(tenant) = &self.identity.tenant {
            form.push(("tenant", tenant.as_str()));
        }
        let refresh = self.post_form(&exchange, &form, "refresh_token", "the Entra token exchange").await?;
        *self.refresh.lock().map_err(|_| Error::service("registry token state is poisoned", None))? =
            Some(refresh.clone());
        Ok(Some(refresh))
    }

    /// The `Authorization` value for a repository (`None`: the registry wants none).
    pub async fn authorization(&self, repository: &str) -> Result<Option<String>> {
        if let Some(token) =
            self.access.lock().map_err(|_| Error::service("registry token state is poisoned", None))?.get(repository)
        {
            return Ok(Some(format!("Bearer {}", token.secret())));
        }
        let Some((realm, service)) = self.challenge().await? else { return Ok(None) };
        let Some(refresh) = self.sign_in().await? else { return Ok(None) };
        let scope = format!("repository:{repository}:pull,push");
        let form = [
            ("grant_type", "refresh_token"),
            ("service", service.as_str()),
            ("scope", scope.as_str()),
            ("refresh_token", refresh.secret()),
        ];
        let access = self.post_form(&realm, &form, "access_token", &format!("a token for `{repository}`")).await?;
        let value = format!("Bearer {}", access.secret());
        self.access
            .lock()
            .map_err(|_| Error::service("registry token state is poisoned", None))?
            .insert(repository.to_string(), access);
        Ok(Some(value))
    }

    /// Forget a repository's access token (it expired: the registry answered 401).
    pub fn forget(&self, repository: &str) {
        if let Ok(mut access) = self.access.lock() {
            access.remove(repository);
        }
    }
}

/// Registry tokens as a pipeline policy, so registry calls get the same retries as any:
/// each try carries the repository's access token, and a `401` (the token expired) is
/// answered by asking for a new one and trying once more.
#[derive(Clone)]
pub struct RegistryTokens(pub Arc<RegistryAuth>);

impl std::fmt::Debug for RegistryTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryTokens").field("registry", &self.0.registry).finish_non_exhaustive()
    }
}

fn credential_error(error: Error) -> azure_core::Error {
    azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, error.to_string())
}

#[async_trait]
impl Policy for RegistryTokens {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let repository = repository_of(request.url().path());
        if let Some(authorization) = self.0.authorization(&repository).await.map_err(credential_error)? {
            request.insert_header("authorization", authorization);
        }
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if u16::from(response.status()) != 401 {
            return Ok(response);
        }
        self.0.forget(&repository);
        if let Some(authorization) = self.0.authorization(&repository).await.map_err(credential_error)? {
            request.insert_header("authorization", authorization);
        }
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// `/v2/<repository>/(blobs|manifests)/…` → the repository a token must cover.
pub fn repository_of(path: &str) -> String {
    let path = path.split("/v2/").nth(1).unwrap_or("");
    let end = ["/blobs/", "/manifests/", "/tags/"].iter().filter_map(|m| path.find(m)).min().unwrap_or(path.len());
    path[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parameters_are_read_as_docker_writes_them() {
        let found = challenge_parameters(
            r#"Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io",scope="repository:a:pull""#,
        );
        assert_eq!(found["realm"], "https://r.azurecr.io/oauth2/token");
        assert_eq!(found["service"], "r.azurecr.io");
        assert_eq!(found["scope"], "repository:a:pull");
    }
}
