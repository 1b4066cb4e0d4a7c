//! Rollouts decided by metrics: each step's analysis reads the new and old deployments'
//! request records for the step's window; a failing rule rolls back, too few requests is
//! inconclusive and does what `--inconclusive` says.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aml_client::scoring::{Bytes, ScoringClient};
use aml_client::testing::{block_on, json, render};

use crate::deploy::Endpoint;

/// Requests sent through the endpoint, one after another, until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(endpoint: &Endpoint) -> Load {
        let access = endpoint.access();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let client = ScoringClient::new(&access, None, Duration::from_secs(10)).unwrap();
            while !flag.load(Ordering::Relaxed) {
                block_on(client.score(Bytes::from_static(br#"{"data": [[1, 1]]}"#)));
            }
        });
        Load { stop, thread: Some(thread) }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A rollout of green, analysed, in `steps` of `interval`, ready to run.
fn rollout_command(endpoint: &Endpoint, steps: &str, interval: &str, extra: &[&str]) -> std::process::Command {
    let mut command = endpoint.ws.command(&aml_client::testing::binary("aml-deploy"));
    command.args(["rollout", "--endpoint", "linear", "-f", "linear/deployment-green.yml"]);
    command.args(["--steps", steps, "--interval", interval]);
    command.args(["--analysis", "error_rate < 0.01", "--analysis", "new.p99_ms <= old.p99_ms * 10 + 100"]);
    command.args(["-q", "-o", "json"]).args(extra);
    command
}

fn rollout(endpoint: &Endpoint, steps: &str, interval: &str, extra: &[&str]) -> std::process::Output {
    rollout_command(endpoint, steps, interval, extra).output().unwrap()
}

#[test]
fn a_deployment_failing_5_percent_of_requests_rolls_back_at_the_first_step_with_enough_of_them() {
    let endpoint = Endpoint::with_blue();
    let load = Load::start(&endpoint);
    let output = rollout(
        &endpoint,
        "10,50,100",
        "2s",
        &["--set", "environment_variables.FAIL_EVERY=20", "--inconclusive", "pass"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let report = json(&output);
    assert_eq!(report["status"], "rolled_back", "{report}");
    assert_eq!(report["traffic"], serde_json::json!({"blue": 100}), "traffic exactly as before: {report}");
    let decisions: Vec<&serde_json::Value> =
        report["steps"].as_array().unwrap().iter().flat_map(|s| s["analysis"].as_array().unwrap().iter()).collect();
    let (last, before) = decisions.split_last().unwrap();
    assert_eq!(last["verdict"], "failed", "{report}");
    assert!(last["new_requests"].as_u64().unwrap() >= 50, "{last}");
    let error_rate = last["rows"][0]["observed"]["new.error_rate"].as_f64().unwrap();
    assert!((0.03..=0.07).contains(&error_rate), "one in 20 fails: {error_rate}");
    assert_eq!(last["rows"][0]["verdict"], "fail");
    for earlier in before {
        assert_eq!(earlier["verdict"], "inconclusive", "steps before had under 50 requests: {earlier}");
        assert!(earlier["new_requests"].as_u64().unwrap() < 50, "{earlier}");
    }
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the analysis failed with green at"),
        "{}",
        render(&output)
    );
    // Each analysis is in the model's audit trail, as a gate's decision is.
    let history = json(
        &endpoint.ws.run(&aml_client::testing::binary("approval-gate"), &["history", "linear-green:1", "-o", "json"]),
    );
    let analyses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "rollout-analysis")
        .map(|e| e["decision"].as_str().unwrap())
        .collect();
    assert_eq!(analyses.last(), Some(&"failed"), "{history}");
    assert_eq!(analyses.len(), decisions.len(), "{history}");

    // The same deployment without the fault reaches 100%; in GitHub Actions the step
    // summary carries each step's decision table and a chart.
    let summary = endpoint.ws.path().join("summary.md");
    let output = rollout_command(&endpoint, "10,50,100", "2s", &["--inconclusive", "pass"])
        .env("AML_CI", "github")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", endpoint.ws.path().join("outputs.txt"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    let report = json(&output);
    assert_eq!(report["traffic"], serde_json::json!({"blue": 0, "green": 100}), "{report}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("| 10% (") && summary.contains("| `error_rate < 0.01` |"), "{summary}");
    assert!(summary.contains("```mermaid\nxychart-beta"), "{summary}");
    drop(load);
}

#[test]
fn with_no_traffic_an_analysis_is_inconclusive_and_does_what_the_flag_says() {
    let endpoint = Endpoint::with_blue();
    let output = rollout(&endpoint, "10,100", "200ms", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let report = json(&output);
    assert_eq!(
        (report["status"].as_str(), report["steps"][0]["analysis"][0]["verdict"].as_str()),
        (Some("rolled_back"), Some("inconclusive"))
    );
    assert_eq!(report["traffic"], serde_json::json!({"blue": 100}));

    let output = rollout(&endpoint, "10,100", "200ms", &["--inconclusive", "pause", "--approvers", "ml-lead"]);
    assert_eq!(output.status.code(), Some(4), "{}", render(&output));
    let report = json(&output);
    assert_eq!(report["status"], "paused");
    // A person decides: the pause filed an approval request approval-gate sees and closes.
    let id = report["approval_request"].as_str().unwrap().to_string();
    let gate = |args: &[&str]| endpoint.ws.run(&aml_client::testing::binary("approval-gate"), args);
    let pending = json(&gate(&["list", "--state", "pending", "-o", "json"]));
    assert_eq!(pending[0]["id"], id.as_str(), "{pending}");
    assert_eq!(pending[0]["model"], "linear-green:1", "{pending}");
    let approved = gate(&["approve", &id, "--by", "ml-lead"]);
    assert_eq!(approved.status.code(), Some(0), "{}", render(&approved));
    assert_eq!(report["traffic"], serde_json::json!({"blue": 90, "green": 10}), "left at the step: {report}");
    // The rollout's journal stays with the endpoint: `--resume` goes on from 10%.

    let output = rollout(&endpoint, "10,100", "200ms", &["--resume", "--inconclusive", "pass"]);
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    assert_eq!(json(&output)["traffic"], serde_json::json!({"blue": 0, "green": 100}));
}

#[test]
fn a_rule_naming_no_metric_is_refused_before_anything_is_deployed() {
    let endpoint = Endpoint::with_blue();
    let output = rollout(&endpoint, "10,100", "200ms", &["--approvers", "ml-lead"]);
    assert_eq!(output.status.code(), Some(2), "approvers without a pause: {}", render(&output));
    for (rule, says) in [("error_rat < 0.01", "did you mean `error_rate`?"), ("p99_ms <", "column 9")] {
        let output = endpoint.deploy(&[
            "rollout",
            "--endpoint",
            "linear",
            "-f",
            "linear/deployment-green.yml",
            "--analysis",
            rule,
        ]);
        assert_eq!(output.status.code(), Some(2), "{}", render(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains(says), "{rule}: {}", render(&output));
    }
    let names: Vec<String> = endpoint.show()["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["blue"]);
}

/// On Azure ML the figures come from Azure Monitor (the emulator answers its metrics API from
/// its own router's records, per minute, held to azure-mgmt-monitor's models), and a rollout
/// analysed by them behaves as locally.
#[test]
fn on_azure_metrics_come_from_azure_monitor_and_an_analysed_rollout_rolls_back_a_failing_deployment() {
    let azure = aml_emulator::harness::AzureTest::start();
    azure.ws.copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linear"), "linear");
    azure.json("aml-deploy", &["apply", "-f", "linear/endpoint.yml"]);
    let blue = azure.run("aml-deploy", &["apply", "-f", "linear/deployment-blue.yml", "-q"]);
    assert_eq!(blue.status.code(), Some(0), "{}", render(&blue));
    let smoke =
        azure.run("smoke-test", &["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl", "--requests", "30"]);
    assert_eq!(smoke.status.code(), Some(0), "{}", render(&smoke));
    let metrics = azure.json("aml-deploy", &["metrics", "linear", "--since", "10m"]);
    let blue = &metrics["deployments"][0];
    assert_eq!((blue["deployment"].as_str(), blue["requests"].as_u64()), (Some("blue"), Some(30)), "{metrics:#}");
    assert_eq!(blue["errors"], 0, "{metrics:#}");
    assert!(blue["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{metrics:#}");
    assert!(metrics["note"].as_str().unwrap().contains("Azure Monitor"), "{metrics:#}");
    let text = azure.run("aml-deploy", &["metrics", "linear", "--deployment", "blue"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Azure Monitor"), "{}", render(&text));

    let start_load = || {
        azure
            .command("smoke-test")
            .args(["run", "--endpoint", "linear", "--cases", "linear/cases.jsonl", "--duration", "300s"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut load = start_load();
    let output = azure
        .command("aml-deploy")
        .args(["rollout", "--endpoint", "linear", "-f", "linear/deployment-green.yml", "--steps", "10,50,100"])
        .args(["--interval", "3s", "--analysis", "error_rate < 0.01", "--inconclusive", "pass"])
        .args(["--set", "environment_variables.FAIL_EVERY=20", "-q", "-o", "json"])
        .output()
        .unwrap();
    let _ = load.kill();
    let _ = load.wait();
    azure.assert_no_secrets(&output);
    assert_eq!(output.status.code(), Some(1), "{}", render(&output));
    let report = json(&output);
    assert_eq!(report["status"], "rolled_back", "{report}");
    assert_eq!(report["traffic"], serde_json::json!({"blue": 100}), "traffic exactly as before: {report}");
    let last =
        report["steps"].as_array().unwrap().iter().flat_map(|s| s["analysis"].as_array().unwrap()).last().unwrap();
    assert_eq!(last["verdict"], "failed", "{report}");
    assert!(last["new_requests"].as_u64().unwrap() >= 50, "{last}");

    // Without the fault it reaches 100%: as `teal`, since Azure Monitor's minutes still hold
    // the faulty green's errors.
    let mut load = start_load();
    let output = azure
        .command("aml-deploy")
        .args(["rollout", "--endpoint", "linear", "-f", "linear/deployment-green.yml", "--set", "name=teal"])
        .args(["--steps", "50,100"])
        // Long enough for the 50 requests an analysis needs even on a loaded machine (45 in
        // 3 s were seen), where an inconclusive step would roll back.
        .args(["--interval", "6s", "--analysis", "error_rate < 0.01", "--inconclusive", "fail", "-q", "-o", "json"])
        .output()
        .unwrap();
    let _ = load.kill();
    let _ = load.wait();
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    assert_eq!(json(&output)["traffic"], serde_json::json!({"blue": 0, "teal": 100}));
    azure.emulator.assert_clean();
}
