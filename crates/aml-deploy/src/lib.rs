//! `aml-deploy`: online and batch endpoints and deployments. `run` is what `main` calls and what the
//! tests call; it returns a report and never exits the process.

mod analysis;
mod cli;
mod expect;
mod metrics_plot;
pub mod output;
pub mod rollout;

use std::collections::BTreeMap;

use aml_client::cli::{Report, Session};
use aml_client::jobs::RunOptions;
use aml_client::names::DeploymentName;
use aml_client::online::BatchInvocation;
use aml_client::workspace::DeployOptions;
use aml_client::yaml::deploy_file::{OnlineSpec, load_online};
use aml_client::yaml::io::AssetType;
use aml_client::{Access, Error, Result, Workspace};
pub use cli::{Cli, Command};
use output::{Applied, Deleted, EndpointView, Endpoints, Logs, Validated};

/// The most points in time `metrics --plot` draws: more would not be readable, and would
/// take long to compute over a long window.
const MAX_CHART_POINTS: i64 = 2000;

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    let global = &cli.global;
    match cli.command {
        Command::Validate(args) => {
            let spec = load_online(&args.file, &args.sets)?;
            let notes = aml_client::jobplan::online::check_online(&spec)?;
            Ok(Box::new(Validated::new(&args.file, &spec, notes)))
        }
        Command::Apply(args) => {
            let spec = load_online(&args.file, &args.sets)?;
            let mut ws = match (&spec, Workspace::open_if_exists(&global.workspace, &session.settings).await?) {
                (_, Some(ws)) => ws,
                (OnlineSpec::Endpoint { .. } | OnlineSpec::BatchEndpoint { .. }, None) => {
                    Workspace::open(&global.workspace, Access::CreateIfMissing, &session.settings).await?
                }
                (OnlineSpec::Deployment { .. } | OnlineSpec::BatchDeployment { .. }, None) => {
                    let endpoint = match &spec {
                        OnlineSpec::BatchDeployment { spec, .. } => spec.endpoint_name().to_string(),
                        OnlineSpec::Deployment { spec, .. } => spec.endpoint_name.to_string(),
                        OnlineSpec::Endpoint { .. } | OnlineSpec::BatchEndpoint { .. } => String::new(),
                    };
                    return Err(Error::in_file(
                        &args.file,
                        Some("endpoint_name"),
                        format!("endpoint `{endpoint}` does not exist: there is no workspace here yet"),
                        "apply the endpoint file first (`aml-deploy apply -f endpoint.yml`)",
                    ));
                }
            };
            let (kind, name) = match &spec {
                OnlineSpec::Endpoint { spec, .. } => ("endpoint", spec.name.to_string()),
                OnlineSpec::Deployment { spec, .. } => ("deployment", spec.name.to_string()),
                OnlineSpec::BatchEndpoint { spec, .. } => ("batch endpoint", spec.name.to_string()),
                OnlineSpec::BatchDeployment { spec, .. } => ("batch deployment", spec.name().to_string()),
            };
            let options = DeployOptions {
                all_traffic: args.all_traffic,
                keep_traffic: false,
                stream_logs: !args.quiet,
                requested_by: session.ci.requester.clone(),
            };
            let (endpoint, outcome) = ws.apply_online(&spec, &options).await?;
            Ok(Box::new(Applied { kind, name, outcome, endpoint }))
        }
        Command::Invoke(args) => {
            let mut ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let invocation = BatchInvocation {
                endpoint: args.name,
                deployment: args.deployment,
                input: args.input,
                input_type: match args.input_type {
                    cli::InputType::UriFolder => AssetType::UriFolder,
                    cli::InputType::UriFile => AssetType::UriFile,
                },
                sets: args.sets,
                output_path: args.output_path,
            };
            let options = RunOptions {
                name: args.job_name,
                experiment_name: None,
                display_name: None,
                stream_logs: !args.quiet,
                ci: session.ci.clone(),
            };
            let expected = expect::Expectation { rows: args.expect_rows, columns: args.expect_columns };
            let result = ws.invoke_batch(&invocation, &options).await?;
            let job = ws.job_view(&result.job).await?;
            let completed = result.job.status == aml_client::jobs::JobStatus::Completed;
            let check = match (expected.is_empty(), completed) {
                (false, true) => {
                    // The model deployment's `score`, or the pipeline's one output.
                    let output = match job.outputs.keys().collect::<Vec<_>>().as_slice() {
                        [only] => (*only).clone(),
                        _ => aml_client::jobplan::batch::SCORE_OUTPUT.to_string(),
                    };
                    let folder = ws.job_output_path(&job.name, &output).await?;
                    Some(expect::check(&folder, &expected)?)
                }
                _ => None,
            };
            Ok(Box::new(expect::Invoked { job, check }))
        }
        Command::Rollout(args) => {
            let mut ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let location = ws.location();
            Ok(Box::new(rollout::rollout(&mut ws, &location, args, &session.ci.clone()).await?))
        }
        Command::Show(args) => {
            let mut ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            Ok(Box::new(EndpointView(ws.endpoint(&args.name).await?)))
        }
        Command::List => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            Ok(Box::new(Endpoints(ws.endpoints().await?)))
        }
        Command::Traffic(args) => {
            let mut ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            if args.split.is_empty() && args.mirror.is_empty() {
                return Err(Error::usage(
                    "no traffic given",
                    "write the split as `blue=90 green=10`, or `--mirror green=10`",
                ));
            }
            let traffic = (!args.split.is_empty()).then(|| weights(&args.split)).transpose()?;
            let mirror = (!args.mirror.is_empty()).then(|| weights(&args.mirror)).transpose()?;
            Ok(Box::new(EndpointView(ws.set_traffic(&args.name, traffic, mirror, session.ci.requester.clone()).await?)))
        }
        Command::Logs(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let (path, text) = ws.deployment_log(&args.name, &args.deployment, args.tail).await?;
            Ok(Box::new(Logs { path, text }))
        }
        Command::Metrics(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let deployment = args.deployment.as_deref();
            let (metrics, plot) = match &args.plot {
                None => (ws.endpoint_metrics(&args.name, deployment, args.since).await?, None),
                Some(path) => {
                    let (span, records) = ws.endpoint_requests(&args.name, deployment, args.since).await?;
                    let metrics = aml_client::requests::metrics(&args.name, &records, span, deployment);
                    let bucket = args.bucket.unwrap_or(args.since / 20).max(std::time::Duration::from_secs(1));
                    let bucket_ms = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX);
                    let points = (span.1 - span.0) / bucket_ms;
                    if points > MAX_CHART_POINTS {
                        return Err(Error::usage(
                            format!(
                                "`--bucket` cuts the window into {points} points; a chart takes at most {MAX_CHART_POINTS}"
                            ),
                            "give a wider `--bucket` (or leave it out: a twentieth of the window)",
                        ));
                    }
                    let series = aml_client::requests::series(&records, span, bucket_ms, deployment);
                    metrics_plot::write(path, &args.name, &series)?;
                    (metrics, Some(path.display().to_string()))
                }
            };
            Ok(Box::new(output::Metrics { metrics, plot }))
        }
        Command::Collected(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let lines = ws.collected(&args.endpoint, &args.deployment, &args.collection, args.since).await?;
            Ok(Box::new(output::Collected { lines }))
        }
        Command::Delete(args) => {
            let mut ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            let what = match &args.deployment {
                Some(deployment) => {
                    ws.delete_deployment(&args.name, deployment).await?;
                    format!("deployment {deployment} of endpoint {}", args.name)
                }
                None => {
                    ws.delete_endpoint(&args.name).await?;
                    format!("endpoint {}", args.name)
                }
            };
            Ok(Box::new(Deleted { what }))
        }
        Command::ServeEndpoint(args) => {
            let ws = Workspace::open(&global.workspace, Access::Existing, &session.settings).await?;
            ws.serve_endpoint(&args.name).await?;
            Ok(Box::new(Deleted { what: format!("router of endpoint {} (stopped)", args.name) }))
        }
    }
}

/// `blue=90 green=10` → weights; each deployment named once, by a valid name.
fn weights(pairs: &[String]) -> Result<BTreeMap<String, u32>> {
    let mut weights = BTreeMap::new();
    for pair in pairs {
        let (name, percent) = pair
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("`{pair}` is not `deployment=percent`"), "write `blue=90`"))?;
        let name = DeploymentName::new(name)?;
        let percent: u32 = percent.parse().ok().filter(|p| *p <= 100).ok_or_else(|| {
            Error::usage(format!("`{percent}` in `{pair}` is not a percent"), "use a whole number from 0 to 100")
        })?;
        if weights.insert(name.to_string(), percent).is_some() {
            return Err(Error::usage(
                format!("deployment `{name}` is given twice"),
                "give each deployment once: `blue=90 green=10`",
            ));
        }
    }
    Ok(weights)
}
