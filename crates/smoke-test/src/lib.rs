//! `smoke-test`: prove an endpoint works. `run` is what `main` calls and what the tests
//! call; it returns a report and never exits the process.

pub mod cases;
mod cli;
pub mod histogram;
pub mod junit;
pub mod load;
pub mod output;
pub mod plot;
pub mod recommend;

use std::sync::Arc;

use aml_client::cli::{Report, Session};
use aml_client::online::EndpointAccess;
use aml_client::scoring::ScoringClient;
use aml_client::{Access, Error, Result, Workspace};
use cli::Target;
pub use cli::{Cli, Command};
use load::Until;
use output::{Budget, CaseResult, Latency, ProfileReport, RunReport};

pub async fn run(cli: Cli, session: Session) -> Result<Box<dyn Report>> {
    match cli.command {
        Command::Run(args) => {
            let cases = Arc::new(cases::load(&args.target.cases)?);
            let (access, target) = resolve(&args.target, &cli.global.workspace, &session).await?;
            let client = ScoringClient::new(&access, args.target.deployment.clone(), args.target.timeout)?;
            let until = match (args.duration, args.requests) {
                (Some(duration), _) => Until::Elapsed(duration),
                (None, Some(requests)) => Until::Requests(requests),
                (None, None) if args.concurrency > 1 => Until::Requests(cases.len() as u64 * args.concurrency as u64),
                (None, None) => Until::Once,
            };
            let outcome = load::run(&client, &cases, usize::from(args.concurrency), until).await;
            unreachable_endpoint(&outcome, &access)?;
            let report = run_report(&target, &args, &cases, &outcome)?;
            Ok(Box::new(report))
        }
        Command::Profile(args) => {
            let cases = Arc::new(cases::load(&args.target.cases)?);
            let (access, target) = resolve(&args.target, &cli.global.workspace, &session).await?;
            let client = ScoringClient::new(&access, args.target.deployment.clone(), args.target.timeout)?;
            let (percentile, quantile, limit) = match (args.p99, args.p95) {
                (Some(limit), _) => ("p99", 0.99, limit),
                (None, Some(limit)) => ("p95", 0.95, limit),
                (None, None) => return Err(Error::usage("no latency budget", "give `--p99 100ms` (or `--p95`)")),
            };
            let limit_ms = limit.as_secs_f64() * 1000.0;
            let server = deployment_server(&args, &cli.global.workspace, &session).await?;
            let steps = load::profile(
                &client,
                &cases,
                (quantile, limit_ms),
                usize::from(args.max_concurrency),
                args.step,
                server.as_ref().map(|(_, pid)| *pid),
            )
            .await;
            let best = steps
                .iter()
                .filter(|s| s.within_budget)
                .max_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second))
                .cloned();
            let actual_ms = best.as_ref().map(|b| if quantile > 0.98 { b.p99_ms } else { b.p95_ms }).unwrap_or(0.0);
            let budget = Budget { percentile: percentile.into(), limit_ms, actual_ms, passed: best.is_some() };
            let recommendation = match (&server, &best) {
                (Some((deployment, _)), Some(best)) if args.recommend => {
                    recommend::recommend(deployment, &steps, best, args.target_rps)
                }
                _ => None,
            };
            let plot = match &args.plot {
                Some(path) => {
                    let title = format!("smoke-test profile {}", target);
                    aml_client::cli::write_output(
                        path,
                        &plot::svg(&title, &steps, (&budget.percentile, budget.limit_ms)),
                    )?;
                    Some(path.display().to_string())
                }
                None => None,
            };
            Ok(Box::new(ProfileReport {
                target,
                deployment: server.map(|(name, _)| name),
                budget,
                steps,
                best,
                recommendation,
                plot,
            }))
        }
    }
}

/// The deployment whose processes `profile` reads, where this machine serves it. With
/// `--recommend` it must be found: the figures come from it.
async fn deployment_server(
    args: &cli::ProfileArgs,
    workspace: &str,
    session: &Session,
) -> Result<Option<(String, u32)>> {
    let Some(endpoint) = &args.target.endpoint else {
        return match args.recommend {
            true => Err(Error::usage(
                "`--recommend` reads the deployment's CPU and memory from its processes, which `--url` does not name",
                "profile it by name on a local workspace: `--endpoint NAME` (with `--workspace local:…`)",
            )),
            false => Ok(None),
        };
    };
    let ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
    let server = ws.deployment_server(endpoint, args.target.deployment.as_deref())?;
    if server.is_none() && args.recommend {
        return Err(match &ws {
            Workspace::Local(_) => Error::usage(
                format!("endpoint `{endpoint}` has no single running deployment to measure"),
                "name it with `--deployment NAME` (one that is running: `aml-deploy show`)",
            ),
            Workspace::Azure(_) => Error::usage(
                format!(
                    "`--recommend` reads the deployment's CPU and memory from its processes; endpoint `{endpoint}` is served by Azure ML, not on this machine"
                ),
                "profile the same deployment on a local workspace (`--workspace local:…`), where its processes can be read",
            ),
        });
    }
    Ok(server)
}

/// The scoring URI and key: from the workspace for `--endpoint`, else the URL and the key's variable.
async fn resolve(target: &Target, workspace: &str, session: &Session) -> Result<(EndpointAccess, String)> {
    let ci = &session.ci;
    if let Some(endpoint) = &target.endpoint {
        let mut ws = Workspace::open(workspace, Access::Existing, &session.settings).await?;
        let access = ws.endpoint_access(endpoint).await?;
        ci.mask(&access.key);
        return Ok((access, endpoint.clone()));
    }
    let url = target.url.clone().unwrap_or_default();
    let key = match &target.key_env {
        Some(variable) => {
            let key = std::env::var(variable).map_err(|_| {
                Error::usage(
                    format!("the environment variable `{variable}` (from `--key-env`) is not set"),
                    "export the endpoint's key in it, or drop `--key-env` for an endpoint without auth",
                )
            })?;
            ci.mask(&key);
            key
        }
        None => String::new(),
    };
    // What the report and messages call the endpoint: its URL without user info or query.
    let shown = aml_client::url::shown(&url);
    Ok((EndpointAccess { scoring_uri: url, key }, shown))
}

/// Every request unanswered means the endpoint is not there: a service failure, not a wrong answer.
fn unreachable_endpoint(outcome: &load::Outcome, access: &EndpointAccess) -> Result<()> {
    if outcome.requests > 0 && outcome.errors == outcome.requests {
        let reason = outcome.cases.iter().find_map(|c| c.first_failure.clone()).unwrap_or_default();
        return Err(Error::service(
            format!("`{}` did not answer any request ({reason})", aml_client::url::shown(&access.scoring_uri)),
            Some("check the endpoint is running: `aml-deploy show NAME`".into()),
        ));
    }
    Ok(())
}

fn latency(histogram: &histogram::Histogram) -> Latency {
    Latency {
        p50: histogram.percentile_ms(0.50),
        p95: histogram.percentile_ms(0.95),
        p99: histogram.percentile_ms(0.99),
        mean: histogram.mean_ms(),
        max: histogram.max_ms(),
    }
}

fn run_report(target: &str, args: &cli::RunArgs, cases: &[cases::Case], outcome: &load::Outcome) -> Result<RunReport> {
    let results: Vec<CaseResult> = cases
        .iter()
        .zip(&outcome.cases)
        .map(|(case, stats)| CaseResult {
            name: case.name.clone(),
            line: case.line,
            passed: stats.failures == 0 && stats.requests > 0,
            requests: stats.requests,
            failures: stats.failures,
            error: stats
                .first_failure
                .clone()
                .or_else(|| (stats.requests == 0).then(|| "never sent (the run ended first)".to_string())),
            latency_ms: latency(&stats.histogram),
        })
        .collect();
    let total = latency(&outcome.histogram);
    let mut budgets = Vec::new();
    for (name, limit, actual) in
        [("p50", args.p50, total.p50), ("p95", args.p95, total.p95), ("p99", args.p99, total.p99)]
    {
        if let Some(limit) = limit {
            let limit_ms = limit.as_secs_f64() * 1000.0;
            budgets.push(Budget { percentile: name.into(), limit_ms, actual_ms: actual, passed: actual <= limit_ms });
        }
    }
    let passed = results.iter().filter(|c| c.passed).count();
    let mut report = RunReport {
        target: target.to_string(),
        deployment: args.target.deployment.clone(),
        passed,
        failed: results.len() - passed,
        cases: results,
        requests: outcome.requests,
        errors: outcome.errors,
        concurrency: usize::from(args.concurrency),
        duration_seconds: outcome.elapsed.as_secs_f64(),
        requests_per_second: outcome.requests_per_second(),
        latency_ms: total,
        budgets,
        junit: None,
    };
    if let Some(path) = &args.junit {
        write_junit(path, &report, &args.target.cases)?;
        report.junit = Some(path.display().to_string());
    }
    Ok(report)
}

fn write_junit(path: &std::path::Path, report: &RunReport, cases_file: &std::path::Path) -> Result<()> {
    let classname = cases_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "cases".into());
    let mut tests: Vec<junit::TestCase> =
        report
            .cases
            .iter()
            .map(|case| junit::TestCase {
                name: case.name.clone(),
                classname: classname.clone(),
                seconds: case.latency_ms.mean / 1000.0,
                failure: case.error.as_ref().filter(|_| !case.passed).map(|e| {
                    (e.clone(), format!("{} of {} requests failed; first: {e}", case.failures, case.requests))
                }),
            })
            .collect();
    for budget in &report.budgets {
        tests.push(junit::TestCase {
            name: format!("latency {} <= {} ms", budget.percentile, budget.limit_ms),
            classname: "budgets".into(),
            seconds: 0.0,
            failure: (!budget.passed).then(|| {
                (
                    format!("{} was {:.2} ms", budget.percentile, budget.actual_ms),
                    format!("budget {} ms", budget.limit_ms),
                )
            }),
        });
    }
    let timestamp = aml_client::time::now().trim_end_matches('Z').to_string();
    let suite = junit::Suite {
        name: format!("smoke-test {}", report.target),
        timestamp,
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into()),
        seconds: report.duration_seconds,
        properties: vec![
            ("target".into(), report.target.clone()),
            ("requests".into(), report.requests.to_string()),
            ("requests_per_second".into(), format!("{:.1}", report.requests_per_second)),
        ],
        cases: tests,
        output: format!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            report.latency_ms.p50, report.latency_ms.p95, report.latency_ms.p99
        ),
    };
    aml_client::cli::write_output(path, &junit::render(&suite))
}
