//! A batch model deployment's invocation as a job: a pipeline of one parallel step,
//! `batchscoring`, as Azure ML runs it — the deployment's scoring script over the input's
//! files in mini-batches (the parallel driver), its results in the `score` output's
//! `output_file_name`.

use std::collections::BTreeMap;
use std::path::PathBuf;

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
    match notes.blockers.first() {
        Some(blocker) => Err(Error::usage(
            format!("--input {}", blocker.problem),
            format!("{} (`--input-type` says whether it is a uri_folder or a uri_file)", blocker.hint),
        )),
        None => Ok(input),
    }
}
