//! aml-deploy and smoke-test on an Azure ML workspace: the real binaries against the
//! emulator (ARM over TLS, long-running operations, every body held to the official
//! models) and Azurite. The emulator's compute really deploys (with `aml-deploy` on its own
//! local workspace), and its scoring URI forwards there, so the same checks pass as locally.

use std::path::Path;
use std::process::Output;

use aml_emulator::harness::AzureTest;
use serde_json::json;

fn start() -> AzureTest {
    let azure = AzureTest::start();
    azure.ws.copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
    azure
}

fn render(output: &Output) -> String {
    aml_client::testing::render(output)
}

#[test]
fn endpoints_deploy_serve_split_traffic_and_delete_on_azure() {
    let azure = start();
    // Slow operations, and a poll of one throttled: both waited out.
    azure.emulator.set_operation_polls(2);
    azure.emulator.inject("GET", "/mfeOperationsStatus/", aml_emulator::Fault::Status(429, Some(1)), 1);
    let created = azure.json("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(created["outcome"], "created", "{created:#}");
    let again = azure.json("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    assert_eq!(again["outcome"], "unchanged", "{again:#}");

    let blue = azure.run("aml-deploy", &["apply", "-f", "linear/deployment-blue.yml", "-q"]);
    assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
    let log = String::from_utf8_lossy(&blue.stderr);
    for expected in [
        "deployment blue of endpoint linear: creating",
        "deployment blue of endpoint linear: Succeeded",
        "gets 100% of its traffic",
    ] {
        assert!(log.contains(expected), "`{expected}` missing from:\n{log}");
    }
    let show = azure.json("aml-deploy", &["show", "linear"]);
    assert_eq!(show["traffic"], json!({"blue": 100}));
    assert_eq!(show["deployments"][0]["name"], "blue");
    assert_eq!(show["deployments"][0]["state"], "Succeeded");
    assert_eq!(show["deployments"][0]["model"], "linear-blue:1");
    assert_eq!(show["provisioning_state"], "Succeeded");
    assert!(show["scoring_uri"].as_str().unwrap().starts_with("https://127.0.0.1:"), "{show:#}");

    // smoke-test finds the scoring URI and key in Azure ML and scores over TLS.
    let smoke = azure.run("smoke-test", &["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", render(&smoke));
    let unchanged = azure.json("aml-deploy", &["apply", "-f", "linear/deployment-blue.yml", "-q"]);
    assert_eq!(unchanged["outcome"], "unchanged", "{unchanged:#}");

    // A second deployment gets no traffic until told; pinned by header it answers alone.
    let green = azure.run("aml-deploy", &["apply", "-f", "linear/deployment-green.yml", "-q"]);
    assert_eq!(green.status.code(), Some(0), "{}", render(&green));
    assert_eq!(azure.json("aml-deploy", &["show", "linear"])["traffic"], json!({"blue": 100}));
    let pinned = azure.run(
        "smoke-test",
        &["run", "--endpoint", "linear", "--deployment", "green", "--cases", "linear/cases-green.jsonl"],
    );
    assert_eq!(pinned.status.code(), Some(0), "{}", render(&pinned));
    let split = azure.json("aml-deploy", &["traffic", "linear", "blue=50", "green=50"]);
    assert_eq!(split["traffic"], json!({"blue": 50, "green": 50}));
    let refused = azure.run("aml-deploy", &["traffic", "linear", "blue=50", "teal=50"]);
    assert_eq!(refused.status.code(), Some(2), "{}", render(&refused));

    let logs = azure.run("aml-deploy", &["logs", "linear", "blue"]);
    assert_eq!(logs.status.code(), Some(0), "{}", render(&logs));
    assert!(!logs.stdout.is_empty(), "getLogs gave nothing: {}", render(&logs));

    // A deployment with traffic is not deleted; without, it is.
    let busy = azure.run("aml-deploy", &["delete", "linear", "--deployment", "green"]);
    assert_eq!(busy.status.code(), Some(2), "{}", render(&busy));
    azure.json("aml-deploy", &["traffic", "linear", "blue=100", "green=0"]);
    let deleted = azure.run("aml-deploy", &["delete", "linear", "--deployment", "green"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", render(&deleted));
    let remaining: Vec<String> = azure.json("aml-deploy", &["show", "linear"])["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(remaining, ["blue"]);
    let gone = azure.run("aml-deploy", &["delete", "linear"]);
    assert_eq!(gone.status.code(), Some(0), "{}", render(&gone));
    assert!(azure.emulator.endpoints().is_empty());
    let polls = azure.requests_containing("GET", "/mfeOperationsStatus/");
    assert!(polls >= 4, "operations were not followed: {polls} polls");
    azure.emulator.assert_clean();
}

#[test]
fn a_deployment_that_fails_exits_1_with_its_log() {
    let azure = start();
    azure.json("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    let broken = azure.run("aml-deploy", &["apply", "-f", "linear/deployment-broken.yml", "-q"]);
    assert_eq!(broken.status.code(), Some(1), "{}", render(&broken));
    let text = render(&broken);
    assert!(text.contains("init failed on purpose (FAIL_INIT is set)"), "the log is not shown: {text}");
    assert!(text.contains("aml-deploy logs linear broken"), "{text}");
    let show = azure.json("aml-deploy", &["show", "linear"]);
    assert_eq!(show["deployments"][0]["state"], "Failed");
    assert_eq!(show["traffic"], json!({}));
    azure.emulator.assert_clean();
}

#[test]
fn a_rollout_moves_traffic_in_checked_steps_on_azure() {
    let azure = start();
    azure.json("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    let blue = azure.run("aml-deploy", &["apply", "-f", "linear/deployment-blue.yml", "-q"]);
    assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
    let check = "smoke-test run --endpoint linear --deployment green --cases linear/cases-green.jsonl";
    let tools = aml_client::testing::binary("aml-deploy").parent().unwrap().display().to_string();
    let output = azure
        .command("aml-deploy")
        .env("PATH", format!("{tools}:{}", std::env::var("PATH").unwrap_or_default()))
        .args([
            "rollout",
            "--endpoint",
            "linear",
            "-f",
            "linear/deployment-green.yml",
            "--steps",
            "50,100",
            "--interval",
            "200ms",
            "--check",
            check,
            "-q",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    azure.assert_no_secrets(&output);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let rollout: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rollout["status"], "completed");
    assert_eq!(rollout["traffic"], json!({"blue": 0, "green": 100}));
    let steps: Vec<(u64, bool)> = rollout["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["weight"].as_u64().unwrap(), s["check"]["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(steps, [(50, true), (100, true)]);
    assert_eq!(azure.emulator.endpoints()["linear"]["properties"]["traffic"], json!({"blue": 0, "green": 100}));
    azure.emulator.assert_clean();
}
