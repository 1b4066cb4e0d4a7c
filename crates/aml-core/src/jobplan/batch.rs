//! A batch model deployment's invocation as a job: a pipeline of one parallel step,
//! `batchscoring`, as Azure ML runs it — the deployment's scoring script over the input's
//! files in mini-batches (the parallel driver), its results in the `score` output's
//! `output_file_name`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::parallel::DriverCall;
use super::{EnvPlan, InputPlan, PipelineOutput, Plan, StepPlan};
use crate::error::{Error, Result};
use crate::yaml::batch::{BatchRunSettings, OutputAction};
use crate::yaml::io::{AssetInput, AssetType, JobInput};

/// The step Azure ML names a scoring job's one step.
pub const SCORING_STEP: &str = "batchscoring";
/// The output the results go to (`az ml job download --output-name score`).
pub const SCORE_OUTPUT: &str = "score";
/// The input the data is bound to.
pub const INPUT_DATA: &str = "input_data";

/// What an invocation runs: a deployment as applied, and the data it is given.
pub struct ScoringJob {
    /// The deployment's file as applied, for the job's record and lineage.
    pub file: PathBuf,
    pub endpoint: String,
    pub deployment: String,
    /// The deployment's code snapshot and its scoring script, relative to it.
    pub code: PathBuf,
    pub scoring_script: String,
    pub environment: EnvPlan,
    /// The model's files (`AZUREML_MODEL_DIR`), if the deployment has a model.
    pub model_dir: Option<PathBuf>,
    pub input: InputPlan,
    pub settings: BatchRunSettings,
}

pub fn scoring_plan(job: ScoringJob) -> Plan {
    let ScoringJob { file, endpoint, deployment, code, scoring_script, environment, model_dir, input, settings } = job;
    let append_to = format!("${{{{outputs.{SCORE_OUTPUT}}}}}/{}", settings.output_file_name);
    let call = DriverCall {
        entry_script: &scoring_script,
        input: &format!("${{{{inputs.{INPUT_DATA}}}}}"),
        mini_batch_size: settings.mini_batch_size,
        max_concurrency: settings.max_concurrency_per_instance,
        error_threshold: settings.error_threshold,
        mini_batch_error_threshold: -1,
        max_retries: settings.max_retries,
        timeout: settings.timeout,
        append_row_to: (settings.output_action == OutputAction::AppendRow).then_some(append_to.as_str()),
        logging_level: Some(&settings.logging_level),
        program_arguments: None,
    };
    let mut environment_variables = settings.environment_variables.clone();
    if let Some(model_dir) = &model_dir {
        environment_variables.push(("AZUREML_MODEL_DIR".into(), model_dir.display().to_string()));
    }
    let step = StepPlan {
        step: Some(SCORING_STEP.into()),
        display_name: None,
        command: call.command(),
        code: Some(code),
        environment,
        environment_variables,
        inputs: vec![(INPUT_DATA.into(), input.clone())],
        outputs: vec![(SCORE_OUTPUT.into(), AssetType::UriFolder)],
        timeout_seconds: None,
        depends_on: Vec::new(),
        parallel: true,
        default_artifacts: false,
    };
    Plan {
        file,
        kind: "pipeline",
        name: None,
        // As on Azure ML: the endpoint's experiment, the deployment named on the job.
        display_name: Some(deployment),
        experiment_name: Some(endpoint),
        tags: BTreeMap::new(),
        inputs: vec![(INPUT_DATA.into(), input)],
        outputs: vec![PipelineOutput {
            name: SCORE_OUTPUT.into(),
            kind: AssetType::UriFolder,
            bound_to: Some((SCORING_STEP.into(), SCORE_OUTPUT.into())),
        }],
        steps: vec![step],
        continue_on_step_failure: false,
        warnings: Vec::new(),
        blockers: Vec::new(),
        sweep: None,
    }
}

/// An invocation's `--input` as the scoring job's input, judged as a job file's input is
/// (local paths relative to the current folder, a datastore's paths, `https://` files);
/// what this workspace cannot read is refused naming `--input`.
pub async fn invocation_input(written: &str, kind: AssetType, ws: &dyn super::DataResolver) -> Result<InputPlan> {
    let asset = AssetInput {
        kind,
        path: Some(written.to_string()),
        mode: None,
        datastore: None,
        path_on_compute: None,
        description: None,
    };
    // A stand-in file in the current folder: relative paths resolve from there.
    let here = std::path::absolute("--input")
        .map_err(|e| Error::usage(format!("no current folder: {e}"), "run from an existing folder"))?;
    let mut notes = super::build::Notes::default();
    let input = super::build::plan_input(&here, "--input", &JobInput::Asset(asset), Some(ws), &mut notes).await?;
    // Said of the current folder, not of the stand-in file named after the flag.
    let plainly = |text: &str| text.replace(&format!("the folder of `{}`", here.display()), "the current folder");
    match notes.blockers.first() {
        Some(blocker) => Err(Error::usage(
            format!("--input {}", plainly(&blocker.problem)),
            format!("{} (`--input-type` says whether it is a uri_folder or a uri_file)", plainly(&blocker.hint)),
        )),
        None => Ok(input),
    }
}

/// A pipeline-component deployment's invocation as the text of a pipeline job: the
/// component (by its absolute path) with the endpoint's experiment, the deployment's name,
/// the deployment's settings, and `input` bound to the component's one data input (or the
/// one named `input_data`). Without an input, the component is only checked to make a
/// pipeline the runner can read.
pub fn pipeline_invocation(
    component: &Path,
    endpoint: &str,
    deployment: &str,
    spec: &crate::yaml::batch::PipelineBatchDeployment,
    input: Option<(&str, AssetType)>,
) -> Result<String> {
    use yaml_serde::{Mapping, Value};
    let declared: Value = crate::yaml::parse(component, &crate::yaml::read(component)?)?;
    let data_inputs: Vec<String> = match declared.get("inputs") {
        Some(Value::Mapping(inputs)) => inputs
            .iter()
            .filter(|(_, d)| {
                matches!(d.get("type").and_then(Value::as_str), Some("uri_folder" | "uri_file" | "mltable") | None)
            })
            .filter_map(|(name, _)| name.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let mut job = Mapping::new();
    job.insert("$schema".into(), "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json".into());
    job.insert("type".into(), "pipeline".into());
    job.insert("experiment_name".into(), endpoint.into());
    job.insert("display_name".into(), deployment.into());
    job.insert("component".into(), component.display().to_string().into());
    if let Some(settings) = &spec.settings {
        let mut mapping = Mapping::new();
        for (key, value) in settings.iter() {
            mapping.insert(key.as_str().into(), value.clone());
        }
        job.insert("settings".into(), Value::Mapping(mapping));
    }
    if let Some((path, kind)) = input {
        let bound = match data_inputs.as_slice() {
            [only] => only.clone(),
            several if several.iter().any(|n| n == INPUT_DATA) => INPUT_DATA.to_string(),
            none_or_many => {
                return Err(Error::usage(
                    format!(
                        "--input binds the pipeline component's data input, and `{}` has {}",
                        component.display(),
                        if none_or_many.is_empty() { "none".to_string() } else { none_or_many.join(", ") }
                    ),
                    "give the component one data input (or one named `input_data`)",
                ));
            }
        };
        let mut asset = Mapping::new();
        asset.insert("type".into(), kind.as_str().into());
        asset.insert("path".into(), path.into());
        let mut inputs = Mapping::new();
        inputs.insert(bound.into(), Value::Mapping(asset));
        job.insert("inputs".into(), Value::Mapping(inputs));
    }
    let text = yaml_serde::to_string(&Value::Mapping(job))
        .map_err(|e| Error::usage(format!("cannot write the invocation's pipeline job: {e}"), ""))?;
    // Read back as the runner will: the component must make a pipeline aml-train reads.
    let loaded = crate::yaml::job::load_job_text(component, &text, &[])?;
    if let crate::yaml::job::JobSpec::Pipeline(job) = &loaded.spec {
        crate::yaml::job::expand_pipeline_component(component, job, component).map_err(|e| match e {
            Error::BadInput(bad) => Error::usage(
                format!("the pipeline component `{}`: {}", component.display(), bad),
                bad.hint.clone().unwrap_or_default(),
            ),
            other => other,
        })?;
    }
    Ok(text)
}
