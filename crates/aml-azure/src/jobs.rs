//! Command jobs on Azure ML, as `az ml job create --stream` runs them: the code snapshot
//! (reused by content hash), the environment version, local inputs uploaded as azure-ai-ml
//! uploads them, the job PUT, then polling with run history's back-off while the job's
//! `user_logs/std_log*.txt` are streamed from its default output, and metrics read through
//! the workspace's MLflow API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use azure_core::http::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{AzureWorkspace, Datastore, parse_datastore_uri};
use aml_core::error::{Error, Result};
use aml_core::jobplan::{DataSource, InputPlan, Plan};
use aml_core::jobs::{Job, JobInputRecord, JobOutputRecord, JobStatus, RunOptions, RunResult};
use aml_core::progress::Progress;
use aml_core::refs::{DataRef, job_output_uri};
use aml_core::settings::{EnvVars, Settings};
use aml_core::yaml::environment::{CondaFileRef, EnvironmentRef};
use aml_core::yaml::job::{CommandJob, InputMode, JobInput, JobSpec, LoadedJob};
use aml_http::pipeline::Retry;

/// azure-ai-ml's name for the environments it makes from an inline definition.
const ANONYMOUS_ENVIRONMENT: &str = "CliV2AnonymousEnvironment";

/// Where a job's logs are: its default output's datastore and folder.
struct LogPlace {
    store: Datastore,
    prefix: String,
}

impl AzureWorkspace {
    pub(super) fn job_path(&self, name: &str) -> String {
        format!("{}/jobs/{name}", self.prefix)
    }

    pub async fn run_job(&mut self, loaded: &LoadedJob, plan: &Plan, options: &RunOptions) -> Result<RunResult> {
        let name = match options.name.clone().or_else(|| plan.name.clone()) {
            Some(name) => {
                aml_core::refs::check_name(&name, "job name")?;
                name
            }
            None => aml_core::ids::job_name(),
        };
        if self.arm.get_optional::<Value>(&self.job_path(&name)).await?.is_some() {
            return Err(Error::usage(
                format!("the workspace already has a job `{name}`"),
                "job names are unique: give another `--name`, or leave it out for a generated one",
            ));
        }
        plan.check_submits()?;
        let body = match &loaded.spec {
            JobSpec::Command(spec) => self.job_body(spec, plan, options).await?,
            JobSpec::Pipeline(spec) => self.pipeline_body(spec, plan, options).await?,
            JobSpec::Sweep(spec) => self.sweep_body(spec, plan, options).await?,
            // `check_submits` refused it: aml-train builds no body for these types yet.
            JobSpec::Foreign(_) => {
                return Err(Error::usage(
                    format!("`{}` jobs are not submitted by aml-train yet", loaded.spec.kind()),
                    format!("submit it with `az ml job create -f {}`", plan.file.display()),
                ));
            }
        };
        let created: Value = self.arm.put(&self.job_path(&name), &body).await?;
        aml_core::status!(
            "job {name} submitted (experiment {})",
            body["properties"]["experimentName"].as_str().unwrap_or_default()
        );
        if let Some(studio) = created["properties"]["services"]["Studio"]["endpoint"].as_str() {
            aml_core::status!("  web view: {studio}");
        }
        // A pipeline has no log of its own; its steps' logs are read with `logs --step`.
        let stream = options.stream_logs && matches!(loaded.spec, JobSpec::Command(_));
        let last = self.follow(&name, stream).await?;
        let job = self.job_from_arm(&last).await?;
        Ok(RunResult { job, steps: Vec::new() })
    }

    /// The JobBase resource for a command job: every local path uploaded first.
    async fn job_body(&self, spec: &CommandJob, plan: &Plan, options: &RunOptions) -> Result<Value> {
        let step = &plan.steps[0];
        let mut properties = serde_json::Map::new();
        properties.insert("jobType".into(), json!("Command"));
        properties.insert("command".into(), json!(spec.command));
        properties.insert("environmentId".into(), json!(self.ensure_environment(&plan.file, &spec.environment).await?));
        let mut own: BTreeMap<String, String> = spec.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(code) = &step.code {
            let asset = self.ensure_code(code).await?;
            properties.insert("codeId".into(), json!(asset.id));
            own.insert("aml.code_digest".into(), asset.digest.to_string());
        }
        if let Some(compute) = self.compute_id(spec.compute.as_deref())? {
            properties.insert("computeId".into(), json!(compute));
        }
        describe_job(&mut properties, plan, options, spec.description.as_ref(), own);
        if !step.environment_variables.is_empty() {
            let variables: BTreeMap<&String, &String> =
                step.environment_variables.iter().map(|(k, v)| (k, v)).collect();
            properties.insert("environmentVariables".into(), json!(variables));
        }
        let mut inputs = serde_json::Map::new();
        for (name, input) in &step.inputs {
            let mode = match spec.inputs.get(name) {
                Some(JobInput::Asset(asset)) => asset.mode.map(input_mode),
                _ => None,
            };
            if let Some(value) = self.rest_input(input, mode).await? {
                inputs.insert(name.clone(), value);
            }
        }
        properties.insert("inputs".into(), Value::Object(inputs));
        let outputs: serde_json::Map<String, Value> =
            step.outputs.iter().map(|(name, kind)| (name.clone(), json!({"jobOutputType": kind.as_str()}))).collect();
        properties.insert("outputs".into(), Value::Object(outputs));
        if let Some(seconds) = step.timeout_seconds {
            properties.insert("limits".into(), json!({"jobLimitsType": "Command", "timeout": format!("PT{seconds}S")}));
        }
        Ok(json!({ "properties": properties }))
    }

    /// A job-level input as ARM takes it: a literal as it is, data by URI (local data uploaded
    /// first); None for an optional input nobody gave.
    pub(super) async fn rest_input(&self, input: &InputPlan, mode: Option<&str>) -> Result<Option<Value>> {
        Ok(Some(match input {
            InputPlan::Literal(value) => json!({"jobInputType": "literal", "value": value}),
            InputPlan::Data { kind, source, written } => {
                let uri = match (DataRef::parse(written), source) {
                    (DataRef::LocalPath(_), DataSource::Path(path)) => self.upload_input(path).await?,
                    _ => written.clone(),
                };
                let mut value = json!({"jobInputType": kind.as_str(), "uri": uri});
                if let Some(mode) = mode {
                    value["mode"] = json!(mode);
                }
                value
            }
            InputPlan::Absent => return Ok(None),
        }))
    }

    /// `compute: azureml:cpu-cluster` (or an ARM id) → the compute's ARM id; none is serverless.
    pub(super) fn compute_id(&self, compute: Option<&str>) -> Result<Option<String>> {
        let Some(compute) = compute.map(str::trim).filter(|c| !c.is_empty()) else { return Ok(None) };
        let name = compute.strip_prefix("azureml:").unwrap_or(compute);
        if name.starts_with("/subscriptions/") {
            return Ok(Some(name.to_string()));
        }
        if name == "local" || name.contains(':') || name.contains('/') {
            return Err(Error::usage(
                format!("`compute: {compute}` is not a compute of the workspace"),
                "name a compute cluster as `azureml:<name>`, or leave `compute:` out for serverless",
            ));
        }
        Ok(Some(format!("{}/computes/{name}", self.prefix)))
    }

    /// A local input file or folder, uploaded where azure-ai-ml puts it
    /// (`LocalUpload/<object hash>/<name>` in the default datastore) unless already there.
    pub(super) async fn upload_input(&self, path: &Path) -> Result<String> {
        let hashed = super::hash::hash_tree(path)?;
        let store = self.datastore("workspaceblobstore").await?;
        let place = super::LocalUpload::new(path, &hashed);
        if place.completed(&store).await? {
            aml_core::status!("input `{}` is already in `{}`; nothing to upload", path.display(), store.name);
        } else {
            aml_core::status!(
                "uploading input `{}` ({}) …",
                path.display(),
                aml_core::cli::human_size(hashed.manifest.total_size())
            );
            let files: Vec<(PathBuf, String)> =
                hashed.files.iter().map(|(disk, rel)| (disk.clone(), place.blob_name(rel))).collect();
            let total = hashed.manifest.total_size();
            let progress = Progress::bytes(format!("uploading input `{}`", path.display()), total, &self.settings);
            store.container.upload_files(&files, &|bytes| progress.add(bytes)).await?;
            progress.finish();
            place.mark_completed(&store, &aml_core::ids::uuid4()?, "1").await?;
        }
        Ok(format!("azureml://datastores/{}/paths/{}", store.name, place.path()))
    }

    /// The environment's ARM id: a registered one named, or an inline one created as the
    /// anonymous version azure-ai-ml would create.
    pub(super) async fn ensure_environment(&self, file: &Path, environment: &EnvironmentRef) -> Result<String> {
        let env = match environment {
            EnvironmentRef::Registered(reference) => return self.registered_environment(file, reference).await,
            EnvironmentRef::Inline(env) => env,
        };
        if env.build.is_some() {
            return Err(Error::in_file(
                file,
                Some("environment.build"),
                "build contexts are not uploaded to Azure ML by this build",
                "give an `image:` (and `conda_file:`) instead",
            ));
        }
        let Some(image) = &env.image else {
            return Err(Error::in_file(
                file,
                Some("environment.image"),
                "is missing",
                "an environment on Azure ML starts from an image, e.g. `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04`",
            ));
        };
        let conda = match &env.conda_file {
            Some(CondaFileRef::Path(path)) => Some(aml_core::yaml::read(&aml_core::yaml::resolve_path(file, path))?),
            Some(CondaFileRef::Inline(conda)) => Some(yaml_serde::to_string(conda).map_err(|e| {
                Error::in_file(
                    file,
                    Some("environment.conda_file"),
                    format!("cannot be written back as YAML: {e}"),
                    "write it in a file and name the file",
                )
            })?),
            None => None,
        };
        let version = anonymous_environment_version(image, conda.as_deref());
        let mut properties = json!({"image": image, "isAnonymous": true, "isArchived": false});
        if let Some(conda) = conda {
            properties["condaFile"] = json!(conda);
        }
        if let Some(os) = &env.os_type {
            properties["osType"] = json!(if os.eq_ignore_ascii_case("windows") { "Windows" } else { "Linux" });
        }
        let path = format!("{}/environments/{ANONYMOUS_ENVIRONMENT}/versions/{version}", self.prefix);
        let created: Value = self.arm.put(&path, &json!({ "properties": properties })).await?;
        Ok(created["id"].as_str().map(str::to_owned).unwrap_or(path))
    }

    async fn registered_environment(&self, file: &Path, reference: &str) -> Result<String> {
        // A registry's asset id goes as it is written, as azure-ai-ml sends it: Azure ML
        // resolves `…/versions/V` and `…/labels/latest` itself.
        if reference.starts_with("azureml://registries/") {
            return Ok(reference.to_string());
        }
        let name = reference.strip_prefix("azureml:").unwrap_or(reference);
        if name.starts_with("/subscriptions/") {
            return Ok(name.to_string());
        }
        // A curated environment's short name is expanded by the service, as azure-ai-ml leaves it.
        if name.starts_with("AzureML-") {
            return Ok(format!("azureml:{name}"));
        }
        if let Some(name) = name.strip_suffix("@latest") {
            let container: Value =
                self.arm.get_optional(&format!("{}/environments/{name}", self.prefix)).await?.ok_or_else(|| {
                    Error::in_file(
                        file,
                        Some("environment"),
                        format!("the workspace has no environment `{name}`"),
                        "register it first, or define it inline",
                    )
                })?;
            let latest = container["properties"]["latestVersion"].as_str().unwrap_or("1");
            return Ok(format!("{}/environments/{name}/versions/{latest}", self.prefix));
        }
        match name.rsplit_once(':') {
            Some((name, version)) if !name.is_empty() && !version.is_empty() => {
                Ok(format!("{}/environments/{name}/versions/{version}", self.prefix))
            }
            _ => Err(Error::in_file(
                file,
                Some("environment"),
                format!("`{reference}` names no version"),
                "write `azureml:<name>:<version>` or `azureml:<name>@latest`",
            )),
        }
    }

    /// Poll the job to a terminal status, printing status changes and (when asked) its new
    /// log lines; Ctrl-C or the CI cancelling the step cancels the job in Azure ML.
    pub(super) async fn follow(&self, name: &str, stream: bool) -> Result<Value> {
        let mut cancel = aml_core::process::Cancellation::install()?;
        let mut cancel_sent = false;
        let started = Instant::now();
        let mut last_status = String::new();
        let mut printed: BTreeMap<String, usize> = BTreeMap::new();
        let mut logs: Option<LogPlace> = None;
        let mut log_warning_given = false;
        let mut step_status: BTreeMap<String, String> = BTreeMap::new();
        let progress = Progress::waiting(format!("job {name}"), &self.settings);
        loop {
            let job: Value = self.arm.get(&self.job_path(name)).await?;
            let status = job_status(&job);
            if status.as_str() != last_status {
                aml_core::status!("job {name}: {status}");
                last_status = status.as_str().to_string();
            }
            progress.set_status(status.as_str());
            let terminal = status.is_terminal();
            if job["properties"]["jobType"] == "Pipeline" {
                // A pipeline's progress is its steps': say when each changes.
                for (step, child, status) in self.step_statuses(name).await.unwrap_or_default() {
                    if step_status.insert(child.clone(), status.clone()).as_ref() != Some(&status) {
                        aml_core::status!("step {step} ({child}): {status}");
                    }
                }
            }
            if stream {
                if logs.is_none() {
                    logs = self.log_place(&job).await.unwrap_or(None);
                }
                if let Some(place) = &logs
                    && let Err(e) = self.print_new_lines(place, &mut printed, terminal).await
                    && !log_warning_given
                {
                    aml_core::status!("warning: cannot read the job's log yet: {e}");
                    log_warning_given = true;
                }
            }
            if terminal {
                progress.finish();
                return Ok(job);
            }
            let wait = poll_interval(started.elapsed(), &self.settings);
            tracing::debug!("job {name}: {last_status} after {:.0?}; next poll in {wait:.0?}", started.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.wait(), if !cancel_sent => {
                    aml_core::status!("cancelling job {name} …");
                    let reply = self.arm.call(Method::Post, &format!("{}/cancel", self.job_path(name)), None).await?;
                    self.arm.wait(&format!("cancelling job {name}"), &reply, Duration::from_secs(600), &mut |_| {}).await?;
                    cancel_sent = true;
                }
            }
        }
    }

    /// The job's default output (its logs and artifacts), as azure-ai-ml finds it.
    async fn log_place(&self, job: &Value) -> Result<Option<LogPlace>> {
        let name = job["name"].as_str().unwrap_or_default();
        let uri = job["properties"]["outputs"]["default"]["uri"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{name}/"));
        let Some((datastore, prefix)) = parse_datastore_uri(&uri) else { return Ok(None) };
        Ok(Some(LogPlace { store: self.datastore(&datastore).await?, prefix }))
    }

    /// The job's std logs (rank 0), sorted by name, as (name, text).
    async fn read_logs(&self, place: &LogPlace) -> Result<Vec<(String, String)>> {
        let base = format!("{}/", place.prefix);
        let mut names: Vec<String> = place
            .store
            .container
            .list(&format!("{base}user_logs/"))
            .await?
            .into_iter()
            .filter(|n| is_std_log(n.strip_prefix(&base).unwrap_or(n)))
            .collect();
        names.sort();
        let mut logs = Vec::new();
        for name in names {
            let text = place
                .store
                .container
                .read(&name)
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            logs.push((name.strip_prefix(&base).unwrap_or(&name).to_string(), text));
        }
        Ok(logs)
    }

    /// Echo lines not printed yet; a line still being written waits for its newline unless
    /// the job has ended.
    async fn print_new_lines(
        &self,
        place: &LogPlace,
        printed: &mut BTreeMap<String, usize>,
        finished: bool,
    ) -> Result<()> {
        for (name, text) in self.read_logs(place).await? {
            let complete: Vec<&str> = if finished || text.ends_with('\n') {
                text.lines().collect()
            } else {
                text.lines().rev().skip(1).collect::<Vec<_>>().into_iter().rev().collect()
            };
            let seen = printed.entry(name.clone()).or_insert_with(|| {
                aml_core::status!("streaming {name}");
                0
            });
            for line in complete.iter().skip(*seen) {
                aml_core::status!("{line}");
            }
            *seen = (*seen).max(complete.len());
        }
        Ok(())
    }

    /// Jobs_Cancel, followed to its end; the job as it then is.
    pub async fn cancel_job(&self, name: &str) -> Result<Job> {
        let job = self.job(name).await?;
        if job.status.is_terminal() {
            return Err(Error::usage(format!("job `{name}` already ended: {}", job.status), "nothing to cancel"));
        }
        let reply = self.arm.call(Method::Post, &format!("{}/cancel", self.job_path(name)), None).await?;
        self.arm.wait(&format!("cancelling job {name}"), &reply, Duration::from_secs(600), &mut |_| {}).await?;
        self.job(name).await
    }

    pub async fn job(&self, name: &str) -> Result<Job> {
        let resource: Value = self.arm.get_optional(&self.job_path(name)).await?.ok_or_else(|| {
            Error::usage(
                format!("no job named `{name}` in this workspace"),
                "`aml-train run` prints the job's name; check `--workspace`",
            )
        })?;
        self.job_from_arm(&resource).await
    }

    /// Our view of an ARM job: times come from its MLflow run, a failure's message from run
    /// history, with the tail of its log.
    pub(super) async fn job_from_arm(&self, resource: &Value) -> Result<Job> {
        let props = &resource["properties"];
        let name = resource["name"].as_str().unwrap_or_default().to_string();
        let own: BTreeMap<String, String> = serde_json::from_value(props["properties"].clone()).unwrap_or_default();
        let status = job_status(resource);
        let run = self.mlflow_run(&name).await.unwrap_or(None);
        let time = |field: &str| {
            run.as_ref()
                .and_then(|r| r["info"][field].as_i64().or_else(|| r["info"][field].as_str()?.parse().ok()))
                .map(aml_core::time::from_millis)
        };
        let mut inputs = BTreeMap::new();
        if let Some(map) = props["inputs"].as_object() {
            for (key, input) in map {
                let kind = input["jobInputType"].as_str().unwrap_or("literal").to_string();
                let value = if kind == "literal" {
                    input["value"].as_str().unwrap_or_default()
                } else {
                    input["uri"].as_str().unwrap_or_default()
                };
                inputs.insert(key.clone(), JobInputRecord { kind, value: value.to_string(), digest: None });
            }
        }
        let mut outputs = BTreeMap::new();
        if let Some(map) = props["outputs"].as_object() {
            for (key, output) in map.iter().filter(|(k, _)| k.as_str() != "default") {
                outputs.insert(
                    key.clone(),
                    JobOutputRecord {
                        kind: output["jobOutputType"].as_str().unwrap_or("uri_folder").to_string(),
                        uri: job_output_uri(&name, key),
                        path: output["uri"].as_str().unwrap_or_default().to_string(),
                    },
                );
            }
        }
        let error = if matches!(status, JobStatus::Failed | JobStatus::NotResponding) {
            Some(self.failure(resource).await)
        } else {
            None
        };
        Ok(Job {
            name: aml_core::names::JobName::new(&name)?,
            kind: props["jobType"].as_str().unwrap_or("Command").to_lowercase(),
            parent: None,
            step: None,
            display_name: props["displayName"].as_str().map(str::to_owned),
            experiment_name: props["experimentName"].as_str().unwrap_or("Default").to_string(),
            status,
            created_at: resource["systemData"]["createdAt"].as_str().unwrap_or_default().to_string(),
            started_at: time("start_time"),
            ended_at: if status.is_terminal() { time("end_time") } else { None },
            inputs,
            outputs,
            code_digest: own.get("aml.code_digest").and_then(|d| d.parse().ok()),
            environment: props["environmentId"].as_str().map(str::to_owned),
            command: props["command"].as_str().map(str::to_owned),
            error,
            file: own.get("aml.file").cloned(),
            tags: serde_json::from_value(props["tags"].clone()).unwrap_or_default(),
            git: own.get("aml.git").and_then(|g| serde_json::from_str(g).ok()),
            created_by: resource["systemData"]["createdBy"].as_str().map(str::to_owned),
            runner_pid: None,
        })
    }

    /// Why a job failed: run history's error, then the last lines of its log.
    async fn failure(&self, resource: &Value) -> String {
        let name = resource["name"].as_str().unwrap_or_default();
        let message = match self.run_details(name).await {
            Ok(details) => details["error"]["error"]["message"].as_str().map(str::to_owned),
            Err(_) => None,
        }
        .unwrap_or_else(|| "the job failed in Azure ML (run history gave no message)".into());
        let tail = match self.log_place(resource).await {
            Ok(Some(place)) => {
                self.read_logs(&place).await.ok().and_then(|logs| logs.last().map(|(_, text)| last_lines(text, 20)))
            }
            _ => None,
        };
        match tail {
            Some(tail) if !tail.is_empty() => format!("{message}\nlast lines of the log:\n{tail}"),
            _ => message,
        }
    }

    /// Run history's details of a run (`GET {api}/history/v1.0/…/runs/{id}/details`), its
    /// host found through the workspace's discovery URL.
    async fn run_details(&self, run: &str) -> Result<Value> {
        let api = self.data_plane_api().await?;
        let url = format!("{api}/history/v1.0{}/runs/{run}/details", self.prefix);
        self.arm.call(Method::Get, &url, None).await?.json("run details")
    }

    pub(super) async fn data_plane_api(&self) -> Result<String> {
        let discovery = self
            .discovery_url
            .as_deref()
            .ok_or_else(|| Error::service("the workspace names no discovery URL", None))?;
        // Discovery is public; the SDK sends no token there, and neither do we.
        let services = super::plain_get(&self.transport, discovery, Retry::service(&self.settings)).await?;
        services["api"]
            .as_str()
            .map(|a| a.trim_end_matches('/').to_string())
            .ok_or_else(|| Error::service("the workspace's discovery document names no `api` host", None))
    }

    /// The job's MLflow run (`runs/get`), or `None` when there is none (yet).
    async fn mlflow_run(&self, name: &str) -> Result<Option<Value>> {
        let Some(base) = self.mlflow_base() else { return Ok(None) };
        let url = format!("{base}/api/2.0/mlflow/runs/get?run_id={name}");
        let reply = self.arm.send(Method::Get, &url, None).await?;
        match reply.status {
            200 => Ok(reply.json::<Value>("the job's MLflow run")?.get("run").cloned()),
            404 => Ok(None),
            _ => Err(self.arm.status_error(&Method::Get, &url, &reply)),
        }
    }

    /// `azureml://HOST/mlflow/v1.0/…` → `https://HOST/mlflow/v2.0/…`, as azureml-mlflow does.
    fn mlflow_base(&self) -> Option<String> {
        let uri = self.tracking_uri.as_deref()?;
        let rest = uri.strip_prefix("azureml://")?;
        Some(format!("https://{}", rest.replacen("/mlflow/v1.0/", "/mlflow/v2.0/", 1).trim_end_matches('/')))
    }

    pub async fn job_metrics(&self, job: &Job) -> Result<BTreeMap<String, f64>> {
        let run = self.mlflow_run(&job.name).await?;
        Ok(run
            .iter()
            .flat_map(|r| r["data"]["metrics"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| Some((m["key"].as_str()?.to_string(), m["value"].as_f64()?)))
            .collect())
    }

    pub async fn job_params(&self, job: &Job) -> Result<BTreeMap<String, String>> {
        let run = self.mlflow_run(&job.name).await?;
        Ok(run
            .iter()
            .flat_map(|r| r["data"]["params"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| Some((p["key"].as_str()?.to_string(), p["value"].as_str()?.to_string())))
            .collect())
    }

    /// Where the job's log is, and its text (every rank-0 std log, in order).
    pub async fn job_log_text(&self, name: &str) -> Result<(String, String)> {
        let resource: Value = self.arm.get(&self.job_path(name)).await?;
        let place = self
            .log_place(&resource)
            .await?
            .ok_or_else(|| Error::service(format!("job `{name}` has no default output to hold its logs"), None))?;
        let logs = self.read_logs(&place).await?;
        let location = format!("azureml://datastores/{}/paths/{}/user_logs/", place.store.name, place.prefix);
        Ok((location, logs.into_iter().map(|(_, text)| text).collect::<Vec<_>>().join("")))
    }

    /// Where a job's log is kept, as a user can look it up.
    pub fn job_log_location(&self, name: &str) -> String {
        format!("azureml://jobs/{name}/outputs/default/user_logs/std_log.txt")
    }

    /// A job output downloaded into a scratch folder; a `uri_file` output is the file itself.
    pub async fn job_output_path(&self, job: &str, output: &str) -> Result<PathBuf> {
        let resource: Value = self.arm.get_optional(&self.job_path(job)).await?.ok_or_else(|| {
            Error::usage(format!("no job named `{job}` in this workspace"), "check the job's name and `--workspace`")
        })?;
        let status = job_status(&resource);
        if status != JobStatus::Completed {
            return Err(Error::usage(
                format!("job `{job}` is {status}; only a completed job's outputs are taken"),
                "wait for the job, or take another job's output",
            ));
        }
        let found = &resource["properties"]["outputs"][output];
        let uri = found["uri"].as_str().ok_or_else(|| {
            let names: Vec<String> = resource["properties"]["outputs"]
                .as_object()
                .map(|m| m.keys().filter(|k| k.as_str() != "default").cloned().collect())
                .unwrap_or_default();
            Error::usage(
                format!("job `{job}` has no output `{output}` with a location"),
                format!("its outputs: {}", names.join(", ")),
            )
        })?;
        let (datastore, prefix) = parse_datastore_uri(uri).ok_or_else(|| {
            Error::service(
                format!("output `{output}` of job `{job}` is at `{uri}`, which this build cannot download"),
                None,
            )
        })?;
        let store = self.datastore(&datastore).await?;
        let dir = self.scratch.create("aml-job-output")?;
        let what = format!("downloading output `{output}` of job {job}");
        let written = super::download_prefix(&store, &prefix, &dir, &what, &self.settings).await?;
        if found["jobOutputType"] == "uri_file" && written.len() == 1 {
            return Ok(written[0].clone());
        }
        Ok(dir)
    }
}

/// What every job resource says about itself: experiment, display name, description, tags,
/// and our own properties (the job file and git commit, with those given).
pub(super) fn describe_job(
    properties: &mut serde_json::Map<String, Value>,
    plan: &Plan,
    options: &RunOptions,
    description: Option<&String>,
    mut own: BTreeMap<String, String>,
) {
    own.insert("aml.file".into(), plan.file.display().to_string());
    if let Some(git) = aml_core::lineage::git_info(plan.file.parent().unwrap_or(Path::new(".")), &options.ci) {
        own.insert("aml.git".into(), serde_json::to_string(&git).unwrap_or_default());
    }
    let experiment = options
        .experiment_name
        .clone()
        .or_else(|| plan.experiment_name.clone())
        .unwrap_or_else(aml_core::ids::default_experiment);
    properties.insert("experimentName".into(), json!(experiment));
    if let Some(display) = options.display_name.clone().or_else(|| plan.display_name.clone()) {
        properties.insert("displayName".into(), json!(display));
    }
    if let Some(description) = description {
        properties.insert("description".into(), json!(description));
    }
    properties.insert("tags".into(), json!(plan.tags));
    properties.insert("properties".into(), json!(own));
}

fn job_status(job: &Value) -> JobStatus {
    job["properties"]["status"].as_str().and_then(|s| s.parse().ok()).unwrap_or(JobStatus::Unknown)
}

pub(super) fn input_mode(mode: InputMode) -> &'static str {
    match mode {
        InputMode::RoMount => "ReadOnlyMount",
        InputMode::Download => "Download",
        InputMode::Direct => "Direct",
        InputMode::EvalMount => "EvalMount",
        InputMode::EvalDownload => "EvalDownload",
    }
}

/// `std_log.txt`, `std_log_process_0.txt`, `std_log_ps.txt`: rank 0's logs, as
/// azure-ai-ml's `user_logs/std_log[\D]*[0]*(?:_ps)?\.txt` picks them.
fn is_std_log(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("user_logs/std_log").and_then(|r| r.strip_suffix(".txt")) else { return false };
    let rest = rest.strip_suffix("_ps").unwrap_or(rest);
    let zeros_from = rest.trim_end_matches('0').len();
    !rest[..zeros_from].chars().any(|c| c.is_ascii_digit())
}

/// An id as a component spec names it: `azureml:` before an ARM id, a registry's asset id or a
/// curated name as they are (they carry their own scheme).
pub(super) fn spec_id(id: &str) -> String {
    if id.starts_with("azureml:") { id.to_string() } else { format!("azureml:{id}") }
}

/// azure-ai-ml's version for an anonymous environment from an image: SHA-256 of the image's
/// hash, joined (Python's `str.join`) through the conda file's hash when there is one.
pub fn anonymous_environment_version(image: &str, conda: Option<&str>) -> String {
    let hex = |text: &str| aml_core::digest::hex(&Sha256::digest(text.as_bytes()));
    let image_hash = hex(image);
    let joined = match conda {
        Some(conda) => hex(conda).chars().map(|c| c.to_string()).collect::<Vec<_>>().join(&image_hash),
        None => image_hash,
    };
    hex(&joined)
}

/// run history's polling schedule: `max(MIN, floor(MAX / (1 + 100·e^(−t/20))))`, MIN 2 s
/// and MAX 60 s unless AZUREML_RUN_POLLING_INTERVAL_MIN/MAX say otherwise.
fn poll_interval(elapsed: Duration, settings: &Settings) -> Duration {
    // A value that is not a positive number of at most a day is the default.
    let setting = |name: &str, default: f64| {
        Some(settings.number(name, default)).filter(|v| *v > 0.0 && *v <= 86_400.0).unwrap_or(default)
    };
    let (min, max) = (
        setting(EnvVars::AZUREML_RUN_POLLING_INTERVAL_MIN, 2.0),
        setting(EnvVars::AZUREML_RUN_POLLING_INTERVAL_MAX, 60.0),
    );
    let t = elapsed.as_secs_f64();
    let curve = (max / (1.0 + 100.0 * (-t / 20.0).exp())).floor();
    Duration::from_secs_f64(curve.max(min).min(max.max(min)))
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_zero_std_logs_are_picked_as_azure_ai_ml_picks_them() {
        for name in [
            "user_logs/std_log.txt",
            "user_logs/std_log_process_0.txt",
            "user_logs/std_log_ps.txt",
            "user_logs/std_log_node_00.txt",
        ] {
            assert!(is_std_log(name), "{name}");
        }
        for name in [
            "user_logs/std_log_process_1.txt",
            "user_logs/std_log_process_10.txt",
            "user_logs/other.txt",
            "system_logs/std_log.txt",
        ] {
            assert!(!is_std_log(name), "{name}");
        }
    }

    #[test]
    fn polling_starts_at_the_minimum_and_grows_to_the_maximum() {
        assert_eq!(poll_interval(Duration::ZERO, &Settings::from_vars([])), Duration::from_secs(2));
        assert_eq!(poll_interval(Duration::from_secs(90), &Settings::from_vars([])), Duration::from_secs(28));
        assert_eq!(poll_interval(Duration::from_secs(600), &Settings::from_vars([])), Duration::from_secs(59));
    }
}
