//! Which identity the tools act as in Azure. azure_identity has no default chain, so the
//! chain is ours, in the order the Azure issue sets: a client secret, workload identity
//! federation (a token file, GitHub Actions' OIDC request, an Azure DevOps service
//! connection), managed identity, then the `az` CLI's login. `--auth` (AML_AUTH) picks one.
//! The first source whose settings are present is used; when none is, or it fails, the
//! error lists what was tried, with the tenant, and never a secret. Each token acquisition
//! is logged (`--verbose`) with its source and scope, never the token.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientMethodOptions, ClientOptions, Transport};
use azure_core::time::OffsetDateTime;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzurePipelinesCredential, AzurePipelinesCredentialOptions,
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use aml_core::error::{Error, Result};
use aml_core::settings::{EnvVars, Settings};
use aml_http::pipeline::Retry;

pub use aml_core::settings::AuthMethod;

/// A credential and the words that describe it in messages.
pub struct Identity {
    pub credential: Arc<dyn TokenCredential>,
    pub source: String,
    pub tenant: Option<String>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("source", &self.source).field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

impl Identity {
    /// What to say about this identity in an error: the source and the tenant.
    pub fn describe(&self) -> String {
        match &self.tenant {
            Some(tenant) => format!("{} (tenant {tenant})", self.source),
            None => self.source.clone(),
        }
    }

    pub async fn token(&self, scope: &str) -> Result<AccessToken> {
        self.credential.get_token(&[scope], Some(TokenRequestOptions::default())).await.map_err(|e| {
            Error::service(
                format!("cannot get a token as {}: {}", self.describe(), aml_http::error_chain(&e)),
                Some(format!("check the credential's settings; `--auth` picks another source ({})", SOURCES)),
            )
        })
    }
}

const SOURCES: &str = "secret, workload, managed-identity, cli";

/// Entra requests: the shared transport, token retries, and the authority host the settings
/// name (a sovereign cloud or an emulator), else Azure's public cloud.
fn client_options(transport: &Transport, settings: &Settings) -> ClientOptions {
    let mut options = aml_http::pipeline::client_options(transport, Retry::token());
    if let Some(host) = settings.get(EnvVars::AZURE_AUTHORITY_HOST) {
        let mut cloud = azure_core::cloud::CustomConfiguration::default();
        cloud.authority_host = host.to_string();
        options.cloud = Some(Arc::new(cloud.into()));
    }
    options
}

fn wrap(source: &str, e: azure_core::Error) -> Error {
    Error::usage(format!("cannot set up {source}: {}", aml_http::error_chain(&e)), "check its environment variables")
}

/// Build the credential `--auth` names (or the first that applies, for `auto`).
pub fn identity(settings: &Settings, transport: &Transport) -> Result<Identity> {
    let method = settings.auth();
    let mut tried = Vec::new();
    let all = [AuthMethod::Secret, AuthMethod::Workload, AuthMethod::ManagedIdentity, AuthMethod::Cli];
    let candidates: Vec<AuthMethod> = if method == AuthMethod::Auto { all.to_vec() } else { vec![method] };
    for candidate in candidates {
        match build(candidate, settings, transport, method != AuthMethod::Auto)? {
            Ok(identity) => {
                tracing::debug!("acting as {}", identity.describe());
                let credential = Arc::new(LoggedCredential {
                    inner: identity.credential,
                    source: identity.source.clone(),
                    seen: Mutex::default(),
                });
                return Ok(Identity { credential, ..identity });
            }
            Err(reason) => tried.push(reason),
        }
    }
    Err(Error::service(
        format!("no Azure identity to act as; tried: {}", tried.join("; ")),
        Some("set AZURE_TENANT_ID + AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or a federated token, run where a managed identity is, or `az login`; `--auth` picks one".into()),
    ))
}

/// `Ok(Err(reason))`: this source does not apply here (its settings are absent).
fn build(
    method: AuthMethod,
    settings: &Settings,
    transport: &Transport,
    explicit: bool,
) -> Result<std::result::Result<Identity, String>> {
    let env = |name: &str| settings.get(name).map(str::to_owned);
    let tenant = env(EnvVars::AZURE_TENANT_ID);
    let client = env(EnvVars::AZURE_CLIENT_ID);
    match method {
        AuthMethod::Secret => {
            let (Some(tenant), Some(client), Some(secret)) =
                (tenant.clone(), client, env(EnvVars::AZURE_CLIENT_SECRET))
            else {
                return Ok(Err(
                    "client secret (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not all set)".into()
                ));
            };
            let options = ClientSecretCredentialOptions { client_options: client_options(transport, settings) };
            let credential = ClientSecretCredential::new(&tenant, client.clone(), Secret::new(secret), Some(options))
                .map_err(|e| wrap("the client secret credential", e))?;
            Ok(Ok(Identity { credential, source: format!("client secret of app {client}"), tenant: Some(tenant) }))
        }
        AuthMethod::Workload => {
            let assertion_options =
                || ClientAssertionCredentialOptions { client_options: client_options(transport, settings) };
            if let (Some(tenant), Some(client), Some(token_file)) =
                (tenant.clone(), client.clone(), env(EnvVars::AZURE_FEDERATED_TOKEN_FILE))
            {
                let options = WorkloadIdentityCredentialOptions {
                    credential_options: assertion_options(),
                    client_id: Some(client.clone()),
                    tenant_id: Some(tenant.clone()),
                    token_file_path: Some(token_file.into()),
                    ..Default::default()
                };
                let credential =
                    WorkloadIdentityCredential::new(Some(options)).map_err(|e| wrap("workload identity", e))?;
                return Ok(Ok(Identity {
                    credential,
                    source: format!("workload identity (token file) of app {client}"),
                    tenant: Some(tenant),
                }));
            }
            if let (Some(tenant), Some(client), Some(url), Some(request_token)) = (
                tenant.clone(),
                client.clone(),
                env(EnvVars::ACTIONS_ID_TOKEN_REQUEST_URL),
                env(EnvVars::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
            ) {
                let assertion =
                    GithubOidc { url, request_token: Secret::new(request_token), transport: transport.clone() };
                let credential = ClientAssertionCredential::new(
                    tenant.clone(),
                    client.clone(),
                    assertion,
                    Some(assertion_options()),
                )
                .map_err(|e| wrap("GitHub Actions OIDC", e))?;
                return Ok(Ok(Identity {
                    credential,
                    source: format!("GitHub Actions OIDC for app {client}"),
                    tenant: Some(tenant),
                }));
            }
            // The variables the AzureCLI@2 / AzurePowerShell@5 tasks set for a
            // workload-identity service connection, plus the job's access token.
            if let (Some(tenant), Some(client), Some(connection), Some(system_token)) = (
                env(EnvVars::AZURESUBSCRIPTION_TENANT_ID).or(tenant.clone()),
                env(EnvVars::AZURESUBSCRIPTION_CLIENT_ID).or(client.clone()),
                env(EnvVars::AZURESUBSCRIPTION_SERVICE_CONNECTION_ID),
                env(EnvVars::SYSTEM_ACCESSTOKEN),
            ) {
                let options = AzurePipelinesCredentialOptions { credential_options: assertion_options() };
                let credential = AzurePipelinesCredential::new(
                    tenant.clone(),
                    client.clone(),
                    &connection,
                    Secret::new(system_token),
                    Some(options),
                )
                .map_err(|e| wrap("the Azure DevOps service connection", e))?;
                return Ok(Ok(Identity {
                    credential,
                    source: format!("Azure DevOps service connection {connection} (app {client})"),
                    tenant: Some(tenant),
                }));
            }
            Ok(Err("workload identity (no AZURE_FEDERATED_TOKEN_FILE, GitHub OIDC request or Azure DevOps service connection with AZURE_TENANT_ID and AZURE_CLIENT_ID)".into()))
        }
        AuthMethod::ManagedIdentity => {
            // Probing IMDS on a laptop costs seconds; in a chain, only where a managed
            // identity endpoint is advertised.
            if !explicit && env(EnvVars::IDENTITY_ENDPOINT).is_none() && env(EnvVars::MSI_ENDPOINT).is_none() {
                return Ok(Err(
                    "managed identity (no IDENTITY_ENDPOINT; `--auth managed-identity` to use the VM's IMDS)".into(),
                ));
            }
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: client.clone().map(UserAssignedId::ClientId),
                client_options: client_options(transport, settings),
            };
            let credential = ManagedIdentityCredential::new(Some(options)).map_err(|e| wrap("managed identity", e))?;
            let source = match &client {
                Some(client) => format!("managed identity {client}"),
                None => "system-assigned managed identity".into(),
            };
            Ok(Ok(Identity { credential, source, tenant: None }))
        }
        AuthMethod::Cli => {
            if !explicit && settings.find_on_path("az").is_none() {
                return Ok(Err("Azure CLI (`az` is not on PATH)".into()));
            }
            let options = AzureCliCredentialOptions { tenant_id: tenant.clone(), ..Default::default() };
            let credential = AzureCliCredential::new(Some(options)).map_err(|e| wrap("the Azure CLI credential", e))?;
            Ok(Ok(Identity { credential, source: "Azure CLI login (`az login`)".into(), tenant }))
        }
        AuthMethod::Auto => Ok(Err("auto".into())),
    }
}

/// GitHub Actions' OIDC token, requested for Entra's audience each time one is needed
/// (they expire in minutes), so no secret is stored in the repository.
#[derive(Clone)]
struct GithubOidc {
    url: String,
    request_token: Secret,
    transport: Transport,
}

impl fmt::Debug for GithubOidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubOidc").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ClientAssertion for GithubOidc {
    async fn secret(&self, _options: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        use azure_core::http::{Method, Request, Url};
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let url = Url::parse(&format!("{}{separator}audience=api://AzureADTokenExchange", self.url))?;
        let mut request = Request::new(url, Method::Get);
        request.insert_header("authorization", format!("Bearer {}", self.request_token.secret()));
        request.insert_header("accept", "application/json");
        let pipeline = aml_http::pipeline::pipeline(&self.transport, Retry::token(), Vec::new());
        let response = pipeline.send(&azure_core::http::Context::new(), &mut request, None).await?;
        #[derive(serde::Deserialize)]
        struct Body {
            value: String,
        }
        let body: Body = response.into_body().json()?;
        Ok(body.value)
    }
}

/// Logs each token the tools acquire: the source and scope, and when it expires; never the
/// token. A token served again from the credential's cache is logged at `trace` only.
struct LoggedCredential {
    inner: Arc<dyn TokenCredential>,
    source: String,
    seen: Mutex<BTreeMap<String, OffsetDateTime>>,
}

impl fmt::Debug for LoggedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedCredential").field("source", &self.source).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for LoggedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let scope = scopes.join(" ");
        let started = std::time::Instant::now();
        let result = self.inner.get_token(scopes, options).await;
        match &result {
            Ok(token) => {
                let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if seen.get(&scope) == Some(&token.expires_on) {
                    tracing::trace!("token for {scope} from {} (cached)", self.source);
                } else {
                    let left = token.expires_on - OffsetDateTime::now_utc();
                    tracing::debug!(
                        "token for {scope} from {} in {:.1?}, expires in {} min",
                        self.source,
                        started.elapsed(),
                        left.whole_minutes()
                    );
                    seen.insert(scope, token.expires_on);
                }
            }
            Err(e) => {
                tracing::debug!("no token for {scope} from {}: {}", self.source, aml_http::error_chain(e));
            }
        }
        result
    }
}
