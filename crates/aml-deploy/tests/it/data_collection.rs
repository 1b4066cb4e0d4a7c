//! Model data collection on Azure ML: Azure/azureml-examples' data-collector deployments
//! (`cli/endpoints/online/data-collector/`), their model, code and endpoint pointed at this
//! suite's linear fixture, applied against the emulator. Each collection's data asset is
//! registered first, as azure-ai-ml registers it, and the body is azure-ai-ml's.

use std::path::Path;

use aml_emulator::harness::AzureTest;
use serde_json::Value;

fn corpus(file: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aml-train/tests/corpus/azureml-examples/cli/endpoints/online/data-collector");
    std::fs::read_to_string(root.join(file)).unwrap()
}

/// The example's file with its endpoint, model, code and conda file pointed at the linear
/// fixture; the data collector as written.
fn adapted(text: &str) -> String {
    text.replace("endpoint_name: my_endpoint", "endpoint_name: linear")
        .replace("model: azureml:iris_mlflow_model@latest", "model:\n  path: ../linear/model")
        .replace("conda_file: model/conda.yaml", "conda_file: ../linear/environment/serve.yml")
        .replace("code: scripts", "code: ../linear/src")
}

fn oracle(azure: &AzureTest, file: &str, sent: &Value) -> Value {
    let props = &sent["properties"];
    let mut command = std::process::Command::new(aml_client::testing::venv_python());
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/online_body.py"));
    command.arg(azure.ws.path().join(file)).arg("westeurope");
    command.arg(format!("model={}", props["model"].as_str().unwrap()));
    command.arg(format!("code={}", props["codeConfiguration"]["codeId"].as_str().unwrap()));
    command.arg(format!("environment={}", props["environmentId"].as_str().unwrap()));
    for (name, collection) in props["dataCollector"]["collections"].as_object().unwrap() {
        command.arg(format!("data:{name}={}", collection["dataId"].as_str().unwrap()));
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn each_collection_gets_its_data_asset_and_the_body_is_azure_ai_ml_s() {
    let azure = AzureTest::start();
    azure.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
    let endpoint = azure.run("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(endpoint.status.code(), Some(0), "{}", aml_client::testing::render(&endpoint));
    let file = "collector/blue.yml";
    azure.ws.write(file, &adapted(&corpus("workspace-blob-storage/workspace-blob-storage-custom2.YAML")));
    let applied = azure.run("aml-deploy", &["apply", "-f", file, "-q"]);
    assert_eq!(applied.status.code(), Some(0), "{}", aml_client::testing::render(&applied));

    let sent = azure.emulator.bodies("/onlineEndpoints/linear/deployments/blue").pop().unwrap();
    for collection in ["request", "response", "model_inputs", "model_outputs"] {
        let data = format!("/data/linear-blue-{collection}/versions/1");
        assert_eq!(azure.requests_containing("PUT", &data), 1, "{collection}'s data asset registered once");
        let id = sent["properties"]["dataCollector"]["collections"][collection]["dataId"].as_str().unwrap();
        assert!(id.ends_with(&data), "{id}");
        let asset = azure.emulator.bodies(&data).pop().unwrap();
        assert_eq!(
            asset["properties"]["dataUri"],
            format!("azureml://datastores/workspaceblobstore/paths/modelDataCollector/linear/blue/{collection}")
        );
        assert_eq!(asset["properties"]["dataType"], "uri_folder");
    }
    assert_eq!(sent, oracle(&azure, file, &sent));

    // What the deployment collects lands in the blob store, where `collected` reads it.
    let smoke = azure
        .run("smoke-test", &["run", "--endpoint", "linear", "--deployment", "blue", "--cases", "linear/cases.jsonl"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", aml_client::testing::render(&smoke));
    let collected =
        |collection: &str| azure.json("aml-deploy", &["collected", "linear", "blue", collection, "--since", "10m"]);
    let start = std::time::Instant::now();
    // The files go up as they grow, each on its own tick.
    while collected("response")["count"] != 2 || collected("request")["count"] != 2 {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "{:#}", collected("response"));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let requests = collected("request");
    for line in requests["lines"].as_array().unwrap() {
        assert_eq!(line["type"], "azureml.inference.request");
        assert_eq!(line["path"], "/score");
    }

    // Applied again: nothing written, neither the deployment nor its data assets.
    let writes = |azure: &AzureTest| {
        (azure.requests_containing("PUT", "/deployments/blue"), azure.requests_containing("PUT", "/data/"))
    };
    let before = writes(&azure);
    let again = azure.json("aml-deploy", &["apply", "-f", file, "-q"]);
    assert_eq!(again["outcome"], "unchanged", "{again:#}");
    assert_eq!(writes(&azure), before, "a second apply wrote");
    azure.emulator.assert_clean();
}

#[test]
fn a_collector_azure_ai_ml_refuses_is_refused_naming_the_field_before_any_write() {
    let azure = AzureTest::start();
    azure.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
    let endpoint = azure.run("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(endpoint.status.code(), Some(0), "{}", aml_client::testing::render(&endpoint));
    let writes = azure.requests_containing("PUT", "");
    let custom = adapted(&corpus("custom-blob-storage/custom-blob-storage.YAML"));
    let base = adapted(&corpus("workspace-blob-storage/workspace-blob-storage-custom2.YAML"));
    let cases = [
        // The example itself: azure-ai-ml reads `version: 1` as "Not a valid string".
        (custom.clone(), "version"),
        (
            base.replace("enabled: 'True' # <'True', 'False'>\n      response", "enabled: true\n      response"),
            "enabled",
        ),
        (base.replace("sampling_rate: 1.0", "sampling_rate: 1.5"), "data_collector.sampling_rate"),
        (base.replace("rolling_rate: hour", "rolling_rate: weekly"), "data_collector.rolling_rate"),
        (
            custom.replace("name: my_model_inputs_data_asset", "name: ../escape").replace("version: 1", "version: '1'"),
            "data.name",
        ),
    ];
    for (text, field) in cases {
        azure.ws.write("collector/bad.yml", &text);
        let refused = azure.run("aml-deploy", &["apply", "-f", "collector/bad.yml"]);
        assert_eq!(refused.status.code(), Some(2), "{field}: {}", aml_client::testing::render(&refused));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(field),
            "{field}: {}",
            aml_client::testing::render(&refused)
        );
    }
    assert_eq!(azure.requests_containing("PUT", ""), writes, "a refused file wrote");
}
