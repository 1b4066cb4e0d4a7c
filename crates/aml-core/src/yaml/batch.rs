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
    /// Azure ML's batch endpoints take Entra tokens (`aad_token`, azure-ai-ml's default).
    #[serde(default = "aad_token")]
    pub auth_mode: AuthMode,
    pub defaults: Option<BatchEndpointDefaults>,
    pub identity: Option<Value>,
    pub location: Option<String>,
    pub id: Option<String>,
    pub provisioning_state: Option<String>,
    pub scoring_uri: Option<String>,
    pub openapi_uri: Option<String>,
}

fn aad_token() -> AuthMode {
    AuthMode::AadToken
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

/// How a pipeline-component deployment names its component.
pub enum ComponentRef<'a> {
    /// A file, as written (relative to the deployment file).
    File(&'a str),
    /// `azureml:NAME@latest`, `azureml:NAME:V`: registered in the workspace.
    Registered(&'a str),
    /// The component written out under `component:`.
    Inline,
    Missing,
}

impl PipelineBatchDeployment {
    pub fn component_ref(&self) -> ComponentRef<'_> {
        match &self.component {
            Some(Value::String(written)) if written.starts_with("azureml:") => ComponentRef::Registered(written),
            Some(Value::String(written)) => ComponentRef::File(written),
            Some(_) => ComponentRef::Inline,
            None => ComponentRef::Missing,
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

/// A model deployment's run settings with Azure ML's defaults filled in (azure-ai-ml's
/// `BatchDeployment` and the REST spec's `BatchRetrySettings`): what each invocation runs
/// with unless it overrides one with `--set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRunSettings {
    pub mini_batch_size: u64,
    pub max_concurrency_per_instance: u64,
    pub instance_count: u64,
    pub output_action: OutputAction,
    pub output_file_name: String,
    pub max_retries: i64,
    /// Seconds a mini-batch may take before it is tried again.
    pub timeout: i64,
    /// Failed files tolerated before the job fails; -1: any number.
    pub error_threshold: i64,
    pub logging_level: String,
    pub environment_variables: Vec<(String, String)>,
}

impl Default for BatchRunSettings {
    fn default() -> Self {
        BatchRunSettings {
            mini_batch_size: 10,
            max_concurrency_per_instance: 1,
            instance_count: 1,
            output_action: OutputAction::AppendRow,
            output_file_name: "predictions.csv".into(),
            max_retries: 3,
            timeout: 30,
            error_threshold: -1,
            logging_level: "info".into(),
            environment_variables: Vec::new(),
        }
    }
}

/// The settings an invocation may override (`aml-deploy invoke --set NAME=VALUE`), as
/// `az ml batch-endpoint invoke` names them.
pub const INVOCATION_SETTINGS: [&str; 8] = [
    "mini_batch_size",
    "max_concurrency_per_instance",
    "instance_count",
    "output_file_name",
    "error_threshold",
    "max_retries",
    "timeout",
    "logging_level",
];

impl ModelBatchDeployment {
    /// Its settings, wherever the file puts them (`settings:` or, in the older schema, the
    /// top level), with Azure ML's defaults for the rest; each checked, naming its field.
    pub fn run_settings(&self, file: &std::path::Path) -> crate::error::Result<BatchRunSettings> {
        let settings = self.settings.clone().unwrap_or_default();
        let defaults = BatchRunSettings::default();
        let retry = settings.retry_settings.as_ref().or(self.retry_settings.as_ref());
        let mut run = BatchRunSettings {
            mini_batch_size: 0,
            max_concurrency_per_instance: 0,
            instance_count: 0,
            output_action: settings.output_action.or(self.output_action).unwrap_or(defaults.output_action),
            output_file_name: settings
                .output_file_name
                .clone()
                .or_else(|| self.output_file_name.clone())
                .unwrap_or(defaults.output_file_name),
            max_retries: retry.and_then(|r| r.max_retries).unwrap_or(defaults.max_retries),
            timeout: retry.and_then(|r| r.timeout).unwrap_or(defaults.timeout),
            error_threshold: settings.error_threshold.or(self.error_threshold).unwrap_or(defaults.error_threshold),
            logging_level: settings
                .logging_level
                .clone()
                .or_else(|| self.logging_level.clone())
                .unwrap_or(defaults.logging_level),
            environment_variables: self
                .environment_variables
                .iter()
                .chain(settings.environment_variables.iter())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let counts = [
            ("mini_batch_size", settings.mini_batch_size.or(self.mini_batch_size), defaults.mini_batch_size),
            (
                "max_concurrency_per_instance",
                settings.max_concurrency_per_instance.or(self.max_concurrency_per_instance),
                defaults.max_concurrency_per_instance,
            ),
            (
                "instance_count",
                settings.instance_count.or(self.resources.as_ref().and_then(|r| r.instance_count)),
                defaults.instance_count,
            ),
        ];
        for (name, written, default) in counts {
            let value = match written {
                None => default,
                Some(n) => u64::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                    crate::error::Error::in_file(
                        file,
                        Some(&self.setting_field(name)),
                        format!("`{n}` is not a positive whole number"),
                        "give a count of 1 or more",
                    )
                })?,
            };
            run.set_count(name, value);
        }
        run.check().map_err(|(name, problem, hint)| {
            crate::error::Error::in_file(file, Some(&self.setting_field(name)), problem, hint)
        })?;
        Ok(run)
    }

    /// Where this file writes a setting: under `settings:`, or at the top level in the older schema.
    fn setting_field(&self, name: &str) -> String {
        let nested = self.settings.is_some();
        match name {
            "instance_count" if self.settings.as_ref().is_none_or(|s| s.instance_count.is_none()) => {
                "resources.instance_count".into()
            }
            "max_retries" | "timeout" if nested => format!("settings.retry_settings.{name}"),
            "max_retries" | "timeout" => format!("retry_settings.{name}"),
            _ if nested => format!("settings.{name}"),
            _ => name.to_string(),
        }
    }
}

impl BatchRunSettings {
    fn set_count(&mut self, name: &str, value: u64) {
        match name {
            "mini_batch_size" => self.mini_batch_size = value,
            "max_concurrency_per_instance" => self.max_concurrency_per_instance = value,
            _ => self.instance_count = value,
        }
    }

    /// One of `INVOCATION_SETTINGS` overridden for one invocation (`settings.` may lead).
    pub fn set(&mut self, name: &str, value: &str) -> std::result::Result<(), crate::error::Error> {
        let name = name.strip_prefix("settings.").unwrap_or(name);
        let bad = |what: &str| {
            crate::error::Error::usage(
                format!("`--set {name}={value}`: `{value}` is not {what}"),
                format!("give `{name}` {what}"),
            )
        };
        match name {
            "mini_batch_size" | "max_concurrency_per_instance" | "instance_count" => {
                let count =
                    value.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| bad("a count of 1 or more"))?;
                self.set_count(name, count);
            }
            "error_threshold" | "max_retries" | "timeout" => {
                let number = value.trim().parse::<i64>().map_err(|_| bad("a whole number"))?;
                match name {
                    "error_threshold" => self.error_threshold = number,
                    "max_retries" => self.max_retries = number,
                    _ => self.timeout = number,
                }
            }
            "output_file_name" => self.output_file_name = value.to_string(),
            "logging_level" => self.logging_level = value.to_string(),
            _ => {
                return Err(crate::error::Error::usage(
                    format!("`{name}` is not a setting an invocation can change"),
                    format!("give one of: {}", INVOCATION_SETTINGS.join(", ")),
                ));
            }
        }
        self.check()
            .map_err(|(name, problem, hint)| crate::error::Error::usage(format!("`--set {name}`: {problem}"), hint))
    }

    /// The rules Azure ML holds the settings to, as (setting, problem, hint).
    fn check(&self) -> std::result::Result<(), (&'static str, String, String)> {
        let plain = self.output_file_name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            && !self.output_file_name.starts_with('.')
            && !self.output_file_name.is_empty();
        if !plain {
            return Err((
                "output_file_name",
                format!("`{}` is not a plain file name", self.output_file_name.escape_debug()),
                "name a file in the job's output folder: letters, digits, `.`, `_`, `-` (e.g. `predictions.csv`)"
                    .into(),
            ));
        }
        if self.error_threshold < -1 {
            return Err((
                "error_threshold",
                format!("`{}` is below -1", self.error_threshold),
                "give -1 (no limit) or the number of failed files to tolerate".into(),
            ));
        }
        if self.max_retries < 0 || self.timeout <= 0 {
            let (name, value) =
                if self.max_retries < 0 { ("max_retries", self.max_retries) } else { ("timeout", self.timeout) };
            return Err((
                name,
                format!("`{value}` is out of range"),
                "give retries ≥ 0 and a timeout in seconds ≥ 1".into(),
            ));
        }
        let level = self.logging_level.to_ascii_lowercase();
        // Azure ML's `BatchLoggingLevel`: three levels, any case.
        if !["debug", "info", "warning"].contains(&level.as_str()) {
            return Err((
                "logging_level",
                format!("`{}` is not a batch logging level", self.logging_level),
                "give debug, info or warning".into(),
            ));
        }
        Ok(())
    }
}
