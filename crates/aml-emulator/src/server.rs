//! The emulator's servers: ARM, the token endpoints and Databricks over TLS on one port,
//! each request answered from the `State` and handed on to the compute it starts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use aml_http::client::HttpMethod;

use crate::common::TENANT;
use crate::common::WORKSPACE;
use crate::common::blocking;
use crate::common::{
    ACR_HOST, Storage, databricks_schema, loopback_client, monitor_schema, oracle_schema, resources_schema, settings,
};
use crate::common::{CLIENT_ID, CLIENT_SECRET, RESOURCE_GROUP, SUBSCRIPTION};
use crate::resources::{Databricks, DatabricksRun, EXISTING_CLUSTER, MlflowRun};
use crate::state::{Answer, Fault, State};
use crate::{cluster, runner};

pub struct Emulator {
    pub port: u16,
    pub cert: PathBuf,
    /// The certificate's private key (PEM): Azurite in OAuth mode serves https with it.
    pub key: PathBuf,
    state: Arc<Mutex<State>>,
    /// The program that runs submitted jobs (`aml-train`, on a local workspace).
    compute: Arc<Mutex<Option<PathBuf>>>,
    _dir: tempfile::TempDir,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Emulator {
    pub fn start(storage: Option<Storage>) -> Result<Emulator, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let schema = crate::schema::Schema::load(&aml_client::testing::set_up(
            "the request schema generated from azure-ai-ml",
            &oracle_schema(),
        ))?;
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
        let databricks = Databricks::new(
            crate::schema::Schema::load(&aml_client::testing::set_up(
                "the request schema generated from databricks-sdk",
                &databricks_schema(),
            ))?,
            dir.path().join("databricks-driver"),
        );
        let monitor = crate::schema::Schema::load(&aml_client::testing::set_up(
            "the metrics schema generated from azure-mgmt-monitor",
            &monitor_schema(),
        ))?;
        let resources = crate::schema::Schema::load(&aml_client::testing::set_up(
            "the deployment schema generated from azure-mgmt-resource",
            &resources_schema(),
        ))?;
        let state = Arc::new(Mutex::new(State::new(
            crate::state::Oracles { ml: schema, monitor, resources },
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

    /// Attach a compute to the workspace: `compute_type` (`Kubernetes`, `AKS`, `AmlCompute`)
    /// and, for Kubernetes, its `properties` (`instanceTypes`, `defaultInstanceType`,
    /// `namespace`), as `az ml compute attach` leaves them.
    pub fn attach_compute(&self, name: &str, compute_type: &str, properties: Value) {
        let prefix = crate::common::workspace_id();
        let mut inner = serde_json::json!({"computeType": compute_type, "computeLocation": "westeurope", "provisioningState": "Succeeded"});
        if !properties.is_null() {
            inner["properties"] = properties;
        }
        let compute = serde_json::json!({
            "id": format!("{prefix}/computes/{name}"), "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/computes", "location": "westeurope",
            "properties": inner,
        });
        self.state().computes.insert(name.to_string(), compute);
    }

    /// An empty resource group, as an administrator makes one for a team.
    pub fn add_resource_group(&self, name: &str, location: &str) {
        let body = serde_json::json!({
            "id": format!("/subscriptions/{}/resourceGroups/{name}", crate::common::SUBSCRIPTION), "name": name,
            "type": "Microsoft.Resources/resourceGroups", "location": location, "properties": {"provisioningState": "Succeeded"}
        });
        self.state().infra.groups.insert(name.to_ascii_lowercase(), body);
    }

    /// Make the resource provider fail every deployment of `resource_type` with this error.
    pub fn fail_resource_type(&self, resource_type: &str, code: &str, message: &str) {
        self.state().infra.failing.insert(resource_type.to_ascii_lowercase(), (code.to_string(), message.to_string()));
    }

    /// What template deployments made, by lowercase id: ARM's reading of each resource.
    pub fn deployed_resources(&self) -> BTreeMap<String, Value> {
        self.state().infra.resources.iter().map(|(id, stored)| (id.clone(), stored.state.clone())).collect()
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
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
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
            None => format!("databricks:{}?cluster={}", self.url(), EXISTING_CLUSTER),
        }
    }

    /// One-time runs as submitted, with their state, by run id.
    pub fn databricks_runs(&self) -> BTreeMap<i64, DatabricksRun> {
        self.state().databricks.runs.clone()
    }

    /// MLflow runs the Databricks workspace holds, by run id.
    pub fn databricks_mlflow_runs(&self) -> BTreeMap<String, MlflowRun> {
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

async fn handle(
    state: Arc<Mutex<State>>,
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
        Answer::Reset => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset")),
        Answer::Forward { url, key, deployment, body } => Ok(forward(&url, &key, &deployment, body).await),
        Answer::Proxy { method, url, backend, headers, body } => {
            Ok(proxy(&method, &url, &backend, &headers, body).await)
        }
        Answer::Raw { status, content_type, body } => Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .map_err(std::io::Error::other),
        Answer::Reply { status, headers, body } => {
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
