//! A pipeline's `type: parallel` step as a command the local runner can run: the parallel
//! driver (`parallel_driver.py`, written beside the job by the runner, its path in
//! `AML_PARALLEL_DRIVER`) splits the step's `input_data` into mini-batches of files, calls the
//! task's `init()` once in each of `max_concurrency_per_instance` worker processes and
//! `run(mini_batch)` per mini-batch, retries and counts failures as `retry_settings`,
//! `error_threshold` and `mini_batch_error_threshold` say, and writes `append_row_to`'s rows
//! in input order.

use std::path::Path;

use crate::error::{Error, Result};
use crate::yaml::environment::EnvironmentRef;
use crate::yaml::io::{AssetType, JobInput};
use crate::yaml::job::PipelineStep;

/// The driver the runner writes beside a job with a parallel step.
pub const PARALLEL_DRIVER: &str = include_str!("parallel_driver.py");
/// Where the runner tells the step's command the driver is.
pub const DRIVER_VARIABLE: &str = "AML_PARALLEL_DRIVER";

/// Azure ML's defaults: 10 files a mini-batch, one worker, 3 retries of 60 seconds.
const DEFAULT_MINI_BATCH_SIZE: u64 = 10;
const DEFAULT_RETRIES: i64 = 3;
const DEFAULT_TIMEOUT: i64 = 60;

/// What a parallel step runs: its command, and its task's code folder and environment as
/// written (the pipeline's planner resolves them as it does a command step's).
pub(super) struct ParallelCommand {
    pub command: String,
    pub code: Option<String>,
    pub environment: EnvironmentRef,
    /// Parts only Azure ML runs, as (field, what): said where the plan says what runs where.
    pub elsewhere: Vec<(String, String)>,
}

/// Fields a command step has and a parallel step does not.
const COMMAND_ONLY: [&str; 4] = ["command", "code", "distribution", "limits"];

pub(super) fn parallel_command(file: &Path, field: &str, step: &PipelineStep) -> Result<ParallelCommand> {
    let mut elsewhere = Vec::new();
    let command_only =
        [step.command.is_some(), step.code.is_some(), step.distribution.is_some(), step.limits.is_some()];
    if let Some((name, _)) = COMMAND_ONLY.iter().zip(command_only).find(|(_, set)| *set) {
        return Err(Error::in_file(
            file,
            Some(&format!("{field}.{name}")),
            "is a command step's field, not a parallel step's",
            "a parallel step's code, entry script and environment go under `task:`",
        ));
    }
    let task = step.task.as_ref().ok_or_else(|| {
        Error::in_file(
            file,
            Some(&format!("{field}.task")),
            "is missing",
            "give the task: `type: run_function`, `code`, `entry_script` and `environment`",
        )
    })?;
    if task.kind != "run_function" {
        elsewhere.push((format!("{field}.task.type"), format!("a parallel task of type `{}`", task.kind)));
    }
    let environment = task.environment.as_ref().ok_or_else(|| {
        Error::in_file(
            file,
            Some(&format!("{field}.task.environment")),
            "is missing",
            "give the task an environment (`image` and `conda_file`)",
        )
    })?;
    let entry = task.entry_script.as_deref().ok_or_else(|| {
        Error::in_file(
            file,
            Some(&format!("{field}.task.entry_script")),
            "is missing",
            "name the script whose `init()` and `run(mini_batch)` score each mini-batch",
        )
    })?;
    let input = step.input_data.as_deref().ok_or_else(|| {
        Error::in_file(
            file,
            Some(&format!("{field}.input_data")),
            "is missing",
            "bind the data to split into mini-batches: `input_data: ${{inputs.NAME}}`",
        )
    })?;
    let input_name = input
        .trim()
        .strip_prefix("${{inputs.")
        .and_then(|rest| rest.strip_suffix("}}"))
        .filter(|name| step.inputs.get(name).is_some())
        .ok_or_else(|| {
            Error::in_file(
                file,
                Some(&format!("{field}.input_data")),
                format!("`{input}` is not one of the step's inputs"),
                "write `input_data: ${{inputs.NAME}}` with NAME under the step's `inputs:`",
            )
        })?;
    let files_in = match step.inputs.get(input_name) {
        Some(JobInput::Asset(asset)) => asset.kind,
        _ => AssetType::UriFolder,
    };
    let mini_batch_size = step.mini_batch_size.as_deref().map(str::trim);
    let count = match mini_batch_size {
        None => Some(DEFAULT_MINI_BATCH_SIZE),
        Some(text) => text.parse::<u64>().ok().filter(|n| *n > 0),
    };
    if matches!(files_in, AssetType::Mltable) || count.is_none() {
        elsewhere.push((
            format!("{field}.input_data"),
            "tabular data split into mini-batches by size (an `mltable` input, or a `mini_batch_size` like `10kb`); a local workspace splits a `uri_folder` of files by count".into(),
        ));
    }
    if step.partition_keys.is_some() {
        elsewhere.push((format!("{field}.partition_keys"), "mini-batches partitioned by keys".into()));
    }
    let retries = step.retry_settings.as_ref();
    let number = |value: Option<&yaml_serde::Value>, name: &str, default: i64| -> Result<i64> {
        match value {
            None => Ok(default),
            Some(yaml_serde::Value::Number(n)) => n.as_i64().ok_or_else(|| bad_number(file, field, name)),
            Some(_) => Err(bad_number(file, field, name)),
        }
    };
    let max_retries = number(retries.and_then(|r| r.max_retries.as_ref()), "max_retries", DEFAULT_RETRIES)?;
    let timeout = number(retries.and_then(|r| r.timeout.as_ref()), "timeout", DEFAULT_TIMEOUT)?;
    let call = DriverCall {
        entry_script: entry,
        input,
        mini_batch_size: count.unwrap_or(DEFAULT_MINI_BATCH_SIZE),
        max_concurrency: u64::try_from(step.max_concurrency_per_instance.unwrap_or(1)).unwrap_or(1).max(1),
        error_threshold: step.error_threshold.unwrap_or(-1),
        mini_batch_error_threshold: step.mini_batch_error_threshold.unwrap_or(-1),
        max_retries,
        timeout,
        append_row_to: task.append_row_to.as_deref(),
        logging_level: step.logging_level.as_deref(),
        program_arguments: task.program_arguments.as_deref(),
    };
    let command = call.command();
    Ok(ParallelCommand { command, code: task.code.clone(), environment: environment.clone(), elsewhere })
}

/// One run of the parallel driver: the task, its input and how it is split, retried and judged.
pub(super) struct DriverCall<'a> {
    pub entry_script: &'a str,
    /// The data to split, as the command writes it (`${{inputs.NAME}}`).
    pub input: &'a str,
    pub mini_batch_size: u64,
    pub max_concurrency: u64,
    /// Failed files tolerated; -1: any number.
    pub error_threshold: i64,
    pub mini_batch_error_threshold: i64,
    pub max_retries: i64,
    pub timeout: i64,
    /// Where the results go, one line each (`${{outputs.NAME}}`, or a file in it).
    pub append_row_to: Option<&'a str>,
    pub logging_level: Option<&'a str>,
    /// The task's own arguments, after `--`.
    pub program_arguments: Option<&'a str>,
}

impl DriverCall<'_> {
    pub fn command(&self) -> String {
        let mut command = format!(
            // The paths are double-quoted: a folder of the user's may have spaces in its name.
            "python \"${DRIVER_VARIABLE}\" --entry-script {} --input-data \"{}\" --mini-batch-size {} --max-concurrency {} --error-threshold {} --mini-batch-error-threshold {} --max-retries {} --timeout {}",
            shell_quote(self.entry_script),
            self.input,
            self.mini_batch_size,
            self.max_concurrency,
            self.error_threshold,
            self.mini_batch_error_threshold,
            self.max_retries,
            self.timeout,
        );
        if let Some(append) = self.append_row_to {
            command.push_str(&format!(" --append-row-to \"{append}\""));
        }
        if let Some(level) = self.logging_level {
            command.push_str(&format!(" --logging-level {}", shell_quote(level)));
        }
        if let Some(arguments) = self.program_arguments {
            command.push_str(" -- ");
            command.push_str(arguments.trim());
        }
        command
    }
}

fn bad_number(file: &Path, field: &str, name: &str) -> Error {
    Error::in_file(
        file,
        Some(&format!("{field}.retry_settings.{name}")),
        "is not a whole number",
        "write a number of retries or seconds",
    )
}

/// `'text'` for `sh -c`: single quotes, a single quote written `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
