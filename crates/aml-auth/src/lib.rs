//! Which identity the tools act as in Azure. azure_identity has no default chain, so the
//! chain is ours, in the order the Azure issue sets: a client secret, workload identity
//! federation (a token file, GitHub Actions' OIDC request, an Azure DevOps service
//! connection), managed identity, then the `az` CLI's login. `--auth` (AML_AUTH) picks one.
//! The first source whose settings are present is used; when none is, or it fails, the
//! error lists what was tried, with the tenant, and never a secret.

use std::fmt;
use std::sync::Arc;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientMethodOptions, ClientOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzurePipelinesCredential, AzurePipelinesCredentialOptions,
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use aml_core::error::{Error, Result};

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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn client_options(transport: &Transport) -> ClientOptions {
    // The ARM pipeline retries the calls that need tokens; a token request that fails
    // fast lets that retry (and the user) see why.
    ClientOptions {
        transport: Some(transport.clone()),
        retry: azure_core::http::RetryOptions::exponential(azure_core::http::ExponentialRetryOptions {
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(20),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn wrap(source: &str, e: azure_core::Error) -> Error {
    Error::usage(format!("cannot set up {source}: {}", aml_http::error_chain(&e)), "check its environment variables")
}

/// Build the credential `method` names (or the first that applies, for `Auto`).
pub fn identity(method: AuthMethod, transport: &Transport) -> Result<Identity> {
    let mut tried = Vec::new();
    let all = [AuthMethod::Secret, AuthMethod::Workload, AuthMethod::ManagedIdentity, AuthMethod::Cli];
    let candidates: Vec<AuthMethod> = if method == AuthMethod::Auto { all.to_vec() } else { vec![method] };
    for candidate in candidates {
        match build(candidate, transport, method != AuthMethod::Auto)? {
            Ok(identity) => return Ok(identity),
            Err(reason) => tried.push(reason),
        }
    }
    Err(Error::service(
        format!("no Azure identity to act as; tried: {}", tried.join("; ")),
        Some("set AZURE_TENANT_ID + AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or a federated token, run where a managed identity is, or `az login`; `--auth` picks one".into()),
    ))
}

/// `Ok(Err(reason))`: this source does not apply here (its settings are absent).
fn build(method: AuthMethod, transport: &Transport, explicit: bool) -> Result<std::result::Result<Identity, String>> {
    let tenant = env("AZURE_TENANT_ID");
    let client = env("AZURE_CLIENT_ID");
    match method {
        AuthMethod::Secret => {
            let (Some(tenant), Some(client), Some(secret)) = (tenant.clone(), client, env("AZURE_CLIENT_SECRET"))
            else {
                return Ok(Err(
                    "client secret (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not all set)".into()
                ));
            };
            let options = ClientSecretCredentialOptions { client_options: client_options(transport) };
            let credential = ClientSecretCredential::new(&tenant, client.clone(), Secret::new(secret), Some(options))
                .map_err(|e| wrap("the client secret credential", e))?;
            Ok(Ok(Identity { credential, source: format!("client secret of app {client}"), tenant: Some(tenant) }))
        }
        AuthMethod::Workload => {
            let assertion_options = || ClientAssertionCredentialOptions { client_options: client_options(transport) };
            if let (Some(tenant), Some(client), Some(_)) =
                (tenant.clone(), client.clone(), env("AZURE_FEDERATED_TOKEN_FILE"))
            {
                let options = WorkloadIdentityCredentialOptions {
                    credential_options: assertion_options(),
                    client_id: Some(client.clone()),
                    tenant_id: Some(tenant.clone()),
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
                env("ACTIONS_ID_TOKEN_REQUEST_URL"),
                env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
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
                env("AZURESUBSCRIPTION_TENANT_ID").or(tenant.clone()),
                env("AZURESUBSCRIPTION_CLIENT_ID").or(client.clone()),
                env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
                env("SYSTEM_ACCESSTOKEN"),
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
            if !explicit && env("IDENTITY_ENDPOINT").is_none() && env("MSI_ENDPOINT").is_none() {
                return Ok(Err(
                    "managed identity (no IDENTITY_ENDPOINT; `--auth managed-identity` to use the VM's IMDS)".into(),
                ));
            }
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: client.clone().map(UserAssignedId::ClientId),
                client_options: client_options(transport),
            };
            let credential = ManagedIdentityCredential::new(Some(options)).map_err(|e| wrap("managed identity", e))?;
            let source = match &client {
                Some(client) => format!("managed identity {client}"),
                None => "system-assigned managed identity".into(),
            };
            Ok(Ok(Identity { credential, source, tenant: None }))
        }
        AuthMethod::Cli => {
            if !explicit && !on_path("az") {
                return Ok(Err("Azure CLI (`az` is not on PATH)".into()));
            }
            let options = AzureCliCredentialOptions { tenant_id: tenant.clone(), ..Default::default() };
            let credential = AzureCliCredential::new(Some(options)).map_err(|e| wrap("the Azure CLI credential", e))?;
            Ok(Ok(Identity { credential, source: "Azure CLI login (`az login`)".into(), tenant }))
        }
        AuthMethod::Auto => Ok(Err("auto".into())),
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
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
        let pipeline = azure_core::http::Pipeline::new(
            Some("aml-client"),
            Some(env!("CARGO_PKG_VERSION")),
            client_options(&self.transport),
            Vec::new(),
            Vec::new(),
            None,
        );
        let response = pipeline.send(&azure_core::http::Context::new(), &mut request, None).await?;
        #[derive(serde::Deserialize)]
        struct Body {
            value: String,
        }
        let body: Body = response.into_body().json()?;
        Ok(body.value)
    }
}
