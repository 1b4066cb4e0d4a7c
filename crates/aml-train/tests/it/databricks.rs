//! aml-train with `--compute databricks:…`: the real binary against the emulator's Azure
//! Databricks (Files API on a volume, Jobs API 2.2, MLflow; every request held to
//! databricks-sdk's models), whose cluster really runs the task — our driver entry, the
//! job's script, its PyPI libraries — so the same job gives the same answers as here.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aml_client::testing::{TestWorkspace, binary};
use aml_emulator::databricks::{EXISTING_CLUSTER, PAT};
use aml_emulator::{Emulator, Fault};
use serde_json::Value;

struct Databricks {
    emulator: Emulator,
    ws: TestWorkspace,
}

impl Databricks {
    fn start() -> Databricks {
        let emulator = Emulator::start(None).unwrap_or_else(|e| panic!("emulator: {e}"));
        let ws = TestWorkspace::new();
        ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/echo"), "echo");
        Databricks { emulator, ws }
    }

    /// aml-train on the local workspace, with an Entra identity (client secret) that the
    /// emulator's token endpoint serves; runs are polled quickly.
    fn command(&self) -> Command {
        let mut command = self.ws.command(&binary("aml-train"));
        for (k, v) in self.emulator.env() {
            if k != "AML_WORKSPACE" {
                command.env(k, v);
            }
        }
        command.env("AML_DATABRICKS_POLL_MAX_MS", "300");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().unwrap();
        self.assert_no_secrets(&output);
        output
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let output = self.run(&all);
        assert!(output.status.success(), "{args:?}: {}", aml_client::testing::render(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn assert_no_secrets(&self, output: &Output) {
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let mut secrets = vec![
            aml_emulator::CLIENT_SECRET.to_string(),
            PAT.to_string(),
            "emulator-access-token".into(),
            "emulator-databricks-token".into(),
        ];
        secrets.extend(self.emulator.databricks_tokens());
        for secret in secrets {
            assert!(!text.contains(&secret), "a secret leaked into the output:\n{text}");
        }
    }

    fn calls(&self, method: &str, part: &str) -> usize {
        self.emulator.requests().iter().filter(|(m, p, _)| m == method && p.contains(part)).count()
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_command_job_runs_on_databricks_with_the_answers_of_the_local_workspace() {
    let db = Databricks::start();
    let local =
        db.ws.run(&binary("aml-train"), &["run", "echo/job.yml", "--name", "echo-here", "--output", "json", "--quiet"]);
    assert!(local.status.success(), "{}", stderr(&local));
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();

    let compute = db.emulator.databricks_compute(None);
    let output = db.run(&["run", "echo/job.yml", "--name", "echo-db", "--compute", &compute, "--output", "json"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    let job: Value = serde_json::from_slice(&output.stdout).unwrap();
    for field in ["status", "type", "experiment_name", "display_name", "metrics", "params", "code_digest"] {
        assert_eq!(job[field], local[field], "{field}: {job:#}");
    }
    assert_eq!(job["metrics"]["rows"], 2.0, "outputs/metrics.json, written on the driver, is read back");
    assert_eq!(job["outputs"]["result"], "azureml://jobs/echo-db/outputs/result");
    // Status changes and the script's own output, streamed from the driver's log chunks.
    assert!(log.contains("databricks run") && log.contains("submitted on databricks"), "{log}");
    assert!(log.contains("job echo-db: Completed"), "{log}");
    assert!(log.contains("hello x2: 2 data rows") && log.contains("to stderr"), "{log}");

    // The run as Databricks saw it: our driver entry on the volume, the existing cluster,
    // the command's arguments with the uploaded input's path.
    let runs = db.emulator.databricks_runs();
    let run = runs.values().next().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(run.run_name, "echo-db");
    assert_eq!(run.task["existing_cluster_id"], EXISTING_CLUSTER);
    assert_eq!(run.task["spark_python_task"]["python_file"], "/Volumes/main/default/aml_train/jobs/echo-db/aml_run.py");
    let parameters: Vec<&str> =
        run.task["spark_python_task"]["parameters"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let command = &parameters[parameters.iter().position(|p| *p == "--").unwrap() + 1..];
    assert_eq!(command[..3], ["run.py", "--greeting", "hello"]);
    assert!(command.contains(&"/Volumes/main/default/aml_train/jobs/echo-db/inputs/data/data.csv"), "{command:?}");
    assert_eq!(run.result.as_deref(), Some("SUCCESS"));
    // The job's MLflow run lives in the workspace's MLflow, in /Shared/<experiment>.
    let mlflow = db.emulator.databricks_mlflow_runs();
    let (_, mlflow_run) = mlflow.iter().next().unwrap();
    assert_eq!(mlflow_run.run_name, "echo-db");
    assert_eq!(mlflow_run.status, "FINISHED");

    // The same verbs read the job back; the output came home.
    let shown = db.json(&["show", "echo-db"]);
    assert_eq!(shown["status"], "Completed");
    let logs = db.run(&["logs", "echo-db"]);
    assert!(
        String::from_utf8_lossy(&logs.stdout).contains("hello x2: 2 data rows"),
        "{}",
        aml_client::testing::render(&logs)
    );
    let greeting = db.ws.path().join(".aml/jobs/echo-db/outputs/result/greeting.txt");
    assert_eq!(std::fs::read_to_string(greeting).unwrap(), "hello\nhello\n");
    let model = db.ws.run(
        &binary("aml-register"),
        &["model", "--name", "greeter", "--job", "echo-db", "--output-name", "result", "--output", "json"],
    );
    assert!(model.status.success(), "{}", aml_client::testing::render(&model));
    let model: Value = serde_json::from_slice(&model.stdout).unwrap();
    assert_eq!(model["lineage"]["job"], "echo-db");
    assert_eq!(model["metrics"]["count"], 2.0);
    db.emulator.assert_clean();
}

/// The worked example's job, unchanged, on a new job cluster: the conda file's pip packages
/// become the task's PyPI libraries, MLflow metrics and params come from Databricks' MLflow,
/// and the model is registered from the output. A personal access token this time.
#[test]
fn the_diabetes_example_trains_on_databricks_and_its_model_is_registered() {
    let db = Databricks::start();
    db.ws.copy_example("diabetes");
    let compute = db.emulator.databricks_compute(Some("Standard_DS3_v2"));
    let mut command = db.command();
    command.env("DATABRICKS_TOKEN", PAT).env_remove("AZURE_CLIENT_SECRET");
    let output = command
        .args([
            "run",
            "diabetes/job.yml",
            "--name",
            "ridge",
            "--set",
            "inputs.alpha=0.5",
            "--quiet",
            "--compute",
            &compute,
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    db.assert_no_secrets(&output);
    assert!(output.status.success(), "{}", aml_client::testing::render(&output));
    let job: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(job["status"], "Completed", "{job:#}");
    let rmse = job["metrics"]["rmse"].as_f64().unwrap();
    assert!((45.0..=65.0).contains(&rmse), "rmse = {rmse}");
    assert_eq!(job["metrics"]["train_rows"], 353.0);
    assert_eq!(job["params"], serde_json::json!({"alpha": "0.5"}));

    let run = db.emulator.databricks_runs().into_values().next().unwrap();
    assert_eq!(run.task["new_cluster"]["node_type_id"], "Standard_DS3_v2");
    assert_eq!(run.task["new_cluster"]["num_workers"], 2);
    assert_eq!(
        run.task["libraries"],
        serde_json::json!([{"pypi": {"package": "scikit-learn==1.9.1"}}, {"pypi": {"package": "mlflow-skinny==3.17.2"}}])
    );
    assert_eq!(db.calls("POST", "/oauth2/v2.0/token"), 0, "the token given was used, no Entra token asked for");

    let model = db
        .ws
        .run(&binary("aml-register"), &["model", "-f", "diabetes/model.yml", "--job", "ridge", "--output", "json"]);
    assert!(model.status.success(), "{}", aml_client::testing::render(&model));
    let model: Value = serde_json::from_slice(&model.stdout).unwrap();
    assert_eq!(model["id"], "diabetes:1");
    assert_eq!(model["metrics"], job["metrics"]);
    assert_eq!(model["lineage"]["code_digest"], job["code_digest"]);
    db.emulator.assert_clean();
}

/// The example's pipeline: each step a Databricks run, a step's output (downloaded when its
/// run ends) uploaded again as the next step's input, the pipeline's output registered.
#[test]
fn the_diabetes_pipeline_runs_each_step_on_databricks() {
    let db = Databricks::start();
    db.ws.copy_example("diabetes");
    let compute = db.emulator.databricks_compute(None);
    let job = db.json(&["run", "diabetes/pipeline.yml", "--name", "pipe", "--quiet", "--compute", &compute]);
    assert_eq!(job["status"], "Completed", "{job:#}");
    let steps: Vec<&str> = job["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["Completed", "Completed", "Completed"], "{job:#}");
    let runs: Vec<String> = db.emulator.databricks_runs().into_values().map(|r| r.run_name).collect();
    assert_eq!(runs, ["pipe_prep", "pipe_train", "pipe_evaluate"]);
    let train = db.emulator.databricks_runs().into_values().find(|r| r.run_name == "pipe_train").unwrap();
    let parameters = train.task["spark_python_task"]["parameters"].to_string();
    assert!(parameters.contains("/Volumes/main/default/aml_train/jobs/pipe_train/inputs/train_data"), "{parameters}");
    let model =
        db.ws.run(&binary("aml-register"), &["model", "-f", "diabetes/model.yml", "--job", "pipe", "--output", "json"]);
    assert!(model.status.success(), "{}", aml_client::testing::render(&model));
    db.emulator.assert_clean();
}

#[test]
fn a_failing_run_exits_1_with_the_task_error_and_the_log_tail() {
    let db = Databricks::start();
    std::fs::write(
        db.ws.path().join("echo/src/boom.py"),
        "print('about to fail', flush=True)\nraise ValueError('the data has no rows')\n",
    )
    .unwrap();
    std::fs::write(
        db.ws.path().join("echo/boom.yml"),
        "type: command\ncode: ./src\ncommand: python boom.py\nenvironment:\n  image: python:3.11-slim\n",
    )
    .unwrap();
    let compute = db.emulator.databricks_compute(None);
    let output = db.run(&["run", "echo/boom.yml", "--name", "boom", "--compute", &compute, "--quiet"]);
    assert_eq!(output.status.code(), Some(1), "{}", aml_client::testing::render(&output));
    // The error is the job's (stdout), the progress is stderr's.
    let text = aml_client::testing::render(&output);
    assert!(text.contains("ended FAILED: Workload failed, see run output for details"), "{text}");
    assert!(text.contains("error: ValueError: the data has no rows"), "{text}");
    assert!(text.contains("last lines of its log") && text.contains("about to fail"), "{text}");
    assert!(!text.contains("runpy"), "the traceback starts at the script: {text}");
    let shown = db.run(&["show", "boom", "--output", "json"]);
    assert_eq!(shown.status.code(), Some(1));
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["status"], "Failed");
    insta::assert_snapshot!(shown["error"].as_str().unwrap(), @r#"
    databricks run 1003 ended FAILED: Workload failed, see run output for details
    error: ValueError: the data has no rows
    last lines of its log:
    about to fail
    Traceback (most recent call last):
      File "boom.py", line 2, in <module>
        raise ValueError('the data has no rows')
    ValueError: the data has no rows
    "#);
    assert_eq!(
        db.emulator.databricks_mlflow_runs().values().next().unwrap().status,
        "FAILED",
        "the MLflow run is closed as failed"
    );
    db.emulator.assert_clean();
}

#[test]
fn throttling_and_dropped_connections_are_retried_and_a_retried_submit_starts_one_run() {
    let db = Databricks::start();
    db.emulator.inject("PUT", "/api/2.0/fs/files/", Fault::Reset, 1);
    db.emulator.inject("POST", "/jobs/runs/submit", Fault::Status(503, None), 1);
    db.emulator.inject("GET", "/jobs/runs/get", Fault::Status(429, Some(1)), 2);
    db.emulator.inject("GET", "/mlflow/runs/get", Fault::Reset, 1);
    let compute = db.emulator.databricks_compute(None);
    let job = db.json(&["run", "echo/job.yml", "--name", "bumpy", "--compute", &compute, "--quiet"]);
    assert_eq!(job["status"], "Completed", "{job:#}");
    assert_eq!(job["metrics"]["count"], 2.0);
    assert_eq!(db.calls("POST", "/jobs/runs/submit"), 2, "the 503 was retried");
    assert_eq!(db.emulator.databricks_runs().len(), 1, "one run for the one job");
    db.emulator.assert_clean();
}

/// Following fails after its retries: the error says the run may still be going in Databricks.
#[test]
fn a_run_that_cannot_be_followed_is_said_to_be_still_running() {
    let db = Databricks::start();
    db.emulator.inject("GET", "/jobs/runs/get", Fault::Status(500, None), 50);
    let output = db.run(&[
        "run",
        "echo/job.yml",
        "--name",
        "lost",
        "--compute",
        &db.emulator.databricks_compute(None),
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", aml_client::testing::render(&output));
    assert!(stderr(&output).contains("may still be running"), "{}", stderr(&output));
    assert_eq!(db.emulator.databricks_runs().len(), 1, "the run was submitted and left as it is");
    db.emulator.assert_clean();
}

#[test]
fn cancelling_stops_the_run_on_databricks() {
    let db = Databricks::start();
    std::fs::write(
        db.ws.path().join("echo/src/slow.py"),
        "import time\nprint('started', flush=True)\ntime.sleep(300)\n",
    )
    .unwrap();
    std::fs::write(
        db.ws.path().join("echo/slow.yml"),
        "type: command\ncode: ./src\ncommand: python slow.py\nenvironment:\n  image: python:3.11-slim\n",
    )
    .unwrap();
    let compute = db.emulator.databricks_compute(None);
    let runner = db
        .command()
        .args(["run", "echo/slow.yml", "--name", "slow", "--compute", &compute])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the script runs on the driver, then cancel from another process.
    let started = Instant::now();
    while !db.emulator.databricks_runs().values().any(|r| r.life_cycle == "RUNNING") {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let cancel = db.run(&["cancel", "slow", "--output", "json"]);
    assert!(cancel.status.success(), "{}", aml_client::testing::render(&cancel));
    let cancelled: Value = serde_json::from_slice(&cancel.stdout).unwrap();
    assert_eq!(cancelled["status"], "Canceled");
    let output = runner.wait_with_output().unwrap();
    db.assert_no_secrets(&output);
    assert_eq!(output.status.code(), Some(1), "{}", aml_client::testing::render(&output));
    assert!(stderr(&output).contains("canceling databricks run"), "{}", stderr(&output));
    let run = db.emulator.databricks_runs().into_values().next().unwrap();
    assert_eq!(run.result.as_deref(), Some("CANCELED"));
    assert_eq!(db.calls("POST", "/jobs/runs/cancel"), 1);
    let again = db.run(&["cancel", "slow"]);
    assert_eq!(again.status.code(), Some(2), "a job that ended has nothing to cancel");
    db.emulator.assert_clean();
}

#[test]
fn bad_input_is_refused_before_anything_runs() {
    let db = Databricks::start();
    let host = db.emulator.databricks_host();

    // A command Databricks cannot run as a Python task: nothing is sent.
    let sleep = db.run(&["run", "echo/sleep.yml", "--compute", &db.emulator.databricks_compute(None)]);
    assert_eq!(sleep.status.code(), Some(2), "{}", aml_client::testing::render(&sleep));
    assert!(stderr(&sleep).contains("command") && stderr(&sleep).contains("python FILE"), "{}", stderr(&sleep));
    assert!(db.emulator.requests().is_empty(), "nothing was sent: {:?}", db.emulator.requests());
    assert!(!db.ws.path().join(".aml").exists(), "nothing was written");

    // A cluster Databricks does not have: exit 2 naming what it offers, nothing written or run.
    for (compute, says) in [
        (format!("databricks:{host}?node_type=Standard_Huge&workers=2"), "node type `Standard_Huge` is not offered"),
        (
            format!("databricks:{host}?node_type=Standard_DS3_v2&spark_version=9.1.x-scala2.12"),
            "15.4.x-cpu-ml-scala2.12",
        ),
        (format!("databricks:{host}?cluster=0000-missing"), "cluster `0000-missing` does not exist"),
    ] {
        let refused = db.run(&["run", "echo/job.yml", "--compute", &compute]);
        assert_eq!(refused.status.code(), Some(2), "{}", aml_client::testing::render(&refused));
        assert!(stderr(&refused).contains(says), "{}", stderr(&refused));
    }
    assert!(db.emulator.databricks_runs().is_empty());
    assert!(!db.ws.path().join(".aml").exists(), "nothing was written");

    // A volume that does not exist.
    let volume = db.run(&[
        "run",
        "echo/job.yml",
        "--compute",
        &format!("databricks:{host}?cluster={EXISTING_CLUSTER}&volume=/Volumes/main/default/missing"),
    ]);
    assert_eq!(volume.status.code(), Some(2), "{}", aml_client::testing::render(&volume));
    assert!(
        stderr(&volume).contains("/Volumes/main/default/missing") && stderr(&volume).contains("CREATE VOLUME"),
        "{}",
        stderr(&volume)
    );
    assert!(!db.ws.path().join(".aml").exists(), "nothing was written");

    // A token Databricks does not take: exit 3 naming the host and the credential, not the token.
    let mut command = db.command();
    command.env("DATABRICKS_TOKEN", "dapi-not-a-real-token");
    let output =
        command.args(["run", "echo/job.yml", "--compute", &db.emulator.databricks_compute(None)]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", aml_client::testing::render(&output));
    let text = stderr(&output);
    assert!(text.contains(&host) && text.contains("DATABRICKS_TOKEN (a personal access token)"), "{text}");
    assert!(!text.contains("dapi-not-a-real-token"), "{text}");

    // An identity Entra refuses: exit 3 naming the source and the host.
    let mut command = db.command();
    command.env("AZURE_CLIENT_SECRET", "not-the-secret");
    let output =
        command.args(["run", "echo/job.yml", "--compute", &db.emulator.databricks_compute(None)]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", aml_client::testing::render(&output));
    let text = stderr(&output);
    assert!(text.contains(&host) && text.contains("client secret") && text.contains(aml_emulator::TENANT), "{text}");

    // A workspace that does not answer: exit 3 naming it.
    let output = db.run(&["run", "echo/job.yml", "--compute", "databricks:https://127.0.0.1:9?cluster=x"]);
    assert_eq!(output.status.code(), Some(3), "{}", aml_client::testing::render(&output));
    assert!(stderr(&output).contains("https://127.0.0.1:9"), "{}", stderr(&output));

    // A compute that is not one.
    let unknown = db.run(&["run", "echo/job.yml", "--compute", "spark://somewhere"]);
    assert_eq!(unknown.status.code(), Some(2));
    db.emulator.assert_clean();
}
