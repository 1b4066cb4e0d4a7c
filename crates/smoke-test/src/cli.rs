//! Command-line types for `smoke-test`; the doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use aml_client::cli::GlobalArgs;
use clap::{Args, Parser, Subcommand};

/// Prove an endpoint works: cases, latency budgets, load, JUnit reports
///
/// Sends each case of a JSON-lines file to an online endpoint and checks the answer
/// (status, expected JSON within a numeric tolerance, or a shape). Under load
/// (`--concurrency`, `--duration` or `--requests`) every answer is still checked, and
/// latency percentiles can be held to budgets (`--p95 50ms`).
///
/// Exit codes: 0 every case passed within budget; 1 a case failed or a budget was missed;
/// 2 bad input (a malformed cases file names the line); 3 the endpoint could not be reached.
#[derive(Debug, Parser)]
#[command(name = "smoke-test", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send the cases (once each, or under load) and check every answer
    Run(RunArgs),
    /// Find the throughput one deployment holds within a latency budget, doubling the load,
    /// and what it uses doing it (`--recommend` sizes it for a target rate)
    Profile(ProfileArgs),
}

#[derive(Debug, Args)]
pub struct Target {
    /// The endpoint's name in the workspace (its scoring URI and key are looked up)
    #[arg(long, conflicts_with = "url", required_unless_present = "url", value_parser = aml_client::names::endpoint_arg)]
    pub endpoint: Option<String>,
    /// The scoring URI, when the endpoint is not in the workspace
    #[arg(long)]
    pub url: Option<String>,
    /// The environment variable holding the key for `--url`
    #[arg(long, value_name = "VARIABLE", requires = "url")]
    pub key_env: Option<String>,
    /// Send every request to this deployment (`azureml-model-deployment` header)
    #[arg(long, value_parser = aml_client::names::deployment_arg)]
    pub deployment: Option<String>,
    /// The cases: one JSON object per line
    #[arg(long, value_name = "FILE")]
    pub cases: PathBuf,
    /// Give up on a request after this long
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: Target,
    /// Connections sending requests at once (1 to 1024)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Keep sending for this long (the cases in turn)
    #[arg(long, value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Send this many requests in all (the cases in turn)
    #[arg(long)]
    pub requests: Option<u64>,
    /// Latency budget for the median
    #[arg(long, value_parser = parse_duration)]
    pub p50: Option<Duration>,
    /// Latency budget for the 95th percentile
    #[arg(long, value_parser = parse_duration)]
    pub p95: Option<Duration>,
    /// Latency budget for the 99th percentile
    #[arg(long, value_parser = parse_duration)]
    pub p99: Option<Duration>,
    /// Also write the results as JUnit XML to this file
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub target: Target,
    /// The budget the load must stay within: the 99th percentile (or `--p95`)
    #[arg(long, value_parser = parse_duration, required_unless_present = "p95")]
    pub p99: Option<Duration>,
    /// Hold the 95th percentile to this budget instead
    #[arg(long, value_parser = parse_duration, conflicts_with = "p99")]
    pub p95: Option<Duration>,
    /// How long each level of load lasts
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub step: Duration,
    /// The most connections to try (1 to 1024)
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub max_concurrency: u16,
    /// Also recommend `resources.requests`/`limits` and an instance count, from the CPU and
    /// memory the deployment used at each step: printed as YAML to paste into the
    /// deployment's file, and as `recommendation` in the JSON. The deployment's processes
    /// are read on this machine, so this needs `--endpoint` on a local workspace (and
    /// `--deployment` when more than one deployment gets traffic)
    #[arg(long)]
    pub recommend: bool,
    /// The rate the recommendation must hold, in requests per second (default: the rate one
    /// instance held within the budget)
    #[arg(long, value_name = "RATE", requires = "recommend", value_parser = positive_rate)]
    pub target_rps: Option<f64>,
    /// Draw latency against load as an SVG file
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("`{text}` is not a rate: give requests per second, e.g. 50 or 12.5")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    aml_client::duration::parse(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
