//! The azure backend: an Azure ML workspace through ARM (api-version 2025-12-01) and its
//! default datastore's blob storage, run history and MLflow. Every call is async and runs
//! on the caller's runtime.

pub mod arm;
mod assets;
pub mod audit;
mod batch;
pub mod blob;
pub mod code;
mod components;
mod data_assets;
mod data_collector;
pub mod deployments;
mod environments;
pub mod hash;
mod iso;
pub mod jobs;
mod kubernetes;
mod monitor;
pub mod online;
mod parallel;
mod pipelines;
mod sweeps;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use azure_core::credentials::Secret;
use serde_json::{Value, json};

use aml_core::digest::Digest;
use aml_core::error::{Error, Result};
use aml_core::model::{Lineage, ModelVersion, NewModelVersion, Registered, VersionSelector};
use aml_core::progress::Progress;
use aml_core::refs::ModelRef;
use aml_core::settings::{EnvVars, Settings};
use aml_core::yaml::model::ModelType;
pub use aml_http::error_chain;
use aml_http::pipeline::Retry;
use aml_http::transport::TransportOptions;
use arm::Arm;
use blob::{BlobOptions, Container, StorageAuth};

const DEFAULT_ARM: &str = "https://management.azure.com";

/// Resource Manager as these settings reach it: the endpoint (`AML_ARM_ENDPOINT`, https
/// only), the audience (`AML_ARM_SCOPE`) and the identity. No request is made.
pub(crate) fn connect(settings: &Settings) -> Result<(Arm, azure_core::http::Transport, aml_auth::Identity)> {
    let transport = aml_http::transport::transport(TransportOptions::service(std::time::Duration::from_secs(120)))?;
    let identity = aml_auth::identity(settings, &transport)?;
    let endpoint = settings.get(EnvVars::AML_ARM_ENDPOINT).unwrap_or(DEFAULT_ARM).to_string();
    if !endpoint.starts_with("https://") {
        return Err(Error::usage(
            format!("{}=`{endpoint}` is not https", EnvVars::AML_ARM_ENDPOINT),
            "Resource Manager is only reached over TLS",
        ));
    }
    // Sovereign clouds and emulators name their own audience.
    let scope = settings
        .get(EnvVars::AML_ARM_SCOPE)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}/.default", endpoint.trim_end_matches('/')));
    let arm = Arm::new(&endpoint, &scope, &identity, &transport, Retry::service(settings));
    Ok((arm, transport, identity))
}

pub struct AzureWorkspace {
    /// What this workspace's tools were started with.
    settings: Settings,
    /// Retries and block sizes of the datastores' blob calls.
    blob_options: BlobOptions,
    arm: Arm,
    transport: azure_core::http::Transport,
    subscription: String,
    resource_group: String,
    workspace: String,
    /// `/subscriptions/…/workspaces/W`
    prefix: String,
    /// The workspace's Azure region: endpoints and deployments are created there.
    location: String,
    identity: aml_auth::Identity,
    /// `properties.discoveryUrl`: where the data-plane hosts (run history) are named.
    discovery_url: Option<String>,
    /// `properties.mlFlowTrackingUri` (`azureml://…`): the MLflow API jobs' metrics are read from.
    tracking_uri: Option<String>,
    /// Downloaded job outputs and model files, removed when the workspace is dropped.
    scratch: aml_core::process::ScratchDirs,
}

/// A datastore's container, ready for blob calls.
struct Datastore {
    name: String,
    container: Container,
}

impl AzureWorkspace {
    /// Connect: pick the identity, then GET the workspace so a wrong name or a refused
    /// identity is reported before anything else is done.
    pub async fn open(
        subscription: &str,
        resource_group: &str,
        workspace: &str,
        settings: &Settings,
    ) -> Result<AzureWorkspace> {
        let (arm, transport, identity) = connect(settings)?;
        let prefix = format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
        );
        let found: Value = arm.get(&prefix).await?;
        let property = |name: &str| found["properties"][name].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(AzureWorkspace {
            location: found["location"].as_str().unwrap_or_default().to_string(),
            identity,
            discovery_url: property("discoveryUrl"),
            tracking_uri: property("mlFlowTrackingUri"),
            settings: settings.clone(),
            blob_options: BlobOptions::from_settings(settings),
            arm,
            transport,
            subscription: subscription.into(),
            resource_group: resource_group.into(),
            workspace: workspace.into(),
            prefix,
            scratch: Default::default(),
        })
    }

    /// Open `azureml://subscriptions/S/resourceGroups/G/workspaces/W`.
    pub async fn open_location(location: &str, settings: &Settings) -> Result<AzureWorkspace> {
        match location.parse::<aml_core::location::WorkspaceLocation>()? {
            aml_core::location::WorkspaceLocation::Azure { subscription, resource_group, workspace } => {
                AzureWorkspace::open(&subscription, &resource_group, &workspace, settings).await
            }
            other => Err(Error::usage(
                format!("`{other}` is not an Azure ML workspace"),
                "write `azureml://subscriptions/S/resourceGroups/G/workspaces/W`",
            )),
        }
    }

    pub fn location(&self) -> String {
        format!(
            "azureml://subscriptions/{}/resourceGroups/{}/workspaces/{}",
            self.subscription, self.resource_group, self.workspace
        )
    }

    async fn datastore(&self, name: &str) -> Result<Datastore> {
        let path = format!("{}/datastores/{name}", self.prefix);
        let store: Value = self.arm.get_optional(&path).await?.ok_or_else(|| {
            Error::service(
                format!("the workspace has no datastore `{name}`"),
                Some("Azure ML creates `workspaceblobstore` with the workspace; was it removed?".into()),
            )
        })?;
        let props = &store["properties"];
        if props["datastoreType"] != "AzureBlob" {
            return Err(Error::service(
                format!("datastore `{name}` is {}, not blob storage", props["datastoreType"]),
                None,
            ));
        }
        let account = props["accountName"].as_str().unwrap_or_default().to_string();
        let container = props["containerName"].as_str().unwrap_or_default().to_string();
        let endpoint = props["endpoint"].as_str().unwrap_or("core.windows.net");
        let protocol = props["protocol"].as_str().unwrap_or("https");
        // An identity-based datastore has no secret: storage takes the identity's own token.
        let auth = if props["credentials"]["credentialsType"] == "None" {
            StorageAuth::Token(self.identity.credential.clone())
        } else {
            let secrets: Value = self
                .arm
                .post(&format!("{path}/listSecrets"), Some(&json!({"expirableSecret": true, "expireAfterHours": 1})))
                .await?;
            match secrets["secretsType"].as_str() {
                Some("AccountKey") => {
                    StorageAuth::AccountKey(Secret::new(secrets["key"].as_str().unwrap_or_default().to_string()))
                }
                Some("Sas") => {
                    StorageAuth::Sas(Secret::new(secrets["sasToken"].as_str().unwrap_or_default().to_string()))
                }
                other => {
                    return Err(Error::service(
                        format!(
                            "datastore `{name}` gives {} credentials; this build reaches storage with an account key, a SAS or the identity's token",
                            other.unwrap_or("no")
                        ),
                        Some(
                            "give the datastore an account key or SAS, or make it identity-based (credentials: none)"
                                .into(),
                        ),
                    ));
                }
            }
        };
        let url = format!("{protocol}://{account}.blob.{endpoint}/{container}");
        Ok(Datastore {
            name: name.into(),
            container: Container::new(&account, &url, auth, &self.transport, self.blob_options)?,
        })
    }

    fn models_path(&self, name: &str) -> String {
        format!("{}/models/{name}", self.prefix)
    }

    pub async fn register_model(&mut self, new: &NewModelVersion) -> Result<Registered> {
        self.register_model_async(new).await
    }

    async fn register_model_async(&self, new: &NewModelVersion) -> Result<Registered> {
        let hashed = hash::hash_tree(&new.source_path)?;
        let digest = hashed.manifest.digest();
        let store = self.datastore("workspaceblobstore").await?;
        let place = LocalUpload::new(&new.source_path, &hashed);
        let marker = store.container.metadata(&place.indicator).await?;
        let completed =
            marker.as_ref().is_some_and(|m| m.get("upload_status").map(String::as_str) == Some("completed"));

        if !new.force_new
            && let Some(existing) = self.reusable(new, &digest, marker.as_ref()).await?
        {
            return Ok(Registered { version: existing, reused: true });
        }
        if let Some(version) = &new.version
            && let Some(existing) = self.get_version(&new.name, version).await?
        {
            if existing.digest == digest {
                return Ok(Registered { version: existing, reused: true });
            }
            return Err(Error::usage(
                format!(
                    "model `{}` already has a version `{version}` with other files ({})",
                    new.name, existing.digest
                ),
                "leave out `--version` to get the next one, or give a new version",
            ));
        }
        let total = hashed.manifest.total_size();
        if completed {
            aml_core::status!("the files are already in `{}` ({}); nothing to upload", store.name, place.folder);
        } else {
            aml_core::status!(
                "uploading {} file(s), {} to datastore `{}` …",
                hashed.files.len(),
                aml_core::cli::human_size(total),
                store.name
            );
            let progress = Progress::bytes(format!("uploading `{}`", new.name), total, &self.settings);
            let files: Vec<(PathBuf, String)> =
                hashed.files.iter().map(|(path, rel)| (path.clone(), place.blob_name(rel))).collect();
            store.container.upload_files(&files, &|bytes| progress.add(bytes)).await?;
            progress.finish();
        }
        let version = match &new.version {
            Some(v) => v.clone(),
            None => self.next_version(&new.name).await?,
        };
        let model_uri = format!(
            "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/{}/paths/{}",
            self.subscription,
            self.resource_group,
            self.workspace,
            store.name,
            place.path()
        );
        let mut properties: BTreeMap<String, String> = new.properties.clone();
        properties.insert("aml.digest".into(), digest.to_string());
        properties.insert("aml.size".into(), total.to_string());
        properties.insert("aml.file_count".into(), hashed.manifest.entries.len().to_string());
        properties.insert("aml.source".into(), new.source.clone());
        properties.insert("aml.metrics".into(), serde_json::to_string(&new.metrics).unwrap_or_default());
        properties.insert("aml.lineage".into(), serde_json::to_string(&new.lineage).unwrap_or_default());
        let mut body = json!({
            "properties": {
                "tags": new.tags,
                "properties": properties,
                "modelType": new.kind.as_str(),
                "modelUri": model_uri,
            }
        });
        if let Some(description) = &new.description {
            body["properties"]["description"] = json!(description);
        }
        if let Some(job) = &new.lineage.job {
            body["properties"]["jobName"] = json!(job);
        }
        let created: Value =
            self.arm.put(&format!("{}/versions/{version}", self.models_path(&new.name)), &body).await?;
        place.mark_completed(&store, &new.name, &version).await?;
        Ok(Registered { version: from_arm(&new.name, &created)?, reused: false })
    }

    /// The version an earlier upload of the same files registered under this name.
    async fn reusable(
        &self,
        new: &NewModelVersion,
        digest: &Digest,
        marker: Option<&BTreeMap<String, String>>,
    ) -> Result<Option<ModelVersion>> {
        let Some(marker) = marker else { return Ok(None) };
        if marker.get("name") != Some(&new.name) {
            return Ok(None);
        }
        let Some(version) = marker.get("version") else { return Ok(None) };
        if new.version.as_ref().is_some_and(|v| v != version) {
            return Ok(None);
        }
        Ok(self.get_version(&new.name, version).await?.filter(|v| &v.digest == digest))
    }

    async fn get_version(&self, name: &str, version: &str) -> Result<Option<ModelVersion>> {
        match self.arm.get_optional::<Value>(&format!("{}/versions/{version}", self.models_path(name))).await? {
            Some(resource) => from_arm(name, &resource).map(Some),
            None => Ok(None),
        }
    }

    async fn next_version(&self, name: &str) -> Result<String> {
        let container: Option<Value> = self.arm.get_optional(&self.models_path(name)).await?;
        let Some(container) = container else { return Ok("1".into()) };
        if let Some(next) = container["properties"]["nextVersion"].as_str() {
            return Ok(next.to_string());
        }
        let latest = container["properties"]["latestVersion"].as_str().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Ok((latest + 1).to_string())
    }

    /// The newest version, as the model's container records it: one GET, not a listing.
    async fn latest_version(&self, name: &str) -> Result<Option<ModelVersion>> {
        let container: Option<Value> = self.arm.get_optional(&self.models_path(name)).await?;
        match container.as_ref().and_then(|c| c["properties"]["latestVersion"].as_str()) {
            Some(version) => self.get_version(name, version).await,
            None if container.is_some() => Ok(self.all_versions(name).await?.into_iter().next()),
            None => Ok(None),
        }
    }

    async fn all_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let resources: Vec<Value> = self.arm.list(&format!("{}/versions", self.models_path(name))).await?;
        let mut versions = resources.iter().map(|r| from_arm(name, r)).collect::<Result<Vec<_>>>()?;
        versions.sort_by(|a, b| version_order(&b.version, &a.version));
        Ok(versions)
    }

    pub async fn find_model_version(&self, reference: &ModelRef) -> Result<Option<ModelVersion>> {
        match &reference.selector {
            VersionSelector::Exact(version) => self.get_version(&reference.name, version).await,
            VersionSelector::Latest => self.latest_version(&reference.name).await,
            VersionSelector::Tag { key, value } => {
                Ok(self.all_versions(&reference.name).await?.into_iter().find(|v| v.tags.get(key) == Some(value)))
            }
        }
    }

    pub async fn model_version(&self, reference: &ModelRef) -> Result<ModelVersion> {
        if let Some(found) = self.find_model_version(reference).await? {
            return Ok(found);
        }
        let versions = self.all_versions(&reference.name).await?;
        let what = match &reference.selector {
            VersionSelector::Tag { key, value } => {
                format!("no version of model `{}` has tag `{key}={value}`", reference.name)
            }
            _ if versions.is_empty() => format!("no model named `{}` in this workspace", reference.name),
            _ => format!("model `{}` has no version `{reference}`", reference.name),
        };
        let hint = if versions.is_empty() {
            "`aml-register list` shows every model".to_string()
        } else {
            format!(
                "newest versions: {}; `aml-register list {}` shows them all",
                versions.iter().take(5).map(|v| format!("`{}`", v.id())).collect::<Vec<_>>().join(", "),
                reference.name
            )
        };
        Err(Error::usage(what, hint))
    }

    pub async fn list_versions(&self, name: &str, limit: Option<u64>) -> Result<(Vec<ModelVersion>, u64)> {
        let mut versions = self.all_versions(name).await?;
        let total = versions.len() as u64;
        if let Some(limit) = limit {
            versions.truncate(limit as usize);
        }
        Ok((versions, total))
    }

    /// Every model's newest version.
    pub async fn list_models(&self) -> Result<Vec<ModelVersion>> {
        let containers: Vec<Value> = self.arm.list(&format!("{}/models", self.prefix)).await?;
        let mut newest = Vec::new();
        for container in containers {
            let Some(name) = container["name"].as_str() else { continue };
            let latest = match container["properties"]["latestVersion"].as_str() {
                Some(version) => self.get_version(name, version).await?,
                None => self.all_versions(name).await?.into_iter().next(),
            };
            newest.extend(latest);
        }
        newest.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(newest)
    }

    pub async fn update_tags(
        &mut self,
        version: &ModelVersion,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<ModelVersion> {
        self.change_tags(&version.name, &version.version, set, remove).await
    }

    async fn change_tags(
        &self,
        name: &str,
        version: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<ModelVersion> {
        {
            let path = format!("{}/versions/{version}", self.models_path(name));
            let current: Value = self.arm.get(&path).await?;
            let mut tags: BTreeMap<String, String> =
                serde_json::from_value(current["properties"]["tags"].clone()).unwrap_or_default();
            for key in remove {
                tags.remove(key);
            }
            tags.extend(set.clone());
            let body = writable_model_version(&current, &tags);
            let updated: Value = self.arm.put(&path, &body).await?;
            from_arm(name, &updated)
        }
    }

    pub async fn set_model_properties(&mut self, version: &ModelVersion, set: &BTreeMap<String, String>) -> Result<()> {
        let path = format!("{}/versions/{}", self.models_path(&version.name), version.version);
        let current: Value = self.arm.get(&path).await?;
        let tags: BTreeMap<String, String> =
            serde_json::from_value(current["properties"]["tags"].clone()).unwrap_or_default();
        let mut body = writable_model_version(&current, &tags);
        let mut properties: BTreeMap<String, String> =
            serde_json::from_value(body["properties"]["properties"].clone()).unwrap_or_default();
        properties.extend(set.clone());
        body["properties"]["properties"] = json!(properties);
        self.arm.put::<Value>(&path, &body).await.map(|_| ())
    }

    /// Download a version's files into `dir`; the copy must hash to the version's digest.
    pub async fn download_model(&self, version: &ModelVersion, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = format!("{}/versions/{}", self.models_path(&version.name), version.version);
        let resource: Value = self.arm.get(&path).await?;
        let uri = resource["properties"]["modelUri"].as_str().unwrap_or_default().to_string();
        let (datastore, prefix) = parse_datastore_uri(&uri).ok_or_else(|| {
            Error::service(
                format!("{} has modelUri `{uri}`, which this build cannot download", version.id()),
                Some("models registered from a datastore path are downloaded by this tool".into()),
            )
        })?;
        let store = self.datastore(&datastore).await?;
        let what = format!("downloading {}", version.id());
        let written = download_prefix(&store, &prefix, dir, &what, &self.settings).await?;
        let single =
            written.len() == 1 && written[0].file_name().is_some_and(|n| prefix.ends_with(&*n.to_string_lossy()));
        let copy = aml_core::tree::scan(if single { &written[0] } else { dir })?;
        if copy.digest() != version.digest {
            return Err(Error::failed(
                format!("the download of {} hashes to {}, not {}", version.id(), copy.digest(), version.digest),
                Some("download again; if it persists the stored files changed".into()),
            ));
        }
        Ok(written)
    }

    pub async fn model_files(&self, version: &ModelVersion) -> Result<Vec<(String, PathBuf)>> {
        let dir = self.scratch.create("aml-model")?;
        self.download_model(version, &dir).await?;
        aml_core::tree::list(&dir)
    }
}

/// Where azure-ai-ml uploads a local file or folder: `LocalUpload/<object hash>/<name>`,
/// with its `upload_status=completed` marker on the first file by local path.
struct LocalUpload {
    folder: String,
    basename: String,
    is_dir: bool,
    indicator: String,
}

impl LocalUpload {
    fn new(source: &Path, hashed: &hash::Hashed) -> LocalUpload {
        let basename = source
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "upload".into());
        let mut place = LocalUpload {
            folder: format!("LocalUpload/{}", hashed.object_hash),
            basename,
            is_dir: source.is_dir(),
            indicator: String::new(),
        };
        let mut by_local: Vec<&(PathBuf, String)> = hashed.files.iter().collect();
        by_local.sort_by(|a, b| a.0.cmp(&b.0));
        place.indicator = by_local.first().map(|(_, rel)| place.blob_name(rel)).unwrap_or_default();
        place
    }

    fn blob_name(&self, rel: &str) -> String {
        if self.is_dir { format!("{}/{}/{rel}", self.folder, self.basename) } else { format!("{}/{rel}", self.folder) }
    }

    /// The path in the datastore: the folder, or the single file.
    fn path(&self) -> String {
        format!("{}/{}", self.folder, self.basename)
    }

    async fn completed(&self, store: &Datastore) -> Result<bool> {
        let marker = store.container.metadata(&self.indicator).await?;
        Ok(marker.is_some_and(|m| m.get("upload_status").map(String::as_str) == Some("completed")))
    }

    async fn mark_completed(&self, store: &Datastore, name: &str, version: &str) -> Result<()> {
        let metadata: BTreeMap<String, String> = [("upload_status", "completed"), ("name", name), ("version", version)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        store.container.set_metadata(&self.indicator, &metadata).await
    }
}

/// Download every blob under `prefix` into `dir` (a single blob named `prefix` becomes
/// `dir/<its name>`); refuses names that would land outside `dir`.
/// Every blob under `prefix` into `dir`, with progress (`what`) for large downloads.
async fn download_prefix(
    store: &Datastore,
    prefix: &str,
    dir: &Path,
    what: &str,
    settings: &Settings,
) -> Result<Vec<PathBuf>> {
    let prefix = prefix.trim_end_matches('/');
    let listed = store.container.list_sized(prefix).await?;
    let listed: Vec<(String, u64)> =
        listed.into_iter().filter(|(n, _)| n == prefix || n.starts_with(&format!("{prefix}/"))).collect();
    let progress = Progress::bytes(what, listed.iter().map(|(_, size)| size).sum(), settings);
    let names: Vec<String> = listed.into_iter().map(|(name, _)| name).collect();
    if names.is_empty() {
        return Err(Error::service(format!("no files under `{prefix}` in datastore `{}`", store.name), None));
    }
    let single = names.len() == 1 && names[0] == prefix;
    let mut written = Vec::new();
    for name in &names {
        let rel = if single {
            name.rsplit('/').next().unwrap_or(name).to_string()
        } else {
            name.strip_prefix(&format!("{prefix}/")).unwrap_or(name).to_string()
        };
        if rel.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(Error::service(format!("blob `{name}` would land outside `{}`", dir.display()), None));
        }
        let target = dir.join(&rel);
        store.container.download(name, &target, &|bytes| progress.add(bytes)).await?;
        written.push(target);
    }
    progress.finish();
    Ok(written)
}

/// GET a public JSON document (the workspace's discovery URL) with no token.
async fn plain_get(transport: &azure_core::http::Transport, url: &str, retry: Retry) -> Result<Value> {
    use azure_core::http::{Context, PipelineSendOptions, Request};
    let pipeline = aml_http::pipeline::pipeline(transport, retry, Vec::new());
    let parsed =
        azure_core::http::Url::parse(url).map_err(|_| Error::service(format!("`{url}` is not a URL"), None))?;
    let mut request = Request::new(parsed, azure_core::http::Method::Get);
    request.insert_header("accept", "application/json");
    let send = PipelineSendOptions { skip_checks: true, ..Default::default() };
    let response = pipeline
        .send(&Context::new(), &mut request, Some(send))
        .await
        .map_err(|e| Error::service(format!("GET {} failed: {}", aml_http::strip_query(url), error_chain(&e)), None))?;
    let status = u16::from(response.status());
    if status != 200 {
        return Err(Error::service(format!("GET {}: HTTP {status}", aml_http::strip_query(url)), None));
    }
    serde_json::from_slice(&response.into_body())
        .map_err(|e| Error::service(format!("GET {}: not JSON ({e})", aml_http::strip_query(url)), None))
}

/// `azureml://subscriptions/…/datastores/<ds>/paths/<path>` or the short form → (datastore, path).
fn parse_datastore_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("azureml://")?;
    let at = rest.find("datastores/")?;
    let (datastore, path) = rest[at + "datastores/".len()..].split_once("/paths/")?;
    Some((datastore.to_string(), path.trim_end_matches('/').to_string()))
}

/// The fields of a model version a client may send back (read-only ones left out).
fn writable_model_version(current: &Value, tags: &BTreeMap<String, String>) -> Value {
    let mut properties = serde_json::Map::new();
    for key in [
        "description",
        "properties",
        "modelType",
        "modelUri",
        "jobName",
        "isAnonymous",
        "isArchived",
        "flavors",
        "stage",
    ] {
        if let Some(value) = current["properties"].get(key).filter(|v| !v.is_null()) {
            properties.insert(key.into(), value.clone());
        }
    }
    properties.insert("tags".into(), json!(tags));
    json!({ "properties": properties })
}

fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        _ => a.cmp(b),
    }
}

fn from_arm(name: &str, resource: &Value) -> Result<ModelVersion> {
    let props = &resource["properties"];
    let own: BTreeMap<String, String> = serde_json::from_value(props["properties"].clone()).unwrap_or_default();
    let digest = own
        .get("aml.digest")
        .and_then(|d| d.parse::<Digest>().ok())
        .unwrap_or_else(|| Digest::of_bytes(props["modelUri"].as_str().unwrap_or_default().as_bytes()));
    let kind = match props["modelType"].as_str() {
        Some("mlflow_model") => ModelType::MlflowModel,
        Some("triton_model") => ModelType::TritonModel,
        _ => ModelType::CustomModel,
    };
    let lineage: Lineage = own.get("aml.lineage").and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
    let metrics: BTreeMap<String, f64> =
        own.get("aml.metrics").and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
    let properties = own.iter().filter(|(k, _)| !k.starts_with("aml.")).map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok(ModelVersion {
        name: name.to_string(),
        version: resource["name"].as_str().unwrap_or_default().to_string(),
        digest,
        kind,
        description: props["description"].as_str().map(str::to_owned),
        source: own
            .get("aml.source")
            .cloned()
            .unwrap_or_else(|| props["modelUri"].as_str().unwrap_or_default().to_string()),
        size: own.get("aml.size").and_then(|s| s.parse().ok()).unwrap_or(0),
        file_count: own.get("aml.file_count").and_then(|s| s.parse().ok()).unwrap_or(0),
        tags: serde_json::from_value(props["tags"].clone()).unwrap_or_default(),
        properties,
        metrics,
        lineage,
        created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
        created_by: resource["systemData"]["createdBy"].as_str().map(str::to_owned),
    })
}
