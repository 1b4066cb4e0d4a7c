//! Batch endpoints and deployments: judged as azure-ai-ml judges them (`validate`), applied
//! to a local workspace, and invoked: the diabetes model scoring a folder of CSV files as a
//! job of the runner, read back by `aml-train`.

use std::path::{Path, PathBuf};

use aml_client::testing::{TestWorkspace, binary, json, render};

fn corpus(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aml-train/tests/corpus/azureml-examples/cli/endpoints/batch/deploy-models/heart-classifier-mlflow")
        .join(file)
}

#[test]
fn batch_files_validate_as_azure_ai_ml_reads_them_and_a_deployment_needs_its_endpoint() {
    let ws = TestWorkspace::new();
    for file in ["endpoint.yml", "deployment-custom/deployment.yml", "deployment-simple/deployment.yml"] {
        let checked = ws.run(&binary("aml-deploy"), &["validate", "-f", corpus(file).to_str().unwrap()]);
        assert_eq!(checked.status.code(), Some(0), "{file}: {}", render(&checked));
        let text = String::from_utf8_lossy(&checked.stdout);
        assert!(text.contains("ok: ") && text.contains("batch "), "{text}");
    }
    let refused =
        ws.run(&binary("aml-deploy"), &["apply", "-f", corpus("deployment-custom/deployment.yml").to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("endpoint_name"), "{}", render(&refused));
    assert!(!ws.workspace().exists(), "a refused apply created the workspace");

    let deployment = std::fs::read_to_string(corpus("deployment-custom/deployment.yml")).unwrap();
    let cases = [
        (deployment.replace("compute: azureml:batch-cluster\n", ""), "compute"),
        (deployment.replace("settings:\n", "mini_batch_size: 2\nsettings:\n"), "mini_batch_size"),
        (deployment.replace("output_action: append_row", "output_action: append_rows"), "output_action"),
        (deployment.replace("modelBatchDeployment", "batchDeployment"), "settings"),
    ];
    // A copy of the example, so its relative paths resolve as written.
    ws.copy_dir(&corpus(""), "heart");
    for (text, field) in cases {
        ws.write(&format!("heart/deployment-custom/bad-{field}.yml"), &text);
        let file = format!("heart/deployment-custom/bad-{field}.yml");
        let refused = ws.run(&binary("aml-deploy"), &["validate", "-f", &file]);
        assert_eq!(refused.status.code(), Some(2), "{field}: {}", render(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(field), "{field}: {}", render(&refused));
    }
}

/// Train and register the diabetes model, then apply the example's batch endpoint and deployment.
fn diabetes_batch() -> TestWorkspace {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    ok(ws.run(&binary("aml-train"), &["run", "diabetes/job.yml", "--name", "train-1", "-q"]));
    ok(ws.run(&binary("aml-register"), &["model", "-f", "diabetes/model.yml", "--job", "train-1"]));
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/endpoint-batch.yml"]));
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/deployment-batch.yml", "-q"]));
    ws
}

fn ok(output: std::process::Output) -> std::process::Output {
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    output
}

/// `(file, row)` of every patient of the input folder, files by name, rows as written.
fn patients(folder: &Path) -> Vec<(String, usize)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut rows = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        rows.extend((0..text.lines().count() - 1).map(|row| (name.clone(), row)));
    }
    rows
}

fn predictions(job: &serde_json::Value) -> Vec<(String, usize, f64)> {
    let folder = job["output_paths"]["score"].as_str().unwrap();
    let text = std::fs::read_to_string(Path::new(folder).join("predictions.csv")).unwrap();
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "{line}");
            (fields[0].to_string(), fields[1].parse().unwrap(), fields[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn the_diabetes_model_scores_a_folder_of_csv_files_a_row_per_patient_in_input_order() {
    let ws = diabetes_batch();
    let again =
        ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/deployment-batch.yml", "-q", "-o", "json"]));
    assert_eq!(json(&again)["outcome"], "unchanged", "{}", render(&again));
    let mut show = json(&ok(ws.run(&binary("aml-deploy"), &["show", "diabetes-batch", "-o", "json"])));
    for field in ["created_at", "updated_at"] {
        show[field] = "[redacted]".into();
    }
    for field in ["created_at", "updated_at", "model_digest"] {
        show["deployments"][0][field] = "[redacted]".into();
    }
    insta::assert_json_snapshot!(show, @r#"
    {
      "auth_mode": "aad_token",
      "created_at": "[redacted]",
      "default_deployment": "ridge",
      "deployments": [
        {
          "created_at": "[redacted]",
          "endpoint": "diabetes-batch",
          "error": null,
          "model": "diabetes:1",
          "model_digest": "[redacted]",
          "name": "ridge",
          "state": "Succeeded",
          "updated_at": "[redacted]"
        }
      ],
      "description": "Scores files of patients' baseline measurements with the diabetes model.",
      "kind": "batch",
      "mirror_traffic": {},
      "name": "diabetes-batch",
      "provisioning_state": "Succeeded",
      "scoring_uri": null,
      "tags": {
        "example": "diabetes"
      },
      "traffic": {},
      "updated_at": "[redacted]"
    }
    "#);

    let input = ws.path().join("diabetes/data/batch");
    let invoked =
        ok(ws
            .run(&binary("aml-deploy"), &["invoke", "diabetes-batch", "--input", "diabetes/data/batch", "-o", "json"]));
    let job = json(&invoked);
    assert_eq!(job["status"], "Completed");
    assert_eq!(job["type"], "pipeline");
    assert_eq!(job["experiment_name"], "diabetes-batch");
    assert_eq!(job["display_name"], "ridge");
    let scored = predictions(&job);
    let expected = patients(&input);
    assert_eq!(expected.len(), 50);
    assert_eq!(scored.iter().map(|(f, r, _)| (f.clone(), *r)).collect::<Vec<_>>(), expected);
    assert!(scored.iter().all(|(_, _, p)| p.is_finite() && *p > 0.0), "{scored:?}");

    // The job is a job: aml-train reads it, its log has the mini-batches' progress.
    let name = job["name"].as_str().unwrap();
    let shown = json(&ok(ws.run(&binary("aml-train"), &["show", name, "-o", "json"])));
    assert_eq!(shown["status"], "Completed");
    assert_eq!(shown["outputs"]["score"], format!("azureml://jobs/{name}/outputs/score"));
    let logs = ok(ws.run(&binary("aml-train"), &["logs", name]));
    let log = String::from_utf8_lossy(&logs.stdout);
    assert!(log.contains("parallel: 10 file(s) in 4 mini-batch(es) of up to 3, 2 worker(s)"), "{log}");
    assert!(log.contains("4/4 mini-batches done"), "{log}");
    assert!(log.contains("INFO batch scoring: model loaded"), "logging_level info: {log}");

    // The scoring smoke test a pipeline runs: rows and columns of the output counted.
    let checked = json(&ok(ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "diabetes/data/batch",
            "-q",
            "-o",
            "json",
            "--expect-rows",
            "50",
            "--expect-columns",
            "file,row,progression",
        ],
    )));
    assert_eq!(checked["output_check"]["passed"], true, "{checked:#}");
    // The output also where the invocation says, in the workspace's datastore.
    ok(ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "diabetes/data/batch",
            "-q",
            "--output-path",
            "azureml://datastores/workspaceblobstore/paths/scores/run-1",
        ],
    ));
    let copied = ws.workspace().join("datastores/workspaceblobstore/scores/run-1/predictions.csv");
    assert_eq!(std::fs::read_to_string(copied).unwrap().lines().count(), 50);
    assert_eq!(checked["output_check"]["file"], "predictions.csv");
    assert_eq!(checked["output_check"]["header"], false, "append_row writes no header");
    let wrong = ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "diabetes/data/batch",
            "-q",
            "--expect-rows",
            "49",
            "--expect-columns",
            "file,progression",
        ],
    );
    assert_eq!(wrong.status.code(), Some(1), "{}", render(&wrong));
    let said = String::from_utf8_lossy(&wrong.stdout);
    assert!(said.contains("50 row(s), expected 49") && said.contains("row 1 has 3 column(s), expected 2"), "{said}");
}

#[test]
fn a_file_the_script_fails_on_fails_the_job_under_error_threshold_0_and_is_listed_under_1() {
    let ws = diabetes_batch();
    // A folder with a space in its name, as users have them.
    let input = ws.copy_dir(&ws.path().join("diabetes/data/batch"), "with bad");
    std::fs::write(input.join("patients-05b.csv"), "age,sex\n50,1\n").unwrap();

    let failed = ws.run(
        &binary("aml-deploy"),
        &["invoke", "diabetes-batch", "--input", "with bad", "--set", "mini_batch_size=1", "-q", "-o", "json"],
    );
    assert_eq!(failed.status.code(), Some(1), "{}", render(&failed));
    let job = json(&failed);
    assert_eq!(job["status"], "Failed");
    let error = job["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("patients-05b.csv") && error.contains("error_threshold 0"), "{error}");

    let tolerated = ok(ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "with bad",
            "--set",
            "mini_batch_size=1",
            "--set",
            "settings.error_threshold=1",
            "-q",
            "-o",
            "json",
        ],
    ));
    let job = json(&tolerated);
    assert_eq!(job["status"], "Completed");
    let scored = predictions(&job);
    assert_eq!(scored.len(), 50, "every good file scored, the bad one left out");
    assert!(scored.iter().all(|(file, _, _)| file != "patients-05b.csv"));
    let logs = ok(ws.run(&binary("aml-train"), &["logs", job["name"].as_str().unwrap()]));
    let log = String::from_utf8_lossy(&logs.stdout);
    assert!(log.contains("1 file(s) failed") && log.contains("patients-05b.csv has no column(s)"), "{log}");
}

#[test]
fn bad_invocations_exit_2_naming_what_to_fix() {
    let ws = diabetes_batch();
    let cases: [(&[&str], &str); 7] = [
        (&["invoke", "diabetes-batch", "--input", "nowhere"], "nowhere"),
        (
            &["invoke", "diabetes-batch", "--input", "diabetes/data/batch", "--set", "output_file_name=../x.csv"],
            "output_file_name",
        ),
        (
            &["invoke", "diabetes-batch", "--input", "diabetes/data/batch", "--set", "mini_batch_size=0"],
            "mini_batch_size",
        ),
        (
            &["invoke", "diabetes-batch", "--input", "diabetes/data/batch", "--set", "colour=blue"],
            "mini_batch_size, max_concurrency_per_instance",
        ),
        (
            &["invoke", "diabetes-batch", "--input", "diabetes/data/batch", "--deployment", "nope"],
            "no deployment `nope`",
        ),
        (&["invoke", "no-such", "--input", "diabetes/data/batch"], "no batch endpoint named `no-such`"),
        (
            &[
                "invoke",
                "diabetes-batch",
                "--input",
                "diabetes/data/batch",
                "--output-path",
                "azureml://datastores/workspaceblobstore/paths/a/../../b",
            ],
            "--output-path",
        ),
    ];
    for (args, says) in cases {
        let refused = ws.run(&binary("aml-deploy"), args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {}", render(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(says), "{args:?}: {}", render(&refused));
    }
    let jobs = std::fs::read_dir(ws.workspace().join("jobs")).unwrap().count();
    assert_eq!(jobs, 1, "only the training job: a refused invocation starts none");
    // Online commands on a batch endpoint say what it is.
    let traffic = ws.run(&binary("aml-deploy"), &["logs", "diabetes-batch", "ridge"]);
    assert_eq!(traffic.status.code(), Some(2), "{}", render(&traffic));
    assert!(String::from_utf8_lossy(&traffic.stderr).contains("is a batch endpoint"), "{}", render(&traffic));
}

fn csv_scores(folder: &str) -> Vec<(String, usize, f64)> {
    let text = std::fs::read_to_string(Path::new(folder).join("predictions.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("file,row,progression"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[0].to_string(), fields[1].parse().unwrap(), fields[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_pipeline_component_deployment_runs_its_pipeline_over_the_input_with_the_same_predictions() {
    let ws = diabetes_batch();
    let applied = json(&ok(
        ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/deployment-batch-pipeline.yml", "-o", "json"])
    ));
    assert_eq!(applied["outcome"], "created", "{applied:#}");
    assert_eq!(applied["endpoint"]["default_deployment"], "ridge", "the first deployment stays the default");
    let again = json(&ok(
        ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/deployment-batch-pipeline.yml", "-o", "json"])
    ));
    assert_eq!(again["outcome"], "unchanged", "{again:#}");

    let by_model = json(&ok(ws.run(
        &binary("aml-deploy"),
        &["invoke", "diabetes-batch", "--input", "diabetes/data/batch", "-q", "-o", "json"],
    )));
    let piped = json(&ok(ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--deployment",
            "prep-score",
            "--input",
            "diabetes/data/batch",
            "-q",
            "-o",
            "json",
        ],
    )));
    assert_eq!(piped["status"], "Completed", "{piped:#}");
    let counted = json(&ok(ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--deployment",
            "prep-score",
            "--input",
            "diabetes/data/batch",
            "-q",
            "-o",
            "json",
            "--expect-rows",
            "50",
            "--expect-columns",
            "file,row,progression",
        ],
    )));
    assert_eq!(counted["output_check"]["header"], true, "{counted:#}");
    assert_eq!(counted["output_check"]["passed"], true, "{counted:#}");
    assert_eq!(piped["experiment_name"], "diabetes-batch");
    let steps: Vec<&str> = piped["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["prep", "score"]);
    let scores = csv_scores(piped["output_paths"]["scores"].as_str().unwrap());
    let expected = predictions(&by_model);
    assert_eq!(scores.len(), expected.len());
    for ((file, row, value), (file2, row2, value2)) in scores.iter().zip(&expected) {
        assert_eq!((file, row), (file2, row2));
        assert!((value - value2).abs() < 1e-9, "{file} {row}: {value} vs {value2}");
    }
    let refused = ws.run(
        &binary("aml-deploy"),
        &[
            "invoke",
            "diabetes-batch",
            "--deployment",
            "prep-score",
            "--input",
            "diabetes/data/batch",
            "--set",
            "mini_batch_size=2",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));

    // The same component as a pipeline job's `component:` runs with aml-train.
    ws.write(
        "diabetes/score-job.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\ncomponent: ./batch-pipeline.yml\ninputs:\n  input_data:\n    type: uri_folder\n    path: ./data/batch\n",
    );
    let run = json(&ok(ws.run(&binary("aml-train"), &["run", "diabetes/score-job.yml", "-q", "-o", "json"])));
    assert_eq!(run["status"], "Completed", "{run:#}");
    assert_eq!(csv_scores(run["output_paths"]["scores"].as_str().unwrap()), scores);

    // A component changed since it was applied is not run as if it were the one applied.
    let component = ws.path().join("diabetes/batch-pipeline.yml");
    let text = std::fs::read_to_string(&component).unwrap();
    std::fs::write(&component, text.replace("Diabetes batch scoring", "Diabetes scoring")).unwrap();
    let stale = ws.run(
        &binary("aml-deploy"),
        &["invoke", "diabetes-batch", "--deployment", "prep-score", "--input", "diabetes/data/batch"],
    );
    assert_eq!(stale.status.code(), Some(2), "{}", render(&stale));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("apply the deployment again"), "{}", render(&stale));
}

#[test]
fn an_mlflow_model_without_a_scoring_script_is_scored_per_file_as_azure_ml_does() {
    let ws = TestWorkspace::new();
    ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlflow"), "mlflow");
    ok(ws.run(
        &binary("aml-register"),
        &["model", "--name", "doubler", "--type", "mlflow_model", "--path", "mlflow/model"],
    ));
    ws.write(
        "batch/endpoint.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\nname: doubler-batch\n",
    );
    ws.write(
        "batch/deployment.yml",
        "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\nname: doubler\nendpoint_name: doubler-batch\ntype: model\nmodel: azureml:doubler@latest\ncompute: azureml:batch-cluster\nsettings:\n  mini_batch_size: 1\n  output_action: append_row\n  error_threshold: 0\n",
    );
    ws.write("rows/a.csv", "a,b\n1.0,2.0\n3.0,4.0\n");
    ws.write("rows/b.csv", "a,b\n0.5,0.5\n");
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "batch/endpoint.yml"]));
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "batch/deployment.yml", "-q"]));
    let job =
        json(&ok(ws.run(&binary("aml-deploy"), &["invoke", "doubler-batch", "--input", "rows", "-q", "-o", "json"])));
    assert_eq!(job["status"], "Completed", "{job:#}");
    let text =
        std::fs::read_to_string(Path::new(job["output_paths"]["score"].as_str().unwrap()).join("predictions.csv"))
            .unwrap();
    // One `[file, prediction]` per row, as Azure ML's no-code MLflow deployments write them.
    assert_eq!(text, "['a.csv', 6.0]\n['a.csv', 14.0]\n['b.csv', 2.0]\n");

    // A file type Azure ML does not read fails its mini-batch, and so the job.
    ws.write("rows/c.parquet", "not a table");
    let failed = ws.run(&binary("aml-deploy"), &["invoke", "doubler-batch", "--input", "rows", "-q", "-o", "json"]);
    assert_eq!(failed.status.code(), Some(1), "{}", render(&failed));
    let error = json(&failed)["steps"][0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("c.parquet"), "{error}");
}
