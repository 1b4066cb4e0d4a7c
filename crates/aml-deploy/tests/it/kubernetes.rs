//! Kubernetes online endpoints on Azure ML: Azure/azureml-examples' own three files
//! (`cli/endpoints/online/kubernetes/`), only their model, code and conda paths pointed at
//! this suite's linear model, applied against the emulator with a Kubernetes compute
//! attached. Their bodies are held to azure-ai-ml's for the same files; what the service
//! would refuse late is refused before anything is written.

use std::path::Path;
use std::process::Output;

use aml_emulator::harness::AzureTest;
use serde_json::{Value, json};

const COMPUTE: &str = "inferencecompute";

fn render(output: &Output) -> String {
    aml_client::testing::render(output)
}

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aml-train/tests/corpus/azureml-examples/cli/endpoints/online/kubernetes")
}

/// The example's files in `kubernetes/`, with their `../model-N/…` paths pointed at the
/// linear fixture (blue serves the first model, green the second); nothing else changed.
fn start() -> AzureTest {
    let azure = AzureTest::start();
    azure.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
    for file in ["kubernetes-endpoint.yml", "kubernetes-blue-deployment.yml", "kubernetes-green-deployment.yml"] {
        let text = std::fs::read_to_string(corpus().join(file)).unwrap();
        let adapted = text
            .replace("../model-1/model/", "../linear/model/")
            .replace("../model-2/model/", "../linear/model-v2/")
            .replace("../model-1/onlinescoring/", "../linear/src/")
            .replace("../model-2/onlinescoring/", "../linear/src/")
            .replace("../model-1/environment/conda.yaml", "../linear/environment/serve.yml")
            .replace("../model-2/environment/conda.yaml", "../linear/environment/serve.yml");
        azure.ws.write(&format!("kubernetes/{file}"), &adapted);
    }
    azure.emulator.attach_compute(
        COMPUTE,
        "Kubernetes",
        json!({"namespace": "azureml", "defaultInstanceType": "defaultinstancetype", "instanceTypes": {
            "small": {"resources": {"requests": {"cpu": "100m", "memory": "500Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
        }}),
    );
    azure
}

/// azure-ai-ml's body for `file` in the test workspace, given the ids it would resolve.
fn oracle(azure: &AzureTest, file: &str, ids: &[(&str, &str)]) -> Value {
    let mut command = std::process::Command::new(aml_client::testing::venv_python());
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/online_body.py"));
    command.arg(azure.ws.path().join(file)).arg("westeurope");
    for (key, id) in ids {
        command.arg(format!("{key}={id}"));
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The model, code and environment ids a deployment body names, for the oracle.
fn deployment_ids(sent: &Value) -> Vec<(&'static str, &str)> {
    let props = &sent["properties"];
    vec![
        ("model", props["model"].as_str().unwrap()),
        ("code", props["codeConfiguration"]["codeId"].as_str().unwrap()),
        ("environment", props["environmentId"].as_str().unwrap()),
    ]
}

fn last_body(azure: &AzureTest, path: &str) -> Value {
    azure.emulator.bodies(path).pop().unwrap_or_else(|| panic!("nothing was sent to {path}"))
}

#[test]
fn the_kubernetes_example_applies_as_azure_ai_ml_sends_it_serves_and_rolls_out() {
    let azure = start();
    let created = azure.json("aml-deploy", &["apply", "-f", "kubernetes/kubernetes-endpoint.yml"]);
    assert_eq!(created["outcome"], "created", "{created:#}");
    assert_eq!(created["endpoint"]["kind"], "kubernetes", "{created:#}");
    assert_eq!(created["endpoint"]["compute"], COMPUTE, "{created:#}");
    let sent = last_body(&azure, "/onlineEndpoints/my-endpoint");
    let compute_id = sent["properties"]["compute"].as_str().unwrap().to_string();
    assert!(compute_id.ends_with(&format!("/workspaces/mlw-test/computes/{COMPUTE}")), "{sent:#}");
    assert_eq!(sent, oracle(&azure, "kubernetes/kubernetes-endpoint.yml", &[("compute", &compute_id)]));
    let puts = azure.requests_containing("PUT", "/onlineEndpoints/my-endpoint");
    let again = azure.json("aml-deploy", &["apply", "-f", "kubernetes/kubernetes-endpoint.yml"]);
    assert_eq!(again["outcome"], "unchanged", "{again:#}");
    assert_eq!(azure.requests_containing("PUT", "/onlineEndpoints/my-endpoint"), puts, "a second apply wrote");

    let blue = azure.run("aml-deploy", &["apply", "-f", "kubernetes/kubernetes-blue-deployment.yml", "-q"]);
    assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
    let sent = last_body(&azure, "/onlineEndpoints/my-endpoint/deployments/blue");
    assert_eq!(sent, oracle(&azure, "kubernetes/kubernetes-blue-deployment.yml", &deployment_ids(&sent)));
    let puts = azure.requests_containing("PUT", "/deployments/blue");
    let unchanged = azure.json("aml-deploy", &["apply", "-f", "kubernetes/kubernetes-blue-deployment.yml", "-q"]);
    assert_eq!(unchanged["outcome"], "unchanged", "{unchanged:#}");
    assert_eq!(azure.requests_containing("PUT", "/deployments/blue"), puts, "a second apply wrote");

    let show = azure.run("aml-deploy", &["show", "my-endpoint"]);
    assert!(
        String::from_utf8_lossy(&show.stdout).contains(&format!("compute  {COMPUTE} (kubernetes)")),
        "{}",
        render(&show)
    );
    let smoke = azure.run("smoke-test", &["run", "--endpoint", "my-endpoint", "--cases", "linear/cases.jsonl"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", render(&smoke));

    // Blue/green: green rolled out in checked steps, its body azure-ai-ml's too.
    let check = "smoke-test run --endpoint my-endpoint --deployment green --cases linear/cases-green.jsonl";
    let tools = aml_client::testing::binary("aml-deploy").parent().unwrap().display().to_string();
    let rollout = azure
        .command("aml-deploy")
        .env("PATH", format!("{tools}:{}", std::env::var("PATH").unwrap_or_default()))
        .args(["rollout", "-f", "kubernetes/kubernetes-green-deployment.yml", "--steps", "50,100"])
        .args(["--interval", "200ms", "--check", check, "-q", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(rollout.status.code(), Some(0), "{}", render(&rollout));
    let sent = last_body(&azure, "/onlineEndpoints/my-endpoint/deployments/green");
    assert_eq!(sent, oracle(&azure, "kubernetes/kubernetes-green-deployment.yml", &deployment_ids(&sent)));
    let shown = azure.json("aml-deploy", &["show", "my-endpoint"]);
    assert_eq!(shown["traffic"], json!({"blue": 0, "green": 100}), "{shown:#}");
    // A traffic change keeps the endpoint Kubernetes: its compute, its identity, no kind.
    let sent = last_body(&azure, "/onlineEndpoints/my-endpoint");
    assert_eq!(sent["properties"]["compute"], Value::String(compute_id));
    assert_eq!(sent["identity"], json!({"type": "SystemAssigned"}));
    assert!(sent.get("kind").is_none(), "{sent:#}");
    azure.emulator.assert_clean();
}

/// Each refusal exits 2 naming the field, and nothing is written in the workspace.
#[test]
fn what_the_service_would_refuse_late_is_refused_before_any_write() {
    let azure = start();
    azure.emulator.attach_compute("old-aks", "AKS", Value::Null);
    let endpoint = std::fs::read_to_string(azure.ws.path().join("kubernetes/kubernetes-endpoint.yml")).unwrap();
    let refuse = |name: &str, text: &str, expected: &[&str]| {
        azure.ws.write(&format!("kubernetes/{name}"), text);
        let writes = azure.requests_containing("PUT", "/");
        let output = azure.run("aml-deploy", &["apply", "-f", &format!("kubernetes/{name}")]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", render(&output));
        for part in expected {
            assert!(render(&output).contains(part), "{name}: `{part}` missing from {}", render(&output));
        }
        assert_eq!(azure.requests_containing("PUT", "/"), writes, "{name}: something was written");
    };
    refuse(
        "missing-compute.yml",
        &endpoint.replace("azureml:inferencecompute", "azureml:nocluster"),
        &["field `compute`", "no compute named `nocluster`"],
    );
    refuse(
        "aks.yml",
        &endpoint.replace("azureml:inferencecompute", "azureml:old-aks"),
        &["field `compute`", "AKS inference cluster (v1)", "attach it as a Kubernetes compute"],
    );
    refuse(
        "mirror.yml",
        &format!("{endpoint}\nmirror_traffic:\n  blue: 10\n"),
        &["field `mirror_traffic`", "cannot mirror"],
    );

    let created = azure.run("aml-deploy", &["apply", "-f", "kubernetes/kubernetes-endpoint.yml"]);
    assert_eq!(created.status.code(), Some(0), "{}", render(&created));
    let blue = std::fs::read_to_string(azure.ws.path().join("kubernetes/kubernetes-blue-deployment.yml")).unwrap();
    refuse(
        "unknown-instance-type.yml",
        &blue.replace("instance_count: 1", "instance_count: 1\ninstance_type: gpu-large"),
        &["instance_type", "`gpu-large` is not an instance type", "small", "defaultinstancetype"],
    );
    refuse(
        "requests-over-limits.yml",
        &blue.replace("memory: \"0.1Gi\"", "memory: \"300Mi\""),
        &["resources.requests.memory", "requests `300Mi` but its limit is `200Mi`"],
    );
    refuse(
        "over-the-instance-type.yml",
        &blue.replace("cpu: \"0.2\"", "cpu: \"4\""),
        &["resources.limits.cpu", "more than instance type `defaultinstancetype` allows (2)"],
    );
    refuse(
        "managed-type.yml",
        &blue
            .replace("type: kubernetes\n", "")
            .split("resources:")
            .next()
            .map(|head| format!("{head}instance_type: Standard_DS3_v2\n"))
            .unwrap(),
        &["field `type`", "runs on Kubernetes compute `inferencecompute`"],
    );
    refuse(
        "registry-model.yml",
        &blue.replace(
            "model:\n  path: ../linear/model/",
            "model: azureml://registries/azureml/models/linear/versions/1",
        ),
        &["field `model`", "in a registry"],
    );
    azure.emulator.assert_clean();
}
