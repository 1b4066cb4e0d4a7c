//! aml-train on an Azure ML workspace: the real binary against the emulator (ARM, run
//! history and MLflow over TLS, every body held to the official models) and Azurite. The
//! emulator's compute really runs the job (with `aml-train` on a scratch local workspace),
//! so the same job gives the same answers on both backends.

use std::path::Path;
use std::process::Output;

use aml_client::testing::binary;
use aml_emulator::Fault;
use aml_emulator::harness::AzureTest;
use serde_json::Value;

struct Azure(AzureTest);

impl std::ops::Deref for Azure {
    type Target = AzureTest;
    fn deref(&self) -> &AzureTest {
        &self.0
    }
}

impl Azure {
    fn start() -> Azure {
        let azure = AzureTest::start();
        azure.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/echo"), "echo");
        Azure(azure)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.0.run("aml-train", args)
    }

    fn json(&self, args: &[&str]) -> Value {
        self.0.json("aml-train", args)
    }

    fn run_tool(&self, tool: &str, args: &[&str]) -> Output {
        self.0.run(tool, args)
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What the echo job must report on every backend.
fn assert_echo_job(job: &Value, name: &str) {
    assert_eq!(job["name"], name);
    assert_eq!(job["status"], "Completed", "{job:#}");
    assert_eq!(job["type"], "command");
    assert_eq!(job["experiment_name"], "tests");
    assert_eq!(job["display_name"], "echo");
    assert_eq!(job["metrics"]["count"], 2.0);
    assert_eq!(job["metrics"]["rows"], 2.0);
    assert_eq!(job["outputs"]["result"], format!("azureml://jobs/{name}/outputs/result"));
    assert_eq!(job["inputs"]["greeting"]["value"], "hello");
    assert_eq!(job["inputs"]["count"]["value"], "2");
    assert!(job["code_digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(job["duration_seconds"].as_f64().is_some(), "{job:#}");
}

#[test]
fn a_command_job_runs_on_azure_with_the_answers_of_the_local_workspace() {
    let azure = Azure::start();
    let local =
        azure.ws.run(&binary("aml-train"), &["run", "echo/job.yml", "--name", "echo-1", "--output", "json", "--quiet"]);
    assert!(local.status.success(), "{}", stderr(&local));
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_echo_job(&local, "echo-1");

    let output = azure.run(&["run", "echo/job.yml", "--name", "echo-1", "--output", "json"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    let remote: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_echo_job(&remote, "echo-1");
    // The same snapshot on both backends.
    assert_eq!(remote["code_digest"], local["code_digest"]);
    // Status changes and the job's own output, streamed while it ran.
    for expected in [
        "uploading code",
        "job echo-1 submitted",
        "web view: https://ml.azure.com/runs/echo-1",
        "job echo-1: Running",
        "job echo-1: Completed",
        "streaming user_logs/std_log.txt",
        "hello x2: 2 data rows",
    ] {
        assert!(log.contains(expected), "`{expected}` missing from:\n{log}");
    }

    // What was sent: an anonymous code version and environment, the input uploaded where
    // azure-ai-ml puts local inputs.
    let body = azure.emulator.bodies("/jobs/echo-1").pop().unwrap();
    let props = &body["properties"];
    assert!(props["codeId"].as_str().unwrap().contains("/codes/"), "{props:#}");
    assert!(
        props["environmentId"].as_str().unwrap().contains("/environments/CliV2AnonymousEnvironment/versions/"),
        "{props:#}"
    );
    assert!(
        props["inputs"]["data"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("azureml://datastores/workspaceblobstore/paths/LocalUpload/"),
        "{props:#}"
    );
    assert_eq!(props["inputs"]["count"], serde_json::json!({"jobInputType": "literal", "value": "2"}));
    assert_eq!(props["outputs"]["result"]["jobOutputType"], "uri_folder");

    // show, metrics and logs read the job back from Azure ML.
    let shown = azure.json(&["show", "echo-1"]);
    assert_echo_job(&shown, "echo-1");
    assert_eq!(azure.json(&["metrics", "echo-1"]), serde_json::json!({"count": 2.0, "rows": 2.0}));
    let logs = azure.run(&["logs", "echo-1"]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("hello x2: 2 data rows"), "{}", stderr(&logs));

    // Unchanged code and data: found by their hashes, nothing uploaded again.
    let uploads_before = azure.requests_containing("PUT", "LocalUpload/");
    let again = azure.run(&["run", "echo/job.yml", "--name", "echo-2", "--quiet"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("unchanged"), "{}", stderr(&again));
    assert_eq!(azure.requests_containing("POST", "startPendingUpload"), 1);
    assert_eq!(azure.requests_containing("PUT", "LocalUpload/"), uploads_before, "a re-run uploaded files again");
    let jobs = azure.emulator.jobs();
    assert_eq!(jobs["echo-1"]["properties"]["codeId"], jobs["echo-2"]["properties"]["codeId"]);

    // aml-register takes the output from Azure as from the local workspace.
    let registered = azure.run_tool(
        "aml-register",
        &["model", "--name", "echo-model", "--job", "echo-1", "--output-name", "result", "--output", "json"],
    );
    assert!(registered.status.success(), "{}", stderr(&registered));
    let registered: Value = serde_json::from_slice(&registered.stdout).unwrap();
    assert_eq!(registered["version"], "1");
    assert_eq!(registered["lineage"]["job"], "echo-1", "{registered:#}");
    azure.emulator.assert_clean();
}

#[test]
fn a_failing_job_exits_1_with_the_service_error_and_the_end_of_its_log() {
    let azure = Azure::start();
    let output = azure.run(&["run", "echo/job.yml", "--name", "fails", "--set", "inputs.fail=yes", "--quiet"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    azure.ws.settings().bind(|| insta::assert_snapshot!(text, @r"
    job fails: Failed in [DURATION] (command, experiment tests)
      metrics  count=2  rows=2
      output   result  azureml://jobs/fails/outputs/result
      error    Execution failed: the command ended with exit code 3. Please check log file 'user_logs/std_log.txt' for error details.
               last lines of the log:
               hello x2: 2 data rows
               to stderr
               failing on purpose
      log      azureml://jobs/fails/outputs/default/user_logs/std_log.txt
    "));
    azure.emulator.assert_clean();
}

#[test]
fn throttling_and_server_errors_are_retried_while_a_job_is_followed() {
    let azure = Azure::start();
    azure.emulator.inject("PUT", "/jobs/retried", Fault::Status(503, Some(1)), 1);
    azure.emulator.inject("GET", "/jobs/retried", Fault::Status(429, Some(1)), 2);
    azure.emulator.inject("GET", "/mlflow/", Fault::Reset, 1);
    let job = azure.json(&["run", "echo/job.yml", "--name", "retried", "--quiet"]);
    assert_echo_job(&job, "retried");
    let statuses: Vec<u16> = azure
        .emulator
        .requests()
        .iter()
        .filter(|(m, p, _)| m == "PUT" && p.ends_with("/jobs/retried"))
        .map(|(_, _, s)| *s)
        .collect();
    assert_eq!(statuses, [503, 201]);
    azure.emulator.assert_clean();
}

#[test]
fn an_unknown_job_is_bad_input_naming_it() {
    let azure = Azure::start();
    let output = azure.run(&["show", "no-such-job"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("no job named `no-such-job`"), "{}", stderr(&output));
    azure.emulator.assert_clean();
}

#[test]
fn sigterm_cancels_the_job_in_azure_and_waits_for_it_to_end() {
    let azure = Azure::start();
    let runner = azure
        .command("aml-train")
        .args(["run", "echo/sleep.yml", "--name", "cancel-me"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while azure.emulator.jobs().get("cancel-me").is_none_or(|job| job["properties"]["status"] != "Running") {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "the job never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Running in Azure and followed here: the runner's polls of the job show it follows (its
    // signal handler is in place by then).
    let polls = azure.requests_containing("GET", "/jobs/cancel-me");
    while azure.requests_containing("GET", "/jobs/cancel-me") < polls + 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "the job was never followed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(std::process::Command::new("kill").args(["-TERM", &runner.id().to_string()]).status().unwrap().success());
    let output = runner.wait_with_output().unwrap();
    azure.assert_no_secrets(&output);
    assert_eq!(output.status.code(), Some(1), "{}", aml_client::testing::render(&output));
    assert!(stderr(&output).contains("cancelling job cancel-me"), "{}", stderr(&output));
    assert_eq!(azure.requests_containing("POST", "/jobs/cancel-me/cancel"), 1);
    assert_eq!(azure.emulator.jobs()["cancel-me"]["properties"]["status"], "Canceled");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("job cancel-me: Canceled"),
        "{}",
        aml_client::testing::render(&output)
    );
    azure.emulator.assert_clean();
}

/// The worked example's job, unchanged, on Azure: scikit-learn and MLflow in the job's
/// environment, metrics through MLflow, the model registered from the job's output.
#[test]
fn the_diabetes_example_trains_on_azure_and_its_model_is_registered() {
    let azure = Azure::start();
    azure.ws.copy_example("diabetes");
    let job = azure.json(&["run", "diabetes/job.yml", "--name", "ridge", "--set", "inputs.alpha=0.5", "--quiet"]);
    assert_eq!(job["status"], "Completed", "{job:#}");
    let rmse = job["metrics"]["rmse"].as_f64().unwrap();
    assert!((45.0..=65.0).contains(&rmse), "rmse = {rmse}");
    assert_eq!(job["metrics"]["train_rows"], 353.0);
    assert_eq!(job["params"], serde_json::json!({"alpha": "0.5"}), "log_param reached the workspace's MLflow");
    // `compute: azureml:cpu-cluster` is the workspace's cluster.
    let sent = azure.emulator.bodies("/jobs/ridge").pop().unwrap();
    assert!(sent["properties"]["computeId"].as_str().unwrap().ends_with("/computes/cpu-cluster"), "{sent:#}");

    let model = azure.0.json("aml-register", &["model", "-f", "diabetes/model.yml", "--job", "ridge"]);
    assert_eq!(model["id"], "diabetes:1");
    assert_eq!(model["metrics"], job["metrics"], "the model carries the job's metrics");
    assert_eq!(model["lineage"]["job"], "ridge");
    assert_eq!(model["lineage"]["code_digest"], job["code_digest"]);
    azure.emulator.assert_clean();
}

/// The example's pipeline on Azure: each step registered as an anonymous component, one
/// PipelineJob of nodes bound as written; the steps read back as the run's children, with
/// their metrics and logs, and the pipeline's output registered.
#[test]
fn the_diabetes_pipeline_runs_on_azure_with_its_steps() {
    let azure = Azure::start();
    azure.ws.copy_example("diabetes");
    let output = azure.run(&["run", "diabetes/pipeline.yml", "--name", "pipe", "--quiet", "--output", "json"]);
    assert!(output.status.success(), "{}", aml_client::testing::render(&output));
    let job: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(job["status"], "Completed", "{job:#}");
    assert_eq!(job["type"], "pipeline");
    assert!(
        stderr(&output).contains("step train (pipe_train): Completed"),
        "each step's status is said: {}",
        stderr(&output)
    );
    let steps: Vec<(&str, &str)> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("prep", "Completed"), ("train", "Completed"), ("evaluate", "Completed")], "{job:#}");
    let step = |name: &str| job["steps"].as_array().unwrap().iter().find(|s| s["step"] == name).unwrap().clone();
    assert_eq!(step("train")["metrics"]["train_rows"], 353.0, "{job:#}");
    let rmse = step("evaluate")["metrics"]["rmse"].as_f64().unwrap();
    assert!((45.0..=65.0).contains(&rmse), "rmse = {rmse}");
    assert!(
        step("train")["command"]
            .as_str()
            .unwrap()
            .starts_with("python train.py --training-data ${{inputs.train_data}}"),
        "the step's command as the component has it: {job:#}"
    );

    // What was sent: three anonymous components (one per step: same code and environment,
    // different commands), nodes pointing at them, bindings as written.
    let sent = azure.emulator.bodies("/jobs/pipe").pop().unwrap();
    let nodes = sent["properties"]["jobs"].as_object().unwrap();
    assert_eq!(nodes.keys().collect::<Vec<_>>(), ["evaluate", "prep", "train"]);
    assert_eq!(
        nodes["train"]["inputs"]["train_data"],
        serde_json::json!({"job_input_type": "literal", "value": "${{parent.jobs.prep.outputs.train_data}}"})
    );
    assert_eq!(
        nodes["train"]["outputs"]["model"],
        serde_json::json!({"value": "${{parent.outputs.model}}", "type": "literal"})
    );
    assert!(nodes["prep"]["componentId"].as_str().unwrap().contains("/components/azureml_anonymous/versions/"));
    // The whole body is azure-ai-ml's for the same file, given the same component ids and
    // uploaded inputs.
    let mut oracle = std::process::Command::new(aml_client::testing::venv_python());
    oracle.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/job_body.py"));
    oracle.arg(azure.ws.path().join("diabetes/pipeline.yml"));
    for (node, body) in nodes {
        oracle.arg(format!("jobs.{node}={}", body["componentId"].as_str().unwrap()));
    }
    for (input, body) in sent["properties"]["inputs"].as_object().unwrap() {
        if let Some(uri) = body["uri"].as_str() {
            oracle.arg(format!("inputs.{input}={uri}"));
        }
    }
    if let Some(compute) = sent["properties"]["computeId"].as_str() {
        oracle.arg(format!("compute={compute}"));
    }
    let oracle = oracle.output().unwrap();
    assert!(oracle.status.success(), "{}", String::from_utf8_lossy(&oracle.stderr));
    let expected: Value = serde_json::from_slice(&oracle.stdout).unwrap();
    // Our own `aml.*` properties (the file, git) are the only difference by design.
    let mut ours = sent.clone();
    ours["properties"]["properties"].as_object_mut().unwrap().retain(|k, _| !k.starts_with("aml."));
    assert_eq!(ours, expected);
    assert_eq!(azure.requests_containing("PUT", "/components/azureml_anonymous/versions/"), 3);
    assert_eq!(azure.requests_containing("POST", "startPendingUpload"), 1, "the three steps share one code snapshot");

    let logs = azure.run(&["logs", "pipe", "--step", "train"]);
    assert!(logs.status.success(), "{}", aml_client::testing::render(&logs));
    let model = azure.0.json("aml-register", &["model", "-f", "diabetes/model.yml", "--job", "pipe"]);
    assert_eq!(model["id"], "diabetes:1");

    // Submitting it again reuses the components.
    let again = azure.json(&["run", "diabetes/pipeline.yml", "--name", "pipe-2", "--quiet"]);
    assert_eq!(again["status"], "Completed");
    assert_eq!(azure.requests_containing("PUT", "/components/azureml_anonymous/versions/"), 3);
    azure.emulator.assert_clean();
}

#[test]
fn a_sweep_is_sent_as_azure_ai_ml_sends_it_and_runs_its_trials_on_azure() {
    let azure = Azure::start();
    azure.ws.copy_example("diabetes");
    let output = azure.run(&["run", "diabetes/sweep.yml", "--name", "tune", "--output", "json", "--quiet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let sweep: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sweep["status"], "Completed", "{sweep:#}");
    assert_eq!(sweep["type"], "sweep", "{sweep:#}");

    // The body equals azure-ai-ml's for the same file, given the same code, environment,
    // compute and uploaded input.
    let mut sent = azure.emulator.bodies("/jobs/tune").pop().unwrap();
    let props = &sent["properties"];
    let oracle = std::process::Command::new(aml_client::testing::venv_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/job_body.py"))
        .arg(azure.ws.path().join("diabetes/sweep.yml"))
        .arg(format!("trial.code={}", props["trial"]["codeId"].as_str().unwrap()))
        .arg(format!("trial.environment={}", props["trial"]["environmentId"].as_str().unwrap()))
        .arg(format!("compute={}", props["computeId"].as_str().unwrap()))
        .arg(format!("inputs.training_data={}", props["inputs"]["training_data"]["uri"].as_str().unwrap()))
        .output()
        .unwrap();
    assert!(oracle.status.success(), "{}", String::from_utf8_lossy(&oracle.stderr));
    let mut expected: Value = serde_json::from_slice(&oracle.stdout).unwrap();
    // What differs by design: our own `aml.*` properties (the file, git, code digest) and
    // azure-ai-ml's explicit `isArchived: false`, the service's default.
    sent["properties"]["properties"].as_object_mut().unwrap().retain(|k, _| !k.starts_with("aml."));
    assert_eq!(expected["properties"]["isArchived"], false);
    expected["properties"].as_object_mut().unwrap().remove("isArchived");
    assert_eq!(sent, expected);

    // The emulator's compute ran the four trials; the sweep's rmse is the best of theirs.
    let shown = azure.json(&["show", "tune"]);
    assert_eq!(shown["status"], "Completed", "{shown:#}");
    let trials = shown["steps"].as_array().unwrap();
    assert_eq!(trials.len(), 4, "{shown:#}");
    let best = trials.iter().filter_map(|t| t["metrics"]["rmse"].as_f64()).fold(f64::INFINITY, f64::min);
    assert_eq!(shown["metrics"]["rmse"].as_f64(), Some(best), "{shown:#}");
    azure.emulator.assert_clean();
}

#[test]
fn a_parallel_step_is_sent_as_azure_ai_ml_sends_it_and_scores_its_mini_batches_on_azure() {
    let azure = Azure::start();
    azure.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parallel"), "parallel");
    // A variable for the workers, which azure-ai-ml puts on the node, not in the component.
    let text = std::fs::read_to_string(azure.ws.path().join("parallel/pipeline.yml")).unwrap();
    let with_variable = text.replace(
        "    input_data: ${{inputs.readings}}",
        "    environment_variables:\n      READINGS_UNIT: celsius\n    input_data: ${{inputs.readings}}",
    );
    assert_ne!(with_variable, text);
    azure.ws.write("parallel/pipeline.yml", &with_variable);
    let script = std::fs::read_to_string(azure.ws.path().join("parallel/src/scale.py")).unwrap();
    let saying_it = script.replace("no number in it\"", "no number in it ({os.environ.get('READINGS_UNIT')})\"");
    assert_ne!(saying_it, script);
    azure.ws.write("parallel/src/scale.py", &saying_it);
    let output = azure.run(&["run", "parallel/pipeline.yml", "--name", "scores", "--output", "json", "--quiet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let job: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(job["status"], "Completed", "{job:#}");

    // The step ran as a parallel step on the emulator's compute: mini-batches, workers, the
    // one unreadable file tolerated by `error_threshold: 1`.
    let logs = azure.run(&["logs", "scores", "--step", "scale_readings"]);
    let text = String::from_utf8_lossy(&logs.stdout);
    assert!(text.contains("10 file(s) in 4 mini-batch(es) of up to 3, 2 worker(s)"), "{text}");
    assert!(text.contains("reading-07.txt: no number in it (celsius)"), "the worker has the step's variable: {text}");

    // One anonymous parallel component; the node repeats its task and settings. The whole
    // body is azure-ai-ml's for the same file, given the same ids.
    let sent = azure.emulator.bodies("/jobs/scores").pop().unwrap();
    let node = &sent["properties"]["jobs"]["scale_readings"];
    assert_eq!(node["type"], "parallel", "{node:#}");
    assert_eq!(node["mini_batch_size"], 3, "{node:#}");
    assert_eq!(node["environment_variables"], serde_json::json!({"READINGS_UNIT": "celsius"}), "{node:#}");
    let component_id = node["componentId"].as_str().unwrap();
    let mut oracle = std::process::Command::new(aml_client::testing::venv_python());
    oracle
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/job_body.py"))
        .arg(azure.ws.path().join("parallel/pipeline.yml"))
        .arg(format!("jobs.scale_readings={component_id}"))
        .arg(format!("task.scale_readings.code={}", node["task"]["code"].as_str().unwrap()))
        .arg(format!("task.scale_readings.environment={}", node["task"]["environment"].as_str().unwrap()));
    if let Some(compute) = sent["properties"]["computeId"].as_str() {
        oracle.arg(format!("compute={compute}"));
    }
    let uploaded = node["inputs"]["readings"]["uri"].as_str().unwrap();
    let oracle = oracle.output().unwrap();
    assert!(oracle.status.success(), "{}", String::from_utf8_lossy(&oracle.stderr));
    let mut expected: Value = serde_json::from_slice(&oracle.stdout).unwrap();
    // The step's local input as uploaded (the oracle is given pipeline inputs only).
    expected["properties"]["jobs"]["scale_readings"]["inputs"]["readings"]["uri"] = serde_json::json!(uploaded);
    let mut ours = sent.clone();
    ours["properties"]["properties"].as_object_mut().unwrap().retain(|k, _| !k.starts_with("aml."));
    assert_eq!(ours, expected);
    let components = azure.emulator.bodies("/components/azureml_anonymous/versions/");
    let spec = &components.last().unwrap()["properties"]["componentSpec"];
    assert_eq!(spec["type"], "parallel", "{spec:#}");
    assert_eq!(spec["mini_batch_size"], "3", "{spec:#}");
    assert_eq!(spec["task"], node["task"], "{spec:#}");
    azure.emulator.assert_clean();
}
