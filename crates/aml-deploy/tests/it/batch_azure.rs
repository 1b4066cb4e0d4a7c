//! Batch endpoints on Azure ML: every model deployment of Azure/azureml-examples'
//! `cli/endpoints/batch/deploy-models/` applied unchanged against the emulator (a stand-in
//! file registered under each registered model's name), each body held to azure-ai-ml's
//! for the same file, a second apply writing nothing.

use std::path::{Path, PathBuf};

use aml_client::testing::render;
use aml_emulator::harness::AzureTest;
use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aml-train/tests/corpus/azureml-examples/cli/endpoints/batch/deploy-models")
}

/// (endpoint file, deployment file, the registered model it names, if any).
const EXAMPLES: &[(&str, &str, Option<&str>)] = &[
    (
        "heart-classifier-mlflow/endpoint.yml",
        "heart-classifier-mlflow/deployment-custom/deployment.yml",
        Some("heart-classifier-mlflow"),
    ),
    (
        "heart-classifier-mlflow/endpoint.yml",
        "heart-classifier-mlflow/deployment-simple/deployment.yml",
        Some("heart-classifier-mlflow"),
    ),
    ("custom-outputs-parquet/endpoint.yml", "custom-outputs-parquet/deployment.yml", Some("heart-classifier-sklpipe")),
    (
        "huggingface-text-summarization/endpoint.yml",
        "huggingface-text-summarization/deployment.yml",
        Some("bart-text-summarization"),
    ),
    ("imagenet-classifier/endpoint.yml", "imagenet-classifier/deployment-by-file.yml", Some("imagenet-classifier")),
    ("imagenet-classifier/endpoint.yml", "imagenet-classifier/deployment-by-batch.yml", Some("imagenet-classifier")),
    ("mnist-classifier/endpoint.yml", "mnist-classifier/deployment-torch/deployment.yml", None),
    ("mnist-classifier/endpoint.yml", "mnist-classifier/deployment-keras/deployment.yml", None),
    ("openai-embeddings/endpoint.yml", "openai-embeddings/deployment.yml", Some("text-embedding-ada-002")),
];

/// azure-ai-ml's body for `file` in the test workspace, given the ids it would resolve.
fn oracle(azure: &AzureTest, file: &str, ids: &[(&str, &str)]) -> Value {
    let mut command = std::process::Command::new(aml_client::testing::venv_python());
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/batch_body.py"));
    command.arg(azure.ws.path().join(file)).arg("westeurope");
    for (key, id) in ids {
        command.arg(format!("{key}={id}"));
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut body: Value = serde_json::from_slice(&output.stdout).unwrap();
    // azure-ai-ml sends a tag written as a YAML number (`device_batching: 16`) as a number;
    // the REST model's tags are strings, which is what we send.
    if let Some(tags) = body["tags"].as_object_mut() {
        for value in tags.values_mut() {
            if !value.is_string() {
                *value = Value::String(value.to_string());
            }
        }
    }
    body
}

fn last_body(azure: &AzureTest, path: &str) -> Value {
    azure.emulator.bodies(path).pop().unwrap_or_else(|| panic!("nothing was sent to {path}"))
}

fn name_in(file: &Path, field: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
    line[field.len() + 1..].trim().to_string()
}

#[test]
fn the_batch_examples_apply_to_azure_ml_as_azure_ai_ml_sends_them_and_again_change_nothing() {
    let azure = AzureTest::start();
    azure.ws.copy_dir(&corpus(), "batch");
    let mut registered = Vec::new();
    let mut defaults: Vec<(String, String)> = Vec::new();
    let mut applied_before: Vec<String> = Vec::new();
    for (endpoint_file, deployment_file, model) in EXAMPLES {
        let endpoint_file = format!("batch/{endpoint_file}");
        let deployment_file = format!("batch/{deployment_file}");
        if let Some(model) = model.filter(|m| !registered.contains(m)) {
            // A stand-in for the model the example registers first (`az ml model create`).
            let made = azure.run("aml-register", &["model", "--name", model, "--path", &endpoint_file]);
            assert_eq!(made.status.code(), Some(0), "{}", render(&made));
            registered.push(model);
        }
        let endpoint = name_in(&azure.ws.path().join(&endpoint_file), "name");
        let applied = azure.json("aml-deploy", &["apply", "-f", &endpoint_file]);
        assert!(["created", "unchanged"].contains(&applied["outcome"].as_str().unwrap()), "{applied:#}");
        if applied["outcome"] == "created" {
            let sent = last_body(&azure, &format!("/batchEndpoints/{endpoint}"));
            assert_eq!(sent, oracle(&azure, &endpoint_file, &[]), "{endpoint_file}");
        }

        let deployment = name_in(&azure.ws.path().join(&deployment_file), "name");
        let path = format!("/batchEndpoints/{endpoint}/deployments/{deployment}");
        let created = azure.json("aml-deploy", &["apply", "-f", &deployment_file, "-q"]);
        // Two examples share a deployment's name: the second updates it.
        let expected = if applied_before.contains(&path) { "updated" } else { "created" };
        assert_eq!(created["outcome"], expected, "{deployment_file}: {created:#}");
        applied_before.push(path.clone());
        let sent = last_body(&azure, &path);
        let props = &sent["properties"];
        let mut ids = vec![("model", props["model"]["assetId"].as_str().unwrap())];
        ids.push(("compute", props["compute"].as_str().unwrap()));
        if let Some(code) = props["codeConfiguration"]["codeId"].as_str() {
            ids.push(("code", code));
        }
        if let Some(environment) = props["environmentId"].as_str() {
            ids.push(("environment", environment));
        }
        assert_eq!(sent, oracle(&azure, &deployment_file, &ids), "{deployment_file}");
        let puts = azure.requests_containing("PUT", &path);
        let again = azure.json("aml-deploy", &["apply", "-f", &deployment_file, "-q"]);
        assert_eq!(again["outcome"], "unchanged", "{deployment_file}: {again:#}");
        assert_eq!(azure.requests_containing("PUT", &path), puts, "{deployment_file}: a second apply wrote");
        if !defaults.iter().any(|(e, _)| e == &endpoint) {
            defaults.push((endpoint.clone(), deployment.clone()));
        }
    }

    // The first deployment of each endpoint became its default, as locally.
    for (endpoint, default) in &defaults {
        let show = azure.json("aml-deploy", &["show", endpoint]);
        assert_eq!(show["kind"], "batch", "{show:#}");
        assert_eq!(&show["default_deployment"], default, "{show:#}");
    }
    let listed = azure.json("aml-deploy", &["list"]);
    assert_eq!(listed.as_array().unwrap().len(), defaults.len(), "{listed:#}");
    let (endpoint, default) = &defaults[0];
    let refused = azure.run("aml-deploy", &["delete", endpoint, "--deployment", default]);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));
    let deleted = azure.run("aml-deploy", &["delete", endpoint]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
    azure.emulator.assert_clean();
}

/// The diabetes model (trained on a local workspace, registered in Azure ML) applied as the
/// example's batch deployment and invoked over its ten CSV files: the emulator's compute runs
/// the job (the deployment applied on a local workspace from what Azure holds), and
/// `aml-train` reads it back as any Azure ML job.
#[test]
fn invoking_the_diabetes_batch_endpoint_on_azure_runs_a_job_aml_train_reads() {
    let azure = AzureTest::start();
    azure.ws.copy_example("diabetes");
    let local = format!("local:{}", azure.ws.path().join("trained").display());
    let trained = azure
        .command("aml-train")
        .args(["run", "diabetes/job.yml", "--name", "train-1", "-q", "--workspace", &local])
        .output()
        .unwrap();
    assert_eq!(trained.status.code(), Some(0), "{}", render(&trained));
    let model = azure.ws.path().join("trained/jobs/train-1/outputs/model");
    let registered =
        azure.run("aml-register", &["model", "-f", "diabetes/model.yml", "--path", model.to_str().unwrap()]);
    assert_eq!(registered.status.code(), Some(0), "{}", render(&registered));
    for file in ["diabetes/endpoint-batch.yml", "diabetes/deployment-batch.yml"] {
        let applied = azure.run("aml-deploy", &["apply", "-f", file, "-q"]);
        assert_eq!(applied.status.code(), Some(0), "{}", render(&applied));
    }

    let invoked = azure.run(
        "aml-deploy",
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "diabetes/data/batch",
            "-o",
            "json",
            "--expect-rows",
            "50",
            "--expect-columns",
            "file,row,progression",
        ],
    );
    assert_eq!(invoked.status.code(), Some(0), "{}", render(&invoked));
    let job = aml_client::testing::json(&invoked);
    assert_eq!(job["status"], "Completed", "{job:#}");
    // Counted from the output downloaded out of the workspace's storage.
    assert_eq!(job["output_check"]["passed"], true, "{job:#}");
    assert_eq!(job["type"], "pipeline", "{job:#}");
    assert_eq!(job["experiment_name"], "diabetes-batch", "{job:#}");
    let name = job["name"].as_str().unwrap();
    let sent = last_body(&azure, "/batch/diabetes-batch/jobs");
    let uri = sent["properties"]["inputData"]["UriFolder"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("azureml://datastores/workspaceblobstore/paths/LocalUpload/") && uri.ends_with("/"),
        "{sent:#}"
    );

    let shown = azure.json("aml-train", &["show", name]);
    assert_eq!(shown["status"], "Completed", "{shown:#}");
    assert_eq!(shown["outputs"]["score"], format!("azureml://jobs/{name}/outputs/score"), "{shown:#}");
    assert_eq!(shown["steps"][0]["step"], "batchscoring", "{shown:#}");
    let logs = azure.run("aml-train", &["logs", name]);
    let log = String::from_utf8_lossy(&logs.stdout);
    assert!(log.contains("4/4 mini-batches done"), "{}", render(&logs));

    // A setting of the invocation's reaches the job: one file a mini-batch.
    let again = azure.run(
        "aml-deploy",
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "diabetes/data/batch",
            "--set",
            "mini_batch_size=1",
            "--job-name",
            "one-each",
            "-o",
            "json",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", render(&again));
    let sent = last_body(&azure, "/batch/diabetes-batch/jobs");
    assert_eq!(sent["properties"]["miniBatchSize"], 1, "{sent:#}");
    let counted = azure.json(
        "aml-deploy",
        &[
            "invoke",
            "diabetes-batch",
            "--input",
            "diabetes/data/batch",
            "--job-name",
            "elsewhere",
            "--output-path",
            "azureml://datastores/workspaceblobstore/paths/scores/elsewhere",
            "--expect-rows",
            "50",
        ],
    );
    // Counted from where the invocation put it.
    assert_eq!(counted["output_check"]["passed"], true, "{counted:#}");
    let sent = last_body(&azure, "/batch/diabetes-batch/jobs");
    assert_eq!(
        sent["properties"]["outputData"]["score"]["uri"],
        "azureml://datastores/workspaceblobstore/paths/scores/elsewhere",
        "{sent:#}"
    );
    let logs = azure.run("aml-train", &["logs", "one-each"]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("10/10 mini-batches done"), "{}", render(&logs));

    // A file the script fails on fails the job under the deployment's `error_threshold: 0`.
    let input = azure.ws.copy_dir(&azure.ws.path().join("diabetes/data/batch"), "with-bad");
    std::fs::write(input.join("patients-05b.csv"), "age,sex\n50,1\n").unwrap();
    let failed = azure.run("aml-deploy", &["invoke", "diabetes-batch", "--input", "with-bad", "-o", "json"]);
    assert_eq!(failed.status.code(), Some(1), "{}", render(&failed));
    assert_eq!(aml_client::testing::json(&failed)["status"], "Failed", "{}", render(&failed));
    for output in [&invoked, &again, &failed] {
        azure.assert_no_secrets(output);
    }
    azure.emulator.assert_clean();
}
