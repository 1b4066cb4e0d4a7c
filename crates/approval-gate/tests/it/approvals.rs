//! Manual approvals through the real binary, across processes sharing one workspace: who
//! may approve, self-approval, waiting, expiry, and racing decisions of which exactly one
//! lands. Also the endpoint champion: the model a real endpoint serves most, after a rollout.

use std::process::{Command, Stdio};

use aml_client::testing::{TestWorkspace, binary, json, render, repo_root};

fn fixture_with_model() -> TestWorkspace {
    let ws = TestWorkspace::new();
    ws.write("model/weights.json", "{\"rmse\": 55.0, \"r2\": 0.4}");
    let out = ws.run(&binary("aml-register"), &["model", "--name", "scored", "--path", "model"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    ws
}

fn gate(ws: &TestWorkspace, args: &[&str]) -> std::process::Output {
    ws.run(&binary("approval-gate"), args)
}

fn request(ws: &TestWorkspace, extra: &[&str]) -> String {
    let out = gate(
        ws,
        &[
            &[
                "request",
                "--model",
                "scored:1",
                "--stage",
                "production",
                "--approvers",
                "ml-lead,qa-lead",
                "--requester",
                "ml-lead",
            ],
            extra,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 10, "the id is printed alone on stdout: {id:?}");
    id
}

#[test]
fn a_listed_approver_approves_and_wait_returns_0() {
    let ws = fixture_with_model();
    let id = request(&ws, &[]);
    // `wait` in one process, the approver in another, a moment later.
    let waiter = ws
        .command(&binary("approval-gate"))
        .args(["wait", &id, "--timeout", "60s", "--interval", "100ms", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The approver acts once the waiter says it is waiting (its stderr, read as it comes).
    let mut waiter = waiter;
    let mut said = std::io::BufReader::new(waiter.stderr.take().unwrap());
    let mut told = String::new();
    while !told.contains("waiting up to") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut said, &mut line).unwrap() > 0, "the waiter ended first: {told}");
        told.push_str(&line);
    }
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut said, &mut rest).unwrap();
        rest
    });
    let approve = gate(&ws, &["approve", &id, "--by", "qa-lead", "--comment", "looks good"]);
    assert_eq!(approve.status.code(), Some(0), "{}", render(&approve));
    let mut waited = waiter.wait_with_output().unwrap();
    waited.stderr = format!("{told}{}", rest.join().unwrap()).into_bytes();
    assert_eq!(waited.status.code(), Some(0), "{}", render(&waited));
    let request = json(&waited);
    assert_eq!(
        (request["state"].as_str(), request["decided_by"].as_str(), request["comment"].as_str()),
        (Some("approved"), Some("qa-lead"), Some("looks good"))
    );
    assert!(
        String::from_utf8_lossy(&waited.stderr)
            .contains("waiting up to 60s for ml-lead or qa-lead to approve scored:1 for production")
    );
    // On the model version, and in its history.
    let shown = json(&ws.run(&binary("aml-register"), &["show", "scored:1", "-o", "json"]));
    assert_eq!(
        (shown["tags"]["approval.production"].as_str(), shown["tags"]["approval.production.by"].as_str()),
        (Some("approved"), Some("qa-lead"))
    );
    let history = json(&gate(&ws, &["history", "scored:1", "-o", "json"]));
    let kinds: Vec<(&str, &str)> =
        history.as_array().unwrap().iter().map(|e| (e["kind"].as_str().unwrap(), e["by"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("approval-requested", "ml-lead"), ("approved", "qa-lead")]);
}

#[test]
fn unlisted_people_and_the_requester_cannot_approve() {
    let ws = fixture_with_model();
    let id = request(&ws, &[]);
    let out = gate(&ws, &["approve", &id, "--by", "mallory"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&out).replace(&id, "[ID]"), @r"
        exit_code: 2
        ----- stdout -----
        ----- stderr -----
        error: `mallory` is not an approver of request `[ID]`
        hint: its approvers are: ml-lead, qa-lead
        ")
    });
    let out = gate(&ws, &["approve", &id, "--by", "ml-lead"]);
    ws.settings().bind(|| {
        insta::assert_snapshot!(render(&out).replace(&id, "[ID]"), @r"
        exit_code: 2
        ----- stdout -----
        ----- stderr -----
        error: `ml-lead` asked for request `[ID]` and cannot approve it too
        hint: another approver must: qa-lead
        ")
    });
    // Neither attempt changed anything.
    assert_eq!(json(&gate(&ws, &["list", "-o", "json"]))[0]["state"], "pending");
    // The requester may withdraw it.
    let out = gate(&ws, &["reject", &id, "--by", "ml-lead", "--comment", "wrong version"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    // Allowed explicitly, the requester may approve their own.
    let own = request(&ws, &["--allow-self-approval"]);
    let out = gate(&ws, &["approve", &own, "--by", "ml-lead"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    // A rejected request makes `wait` exit 1.
    let out = gate(&ws, &["wait", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", render(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rejected by ml-lead"));
}

#[test]
fn no_decision_in_time_expires_the_request() {
    let ws = fixture_with_model();
    let id = request(&ws, &[]);
    let out = gate(&ws, &["wait", &id, "--timeout", "500ms", "--interval", "100ms", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", render(&out));
    assert_eq!(json(&out)["state"], "expired");
    // Expired is final: a late approval is refused and changes nothing.
    let late = gate(&ws, &["approve", &id, "--by", "qa-lead"]);
    assert_eq!(late.status.code(), Some(2));
    assert!(render(&late).contains(&format!("request `{id}` is already expired")), "{}", render(&late));
    let shown = json(&ws.run(&binary("aml-register"), &["show", "scored:1", "-o", "json"]));
    assert_eq!(shown["tags"]["approval.production"], "expired");
}

#[test]
fn racing_approve_and_reject_exactly_one_wins() {
    let ws = fixture_with_model();
    for round in 0..3 {
        let id = request(&ws, &[]);
        // Eight processes at once, half approving, half rejecting.
        let children: Vec<_> = (0..8)
            .map(|i| {
                let verb = if i % 2 == 0 { "approve" } else { "reject" };
                let mut command: Command = ws.command(&binary("approval-gate"));
                command
                    .args([verb, &id, "--by", "qa-lead", "--comment", &format!("process {i}")])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                (verb, command.spawn().unwrap())
            })
            .collect();
        let results: Vec<(&str, std::process::Output)> =
            children.into_iter().map(|(verb, child)| (verb, child.wait_with_output().unwrap())).collect();
        let winners: Vec<&(&str, std::process::Output)> =
            results.iter().filter(|(_, out)| out.status.code() == Some(0)).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {:?}",
            results.iter().map(|(v, o)| (v, o.status.code())).collect::<Vec<_>>()
        );
        assert!(results.iter().all(|(_, out)| matches!(out.status.code(), Some(0) | Some(2))));
        let state = json(&gate(&ws, &["list", "-o", "json"]))[0]["state"].as_str().unwrap().to_string();
        assert_eq!(state, if winners[0].0 == "approve" { "approved" } else { "rejected" });
        // One decision in the audit trail for this request, not eight.
        let history = json(&gate(&ws, &["history", "scored:1", "-o", "json"]));
        let decisions = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["request"] == id.as_str() && e["kind"] != "approval-requested")
            .count();
        assert_eq!(decisions, 1);
    }
}

#[test]
fn the_endpoint_champion_is_the_model_taking_most_traffic_now() {
    let ws = TestWorkspace::new();
    ws.copy_dir(&repo_root().join("crates/approval-gate/tests/fixtures/scored"), "scored");
    for (job, rmse) in [("one", "55"), ("two", "52"), ("three", "50")] {
        let rmse = format!("inputs.rmse={rmse}");
        let out = ws.run(&binary("aml-train"), &["run", "scored/job.yml", "--name", job, "--set", &rmse, "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
        let out = ws.run(&binary("aml-register"), &["model", "--name", "scored", "--job", job]);
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    }
    for file in ["scored/serve/endpoint.yml", "scored/serve/deployment-blue.yml"] {
        let out = ws.run(&binary("aml-deploy"), &["apply", "-f", file, "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    }
    let _cleanup = Delete(&ws);
    let champion = |ws: &TestWorkspace| -> serde_json::Value {
        let out = gate(
            ws,
            &[
                "check",
                "--candidate",
                "scored:3",
                "--champion",
                "endpoint:scored",
                "--metric",
                "rmse:lower",
                "-o",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", render(&out));
        json(&out)["champion"].clone()
    };
    let first = champion(&ws);
    assert_eq!(first["reference"], "scored:1");
    assert_eq!(first["serving"], serde_json::json!({"endpoint": "scored", "deployment": "blue", "traffic": 100}));
    // Roll green (scored:2) out: it takes all the traffic, and becomes the champion.
    let out = ws.run(
        &binary("aml-deploy"),
        &[
            "rollout",
            "--endpoint",
            "scored",
            "-f",
            "scored/serve/deployment-green.yml",
            "--steps",
            "30,100",
            "--interval",
            "0s",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let after = champion(&ws);
    assert_eq!(
        (after["reference"].as_str(), after["serving"]["deployment"].as_str()),
        (Some("scored:2"), Some("green"))
    );
    assert_eq!(after["metrics"]["rmse"], 52.0);
    // Split 70/30 back towards blue: blue serves most, so blue's model is the champion again.
    let out = ws.run(&binary("aml-deploy"), &["traffic", "scored", "blue=70", "green=30"]);
    assert_eq!(out.status.code(), Some(0), "{}", render(&out));
    let split = champion(&ws);
    assert_eq!((split["reference"].as_str(), split["serving"]["traffic"].as_u64()), (Some("scored:1"), Some(70)));
}

/// Stops the endpoint's processes however the test ends.
struct Delete<'a>(&'a TestWorkspace);

impl Drop for Delete<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&binary("aml-deploy"), &["delete", "scored"]);
    }
}
