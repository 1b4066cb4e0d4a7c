//! Command-line types for `approval-gate`; the doc comments are the help text.

use std::path::PathBuf;

use aml_client::cli::GlobalArgs;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Decide promotions: metric gates against the champion, and recorded manual approvals
///
/// `check` compares a candidate (a model version, or a job before it is registered) with
/// the champion (a model version, a tag query, or the model serving most of an endpoint's
/// traffic) by rules over their metrics. `request`, `approve`, `reject` and `wait` run a
/// manual approval through the workspace, so the approver can be another shell, another
/// pipeline step or another machine sharing the workspace. Every decision is recorded on
/// the model version and in the workspace's audit trail (`history`).
///
/// Exit codes: 0 passed or approved; 1 the gate failed, or the request was rejected or
/// expired; 2 bad input (a rule, a missing metric, an unknown reference, a person not
/// allowed to approve), nothing written; 3 storage failure.
#[derive(Debug, Parser)]
#[command(name = "approval-gate", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare a candidate with the champion by rules over their metrics, and record it
    ///
    /// Examples:
    ///
    ///   approval-gate check --candidate job:JOB --champion endpoint:diabetes \
    ///       --rule 'candidate.rmse <= champion.rmse * 1.02' --rule 'candidate.r2 >= 0.35' \
    ///       --no-champion pass
    ///   approval-gate check --candidate diabetes:4 --champion diabetes@stage=production --rules gate.yml
    ///   approval-gate check --candidate diabetes:4 --champion diabetes:3 \
    ///       --metric rmse:lower,min_relative_change=0.01,threshold=60
    ///
    /// Rules: numbers, `candidate.NAME`, `champion.NAME`, + - * /, abs(), < <= > >= == !=,
    /// not, and, or, parentheses. A rule file holds `rules:` (a list of rules), `metrics:`
    /// (NAME: {direction: lower|higher, threshold, min_absolute_change,
    /// min_relative_change}) and `no_champion: pass|fail`.
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),
    /// Ask for a manual approval of a model version for a stage; prints the request's id
    ///
    /// Example:
    ///
    ///   approval-gate request --model diabetes:4 --stage production --approvers ml-lead,qa-lead
    #[command(verbatim_doc_comment)]
    Request(RequestArgs),
    /// Approve a pending request (as one of its approvers)
    Approve(DecideArgs),
    /// Reject a pending request (as one of its approvers, or the requester withdrawing it)
    Reject(DecideArgs),
    /// Wait until a request is approved (exit 0), rejected or expired (exit 1)
    Wait(WaitArgs),
    /// List approval requests, newest first
    List(ListArgs),
    /// Record an approval given in the CI itself (Azure DevOps, GitHub, Jenkins), with who gave it
    ///
    /// Reads who approved from the CI system's API, as a later step of the same run:
    ///
    ///   approval-gate record --model diabetes:4 --stage production --from github
    ///       (GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID; the review of
    ///        environment `production`, or `--environment NAME`)
    ///   approval-gate record --model diabetes:4 --stage production --from azure-devops --approval-id GUID
    ///       (SYSTEM_ACCESSTOKEN mapped from $(System.AccessToken), SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT)
    ///   approval-gate record --model diabetes:4 --stage production --from jenkins --approver "$APPROVER"
    ///       (the `input` step's `submitterParameter`; BUILD_URL)
    #[command(verbatim_doc_comment)]
    Record(RecordArgs),
    /// Show every gate decision and approval recorded about a model version or a job
    ///
    /// Examples: `approval-gate history diabetes:4`, `approval-gate history job:JOB`
    History(HistoryArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoChampion {
    /// No champion yet (the first model): decide by the rules on the candidate alone
    Pass,
    /// No champion yet: fail the gate
    Fail,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The model version (`diabetes:4`, `diabetes@latest`) or job (`job:JOB`) to promote
    #[arg(long, value_name = "REF")]
    pub candidate: String,
    /// What it must beat: `diabetes:3`, `diabetes@stage=production`, or `endpoint:NAME` (the
    /// model serving the most traffic there now; none while the endpoint does not exist).
    /// Without it, there is no champion
    #[arg(long, value_name = "REF")]
    pub champion: Option<String>,
    /// A rule, such as `candidate.rmse <= champion.rmse * 1.02` (repeatable)
    #[arg(long = "rule", value_name = "EXPR")]
    pub rules: Vec<String>,
    /// A YAML file of rules, metric thresholds and `no_champion`
    #[arg(long = "rules", value_name = "FILE")]
    pub rules_file: Option<PathBuf>,
    /// A metric gate as MLflow's MetricThreshold: `rmse:lower,threshold=60,min_relative_change=0.01`
    /// (also `min_absolute_change`; `higher` for metrics like r2) (repeatable)
    #[arg(long = "metric", value_name = "SPEC")]
    pub metrics: Vec<String>,
    /// What to decide when there is no champion yet [default: fail, or the rules file's]
    #[arg(long, value_enum, value_name = "DECISION")]
    pub no_champion: Option<NoChampion>,
    /// Pass the gate even if rules fail; recorded as an override with `--reason`
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why the gate is forced (recorded in the audit trail)
    #[arg(long, requires = "force", value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The model version to approve: `diabetes:4` (a query is resolved to its version now)
    #[arg(long, value_name = "REF")]
    pub model: String,
    /// The stage it is approved for, such as `production`
    #[arg(long)]
    pub stage: String,
    /// Who may approve: comma-separated names, as they will pass `--by`
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    pub approvers: Vec<String>,
    /// Let the requester approve their own request
    #[arg(long)]
    pub allow_self_approval: bool,
    /// Who asks [default: the CI run's requester, else the user running this]
    #[arg(long, value_name = "NAME")]
    pub requester: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The request's id, as `request` printed it
    pub id: String,
    /// Who decides [default: the CI run's requester, else the user running this]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Why, recorded with the decision
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The request's id, as `request` printed it
    pub id: String,
    /// How long to wait before the request expires: `30m`, `2h`, `90s`
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub timeout: String,
    /// How often to look: `1s`, `250ms`
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub interval: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only requests in this state: pending, approved, rejected, expired
    #[arg(long)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiSource {
    /// An Azure DevOps approval (environment check or ManualValidation), by its id
    AzureDevops,
    /// The review of a GitHub environment in this workflow run
    Github,
    /// A Jenkins `input` step's submitter
    Jenkins,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The model version approved: `diabetes:4`
    #[arg(long, value_name = "REF")]
    pub model: String,
    /// The stage it was approved for, such as `production`
    #[arg(long)]
    pub stage: String,
    /// Which CI system holds the approval
    #[arg(long, value_enum)]
    pub from: CiSource,
    /// Azure DevOps: the approval's id (a GUID)
    #[arg(long, value_name = "GUID")]
    pub approval_id: Option<String>,
    /// GitHub: the environment whose review to record [default: the stage]
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Jenkins: who approved, from the `input` step's `submitterParameter`
    #[arg(long, value_name = "NAME")]
    pub approver: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A model version (`diabetes:4`, `diabetes@stage=production`) or a job (`job:JOB`)
    #[arg(value_name = "REF")]
    pub subject: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
