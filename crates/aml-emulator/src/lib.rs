//! A strict stand-in for Azure in tests: Azure ML's ARM subset the tools use and the token
//! endpoints (Entra client credentials and federated assertions, App Service managed
//! identity, GitHub Actions' OIDC request) over TLS on 127.0.0.1 with a self-signed leaf
//! certificate, since azure_identity refuses a non-https authority. Every request body and
//! every answer is held to the classes Microsoft generated from the REST spec
//! (`schema.rs`); anything else is a violation that fails the test. Faults can be injected
//! per operation. Blob storage is Azurite (`azurite.rs`), reached through a proxy that can
//! drop connections mid-body (`proxy.rs`).

mod acr;
mod arm;
pub mod azurite;
mod cluster;
pub mod databricks;
pub mod harness;
mod jobs;
mod online;
pub mod proxy;
mod runner;
pub mod schema;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// The azure backend's object hash, for tests that hold it to azure-ai-ml's own.
pub use aml_azure::hash as object_hash;
use aml_http::client::HttpMethod;
pub use arm::Fault;

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

    /// A client for one of the account's containers, with the account key.
    pub fn container(&self, container: &str) -> Result<aml_azure::blob::Container, String> {
        use aml_azure::blob::{Container, StorageAuth};

        let options = aml_http::transport::TransportOptions::service(std::time::Duration::from_secs(30));
        let transport = match &self.ca {
            None => aml_http::transport::transport(options).map_err(|e| e.to_string())?,
            // The tools trust it through SSL_CERT_FILE; the test process is given it here.
            Some(ca) => {
                let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
                aml_http::transport::transport_trusting(options, &pem).map_err(|e| e.to_string())?
            }
        };
        let blob_options = aml_azure::blob::BlobOptions::from_settings(&crate::settings());
        Container::new(
            &self.account,
            &self.url(container),
            StorageAuth::AccountKey(self.key.clone().into()),
            &transport,
            blob_options,
        )
        .map_err(|e| e.to_string())
    }

    /// A service SAS (signed version 2019-12-12) over a whole container: read, add, create,
    /// write and list for a day, as `startPendingUpload` hands one out.
    pub fn container_sas(&self, container: &str) -> String {
        use base64::Engine as _;
        use hmac::{KeyInit, Mac};
        let engine = base64::engine::general_purpose::STANDARD;
        let expiry = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 86_400)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let (permissions, version, resource) = ("racwl", "2019-12-12", "c");
        let to_sign = format!(
            "{permissions}\n\n{expiry}\n/blob/{}/{container}\n\n\n\n{version}\n{resource}\n\n\n\n\n\n",
            self.account
        );
        let key = engine.decode(&self.key).unwrap_or_default();
        let signature = match hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) {
            Ok(mut mac) => {
                mac.update(to_sign.as_bytes());
                engine.encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        };
        format!(
            "sv={version}&sr={resource}&sp={permissions}&se={}&sig={}",
            aml_http::url::encode_component(&expiry),
            aml_http::url::encode_component(&signature)
        )
    }
}

pub struct Emulator {
    pub port: u16,
    pub cert: PathBuf,
    /// The certificate's private key (PEM): Azurite in OAuth mode serves https with it.
    pub key: PathBuf,
    state: Arc<Mutex<arm::State>>,
    /// The program that runs submitted jobs (`aml-train`, on a local workspace).
    compute: Arc<Mutex<Option<PathBuf>>>,
    _dir: tempfile::TempDir,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Emulator {
    pub fn start(storage: Option<Storage>) -> Result<Emulator, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let schema = schema::Schema::load(&oracle_schema())?;
        let dir = tempfile::Builder::new().prefix("aml-emulator-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut params = rcgen::CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            ACR_HOST.to_string(),
            "*.blob.localhost".to_string(),
        ])
        .map_err(|e| format!("certificate: {e}"))?;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().map_err(|e| format!("key: {e}"))?;
        let cert = params.self_signed(&key).map_err(|e| format!("certificate: {e}"))?;
        let cert_path = dir.path().join("emulator.pem");
        std::fs::write(&cert_path, cert.pem()).map_err(|e| format!("{}: {e}", cert_path.display()))?;
        let key_path = dir.path().join("emulator-key.pem");
        std::fs::write(&key_path, key.serialize_pem()).map_err(|e| format!("{}: {e}", key_path.display()))?;
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .map_err(|e| format!("TLS config: {e}"))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| format!("bind: {e}"))?.port();
        let databricks = databricks::Databricks::new(
            schema::Schema::load(&databricks_schema())?,
            dir.path().join("databricks-driver"),
        );
        let state = Arc::new(Mutex::new(arm::State::new(
            schema,
            storage,
            port,
            dir.path().join("local-workspace"),
            databricks,
            cert_path.clone(),
        )));
        let compute: Arc<Mutex<Option<PathBuf>>> = Arc::new(Mutex::new(None));
        let shared = state.clone();
        let shared_compute = compute.clone();
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let acceptor = acceptor.clone();
                let state = shared.clone();
                let compute = shared_compute.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service =
                        hyper::service::service_fn(move |request| handle(state.clone(), compute.clone(), request));
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        Ok(Emulator { port, cert: cert_path, key: key_path, state, compute, _dir: dir, runtime: Some(runtime) })
    }

    /// Run submitted jobs and deployments with the tools in this folder (`aml-train`,
    /// `aml-deploy`), on local workspaces: the emulator's compute.
    pub fn set_compute(&self, tools: &std::path::Path) {
        *self.compute.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tools.to_path_buf());
    }

    /// Put the workspace's datastores on this storage (started after the emulator, e.g. an
    /// Azurite serving https with the emulator's certificate).
    pub fn set_storage(&self, storage: Storage) {
        self.state().storage = Some(storage);
    }

    /// How many times an endpoint's operation answers InProgress before it succeeds (a slow
    /// long-running operation).
    pub fn set_operation_polls(&self, polls: u32) {
        self.state().operation_polls = polls;
    }

    /// Put Azure Container Registry's token exchange in front of the Distribution registry at
    /// `address`; push to `acr()`.
    pub fn set_registry(&self, address: &str) {
        self.state().registry_backend = Some(address.to_string());
    }

    /// `mlopsacr.azurecr.localhost:PORT`: the registry as a tool names it.
    pub fn acr(&self) -> String {
        format!("{ACR_HOST}:{}", self.port)
    }

    /// The ACR tokens handed out so far (refresh and access), for the secret grep.
    pub fn registry_tokens(&self) -> Vec<String> {
        let state = self.state();
        state.acr_refresh.iter().cloned().chain(state.acr_access.keys().cloned()).collect()
    }

    /// Every endpoint key handed out: the secret-grep looks for them.
    pub fn endpoint_keys(&self) -> Vec<String> {
        self.state().endpoint_keys.values().flat_map(|keys| keys.iter().cloned()).collect()
    }

    /// Online endpoints as stored (ARM JSON), by name.
    pub fn endpoints(&self) -> BTreeMap<String, Value> {
        self.state().endpoints.clone()
    }

    /// Jobs as stored (ARM JSON), by name.
    pub fn jobs(&self) -> BTreeMap<String, Value> {
        self.state().jobs.clone()
    }

    /// A test that panicked while holding the state still leaves it readable.
    fn state(&self) -> std::sync::MutexGuard<'_, arm::State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn workspace(&self) -> String {
        format!("azureml://subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/workspaces/{WORKSPACE}")
    }

    /// What a tool needs to reach the emulator as Azure, with a client secret.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AML_ARM_ENDPOINT", self.url()),
            ("AZURE_AUTHORITY_HOST", self.url()),
            ("SSL_CERT_FILE", self.cert.display().to_string()),
            ("AZURE_TENANT_ID", TENANT.into()),
            ("AZURE_CLIENT_ID", CLIENT_ID.into()),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET.into()),
            ("NO_PROXY", "127.0.0.1,localhost,.localhost".into()),
            ("AML_WORKSPACE", self.workspace()),
            // Small budgets: a test that fails should fail in seconds.
            ("AML_HTTP_RETRIES", "4".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Answer the next `times` requests matching `method` and a path containing `path` with `fault`.
    pub fn inject(&self, method: &str, path: &str, fault: Fault, times: u32) {
        self.state().faults.push((method.to_string(), path.to_string(), fault, times));
    }

    /// (method, path without query, status) of every request so far.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        self.state().log.clone()
    }

    /// The JSON bodies received for requests whose path contains `path`.
    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.state().bodies.iter().filter(|(p, _)| p.contains(path)).map(|(_, b)| b.clone()).collect()
    }

    /// Every violation of the official models seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// Panic, listing them, if any request or answer broke the spec.
    pub fn assert_clean(&self) {
        let violations = self.violations();
        assert!(violations.is_empty(), "requests or answers the official models reject:\n{}", violations.join("\n"));
    }

    /// The Databricks workspace's URL (the same address as ARM's).
    pub fn databricks_host(&self) -> String {
        self.url()
    }

    /// `--compute` for the existing cluster, or for a new one of `node_type`.
    pub fn databricks_compute(&self, node_type: Option<&str>) -> String {
        match node_type {
            Some(node_type) => format!("databricks:{}?node_type={node_type}&workers=2", self.url()),
            None => format!("databricks:{}?cluster={}", self.url(), databricks::EXISTING_CLUSTER),
        }
    }

    /// One-time runs as submitted, with their state, by run id.
    pub fn databricks_runs(&self) -> BTreeMap<i64, databricks::DatabricksRun> {
        self.state().databricks.runs.clone()
    }

    /// MLflow runs the Databricks workspace holds, by run id.
    pub fn databricks_mlflow_runs(&self) -> BTreeMap<String, databricks::MlflowRun> {
        self.state().databricks.mlflow_runs.clone()
    }

    /// Entra tokens handed out for Databricks, for the secret grep.
    pub fn databricks_tokens(&self) -> Vec<String> {
        self.state().databricks.tokens.iter().cloned().collect()
    }

    /// A file on the emulated volume (`/Volumes/…`), as the driver sees it.
    pub fn databricks_file(&self, path: &str) -> Option<PathBuf> {
        self.state().databricks.local(path)
    }

    /// Model versions as stored (ARM JSON), for assertions.
    pub fn model_versions(&self) -> BTreeMap<(String, String), Value> {
        self.state().versions.clone()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Deployments really run on the local workspace: stop them with the emulator.
        let local = self.state().local_workspace.clone();
        let _ = blocking(move || async move {
            let location = format!("local:{}", local.display());
            if let Ok(mut ws) = aml_client::Workspace::open(&location, aml_client::Access::Existing, &settings()).await
            {
                for endpoint in ws.endpoints().await.unwrap_or_default() {
                    let _ = ws.delete_endpoint(&endpoint.name).await;
                }
            }
        });
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The schema `cargo xtask test` generates from databricks-sdk.
pub fn databricks_schema() -> PathBuf {
    repo_root().join("target").join("aml-test-cache").join("oracle").join("databricks.json")
}

/// The schema `cargo xtask test` generates from azure-ai-ml.
pub fn oracle_schema() -> PathBuf {
    repo_root().join("target").join("aml-test-cache").join("oracle").join("arm-2025-12-01.json")
}

pub fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

async fn handle(
    state: Arc<Mutex<arm::State>>,
    compute: Arc<Mutex<Option<PathBuf>>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let method = request.method().to_string();
    let uri = request.uri().clone();
    let headers: BTreeMap<String, String> =
        request.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let (answer, submitted, tasks, databricks_runs) = {
        let mut locked = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let answer = locked.answer(&method, &uri, &headers, &body);
        (
            answer,
            std::mem::take(&mut locked.queued),
            std::mem::take(&mut locked.tasks),
            std::mem::take(&mut locked.databricks.queued),
        )
    };
    for run in databricks_runs {
        cluster::spawn(state.clone(), run);
    }
    let tools = compute.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    for job in submitted {
        runner::spawn(state.clone(), tools.clone(), job);
    }
    for task in tasks {
        runner::spawn_task(state.clone(), tools.clone(), task);
    }
    match answer {
        arm::Answer::Reset => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset")),
        arm::Answer::Forward { url, key, deployment, body } => Ok(forward(&url, &key, &deployment, body).await),
        arm::Answer::Proxy { method, url, backend, headers, body } => {
            Ok(proxy(&method, &url, &backend, &headers, body).await)
        }
        arm::Answer::Raw { status, content_type, body } => Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .map_err(std::io::Error::other),
        arm::Answer::Reply { status, headers, body } => {
            let mut response = Response::builder().status(status);
            for (k, v) in headers {
                response = response.header(k, v);
            }
            let body = match body {
                Value::Null => Bytes::new(),
                other => Bytes::from(serde_json::to_vec(&other).unwrap_or_default()),
            };
            response.header("content-type", "application/json").body(Full::new(body)).map_err(std::io::Error::other)
        }
    }
}

/// Run a call of the tools' async library from one of the emulator's synchronous handlers
/// (which may themselves be inside a runtime): on a thread of its own, with its own runtime.
pub(crate) fn blocking<T, F, Fut>(make: F) -> Result<T, String>
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
pub(crate) fn settings() -> aml_client::settings::Settings {
    aml_client::settings::Settings::from_env()
}

/// A client for what the emulator forwards to on 127.0.0.1 (the local router, the registry
/// behind its ACR front), tried once: the client in front retries.
fn loopback_client(timeout: std::time::Duration) -> Result<aml_http::client::Client, String> {
    let options = aml_http::transport::TransportOptions::service(timeout);
    aml_http::client::Client::new(options, aml_http::pipeline::Retry::Never).map_err(|e| e.to_string())
}

/// Send a scoring request to the local router, pinned to the deployment picked, and hand
/// back its answer (status, body and the model-error headers).
async fn forward(url: &str, key: &str, deployment: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let failed = |status: u16, message: String| {
        let mut response =
            Response::new(Full::new(Bytes::from(serde_json::to_vec(&json!({"message": message})).unwrap_or_default())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
        response
    };
    let client = match loopback_client(std::time::Duration::from_secs(60)) {
        Ok(client) => client,
        Err(e) => return failed(500, e),
    };
    let authorization = format!("Bearer {key}");
    let headers = [
        ("authorization", authorization.as_str()),
        ("azureml-model-deployment", deployment),
        ("content-type", "application/json"),
    ];
    let sent =
        client.send(HttpMethod::Post, url, &headers, Bytes::from(body), std::time::Duration::from_secs(60)).await;
    let answer = match sent {
        Ok(answer) => answer,
        Err(e) => return failed(502, format!("the deployment did not answer: {e}")),
    };
    let status = answer.status;
    let kept: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(name, _)| name == "content-type" || name.starts_with("ms-azureml-model-"))
        .cloned()
        .collect();
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for (name, value) in kept {
        if let (Ok(name), Ok(value)) =
            (hyper::header::HeaderName::from_bytes(name.as_bytes()), hyper::header::HeaderValue::from_str(&value))
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Pass a registry call on; the registry's own upload locations point back at the front.
async fn proxy(
    method: &str,
    url: &str,
    backend: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let failed = |message: String| {
        let mut response = Response::new(Full::new(Bytes::from(message)));
        *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        response
    };
    let client = match loopback_client(std::time::Duration::from_secs(120)) {
        Ok(client) => client,
        Err(e) => return failed(e),
    };
    let Ok(method) = method.parse::<HttpMethod>() else {
        return failed(format!("bad method {method}"));
    };
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let answer = match client.send(method, url, &headers, Bytes::from(body), std::time::Duration::from_secs(120)).await
    {
        Ok(answer) => answer,
        Err(e) => return failed(format!("the registry behind did not answer: {e}")),
    };
    let status = answer.status;
    let kept: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(name, _)| {
            matches!(
                name.as_str(),
                "content-type"
                    | "location"
                    | "docker-content-digest"
                    | "range"
                    | "docker-upload-uuid"
                    | "content-length"
            )
        })
        .map(|(name, value)| {
            let value =
                if name == "location" { value.replace(&format!("http://{backend}"), "") } else { value.clone() };
            (name.clone(), value)
        })
        .collect();
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for (name, value) in kept {
        if name == "content-length" {
            continue;
        }
        if let (Ok(name), Ok(value)) =
            (hyper::header::HeaderName::from_bytes(name.as_bytes()), hyper::header::HeaderValue::from_str(&value))
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// 32 random bytes, hex: endpoint keys and tokens.
pub(crate) fn random_token() -> String {
    aml_client::ids::random_bytes::<32>()
        .map(|b| aml_client::digest::hex(&b))
        .unwrap_or_else(|_| format!("{}", jiff::Timestamp::now().as_nanosecond()))
}

/// `key=value&…` with percent-decoding (form bodies and query strings).
pub fn parse_form(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn arm_error(status: u16, code: &str, message: &str) -> arm::Answer {
    arm::Answer::Reply {
        status,
        headers: vec![("x-ms-request-id".into(), format!("emulator-{}", jiff::Timestamp::now().as_nanosecond()))],
        body: json!({"error": {"code": code, "message": message}}),
    }
}
