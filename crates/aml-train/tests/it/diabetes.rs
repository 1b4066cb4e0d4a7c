//! The worked example, for real: scikit-learn and MLflow in a built environment, metrics
//! logged through the workspace's MLflow endpoint, and the pipeline's model registered.

use aml_client::testing::{TestWorkspace, binary, json, render};

fn in_range(job: &serde_json::Value, metric: &str, low: f64, high: f64) {
    let value = job["metrics"][metric].as_f64().unwrap_or_else(|| panic!("no metric `{metric}` in {job}"));
    assert!((low..=high).contains(&value), "{metric} = {value}, expected {low}..={high}");
}

#[test]
fn the_example_job_logs_its_metrics_with_mlflow() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let output = ws.run(
        &binary("aml-train"),
        &["run", "diabetes/job.yml", "--name", "ridge", "--set", "inputs.alpha=0.5", "-o", "json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let job = json(&output);
    assert_eq!(job["status"], "Completed");
    // Ridge on the 20% hold-out of scikit-learn's diabetes data.
    in_range(&job, "rmse", 45.0, 65.0);
    in_range(&job, "mae", 35.0, 55.0);
    in_range(&job, "r2", 0.3, 0.6);
    assert_eq!(job["metrics"]["train_rows"], 353.0);
    assert_eq!(job["params"], serde_json::json!({"alpha": "0.5"}), "log_param went through the MLflow endpoint");
    let model = std::path::Path::new(job["output_paths"]["model"].as_str().unwrap()).join("model.pkl");
    assert!(model.is_file(), "the model was not written to its output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("View run"), "MLflow printed a link to a UI nobody serves:\n{stderr}");
    assert!(!stderr.contains("does not serve"), "the script called MLflow endpoints we do not serve:\n{stderr}");
}

#[test]
fn the_example_pipeline_trains_evaluates_and_registers() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let output = ws.run(&binary("aml-train"), &["run", "diabetes/pipeline.yml", "--name", "pipeline", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let job = json(&output);
    let statuses: Vec<&str> = job["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["Completed", "Completed", "Completed"]);
    in_range(&job, "r2", 0.3, 0.6);

    let register = ws.run(
        &binary("aml-register"),
        &["model", "-f", "diabetes/model.yml", "--job", "pipeline", "--tag", "stage=candidate", "-o", "json"],
    );
    assert_eq!(register.status.code(), Some(0), "{}", render(&register));
    let model = json(&register);
    assert_eq!(model["id"], "diabetes:1");
    assert_eq!(model["source"], "azureml://jobs/pipeline/outputs/model");
    assert_eq!(model["metrics"], job["metrics"], "the model carries the pipeline's metrics");
    assert_eq!(model["lineage"]["job"], "pipeline");
    assert_eq!(model["lineage"]["experiment"], "diabetes");
    // The code digest is the training step's; the data is the pipeline's raw input.
    let train = json(&ws.run(&binary("aml-train"), &["show", "pipeline_train", "-o", "json"]));
    assert_eq!(model["lineage"]["code_digest"], train["code_digest"]);
    let data = model["lineage"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["input"], "raw_data");
    assert_eq!(data[0]["uri"], "./data/diabetes.csv");
    assert_eq!(model["tags"]["stage"], "candidate");
    assert_eq!(model["tags"]["framework"], "scikit-learn");
}

#[test]
fn mlflow_3_logged_models_land_in_the_jobs_artifacts() {
    let ws = TestWorkspace::new();
    ws.copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlflow"), "mlflow");
    let output = ws.run(&binary("aml-train"), &["run", "mlflow/job.yml", "--name", "logged", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    assert_eq!(json(&output)["metrics"], serde_json::json!({"accuracy": 0.9}));
    let log = std::fs::read_to_string(ws.workspace().join("jobs/logged/logs/std_log.txt")).unwrap();
    assert!(log.contains("logged model READY tags={'stage': 'candidate'} params={'alpha': '0.5'}"), "{log}");
    let models = ws.workspace().join("jobs/logged/artifacts/models");
    let model = std::fs::read_dir(&models).unwrap().next().expect("a logged model folder").unwrap().path();
    assert!(model.join("artifacts/MLmodel").is_file(), "the model's files were not written to the job's artifacts");
}

#[test]
fn a_sweep_runs_its_trials_picks_the_best_by_its_metric_and_its_model_registers() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let out = ws.run(&binary("aml-train"), &["run", "diabetes/sweep.yml", "--name", "tune", "-q", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let sweep = json(&out);
    assert_eq!(sweep["status"], "Completed");
    assert_eq!(sweep["type"], "sweep");
    let trials = sweep["steps"].as_array().unwrap();
    assert_eq!(trials.len(), 4, "{sweep}");
    // Random sampling of a finite space draws each alpha once.
    let mut alphas: Vec<String> = trials
        .iter()
        .map(|t| t["display_name"].as_str().unwrap().rsplit("alpha=").next().unwrap().to_string())
        .collect();
    alphas.sort();
    assert_eq!(alphas, ["0.01", "0.1", "1.0", "10.0"], "{sweep}");
    // The best trial has the lowest rmse; the sweep's metrics and model are its.
    let best = trials
        .iter()
        .min_by(|a, b| a["metrics"]["rmse"].as_f64().unwrap().total_cmp(&b["metrics"]["rmse"].as_f64().unwrap()))
        .unwrap();
    assert_eq!(sweep["tags"]["best_child_run_id"], best["name"], "{sweep}");
    assert_eq!(sweep["metrics"]["rmse"], best["metrics"]["rmse"]);
    let registered = ws.run(
        &binary("aml-register"),
        &["model", "--name", "diabetes", "--job", "tune", "--output-name", "model", "-o", "json"],
    );
    assert_eq!(registered.status.code(), Some(0), "{}", render(&registered));
    let model = json(&registered);
    assert_eq!(model["metrics"]["rmse"], best["metrics"]["rmse"], "{model}");
    let best_model = ws.workspace().join("jobs").join(best["name"].as_str().unwrap()).join("outputs/model/model.pkl");
    assert_eq!(model["size"].as_u64(), Some(std::fs::metadata(best_model).unwrap().len()));
}

#[test]
fn a_bandit_policy_stops_a_trial_outside_its_slack_while_it_runs() {
    let ws = TestWorkspace::new();
    ws.copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlflow"), "mlflow");
    // The second trial would idle 60 s after its first interval; the policy ends it first.
    let out = ws.run(&binary("aml-train"), &["run", "mlflow/sweep-bandit.yml", "--name", "bandit", "-q", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let sweep = json(&out);
    assert_eq!(sweep["status"], "Completed", "{sweep}");
    let trials = sweep["steps"].as_array().unwrap();
    assert_eq!(trials[1]["status"], "Canceled", "{sweep}");
    let why = trials[1]["error"].as_str().unwrap_or_default();
    assert!(why.contains("stopped early by the sweep's policy: bandit: loss 5"), "{why}");
    assert_eq!(sweep["tags"]["best_child_run_id"], "bandit_0", "{sweep}");
}
