//! Every environment variable the tools read, declared once (name, meaning, default), and
//! `Settings`: their values, read once when a tool starts and passed down from there.
//!
//! Nothing below a tool's entry reads the process environment: a library call gets its
//! settings from its caller, so it behaves the same in a test, in the emulator and in CI,
//! and a variable the README does not document cannot be read (a test holds the README's
//! table to `ENV_VARS`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};

/// One documented environment variable.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    pub name: &'static str,
    pub meaning: &'static str,
    /// What applies when it is unset (`-`: nothing).
    pub default: &'static str,
    /// Its value is a credential: never printed, logged or put in an error.
    pub secret: bool,
}

macro_rules! env_vars {
    ($( $(#[doc = $doc:literal])* $name:ident = $default:literal $(, $secret:ident)? ; )*) => {
        /// The names, as constants, so a typo is a compile error.
        pub struct EnvVars;

        impl EnvVars {
            $( $(#[doc = $doc])* pub const $name: &'static str = stringify!($name); )*
        }

        /// Every variable the tools read, in the README's order.
        pub const ENV_VARS: &[EnvVar] = &[
            $( EnvVar {
                name: stringify!($name),
                meaning: concat!($($doc),*),
                default: $default,
                secret: env_vars!(@secret $($secret)?),
            }, )*
        ];
    };
    (@secret secret) => { true };
    (@secret) => { false };
}

env_vars! {
    /// The workspace (`--workspace`): `local`, `local:DIR` or `azureml://subscriptions/S/resourceGroups/G/workspaces/W`.
    AML_WORKSPACE = "local";
    /// The CI to report to (`--ci`): `auto`, `azure-devops`, `github`, `jenkins` or `none`.
    AML_CI = "auto";
    /// The Azure identity source (`--auth`): `auto`, `secret`, `workload`, `managed-identity` or `cli`.
    AML_AUTH = "auto";
    /// Where `aml-train run` runs command steps (`--compute`): `local` or `databricks:https://HOST?…`.
    AML_COMPUTE = "local";
    /// What the tools log on stderr (`--verbose` is `debug`): `info`, `debug` or `trace`.
    AML_LOG = "off";
    /// Append the log to this file instead of stderr (a CI artifact, say).
    AML_LOG_FILE = "stderr";
    /// The client a local endpoint's router forwards with: `hyper`, or `pipeline` (the HTTP crate's; for benchmarks).
    AML_ROUTER_HOP = "hyper";
    /// The largest request body a local endpoint accepts, in bytes; larger gets 413 (Azure ML's managed endpoints: 1.5 MiB).
    AML_ENDPOINT_MAX_REQUEST_BYTES = "1572864";
    /// Retries of a failed or throttled Azure, Databricks or registry request after the first try.
    AML_HTTP_RETRIES = "8";
    /// Azure Resource Manager's endpoint (a sovereign cloud, or an emulator); https only.
    AML_ARM_ENDPOINT = "https://management.azure.com";
    /// The token scope for Resource Manager.
    AML_ARM_SCOPE = "AML_ARM_ENDPOINT + /.default";
    /// Block size of blob uploads, in MiB.
    AML_BLOB_BLOCK_MIB = "4";
    /// Blocks of one blob uploaded at once.
    AML_BLOB_BLOCKS_IN_FLIGHT = "4";
    /// Where environments and image layers are cached.
    AML_CACHE_DIR = "$XDG_CACHE_HOME/aml-tools, else ~/.cache/aml-tools";
    /// The most the image layer cache keeps, in MiB: past it, the layers used least recently go.
    AML_PACKAGE_CACHE_MIB = "10240";
    /// The Python that builds job and deployment environments.
    AML_PYTHON = "python3";
    /// pyenv's root: Pythons of other versions than PATH's are looked for in its `versions/`.
    PYENV_ROOT = "~/.pyenv";
    /// Where uv keeps the Pythons it installed: looked for there too.
    UV_PYTHON_INSTALL_DIR = "~/.local/share/uv/python";
    /// Jenkins: the properties file output variables are written to.
    AML_OUTPUTS_FILE = "aml-outputs.properties";
    /// The longest wait, in milliseconds, between two polls of a Databricks run.
    AML_DATABRICKS_POLL_MAX_MS = "10000";
    /// The shortest wait, in seconds, between two polls of an Azure ML job (as azure-ai-ml).
    AZUREML_RUN_POLLING_INTERVAL_MIN = "2";
    /// The longest wait, in seconds, between two polls of an Azure ML job (as azure-ai-ml).
    AZUREML_RUN_POLLING_INTERVAL_MAX = "60";
    /// A Databricks personal access token; without it, an Entra token from `--auth`.
    DATABRICKS_TOKEN = "-", secret;
    /// The Unity Catalog volume Databricks jobs' files go to.
    DATABRICKS_VOLUME = "/Volumes/main/default/aml_train";
    /// The Entra tenant of the identity.
    AZURE_TENANT_ID = "-";
    /// The subscription `aml-infra` deploys into (`--subscription`).
    AZURE_SUBSCRIPTION_ID = "-";
    /// The identity's application (client) id; with managed identity, a user-assigned one.
    AZURE_CLIENT_ID = "-";
    /// A client secret of the application.
    AZURE_CLIENT_SECRET = "-", secret;
    /// A federated token file (workload identity).
    AZURE_FEDERATED_TOKEN_FILE = "-";
    /// Entra's authority host (a sovereign cloud, or an emulator).
    AZURE_AUTHORITY_HOST = "https://login.microsoftonline.com";
    /// GitHub Actions' OIDC request URL (`permissions: id-token: write`).
    ACTIONS_ID_TOKEN_REQUEST_URL = "-";
    /// GitHub Actions' OIDC request token.
    ACTIONS_ID_TOKEN_REQUEST_TOKEN = "-", secret;
    /// An Azure DevOps workload-identity service connection's tenant.
    AZURESUBSCRIPTION_TENANT_ID = "-";
    /// An Azure DevOps workload-identity service connection's application id.
    AZURESUBSCRIPTION_CLIENT_ID = "-";
    /// An Azure DevOps workload-identity service connection's id.
    AZURESUBSCRIPTION_SERVICE_CONNECTION_ID = "-";
    /// The Azure DevOps job's access token (`System.AccessToken`): service connections and approvals.
    SYSTEM_ACCESSTOKEN = "-", secret;
    /// A managed identity endpoint (App Service, Container Apps, Arc).
    IDENTITY_ENDPOINT = "-";
    /// A managed identity endpoint (older App Service).
    MSI_ENDPOINT = "-";
    /// The managed identity endpoint's header secret (read by azure_identity's credential itself).
    IDENTITY_HEADER = "-", secret;
    /// Azure DevOps: set by the agent.
    TF_BUILD = "-";
    /// Azure DevOps: the organization's URL.
    SYSTEM_COLLECTIONURI = "-";
    /// Azure DevOps: the project.
    SYSTEM_TEAMPROJECT = "-";
    /// Azure DevOps: the run's id.
    BUILD_BUILDID = "-";
    /// Azure DevOps: where the step summary is written.
    AGENT_TEMPDIRECTORY = "the system's temp folder";
    /// Azure DevOps: who queued the run (e-mail).
    BUILD_REQUESTEDFOREMAIL = "-";
    /// Azure DevOps: who queued the run.
    BUILD_REQUESTEDFOR = "-";
    /// Azure DevOps: the commit built.
    BUILD_SOURCEVERSION = "-";
    /// GitHub Actions: set by the runner.
    GITHUB_ACTIONS = "-";
    /// GitHub Actions: the file output variables are written to.
    GITHUB_OUTPUT = "-";
    /// GitHub Actions: the file the step summary is written to.
    GITHUB_STEP_SUMMARY = "-";
    /// GitHub Actions: the server's URL.
    GITHUB_SERVER_URL = "-";
    /// GitHub Actions: the REST API's URL.
    GITHUB_API_URL = "-";
    /// GitHub Actions: `owner/repository`.
    GITHUB_REPOSITORY = "-";
    /// GitHub Actions: the run's id.
    GITHUB_RUN_ID = "-";
    /// GitHub Actions: the job's token (`approval-gate record`).
    GITHUB_TOKEN = "-", secret;
    /// GitHub Actions: who triggered the run.
    GITHUB_TRIGGERING_ACTOR = "-";
    /// GitHub Actions: whose push or action started the run.
    GITHUB_ACTOR = "-";
    /// GitHub Actions: the commit built.
    GITHUB_SHA = "-";
    /// Jenkins: set by the agent.
    JENKINS_URL = "-";
    /// Jenkins: the build's URL.
    BUILD_URL = "-";
    /// Jenkins: who started the build.
    BUILD_USER_ID = "-";
    /// Jenkins: the commit built.
    GIT_COMMIT = "-";
    /// Who runs the tool, outside CI.
    USER = "-";
    /// Who runs the tool, outside CI (another spelling).
    USERNAME = "-";
    /// Who runs the tool, outside CI (another spelling).
    LOGNAME = "-";
    /// The home folder, for the default cache.
    HOME = "-";
    /// The cache root, for the default cache.
    XDG_CACHE_HOME = "-";
    /// Where `uv`, `az` and job programs are found.
    PATH = "-";
    /// Any value turns colour and progress bars off.
    NO_COLOR = "-";
}

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

/// The tools' settings: the declared environment, read once, and the global flags that
/// reach below the command (`--auth`). Cheap to clone.
#[derive(Clone)]
pub struct Settings(Arc<Inner>);

struct Inner {
    vars: BTreeMap<&'static str, String>,
    auth: AuthMethod,
}

impl Settings {
    /// Read every declared variable once (empty values count as unset).
    pub fn from_env() -> Settings {
        Settings::from_vars(
            ENV_VARS.iter().filter_map(|var| std::env::var(var.name).ok().map(|value| (var.name, value))),
        )
    }

    /// Settings from given values (tests, the emulator's own processes); undeclared names are dropped.
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, String)>) -> Settings {
        let vars = vars
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .filter_map(|(name, value)| ENV_VARS.iter().find(|var| var.name == name).map(|var| (var.name, value)))
            .collect();
        Settings(Arc::new(Inner { vars, auth: AuthMethod::Auto }))
    }

    /// The same settings with `--auth` as given.
    pub fn with_auth(&self, auth: AuthMethod) -> Settings {
        Settings(Arc::new(Inner { vars: self.0.vars.clone(), auth }))
    }

    /// A declared variable's value, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        debug_assert!(ENV_VARS.iter().any(|var| var.name == name), "`{name}` is not declared in ENV_VARS");
        self.0.vars.get(name).map(String::as_str)
    }

    /// A declared variable parsed as a number; unset or unparsable gives `default`.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.get(name).and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }

    pub fn auth(&self) -> AuthMethod {
        self.0.auth
    }

    /// Retries for each outgoing request after the first.
    pub fn http_retries(&self) -> u32 {
        self.number(EnvVars::AML_HTTP_RETRIES, 8)
    }

    /// Where environments and image layers are cached.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(dir) = self.get(EnvVars::AML_CACHE_DIR) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = self.get(EnvVars::XDG_CACHE_HOME) {
            return PathBuf::from(dir).join("aml-tools");
        }
        match self.get(EnvVars::HOME) {
            Some(home) => PathBuf::from(home).join(".cache").join("aml-tools"),
            None => std::env::temp_dir().join("aml-tools-cache"),
        }
    }

    /// An executable program on `PATH`.
    pub fn find_on_path(&self, program: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.get(EnvVars::PATH)?;
        std::env::split_paths(path).map(|dir| dir.join(program)).find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    }
}

/// Names only: values may be secrets.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("set", &self.0.vars.keys().collect::<Vec<_>>())
            .field("auth", &self.0.auth)
            .finish()
    }
}

impl AuthMethod {
    /// AML_AUTH as written, for settings that did not come through the flag.
    pub fn parse_setting(text: &str) -> Result<AuthMethod> {
        <AuthMethod as clap::ValueEnum>::from_str(text.trim(), true).map_err(|_| {
            Error::usage(
                format!("{}=`{text}` is not an identity source", EnvVars::AML_AUTH),
                "use auto, secret, workload, managed-identity or cli",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_variables_are_kept_and_empty_is_unset() {
        let settings = Settings::from_vars([
            ("AML_HTTP_RETRIES", "3".to_string()),
            ("AML_CACHE_DIR", "  ".to_string()),
            ("NOT_DECLARED", "x".to_string()),
        ]);
        assert_eq!(settings.http_retries(), 3);
        assert_eq!(settings.get(EnvVars::AML_CACHE_DIR), None);
        assert!(!format!("{settings:?}").contains("NOT_DECLARED"));
    }

    #[test]
    fn debug_never_shows_a_value() {
        let settings = Settings::from_vars([("AZURE_CLIENT_SECRET", "s3cret".to_string())]);
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    /// The README's environment table lists exactly the declared variables, with their defaults.
    #[test]
    fn the_readme_documents_every_variable() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
        let section = readme.split("### Environment variables").nth(1).expect("README has `### Environment variables`");
        let documented: Vec<(String, String)> = section
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
                Some((name.to_string(), cells.get(2).copied().unwrap_or("").trim_matches('`').to_string()))
            })
            .collect();
        let declared: Vec<(String, String)> =
            ENV_VARS.iter().map(|var| (var.name.to_string(), var.default.to_string())).collect();
        assert_eq!(
            documented, declared,
            "README's environment table and ENV_VARS differ (cargo xtask env-table prints the table)"
        );
    }
}
