//! Settings that reach past one command's flags.

use crate::error::{Error, Result};

/// An identity source, as `--auth` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMethod {
    /// The first source below whose settings are present
    Auto,
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
    Secret,
    /// Federated: AZURE_FEDERATED_TOKEN_FILE, GitHub Actions' OIDC, or an Azure DevOps service connection
    Workload,
    /// Managed identity of the VM or container (AZURE_CLIENT_ID picks a user-assigned one)
    ManagedIdentity,
    /// `az login`
    Cli,
}

static CHOSEN: std::sync::OnceLock<AuthMethod> = std::sync::OnceLock::new();

/// `--auth` as the tool was given it; set once, before any workspace is opened.
pub fn choose(method: AuthMethod) {
    let _ = CHOSEN.set(method);
}

impl AuthMethod {
    /// The chosen source: `--auth`, else AML_AUTH, else `auto`.
    pub fn current() -> Result<AuthMethod> {
        if let Some(method) = CHOSEN.get() {
            return Ok(*method);
        }
        match std::env::var("AML_AUTH") {
            Ok(text) if !text.trim().is_empty() => <AuthMethod as clap::ValueEnum>::from_str(text.trim(), true)
                .map_err(|_| {
                    Error::usage(
                        format!("AML_AUTH=`{text}` is not an identity source"),
                        "use auto, secret, workload, managed-identity or cli",
                    )
                }),
            _ => Ok(AuthMethod::Auto),
        }
    }
}
