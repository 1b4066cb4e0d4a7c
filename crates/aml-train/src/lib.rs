//! `aml-train`: validate and run Azure ML v2 training jobs. `run` is what `main` calls and
//! what the tests call; it returns a report and never exits the process.

mod cli;
pub mod contract;
pub mod output;

use std::path::Path;

use aml_client::cli::{Report, Session};
use aml_client::jobplan::{self as plan, Plan};
use aml_client::jobs::RunOptions;
use aml_client::settings::Settings;
use aml_client::yaml::SetArg;
use aml_client::yaml::job::{LoadedJob, load_job};
use aml_client::{Access, Error, Result, Workspace};
pub use cli::{Cli, Command};
use output::{JobView, LogPart, LogsView, MetricsView, ValidateView};

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    let global = &cli.global;
    match cli.command {
        Command::Validate(args) => {
            let (_, _, plan) = load_and_plan(&args.file, &args.sets, &global.workspace, &session.settings).await?;
            let data_checks = match &args.data_contract {
                Some(path) => contract::check(path, &contract::load(path)?, &plan)?,
                None => Vec::new(),
            };
            warn(&plan);
            Ok(Box::new(validate_view(&args.file, &plan, data_checks)))
        }
        Command::Run(args) => {
            // Everything is checked before the workspace is created: bad input writes nothing.
            let (existing, job, plan) =
                load_and_plan(&args.file, &args.sets, &global.workspace, &session.settings).await?;
            let databricks = compute(&args.compute, &args.file, &plan, &session.settings).await?;
            let location: aml_client::location::WorkspaceLocation = global.workspace.parse()?;
            if databricks.is_some() {
                plan.check_runs_locally()?;
            } else if matches!(location, aml_client::location::WorkspaceLocation::Local(_)) {
                Workspace::check_runs_here(&plan, &session.settings)?;
            } else {
                plan.check_submits()?;
            }
            warn(&plan);
            if let Some(path) = &args.data_contract {
                let checks = contract::check(path, &contract::load(path)?, &plan)?;
                let view = validate_view(&args.file, &plan, checks);
                if !view.valid {
                    return Ok(Box::new(view));
                }
            }
            let mut ws = match existing {
                Some(ws) => ws,
                None => Workspace::open(&global.workspace, Access::CreateIfMissing, &session.settings).await?,
            };
            let options = RunOptions {
                name: args.name,
                experiment_name: args.experiment_name,
                display_name: None,
                stream_logs: !args.quiet,
                ci: session.ci.clone(),
            };
            let result = ws.run_job(&job, &plan, &options, databricks.as_ref()).await?;
            Ok(Box::new(job_view(&ws, &result.job).await?))
        }
        Command::Show(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let job = ws.job(&args.name).await?;
            Ok(Box::new(job_view(&ws, &job).await?))
        }
        Command::Cancel(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let job = ws.cancel_job(&args.name).await?;
            Ok(Box::new(output::CancelView(job_view(&ws, &job).await?)))
        }
        Command::Metrics(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let job = ws.job(&args.name).await?;
            Ok(Box::new(MetricsView { name: job.name.to_string(), metrics: ws.job_metrics(&job).await? }))
        }
        Command::Logs(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let job = ws.job(&args.name).await?;
            let mut parts = Vec::new();
            let steps = ws.job_steps(&job.name).await?;
            let jobs = if steps.is_empty() { vec![job.clone()] } else { steps };
            if let Some(wanted) = &args.step
                && !jobs.iter().any(|j| j.step.as_deref() == Some(wanted.as_str()))
            {
                return Err(Error::usage(
                    format!("job `{}` has no step `{wanted}`", job.name),
                    format!(
                        "its steps: {}",
                        jobs.iter().filter_map(|j| j.step.as_deref()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            for part in jobs.iter().filter(|j| args.step.is_none() || j.step == args.step) {
                let (path, text) = ws.job_log_text(&part.name).await?;
                parts.push(LogPart { step: part.step.clone(), job: part.name.to_string(), path, text });
            }
            Ok(Box::new(LogsView { name: job.name.into(), logs: parts }))
        }
    }
}

/// `--compute`: here, or Databricks — where every step's command must be one Python
/// invocation (checked now, before anything is written).
async fn compute(
    text: &str,
    file: &Path,
    plan: &Plan,
    settings: &Settings,
) -> Result<Option<aml_client::databricks::Compute>> {
    if text == "local" {
        return Ok(None);
    }
    let Some(parsed) = aml_client::databricks::Compute::parse(text, settings) else {
        return Err(Error::usage(
            format!("--compute `{text}` is not a compute"),
            "use `local` or `databricks:https://HOST?cluster=ID` (see --help)",
        ));
    };
    let compute = parsed?;
    for step in &plan.steps {
        if let Err(problem) = aml_client::databricks::python_command(&step.command) {
            let field = match &step.step {
                Some(name) => format!("jobs.{name}.command"),
                None => "command".to_string(),
            };
            return Err(Error::in_file(
                file,
                Some(&field),
                problem,
                "write the command as `python FILE …` to run it on Databricks",
            ));
        }
    }
    aml_client::databricks::preflight(&compute, settings).await?;
    Ok(Some(compute))
}

/// Load a job file and check it against the workspace, if there is one yet (job-output
/// inputs can only be resolved against a workspace that exists).
async fn load_and_plan(
    file: &Path,
    sets: &[SetArg],
    workspace: &str,
    settings: &Settings,
) -> Result<(Option<Workspace>, LoadedJob, Plan)> {
    let job = load_job(file, sets)?;
    let existing = Workspace::open_if_exists(workspace, settings).await?;
    let plan = match &existing {
        Some(ws) => ws.plan_job(&job).await?,
        None => plan::plan(&job, None).await?,
    };
    Ok((existing, job, plan))
}

fn warn(plan: &Plan) {
    for warning in &plan.warnings {
        aml_client::status!("warning: {warning}");
    }
}

fn validate_view(file: &Path, plan: &Plan, data_checks: Vec<contract::DataCheck>) -> ValidateView {
    let (inputs, outputs) = match plan.steps.first() {
        Some(step) if plan.kind == "command" => (
            step.inputs.iter().map(|(n, _)| n.clone()).collect(),
            step.outputs.iter().map(|(n, _)| n.clone()).collect(),
        ),
        _ => (
            plan.inputs.iter().map(|(n, _)| n.clone()).collect(),
            plan.outputs.iter().map(|o| o.name.clone()).collect(),
        ),
    };
    ValidateView {
        file: file.display().to_string(),
        kind: plan.kind.to_string(),
        valid: data_checks.iter().all(|c| c.passed),
        steps: plan.steps.iter().filter_map(|s| s.step.clone()).collect(),
        inputs,
        outputs,
        warnings: plan.warnings.clone(),
        notes: plan.blockers.iter().map(|b| b.note()).collect(),
        data_checks,
    }
}

async fn job_view(ws: &Workspace, job: &aml_client::jobs::Job) -> Result<JobView> {
    ws.job_view(job).await
}
