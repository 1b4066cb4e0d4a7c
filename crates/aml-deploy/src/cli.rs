//! Command-line types for `aml-deploy`; the doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use aml_client::cli::GlobalArgs;
use aml_client::yaml::SetArg;
use clap::{Args, Parser, Subcommand};

/// Create online and batch endpoints and deployments, roll out new model versions
/// blue/green, and run batch scoring jobs
///
/// Reads the endpoint and deployment YAML `az ml online-endpoint|online-deployment create`
/// and `az ml batch-endpoint|batch-deployment create` read. On the local workspace an online
/// deployment is the Azure ML inference server running your `score.py`, and the endpoint is a
/// router on 127.0.0.1 with key auth, a traffic split, the `azureml-model-deployment` header
/// to pin a deployment, and mirrored traffic. They keep running after this command exits,
/// until `delete`. On an Azure ML workspace they are managed online endpoints and
/// deployments, each change followed until Azure ML is done. A batch endpoint runs nothing
/// between invocations: `invoke` runs its deployment's scoring script over files as a job
/// (local workspace only, for now).
///
/// Exit codes: 0 success; 1 a deployment never became ready, or a rollout failed its checks
/// or analysis and was rolled back; 2 bad input, nothing changed; 3 storage or service
/// failure; 4 a rollout paused on an inconclusive analysis (`--inconclusive pause`).
#[derive(Debug, Parser)]
#[command(name = "aml-deploy", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update an endpoint or a deployment from its YAML file
    ///
    /// Idempotent: the same spec with the same model and code changes nothing and restarts
    /// nothing. A deployment's first revision on an endpoint that serves nothing yet gets
    /// 100% of the traffic; otherwise new deployments get none until `traffic` or `rollout`.
    /// A batch deployment is built and frozen (code, model, environment, settings) for
    /// `invoke`; the first on its endpoint becomes the default.
    Apply(ApplyArgs),
    /// Check an endpoint or deployment file as `apply` would, without a workspace and
    /// without changing anything
    ///
    /// Names, fields, the code folder and its scoring script, the environment's files and an
    /// inline model's path; a registered model or environment is looked up only when applied.
    Validate(ValidateArgs),
    /// Roll out a deployment blue/green: deploy it, shift traffic in steps with a check
    /// after each, and put traffic back as it was if anything fails
    ///
    /// Example:
    ///   aml-deploy rollout --endpoint diabetes -f deployment-green.yml --steps 10,50,100 \
    ///     --check 'smoke-test run --endpoint diabetes --cases smoke.jsonl'
    #[command(verbatim_doc_comment)]
    Rollout(RolloutArgs),
    /// Show an endpoint: scoring URI, traffic, deployments and the model each serves
    Show(EndpointArg),
    /// List the endpoints of the workspace
    List,
    /// Set the traffic split (and mirrored traffic) of an endpoint: `blue=90 green=10`
    Traffic(TrafficArgs),
    /// Print a deployment's server log
    Logs(LogsArgs),
    /// Per-deployment request metrics: count, rate, error rate (non-2xx), latency percentiles
    ///
    /// Read from the endpoint's own record of every request (a local endpoint's router keeps
    /// one line per request under the endpoint's folder, `requests/DAY.jsonl`). Percentiles
    /// are by nearest rank; the rate is over the whole window.
    ///
    /// Example:
    ///   aml-deploy metrics diabetes --since 10m --deployment green -o json
    #[command(verbatim_doc_comment)]
    Metrics(MetricsArgs),
    /// Print what a deployment's data collector collected: one JSON line per event
    ///
    /// A collection is one of the deployment's `data_collector.collections`: `request` and
    /// `response` (the calls' payloads, logged by the endpoint) or one the scoring script fills
    /// with azureml-ai-monitoring's `Collector` (`model_inputs`, `model_outputs`, …). Lines are
    /// Azure ML's (`specversion`, `id`, `type`, `time`, `data`, `xrequestid`, …); the lines of
    /// one call share its `x-request-id`. Read from the local workspace's datastore folder, or
    /// from the Azure ML workspace's blob store.
    ///
    /// Example:
    ///   aml-deploy collected diabetes green model_inputs --since 1h
    #[command(verbatim_doc_comment)]
    Collected(CollectedArgs),
    /// Run a batch endpoint's deployment over files: a scoring job, followed to its end
    ///
    /// The deployment's scoring script (`init()` once per worker, `run(mini_batch)` per
    /// mini-batch of files) runs over every file of `--input`; with `output_action:
    /// append_row` the results go to the job's `score` output, one line each in input order,
    /// in `output_file_name` (`predictions.csv`). Prints the job as `aml-train run` does; it
    /// is a job like any other for `aml-train show|logs|cancel` and `aml-register --job`.
    /// Exit 1 when the job fails, e.g. more files failed than `error_threshold` allows.
    ///
    /// Example:
    ///   aml-deploy invoke diabetes-batch --input data/batch --set mini_batch_size=2 \
    ///     --expect-rows 50 --expect-columns file,row,progression
    #[command(verbatim_doc_comment)]
    Invoke(InvokeArgs),
    /// Delete an endpoint (stopping everything it runs), or one of its deployments
    Delete(DeleteArgs),
    /// Run an endpoint's router (started for you by the other commands)
    #[command(hide = true)]
    ServeEndpoint(EndpointArg),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// An endpoint or deployment YAML file
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,
    /// Override a field of the file, as `apply --set` does (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<SetArg>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// An endpoint or deployment YAML file
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,
    /// Override a field of the file, e.g. `--set model=azureml:diabetes:4` (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<SetArg>,
    /// Give this deployment all of the endpoint's traffic once it is ready (a batch deployment:
    /// make it the endpoint's default deployment)
    #[arg(long)]
    pub all_traffic: bool,
    /// Do not echo the environment build's output
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// The endpoint to roll out on (overrides the file's `endpoint_name`)
    #[arg(long, value_parser = aml_client::names::endpoint_arg)]
    pub endpoint: Option<String>,
    /// The new deployment's YAML file
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,
    /// Override a field of the file (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<SetArg>,
    /// Percent of traffic for the new deployment at each step; the last is where it ends
    #[arg(long, value_delimiter = ',', default_value = "10,50,100", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub steps: Vec<u32>,
    /// A command to run after each step (and after mirroring); exit code 0 means healthy
    #[arg(long, value_name = "COMMAND")]
    pub check: Option<String>,
    /// How long each step lasts before its check runs
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub interval: Duration,
    /// How many failed checks to tolerate (each is retried after `--interval`) before rolling back
    #[arg(long, default_value_t = 0)]
    pub max_failures: u32,
    /// Mirror this percent of requests to the new deployment (answers ignored) for one
    /// interval, with a check, before it gets live traffic
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub mirror: Option<u32>,
    /// A gate to pass before any traffic moves, e.g. `approval-gate wait ID`; failing it rolls back
    #[arg(long, value_name = "COMMAND")]
    pub confirm: Option<String>,
    /// A rule each step must pass, over the new and old deployments' metrics for the step's
    /// window (repeatable): `error_rate < 0.01`, `p99_ms < 300`,
    /// `new.p99_ms <= old.p99_ms * 1.2`. Metrics: requests, requests_per_second, errors,
    /// error_rate, p50_ms, p90_ms, p95_ms, p99_ms; a bare name is the new deployment's, `old.`
    /// the one that had the most traffic before. The approval gate's rule language
    #[arg(long, value_name = "RULE")]
    pub analysis: Vec<String>,
    /// Fewer requests than this to the new deployment in a step's window is inconclusive
    #[arg(long, default_value_t = 50)]
    pub min_requests: u64,
    /// How many failed analyses to tolerate (each is redone after `--interval`) before rolling back
    #[arg(long, default_value_t = 0)]
    pub failure_limit: u32,
    /// What an inconclusive analysis does: `fail` rolls back, `pass` goes on, `pause` stops
    /// where it is (traffic and all; exit 4) for a person to decide: `--resume` goes on
    #[arg(long, value_enum, default_value = "fail")]
    pub inconclusive: crate::analysis::Inconclusive,
    /// With `--inconclusive pause`: who may decide. A pause then files an approval request
    /// for the new deployment's model (as `approval-gate request`), whose id the output
    /// gives: `approval-gate wait ID`, then `aml-deploy rollout --resume`
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub approvers: Vec<String>,
    /// Continue a rollout of this deployment that was interrupted (killed, a lost agent) from
    /// the step it reached, with its steps. Without it, an interrupted rollout's traffic is
    /// put back before this one starts.
    #[arg(long)]
    pub resume: bool,
    /// Do not echo the environment build's and the checks' output
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    aml_client::duration::parse(text)
}

#[derive(Debug, Args)]
pub struct EndpointArg {
    /// The endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct TrafficArgs {
    /// The endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub name: String,
    /// Live traffic per deployment, `blue=90 green=10`; must add up to 100 (or all 0)
    #[arg(value_name = "DEPLOYMENT=PERCENT")]
    pub split: Vec<String>,
    /// Mirrored traffic, `green=10` (repeatable; `green=0` stops it)
    #[arg(long, value_name = "DEPLOYMENT=PERCENT")]
    pub mirror: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub name: String,
    /// The deployment's name
    #[arg(value_parser = aml_client::names::deployment_arg)]
    pub deployment: String,
    /// Only the last N lines
    #[arg(long)]
    pub tail: Option<usize>,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub name: String,
    /// Only this deployment
    #[arg(long, value_parser = aml_client::names::deployment_arg)]
    pub deployment: Option<String>,
    /// The window: requests answered this long ago or since
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub since: Duration,
    /// Also draw each deployment's latency percentiles and error rate over the window as an
    /// SVG file
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// The width of each point in time on the chart (default: a twentieth of the window)
    #[arg(long, value_parser = parse_duration, requires = "plot")]
    pub bucket: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct CollectedArgs {
    /// The endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub endpoint: String,
    /// The deployment's name
    #[arg(value_parser = aml_client::names::deployment_arg)]
    pub deployment: String,
    /// The collection: request, response, model_inputs, model_outputs, or another the
    /// deployment's data_collector names
    pub collection: String,
    /// Lines collected this long ago or since
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub since: Duration,
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The batch endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub name: String,
    /// The deployment to run (default: the endpoint's default deployment)
    #[arg(long, value_parser = aml_client::names::deployment_arg)]
    pub deployment: Option<String>,
    /// The data to score: a local folder or file, `azureml://datastores/NAME/paths/PATH`, or
    /// an `https://` file
    #[arg(long, value_name = "PATH|URI")]
    pub input: String,
    /// Whether the input is a folder of files or one file
    #[arg(long, value_enum, default_value = "uri_folder")]
    pub input_type: InputType,
    /// A setting for this job only (repeatable): mini_batch_size, max_concurrency_per_instance,
    /// instance_count, output_file_name, error_threshold, max_retries, timeout, logging_level
    #[arg(long = "set", value_name = "SETTING=VALUE", value_parser = setting)]
    pub sets: Vec<(String, String)>,
    /// The job's name (default: a new unique name)
    #[arg(long, value_parser = aml_client::names::job_arg)]
    pub job_name: Option<String>,
    /// Where the job's `score` output goes: `azureml://datastores/NAME/paths/PATH` (a folder of
    /// the local workspace's datastore, or of the Azure ML workspace's)
    #[arg(long, value_name = "URI", value_parser = output_path)]
    pub output_path: Option<(String, String)>,
    /// A scoring smoke test: the output's file (its one file, or `predictions.csv`) must
    /// hold this many rows (a header naming `--expect-columns` is not one); exit 1 if not
    #[arg(long, value_name = "N")]
    pub expect_rows: Option<usize>,
    /// The columns every row must have, by name (a header line, if the file has one, must
    /// name them; otherwise each row must have that many fields); exit 1 if not
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub expect_columns: Vec<String>,
    /// Do not echo the job's log while it runs
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum InputType {
    UriFolder,
    UriFile,
}

fn output_path(text: &str) -> Result<(String, String), String> {
    let rest = text
        .strip_prefix("azureml://datastores/")
        .ok_or_else(|| format!("`{text}` is not a datastore path; write `azureml://datastores/NAME/paths/PATH`"))?;
    let (datastore, path) = rest
        .split_once("/paths/")
        .ok_or_else(|| format!("`{text}` has no `/paths/`; write `azureml://datastores/NAME/paths/PATH`"))?;
    aml_client::names::DatastoreName::new(datastore).map_err(|e| e.to_string())?;
    let path = path.trim_matches('/');
    aml_client::names::relative_path(path).map_err(|e| e.to_string())?;
    Ok((datastore.to_string(), path.to_string()))
}

fn setting(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("`{text}` is not SETTING=VALUE"))?;
    Ok((name.trim().to_string(), value.to_string()))
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The endpoint's name
    #[arg(value_parser = aml_client::names::endpoint_arg)]
    pub name: String,
    /// Delete only this deployment (it must get no traffic)
    #[arg(long, value_parser = aml_client::names::deployment_arg)]
    pub deployment: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
