//! What the emulator's parts share and nothing else: the names it answers to (subscription,
//! workspace, identities and their secrets), its storage account, where its schemas are,
//! and small helpers. It imports none of the emulator's other modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-00000000aaaa";

pub const RESOURCE_GROUP: &str = "rg-mlops";

pub const WORKSPACE: &str = "mlw-test";

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";

pub const CLIENT_ID: &str = "66666666-7777-8888-9999-000000000000";

/// Test credentials: the secret-grep tests look for these in every output.
pub const CLIENT_SECRET: &str = "emulator-client-secret-Zq8~xR2";

pub const FEDERATED_ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.federated-assertion.sig";

pub const IDENTITY_HEADER: &str = "emulator-identity-header";

pub const GITHUB_REQUEST_TOKEN: &str = "emulator-github-request-token";

/// The container registry's name: a `*.localhost` host (RFC 6761) the clients resolve to
/// the emulator, so it is reached as a remote registry is, over TLS with tokens.
pub const ACR_HOST: &str = "mlopsacr.azurecr.localhost";

/// The workspace's ARM id: what every resource path and id starts with.
pub fn workspace_id() -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
    )
}

/// Where the blob datastore points.
#[derive(Clone)]
pub struct Storage {
    pub account: String,
    pub key: String,
    pub container: String,
    /// `host:port` after `<account>.blob.` (production-style URL on *.localhost).
    pub endpoint: String,
    /// For storage served over https with OAuth (an identity-based datastore): the
    /// certificate it presents, which this process's own clients trust.
    pub ca: Option<PathBuf>,
}

impl Storage {
    pub fn scheme(&self) -> &'static str {
        if self.ca.is_some() { "https" } else { "http" }
    }

    pub fn url(&self, container: &str) -> String {
        format!("{}://{}.blob.{}/{container}", self.scheme(), self.account, self.endpoint)
    }

    /// A service SAS (signed version 2019-12-12) over a whole container: read, add, create,
    /// write and list for a day, as `startPendingUpload` hands one out.
    pub fn container_sas(&self, container: &str) -> String {
        let expiry = sas_expiry();
        let (permissions, version, resource) = ("racwl", "2019-12-12", "c");
        let to_sign = format!(
            "{permissions}\n\n{expiry}\n/blob/{}/{container}\n\n\n\n{version}\n{resource}\n\n\n\n\n\n",
            self.account
        );
        format!(
            "sv={version}&sr={resource}&sp={permissions}&se={}&sig={}",
            aml_http::url::encode_component(&expiry),
            aml_http::url::encode_component(&self.sign(&to_sign))
        )
    }

    /// An account SAS (signed version 2019-12-12) for the blob service's containers and
    /// blobs: what creating a container needs, which no container SAS allows.
    pub fn account_sas(&self) -> String {
        let expiry = sas_expiry();
        let (permissions, services, types, version) = ("rwdlac", "b", "sco", "2019-12-12");
        let to_sign = format!("{}\n{permissions}\n{services}\n{types}\n\n{expiry}\n\n\n{version}\n", self.account);
        format!(
            "sv={version}&ss={services}&srt={types}&sp={permissions}&se={}&sig={}",
            aml_http::url::encode_component(&expiry),
            aml_http::url::encode_component(&self.sign(&to_sign))
        )
    }

    /// HMAC-SHA256 of `to_sign` with the account key, base64.
    fn sign(&self, to_sign: &str) -> String {
        use base64::Engine as _;
        use hmac::{KeyInit, Mac};
        let engine = base64::engine::general_purpose::STANDARD;
        let key = engine.decode(&self.key).unwrap_or_default();
        match hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) {
            Ok(mut mac) => {
                mac.update(to_sign.as_bytes());
                engine.encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

/// A day from now, as a SAS's `se`.
fn sas_expiry() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 86_400).map(|t| t.to_string()).unwrap_or_default()
}

/// The schema `cargo xtask test` generates from databricks-sdk.
pub fn databricks_schema() -> PathBuf {
    repo_root().join("target").join("aml-test-cache").join("oracle").join("databricks.json")
}

/// The schema `cargo xtask test` generates from azure-mgmt-monitor.
pub fn monitor_schema() -> PathBuf {
    repo_root().join("target").join("aml-test-cache").join("oracle").join("monitor.json")
}

/// The schema `cargo xtask test` generates from azure-mgmt-resource.
pub fn resources_schema() -> PathBuf {
    repo_root().join("target").join("aml-test-cache").join("oracle").join("resources.json")
}

/// The schema `cargo xtask test` generates from azure-ai-ml.
pub fn oracle_schema() -> PathBuf {
    repo_root().join("target").join("aml-test-cache").join("oracle").join("arm-2025-12-01.json")
}

pub fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Run a call of the tools' async library from one of the emulator's synchronous handlers
/// (which may themselves be inside a runtime): on a thread of its own, with its own runtime.
pub fn blocking<T, F, Fut>(make: F) -> Result<T, String>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        Ok(runtime.block_on(make()))
    })
    .join()
    .map_err(|_| "the library call panicked".to_string())?
}

/// The settings the emulator's own library calls run with: its process's environment.
pub fn settings() -> aml_client::settings::Settings {
    aml_client::settings::Settings::from_env()
}

/// A client for what the emulator forwards to on 127.0.0.1 (the local router, the registry
/// behind its ACR front), tried once: the client in front retries.
pub fn loopback_client(timeout: std::time::Duration) -> Result<aml_http::client::Client, String> {
    let options = aml_http::transport::TransportOptions::service(timeout);
    aml_http::client::Client::new(options, aml_http::pipeline::Retry::Never).map_err(|e| e.to_string())
}

/// 32 random bytes, hex: endpoint keys and tokens.
pub fn random_token() -> String {
    aml_client::ids::random_bytes::<32>()
        .map(|b| aml_client::digest::hex(&b))
        .unwrap_or_else(|_| format!("{}", jiff::Timestamp::now().as_nanosecond()))
}

/// `key=value&…` with percent-decoding (form bodies and query strings).
pub fn parse_form(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
