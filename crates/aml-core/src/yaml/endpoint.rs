//! Online endpoints and deployments as `az ml online-endpoint|online-deployment create` read
//! them (ManagedOnlineEndpointSchema, ManagedOnlineDeploymentSchema in azure-ai-ml).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use super::environment::EnvironmentRef;
use super::{OrderedMap, string_map};
use crate::error::{Error, Result};
use crate::names::{DeploymentName, EndpointName};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OnlineEndpoint {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: EndpointName,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    #[serde(default)]
    pub auth_mode: AuthMode,
    /// Deployment name → percent of traffic.
    #[serde(default)]
    pub traffic: OrderedMap<u32>,
    /// Deployment name → percent of traffic copied to it (answers ignored).
    #[serde(default)]
    pub mirror_traffic: OrderedMap<u32>,
    pub identity: Option<Value>,
    pub kind: Option<String>,
    pub public_network_access: Option<String>,
    pub location: Option<String>,
    pub compute: Option<String>,
}

impl OnlineEndpoint {
    /// Kubernetes when the endpoint names a compute (azure-ai-ml picks its schema so).
    pub fn kind(&self) -> OnlineKind {
        if self.compute.is_some() { OnlineKind::Kubernetes } else { OnlineKind::Managed }
    }

    /// The compute's name: `azureml:inferencecompute` → `inferencecompute`; an ARM id → its
    /// last segment.
    pub fn compute_name(&self) -> Option<&str> {
        let written = self.compute.as_deref()?.trim();
        let name = written.strip_prefix("azureml:").unwrap_or(written);
        Some(name.rsplit('/').next().unwrap_or(name))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    #[default]
    Key,
    AmlToken,
    AadToken,
}

/// As azure-ai-ml reads it (`StringTransformedEnum` with `camel_to_snake`): `key`, `Key`,
/// `KEY`, `aml_token`, `AMLToken`, `AadToken` are all accepted.
impl<'de> Deserialize<'de> for AuthMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match camel_to_snake(&text).as_str() {
            "key" => Ok(AuthMode::Key),
            "aml_token" => Ok(AuthMode::AmlToken),
            "aad_token" => Ok(AuthMode::AadToken),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not an auth mode; expected one of `key`, `aml_token`, `aad_token`"
            ))),
        }
    }
}

/// azure-ai-ml's `camel_to_snake`: `_` before a capital that starts a lower-case run, and
/// between a lower-case letter or digit and a capital; then lower case.
pub fn camel_to_snake(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let before = chars[i - 1];
            let starts_word = chars.get(i + 1).is_some_and(|next| next.is_ascii_lowercase());
            if before.is_ascii_lowercase() || before.is_ascii_digit() || (starts_word && before != '_') {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OnlineDeployment {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: DeploymentName,
    pub endpoint_name: EndpointName,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    /// `azureml:diabetes:3`, or an inline model (`{path: ./model}`) registered on the fly.
    pub model: Option<DeploymentModel>,
    pub model_mount_path: Option<String>,
    pub code_configuration: Option<CodeConfiguration>,
    pub environment: Option<EnvironmentRef>,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
    pub instance_type: Option<String>,
    #[serde(default, deserialize_with = "instance_count")]
    pub instance_count: Option<u32>,
    #[serde(rename = "type", default)]
    pub kind: OnlineKind,
    pub app_insights_enabled: Option<bool>,
    pub scale_settings: Option<ScaleSettings>,
    pub request_settings: Option<RequestSettings>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub data_collector: Option<super::data_collector::DataCollector>,
    pub egress_public_network_access: Option<String>,
    pub private_network_connection: Option<Value>,
    pub resources: Option<ResourceRequirements>,
}

/// Where an endpoint and its deployments run: Azure ML's managed compute, or a Kubernetes
/// cluster attached to the workspace (the endpoint's `compute:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineKind {
    #[default]
    Managed,
    Kubernetes,
}

/// As azure-ai-ml reads `type:` (`camel_to_snake`, so `Kubernetes` and `kubernetes` both).
impl<'de> Deserialize<'de> for OnlineKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match camel_to_snake(&text).as_str() {
            "managed" => Ok(OnlineKind::Managed),
            "kubernetes" => Ok(OnlineKind::Kubernetes),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a deployment type; expected `managed` or `kubernetes`"
            ))),
        }
    }
}

/// A Kubernetes deployment's container resources, as Kubernetes writes quantities
/// (`"0.5"`, `"200Mi"`, `"1Gi"`): strings, as azure-ai-ml requires them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequirements {
    pub requests: Option<ResourceSettings>,
    pub limits: Option<ResourceSettings>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSettings {
    pub cpu: Option<String>,
    pub memory: Option<String>,
    #[serde(alias = "nvidia.com/gpu")]
    pub gpu: Option<String>,
}

/// How a Kubernetes deployment scales: a fixed `instance_count`, or by utilization.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScaleSettings {
    Default,
    TargetUtilization {
        min_instances: Option<u32>,
        max_instances: Option<u32>,
        /// Seconds between two readings.
        polling_interval: Option<u64>,
        target_utilization_percentage: Option<u32>,
    },
}

impl<'de> Deserialize<'de> for ScaleSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Written {
            #[serde(rename = "type")]
            kind: String,
            min_instances: Option<u32>,
            max_instances: Option<u32>,
            polling_interval: Option<u64>,
            target_utilization_percentage: Option<u32>,
        }
        let written = Written::deserialize(deserializer)?;
        let utilization = written.min_instances.is_some()
            || written.max_instances.is_some()
            || written.polling_interval.is_some()
            || written.target_utilization_percentage.is_some();
        match camel_to_snake(&written.kind).as_str() {
            "default" if utilization => Err(serde::de::Error::custom(
                "`type: default` takes no other field; write `type: target_utilization` to scale by load",
            )),
            "default" => Ok(ScaleSettings::Default),
            "target_utilization" => Ok(ScaleSettings::TargetUtilization {
                min_instances: written.min_instances,
                max_instances: written.max_instances,
                polling_interval: written.polling_interval,
                target_utilization_percentage: written.target_utilization_percentage,
            }),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a scale type; expected `default` or `target_utilization`"
            ))),
        }
    }
}

/// A deployment runs on one instance at least.
fn instance_count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(deserializer)? {
        Some(0) => Err(serde::de::Error::custom("is 0; a deployment runs on 1 instance at least")),
        count => Ok(count),
    }
}

/// `model:` in a deployment: a registered reference, or an inline model asset (as `az ml`
/// writes a local folder: `model: {path: ./model}`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DeploymentModel {
    Registered(String),
    Inline(Box<super::model::ModelSpec>),
}

impl<'de> Deserialize<'de> for DeploymentModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ModelVisitor;
        impl<'de> serde::de::Visitor<'de> for ModelVisitor {
            type Value = DeploymentModel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`azureml:<name>:<version>` or a mapping with `path`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<DeploymentModel, E> {
                if !v.starts_with("azureml:") {
                    return Err(E::custom(format!(
                        "`{v}` is not a registered model; write `azureml:<name>:<version>`, or a local folder as a mapping: `model: {{path: {v}}}`"
                    )));
                }
                Ok(DeploymentModel::Registered(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<DeploymentModel, A::Error> {
                super::model::ModelSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|m| DeploymentModel::Inline(Box::new(m)))
            }
        }
        deserializer.deserialize_any(ModelVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CodeConfiguration {
    pub code: String,
    #[serde(deserialize_with = "script_in_code")]
    pub scoring_script: String,
}

/// The script is a file of the code folder: a path that leaves it (absolute, `..`) would
/// serve a file the deployment does not ship.
fn script_in_code<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    let script = String::deserialize(deserializer)?;
    let inside = !script.is_empty()
        && Path::new(&script)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if !inside {
        return Err(serde::de::Error::custom(format!(
            "`{script}` is not a path inside `code` (write it relative to the code folder, e.g. `score.py`)"
        )));
    }
    Ok(script)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSettings {
    pub request_timeout_ms: Option<u64>,
    pub max_concurrent_requests_per_instance: Option<u32>,
    pub max_queue_wait_ms: Option<u64>,
}

/// Probe timings in seconds, as Azure ML's ProbeSettings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub initial_delay: Option<u64>,
    pub period: Option<u64>,
    pub timeout: Option<u64>,
    pub success_threshold: Option<u32>,
    pub failure_threshold: Option<u32>,
}

/// A deployment file naming an endpoint the workspace does not have.
pub fn missing_endpoint(file: &Path, spec: &OnlineDeployment) -> Error {
    Error::in_file(
        file,
        Some("endpoint_name"),
        format!("endpoint `{}` does not exist in this workspace", spec.endpoint_name),
        "apply the endpoint file first (`aml-deploy apply -f endpoint.yml`)",
    )
}

/// A deployment's `type:` must match its endpoint: `kubernetes` on an endpoint with a
/// `compute:` (named here by its last path segment), `managed` on one without.
pub fn check_kind_matches(file: &Path, spec: &OnlineDeployment, endpoint_compute: Option<&str>) -> Result<()> {
    match (spec.kind, endpoint_compute) {
        (OnlineKind::Managed, Some(compute)) => Err(Error::in_file(
            file,
            Some("type"),
            format!(
                "endpoint `{}` runs on Kubernetes compute `{}`, so its deployments are `type: kubernetes`",
                spec.endpoint_name,
                compute.rsplit(['/', ':']).next().unwrap_or(compute)
            ),
            "write `type: kubernetes` (and `resources:` instead of a managed `instance_type`)",
        )),
        (OnlineKind::Kubernetes, None) => Err(Error::in_file(
            file,
            Some("type"),
            format!("endpoint `{}` is a managed endpoint: it names no Kubernetes `compute:`", spec.endpoint_name),
            "remove `type: kubernetes`, or deploy to an endpoint with `compute: azureml:<kubernetes compute>`",
        )),
        _ => Ok(()),
    }
}

/// A deployment with no scoring script, no model and no environment: nothing to serve.
pub fn nothing_to_serve(file: &Path) -> Error {
    Error::in_file(
        file,
        Some("code_configuration"),
        "is missing, and the deployment has no model or environment to serve without it",
        "add `code_configuration` (`code` and `scoring_script`), or a `model:` that is an MLflow model",
    )
}

/// A deployment's scoring code: its folder and its scoring script, checked to exist. None
/// when the deployment has no `code_configuration`: Azure ML then serves an MLflow model
/// with its own scoring script (a no-code deployment), or a custom container as it is.
pub fn scoring_code(file: &Path, spec: &OnlineDeployment) -> Result<Option<(PathBuf, String)>> {
    code_of(file, spec.code_configuration.as_ref())
}

/// A deployment's code folder and scoring script (online or batch), both checked.
pub fn code_of(file: &Path, code: Option<&CodeConfiguration>) -> Result<Option<(PathBuf, String)>> {
    let Some(code) = code else { return Ok(None) };
    let code_dir = super::resolve_path(file, &code.code);
    if !code_dir.join(&code.scoring_script).is_file() {
        return Err(Error::in_file(
            file,
            Some("code_configuration.scoring_script"),
            format!("`{}` is not a file in `{}`", code.scoring_script, code_dir.display()),
            "the scoring script is relative to `code_configuration.code`",
        ));
    }
    // A dangling link or a link loop in the code is found here, before anything is started.
    crate::tree::code_files(&code_dir).map_err(|e| match e {
        Error::BadInput(bad) => {
            Error::in_file(file, Some("code_configuration.code"), bad.problem, bad.hint.unwrap_or_default())
        }
        other => other,
    })?;
    Ok(Some((code_dir, code.scoring_script.clone())))
}

/// An inline `model: {path: …}` as the model version applying the deployment registers
/// (as `az ml` registers it): named `<endpoint>-<deployment>` unless it has a name.
pub fn inline_model(
    file: &Path,
    (endpoint, deployment): (&str, &str),
    inline: &super::model::ModelSpec,
    created_by: Option<String>,
) -> Result<crate::model::NewModelVersion> {
    use std::collections::BTreeMap;
    let written = inline.path.as_deref().ok_or_else(|| {
        Error::in_file(file, Some("model.path"), "is missing", "give the model's local file or folder")
    })?;
    let path = super::resolve_path(file, written);
    if !path.exists() {
        return Err(Error::in_file(
            file,
            Some("model.path"),
            format!("`{written}` does not exist (looked for `{}`)", path.display()),
            "paths are relative to the deployment file's folder",
        ));
    }
    Ok(crate::model::NewModelVersion {
        name: inline.name.clone().unwrap_or_else(|| format!("{endpoint}-{deployment}")),
        version: None,
        kind: inline.kind.unwrap_or(super::model::ModelType::CustomModel),
        description: Some(format!("registered by applying deployment `{deployment}`")),
        source: path.display().to_string(),
        source_path: path,
        tags: BTreeMap::from([("anonymous".to_string(), "true".to_string())]),
        properties: BTreeMap::new(),
        metrics: BTreeMap::new(),
        lineage: crate::model::Lineage { created_by, created_at: Some(crate::time::now()), ..Default::default() },
        force_new: false,
    })
}

#[cfg(test)]
mod tests {
    use super::camel_to_snake;

    #[test]
    fn auth_modes_read_as_azure_ai_ml_reads_them() {
        for (written, read) in [
            ("Key", "key"),
            ("KEY", "key"),
            ("key", "key"),
            ("AMLToken", "aml_token"),
            ("AmlToken", "aml_token"),
            ("aml_token", "aml_token"),
            ("AADToken", "aad_token"),
            ("aadToken", "aad_token"),
        ] {
            assert_eq!(camel_to_snake(written), read, "{written}");
        }
    }
}
