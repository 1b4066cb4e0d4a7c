//! The emulator's compute: a submitted job really runs. Its code snapshot and inputs are
//! downloaded from Azurite (the snapshot must hash to what its code version claims), the
//! job is run by `aml-train` on a local workspace in a scratch folder, its log is copied to
//! `workspaceartifactstore` as it grows (where clients stream it from), and its outputs,
//! metrics and status land where Azure ML would put them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::azurite::ARTIFACT_CONTAINER;
use crate::common::Storage;
use crate::resources::Task;
use crate::state::State;

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub fn spawn(state: Arc<Mutex<State>>, tools: Option<PathBuf>, job: String) {
    std::thread::spawn(move || {
        let outcome = match tools {
            Some(tools) => run(&state, &tools, &job),
            None => Err("the emulator was given no compute (Emulator::set_compute)".to_string()),
        };
        if let Err(problem) = outcome {
            let mut state = lock(&state);
            state.set_status(&job, "Failed");
            if let Some(run) = state.runs.get_mut(&job) {
                run.error = Some(problem);
                run.end_ms = Some(now_ms());
            }
        }
    });
}

/// `azureml://datastores/<ds>/paths/<path>` → (datastore, path).
fn datastore_path(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("azureml://")?;
    let at = rest.find("datastores/")?;
    let (datastore, path) = rest[at + "datastores/".len()..].split_once("/paths/")?;
    Some((datastore.to_string(), path.trim_end_matches('/').to_string()))
}

struct Blobs {
    runtime: tokio::runtime::Runtime,
    rest: crate::blob_rest::BlobRest,
    storage: Storage,
}

impl Blobs {
    /// Every blob under `prefix` into `into`, as (path under the prefix, file).
    fn download(&self, container: &str, prefix: &str, into: &Path) -> Result<Vec<(String, PathBuf)>, String> {
        let names = self.runtime.block_on(self.rest.list(container, prefix))?;
        let mut files = Vec::new();
        for name in names {
            let rel = if name == prefix {
                name.rsplit('/').next().unwrap_or(&name).to_string()
            } else {
                name.strip_prefix(&format!("{prefix}/")).unwrap_or(&name).to_string()
            };
            let target = into.join(&rel);
            let bytes = self.runtime.block_on(self.rest.get(container, &name))?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&target, &bytes).map_err(|e| format!("{}: {e}", target.display()))?;
            files.push((rel, target));
        }
        Ok(files)
    }

    fn upload(&self, container: &str, file: &Path, name: &str) -> Result<(), String> {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        self.runtime.block_on(self.rest.put(container, name, bytes.into()))
    }
}

/// Run a job on a scratch local workspace with the tools in `tools`: `aml-train run` for a
/// submitted job, `aml-deploy invoke` for a batch endpoint's.
fn run(state: &Arc<Mutex<State>>, tools: &Path, job: &str) -> Result<(), String> {
    let (resource, storage) = {
        let mut state = lock(state);
        state.set_status(job, "Queued");
        (
            state.jobs.get(job).cloned().ok_or("the job vanished")?,
            state.storage.clone().ok_or("the emulator has no storage")?,
        )
    };
    let props = &resource["properties"];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let blobs = Blobs { runtime, rest: crate::blob_rest::BlobRest::new(&storage)?, storage: storage.clone() };
    let work = aml_client::testing::TestWorkspace::new();
    lock(state).set_status(job, "Preparing");

    let batch = lock(state).batch_runs.get(job).cloned();
    let (compute, args, batch_environment) = match &batch {
        Some(batch) => {
            let (args, environment) = prepare_batch(state, &blobs, tools, batch, job, &work)?;
            (tools.join("aml-deploy"), args, environment)
        }
        None => {
            let spec = if props["jobType"] == "Pipeline" {
                pipeline_spec(state, &blobs, props, work.path())?
            } else if props["jobType"] == "Sweep" {
                sweep_spec(state, &blobs, props, work.path())?
            } else {
                command_spec(state, &blobs, props, work.path())?
            };
            // JSON is YAML: aml-train reads it as the job file.
            let job_file = work.path().join("job.yml");
            std::fs::write(&job_file, serde_json::to_vec_pretty(&spec).unwrap_or_default())
                .map_err(|e| e.to_string())?;
            let args = ["run", "job.yml", "--name", job, "--output", "json", "--quiet"].map(str::to_owned).to_vec();
            (tools.join("aml-train"), args, None)
        }
    };

    {
        let mut state = lock(state);
        state.set_status(job, "Running");
        if let Some(run) = state.runs.get_mut(job) {
            run.start_ms = Some(now_ms());
        }
    }
    let stderr_file = work.path().join("runner-stderr.txt");
    let mut child = work
        .command(&compute)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_file).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", compute.display()))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let log = work.path().join(".aml").join("jobs").join(job).join("logs").join("std_log.txt");
    let log_blob = format!("ExperimentRun/dcid.{job}/user_logs/std_log.txt");
    let mut copied = 0u64;
    let mut interrupted = false;
    let started = Instant::now();
    loop {
        let exited = child.try_wait().map_err(|e| e.to_string())?.is_some();
        let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        if size != copied {
            blobs.upload(ARTIFACT_CONTAINER, &log, &log_blob)?;
            copied = size;
        }
        if exited {
            break;
        }
        if !interrupted && lock(state).cancel_requested.contains(job) {
            let _ = std::process::Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
            interrupted = true;
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.wait();
    let stdout = reader.join().unwrap_or_default();
    let result: Value = serde_json::from_str(&stdout).map_err(|_| {
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        format!(
            "the job's runner printed no result: {}",
            stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })?;
    let mut output_uris = serde_json::Map::new();
    let asked = batch.as_ref().and_then(|b| b.output.clone());
    for (name, path) in result["output_paths"].as_object().cloned().unwrap_or_default() {
        let folder = PathBuf::from(path.as_str().unwrap_or_default());
        // A batch job's `score` goes where its invocation said (`outputData`), else the job's own.
        let (datastore, prefix) = match &asked {
            Some((datastore, path)) if name == "score" => (datastore.clone(), path.clone()),
            _ => ("workspaceblobstore".to_string(), format!("azureml/{job}/{name}")),
        };
        let (_, container) = lock(state).datastore(&datastore).ok_or(format!("no datastore {datastore}"))?;
        let files = aml_client::tree::list(&folder).unwrap_or_default();
        for (rel, file) in &files {
            blobs.upload(&container, file, &format!("{prefix}/{rel}"))?;
        }
        output_uris.insert(name, json!(format!("azureml://datastores/{datastore}/paths/{prefix}/")));
    }
    // A pipeline's steps become its run's children: jobs of their own, with logs and metrics.
    let mut children = Vec::new();
    for step in result["steps"].as_array().cloned().unwrap_or_default() {
        let child = step["name"].as_str().unwrap_or_default().to_string();
        let log = PathBuf::from(step["log"].as_str().unwrap_or_default());
        if log.is_file() {
            blobs.upload(ARTIFACT_CONTAINER, &log, &format!("ExperimentRun/dcid.{child}/user_logs/std_log.txt"))?;
        }
        children.push((child, step));
    }
    let mut state = lock(state);
    let workspace = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        crate::common::SUBSCRIPTION,
        crate::common::RESOURCE_GROUP,
        crate::common::WORKSPACE
    );
    for (child, step) in children {
        let node = step["step"].as_str().unwrap_or_default();
        let component_id = props["jobs"][node]["componentId"].as_str().unwrap_or_default();
        let mut component = crate::jobs::find_stored(&state, component_id, "components")
            .map(|c| c["properties"]["componentSpec"].clone())
            .unwrap_or_default();
        // A sweep's trials run its trial's command with their values in place.
        if props["jobType"] == "Sweep" {
            component = json!({"command": step["command"], "environment": props["trial"]["environmentId"]});
        }
        // A parallel step is answered as Azure ML answers one, a command job: the driver's
        // command, in the task's environment.
        if component["type"] == "parallel" {
            component = json!({"command": step["command"], "environment": component["task"]["environment"]});
        }
        // A batch job's step runs the deployment's scoring script in its environment.
        if let Some(environment) = &batch_environment {
            component = json!({"command": step["command"], "environment": environment});
        }
        let environment =
            component["environment"].as_str().unwrap_or_default().trim_start_matches("azureml:").to_string();
        let resource = json!({
            "id": format!("{workspace}/jobs/{child}"), "name": child, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": {
                "jobType": "Command", "displayName": node, "experimentName": props["experimentName"], "status": step["status"],
                "command": component["command"], "environmentId": environment, "componentId": component_id,
                "properties": {"azureml.parentrunid": job},
                "inputs": {},
                "outputs": {"default": {"jobOutputType": "uri_folder", "mode": "ReadWriteMount", "uri": format!("azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{child}/")}},
            },
            "systemData": {"createdAt": jiff::Timestamp::now().to_string(), "createdBy": crate::common::CLIENT_ID, "createdByType": "Application"},
        });
        state.jobs.insert(child.clone(), resource);
        let run = crate::resources::Run {
            metrics: serde_json::from_value(step["metrics"].clone()).unwrap_or_default(),
            start_ms: Some(now_ms()),
            end_ms: Some(now_ms()),
            error: step["error"].as_str().map(|e| format!("Execution failed: {}", e.lines().next().unwrap_or(e))),
            ..Default::default()
        };
        state.runs.insert(child, run);
    }
    if let Some(stored) = state.jobs.get_mut(job) {
        for (name, uri) in output_uris {
            stored["properties"]["outputs"][&name]["uri"] = uri;
        }
    }
    if let Some(run) = state.runs.get_mut(job) {
        run.metrics = serde_json::from_value(result["metrics"].clone()).unwrap_or_default();
        run.params = serde_json::from_value(result["params"].clone()).unwrap_or_default();
        // Run history's message names the failure; the log itself stays in the log.
        run.error = result["error"].as_str().map(|e| {
            format!(
                "Execution failed: {}. Please check log file 'user_logs/std_log.txt' for error details.",
                e.lines().next().unwrap_or(e).split(';').next().unwrap_or(e)
            )
        });
        run.end_ms = Some(now_ms());
    }
    let status = result["status"].as_str().unwrap_or("Failed").to_string();
    state.set_status(job, &status);
    Ok(())
}

/// The job file `aml-train` runs for a command job: code, environment and inputs fetched.
fn command_spec(state: &Mutex<State>, blobs: &Blobs, props: &Value, work: &Path) -> Result<Value, String> {
    let mut spec = json!({"type": "command", "command": props["command"], "experiment_name": props["experimentName"], "display_name": props["displayName"]});
    if let Some(code_id) = props["codeId"].as_str() {
        fetch_code(state, blobs, code_id, work)?;
        spec["code"] = json!("./code");
    }
    spec["environment"] = fetch_environment(state, props["environmentId"].as_str().unwrap_or_default(), work)?;
    let mut inputs = serde_json::Map::new();
    for (name, input) in props["inputs"].as_object().cloned().unwrap_or_default() {
        let value = if input["jobInputType"] == "literal" {
            input["value"].clone()
        } else {
            fetch_input(state, blobs, &name, &input, work)?
        };
        inputs.insert(name, value);
    }
    spec["inputs"] = Value::Object(inputs);
    let outputs: serde_json::Map<String, Value> = props["outputs"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "default")
        .map(|(k, o)| (k, json!({"type": o["jobOutputType"]})))
        .collect();
    spec["outputs"] = Value::Object(outputs);
    if let Some(variables) = props["environmentVariables"].as_object() {
        spec["environment_variables"] = Value::Object(variables.clone());
    }
    if let Some(seconds) = props["limits"]["timeout"].as_str().and_then(iso_seconds) {
        spec["limits"] = json!({"timeout": seconds});
    }
    Ok(spec)
}

/// The sweep file `aml-train` runs: the trial as a command job's (code, environment and
/// inputs fetched), the search space and settings back in YAML's words.
fn sweep_spec(state: &Mutex<State>, blobs: &Blobs, props: &Value, work: &Path) -> Result<Value, String> {
    let trial = &props["trial"];
    let as_command = json!({
        "command": trial["command"], "codeId": trial["codeId"], "environmentId": trial["environmentId"],
        "environmentVariables": trial["environmentVariables"], "inputs": props["inputs"], "outputs": props["outputs"],
        "experimentName": props["experimentName"], "displayName": props["displayName"],
    });
    let command = command_spec(state, blobs, &as_command, work)?;
    let mut space = serde_json::Map::new();
    for (name, written) in props["searchSpace"].as_object().cloned().unwrap_or_default() {
        let kind = written[0].as_str().unwrap_or_default();
        let args = &written[1];
        let dimension = match kind {
            "choice" => json!({"type": kind, "values": args[0]}),
            "randint" => json!({"type": kind, "upper": args[0]}),
            "uniform" | "loguniform" => json!({"type": kind, "min_value": args[0], "max_value": args[1]}),
            "quniform" | "qloguniform" => {
                json!({"type": kind, "min_value": args[0], "max_value": args[1], "q": args[2]})
            }
            "normal" | "lognormal" => json!({"type": kind, "mu": args[0], "sigma": args[1]}),
            "qnormal" | "qlognormal" => json!({"type": kind, "mu": args[0], "sigma": args[1], "q": args[2]}),
            other => return Err(format!("search space `{name}`: unknown type `{other}`")),
        };
        space.insert(name, dimension);
    }
    let algorithm = &props["samplingAlgorithm"];
    let mut sampling =
        json!({"type": algorithm["samplingAlgorithmType"].as_str().unwrap_or("Random").to_ascii_lowercase()});
    if !algorithm["seed"].is_null() {
        sampling["seed"] = algorithm["seed"].clone();
    }
    let limits = &props["limits"];
    let mut spec = json!({
        "type": "sweep",
        "experiment_name": props["experimentName"],
        "display_name": props["displayName"],
        "trial": {"command": command["command"], "environment": command["environment"]},
        "inputs": command["inputs"],
        "outputs": command["outputs"],
        "search_space": space,
        "sampling_algorithm": sampling,
        "objective": {"goal": props["objective"]["goal"], "primary_metric": props["objective"]["primaryMetric"]},
        "limits": {},
    });
    if !command["code"].is_null() {
        spec["trial"]["code"] = command["code"].clone();
    }
    if let Some(variables) = command.get("environment_variables") {
        spec["trial"]["environment_variables"] = variables.clone();
    }
    for (rest, yaml) in [("maxTotalTrials", "max_total_trials"), ("maxConcurrentTrials", "max_concurrent_trials")] {
        if !limits[rest].is_null() {
            spec["limits"][yaml] = limits[rest].clone();
        }
    }
    for (rest, yaml) in [("timeout", "timeout"), ("trialTimeout", "trial_timeout")] {
        if let Some(seconds) = limits[rest].as_str().and_then(iso_seconds) {
            spec["limits"][yaml] = json!(seconds);
        }
    }
    let policy = &props["earlyTermination"];
    let common =
        json!({"evaluation_interval": policy["evaluationInterval"], "delay_evaluation": policy["delayEvaluation"]});
    let early = match policy["policyType"].as_str() {
        Some("Bandit") => {
            let mut bandit = json!({"type": "bandit"});
            if policy["slackFactor"].as_f64().is_some_and(|f| f != 0.0) {
                bandit["slack_factor"] = policy["slackFactor"].clone();
            } else {
                bandit["slack_amount"] = policy["slackAmount"].clone();
            }
            Some(bandit)
        }
        Some("MedianStopping") => Some(json!({"type": "median_stopping"})),
        Some("TruncationSelection") => {
            Some(json!({"type": "truncation_selection", "truncation_percentage": policy["truncationPercentage"]}))
        }
        _ => None,
    };
    if let Some(mut early) = early {
        for (key, value) in common.as_object().cloned().unwrap_or_default() {
            if !value.is_null() {
                early[key] = value;
            }
        }
        spec["early_termination"] = early;
    }
    Ok(spec)
}

/// ISO 8601 `PnDTnHnMnS` as seconds.
fn iso_seconds(text: &str) -> Option<u64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut seconds = match days.strip_suffix('D') {
        Some(d) => d.parse::<u64>().ok()? * 86_400,
        None if days.is_empty() => 0,
        None => return None,
    };
    let mut number = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let value: f64 = number.parse().ok()?;
                seconds += (value
                    * match c {
                        'H' => 3600.0,
                        'M' => 60.0,
                        _ => 1.0,
                    }) as u64;
                number.clear();
            }
            _ => return None,
        }
    }
    Some(seconds)
}

/// Where a data input's files land for the compute: `work/inputs/<name>`, a uri_file as the file.
fn fetch_input(state: &Mutex<State>, blobs: &Blobs, name: &str, input: &Value, work: &Path) -> Result<Value, String> {
    let kind = input["jobInputType"].as_str().or(input["job_input_type"].as_str()).unwrap_or_default();
    let uri = input["uri"].as_str().unwrap_or_default();
    let (datastore, path) =
        datastore_path(uri).ok_or(format!("input {name}: the emulator's compute cannot mount `{uri}`"))?;
    let (_, container) = lock(state).datastore(&datastore).ok_or(format!("input {name}: no datastore {datastore}"))?;
    let folder = work.join("inputs").join(name);
    let files = blobs.download(&container, &path, &folder)?;
    let local = match (kind, files.as_slice()) {
        ("uri_file", [(_, file)]) => file.clone(),
        _ => folder,
    };
    Ok(json!({"type": kind, "path": local}))
}

/// The pipeline file `aml-train` runs: each node's component (its code and environment
/// fetched into `node-<name>/`), its inputs and outputs as the node binds them.
fn pipeline_spec(state: &Mutex<State>, blobs: &Blobs, props: &Value, work: &Path) -> Result<Value, String> {
    let mut inputs = serde_json::Map::new();
    for (name, input) in props["inputs"].as_object().cloned().unwrap_or_default() {
        let value = if input["jobInputType"] == "literal" {
            input["value"].clone()
        } else {
            fetch_input(state, blobs, &name, &input, work)?
        };
        inputs.insert(name, value);
    }
    let outputs: serde_json::Map<String, Value> = props["outputs"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "default")
        .map(|(k, o)| (k, json!({"type": o["jobOutputType"]})))
        .collect();
    let mut jobs = serde_json::Map::new();
    for (node, job) in props["jobs"].as_object().cloned().unwrap_or_default() {
        let component =
            crate::jobs::find_stored(&lock(state), job["componentId"].as_str().unwrap_or_default(), "components")
                .ok_or(format!("jobs.{node}: its component does not exist"))?;
        let component = &component["properties"]["componentSpec"];
        let folder = work.join(format!("node-{node}"));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        // A parallel component keeps its code and environment in its task.
        let parallel = component["type"] == "parallel";
        let made_of = if parallel { &component["task"] } else { component };
        let mut step = json!({"type": "command", "command": component["command"]});
        let code = match made_of["code"].as_str() {
            Some(code) => {
                fetch_code(state, blobs, code.trim_start_matches("azureml:"), &folder)?;
                Some(json!(format!("./node-{node}/code")))
            }
            None => None,
        };
        let mut environment = fetch_environment(
            state,
            made_of["environment"].as_str().unwrap_or_default().trim_start_matches("azureml:"),
            &folder,
        )?;
        if environment.get("conda_file").is_some() {
            environment["conda_file"] = json!(format!("./node-{node}/conda.yml"));
        }
        if parallel {
            step = parallel_step(&job, &component["task"], code, environment);
        } else {
            if let Some(code) = code {
                step["code"] = code;
            }
            step["environment"] = environment;
        }
        if let Some(variables) = component["environment_variables"].as_object() {
            step["environment_variables"] = Value::Object(variables.clone());
        }
        let mut step_inputs = serde_json::Map::new();
        for (name, input) in job["inputs"].as_object().cloned().unwrap_or_default() {
            let value = if input["job_input_type"] == "literal" {
                input["value"].clone()
            } else {
                fetch_input(state, blobs, &format!("{node}-{name}"), &input, work)?
            };
            step_inputs.insert(name, value);
        }
        step["inputs"] = Value::Object(step_inputs);
        // Every output the component declares; a node's binding to a pipeline output kept.
        let mut step_outputs = serde_json::Map::new();
        for (name, declared) in component["outputs"].as_object().cloned().unwrap_or_default() {
            let value = match job["outputs"][&name]["value"].as_str() {
                Some(binding) => json!(binding),
                None => json!({"type": declared["type"]}),
            };
            step_outputs.insert(name, value);
        }
        step["outputs"] = Value::Object(step_outputs);
        jobs.insert(node, step);
    }
    Ok(json!({
        "type": "pipeline",
        "experiment_name": props["experimentName"],
        "display_name": props["displayName"],
        "inputs": inputs,
        "outputs": outputs,
        "jobs": jobs,
    }))
}

/// A parallel node as the YAML step it was written from: the node's run settings, the task
/// with the code and environment fetched beside the job.
fn parallel_step(node: &Value, task: &Value, code: Option<Value>, environment: Value) -> Value {
    let mut rebuilt_task = json!({ "type": task["type"], "environment": environment });
    if let Some(code) = code {
        rebuilt_task["code"] = code;
    }
    for key in ["entry_script", "program_arguments", "append_row_to", "model"] {
        if !task[key].is_null() {
            rebuilt_task[key] = task[key].clone();
        }
    }
    let mut step = json!({ "type": "parallel", "task": rebuilt_task });
    for key in [
        "input_data",
        "max_concurrency_per_instance",
        "error_threshold",
        "mini_batch_error_threshold",
        "logging_level",
        "retry_settings",
        "environment_variables",
    ] {
        if !node[key].is_null() {
            step[key] = node[key].clone();
        }
    }
    // A number in the node, a string in YAML.
    match &node["mini_batch_size"] {
        Value::Null => {}
        Value::String(size) => step["mini_batch_size"] = json!(size),
        size => step["mini_batch_size"] = json!(size.to_string()),
    }
    step
}

/// A batch invocation made ready to run on `work`'s local workspace: the deployment applied
/// there from its model, code and environment in Azure (as `deploy` does an online one), its
/// input downloaded. Returns `aml-deploy invoke`'s arguments and the deployment's environment id.
fn prepare_batch(
    state: &Mutex<State>,
    blobs: &Blobs,
    tools: &Path,
    batch: &crate::resources::BatchRun,
    job: &str,
    work: &aml_client::testing::TestWorkspace,
) -> Result<(Vec<String>, Option<String>), String> {
    let resource = lock(state)
        .batch_deployments
        .get(&(batch.endpoint.clone(), batch.deployment.clone()))
        .cloned()
        .ok_or("the batch deployment vanished")?;
    let props = &resource["properties"];
    let compute = props["compute"].as_str().and_then(|id| id.rsplit('/').next()).unwrap_or("batch-cluster");
    let mut spec = json!({
        "$schema": "https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json",
        "name": batch.deployment, "endpoint_name": batch.endpoint, "type": "model", "compute": format!("azureml:{compute}"),
    });
    if let Some(model_id) = props["model"]["assetId"].as_str() {
        let at = model_id.find("/models/").ok_or("bad model id")?;
        let parts: Vec<&str> = model_id[at + 8..].split('/').collect();
        let [name, "versions", version] = parts.as_slice() else { return Err(format!("bad model id {model_id}")) };
        let model = lock(state)
            .versions
            .get(&(name.to_string(), version.to_string()))
            .cloned()
            .ok_or(format!("model {model_id} does not exist"))?;
        let uri = model["properties"]["modelUri"].as_str().unwrap_or_default();
        let (datastore, path) = datastore_path(uri).ok_or(format!("modelUri {uri} is not on a datastore"))?;
        let (_, container) = lock(state).datastore(&datastore).ok_or(format!("no datastore {datastore}"))?;
        blobs.download(&container, &path, &work.path().join("model"))?;
        spec["model"] = json!({"path": "./model"});
    }
    if let Some(code_id) = props["codeConfiguration"]["codeId"].as_str() {
        fetch_code(state, blobs, code_id, work.path())?;
        spec["code_configuration"] =
            json!({"code": "./code", "scoring_script": props["codeConfiguration"]["scoringScript"]});
    }
    let environment = props["environmentId"].as_str().map(str::to_owned);
    if let Some(environment_id) = &environment {
        spec["environment"] = fetch_environment(state, environment_id, work.path())?;
    }
    let mut settings = serde_json::Map::new();
    for (rest, yaml) in [
        ("miniBatchSize", "mini_batch_size"),
        ("maxConcurrencyPerInstance", "max_concurrency_per_instance"),
        ("errorThreshold", "error_threshold"),
        ("outputFileName", "output_file_name"),
        ("loggingLevel", "logging_level"),
        ("environmentVariables", "environment_variables"),
    ] {
        if !props[rest].is_null() {
            settings.insert(yaml.into(), props[rest].clone());
        }
    }
    if let Some(action) = props["outputAction"].as_str() {
        let action = if action.eq_ignore_ascii_case("SummaryOnly") { "summary_only" } else { "append_row" };
        settings.insert("output_action".into(), json!(action));
    }
    if props["retrySettings"].is_object() {
        let mut retry = serde_json::Map::new();
        if let Some(n) = props["retrySettings"]["maxRetries"].as_i64() {
            retry.insert("max_retries".into(), json!(n));
        }
        if let Some(seconds) = props["retrySettings"]["timeout"].as_str().and_then(iso_seconds) {
            retry.insert("timeout".into(), json!(seconds));
        }
        settings.insert("retry_settings".into(), Value::Object(retry));
    }
    spec["settings"] = Value::Object(settings);
    if let Some(count) = props["resources"]["instanceCount"].as_i64() {
        spec["resources"] = json!({"instance_count": count});
    }
    let endpoint = json!({
        "$schema": "https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json", "name": batch.endpoint,
    });
    for (file, body) in [("endpoint.yml", &endpoint), ("deployment.yml", &spec)] {
        std::fs::write(work.path().join(file), serde_json::to_vec_pretty(body).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let applied = work
            .command(&tools.join("aml-deploy"))
            .args(["apply", "-f", file, "--quiet"])
            .output()
            .map_err(|e| format!("cannot run aml-deploy: {e}"))?;
        if !applied.status.success() {
            return Err(format!(
                "the batch deployment could not be applied: {}",
                String::from_utf8_lossy(&applied.stderr).trim()
            ));
        }
    }
    let input = match datastore_path(&batch.input) {
        Some(_) => {
            let fetched = fetch_input(
                state,
                blobs,
                "input_data",
                &json!({"jobInputType": batch.input_type, "uri": batch.input}),
                work.path(),
            )?;
            fetched["path"].as_str().unwrap_or_default().to_string()
        }
        None => batch.input.clone(),
    };
    let mut args: Vec<String> = ["invoke", &batch.endpoint, "--deployment", &batch.deployment, "--input", &input]
        .into_iter()
        .map(str::to_owned)
        .collect();
    args.extend(["--input-type".into(), batch.input_type.clone(), "--job-name".into(), job.to_string()]);
    for (name, value) in &batch.sets {
        args.extend(["--set".into(), format!("{name}={value}")]);
    }
    args.extend(["--output".into(), "json".into(), "--quiet".into()]);
    Ok((args, environment))
}

/// A code version's snapshot into `work/code`; it must hash to what the version claims.
fn fetch_code(state: &Mutex<State>, blobs: &Blobs, code_id: &str, work: &Path) -> Result<(), String> {
    let code = find_version(state, code_id, "codes").ok_or(format!("codeId {code_id} does not exist"))?;
    let uri = code["properties"]["codeUri"].as_str().unwrap_or_default();
    let storage = &blobs.storage;
    let prefix = uri
        .strip_prefix(&format!("{}/", storage.url(&storage.container)))
        .ok_or(format!("codeUri {uri} is not in the workspace's storage"))?;
    let files = blobs.download(&storage.container, prefix, &work.join("code"))?;
    let hash = crate::code_hash::content_hash(&files)?;
    let claimed = code["properties"]["properties"]["hash_sha256"].as_str().unwrap_or_default();
    if hash != claimed {
        let problem = format!("code {code_id}: the uploaded snapshot hashes to {hash}, its version claims {claimed}");
        lock(state).violations.push(problem.clone());
        return Err(problem);
    }
    Ok(())
}

/// An environment version as the inline `environment:` of a local file (`work/conda.yml`).
fn fetch_environment(state: &Mutex<State>, environment_id: &str, work: &Path) -> Result<Value, String> {
    // Azure ML builds these from their published definitions; so does the local runner.
    // (Callers may have cut the `azureml:` off.)
    if !crate::jobs::is_workspace_asset(environment_id) {
        let written = environment_id.trim_start_matches("azureml:");
        return Ok(json!(format!("azureml:{written}")));
    }
    let environment = find_version(state, environment_id, "environments")
        .ok_or(format!("environmentId {environment_id} does not exist"))?;
    let mut env = json!({"image": environment["properties"]["image"]});
    if let Some(conda) = environment["properties"]["condaFile"].as_str() {
        std::fs::write(work.join("conda.yml"), conda).map_err(|e| e.to_string())?;
        env["conda_file"] = json!("./conda.yml");
    }
    Ok(env)
}

/// The stored version an ARM id names.
fn find_version(state: &Mutex<State>, id: &str, kind: &str) -> Option<Value> {
    crate::jobs::find_stored(&lock(state), id, kind)
}

/// Carry out a deploy or delete, then finish its operation.
pub fn spawn_task(state: Arc<Mutex<State>>, tools: Option<PathBuf>, task: Task) {
    std::thread::spawn(move || {
        let (operation, outcome) = match (&task, tools) {
            (Task::Deploy { endpoint, deployment, operation }, Some(tools)) => {
                (operation.clone(), deploy(&state, &tools, endpoint, deployment))
            }
            (Task::DeleteDeployment { endpoint, deployment, operation }, Some(tools)) => (
                operation.clone(),
                local_deploy_tool(&state, &tools, &["delete", endpoint, "--deployment", deployment], None).map(|_| ()),
            ),
            (Task::DeleteEndpoint { endpoint, operation }, Some(tools)) => {
                (operation.clone(), local_deploy_tool(&state, &tools, &["delete", endpoint], None).map(|_| ()))
            }
            (
                Task::Deploy { operation, .. }
                | Task::DeleteDeployment { operation, .. }
                | Task::DeleteEndpoint { operation, .. },
                None,
            ) => (operation.clone(), Err("the emulator was given no compute (Emulator::set_compute)".to_string())),
        };
        let mut state = lock(&state);
        match &task {
            Task::Deploy { endpoint, deployment, .. } => {
                let key = (endpoint.clone(), deployment.clone());
                if let Err(problem) = &outcome {
                    state.deploy_errors.insert(key.clone(), problem.clone());
                }
                if let Some(stored) = state.deployments.get_mut(&key) {
                    stored["properties"]["provisioningState"] =
                        json!(if outcome.is_ok() { "Succeeded" } else { "Failed" });
                }
            }
            Task::DeleteDeployment { endpoint, deployment, .. } => {
                state.deployments.remove(&(endpoint.clone(), deployment.clone()));
            }
            Task::DeleteEndpoint { endpoint, .. } => {
                state.endpoints.remove(endpoint);
                state.deployments.retain(|(e, _), _| e != endpoint);
                state.local_access.remove(endpoint);
            }
        }
        if let Some(found) = state.operations.get_mut(&operation) {
            found.status = if outcome.is_ok() { "Succeeded".into() } else { "Failed".into() };
            found.error = outcome.err();
        }
    });
}

/// Run `aml-deploy` on the emulator's local workspace (in `dir`, when given).
fn local_deploy_tool(state: &Mutex<State>, tools: &Path, args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let local = lock(state).local_workspace.clone();
    let scratch = aml_client::testing::TestWorkspace::new();
    let mut command = scratch.command(&tools.join("aml-deploy"));
    command.env("AML_WORKSPACE", format!("local:{}", local.display())).args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().map_err(|e| format!("cannot run aml-deploy: {e}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n"))
}

/// Deploy on the local workspace what the deployment names in Azure: its model, code and
/// environment downloaded from the emulated workspace.
fn deploy(state: &Arc<Mutex<State>>, tools: &Path, endpoint: &str, deployment: &str) -> Result<(), String> {
    let (resource, storage, has_endpoint) = {
        let state = lock(state);
        let resource = state
            .deployments
            .get(&(endpoint.to_string(), deployment.to_string()))
            .cloned()
            .ok_or("the deployment vanished")?;
        (
            resource,
            state.storage.clone().ok_or("the emulator has no storage")?,
            state.local_access.contains_key(endpoint),
        )
    };
    let props = &resource["properties"];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let blobs = Blobs { runtime, rest: crate::blob_rest::BlobRest::new(&storage)?, storage: storage.clone() };
    let work = aml_client::testing::TestWorkspace::new();
    let mut spec = json!({"name": deployment, "endpoint_name": endpoint, "instance_type": props["instanceType"], "instance_count": resource["sku"]["capacity"]});
    if let Some(model_id) = props["model"].as_str() {
        let model = {
            let at = model_id.find("/models/").ok_or("bad model id")?;
            let parts: Vec<&str> = model_id[at + 8..].split('/').collect();
            let [name, "versions", version] = parts.as_slice() else { return Err(format!("bad model id {model_id}")) };
            lock(state)
                .versions
                .get(&(name.to_string(), version.to_string()))
                .cloned()
                .ok_or(format!("model {model_id} does not exist"))?
        };
        let uri = model["properties"]["modelUri"].as_str().unwrap_or_default();
        let (datastore, path) = datastore_path(uri).ok_or(format!("modelUri {uri} is not on a datastore"))?;
        let (_, container) = lock(state).datastore(&datastore).ok_or(format!("no datastore {datastore}"))?;
        blobs.download(&container, &path, &work.path().join("model"))?;
        spec["model"] = json!({"path": "./model"});
    }
    // A no-code MLflow deployment has neither: the model brings both.
    if let Some(code_id) = props["codeConfiguration"]["codeId"].as_str() {
        fetch_code(state, &blobs, code_id, work.path())?;
        spec["code_configuration"] =
            json!({"code": "./code", "scoring_script": props["codeConfiguration"]["scoringScript"]});
    }
    if let Some(environment_id) = props["environmentId"].as_str() {
        spec["environment"] = fetch_environment(state, environment_id, work.path())?;
    }
    if let Some(variables) = props["environmentVariables"].as_object().filter(|v| !v.is_empty()) {
        spec["environment_variables"] = Value::Object(variables.clone());
    }
    let collects = props["dataCollector"]["collections"].as_object().is_some_and(|c| !c.is_empty());
    if collects {
        spec["data_collector"] = data_collector(state, &props["dataCollector"])?;
    }
    if !has_endpoint {
        std::fs::write(
            work.path().join("endpoint.yml"),
            serde_json::to_vec(&json!({"name": endpoint, "auth_mode": "key"})).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
        local_deploy_tool(state, tools, &["apply", "-f", "endpoint.yml", "--quiet"], Some(work.path()))?;
    }
    std::fs::write(work.path().join("deployment.yml"), serde_json::to_vec_pretty(&spec).unwrap_or_default())
        .map_err(|e| e.to_string())?;
    local_deploy_tool(state, tools, &["apply", "-f", "deployment.yml", "--quiet"], Some(work.path()))?;
    let local = lock(state).local_workspace.clone();
    let name = endpoint.to_string();
    let access = crate::common::blocking(move || async move {
        let location = format!("local:{}", local.display());
        let mut ws =
            aml_client::Workspace::open(&location, aml_client::Access::Existing, &crate::common::settings()).await?;
        ws.endpoint_access(&name).await
    })?
    .map_err(|e| e.to_string())?;
    lock(state).local_access.insert(endpoint.to_string(), (access.scoring_uri, access.key));
    if collects {
        upload_collected_data(state.clone(), blobs);
    }
    Ok(())
}

/// A deployment's `dataCollector` as the YAML the local workspace reads: each collection
/// written to its data asset's folder, so that the files land where Azure ML puts them.
fn data_collector(state: &Mutex<State>, collector: &Value) -> Result<Value, String> {
    let mut collections = serde_json::Map::new();
    let mut sampling = None;
    for (name, collection) in collector["collections"].as_object().into_iter().flatten() {
        let data_id = collection["dataId"].as_str().unwrap_or_default();
        let data = {
            let at = data_id.find("/data/").ok_or(format!("dataId {data_id} names no data asset"))?;
            let parts: Vec<&str> = data_id[at + 6..].split('/').collect();
            let [asset, "versions", version] = parts.as_slice() else { return Err(format!("bad dataId {data_id}")) };
            lock(state)
                .data
                .get(&(asset.to_string(), version.to_string()))
                .cloned()
                .ok_or(format!("data asset {data_id} does not exist"))?
        };
        let enabled = if collection["dataCollectionMode"] == "enabled" { "True" } else { "False" };
        collections.insert(name.clone(), json!({"enabled": enabled, "data": {"path": data["properties"]["dataUri"]}}));
        sampling = sampling.or(collection["samplingRate"].as_f64());
    }
    let mut spec = json!({ "collections": collections });
    if let Some(rate) = sampling {
        spec["sampling_rate"] = json!(rate);
    }
    if let Some(rolling) = collector["rollingRate"].as_str() {
        spec["rolling_rate"] = json!(rolling);
    }
    if let Some(headers) = collector["requestLogging"]["captureHeaders"].as_array() {
        spec["request_logging"] = json!({ "capture_headers": headers });
    }
    Ok(spec)
}

/// What the deployments collect goes up to the datastore's container as it grows, as Azure
/// ML's collector uploads it: every half second, each file of the local workspace's
/// datastore folders whose size changed. One thread for the emulator.
fn upload_collected_data(state: Arc<Mutex<State>>, blobs: Blobs) {
    {
        let mut state = lock(&state);
        if state.uploading_collected_data {
            return;
        }
        state.uploading_collected_data = true;
    }
    std::thread::spawn(move || {
        let mut uploaded: BTreeMap<PathBuf, u64> = BTreeMap::new();
        loop {
            let root = lock(&state).local_workspace.join("datastores");
            for datastore in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let name = datastore.file_name().to_string_lossy().into_owned();
                let Some((_, container)) = lock(&state).datastore(&name) else { continue };
                let mut files = Vec::new();
                files_under(&datastore.path(), &mut files);
                for file in files {
                    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                    if uploaded.get(&file) == Some(&size) {
                        continue;
                    }
                    let Ok(relative) = file.strip_prefix(datastore.path()) else { continue };
                    let blob = relative.to_string_lossy().replace('\\', "/");
                    if blobs.upload(&container, &file, &blob).is_ok() {
                        uploaded.insert(file, size);
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
}

fn files_under(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => files_under(&entry.path(), into),
            Ok(kind) if kind.is_file() => into.push(entry.path()),
            _ => {}
        }
    }
}
