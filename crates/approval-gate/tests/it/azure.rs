//! approval-gate on an Azure ML workspace: jobs really trained by the emulator's compute,
//! models registered from their outputs, a gate decided over their metrics, and approvals
//! raced by several processes, with the audit trail kept in the workspace's datastore.

use std::process::Stdio;

use aml_client::testing::{render, repo_root};
use aml_emulator::harness::AzureTest;
use serde_json::Value;

fn start() -> AzureTest {
    let azure = AzureTest::start();
    azure.ws.copy_dir(&repo_root().join("crates/approval-gate/tests/fixtures/scored"), "scored");
    azure
}

/// Train on Azure with these metrics and register the job's output; returns the version.
fn model(azure: &AzureTest, job: &str, rmse: f64, r2: f64) -> String {
    let (rmse, r2) = (format!("inputs.rmse={rmse}"), format!("inputs.r2={r2}"));
    let trained = azure.run("aml-train", &["run", "scored/job.yml", "--name", job, "--set", &rmse, "--set", &r2, "-q"]);
    assert_eq!(trained.status.code(), Some(0), "{}", render(&trained));
    azure.json("aml-register", &["model", "--name", "scored", "--job", job])["version"].as_str().unwrap().to_string()
}

#[test]
fn a_gate_and_raced_approvals_are_decided_and_kept_on_azure() {
    let azure = start();
    model(&azure, "champion", 55.0, 0.40);
    model(&azure, "better", 50.0, 0.45);
    let gate = azure.run(
        "approval-gate",
        &[
            "check",
            "--candidate",
            "scored:2",
            "--champion",
            "scored:1",
            "--rule",
            "candidate.rmse <= champion.rmse",
            "-o",
            "json",
        ],
    );
    assert_eq!(gate.status.code(), Some(0), "{}", render(&gate));
    let decided: Value = serde_json::from_slice(&gate.stdout).unwrap();
    assert_eq!(decided["decision"], "pass", "{decided:#}");
    let worse = azure.run(
        "approval-gate",
        &["check", "--candidate", "scored:1", "--champion", "scored:2", "--rule", "candidate.rmse <= champion.rmse"],
    );
    assert_eq!(worse.status.code(), Some(1), "{}", render(&worse));

    // A request, then eight processes deciding at once: exactly one wins.
    let asked = azure.run(
        "approval-gate",
        &[
            "request",
            "--model",
            "scored:2",
            "--stage",
            "production",
            "--approvers",
            "ml-lead,qa-lead",
            "--requester",
            "ml-lead",
        ],
    );
    assert_eq!(asked.status.code(), Some(0), "{}", render(&asked));
    let id = String::from_utf8(asked.stdout).unwrap().trim().to_string();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let verb = if i % 2 == 0 { "approve" } else { "reject" };
            let child = azure
                .command("approval-gate")
                .args([verb, &id, "--by", "qa-lead", "--comment", &format!("process {i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (verb, child)
        })
        .collect();
    let results: Vec<(&str, std::process::Output)> =
        children.into_iter().map(|(verb, child)| (verb, child.wait_with_output().unwrap())).collect();
    for (_, output) in &results {
        azure.assert_no_secrets(output);
    }
    let winners: Vec<&str> =
        results.iter().filter(|(_, o)| o.status.code() == Some(0)).map(|(verb, _)| *verb).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        results
            .iter()
            .map(|(v, o)| (v, o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()))
            .collect::<Vec<_>>()
    );
    let state = if winners[0] == "approve" { "approved" } else { "rejected" };
    assert_eq!(azure.json("approval-gate", &["list"])[0]["state"], state);

    // The trail, in order, where `history` and `aml-register show` read it.
    let history = azure.json("approval-gate", &["history", "scored:2"]);
    let kinds: Vec<&str> = history.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["gate", "approval-requested", state], "{history:#}");
    let shown = azure.json("aml-register", &["show", "scored:2"]);
    assert_eq!(shown["tags"]["approval.production"], state);
    assert_eq!(shown["decisions"].as_array().unwrap().len(), 3, "{shown:#}");
    azure.emulator.assert_clean();
}
