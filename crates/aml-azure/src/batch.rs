//! Batch endpoints and model deployments on Azure ML, sent as azure-ai-ml sends them
//! (`BatchEndpoint._to_rest_batch_endpoint`, `ModelBatchDeployment._to_rest_object`): the
//! model, code and environment resolved or created first as for an online deployment, then
//! the resource PUT and its operation followed. Only what the file sets is sent; Azure ML
//! fills its defaults in.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::AzureWorkspace;
use super::online::normalized;
use aml_core::error::{Error, Result};
use aml_core::online::{ApplyOutcome, DeployOptions, Deployment, Endpoint, EndpointKind};
use aml_core::yaml::batch::{BatchDeployment, BatchEndpoint, ModelBatchDeployment, OutputAction};
use aml_core::yaml::endpoint::{AuthMode, DeploymentModel, inline_model};

impl AzureWorkspace {
    fn batch_endpoint_path(&self, name: &str) -> String {
        format!("{}/batchEndpoints/{name}", self.prefix)
    }

    fn batch_deployment_path(&self, endpoint: &str, name: &str) -> String {
        format!("{}/batchEndpoints/{endpoint}/deployments/{name}", self.prefix)
    }

    pub async fn is_batch_endpoint(&self, name: &str) -> Result<bool> {
        Ok(self.arm.get_optional::<Value>(&self.batch_endpoint_path(name)).await?.is_some())
    }

    async fn batch_endpoint_resource(&self, name: &str) -> Result<Value> {
        self.arm.get_optional(&self.batch_endpoint_path(name)).await?.ok_or_else(|| {
            Error::usage(
                format!("no batch endpoint named `{name}` in this workspace"),
                "`aml-deploy list` shows the endpoints; check `--workspace`",
            )
        })
    }

    pub async fn batch_endpoint(&self, name: &str) -> Result<Endpoint> {
        let resource = self.batch_endpoint_resource(name).await?;
        let deployments = self.arm.list(&format!("{}/deployments", self.batch_endpoint_path(name))).await?;
        Ok(batch_endpoint_from_arm(&resource, &deployments))
    }

    pub async fn batch_endpoints(&self) -> Result<Vec<Endpoint>> {
        let resources: Vec<Value> = self.arm.list(&format!("{}/batchEndpoints", self.prefix)).await?;
        let mut endpoints = Vec::new();
        for resource in &resources {
            let name = resource["name"].as_str().unwrap_or_default();
            let deployments = self.arm.list(&format!("{}/deployments", self.batch_endpoint_path(name))).await?;
            endpoints.push(batch_endpoint_from_arm(resource, &deployments));
        }
        Ok(endpoints)
    }

    pub async fn apply_batch_endpoint(
        &mut self,
        file: &Path,
        spec: &BatchEndpoint,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let path = self.batch_endpoint_path(&spec.name);
        let existing: Option<Value> = self.arm.get_optional(&path).await?;
        let default = spec.defaults.as_ref().and_then(|d| d.deployment_name.clone());
        if let Some(default) = &default {
            let known = self.arm.get_optional::<Value>(&self.batch_deployment_path(&spec.name, default)).await?;
            if known.is_none() {
                return Err(Error::in_file(
                    file,
                    Some("defaults.deployment_name"),
                    format!("batch endpoint `{}` has no deployment `{default}`", spec.name),
                    "apply the deployment first (leave `defaults` out: the first deployment becomes the default)",
                ));
            }
        }
        let body = batch_endpoint_body(spec, &self.location, default.as_deref());
        if let Some(current) = &existing {
            let same = ["authMode", "description", "properties"]
                .iter()
                .all(|k| same_text(&current["properties"][*k], &body["properties"][*k]))
                && (default.is_none() || current["properties"]["defaults"] == body["properties"]["defaults"])
                && normalized(&current["tags"]) == normalized(&body["tags"]);
            if same {
                return Ok((self.batch_endpoint(&spec.name).await?, ApplyOutcome::Unchanged));
            }
        }
        let mut body = body;
        // A file without `defaults` keeps the default deployment the endpoint has.
        if default.is_none()
            && let Some(current) = existing.as_ref().map(|e| &e["properties"]["defaults"]).filter(|d| d.is_object())
        {
            body["properties"]["defaults"] = current.clone();
        }
        self.put_and_wait(&format!("batch endpoint {}", spec.name), &path, &body).await?;
        let outcome = if existing.is_some() { ApplyOutcome::Updated } else { ApplyOutcome::Created };
        Ok((self.batch_endpoint(&spec.name).await?, outcome))
    }

    pub async fn apply_batch_deployment(
        &mut self,
        file: &Path,
        spec: &BatchDeployment,
        options: &DeployOptions,
    ) -> Result<(Endpoint, ApplyOutcome)> {
        let spec = match spec {
            BatchDeployment::Model(spec) => spec,
            BatchDeployment::Pipeline(_) => {
                return Err(Error::in_file(
                    file,
                    Some("type"),
                    "is `pipeline`: a pipeline-component deployment, which aml-deploy does not deploy yet",
                    "deploy it with `az ml batch-deployment create`",
                ));
            }
        };
        let endpoint =
            self.arm.get_optional::<Value>(&self.batch_endpoint_path(&spec.endpoint_name)).await?.ok_or_else(|| {
                Error::in_file(
                    file,
                    Some("endpoint_name"),
                    format!("there is no batch endpoint `{}` in this workspace", spec.endpoint_name),
                    "apply the endpoint file first (`aml-deploy apply -f endpoint.yml`)",
                )
            })?;
        let code = aml_core::yaml::endpoint::code_of(file, spec.code_configuration.as_ref())?;
        let environment = match (&spec.environment, &code) {
            (Some(environment), _) => Some(environment),
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
        let mut properties = settings_body(spec);
        if let Some(compute) = self.compute_id(spec.compute.as_deref())? {
            properties["compute"] = json!(compute);
        }
        // Written only now, once every check has passed: an inline model is registered here.
        let model = match &spec.model {
            None => None,
            Some(DeploymentModel::Registered(reference)) => Some(self.deployment_model_id(file, reference).await?),
            Some(DeploymentModel::Inline(inline)) => {
                let new = inline_model(file, (&spec.endpoint_name, &spec.name), inline, options.requested_by.clone())?;
                let version = self.register_model_async(&new).await?.version;
                Some(format!("{}/versions/{}", self.models_path(&version.name), version.version))
            }
        };
        if let Some(model) = &model {
            properties["model"] = json!({"assetId": model, "referenceType": "Id"});
        }
        if let Some((code_dir, scoring_script)) = &code {
            let code = self.ensure_code(code_dir).await?;
            properties["codeConfiguration"] = json!({"codeId": code.id, "scoringScript": scoring_script});
        }
        if let Some(environment) = environment {
            properties["environmentId"] = json!(self.ensure_environment(file, environment).await?);
        }
        if let Some(description) = &spec.description {
            properties["description"] = json!(description);
        }
        let tags: BTreeMap<&String, &String> = spec.tags.iter().collect();
        let body = json!({"location": self.location, "tags": tags, "properties": properties});
        let path = self.batch_deployment_path(&spec.endpoint_name, &spec.name);
        let existing: Option<Value> = self.arm.get_optional(&path).await?;
        // What the file sets is compared; what it leaves out is the service's default.
        let unchanged = existing.as_ref().is_some_and(|current| {
            current["properties"]["provisioningState"] == "Succeeded"
                && body["properties"]
                    .as_object()
                    .is_some_and(|sent| sent.iter().all(|(k, v)| same_text(&current["properties"][k], v)))
                && normalized(&current["tags"]) == normalized(&body["tags"])
        });
        if !unchanged {
            let what = format!("batch deployment {} of endpoint {}", spec.name, spec.endpoint_name);
            self.put_and_wait(&what, &path, &body).await?;
        }
        let has_default = endpoint["properties"]["defaults"]["deploymentName"].as_str().is_some_and(|d| !d.is_empty());
        if options.all_traffic || !has_default {
            let default = endpoint["properties"]["defaults"]["deploymentName"].as_str();
            if default != Some(spec.name.as_str()) {
                aml_core::status!(
                    "deployment {} is the default deployment of batch endpoint {}",
                    spec.name,
                    spec.endpoint_name
                );
                let mut body = json!({
                    "location": self.location,
                    "tags": endpoint["tags"].clone(),
                    "properties": {
                        "authMode": endpoint["properties"]["authMode"].clone(),
                        "defaults": {"deploymentName": spec.name.to_string()},
                        "properties": endpoint["properties"]["properties"].clone(),
                    },
                });
                if let Some(description) = endpoint["properties"]["description"].as_str() {
                    body["properties"]["description"] = json!(description);
                }
                let what = format!("batch endpoint {}", spec.endpoint_name);
                self.put_and_wait(&what, &self.batch_endpoint_path(&spec.endpoint_name), &body).await?;
            }
        }
        let outcome = match (&existing, unchanged) {
            (_, true) => ApplyOutcome::Unchanged,
            (Some(_), false) => ApplyOutcome::Updated,
            (None, false) => ApplyOutcome::Created,
        };
        Ok((self.batch_endpoint(&spec.endpoint_name).await?, outcome))
    }

    pub async fn delete_batch_deployment(&mut self, endpoint: &str, deployment: &str) -> Result<()> {
        let current = self.batch_endpoint_resource(endpoint).await?;
        let path = self.batch_deployment_path(endpoint, deployment);
        if self.arm.get_optional::<Value>(&path).await?.is_none() {
            return Err(Error::usage(
                format!("batch endpoint `{endpoint}` has no deployment `{deployment}`"),
                "`aml-deploy show` lists them",
            ));
        }
        if current["properties"]["defaults"]["deploymentName"].as_str() == Some(deployment) {
            return Err(Error::usage(
                format!("deployment `{deployment}` is the default deployment of batch endpoint `{endpoint}`"),
                "make another the default first: `aml-deploy apply -f endpoint.yml --set defaults.deployment_name=OTHER`",
            ));
        }
        self.delete_and_wait(&format!("batch deployment {deployment} of endpoint {endpoint}"), &path).await
    }

    pub async fn delete_batch_endpoint(&mut self, name: &str) -> Result<()> {
        self.batch_endpoint_resource(name).await?;
        self.delete_and_wait(&format!("batch endpoint {name}"), &self.batch_endpoint_path(name)).await
    }
}

/// As `_to_rest_batch_endpoint` writes it: Entra tokens unless the file says otherwise.
fn batch_endpoint_body(spec: &BatchEndpoint, location: &str, default: Option<&str>) -> Value {
    let auth = match spec.auth_mode {
        AuthMode::Key => "key",
        AuthMode::AmlToken => "amlToken",
        AuthMode::AadToken => "aadToken",
    };
    let own: BTreeMap<&String, &String> = spec.properties.iter().collect();
    let tags: BTreeMap<&String, &String> = spec.tags.iter().collect();
    let mut properties = json!({"authMode": auth, "properties": own});
    if let Some(description) = &spec.description {
        properties["description"] = json!(description);
    }
    if let Some(default) = default {
        properties["defaults"] = json!({"deploymentName": default});
    }
    json!({"location": location, "tags": tags, "properties": properties})
}

/// The run settings the file sets, by their REST names, as `ModelBatchDeployment._to_rest_object`
/// sends them (from `settings:`, or the older schema's top level).
fn settings_body(spec: &ModelBatchDeployment) -> Value {
    let settings = spec.settings.clone().unwrap_or_default();
    let mut body = serde_json::Map::new();
    let own: BTreeMap<&String, &String> = spec.properties.iter().collect();
    body.insert("properties".into(), json!(own));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.into(), value);
        }
    };
    put("outputFileName", settings.output_file_name.clone().or_else(|| spec.output_file_name.clone()).map(Value::from));
    put(
        "outputAction",
        settings.output_action.or(spec.output_action).map(|a| match a {
            OutputAction::AppendRow => json!("AppendRow"),
            OutputAction::SummaryOnly => json!("SummaryOnly"),
        }),
    );
    put("errorThreshold", settings.error_threshold.or(spec.error_threshold).map(Value::from));
    put("loggingLevel", settings.logging_level.clone().or_else(|| spec.logging_level.clone()).map(Value::from));
    put("miniBatchSize", settings.mini_batch_size.or(spec.mini_batch_size).map(Value::from));
    put(
        "maxConcurrencyPerInstance",
        settings.max_concurrency_per_instance.or(spec.max_concurrency_per_instance).map(Value::from),
    );
    if let Some(retry) = settings.retry_settings.as_ref().or(spec.retry_settings.as_ref()) {
        let mut rest = serde_json::Map::new();
        if let Some(n) = retry.max_retries {
            rest.insert("maxRetries".into(), json!(n));
        }
        if let Some(seconds) = retry.timeout {
            rest.insert("timeout".into(), json!(super::iso::seconds(u64::try_from(seconds).unwrap_or(0))));
        }
        body.insert("retrySettings".into(), Value::Object(rest));
    }
    let variables: BTreeMap<&String, &String> = settings.environment_variables.iter().collect();
    if !variables.is_empty() {
        body.insert("environmentVariables".into(), json!(variables));
    }
    if let Some(resources) = &spec.resources {
        let mut rest = serde_json::Map::new();
        if let Some(count) = resources.instance_count {
            rest.insert("instanceCount".into(), json!(count));
        }
        if let Some(kind) = &resources.instance_type {
            rest.insert("instanceType".into(), json!(kind));
        }
        rest.insert("properties".into(), resources.properties.clone().map(yaml_to_json).unwrap_or(json!({})));
        body.insert("resources".into(), Value::Object(rest));
    }
    Value::Object(body)
}

fn yaml_to_json(value: yaml_serde::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Equal as the service compares: enums and levels case-insensitively, empty maps as absent.
fn same_text(current: &Value, sent: &Value) -> bool {
    match (current, sent) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Object(a), Value::Object(b)) if !a.is_empty() || !b.is_empty() => {
            a.len() == b.len() && b.iter().all(|(k, v)| same_text(&a.get(k).cloned().unwrap_or(Value::Null), v))
        }
        _ => normalized(current) == normalized(sent),
    }
}

fn batch_endpoint_from_arm(resource: &Value, deployments: &[Value]) -> Endpoint {
    let props = &resource["properties"];
    let name = resource["name"].as_str().unwrap_or_default().to_string();
    let mut deployments: Vec<Deployment> = deployments
        .iter()
        .map(|d| {
            let model = d["properties"]["model"]["assetId"].as_str().and_then(super::online::model_of_id);
            let state = d["properties"]["provisioningState"].as_str().unwrap_or("Failed");
            Deployment {
                name: d["name"].as_str().unwrap_or_default().to_string(),
                endpoint: name.clone(),
                model,
                model_digest: None,
                state: super::online::deployment_state(state),
                error: None,
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
        auth_mode: "aad_token".into(),
        scoring_uri: props["scoringUri"].as_str().map(str::to_owned),
        traffic: BTreeMap::new(),
        mirror_traffic: BTreeMap::new(),
        deployments,
        tags: serde_json::from_value(resource["tags"].clone()).unwrap_or_default(),
        kind: EndpointKind::Batch,
        default_deployment: props["defaults"]["deploymentName"].as_str().map(str::to_owned),
        compute: None,
        provisioning_state: props["provisioningState"].as_str().unwrap_or("Unknown").to_string(),
        created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
        updated_at: resource["systemData"]["lastModifiedAt"].as_str().unwrap_or_default().to_string(),
        changed_by: resource["systemData"]["lastModifiedBy"].as_str().map(str::to_owned),
        rollout: None,
    }
}

/// How long the scoring URI may take to answer an invocation (it only starts the job).
const INVOKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

impl AzureWorkspace {
    /// Invoke a batch endpoint as `BatchEndpointOperations.invoke` does — a local input
    /// uploaded first, a POST to the scoring URI with an Entra token for Azure ML — then
    /// follow the job it starts as `aml-train run` follows a job.
    pub async fn invoke_batch(
        &mut self,
        invocation: &aml_core::online::BatchInvocation,
        input: &aml_core::jobplan::InputPlan,
        options: &aml_core::jobs::RunOptions,
    ) -> Result<aml_core::jobs::RunResult> {
        let endpoint = self.batch_endpoint_resource(&invocation.endpoint).await?;
        let deployment = match &invocation.deployment {
            Some(named) => named.clone(),
            None => {
                endpoint["properties"]["defaults"]["deploymentName"].as_str().map(str::to_owned).ok_or_else(|| {
                    Error::usage(
                        format!("batch endpoint `{}` has no default deployment", invocation.endpoint),
                        "name one with `--deployment`, or apply a deployment (the first becomes the default)",
                    )
                })?
            }
        };
        if self
            .arm
            .get_optional::<Value>(&self.batch_deployment_path(&invocation.endpoint, &deployment))
            .await?
            .is_none()
        {
            return Err(Error::usage(
                format!("batch endpoint `{}` has no deployment `{deployment}`", invocation.endpoint),
                "`aml-deploy show ENDPOINT` lists its deployments",
            ));
        }
        let body = self.invocation_body(invocation, input, options).await?;
        let scoring_uri = endpoint["properties"]["scoringUri"].as_str().ok_or_else(|| {
            Error::service(format!("batch endpoint `{}` has no scoring URI yet", invocation.endpoint), None)
        })?;
        let token = self.identity.token(super::online::ML_SCOPE).await?;
        let authorization = format!("Bearer {}", token.token.secret());
        let request_id = aml_core::ids::uuid4()?;
        let mut headers = vec![
            ("content-type", "application/json"),
            ("authorization", authorization.as_str()),
            ("repeatability_request-id", request_id.as_str()),
        ];
        if invocation.deployment.is_some() {
            headers.push((aml_core::online::DEPLOYMENT_HEADER, deployment.as_str()));
        }
        let client = aml_http::client::Client::new(
            aml_http::transport::TransportOptions::service(INVOKE_TIMEOUT),
            aml_http::pipeline::Retry::Never,
        )?;
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::storage("cannot encode the invocation", e))?;
        let answer =
            client.send(azure_core::http::Method::Post, scoring_uri, &headers, bytes.into(), INVOKE_TIMEOUT).await?;
        let started: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if !(200..300).contains(&answer.status) {
            let message = started["error"]["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).chars().take(300).collect::<String>());
            return Err(Error::service(
                format!("invoking batch endpoint `{}`: HTTP {}: {message}", invocation.endpoint, answer.status),
                None,
            ));
        }
        let name = started["name"].as_str().ok_or_else(|| {
            Error::service(format!("invoking batch endpoint `{}` answered no job name", invocation.endpoint), None)
        })?;
        aml_core::status!("job {name} started by batch endpoint {} (deployment {deployment})", invocation.endpoint);
        let last = self.follow(name, false).await?;
        let job = self.job_from_arm(&last).await?;
        Ok(aml_core::jobs::RunResult { job, steps: Vec::new() })
    }

    /// The body `BatchJobSchema` makes: the input by URI (a local one uploaded first, a
    /// folder's with a trailing `/`), the job's name, and the settings this invocation sets.
    async fn invocation_body(
        &self,
        invocation: &aml_core::online::BatchInvocation,
        input: &aml_core::jobplan::InputPlan,
        options: &aml_core::jobs::RunOptions,
    ) -> Result<Value> {
        use aml_core::jobplan::{DataSource, InputPlan};
        use aml_core::refs::DataRef;
        use aml_core::yaml::io::AssetType;
        let InputPlan::Data { kind, source: DataSource::Path(path), written } = input else {
            return Err(Error::usage("--input names no data", "give a folder, a file or a datastore path"));
        };
        let uri = match DataRef::parse(written) {
            DataRef::LocalPath(_) => {
                let uploaded = self.upload_input(path).await?;
                if *kind == AssetType::UriFolder { format!("{}/", uploaded.trim_end_matches('/')) } else { uploaded }
            }
            DataRef::Registered(name) => {
                return Err(Error::usage(
                    format!("--input `{name}` is a registered data asset, which aml-deploy does not resolve yet"),
                    "give its datastore path (`azureml://datastores/NAME/paths/PATH`) or a local folder",
                ));
            }
            DataRef::Datastore { .. } | DataRef::JobOutput { .. } | DataRef::Remote(_) => written.clone(),
        };
        let rest_kind = if *kind == AssetType::UriFile { "UriFile" } else { "UriFolder" };
        let mut properties = serde_json::Map::new();
        properties.insert("inputData".into(), json!({rest_kind: {"jobInputType": rest_kind, "uri": uri}}));
        if let Some(name) = &options.name {
            properties.insert("name".into(), json!(name));
        }
        if let Some((datastore, path)) = &invocation.output_path {
            let uri = format!("azureml://datastores/{datastore}/paths/{path}");
            properties.insert("outputData".into(), json!({"score": {"jobOutputType": "UriFolder", "uri": uri}}));
        }
        let mut retry = serde_json::Map::new();
        for (setting, value) in &invocation.sets {
            let setting = setting.strip_prefix("settings.").unwrap_or(setting);
            // Checked as the local backend checks them.
            aml_core::yaml::batch::BatchRunSettings::default().set(setting, value)?;
            let number = || value.trim().parse::<i64>().unwrap_or_default();
            match setting {
                "mini_batch_size" => properties.insert("miniBatchSize".into(), json!(number())),
                "error_threshold" => properties.insert("errorThreshold".into(), json!(number())),
                "output_file_name" => properties.insert("outputFileName".into(), json!(value)),
                "max_retries" => retry.insert("maxRetries".into(), json!(number())),
                "timeout" => {
                    retry.insert("timeout".into(), json!(super::iso::seconds(u64::try_from(number()).unwrap_or(0))))
                }
                other => {
                    return Err(Error::usage(
                        format!("`{other}` is the deployment's on Azure ML: an invocation does not change it"),
                        "give mini_batch_size, error_threshold, output_file_name, max_retries or timeout, or apply the deployment with the setting changed",
                    ));
                }
            };
        }
        if !retry.is_empty() {
            properties.insert("retrySettings".into(), Value::Object(retry));
        }
        Ok(json!({"properties": properties}))
    }
}
