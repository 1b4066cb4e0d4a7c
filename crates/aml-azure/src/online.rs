//! Online endpoints and deployments on Azure ML (managed, and Kubernetes through `kubernetes`): PUTs followed to the end through
//! their long-running operations, the deployment's code and environment made as for jobs,
//! traffic and mirrored traffic set on the endpoint, the inference server's log through
//! `getLogs`, and the scoring URI with the credential its auth mode calls for.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use azure_core::http::Method;
use serde_json::{Value, json};

use super::AzureWorkspace;
use aml_core::error::{Error, Result};
use aml_core::model::VersionSelector;
use aml_core::online::DeployOptions;
use aml_core::online::{
    ApplyOutcome, Deployment, DeploymentState, Endpoint, EndpointAccess, JournalUpdate, TrafficChange, TrafficOutcome,
    check_mirror, check_traffic, same_split,
};
use aml_core::progress::Progress;
use aml_core::refs::ModelRef;
use aml_core::yaml::endpoint::{
    AuthMode, DeploymentModel, OnlineDeployment, OnlineEndpoint, OnlineKind, check_kind_matches, inline_model,
    missing_endpoint, scoring_code,
};

/// Deployments take minutes in Azure; an operation still running after this is reported, not awaited.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(45 * 60);

/// The audience of tokens for endpoints in `aad_token` mode.
pub(super) const ML_SCOPE: &str = "https://ml.azure.com/.default";

fn auth_mode_name(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::Key => "Key",
        AuthMode::AmlToken => "AMLToken",
        AuthMode::AadToken => "AADToken",
    }
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn percent_map(value: &Value) -> BTreeMap<String, u32> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

impl AzureWorkspace {
    fn endpoint_path(&self, name: &str) -> String {
        format!("{}/onlineEndpoints/{name}", self.prefix)
    }

    fn deployment_path(&self, endpoint: &str, name: &str) -> String {
        format!("{}/onlineEndpoints/{endpoint}/deployments/{name}", self.prefix)
    }

    async fn endpoint_resource(&self, name: &str) -> Result<Value> {
        self.arm.get_optional(&self.endpoint_path(name)).await?.ok_or_else(|| {
            Error::usage(
                format!("no endpoint named `{name}` in this workspace"),
                "`aml-deploy list` shows the endpoints; check `--workspace`",
            )
        })
    }

    async fn deployment_resources(&self, endpoint: &str) -> Result<Vec<Value>> {
        self.arm.list(&format!("{}/deployments", self.endpoint_path(endpoint))).await
    }

    async fn endpoint_view(&self, name: &str) -> Result<Endpoint> {
        let resource = self.endpoint_resource(name).await?;
        let deployments = self.deployment_resources(name).await?;
        Ok(endpoint_from_arm(&resource, &deployments))
    }

    /// PUT and follow the operation to its end, printing its status changes.
    pub(super) async fn put_and_wait(&self, what: &str, path: &str, body: &Value) -> Result<()> {
        let reply = self.arm.call(Method::Put, path, Some(body)).await?;
        aml_core::status!("{what}: {}", if reply.status == 201 { "creating" } else { "updating" });
        let progress = Progress::waiting(what, &self.settings);
        let mut last = String::new();
        let followed = self
            .arm
            .wait(what, &reply, OPERATION_TIMEOUT, &mut |status| {
                if status != last {
                    aml_core::status!("{what}: {status}");
                    last = status.to_string();
                }
                progress.set_status(status);
            })
            .await;
        progress.finish();
        followed
    }

    pub async fn apply_endpoint(&mut self, spec: &OnlineEndpoint) -> Result<(Endpoint, ApplyOutcome)> {
        aml_core::refs::check_name(&spec.name, "endpoint name")?;
        let path = self.endpoint_path(&spec.name);
        let existing: Option<Value> = self.arm.get_optional(&path).await?;
        let current = existing.as_ref().map(|e| &e["properties"]);
        let traffic: BTreeMap<String, u32> = spec.traffic.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mirror: BTreeMap<String, u32> = spec.mirror_traffic.iter().map(|(k, v)| (k.clone(), *v)).collect();
        // First: a Kubernetes endpoint's compute must be fit whatever else the file says.
        let compute = match spec.compute_name() {
            Some(name) => Some(self.kubernetes_compute(&spec.name, name, &mirror).await?),
            None => None,
        };
        if current.is_none() && (!traffic.is_empty() || !mirror.is_empty()) {
            return Err(Error::usage(
                format!("endpoint `{}` is new, so it has no deployments to give traffic to", spec.name),
                "remove `traffic:` for now; apply the deployments, then `aml-deploy traffic` or `rollout`",
            ));
        }
        // An endpoint file without `traffic:` leaves the split as it is.
        let traffic =
            if traffic.is_empty() { current.map(|c| percent_map(&c["traffic"])).unwrap_or_default() } else { traffic };
        let mirror = if mirror.is_empty() {
            current.map(|c| percent_map(&c["mirrorTraffic"])).unwrap_or_default()
        } else {
            mirror
        };
        if existing.is_some() && (!spec.traffic.is_empty() || !spec.mirror_traffic.is_empty()) {
            let live = self.live_deployments(&spec.name).await?;
            let live: Vec<&str> = live.iter().map(String::as_str).collect();
            check_traffic(&traffic, &live).map_err(|p| Error::usage(p, "fix `traffic:` in the endpoint file"))?;
            check_mirror(&traffic, &mirror, &live)
                .map_err(|p| Error::usage(p, "fix `mirror_traffic:` in the endpoint file"))?;
        }
        let tags: BTreeMap<&String, &String> = spec.tags.iter().collect();
        let own: BTreeMap<&String, &String> = spec.properties.iter().collect();
        let mut properties = json!({"authMode": auth_mode_name(spec.auth_mode), "traffic": traffic, "mirrorTraffic": mirror, "properties": own});
        if let Some(description) = &spec.description {
            properties["description"] = json!(description);
        }
        if let Some(compute) = &compute {
            properties["compute"] = json!(compute);
        }
        if let Some(current) = current {
            let same = ["authMode", "description", "traffic", "mirrorTraffic", "compute"]
                .iter()
                .all(|k| normalized(&current[*k]) == normalized(&properties[*k]))
                && normalized(&existing.as_ref().map(|e| e["tags"].clone()).unwrap_or(Value::Null))
                    == normalized(&json!(tags));
            if same {
                return Ok((self.endpoint_view(&spec.name).await?, ApplyOutcome::Unchanged));
            }
        }
        let body = match compute {
            // As azure-ai-ml sends a Kubernetes endpoint: no kind, a system-assigned identity.
            Some(_) => {
                json!({"location": self.location, "identity": {"type": "SystemAssigned"}, "tags": tags, "properties": properties})
            }
            None => json!({"location": self.location, "kind": "Managed", "tags": tags, "properties": properties}),
        };
        self.put_and_wait(&format!("endpoint {}", spec.name), &path, &body).await?;
        let outcome = if existing.is_some() { ApplyOutcome::Updated } else { ApplyOutcome::Created };
        Ok((self.endpoint_view(&spec.name).await?, outcome))
    }

    async fn live_deployments(&self, endpoint: &str) -> Result<Vec<String>> {
        Ok(self
            .deployment_resources(endpoint)
            .await?
            .iter()
            .filter(|d| d["properties"]["provisioningState"] == "Succeeded")
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect())
    }

    pub async fn apply_deployment(
        &mut self,
        file: &Path,
        spec: &OnlineDeployment,
        options: &DeployOptions,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        aml_core::refs::check_name(&spec.name, "deployment name")?;
        let code = scoring_code(file, spec)?;
        let environment = match (&spec.environment, &code) {
            (Some(environment), _) => Some(environment),
            // No code and no environment: Azure ML builds both from the MLflow model.
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::in_file(
                    file,
                    Some("environment"),
                    "is missing",
                    "give the environment (`image` and `conda_file`)",
                ));
            }
        };
        let endpoint = self
            .arm
            .get_optional::<Value>(&self.endpoint_path(&spec.endpoint_name))
            .await?
            .ok_or_else(|| missing_endpoint(file, spec))?;
        let variables: BTreeMap<&String, &String> = spec.environment_variables.iter().collect();
        let endpoint_compute = endpoint["properties"]["compute"].as_str();
        check_kind_matches(file, spec, endpoint_compute)?;
        let mut properties = match endpoint_compute {
            Some(compute) => {
                let mut kubernetes = self.kubernetes_properties(file, spec, compute).await?;
                kubernetes.insert("environmentVariables".into(), json!(variables));
                let own: BTreeMap<&String, &String> = spec.properties.iter().collect();
                kubernetes.insert("properties".into(), json!(own));
                Value::Object(kubernetes)
            }
            None => json!({
                "endpointComputeType": "Managed",
                "instanceType": spec.instance_type.clone().unwrap_or_else(|| "Standard_DS3_v2".into()),
                "environmentVariables": variables,
                "appInsightsEnabled": spec.app_insights_enabled.unwrap_or(false),
                "properties": spec.properties.iter().collect::<BTreeMap<&String, &String>>(),
            }),
        };
        // Written only now, once every check has passed: an inline model is registered here.
        let model = match &spec.model {
            None => None,
            Some(DeploymentModel::Registered(reference)) => Some(self.deployment_model_id(file, reference).await?),
            Some(DeploymentModel::Inline(inline)) => {
                let registered = self
                    .register_model_async(&inline_model(
                        file,
                        (&spec.endpoint_name, &spec.name),
                        inline,
                        options.requested_by.clone(),
                    )?)
                    .await?;
                let version = registered.version;
                Some(format!("{}/versions/{}", self.models_path(&version.name), version.version))
            }
        };
        if let Some((code_dir, scoring_script)) = &code {
            let code = self.ensure_code(code_dir).await?;
            properties["codeConfiguration"] = json!({"codeId": code.id, "scoringScript": scoring_script});
        }
        if let Some(environment) = environment {
            properties["environmentId"] = json!(self.ensure_environment(file, environment).await?);
        }
        if let Some(model) = &model {
            properties["model"] = json!(model);
        }
        if let Some(collector) = &spec.data_collector {
            properties["dataCollector"] = self.data_collector_body(&spec.endpoint_name, &spec.name, collector).await?;
        }
        if let Some(description) = &spec.description {
            properties["description"] = json!(description);
        }
        if let Some(settings) = &spec.request_settings {
            let mut request = serde_json::Map::new();
            if let Some(ms) = settings.request_timeout_ms {
                request.insert("requestTimeout".into(), json!(format!("PT{}S", ms as f64 / 1000.0)));
            }
            if let Some(n) = settings.max_concurrent_requests_per_instance {
                request.insert("maxConcurrentRequestsPerInstance".into(), json!(n));
            }
            if let (Some(ms), Some(_)) = (settings.max_queue_wait_ms, endpoint_compute) {
                request.insert("maxQueueWait".into(), json!(crate::iso::millis(ms)));
            }
            properties["requestSettings"] = Value::Object(request);
        }
        let tags: BTreeMap<&String, &String> = spec.tags.iter().collect();
        let body = match endpoint_compute {
            // As azure-ai-ml sends a Kubernetes deployment: no kind, a capacity only when given.
            Some(_) => {
                let mut sku = json!({"name": "Default"});
                if let Some(count) = spec.instance_count {
                    sku["capacity"] = json!(count);
                }
                json!({"location": self.location, "tags": tags, "sku": sku, "properties": properties})
            }
            // As azure-ai-ml sends a managed deployment: no kind (the compute type says it).
            None => json!({
                "location": self.location, "tags": tags,
                "sku": {"name": "Default", "capacity": spec.instance_count.unwrap_or(1)},
                "properties": properties,
            }),
        };
        let path = self.deployment_path(&spec.endpoint_name, &spec.name);
        let existing: Option<Value> = self.arm.get_optional(&path).await?;
        let unchanged = existing.as_ref().is_some_and(|current| {
            current["properties"]["provisioningState"] == "Succeeded"
                && [
                    "model",
                    "codeConfiguration",
                    "environmentId",
                    "instanceType",
                    "environmentVariables",
                    "containerResourceRequirements",
                    "scaleSettings",
                    "requestSettings",
                    "dataCollector",
                    "appInsightsEnabled",
                ]
                .iter()
                .all(|k| normalized(&current["properties"][*k]) == normalized(&body["properties"][*k]))
                && current["sku"]["capacity"] == body["sku"]["capacity"]
        });
        let outcome = match (&existing, unchanged) {
            (_, true) => ApplyOutcome::Unchanged,
            (Some(_), false) => ApplyOutcome::Updated,
            (None, false) => ApplyOutcome::Created,
        };
        if !unchanged {
            let what = format!("deployment {} of endpoint {}", spec.name, spec.endpoint_name);
            if let Err(error) = self.put_and_wait(&what, &path, &body).await {
                let log = self.logs(&spec.endpoint_name, &spec.name, 25).await.unwrap_or_default();
                return Err(Error::failed(
                    format!("{error}; last lines of its log:\n{}", log.trim_end()),
                    Some(format!("the whole log: `aml-deploy logs {} {}`", spec.endpoint_name, spec.name)),
                ));
            }
        }
        // As on the local workspace: the first deployment of an endpoint nobody serves from gets its traffic.
        let serving: u32 = percent_map(&endpoint["properties"]["traffic"]).values().sum();
        if options.all_traffic || (serving == 0 && !options.keep_traffic) {
            if serving == 0 && !options.all_traffic {
                aml_core::status!(
                    "endpoint {} served nothing: deployment {} gets 100% of its traffic",
                    spec.endpoint_name,
                    spec.name
                );
            }
            self.put_traffic(
                &spec.endpoint_name,
                Some(BTreeMap::from([(spec.name.to_string(), 100)])),
                None,
                JournalUpdate::Keep,
            )
            .await?;
        }
        Ok((self.endpoint_view(&spec.endpoint_name).await?, outcome))
    }

    /// `azureml:name:version` (or `@latest`) → the model version's ARM id, checked to exist.
    pub(super) async fn deployment_model_id(&self, file: &Path, reference: &str) -> Result<String> {
        let text = reference.strip_prefix("azureml:").unwrap_or(reference);
        if text.starts_with("/subscriptions/") {
            return Ok(text.to_string());
        }
        let parsed: ModelRef = text.parse().map_err(|_| {
            Error::in_file(
                file,
                Some("model"),
                format!("`{reference}` is not a model reference"),
                "write `azureml:<name>:<version>`",
            )
        })?;
        let version = match &parsed.selector {
            VersionSelector::Exact(version) => self.get_version(&parsed.name, version).await?,
            VersionSelector::Latest => self.latest_version(&parsed.name).await?,
            VersionSelector::Tag { key, value } => {
                self.all_versions(&parsed.name).await?.into_iter().find(|v| v.tags.get(key) == Some(value))
            }
        };
        let version = version.ok_or_else(|| {
            Error::in_file(
                file,
                Some("model"),
                format!("`{reference}` is not a model version of this workspace"),
                "`aml-register list` shows the models",
            )
        })?;
        Ok(format!("{}/versions/{}", self.models_path(&version.name), version.version))
    }

    async fn put_traffic(
        &self,
        name: &str,
        traffic: Option<BTreeMap<String, u32>>,
        mirror: Option<BTreeMap<String, u32>>,
        journal: JournalUpdate,
    ) -> Result<()> {
        let current = self.endpoint_resource(name).await?;
        let mut tags = current["tags"].clone();
        match journal {
            JournalUpdate::Keep => {}
            JournalUpdate::Set(rollout) => {
                let text = serde_json::to_string(&rollout).map_err(|e| Error::storage("cannot encode a rollout", e))?;
                // An Azure tag value holds 256 characters; a longer journal is not kept, and
                // an interrupted rollout then cannot be resumed (it can be rolled back by hand).
                if text.chars().count() <= 256 {
                    if !tags.is_object() {
                        tags = json!({});
                    }
                    tags[ROLLOUT_TAG] = Value::String(text);
                }
            }
            JournalUpdate::Clear => {
                if let Some(map) = tags.as_object_mut() {
                    map.remove(ROLLOUT_TAG);
                }
            }
        }
        let traffic = traffic.unwrap_or_else(|| percent_map(&current["properties"]["traffic"]));
        let mirror: BTreeMap<String, u32> = mirror
            .unwrap_or_else(|| percent_map(&current["properties"]["mirrorTraffic"]))
            .into_iter()
            .filter(|(_, p)| *p > 0)
            .collect();
        let live = self.live_deployments(name).await?;
        let live: Vec<&str> = live.iter().map(String::as_str).collect();
        check_traffic(&traffic, &live)
            .map_err(|p| Error::usage(p, "`aml-deploy show` lists the endpoint's running deployments"))?;
        check_mirror(&traffic, &mirror, &live)
            .map_err(|p| Error::usage(p, "mirror to a running deployment with 0% live traffic"))?;
        let mut properties =
            json!({"authMode": current["properties"]["authMode"], "traffic": traffic, "mirrorTraffic": mirror});
        for key in ["description", "properties", "compute"] {
            if !current["properties"][key].is_null() {
                properties[key] = current["properties"][key].clone();
            }
        }
        let mut body = json!({"location": current["location"].as_str().unwrap_or(&self.location), "tags": tags, "properties": properties});
        // A Kubernetes endpoint has no kind and keeps its identity, as azure-ai-ml sends it.
        for key in ["kind", "identity"] {
            if !current[key].is_null() {
                body[key] = current[key].clone();
            }
        }
        self.put_and_wait(&format!("traffic of endpoint {name}"), &self.endpoint_path(name), &body).await
    }

    /// A traffic change. With an expected split, the endpoint is read first and left alone
    /// if it differs; ARM offers no condition on a traffic PUT, so a change made between the
    /// read and the write is not seen (locally the endpoint's lock closes that gap).
    pub async fn change_traffic(&mut self, name: &str, change: TrafficChange) -> Result<TrafficOutcome> {
        if let Some((live, mirror)) = &change.expected {
            let found = self.endpoint_view(name).await?;
            if !same_split(&found.traffic, live) || !same_split(&found.mirror_traffic, mirror) {
                return Ok(TrafficOutcome::NotAsExpected(found));
            }
        }
        self.put_traffic(name, change.traffic, change.mirror, change.journal).await?;
        Ok(TrafficOutcome::Changed(self.endpoint_view(name).await?))
    }

    pub async fn endpoint(&self, name: &str) -> Result<Endpoint> {
        self.endpoint_view(name).await
    }

    pub async fn endpoints(&self) -> Result<Vec<Endpoint>> {
        let resources: Vec<Value> = self.arm.list(&format!("{}/onlineEndpoints", self.prefix)).await?;
        let mut endpoints = Vec::new();
        for resource in &resources {
            let name = resource["name"].as_str().unwrap_or_default();
            endpoints.push(endpoint_from_arm(resource, &self.deployment_resources(name).await?));
        }
        endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(endpoints)
    }

    /// The scoring URI and the credential its auth mode calls for: a key (`listKeys`), an
    /// Azure ML token (`token`), or an Entra token for Azure ML.
    pub async fn endpoint_access(&self, name: &str) -> Result<EndpointAccess> {
        let resource = self.endpoint_resource(name).await?;
        let props = &resource["properties"];
        let scoring_uri = props["scoringUri"].as_str().filter(|u| !u.is_empty()).ok_or_else(|| {
            Error::service(format!("endpoint `{name}` has no scoring URI yet ({})", props["provisioningState"]), None)
        })?;
        let path = self.endpoint_path(name);
        let key = match props["authMode"].as_str().unwrap_or("Key").to_ascii_lowercase().as_str() {
            "amltoken" => self.arm.post::<Value>(&format!("{path}/token"), None).await?["accessToken"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            "aadtoken" => self.identity.token(ML_SCOPE).await?.token.secret().to_string(),
            _ => self.arm.post::<Value>(&format!("{path}/listKeys"), None).await?["primaryKey"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        Ok(EndpointAccess { scoring_uri: scoring_uri.to_string(), key })
    }

    async fn logs(&self, endpoint: &str, deployment: &str, tail: usize) -> Result<String> {
        let body = json!({"containerType": "InferenceServer", "tail": tail});
        let logs: Value =
            self.arm.post(&format!("{}/getLogs", self.deployment_path(endpoint, deployment)), Some(&body)).await?;
        Ok(logs["content"].as_str().unwrap_or_default().to_string())
    }

    /// The inference server's log through `getLogs` (its last `tail` lines; 1000 when not said).
    pub async fn deployment_log(
        &self,
        endpoint: &str,
        deployment: &str,
        tail: Option<usize>,
    ) -> Result<(String, String)> {
        let deployments = self.deployment_resources(endpoint).await?;
        if !deployments.iter().any(|d| d["name"] == deployment) {
            let names: Vec<String> =
                deployments.iter().filter_map(|d| d["name"].as_str().map(|n| format!("`{n}`"))).collect();
            return Err(Error::usage(
                format!("endpoint `{endpoint}` has no deployment `{deployment}`"),
                format!("its deployments: {}", names.join(", ")),
            ));
        }
        let text = self.logs(endpoint, deployment, tail.unwrap_or(1000)).await?;
        Ok((format!("{}/getLogs", self.deployment_path(endpoint, deployment)), text))
    }

    pub(super) async fn delete_and_wait(&self, what: &str, path: &str) -> Result<()> {
        let reply = self.arm.call(Method::Delete, path, None).await?;
        aml_core::status!("{what}: deleting");
        let progress = Progress::waiting(what, &self.settings);
        let followed = self.arm.wait(what, &reply, OPERATION_TIMEOUT, &mut |status| progress.set_status(status)).await;
        progress.finish();
        followed
    }

    pub async fn delete_deployment(&mut self, endpoint: &str, deployment: &str) -> Result<()> {
        let current = self.endpoint_resource(endpoint).await?;
        let serving = |key: &str| percent_map(&current["properties"][key]).get(deployment).copied().unwrap_or(0) > 0;
        if serving("traffic") || serving("mirrorTraffic") {
            return Err(Error::usage(
                format!("deployment `{deployment}` still gets traffic"),
                format!("move its traffic first: `aml-deploy traffic {endpoint} <other>=100`"),
            ));
        }
        let path = self.deployment_path(endpoint, deployment);
        if self.arm.get_optional::<Value>(&path).await?.is_none() {
            return Err(Error::usage(
                format!("endpoint `{endpoint}` has no deployment `{deployment}`"),
                "`aml-deploy show` lists them",
            ));
        }
        self.delete_and_wait(&format!("deployment {deployment} of endpoint {endpoint}"), &path).await
    }

    pub async fn delete_endpoint(&mut self, name: &str) -> Result<()> {
        self.endpoint_resource(name).await?;
        self.delete_and_wait(&format!("endpoint {name}"), &self.endpoint_path(name)).await
    }
}

/// Null, `{}` and absent compare equal: the service fills empty maps in.
pub(super) fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.is_empty() => Value::Null,
        other => other.clone(),
    }
}

/// A model version's ARM id as `name:version`.
pub(super) fn model_of_id(id: &str) -> Option<String> {
    let at = id.find("/models/")?;
    match id[at + 8..].split('/').collect::<Vec<_>>().as_slice() {
        [model, "versions", version] => Some(format!("{model}:{version}")),
        _ => None,
    }
}

pub(super) fn deployment_state(text: &str) -> DeploymentState {
    match text {
        "Succeeded" => DeploymentState::Succeeded,
        "Creating" => DeploymentState::Creating,
        "Updating" | "Scaling" => DeploymentState::Updating,
        "Deleting" => DeploymentState::Deleting,
        _ => DeploymentState::Failed,
    }
}

/// The endpoint tag that holds a rollout in progress (`RolloutJournal`, as JSON).
const ROLLOUT_TAG: &str = "aml-deploy.rollout";

fn endpoint_from_arm(resource: &Value, deployments: &[Value]) -> Endpoint {
    let props = &resource["properties"];
    let name = resource["name"].as_str().unwrap_or_default().to_string();
    let auth_mode = match props["authMode"].as_str().unwrap_or("Key").to_ascii_lowercase().as_str() {
        "amltoken" => "aml_token",
        "aadtoken" => "aad_token",
        _ => "key",
    }
    .to_string();
    let mut deployments: Vec<Deployment> = deployments
        .iter()
        .map(|d| {
            let model = d["properties"]["model"].as_str().and_then(model_of_id);
            let state = d["properties"]["provisioningState"].as_str().unwrap_or("Failed");
            Deployment {
                name: d["name"].as_str().unwrap_or_default().to_string(),
                endpoint: name.clone(),
                model,
                model_digest: None,
                state: deployment_state(state),
                error: (state == "Failed")
                    .then(|| "the deployment failed in Azure ML; `aml-deploy logs` shows its log".to_string()),
                restarts: None,
                created_at: d["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
                updated_at: d["systemData"]["lastModifiedAt"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    deployments.sort_by(|a, b| a.name.cmp(&b.name));
    Endpoint {
        name,
        description: props["description"].as_str().map(str::to_owned),
        auth_mode,
        scoring_uri: props["scoringUri"].as_str().map(str::to_owned),
        traffic: percent_map(&props["traffic"]),
        mirror_traffic: percent_map(&props["mirrorTraffic"]).into_iter().filter(|(_, p)| *p > 0).collect(),
        deployments,
        tags: string_map(&resource["tags"]).into_iter().filter(|(k, _)| k != ROLLOUT_TAG).collect(),
        kind: match props["compute"].is_string() {
            true => OnlineKind::Kubernetes,
            false => OnlineKind::Managed,
        }
        .into(),
        default_deployment: None,
        compute: props["compute"].as_str().and_then(|id| id.rsplit('/').next()).map(str::to_owned),
        provisioning_state: props["provisioningState"].as_str().unwrap_or("Unknown").to_string(),
        created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
        updated_at: resource["systemData"]["lastModifiedAt"].as_str().unwrap_or_default().to_string(),
        changed_by: resource["systemData"]["lastModifiedBy"].as_str().map(str::to_owned),
        rollout: resource["tags"][ROLLOUT_TAG].as_str().and_then(|text| serde_json::from_str(text).ok()),
    }
}
