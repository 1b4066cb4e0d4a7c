//! A command step run on Azure Databricks instead of here: the code snapshot, the data
//! inputs and our driver entry (`aml_run.py`) go to a Unity Catalog volume under
//! `<volume>/jobs/<job>/`, the command becomes a spark_python_task of a one-time run
//! (`runs/submit`) on the named or a new cluster, with the conda file's pip packages as the
//! task's PyPI libraries, and the job's MLflow run is created first in Databricks' MLflow
//! (MLFLOW_RUN_ID, as on Azure ML), so the script's logging lands in it. The run is
//! followed to its end with status changes printed, the log streamed from the chunks the
//! driver writes, Ctrl-C turned into `runs/cancel`; then outputs, metrics and params come
//! back into this workspace's record of the job, so every other verb reads it as a local job.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::api::Client;
use crate::command::python_command;
use crate::compute::{Cluster, Compute};
use aml_core::error::{Error, IoContext, Result};
use aml_core::jobplan::template::{self, Placeholder, Value as Text};
use aml_core::jobplan::{DataSource, EnvPlan, InputPlan, StepPlan};
use aml_core::jobs::{Job, JobOutputRecord, JobStatus};
use aml_core::refs::job_output_uri;
use aml_core::settings::{EnvVars, Settings};
use aml_core::yaml::job::AssetType;
use aml_local::LocalWorkspace;
use aml_local::runner::{Produced, RemoteCompute, RemoteStep, finish, record_metrics_file, report_status};

const DRIVER_ENTRY: &str = include_str!("aml_run.py");
const TASK_KEY: &str = "train";
const UPLOADS_IN_FLIGHT: usize = 8;

/// The longest wait between two `runs/get`; AML_DATABRICKS_POLL_MAX_MS shortens it (tests).
fn max_poll(settings: &Settings) -> Duration {
    let millis = settings.number(EnvVars::AML_DATABRICKS_POLL_MAX_MS, 10_000u64);
    Duration::from_millis(millis.max(50))
}

/// Where the step's files live on the volume.
struct Remote {
    base: String,
}

impl Remote {
    fn code(&self) -> String {
        format!("{}/code", self.base)
    }
    fn logs(&self) -> String {
        format!("{}/logs", self.base)
    }
    fn entry(&self) -> String {
        format!("{}/aml_run.py", self.base)
    }
    fn input(&self, name: &str) -> String {
        format!("{}/inputs/{name}", self.base)
    }
    fn outputs(&self) -> String {
        format!("{}/outputs", self.base)
    }
}

#[async_trait::async_trait(?Send)]
impl RemoteCompute for Compute {
    fn describe(&self) -> String {
        self.to_string()
    }

    async fn run_step(&self, step: RemoteStep<'_>) -> Result<()> {
        let RemoteStep { ws, plan, job, produced, stream_logs, cancel } = step;
        run_step(ws, plan, job, produced, stream_logs, cancel, self).await
    }
}

async fn run_step(
    ws: &mut LocalWorkspace,
    step: &StepPlan,
    job: &mut Job,
    produced: &Produced,
    stream_logs: bool,
    cancel: &mut aml_core::process::Cancellation,
    compute: &Compute,
) -> Result<()> {
    let client = Client::new(compute, ws.settings())?;
    let remote = Remote { base: format!("{}/jobs/{}", compute.volume, job.name) };
    let dir = ws.job_dir(&job.name);

    aml_core::status!("uploading the job's code and inputs to {} on {}", remote.base, compute.host);
    let mut uploads: Vec<(String, PathBuf)> = Vec::new();
    let code_dir = dir.join("code");
    if step.code.is_some() {
        for (rel, file) in aml_core::tree::list(&code_dir)? {
            uploads.push((format!("{}/{rel}", remote.code()), file));
        }
    } else {
        client.create_directory(&remote.code()).await?;
    }
    let mut remote_inputs: BTreeMap<String, String> = BTreeMap::new();
    for (name, input) in &step.inputs {
        let InputPlan::Data { source, .. } = input else { continue };
        let local = match source {
            DataSource::Path(path) => path.clone(),
            // The local runner fetches web inputs before any step runs.
            DataSource::Remote(_) => {
                return Err(Error::failed(format!("input `{name}` was not fetched before the step"), None));
            }
            DataSource::StepOutput { step: from, output } => match produced.get(&(from.clone(), output.clone())) {
                Some(record) => PathBuf::from(&record.path),
                None => return Err(Error::failed(format!("step `{from}` produced no output `{output}`"), None)),
            },
        };
        let at = remote.input(name);
        if local.is_dir() {
            for (rel, file) in aml_core::tree::list(&local)? {
                uploads.push((format!("{at}/{rel}"), file));
            }
            remote_inputs.insert(name.clone(), at);
        } else {
            let file_name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| name.clone());
            uploads.push((format!("{at}/{file_name}"), local.clone()));
            remote_inputs.insert(name.clone(), format!("{at}/{file_name}"));
        }
    }
    upload_all(&client, uploads).await?;
    client.upload(&remote.entry(), DRIVER_ENTRY.as_bytes().to_vec()).await?;
    client.create_directory(&remote.outputs()).await?;

    // Outputs: the same layout as a local job, on the volume; downloaded back at the end.
    let mut remote_outputs: BTreeMap<String, String> = BTreeMap::new();
    for (output, kind) in &step.outputs {
        let path = dir.join("outputs").join(output);
        let at = format!("{}/{output}", remote.outputs());
        if *kind != AssetType::UriFile {
            client.create_directory(&at).await?;
        }
        remote_outputs.insert(output.clone(), at);
        job.outputs.insert(
            output.clone(),
            JobOutputRecord {
                kind: kind.as_str().into(),
                uri: job_output_uri(&job.name, output),
                path: path.display().to_string(),
            },
        );
    }
    let command = template::render(&step.command, &|placeholder| match placeholder {
        Placeholder::Input(name) => match step.inputs.iter().find(|(n, _)| n == name).map(|(_, p)| p) {
            Some(InputPlan::Literal(value)) => Ok(Text::Text(value.clone())),
            Some(InputPlan::Data { .. }) => remote_inputs
                .get(name)
                .cloned()
                .map(Text::Text)
                .ok_or_else(|| format!("input `{name}` was not uploaded")),
            Some(InputPlan::Absent) => Ok(Text::Absent),
            None => Err(format!("no input `{name}`")),
        },
        Placeholder::Output(name) => {
            remote_outputs.get(name).cloned().map(Text::Text).ok_or_else(|| format!("no output `{name}`"))
        }
        other => Err(format!("`{other}` cannot be used in a command")),
    })
    .map_err(|problem| {
        Error::usage(format!("cannot expand the command: {problem}"), "check the command's placeholders")
    })?;
    let python = python_command(&command)
        .map_err(|problem| Error::usage(format!("command: {problem}"), "change the job's `command`"))?;
    job.command = Some(command.clone());

    let mlflow_run = create_mlflow_run(&client, job).await?;
    let mut parameters = vec!["--code".to_string(), remote.code(), "--logs".into(), remote.logs()];
    let mut env: Vec<(String, String)> = vec![
        ("MLFLOW_RUN_ID".into(), mlflow_run.clone()),
        ("AML_JOB_NAME".into(), job.name.to_string()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
    ];
    env.extend(step.environment_variables.iter().cloned());
    for (key, value) in env {
        parameters.push("--env".into());
        parameters.push(format!("{key}={value}"));
    }
    parameters.push("--".into());
    parameters.extend(python.argv.iter().cloned());

    let mut task = json!({
        "task_key": TASK_KEY,
        "spark_python_task": {"python_file": remote.entry(), "parameters": parameters},
    });
    match &compute.cluster {
        Cluster::Existing(id) => task["existing_cluster_id"] = json!(id),
        Cluster::New { node_type, workers, spark_version } => {
            task["new_cluster"] =
                json!({"spark_version": spark_version, "node_type_id": node_type, "num_workers": workers});
        }
    }
    if let EnvPlan::Packages { packages, .. } = &step.environment
        && !packages.is_empty()
    {
        task["libraries"] = Value::Array(packages.iter().map(|p| json!({"pypi": {"package": p}})).collect());
    }
    let mut submit = json!({"run_name": job.name, "tasks": [task], "idempotency_token": idempotency_token(job, &dir)});
    if let Some(seconds) = step.timeout_seconds {
        submit["timeout_seconds"] = json!(seconds);
    }
    let submitted = client.post("/api/2.2/jobs/runs/submit", &submit).await?;
    let run_id = submitted["run_id"].as_i64().ok_or_else(|| Error::service("runs/submit answered no run_id", None))?;

    ws.registry().set_job_tag(&job.name, "databricks.run_id", &run_id.to_string())?;
    ws.registry().set_job_tag(&job.name, "databricks.host", &compute.host)?;
    aml_core::status!("databricks run {run_id} submitted on {compute}");

    // Once submitted, the run goes on in Databricks whatever happens here: if following it
    // fails, say so, so nobody takes the job's Failed for the run's end.
    let followed: Result<()> = async {
        let log = ws.job_log(&job.name);
        if let Some(parent) = log.parent() {
            std::fs::create_dir_all(parent).with_path("cannot create", parent)?;
        }
        let mut follower = LogFollower {
            seen: Default::default(),
            file: std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .with_path("cannot open the job's log", &log)?,
            echo: stream_logs,
            prefix: job.step.as_ref().map(|s| format!("[{s}] ")).unwrap_or_default(),
        };

        let mut last_state = String::new();
        let mut canceling = false;
        let mut delay = Duration::from_millis(250);
        let run = loop {
            let run = client.get(&format!("/api/2.2/jobs/runs/get?run_id={run_id}")).await?;
            if last_state.is_empty()
                && let Some(url) = run["run_page_url"].as_str()
            {
                aml_core::status!("run page: {url}");
            }
            let state = run["state"]["life_cycle_state"].as_str().unwrap_or("PENDING").to_string();
            if state != last_state {
                let status = job_status(&run);
                // The end is recorded (and said) once, with its outputs and metrics, below.
                if status != job.status && !status.is_terminal() {
                    job.status = status;
                    if status == JobStatus::Running
                        || job.started_at.is_none() && matches!(state.as_str(), "TERMINATING" | "TERMINATED")
                    {
                        job.started_at = Some(aml_core::time::now());
                    }
                    ws.registry().update_job(job)?;
                    report_status(job);
                }
                last_state = state.clone();
                delay = Duration::from_millis(250);
            }
            follower.catch_up(&client, &remote.logs()).await?;
            if matches!(state.as_str(), "TERMINATED" | "SKIPPED" | "INTERNAL_ERROR") {
                break run;
            }
            if !canceling && cancel.requested() {
                aml_core::status!("canceling databricks run {run_id}");
                client.post("/api/2.2/jobs/runs/cancel", &json!({"run_id": run_id})).await?;
                canceling = true;
            }
            tracing::debug!("databricks run {run_id}: {state}; next poll in {delay:.2?}");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.wait(), if !canceling => {}
            }
            delay = (delay * 2).min(max_poll(ws.settings()));
        };
        follower.catch_up(&client, &remote.logs()).await?;

        let status = job_status(&run);
        if job.started_at.is_none() {
            // The run went from pending to its end between two polls.
            job.started_at = run["start_time"]
                .as_i64()
                .and_then(|ms| jiff::Timestamp::from_second(ms / 1000).ok())
                .map(|t| t.to_string())
                .or_else(|| Some(aml_core::time::now()));
        }
        let mut error = None;
        if status != JobStatus::Completed {
            error = Some(failure_message(&client, &run, &log).await?);
        }
        collect_mlflow(ws, &client, job, &mlflow_run, status).await?;
        let metrics_file = format!("{}/outputs/metrics.json", remote.code());
        if let Some(bytes) = client.download(&metrics_file).await? {
            record_metrics_file(ws, job, &String::from_utf8_lossy(&bytes), &metrics_file)?;
        }
        for (output, at) in &remote_outputs {
            let local_folder = dir.join("outputs");
            if job.outputs.get(output).is_some_and(|o| o.kind == AssetType::UriFile.as_str()) {
                if let Some(bytes) = client.download(at).await? {
                    std::fs::create_dir_all(&local_folder).with_path("cannot create", &local_folder)?;
                    std::fs::write(local_folder.join(output), bytes)
                        .with_path("cannot write", &local_folder.join(output))?;
                }
            } else {
                client.download_tree(at, &local_folder.join(output)).await?;
            }
        }
        finish(ws, job, status, error)
    }
    .await;
    if followed.is_err() {
        aml_core::status!(
            "databricks run {run_id} was not followed to its end and may still be running; cancel it on its run page if it should not"
        );
    }
    followed
}

/// A retried submit must not start a second run, and another workspace's job of the same
/// name (Databricks remembers tokens) must not be handed that workspace's run: the token is
/// the job, where it is recorded and when it was created.
fn idempotency_token(job: &Job, job_dir: &Path) -> String {
    let identity = format!("{}\n{}\n{}", job.name, job_dir.display(), job.created_at);
    let digest = aml_core::digest::Digest::of_bytes(identity.as_bytes()).hex();
    let name: String = job.name.chars().take(31).collect();
    format!("{name}-{}", &digest[..32])
}

fn job_status(run: &Value) -> JobStatus {
    let state = &run["state"];
    match state["life_cycle_state"].as_str().unwrap_or("PENDING") {
        "QUEUED" | "BLOCKED" | "WAITING_FOR_RETRY" => JobStatus::Queued,
        "PENDING" => JobStatus::Preparing,
        "RUNNING" => JobStatus::Running,
        "TERMINATING" => JobStatus::Finalizing,
        "SKIPPED" | "INTERNAL_ERROR" => JobStatus::Failed,
        _ => match state["result_state"].as_str().unwrap_or("") {
            "SUCCESS" | "SUCCESS_WITH_FAILURES" => JobStatus::Completed,
            "CANCELED" | "CANCELLED" => JobStatus::Canceled,
            _ => JobStatus::Failed,
        },
    }
}

async fn upload_all(client: &Client, uploads: Vec<(String, PathBuf)>) -> Result<()> {
    let results: Vec<Result<()>> = futures::stream::iter(uploads)
        .map(|(to, from)| async move { client.upload_file(&to, &from).await })
        .buffer_unordered(UPLOADS_IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The job's MLflow run, in the `/Shared/<experiment>` experiment (created when missing).
async fn create_mlflow_run(client: &Client, job: &Job) -> Result<String> {
    let name = format!("/Shared/{}", job.experiment_name);
    let found = client
        .get_optional(&format!(
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name={}",
            aml_http::url::encode_component(&name)
        ))
        .await?;
    let experiment_id = found.and_then(|v| v["experiment"]["experiment_id"].as_str().map(str::to_owned));
    let experiment_id = match experiment_id {
        Some(id) => id,
        None => client.post("/api/2.0/mlflow/experiments/create", &json!({"name": name})).await?["experiment_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::service("experiments/create answered no experiment_id", None))?,
    };
    let created = client
        .post(
            "/api/2.0/mlflow/runs/create",
            &json!({"experiment_id": experiment_id, "run_name": job.name, "start_time": aml_core::time::now_millis(), "tags": [{"key": "aml.job", "value": job.name}]}),
        )
        .await?;
    created["run"]["info"]["run_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::service("runs/create answered no run_id", None))
}

/// Metrics (their whole history) and params into the workspace; the run closed if the
/// script did not close it.
async fn collect_mlflow(
    ws: &mut LocalWorkspace,
    client: &Client,
    job: &Job,
    run_id: &str,
    status: JobStatus,
) -> Result<()> {
    let run = client.get(&format!("/api/2.0/mlflow/runs/get?run_id={run_id}")).await?;
    if run["run"]["info"]["status"].as_str() == Some("RUNNING") {
        let closed = match status {
            JobStatus::Completed => "FINISHED",
            JobStatus::Canceled => "KILLED",
            _ => "FAILED",
        };
        client
            .post(
                "/api/2.0/mlflow/runs/update",
                &json!({"run_id": run_id, "status": closed, "end_time": aml_core::time::now_millis()}),
            )
            .await?;
    }
    let data = &run["run"]["data"];
    let registry = ws.registry();
    for metric in data["metrics"].as_array().into_iter().flatten() {
        let (Some(key), Some(value)) = (metric["key"].as_str(), metric["value"].as_f64()) else { continue };
        // runs/get holds the latest value of each; the history is one more call per metric.
        let history = client
            .get(&format!(
                "/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key={}",
                aml_http::url::encode_component(key)
            ))
            .await;
        match history.ok().and_then(|h| h["metrics"].as_array().cloned()).filter(|h| !h.is_empty()) {
            Some(points) => {
                for point in points {
                    registry.log_metric(
                        &job.name,
                        key,
                        point["value"].as_f64().unwrap_or(value),
                        point["step"].as_i64().unwrap_or(0),
                        point["timestamp"].as_i64().unwrap_or(0),
                    )?;
                }
            }
            None => registry.log_metric(
                &job.name,
                key,
                value,
                metric["step"].as_i64().unwrap_or(0),
                metric["timestamp"].as_i64().unwrap_or(0),
            )?,
        }
    }
    for param in data["params"].as_array().into_iter().flatten() {
        if let (Some(key), Some(value)) = (param["key"].as_str(), param["value"].as_str()) {
            registry.log_param(&job.name, key, value)?;
        }
    }
    Ok(())
}

/// Databricks' error for the task (from `runs/get-output` on the task's run), its state
/// message, and the last lines of the log.
async fn failure_message(client: &Client, run: &Value, log: &Path) -> Result<String> {
    let state = &run["state"];
    let result = state["result_state"].as_str().unwrap_or(state["life_cycle_state"].as_str().unwrap_or("unknown"));
    let mut text = format!("databricks run {} ended {result}", run["run_id"]);
    if let Some(message) = state["state_message"].as_str().filter(|m| !m.is_empty()) {
        text.push_str(&format!(": {message}"));
    }
    let task_run = run["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["task_key"] == TASK_KEY))
        .and_then(|t| t["run_id"].as_i64());
    if let Some(task_run) = task_run {
        let output = client.get(&format!("/api/2.2/jobs/runs/get-output?run_id={task_run}")).await?;
        if let Some(error) = output["error"].as_str().filter(|e| !e.is_empty()) {
            text.push_str(&format!("\nerror: {error}"));
        }
        // Without our chunks (the driver never started the script), Databricks' own capture.
        if std::fs::metadata(log).map(|m| m.len()).unwrap_or(0) == 0
            && let Some(logs) = output["logs"].as_str()
        {
            let _ = std::fs::write(log, logs);
        }
    }
    let tail = aml_core::process::tail(log, 20);
    if !tail.trim().is_empty() {
        text.push_str(&format!("\nlast lines of its log:\n{tail}"));
    }
    Ok(text)
}

/// The log chunks the driver writes, appended to the job's log (and echoed) in order, once each.
struct LogFollower {
    seen: std::collections::BTreeSet<String>,
    file: std::fs::File,
    echo: bool,
    prefix: String,
}

impl LogFollower {
    async fn catch_up(&mut self, client: &Client, folder: &str) -> Result<()> {
        let Some(entries) = client.list(folder).await? else { return Ok(()) };
        let mut chunks: Vec<String> = entries
            .into_iter()
            .filter(|e| !e.is_directory)
            .map(|e| e.path)
            .filter(|p| {
                let name = p.rsplit('/').next().unwrap_or_default();
                name.starts_with("std_log.") && name.ends_with(".txt")
            })
            .filter(|p| !self.seen.contains(p))
            .collect();
        chunks.sort();
        for chunk in chunks {
            let Some(bytes) = client.download(&chunk).await? else { continue };
            self.file.write_all(&bytes).map_err(|e| Error::storage("cannot write the job's log", e))?;
            if self.echo {
                let text = String::from_utf8_lossy(&bytes);
                for line in text.lines() {
                    aml_core::progress::print_line(&format!("{}{line}", self.prefix));
                }
            }
            self.seen.insert(chunk);
        }
        Ok(())
    }
}
