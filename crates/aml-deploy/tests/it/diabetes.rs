//! The worked example end to end: train two models, deploy the first (blue), prove it with
//! the example's smoke cases, then roll out the second (green) blue/green with a smoke test
//! between traffic steps. Every file used is the one in examples/diabetes.

use aml_client::testing::{TestWorkspace, binary, json, render};

struct Cleanup<'a>(&'a TestWorkspace);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&binary("aml-deploy"), &["delete", "diabetes"]);
    }
}

fn ok(output: std::process::Output) -> std::process::Output {
    assert_eq!(output.status.code(), Some(0), "{}", render(&output));
    output
}

#[test]
fn the_example_trains_deploys_and_rolls_out() {
    let ws = TestWorkspace::new();
    ws.copy_example("diabetes");
    let _cleanup = Cleanup(&ws);
    for (name, alpha) in [("train-1", "0.1"), ("train-2", "0.5")] {
        ok(ws.run(
            &binary("aml-train"),
            &["run", "diabetes/job.yml", "--name", name, "--set", &format!("inputs.alpha={alpha}"), "-q"],
        ));
        ok(ws.run(&binary("aml-register"), &["model", "-f", "diabetes/model.yml", "--job", name]));
    }
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/endpoint.yml"]));
    ok(ws.run(&binary("aml-deploy"), &["apply", "-f", "diabetes/deployment-blue.yml", "-q"]));
    let smoke = ok(ws.run(
        &binary("smoke-test"),
        &["run", "--endpoint", "diabetes", "--cases", "diabetes/smoke.jsonl", "-o", "json"],
    ));
    assert_eq!(json(&smoke)["failed"], 0);

    let bin = binary("aml-deploy").parent().unwrap().display().to_string();
    let rollout = ws
        .command(&binary("aml-deploy"))
        .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
        .args([
            "rollout",
            "--endpoint",
            "diabetes",
            "-f",
            "diabetes/deployment-green.yml",
            "--steps",
            "10,50,100",
            "--interval",
            "200ms",
            "--check",
            "smoke-test run --endpoint diabetes --cases diabetes/smoke.jsonl",
            "-q",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let rollout = json(&ok(rollout));
    assert_eq!(rollout["traffic"], serde_json::json!({"blue": 0, "green": 100}));
    let show = json(&ok(ws.run(&binary("aml-deploy"), &["show", "diabetes", "-o", "json"])));
    let models: Vec<(String, String)> = show["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().into(), d["model"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        models,
        [("blue".to_string(), "diabetes:1".to_string()), ("green".to_string(), "diabetes:2".to_string())]
    );
}
