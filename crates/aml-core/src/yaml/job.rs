//! Command and pipeline jobs as `az ml job create` reads them (CommandJobSchema,
//! PipelineJobSchema in azure-ai-ml). Fields the local runner cannot honour (compute,
//! resources, distribution) are accepted, so one file runs on every backend.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use super::environment::EnvironmentRef;
pub use super::io::{AssetInput, AssetOutput, AssetType, InputMode, JobInput, JobOutput, Literal, OutputMode};
use super::{OrderedMap, Scalar, SetArg, string_map};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandJob {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_job")]
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_experiment")]
    pub experiment_name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub command: String,
    pub code: Option<String>,
    pub environment: EnvironmentRef,
    pub compute: Option<String>,
    pub resources: Option<Value>,
    pub distribution: Option<Value>,
    pub limits: Option<Limits>,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
    #[serde(default)]
    pub inputs: OrderedMap<JobInput>,
    #[serde(default)]
    pub outputs: OrderedMap<JobOutput>,
    pub identity: Option<Value>,
    pub services: Option<Value>,
    pub queue_settings: Option<Value>,
    pub parent_job_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Seconds; the job is stopped and marked Failed when it runs longer.
    pub timeout: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineJob {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "crate::names::optional_job")]
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_experiment")]
    pub experiment_name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub compute: Option<String>,
    pub settings: Option<PipelineSettings>,
    #[serde(default)]
    pub inputs: OrderedMap<JobInput>,
    #[serde(default)]
    pub outputs: OrderedMap<JobOutput>,
    /// A pipeline component (`./pipeline.yml`, `azureml:name@latest`) in place of `jobs:`.
    pub component: Option<String>,
    #[serde(default)]
    pub jobs: OrderedMap<PipelineStep>,
    pub identity: Option<Value>,
    pub services: Option<Value>,
    /// Steps of types aml-train does not run (sweep, parallel, automl, spark, pipeline…),
    /// kept so the rest of the pipeline can be judged and bound to them.
    #[serde(skip)]
    pub foreign_steps: OrderedMap<ForeignJob>,
}

/// A job or step of a type aml-train does not run: the fields every job has are judged,
/// the type's own fields are kept as written for Azure ML to judge.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ForeignJob {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "crate::names::optional_job")]
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::names::optional_experiment")]
    pub experiment_name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    pub compute: Option<String>,
    pub component: Option<String>,
    #[serde(default)]
    pub inputs: OrderedMap<JobInput>,
    #[serde(default)]
    pub outputs: OrderedMap<JobOutput>,
    #[serde(flatten)]
    pub rest: std::collections::BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PipelineSettings {
    pub default_compute: Option<String>,
    pub default_datastore: Option<String>,
    #[serde(default)]
    pub continue_on_step_failure: bool,
    pub force_rerun: Option<bool>,
    pub default_environment: Option<String>,
    pub on_init: Option<String>,
    pub on_finalize: Option<String>,
}

/// A step of a pipeline: an inline command job, or a reference to a command component file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineStep {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub component: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub experiment_name: Option<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub tags: OrderedMap<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: OrderedMap<String>,
    pub command: Option<String>,
    pub code: Option<String>,
    pub environment: Option<EnvironmentRef>,
    pub compute: Option<String>,
    pub resources: Option<Value>,
    pub distribution: Option<Value>,
    pub limits: Option<Limits>,
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: OrderedMap<String>,
    #[serde(default)]
    pub inputs: OrderedMap<JobInput>,
    #[serde(default)]
    pub outputs: OrderedMap<JobOutput>,
    pub identity: Option<Value>,
    pub services: Option<Value>,
    pub queue_settings: Option<Value>,
    // A parallel step's own fields (`type: parallel`), as azure-ai-ml's
    // `PipelineParallelJobSchema` reads them: the data it splits into mini-batches, how many
    // run at once, what failures it tolerates, and the task that scores each mini-batch.
    pub input_data: Option<String>,
    /// A count of files, or a size of tabular data (`10kb`, `1mb`): a string, as azure-ai-ml reads it.
    pub mini_batch_size: Option<String>,
    pub partition_keys: Option<Vec<String>>,
    pub max_concurrency_per_instance: Option<i64>,
    pub error_threshold: Option<i64>,
    pub mini_batch_error_threshold: Option<i64>,
    pub logging_level: Option<String>,
    pub retry_settings: Option<RetrySettings>,
    pub task: Option<ParallelTask>,
}

impl PipelineStep {
    /// The parallel-only fields this step sets: none may be set on a step of another type.
    pub fn parallel_fields(&self) -> Vec<&'static str> {
        let set = [
            ("input_data", self.input_data.is_some()),
            ("mini_batch_size", self.mini_batch_size.is_some()),
            ("partition_keys", self.partition_keys.is_some()),
            ("max_concurrency_per_instance", self.max_concurrency_per_instance.is_some()),
            ("error_threshold", self.error_threshold.is_some()),
            ("mini_batch_error_threshold", self.mini_batch_error_threshold.is_some()),
            ("logging_level", self.logging_level.is_some()),
            ("retry_settings", self.retry_settings.is_some()),
            ("task", self.task.is_some()),
        ];
        set.into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Seconds a mini-batch may take (a number, or a `${{…}}` binding).
    pub timeout: Option<Value>,
    pub max_retries: Option<Value>,
}

/// The task of a parallel step: a scoring script's `init()` and `run(mini_batch)`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ParallelTask {
    #[serde(rename = "type")]
    pub kind: String,
    pub code: Option<String>,
    pub entry_script: Option<String>,
    pub program_arguments: Option<String>,
    pub model: Option<String>,
    pub append_row_to: Option<String>,
    pub environment: Option<EnvironmentRef>,
    #[serde(flatten)]
    pub rest: std::collections::BTreeMap<String, Value>,
}

/// A job file after parsing and `--set`.
#[derive(Debug, Clone)]
pub struct LoadedJob {
    /// Absolute path of the YAML file; relative paths inside it are relative to its folder.
    pub file: PathBuf,
    pub spec: JobSpec,
}

#[derive(Debug, Clone)]
pub enum JobSpec {
    Command(Box<CommandJob>),
    Pipeline(Box<PipelineJob>),
    /// A valid job of a type aml-train does not run (`automl`, `spark`…).
    Foreign(Box<ForeignJob>),
    Sweep(Box<super::sweep::SweepJob>),
}

impl JobSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Command(_) => "command",
            JobSpec::Pipeline(_) => "pipeline",
            JobSpec::Foreign(job) => foreign_kind(&job.kind),
            JobSpec::Sweep(_) => "sweep",
        }
    }
}

/// The static name of a foreign job type (they are all in `AZURE_ONLY_JOB_TYPES`).
pub fn foreign_kind(kind: &str) -> &'static str {
    AZURE_ONLY_JOB_TYPES.iter().copied().chain(["pipeline"]).find(|k| *k == kind).unwrap_or("foreign")
}

/// Whether a pipeline step of this type is one aml-train does not run (a parallel step it
/// runs locally; a parallel job of its own it does not).
pub fn is_foreign_step(kind: &str) -> bool {
    kind == "pipeline" || (AZURE_ONLY_JOB_TYPES.contains(&kind) && kind != "parallel")
}

/// Job and step types Azure ML runs that aml-train does not run on either backend yet.
pub const AZURE_ONLY_JOB_TYPES: &[&str] =
    &["sweep", "spark", "parallel", "automl", "import", "data_transfer", "finetuning", "distillation"];

/// Load a job file as `az ml job create --file` would, with `--set` overrides applied.
pub fn load_job(path: &Path, sets: &[SetArg]) -> Result<LoadedJob> {
    let text = super::read(path)?;
    load_job_text(path, &text, sets)
}

/// A job from its text, as if read from `path` (relative paths in it are relative to its folder).
pub fn load_job_text(path: &Path, text: &str, sets: &[SetArg]) -> Result<LoadedJob> {
    let text = text.to_string();
    #[derive(Deserialize)]
    struct Peek {
        #[serde(rename = "type")]
        kind: Option<Scalar>,
        #[serde(default)]
        jobs: std::collections::BTreeMap<String, StepPeek>,
    }
    #[derive(Deserialize)]
    struct StepPeek {
        #[serde(rename = "type")]
        kind: Option<Scalar>,
    }
    let peek: Peek = super::parse(path, &text)?;
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let spec = match peek.kind.as_ref().map(|k| k.0.as_str()) {
        None | Some("command") => JobSpec::Command(Box::new(super::parse_with_sets(path, &text, sets)?)),
        // A type we do not run is known by its name before its fields are judged: an
        // automl step's `task:` is not an "unknown field", it belongs to a type we keep aside.
        Some("pipeline") if peek.jobs.values().any(|s| s.kind.as_ref().is_some_and(|k| is_foreign_step(&k.0))) => {
            let mut value: Value = super::parse_with_sets(path, &text, sets)?;
            let mut foreign = OrderedMap::default();
            if let Some(Value::Mapping(jobs)) = value.get_mut("jobs") {
                let names: Vec<Value> = jobs
                    .iter()
                    .filter(|(_, step)| step.get("type").and_then(Value::as_str).is_some_and(is_foreign_step))
                    .map(|(name, _)| name.clone())
                    .collect();
                for name in names {
                    let Some(step) = jobs.remove(&name) else { continue };
                    let name = name.as_str().unwrap_or_default().to_string();
                    let step: ForeignJob = super::from_value(path, step, &format!("jobs.{name}"))?;
                    foreign.0.push((name, step));
                }
            }
            let mut pipeline: PipelineJob = super::from_value(path, value, "")?;
            pipeline.foreign_steps = foreign;
            JobSpec::Pipeline(Box::new(pipeline))
        }
        Some("pipeline") => JobSpec::Pipeline(Box::new(super::parse_with_sets(path, &text, sets)?)),
        Some("sweep") => JobSpec::Sweep(Box::new(super::parse_with_sets(path, &text, sets)?)),
        Some(other) if AZURE_ONLY_JOB_TYPES.contains(&other) => {
            JobSpec::Foreign(Box::new(super::parse_with_sets(path, &text, sets)?))
        }
        Some(other) => {
            return Err(Error::in_file(
                path,
                Some("type"),
                format!("unknown job type `{other}`"),
                format!("use `command` or `pipeline` (Azure ML also knows {})", AZURE_ONLY_JOB_TYPES.join(", ")),
            ));
        }
    };
    Ok(LoadedJob { file, spec })
}

/// Where a pipeline job made from a pipeline component is read: the component's steps, with
/// the job's inputs, outputs and settings over the component's declarations (its defaults
/// where the job gives none), as one pipeline job whose relative paths are the component's.
/// The job's own local paths are made absolute first, so they keep pointing where it meant.
pub fn expand_pipeline_component(job_file: &Path, job: &PipelineJob, component_file: &Path) -> Result<LoadedJob> {
    let text = super::read(component_file)?;
    let value: Value = super::parse(component_file, &text)?;
    let Value::Mapping(mut map) = value else {
        return Err(Error::in_file(
            component_file,
            None,
            "is not a mapping",
            "a pipeline component has `type: pipeline` and `jobs:`",
        ));
    };
    if map.get("type").and_then(Value::as_str) != Some("pipeline") {
        return Err(Error::in_file(
            component_file,
            Some("type"),
            "is not `pipeline`",
            "a pipeline job's `component:` names a pipeline component (`type: pipeline`, with `jobs:`)",
        ));
    }
    for key in ["name", "version", "is_deterministic", "$schema"] {
        map.remove(key);
    }
    let declared = match map.remove("inputs") {
        Some(Value::Mapping(declared)) => declared,
        _ => Default::default(),
    };
    let mut inputs = yaml_serde::Mapping::new();
    for (name, given) in job.inputs.iter() {
        if !declared.contains_key(name.as_str()) {
            return Err(Error::in_file(
                job_file,
                Some(&format!("inputs.{name}")),
                format!("the pipeline component `{}` declares no input `{name}`", component_file.display()),
                format!("its inputs: {}", declared.keys().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")),
            ));
        }
        let mut given = given.clone();
        if let JobInput::Asset(asset) = &mut given
            && let Some(path) =
                asset.path.as_deref().filter(|p| !p.contains("://") && !p.starts_with("azureml:") && !p.contains("${{"))
        {
            asset.path = Some(super::resolve_path(job_file, path).display().to_string());
        }
        inputs.insert(Value::from(name.as_str()), super::to_value(&given)?);
    }
    for (name, declaration) in declared.iter() {
        if inputs.contains_key(name) {
            continue;
        }
        let kind = declaration.get("type").and_then(Value::as_str).unwrap_or("uri_folder");
        let literal = matches!(kind, "string" | "integer" | "number" | "boolean");
        match declaration.get("default") {
            Some(default) if literal => {
                inputs.insert(name.clone(), default.clone());
            }
            Some(default) => {
                let mut asset = yaml_serde::Mapping::new();
                asset.insert("type".into(), kind.into());
                asset.insert("path".into(), default.clone());
                inputs.insert(name.clone(), Value::Mapping(asset));
            }
            // A data input nobody gave: planned as an input without a path, which says so.
            None if !literal => {
                let mut asset = yaml_serde::Mapping::new();
                asset.insert("type".into(), kind.into());
                inputs.insert(name.clone(), Value::Mapping(asset));
            }
            None => {}
        }
    }
    map.insert("inputs".into(), Value::Mapping(inputs));
    if let Some(Value::Mapping(outputs)) = map.get_mut("outputs") {
        for (name, declaration) in outputs.iter_mut() {
            if let Value::Mapping(fields) = declaration {
                fields.remove("description");
            }
            if let Some(given) = name.as_str().and_then(|n| job.outputs.get(n)) {
                *declaration = super::to_value(given)?;
            }
        }
    }
    map.insert("$schema".into(), "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json".into());
    for (key, given) in [
        ("display_name", job.display_name.clone()),
        ("experiment_name", job.experiment_name.clone()),
        ("description", job.description.clone()),
    ] {
        if let Some(given) = given {
            map.insert(key.into(), given.into());
        }
    }
    if let Some(settings) = &job.settings {
        map.insert("settings".into(), super::to_value(settings)?);
    }
    let text = yaml_serde::to_string(&Value::Mapping(map))
        .map_err(|e| Error::in_file(component_file, None, format!("cannot be read as a pipeline job: {e}"), ""))?;
    load_job_text(component_file, &text, &[])
}
