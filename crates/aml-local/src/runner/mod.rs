//! The local job runner: runs command and pipeline jobs written for `az ml`, in cached
//! virtualenvs, with MLflow tracking served locally, and records everything in the
//! workspace as Azure ML would (statuses, inputs, outputs, metrics, logs).

pub mod environment;
pub mod mlflow;
mod policy;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aml_core::process::{self, Cancellation, ChildSpec, Outcome};
use aml_core::progress::Progress;

use crate::LocalWorkspace;
use aml_core::digest::Digest;
use aml_core::error::{Error, IoContext, Result};
use aml_core::jobplan::template::{self, Placeholder, Value};
use aml_core::jobplan::{DataSource, InputPlan, Plan, StepPlan};
use aml_core::jobs::{Job, JobInputRecord, JobOutputRecord, JobStatus, RunOptions, RunResult};
use aml_core::names::JobName;
use aml_core::refs::job_output_uri;
use aml_core::yaml::job::AssetType;

/// Outputs of finished pipeline steps, by (step, output).
pub type Produced = BTreeMap<(String, String), JobOutputRecord>;

/// Digests of input data already hashed in this run: a dataset several steps read is hashed once.
#[derive(Default)]
struct Digests(std::cell::RefCell<BTreeMap<PathBuf, Digest>>);

impl Digests {
    fn of(&self, path: &Path) -> Result<Digest> {
        if let Some(digest) = self.0.borrow().get(path) {
            return Ok(*digest);
        }
        let digest = aml_core::tree::scan(path)?.digest();
        self.0.borrow_mut().insert(path.to_path_buf(), digest);
        Ok(digest)
    }
}

/// Run a planned job to its end. Only storage failures are errors; a failed or canceled
/// job is a result with that status.
pub async fn run(
    ws: &mut LocalWorkspace,
    plan: &Plan,
    options: &RunOptions,
    remote: Option<&dyn RemoteCompute>,
) -> Result<RunResult> {
    let fetched = fetch_remote_inputs(ws, plan).await?;
    let plan = &fetched;
    let mut cancel = Cancellation::install()?;
    let name = match options.name.as_deref().or(plan.name.as_deref()) {
        Some(name) => JobName::new(name)?,
        None => JobName::new(&aml_core::ids::job_name())?,
    };
    let experiment = options
        .experiment_name
        .clone()
        .or_else(|| plan.experiment_name.clone())
        .unwrap_or_else(aml_core::ids::default_experiment);
    let git = aml_core::lineage::git_info(plan.file.parent().unwrap_or(Path::new(".")), &options.ci);
    let now = aml_core::time::now();
    let mut job = Job {
        name: name.clone(),
        kind: plan.kind.to_string(),
        parent: None,
        step: None,
        display_name: options.display_name.clone().or_else(|| plan.display_name.clone()),
        experiment_name: experiment.clone(),
        status: JobStatus::Queued,
        created_at: now.clone(),
        started_at: None,
        ended_at: None,
        inputs: BTreeMap::new(),
        outputs: BTreeMap::new(),
        code_digest: None,
        environment: None,
        command: None,
        error: None,
        file: Some(plan.file.display().to_string()),
        tags: plan.tags.clone(),
        git: git.clone(),
        created_by: options.ci.requester.clone(),
        runner_pid: Some(std::process::id()),
    };
    ws.registry().insert_job(&job)?;
    aml_core::status!("job {name} created (experiment {experiment}); files in `{}`", ws.job_dir(&name).display());

    let server = mlflow::TrackingServer::start(&ws.database_path(), &ws.jobs_dir()).await?;
    let digests = Digests::default();
    let mut context =
        StepContext { options, server: &server, cancel: &mut cancel, digests: &digests, remote, watch: None };
    let result = if plan.kind == "pipeline" {
        run_pipeline(ws, plan, &mut job, &mut context).await
    } else if plan.kind == "sweep" {
        run_sweep(ws, plan, &mut job, &mut context).await
    } else {
        run_step(ws, &plan.steps[0], &mut job, &BTreeMap::new(), &mut context).await.map(|()| Vec::new())
    };
    let unserved = server.unserved_calls();
    server.stop().await;
    if !unserved.is_empty() {
        aml_core::status!(
            "warning: the script called MLflow endpoints the local workspace does not serve: {}",
            unserved.join(", ")
        );
    }
    match result {
        Ok(steps) => Ok(RunResult { job, steps }),
        Err(error) => {
            // Storage failed mid-run: record what is known, then report the error.
            job.status = JobStatus::Failed;
            job.error = Some(error.to_string());
            job.ended_at = Some(aml_core::time::now());
            let _ = ws.registry().update_job(&job);
            Err(error)
        }
    }
}

/// `http(s)://` inputs fetched into the workspace (each URL once), and the plan pointing at
/// the copies; what the job records is the URL without its query or user info.
async fn fetch_remote_inputs(ws: &LocalWorkspace, plan: &Plan) -> Result<Plan> {
    let mut plan = plan.clone();
    let mut fetched: BTreeMap<String, PathBuf> = BTreeMap::new();
    let inputs = plan.inputs.iter_mut().chain(plan.steps.iter_mut().flat_map(|s| s.inputs.iter_mut()));
    for (_, input) in inputs {
        let InputPlan::Data { source, written, .. } = input else { continue };
        let DataSource::Remote(url) = source else { continue };
        let path = match fetched.get(url.as_str()) {
            Some(path) => path.clone(),
            None => {
                let path = crate::downloads::fetch(ws.root(), url, ws.settings()).await?;
                fetched.insert(url.clone(), path.clone());
                path
            }
        };
        *written = aml_http::url::shown(url);
        *source = DataSource::Path(path);
    }
    Ok(plan)
}

/// What every step of one run shares.
struct StepContext<'a> {
    options: &'a RunOptions,
    server: &'a mlflow::TrackingServer,
    cancel: &'a mut Cancellation,
    digests: &'a Digests,
    remote: Option<&'a dyn RemoteCompute>,
    /// Asked while a step runs whether to stop it (a sweep's early termination).
    watch: Option<&'a dyn TrialWatch>,
}

/// Judges a running trial by what it has logged so far: Some(reason) stops it.
pub(crate) trait TrialWatch {
    fn check(&self, ws: &LocalWorkspace, trial: &str) -> Result<Option<String>>;
}

/// A compute that runs command steps away from this machine while the job stays recorded
/// in this workspace, so every verb reads it as a local job. The runner knows such a compute
/// only through this trait (Azure Databricks implements it in its own crate).
#[async_trait::async_trait(?Send)]
pub trait RemoteCompute {
    /// What the step's record shows as its environment.
    fn describe(&self) -> String;
    /// Run one step to its end and record it (`finish`); only storage failures are errors.
    async fn run_step(&self, step: RemoteStep<'_>) -> Result<()>;
}

/// A step handed to a remote compute, with what it needs of this run.
pub struct RemoteStep<'a> {
    pub ws: &'a mut LocalWorkspace,
    pub plan: &'a StepPlan,
    pub job: &'a mut Job,
    pub produced: &'a Produced,
    /// Echo the step's output to stderr as it runs.
    pub stream_logs: bool,
    pub cancel: &'a mut Cancellation,
}

async fn run_pipeline(
    ws: &mut LocalWorkspace,
    plan: &Plan,
    parent: &mut Job,
    context: &mut StepContext<'_>,
) -> Result<Vec<Job>> {
    parent.inputs = input_records(&plan.inputs, &BTreeMap::new(), context.digests)?;
    let mut steps = insert_children(ws, plan, parent)?;
    parent.status = JobStatus::Running;
    parent.started_at = Some(aml_core::time::now());
    ws.registry().update_job(parent)?;

    let mut produced: Produced = BTreeMap::new();
    let mut failed_steps = Vec::new();
    let mut canceled = false;
    for (index, step) in plan.steps.iter().enumerate() {
        let step_name = step.step.clone().unwrap_or_default();
        let blocked = step.depends_on.iter().find(|d| failed_steps.contains(*d));
        if canceled || context.cancel.requested() {
            canceled = true;
            continue;
        }
        if let Some(dependency) = blocked {
            aml_core::status!("step {step_name} not started: step {dependency} did not complete");
            failed_steps.push(step_name);
            continue;
        }
        if !failed_steps.is_empty() && !plan.continue_on_step_failure {
            continue;
        }
        let child = &mut steps[index];
        context.options.ci.group(&format!("step {step_name}"));
        let outcome = run_step(ws, step, child, &produced, context).await;
        context.options.ci.end_group();
        outcome?;
        match child.status {
            JobStatus::Completed => {
                for (output, record) in &child.outputs {
                    produced.insert((step_name.clone(), output.clone()), record.clone());
                }
            }
            JobStatus::Canceled => canceled = true,
            _ => failed_steps.push(step_name),
        }
    }

    record_outputs(ws, plan, parent, |output| output.bound_to.as_ref().and_then(|b| produced.get(b)));
    parent.status = if canceled {
        JobStatus::Canceled
    } else if failed_steps.is_empty() {
        JobStatus::Completed
    } else {
        parent.error = Some(format!("step(s) {} did not complete", failed_steps.join(", ")));
        JobStatus::Failed
    };
    parent.ended_at = Some(aml_core::time::now());
    ws.registry().update_job(parent)?;
    report_status(parent);
    Ok(steps)
}

/// A sweep, locally: the trials run one after another as child jobs (`<sweep>_<n>`), each
/// watched by the early-termination policy against the trials before it; the best trial by
/// the objective gives the sweep its outputs and metrics.
async fn run_sweep(
    ws: &mut LocalWorkspace,
    plan: &Plan,
    parent: &mut Job,
    context: &mut StepContext<'_>,
) -> Result<Vec<Job>> {
    let settings = plan
        .sweep
        .as_ref()
        .ok_or_else(|| Error::usage("a sweep job without its sweep settings", "plan the file again"))?;
    parent.inputs = input_records(&plan.inputs, &BTreeMap::new(), context.digests)?;
    let mut trials = insert_children(ws, plan, parent)?;
    parent.status = JobStatus::Running;
    parent.started_at = Some(aml_core::time::now());
    ws.registry().update_job(parent)?;

    let started = std::time::Instant::now();
    let mut histories: Vec<Vec<f64>> = Vec::new();
    let mut canceled = false;
    for (index, step) in plan.steps.iter().enumerate() {
        let trial = &mut trials[index];
        if canceled || context.cancel.requested() {
            canceled = true;
            continue;
        }
        if let Some(limit) = settings.timeout_seconds.filter(|limit| started.elapsed().as_secs() >= *limit) {
            finish(
                ws,
                trial,
                JobStatus::Canceled,
                Some(format!("not started: the sweep's `limits.timeout` of {limit}s had passed")),
            )?;
            continue;
        }
        let watch = settings.policy.as_ref().map(|policy| policy::PolicyWatch {
            policy: policy.clone(),
            metric: settings.primary_metric.clone(),
            goal: settings.goal,
            earlier: histories.clone(),
            trials_in_sweep: plan.steps.len(),
        });
        let mut trial_context = StepContext {
            options: context.options,
            server: context.server,
            cancel: &mut *context.cancel,
            digests: context.digests,
            remote: None,
            watch: watch.as_ref().map(|w| w as &dyn TrialWatch),
        };
        context.options.ci.group(&format!("trial {index}"));
        let outcome = run_step(ws, step, trial, &BTreeMap::new(), &mut trial_context).await;
        context.options.ci.end_group();
        outcome?;
        if trial.status == JobStatus::Canceled && context.cancel.requested() {
            canceled = true;
        }
        histories.push(metric_values(ws, &trial.name, &settings.primary_metric)?);
    }

    // The best trial: a completed one with the primary metric, best by the goal.
    let mut best: Option<(usize, f64)> = None;
    for (index, trial) in trials.iter().enumerate() {
        let Some(value) = histories.get(index).and_then(|h| h.last()).copied() else { continue };
        if trial.status != JobStatus::Completed || value.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, current)| policy::better(settings.goal, value, current)) {
            best = Some((index, value));
        }
    }
    record_outputs(ws, plan, parent, |output| best.and_then(|(index, _)| trials[index].outputs.get(&output.name)));
    let metric = &settings.primary_metric;
    match best {
        _ if canceled => parent.status = JobStatus::Canceled,
        Some((index, value)) => {
            let trial = &trials[index];
            parent.tags.insert(aml_core::jobs::BEST_TRIAL_TAG.into(), trial.name.to_string());
            aml_core::status!(
                "best trial: {} with {metric} {value} ({})",
                trial.name,
                trial.display_name.as_deref().unwrap_or_default()
            );
            parent.status = JobStatus::Completed;
        }
        None => {
            parent.error = Some(format!(
                "no trial completed having logged `{metric}` (the objective's primary_metric) with MLflow"
            ));
            parent.status = JobStatus::Failed;
        }
    }
    parent.ended_at = Some(aml_core::time::now());
    ws.registry().update_job(parent)?;
    report_status(parent);
    Ok(trials)
}

fn metric_values(ws: &LocalWorkspace, trial: &str, metric: &str) -> Result<Vec<f64>> {
    Ok(ws.registry_ref().metric_history(trial, metric)?.into_iter().map(|(_, _, value)| value).collect())
}

impl TrialWatch for policy::PolicyWatch {
    fn check(&self, ws: &LocalWorkspace, trial: &str) -> Result<Option<String>> {
        Ok(self.judge(&metric_values(ws, trial, &self.metric)?))
    }
}

/// A job's default artifacts output, as Azure ML keeps a run's artifacts: a folder whose
/// `outputs/` is what the command wrote to `./outputs` and whose `logs/` are its logs (links,
/// relative so the workspace can move).
fn default_artifacts(dir: &Path) -> Result<PathBuf> {
    let folder = dir.join(aml_core::jobplan::DEFAULT_ARTIFACTS);
    fs::create_dir_all(&folder).with_path("cannot create the output folder", &folder)?;
    fs::create_dir_all(dir.join("logs")).with_path("cannot create the job folder", &dir.join("logs"))?;
    for (name, target) in [("outputs", "../code/outputs"), ("logs", "../logs")] {
        let link = folder.join(name);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(target, &link).with_path("cannot link", &link)?;
        }
    }
    Ok(folder)
}

/// A pipeline's (or sweep's) outputs: where the child output they stand for is, else an
/// empty folder of the parent's.
fn record_outputs<'a>(
    ws: &LocalWorkspace,
    plan: &Plan,
    parent: &mut Job,
    source: impl Fn(&aml_core::jobplan::PipelineOutput) -> Option<&'a JobOutputRecord>,
) {
    for output in &plan.outputs {
        let path = match source(output) {
            Some(record) => PathBuf::from(&record.path),
            None => ws.job_dir(&parent.name).join("outputs").join(&output.name),
        };
        parent.outputs.insert(
            output.name.clone(),
            JobOutputRecord {
                kind: output.kind.as_str().into(),
                uri: job_output_uri(&parent.name, &output.name),
                path: path.display().to_string(),
            },
        );
    }
}

/// Record every step of a pipeline (or trial of a sweep) as a child job, not started yet.
fn insert_children(ws: &mut LocalWorkspace, plan: &Plan, parent: &Job) -> Result<Vec<Job>> {
    let mut steps: Vec<Job> = Vec::new();
    for step in &plan.steps {
        let step_name = step.step.clone().unwrap_or_default();
        let child = Job {
            name: JobName::new(&format!("{}_{step_name}", parent.name))?,
            kind: "command".into(),
            parent: Some(parent.name.to_string()),
            step: Some(step_name),
            display_name: step.display_name.clone(),
            status: JobStatus::NotStarted,
            created_at: aml_core::time::now(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            code_digest: None,
            environment: None,
            command: None,
            error: None,
            started_at: None,
            ended_at: None,
            runner_pid: Some(std::process::id()),
            ..parent.clone()
        };
        ws.registry().insert_job(&child)?;
        steps.push(child);
    }
    Ok(steps)
}

async fn run_step(
    ws: &mut LocalWorkspace,
    step: &StepPlan,
    job: &mut Job,
    produced: &Produced,
    context: &mut StepContext<'_>,
) -> Result<()> {
    let dir = ws.job_dir(&job.name);
    let code_dir = dir.join("code");
    // Azure ML runs a command in a folder that already has `outputs/` (what the job writes
    // there is kept with it): `echo hi > ./outputs/hello.txt` works without a mkdir.
    let outputs = code_dir.join("outputs");
    fs::create_dir_all(&outputs).with_path("cannot create the job folder", &outputs)?;
    job.status = JobStatus::Preparing;
    job.inputs = input_records(&step.inputs, produced, context.digests)?;
    ws.registry().update_job(job)?;
    report_status(job);

    if let Some(code) = &step.code {
        job.code_digest = Some(snapshot(code, &code_dir)?);
    }
    if let Some(remote) = context.remote {
        job.environment = Some(remote.describe());
        let stream_logs = context.options.stream_logs;
        return remote
            .run_step(RemoteStep { ws, plan: step, job, produced, stream_logs, cancel: context.cancel })
            .await;
    }
    let StepContext { options, server, cancel, watch, .. } = context;
    let watch = *watch;
    let interpreter = match environment::ensure(&step.environment, cancel, options.stream_logs, ws.settings()).await {
        Ok(interpreter) => interpreter,
        Err(Error::Failed { message, .. }) => {
            return finish(
                ws,
                job,
                if cancel.requested() { JobStatus::Canceled } else { JobStatus::Failed },
                Some(message),
            );
        }
        Err(other) => return Err(other),
    };
    let interpreter = environment::job_layer(interpreter, &dir).await?;
    job.environment = Some(interpreter.description.clone());

    for (output, kind) in &step.outputs {
        let path = if step.default_artifacts && output == aml_core::jobplan::DEFAULT_ARTIFACTS {
            default_artifacts(&dir)?
        } else {
            let path = dir.join("outputs").join(output);
            let folder = if *kind == AssetType::UriFile { dir.join("outputs") } else { path.clone() };
            fs::create_dir_all(&folder).with_path("cannot create the output folder", &folder)?;
            path
        };
        job.outputs.insert(
            output.clone(),
            JobOutputRecord {
                kind: kind.as_str().into(),
                uri: job_output_uri(&job.name, output),
                path: path.display().to_string(),
            },
        );
    }
    let command = template::render(&step.command, &|placeholder| lookup(placeholder, step, job, produced)).map_err(
        |problem| Error::usage(format!("cannot expand the command: {problem}"), "check the command's placeholders"),
    )?;
    job.command = Some(command.clone());

    let mut env: Vec<(String, String)> = vec![
        ("MLFLOW_TRACKING_URI".into(), server.uri.clone()),
        ("MLFLOW_RUN_ID".into(), job.name.to_string()),
        ("AZUREML_RUN_ID".into(), job.name.to_string()),
        ("AML_JOB_NAME".into(), job.name.to_string()),
        // The URL MLflow would print points at a UI the local endpoint does not serve.
        ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT".into(), "true".into()),
        // MLflow 3's usage telemetry calls home from a background thread; offline (CI agents,
        // this runner's sandbox) it fails and unsets an environment variable while requests
        // read it, failing a tracking call at random. A job's own variables can turn it back on.
        ("MLFLOW_DISABLE_TELEMETRY".into(), "true".into()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
    ];
    if let Some(venv) = &interpreter.venv {
        let path = ws.settings().get(aml_core::settings::EnvVars::PATH).unwrap_or_default().to_string();
        let beneath = interpreter.beneath.iter().map(|b| format!("{}:", b.join("bin").display())).collect::<String>();
        env.push(("PATH".into(), format!("{}:{beneath}{path}", venv.join("bin").display())));
        env.push(("VIRTUAL_ENV".into(), venv.display().to_string()));
    }
    env.extend(step.environment_variables.iter().cloned());
    if step.parallel {
        let driver = dir.join("parallel_driver.py");
        fs::write(&driver, aml_core::jobplan::PARALLEL_DRIVER).with_path("cannot write", &driver)?;
        env.push((aml_core::jobplan::DRIVER_VARIABLE.into(), driver.display().to_string()));
    }

    job.status = JobStatus::Running;
    job.started_at = Some(aml_core::time::now());
    ws.registry().update_job(job)?;
    report_status(job);
    server.set_current_job(Some(&job.name));
    let log = ws.job_log(&job.name);
    let shell = ["/bin/bash", "/usr/bin/bash", "/bin/sh"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("sh"));
    let prefix = job.step.as_ref().map(|s| format!("[{s}] ")).unwrap_or_default();
    let spec = ChildSpec {
        program: shell,
        args: vec!["-c".into(), command],
        cwd: code_dir.clone(),
        env,
        log: log.clone(),
        prefix,
        echo: options.stream_logs,
        timeout: step.timeout_seconds.map(Duration::from_secs),
    };
    let progress = Progress::waiting(format!("job {}", job.name), ws.settings());
    // A watched step has its own cancellation: the run's (a signal) or the watch's.
    let (stop, mut own_cancel) = Cancellation::manual();
    let stop = std::sync::Arc::new(stop);
    let forward = watch.map(|_| {
        let (mut run_cancel, stop) = ((**cancel).clone(), stop.clone());
        tokio::spawn(async move {
            run_cancel.wait().await;
            let _ = stop.send(true);
        })
    });
    let child_cancel: &mut Cancellation = if watch.is_some() { &mut own_cancel } else { cancel };
    let run = process::run_child(spec, child_cancel);
    tokio::pin!(run);
    let poll = Duration::from_secs(if watch.is_some() { 1 } else { 5 });
    let mut stopped_by_watch: Option<String> = None;
    let outcome = loop {
        tokio::select! {
            outcome = &mut run => break outcome?,
            () = tokio::time::sleep(poll) => {
                progress.set_status("Running");
                if let Some(watch) = watch.filter(|_| stopped_by_watch.is_none())
                    && let Some(reason) = watch.check(ws, &job.name)?
                {
                    aml_core::status!("{}: stopped early: {reason}", job.name);
                    stopped_by_watch = Some(reason);
                    let _ = stop.send(true);
                }
            }
        }
    };
    if let Some(forward) = forward {
        forward.abort();
    }
    progress.finish();
    server.set_current_job(None);

    read_metrics_file(ws, job, &code_dir)?;
    let (status, error) = match outcome {
        Outcome::Exited(Some(0)) => (JobStatus::Completed, None),
        Outcome::Exited(code) => {
            let how = code.map(|c| format!("exit code {c}")).unwrap_or_else(|| "a signal".into());
            (
                JobStatus::Failed,
                Some(format!("the command ended with {how}; last lines of its log:\n{}", process::tail(&log, 20))),
            )
        }
        Outcome::TimedOut => (
            JobStatus::Failed,
            Some(format!(
                "the job ran longer than its `limits.timeout` of {}s and was stopped",
                step.timeout_seconds.unwrap_or_default()
            )),
        ),
        Outcome::Canceled => match stopped_by_watch {
            Some(reason) => (JobStatus::Canceled, Some(format!("stopped early by the sweep's policy: {reason}"))),
            None => (JobStatus::Canceled, Some("canceled (SIGINT or SIGTERM)".into())),
        },
    };
    finish(ws, job, status, error)
}

/// Record a step's end: its status, error and end time.
pub fn finish(ws: &mut LocalWorkspace, job: &mut Job, status: JobStatus, error: Option<String>) -> Result<()> {
    job.status = status;
    job.error = error;
    job.ended_at = Some(aml_core::time::now());
    ws.registry().update_job(job)?;
    report_status(job);
    Ok(())
}

pub fn report_status(job: &Job) {
    let who = match &job.step {
        Some(step) => format!("step {step} ({})", job.name),
        None => format!("job {}", job.name),
    };
    let took = match (&job.started_at, &job.ended_at) {
        (Some(start), Some(end)) => {
            aml_core::time::seconds_between(start, end).map(|s| format!(" in {s:.0}s")).unwrap_or_default()
        }
        _ => String::new(),
    };
    aml_core::status!("{who}: {}{took}", job.status);
}

fn lookup(
    placeholder: &Placeholder,
    step: &StepPlan,
    job: &Job,
    produced: &Produced,
) -> std::result::Result<Value, String> {
    match placeholder {
        Placeholder::Input(name) => match step.inputs.iter().find(|(n, _)| n == name).map(|(_, p)| p) {
            Some(InputPlan::Literal(value)) => Ok(Value::Text(value.clone())),
            Some(InputPlan::Data { source: DataSource::Path(path), .. }) => Ok(Value::Text(path.display().to_string())),
            Some(InputPlan::Data { source: DataSource::Remote(_), .. }) => {
                Err(format!("input `{name}` was not fetched"))
            }
            Some(InputPlan::Data { source: DataSource::StepOutput { step, output }, .. }) => produced
                .get(&(step.clone(), output.clone()))
                .map(|record| Value::Text(record.path.clone()))
                .ok_or_else(|| format!("step `{step}` produced no output `{output}`")),
            Some(InputPlan::Absent) => Ok(Value::Absent),
            None => Err(format!("no input `{name}`")),
        },
        Placeholder::Output(name) => {
            job.outputs.get(name).map(|o| Value::Text(o.path.clone())).ok_or_else(|| format!("no output `{name}`"))
        }
        other => Err(format!("`{other}` cannot be used in a command")),
    }
}

/// What each input was, with the digest of the data it pointed at (for lineage).
fn input_records(
    inputs: &[(String, InputPlan)],
    produced: &Produced,
    digests: &Digests,
) -> Result<BTreeMap<String, JobInputRecord>> {
    let mut records = BTreeMap::new();
    for (name, input) in inputs {
        let record = match input {
            InputPlan::Literal(value) => JobInputRecord { kind: "literal".into(), value: value.clone(), digest: None },
            InputPlan::Absent => continue,
            InputPlan::Data { kind, source, written } => {
                // A step reading another step's output records that output's URI.
                let (path, value) = match source {
                    DataSource::Path(path) => (Some(path.clone()), written.clone()),
                    DataSource::Remote(_) => (None, written.clone()),
                    DataSource::StepOutput { step, output } => match produced.get(&(step.clone(), output.clone())) {
                        Some(record) => (Some(PathBuf::from(&record.path)), record.uri.clone()),
                        None => (None, written.clone()),
                    },
                };
                let digest = match &path {
                    Some(path) if path.exists() => Some(digests.of(path)?),
                    _ => None,
                };
                JobInputRecord { kind: kind.as_str().into(), value, digest }
            }
        };
        records.insert(name.clone(), record);
    }
    Ok(records)
}

/// Copy the code into the job's folder (honouring ignore files); return its digest.
pub(crate) fn snapshot(code: &Path, into: &Path) -> Result<Digest> {
    let files = aml_core::tree::code_files(code)?;
    for (rel, source) in &files {
        let target = into.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_path("cannot create", parent)?;
        }
        fs::copy(source, &target).with_path("cannot copy code file", source)?;
    }
    Ok(aml_core::tree::hash_files(files)?.digest())
}

/// `outputs/metrics.json` (`{"rmse": 53.2}`) is the fallback for scripts that do not use MLflow.
fn read_metrics_file(ws: &mut LocalWorkspace, job: &Job, cwd: &Path) -> Result<()> {
    let path = cwd.join("outputs").join("metrics.json");
    let Ok(text) = fs::read_to_string(&path) else { return Ok(()) };
    record_metrics_file(ws, job, &text, &path.display().to_string())
}

pub fn record_metrics_file(ws: &mut LocalWorkspace, job: &Job, text: &str, shown: &str) -> Result<()> {
    let values: BTreeMap<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(values) => values,
        Err(e) => {
            aml_core::status!(
                "warning: `{shown}` is not a JSON object of numbers ({e}); its metrics were not recorded"
            );
            return Ok(());
        }
    };
    let now = aml_core::time::now_millis();
    for (key, value) in values {
        match value.as_f64() {
            Some(number) => ws.registry().log_metric(&job.name, &key, number, 0, now)?,
            None => aml_core::status!("warning: metric `{key}` in `{shown}` is not a number; skipped"),
        }
    }
    Ok(())
}
