//! Batch endpoints and deployments as `az ml batch-endpoint|batch-deployment create` read them
//! (azure-ai-ml's `BatchEndpointSchema`, `ModelBatchDeploymentSchema` and
//! `PipelineComponentBatchDeploymentSchema`): an endpoint with its default deployment, a
//! model deployment (a scoring script run over files in mini-batches) or a pipeline-component
//! deployment.

use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use super::endpoint::{AuthMode, CodeConfiguration, DeploymentModel};
use super::environment::EnvironmentRef;
use super::{OrderedMap, string_map};
use crate::names::{DeploymentName, EndpointName};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEndpoint {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: EndpointName,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    /// Azure ML's batch endpoints take Entra tokens (`aad_token`).
    #[serde(default)]
    pub auth_mode: AuthMode,
    pub defaults: Option<BatchEndpointDefaults>,
    pub identity: Option<Value>,
    pub location: Option<String>,
    pub id: Option<String>,
    pub provisioning_state: Option<String>,
    pub scoring_uri: Option<String>,
    pub openapi_uri: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEndpointDefaults {
    pub deployment_name: Option<String>,
}

/// A batch deployment, by its `type`: a model and a scoring script (the default), or a
/// pipeline component.
#[derive(Debug, Clone)]
pub enum BatchDeployment {
    Model(Box<ModelBatchDeployment>),
    Pipeline(Box<PipelineBatchDeployment>),
}

impl BatchDeployment {
    pub fn name(&self) -> &DeploymentName {
        match self {
            BatchDeployment::Model(d) => &d.name,
            BatchDeployment::Pipeline(d) => &d.name,
        }
    }

    pub fn endpoint_name(&self) -> &EndpointName {
        match self {
            BatchDeployment::Model(d) => &d.endpoint_name,
            BatchDeployment::Pipeline(d) => &d.endpoint_name,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBatchDeployment {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: DeploymentName,
    pub endpoint_name: EndpointName,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub model: Option<DeploymentModel>,
    pub code_configuration: Option<CodeConfiguration>,
    pub environment: Option<EnvironmentRef>,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
    /// The compute cluster it runs on (`azureml:batch-cluster`); required by
    /// modelBatchDeployment.schema.json, not by the older batchDeployment one.
    pub compute: Option<String>,
    pub error_threshold: Option<i64>,
    pub resources: Option<BatchResources>,
    pub settings: Option<ModelBatchSettings>,
    pub id: Option<String>,
    // The older `batchDeployment.schema.json` has the settings at the top level.
    pub mini_batch_size: Option<i64>,
    pub logging_level: Option<String>,
    pub max_concurrency_per_instance: Option<i64>,
    pub output_action: Option<OutputAction>,
    pub output_file_name: Option<String>,
    pub retry_settings: Option<BatchRetrySettings>,
}

impl ModelBatchDeployment {
    /// The top-level settings of the older schema this file sets, by name.
    pub fn top_level_settings(&self) -> Vec<&'static str> {
        [
            ("mini_batch_size", self.mini_batch_size.is_some()),
            ("logging_level", self.logging_level.is_some()),
            ("max_concurrency_per_instance", self.max_concurrency_per_instance.is_some()),
            ("output_action", self.output_action.is_some()),
            ("output_file_name", self.output_file_name.is_some()),
            ("retry_settings", self.retry_settings.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
        .collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchResources {
    pub instance_count: Option<i64>,
    pub instance_type: Option<String>,
    pub shm_size: Option<String>,
    pub max_instance_count: Option<i64>,
    pub properties: Option<Value>,
    pub docker_args: Option<String>,
    pub locations: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBatchSettings {
    pub error_threshold: Option<i64>,
    pub instance_count: Option<i64>,
    pub retry_settings: Option<BatchRetrySettings>,
    pub mini_batch_size: Option<i64>,
    pub logging_level: Option<String>,
    pub output_action: Option<OutputAction>,
    pub output_file_name: Option<String>,
    pub max_concurrency_per_instance: Option<i64>,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRetrySettings {
    pub max_retries: Option<i64>,
    pub timeout: Option<i64>,
}

/// What a model deployment writes: every result row (`append_row`, into `output_file_name`,
/// `predictions.csv` by default) or only the run's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputAction {
    AppendRow,
    SummaryOnly,
}

impl<'de> Deserialize<'de> for OutputAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match super::endpoint::camel_to_snake(&text).as_str() {
            "append_row" => Ok(OutputAction::AppendRow),
            "summary_only" => Ok(OutputAction::SummaryOnly),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not an output action; expected `append_row` or `summary_only`"
            ))),
        }
    }
}

/// A deployment of a pipeline component: its inputs come with each invocation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineBatchDeployment {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: DeploymentName,
    pub endpoint_name: EndpointName,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    pub component: Option<Value>,
    pub settings: Option<OrderedMap<Value>>,
    pub job_definition: Option<Value>,
}
