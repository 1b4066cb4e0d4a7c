//! Command-line types for `aml-train`; the doc comments are the help text.

use std::path::PathBuf;

use aml_client::cli::GlobalArgs;
use aml_client::yaml::SetArg;
use clap::{Args, Parser, Subcommand};

/// Validate and run Azure ML training jobs
///
/// Reads the job YAML `az ml job create` reads (`type: command` and `type: pipeline`),
/// unchanged. On the local workspace (the default, `./.aml`) jobs run here in cached
/// virtualenvs; metrics come from MLflow logging in the script. On an Azure ML workspace
/// (`--workspace azureml://…`) jobs are submitted there (a pipeline's steps as anonymous
/// components): the code is uploaded unless an unchanged snapshot is already there, the job
/// is followed with its log streamed, and its metrics are read from the workspace's MLflow. With `--compute databricks:…` command
/// steps run on Azure Databricks as one-time runs, recorded in the local workspace.
///
/// Exit codes: 0 success; 1 the job failed, was canceled, or data broke its contract;
/// 2 bad input (YAML, flags, paths), nothing written; 3 storage or service failure.
#[derive(Debug, Parser)]
#[command(name = "aml-train", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a job file, its paths and optionally its data, before any compute is spent
    ///
    /// The YAML is checked as `az ml` checks it (unknown fields are errors), every path
    /// it names must exist, pipeline bindings must point at real steps and outputs, and
    /// with `--data-contract` the CSV inputs are checked against columns, types, null
    /// rules and ranges.
    Validate(ValidateArgs),
    /// Run a job to its end, streaming its logs
    ///
    /// Prints the job's name, status, metrics and outputs. Ctrl-C (or the CI cancelling
    /// the step) stops the job and records it as Canceled.
    Run(RunArgs),
    /// Show a job: status, inputs, outputs, metrics, steps
    Show(JobArgs),
    /// Print a job's log (every step's, for a pipeline)
    Logs(LogsArgs),
    /// Print a job's metrics (the last value logged for each)
    Metrics(JobArgs),
    /// Cancel a running job and wait until it has stopped
    ///
    /// On Azure ML, the job is cancelled there. On the local workspace, the `aml-train run`
    /// process running it is signalled as Ctrl-C would, and stops it wherever it runs (here,
    /// or on Databricks with `runs/cancel`).
    Cancel(JobArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The job's YAML file
    pub file: PathBuf,
    /// A data contract (columns, types, null rules, ranges) to check the job's CSV inputs against
    #[arg(long, value_name = "FILE")]
    pub data_contract: Option<PathBuf>,
    /// Override a field of the job file, e.g. `--set inputs.alpha=0.5` (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<SetArg>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job's YAML file
    pub file: PathBuf,
    /// Override a field of the job file, e.g. `--set inputs.alpha=0.5` (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<SetArg>,
    /// The job's name (unique in the workspace); generated when neither this nor the YAML gives one
    #[arg(long, value_parser = aml_client::names::job_arg)]
    pub name: Option<String>,
    /// Experiment to file the job under; defaults to the YAML's, else the current folder's name
    #[arg(long, value_parser = aml_client::names::experiment_arg)]
    pub experiment_name: Option<String>,
    /// Check the job's CSV inputs against this data contract first; a violation stops the run
    #[arg(long, value_name = "FILE")]
    pub data_contract: Option<PathBuf>,
    /// Do not echo the job's output (it is still kept in the job's log)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Where command steps run: `local` (here, the default) or Azure Databricks as
    /// `databricks:https://adb-….azuredatabricks.net?cluster=CLUSTER_ID` (an existing cluster) or
    /// `databricks:https://…?node_type=Standard_DS3_v2&workers=2` (a new one; `spark_version=`
    /// optional); `volume=/Volumes/CATALOG/SCHEMA/VOLUME` holds the run's files
    /// (default /Volumes/main/default/aml_train, or DATABRICKS_VOLUME). Databricks is reached
    /// with DATABRICKS_TOKEN, else an Entra token from the `--auth` identity.
    #[arg(long, value_name = "COMPUTE", env = "AML_COMPUTE", default_value = "local")]
    pub compute: String,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job's name, as `run` printed it
    #[arg(value_parser = aml_client::names::job_arg)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The job's name, as `run` printed it
    #[arg(value_parser = aml_client::names::job_arg)]
    pub name: String,
    /// Only this pipeline step's log
    #[arg(long)]
    pub step: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
