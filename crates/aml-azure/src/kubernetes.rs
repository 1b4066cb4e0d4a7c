//! Kubernetes online endpoints and deployments on Azure ML. The endpoint names a Kubernetes
//! compute attached to the workspace; each deployment is sent as azure-ai-ml's
//! `KubernetesOnlineDeployment._to_rest_object` writes it. What the service would refuse
//! minutes later — a missing or v1 AKS compute, an instance type the compute does not offer,
//! requests above limits or limits above the instance type's, mirror traffic, registry
//! references — is refused here, naming the field, before anything is written.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use aml_core::error::{Error, Result};
use aml_core::yaml::endpoint::{DeploymentModel, OnlineDeployment, ResourceSettings, ScaleSettings};
use aml_core::yaml::environment::EnvironmentRef;
use aml_core::yaml::quantity::{Resource, Resources, quantity};

use super::AzureWorkspace;

/// The instance type the service creates when a cluster is attached, and its documented
/// resources (Azure ML, "Create and manage instance types").
const DEFAULT_INSTANCE_TYPE: &str = "defaultinstancetype";
const DEFAULT_INSTANCE_LIMITS: (&str, &str) = ("2", "2Gi");

impl AzureWorkspace {
    /// The ARM id of an endpoint's compute, checked to be a Kubernetes compute of the
    /// workspace; a Kubernetes endpoint takes no mirror traffic.
    pub(super) async fn kubernetes_compute(
        &self,
        endpoint: &str,
        name: &str,
        mirror: &BTreeMap<String, u32>,
    ) -> Result<String> {
        if mirror.values().any(|p| *p > 0) {
            return Err(Error::usage(
                format!("endpoint `{endpoint}`, field `mirror_traffic`: a Kubernetes endpoint cannot mirror traffic"),
                "remove `mirror_traffic:`; mirroring is offered by managed endpoints only",
            ));
        }
        aml_core::names::ComputeName::new(name).map_err(|e| {
            Error::usage(format!("endpoint `{endpoint}`, field `compute`: {e}"), "write `compute: azureml:<name>`")
        })?;
        let path = format!("{}/computes/{name}", self.prefix);
        let compute: Value = self.arm.get_optional(&path).await?.ok_or_else(|| {
            Error::usage(
                format!("endpoint `{endpoint}`, field `compute`: the workspace has no compute named `{name}`"),
                "attach the cluster with the Azure ML extension (`az ml compute attach --type Kubernetes`), or fix the name",
            )
        })?;
        match compute["properties"]["computeType"].as_str().unwrap_or_default() {
            "Kubernetes" => Ok(compute["id"].as_str().map(str::to_owned).unwrap_or(path)),
            "AKS" => Err(Error::usage(
                format!(
                    "endpoint `{endpoint}`, field `compute`: `{name}` is an AKS inference cluster (v1); online endpoints no longer run on it"
                ),
                "install the Azure ML extension on the cluster and attach it as a Kubernetes compute (`az ml compute attach --type Kubernetes`)",
            )),
            other => Err(Error::usage(
                format!("endpoint `{endpoint}`, field `compute`: `{name}` is a {other} compute, not a Kubernetes one"),
                "name a Kubernetes compute, or remove `compute:` for a managed endpoint",
            )),
        }
    }

    /// A Kubernetes deployment's properties, as azure-ai-ml sends them, after checking the
    /// deployment against its endpoint's compute.
    pub(super) async fn kubernetes_properties(
        &self,
        file: &Path,
        spec: &OnlineDeployment,
        compute_id: &str,
    ) -> Result<Map<String, Value>> {
        refuse_registry_references(file, spec)?;
        let compute: Value = self.arm.get_optional(compute_id).await?.ok_or_else(|| {
            Error::in_file(
                file,
                Some("endpoint_name"),
                format!("the endpoint's compute `{}` no longer exists", compute_id.rsplit('/').next().unwrap_or("")),
                "attach the cluster again, or apply the endpoint with another `compute:`",
            )
        })?;
        check_instance_type(file, spec, &compute["properties"]["properties"])?;

        let mut properties = Map::new();
        properties.insert("endpointComputeType".into(), json!("Kubernetes"));
        properties.insert("appInsightsEnabled".into(), json!(spec.app_insights_enabled.unwrap_or(false)));
        if let Some(instance_type) = &spec.instance_type {
            properties.insert("instanceType".into(), json!(instance_type));
        }
        if let Some(resources) = &spec.resources {
            let mut requirements = Map::new();
            if let Some(requests) = &resources.requests {
                requirements.insert("containerResourceRequests".into(), settings_body(requests));
            }
            if let Some(limits) = &resources.limits {
                requirements.insert("containerResourceLimits".into(), settings_body(limits));
            }
            properties.insert("containerResourceRequirements".into(), Value::Object(requirements));
        }
        if let Some(scale) = &spec.scale_settings {
            properties.insert("scaleSettings".into(), scale_body(scale));
        }
        for (key, probe) in [("livenessProbe", &spec.liveness_probe), ("readinessProbe", &spec.readiness_probe)] {
            if let Some(probe) = probe {
                let mut body = Map::new();
                let durations =
                    [("initialDelay", probe.initial_delay), ("period", probe.period), ("timeout", probe.timeout)];
                for (name, seconds) in durations {
                    if let Some(seconds) = seconds {
                        body.insert(name.into(), json!(crate::iso::seconds(seconds)));
                    }
                }
                let counts =
                    [("successThreshold", probe.success_threshold), ("failureThreshold", probe.failure_threshold)];
                for (name, count) in counts {
                    if let Some(count) = count {
                        body.insert(name.into(), json!(count));
                    }
                }
                properties.insert(key.into(), Value::Object(body));
            }
        }
        Ok(properties)
    }
}

/// The instance type (given, or the compute's default) must be one the compute offers, and
/// the deployment's requests and limits must fit it.
fn check_instance_type(file: &Path, spec: &OnlineDeployment, cluster: &Value) -> Result<()> {
    let default = cluster["defaultInstanceType"].as_str().unwrap_or(DEFAULT_INSTANCE_TYPE);
    let chosen = spec.instance_type.as_deref().unwrap_or(default);
    let offered = cluster["instanceTypes"].as_object().cloned().unwrap_or_default();
    let limits: BTreeMap<String, String> = match offered.get(chosen) {
        Some(instance) => serde_json::from_value(instance["resources"]["limits"].clone()).unwrap_or_default(),
        None if chosen == DEFAULT_INSTANCE_TYPE => BTreeMap::from([
            ("cpu".to_string(), DEFAULT_INSTANCE_LIMITS.0.to_string()),
            ("memory".to_string(), DEFAULT_INSTANCE_LIMITS.1.to_string()),
        ]),
        None => {
            let mut names: Vec<&str> = offered.keys().map(String::as_str).collect();
            if !names.contains(&DEFAULT_INSTANCE_TYPE) {
                names.push(DEFAULT_INSTANCE_TYPE);
            }
            return Err(Error::in_file(
                file,
                Some("instance_type"),
                format!("`{chosen}` is not an instance type of the endpoint's compute"),
                format!("use one it offers: {}", names.join(", ")),
            ));
        }
    };
    let resources = Resources::read(file, spec.resources.as_ref())?;
    for resource in Resource::ALL {
        let allowed =
            limits.get(resource.key()).or_else(|| limits.get("nvidia.com/gpu").filter(|_| resource == Resource::Gpu));
        let Some(allowed_text) = allowed else { continue };
        let Some(allowed_value) = quantity(resource, allowed_text) else { continue };
        for (kind, amount) in [("limits", resources.limit(resource)), ("requests", resources.request(resource))] {
            if let Some(amount) = amount.filter(|a| a.value > allowed_value) {
                return Err(Error::in_file(
                    file,
                    Some(&format!("resources.{kind}.{}", resource.key())),
                    format!("`{}` is more than instance type `{chosen}` allows ({allowed_text})", amount.written),
                    "lower it, or choose a larger `instance_type`",
                ));
            }
        }
    }
    Ok(())
}

/// azure-ai-ml refuses registry references in a Kubernetes deployment.
fn refuse_registry_references(file: &Path, spec: &OnlineDeployment) -> Result<()> {
    let model = match &spec.model {
        Some(DeploymentModel::Registered(reference)) => Some(("model", reference.as_str())),
        _ => None,
    };
    let environment = match &spec.environment {
        Some(EnvironmentRef::Registered(reference)) => Some(("environment", reference.as_str())),
        _ => None,
    };
    if let Some((field, reference)) =
        [model, environment].into_iter().flatten().find(|(_, r)| r.starts_with("azureml://registries/"))
    {
        return Err(Error::in_file(
            file,
            Some(field),
            format!("`{reference}` is in a registry, which Kubernetes deployments cannot use"),
            "copy it into the workspace first (`aml-register promote`), and name the workspace's version",
        ));
    }
    Ok(())
}

fn settings_body(settings: &ResourceSettings) -> Value {
    let mut body = Map::new();
    for (key, value) in [("cpu", &settings.cpu), ("memory", &settings.memory), ("gpu", &settings.gpu)] {
        if let Some(value) = value {
            body.insert(key.into(), json!(value));
        }
    }
    Value::Object(body)
}

fn scale_body(scale: &ScaleSettings) -> Value {
    match scale {
        ScaleSettings::Default => json!({"scaleType": "Default"}),
        ScaleSettings::TargetUtilization {
            min_instances,
            max_instances,
            polling_interval,
            target_utilization_percentage,
        } => {
            let mut body = Map::new();
            body.insert("scaleType".into(), json!("TargetUtilization"));
            if let Some(n) = min_instances {
                body.insert("minInstances".into(), json!(n));
            }
            if let Some(n) = max_instances {
                body.insert("maxInstances".into(), json!(n));
            }
            if let Some(seconds) = polling_interval {
                body.insert("pollingInterval".into(), json!(crate::iso::seconds(*seconds)));
            }
            if let Some(n) = target_utilization_percentage {
                body.insert("targetUtilizationPercentage".into(), json!(n));
            }
            Value::Object(body)
        }
    }
}
